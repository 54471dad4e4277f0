"""``woms cycle schedule | start | status | unschedule`` — the tenant's monthly cycle on Temporal.

Each command reads the tenant from the registry (``services.common.tenancy``), builds its
calendar (``services.evaluation.cycle_settings.calendar_of``) and talks to Temporal at
``TEMPORAL_ADDRESS`` (else the embedded dev server of ``woms dev up``) in the tenant's
namespace ``woms-<tenant>``. Exit codes: 0 done, 1 Temporal unreachable or refused, 2 bad
arguments (unknown tenant, invalid period, invalid calendar settings).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:  # the imports below are done in the commands: `woms --help` stays fast
    from temporalio.client import Client

    from services.common.settings import Settings
    from workflows.monthly_cycle.inputs import CycleCalendar

T = TypeVar("T")
TIMEOUT = timedelta(seconds=10)

app = typer.Typer(
    name="cycle",
    help="Chu kỳ đánh giá hằng tháng / the monthly cycle: schedule, start, status, unschedule.",
    no_args_is_help=True,
    add_completion=False,
)

TenantArg = Annotated[str, typer.Argument(help="Tenant code (woms tenant list)")]
PeriodArg = Annotated[str, typer.Argument(help="Evaluated month, YYYY-MM")]
QueueOpt = Annotated[str, typer.Option(help="Task queue of the monthly-cycle worker")]
TASK_QUEUE = "monthly-cycle"  # workflows.monthly_cycle.worker.TASK_QUEUE (checked by a test)


class _Unavailable(Exception):
    """Temporal could not be reached or refused the call."""


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _tenant_calendar(code: str, settings: Settings) -> CycleCalendar:
    """The registered tenant's calendar; exits 2 on an unknown tenant or invalid settings."""
    from services.common import tenancy
    from services.common.db import transaction
    from services.evaluation.cycle_settings import calendar_of

    try:
        tenancy.validate_code(code)
    except ValueError as exc:
        _fail(f"lỗi tham số / bad argument: TENANT: {exc}", 2)
    with transaction(tenancy.registry_engine(settings)) as session:
        tenant = tenancy.get_tenant(session, code)
    if tenant is None:
        _fail(
            f"lỗi tham số / bad argument: TENANT: {code!r} chưa được onboard / is not onboarded "
            "(woms tenant list)",
            2,
        )
    try:
        return calendar_of(tenant.config, tenant.time_zone)
    except ValueError as exc:
        _fail(f"lỗi cấu hình / invalid tenant settings: {exc}", 2)


def _period(period: str) -> str:
    from workflows.monthly_cycle.deadlines import parse_period

    try:
        parse_period(period)
    except ValueError as exc:
        _fail(f"lỗi tham số / bad argument: PERIOD: {exc}", 2)
    return period


def _address(settings: Settings) -> str:
    """``TEMPORAL_ADDRESS``, else the embedded dev server recorded under ``WOMS_HOME``."""
    from services.common import runtime

    if settings.temporal_address:
        return settings.temporal_address
    try:
        state = runtime.read_state(settings.woms_home)
    except RuntimeError as exc:
        raise _Unavailable(str(exc)) from exc
    if state is None or "temporal" not in state.components:
        raise _Unavailable("no Temporal: set TEMPORAL_ADDRESS or run `woms dev up`")
    return state.address("temporal")


def _run(tenant: str, settings: Settings, call: Callable[[Client], Awaitable[T]]) -> T:
    """Connect to the tenant's namespace and run ``call``; exits 1 when Temporal fails."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    from services.common.tenancy import namespace_of

    async def main() -> T:
        address = _address(settings)
        try:
            client = await asyncio.wait_for(
                Client.connect(address, namespace=namespace_of(tenant)),
                TIMEOUT.total_seconds(),
            )
        except (TimeoutError, RuntimeError, RPCError) as exc:
            raise _Unavailable(f"{address}: {exc}") from exc
        try:
            return await call(client)
        finally:
            # A client still alive when the interpreter exits can abort the process
            # ("PyGILState_Release", temporalio/sdk-python#300): release it inside the loop.
            del client
            gc.collect()

    try:
        return asyncio.run(main())
    except _Unavailable as exc:
        _fail(f"Temporal không sẵn sàng / unavailable: {exc}", 1)
    except RPCError as exc:
        _fail(f"Temporal từ chối / refused ({exc.status.name}): {exc.message}", 1)


@app.command("schedule")
def schedule_cmd(tenant: TenantArg, task_queue: QueueOpt = TASK_QUEUE) -> None:
    """Create or update the tenant's monthly schedule from its registry settings."""
    from services.common.settings import get_settings
    from workflows.monthly_cycle import schedule as schedules

    settings = get_settings()
    calendar = _tenant_calendar(tenant, settings)

    async def call(client: Client) -> tuple[Any, Any]:
        outcome = await schedules.ensure_schedule(client, tenant, calendar, task_queue=task_queue)
        return outcome, await schedules.describe_schedule(client, tenant)

    try:
        outcome, info = _run(tenant, settings, call)
    except ValueError as exc:  # the calendar cannot be scheduled (checked before writing)
        _fail(f"lỗi cấu hình / invalid tenant settings: {exc}", 2)
    labels = {
        "created": "tạo mới / created",
        "updated": "cập nhật / updated",
        "unchanged": "không đổi / unchanged",
    }
    typer.echo(f"Lịch / schedule {outcome.schedule_id}: {labels[outcome.action]}")
    if info is not None:
        typer.echo(
            f"  ngày {info.day_of_month} hằng tháng, {info.hour:02d}:{info.minute:02d} "
            f"({info.time_zone}); overlap {info.overlap}; catch-up {info.catchup_window}"
        )
        if info.next_runs:
            from zoneinfo import ZoneInfo

            local = info.next_runs[0].astimezone(ZoneInfo(info.time_zone or "UTC"))
            typer.echo(f"  lần tới / next: {local.isoformat()}")


@app.command("start")
def start_cmd(tenant: TenantArg, period: PeriodArg, task_queue: QueueOpt = TASK_QUEUE) -> None:
    """Start the tenant's month now (once: a month already started is not started again)."""
    from services.common.settings import get_settings
    from workflows.monthly_cycle.inputs import DEFAULT_SHARD_SIZE, CycleInput, cycle_workflow_id
    from workflows.monthly_cycle.worker import start_cycle

    settings = get_settings()
    period = _period(period)
    calendar = _tenant_calendar(tenant, settings)
    workflow_id = cycle_workflow_id(tenant, period)

    async def call(client: Client) -> tuple[bool, str | None]:
        cycle = CycleInput(tenant, period, workflow_id, calendar, shard_size=DEFAULT_SHARD_SIZE)
        handle = await start_cycle(client, cycle, task_queue)
        started = handle.result_run_id is not None
        return started, (await handle.describe()).run_id

    started, run_id = _run(tenant, settings, call)
    state = "đã bắt đầu / started" if started else "đã có từ trước / already started"
    typer.echo(f"{workflow_id}: {state} (run {run_id})")


@app.command("status")
def status_cmd(
    tenant: TenantArg,
    period: PeriodArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """The month's status and progress (people, started, per state, late)."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    from services.common.settings import get_settings
    from workflows.monthly_cycle.inputs import CycleProgress, cycle_workflow_id

    settings = get_settings()
    period = _period(period)
    _tenant_calendar(tenant, settings)  # exits 2 on an unknown tenant
    workflow_id = cycle_workflow_id(tenant, period)

    async def call(client: Client) -> dict[str, Any] | None:
        handle = client.get_workflow_handle(workflow_id, result_type=CycleProgress)
        try:
            described = await handle.describe(rpc_timeout=TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        status = described.status
        progress: CycleProgress | None = None
        note = None
        if status == WorkflowExecutionStatus.COMPLETED:
            progress = await handle.result()
        elif status == WorkflowExecutionStatus.RUNNING:
            try:
                progress = await handle.query(
                    "progress", result_type=CycleProgress, rpc_timeout=timedelta(seconds=5)
                )
            except RPCError:
                note = "không có worker trả lời / no worker answered the progress query"
        return {
            "workflow_id": workflow_id,
            "status": status.name if status is not None else None,
            "progress": asdict(progress) if progress is not None else None,
            "note": note,
        }

    result = _run(tenant, settings, call)
    if result is None:
        _fail(f"{workflow_id}: chưa bắt đầu / not started", 1)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"{workflow_id}: {result['status']}")
    progress = result["progress"]
    if progress is not None:
        by_step = ", ".join(f"{k} {v}" for k, v in progress["by_step"].items())
        typer.echo(
            f"  người / people {progress['total']}, đã mở / started {progress['started']}, "
            f"không đánh giá / not evaluated {progress['not_evaluated']}"
        )
        typer.echo(f"  {by_step}")
        typer.echo(f"  trễ / late: {', '.join(progress['late']) or '—'}")
    if result["note"]:
        typer.echo(f"  {result['note']}")


@app.command("unschedule")
def unschedule_cmd(tenant: TenantArg) -> None:
    """Delete the tenant's monthly schedule (months already started go on)."""
    from services.common.settings import get_settings
    from workflows.monthly_cycle import schedule as schedules

    settings = get_settings()
    _tenant_calendar(tenant, settings)

    async def call(client: Client) -> bool:
        return await schedules.delete_schedule(client, tenant)

    deleted = _run(tenant, settings, call)
    sid = schedules.schedule_id(tenant)
    typer.echo(f"Lịch / schedule {sid}: " + ("đã xoá / deleted" if deleted else "không có / none"))
