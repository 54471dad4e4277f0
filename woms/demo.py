"""``woms demo`` (``make demo``) — the main job end to end on the embedded defaults (issue 7).

One command, progress shown:

1. starts the runtime (Temporal dev server with its Web UI, Tansu; :mod:`woms.demo_stack`),
   the four services' APIs (planning 8101, tasks 8102, evaluation 8103, reporting 8104; the
   web application on 8100 when ``services.web.app`` exists), the tenant's cycle worker
   (``woms worker``), the outbox relay (``woms relay``) and the reporting consumer
   (``woms reporting consume``);
2. onboards Hà Nội from ``data/tenants/hanoi/tenant.yaml`` (phường Phúc Lợi) with the cycle's
   calendar compressed by the tenant setting ``calendar.seconds_per_day``
   (:mod:`woms.demo_tenant`);
3. plays June 2026 through the public APIs (:mod:`woms.demo_month`): the office's plan and
   key-result progress, tasks from the catalog, progress, submissions with evidence files,
   returns for quality, late submissions, an objective cause — P021 reproduces ``002``'s worked
   example (12 tasks, 132 points → 83.9, "Hoàn thành tốt");
4. runs the monthly cycle on Temporal, the actors acting through the evaluation API, with
   missed self-assessments and reviews escalating (:mod:`woms.demo_cycle`);
5. prints the published unit summary (person, a, b, c, score, grade, final grade after the
   quota) and where to look, and writes the summary as .xlsx/.pdf under ``$WOMS_HOME/demo/``
   (:mod:`woms.demo_summary`);
6. keeps everything running until Ctrl-C (``--exit``: ends after step 5); Ctrl-C or SIGTERM at
   any moment stops everything it started.

Exit codes: 0 done (or stopped by Ctrl-C), 1 a part failed or the home already holds an
unfinished demo, 2 a port is in use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from woms.demo_card import EXAMPLE, worked_example_card
from woms.demo_stack import Ports, Stack, StackError, port_in_use

TENANT = "hanoi"
SECONDS_PER_DAY = 2


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM end the demo (everything started is stopped)."""
    raise KeyboardInterrupt


def demo(
    exit_after: Annotated[
        bool, typer.Option("--exit", help="End after printing the summary (for scripts)")
    ] = False,
    worked_example: Annotated[
        bool,
        typer.Option(
            "--worked-example", help="Only score 002's worked example (no platform started)"
        ),
    ] = False,
    case: Annotated[Path, typer.Option(help="Scoring case JSON for --worked-example")] = EXAMPLE,
    seconds_per_day: Annotated[
        int, typer.Option(min=1, max=60, help="Length of a cycle 'day' in seconds")
    ] = SECONDS_PER_DAY,
    base_port: Annotated[
        int,
        typer.Option(
            min=1024, max=65530, help="Web port; the services listen on the next four ports"
        ),
    ] = 8100,
) -> None:
    """Chạy trọn một tháng trên nền tảng / run a whole month on the platform (embedded)."""
    if worked_example:
        worked_example_card(case)
        return
    ports = Ports(base_port)
    busy = [p for p in ports.all() if port_in_use(p)]
    if busy:
        typer.echo(
            f"cổng đang bận / ports in use: {', '.join(map(str, busy))} "
            "(another woms demo or woms serve?); choose others with --base-port",
            err=True,
        )
        raise typer.Exit(2)
    # Ctrl-C and SIGTERM raise KeyboardInterrupt wherever the demo is, also inside
    # ``asyncio.run`` (whose own SIGINT handling only cancels the main task, which the HTTP
    # clients' cancellation scopes may absorb); a SIGINT ignored by the caller is restored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    _quiet_logs()
    console = Console(highlight=False)
    if not console.is_terminal:  # scripts and logs: no wrapping at 80 columns
        console.width = 160
    code = run(ports, seconds_per_day, exit_after, console)
    raise typer.Exit(code)


def run(ports: Ports, seconds_per_day: int, exit_after: bool, console: Console) -> int:
    """The demo's steps inside one :class:`~woms.demo_stack.Stack`; returns the exit code."""
    import httpx

    from services.common.errors import InputError
    from services.common.runtime import RuntimeStartError
    from services.common.settings import get_settings
    from woms.demo_api import DemoError

    started = time.monotonic()

    def say(line: str) -> None:
        console.print(line, markup=False)

    settings = get_settings()
    say(f"WOMS demo — thư mục dữ liệu / home {settings.woms_home}")
    try:
        with Stack(settings, ports, say) as stack:
            try:
                _play(stack, seconds_per_day, console, say, started)
                if exit_after:
                    say("Đang dừng / stopping (--exit)…")
                    return 0
                say("Nền tảng đang chạy / the platform runs — Ctrl-C để dừng / to stop.")
                while True:
                    stack.check()
                    time.sleep(1.0)
            except KeyboardInterrupt:
                say("Đang dừng / stopping (Ctrl-C)…")
                return 0
    except (
        DemoError,
        StackError,
        RuntimeStartError,
        FileNotFoundError,
        InputError,
        httpx.HTTPError,
    ) as error:
        console.print(f"Lỗi / error: {error}", markup=False, style="bold red")
        return 1
    finally:
        say(f"Đã dừng tất cả / everything stopped ({time.monotonic() - started:.0f}s).")


def _play(
    stack: Stack,
    seconds_per_day: int,
    console: Console,
    say: Callable[[str], None],
    started: float,
) -> None:
    from services.common.db import dispose_engines
    from services.common.settings import get_settings
    from services.evaluation.api import create_app as evaluation_app
    from services.evaluation.clients import HttpSources
    from services.planning import api as planning_api
    from services.planning.api import create_app as planning_app
    from services.reporting.api import create_app as reporting_app
    from services.tasks import api as tasks_api
    from woms.demo_api import Api, Clock
    from woms.demo_cycle import CyclePlayer, deadline_days
    from woms.demo_month import PERIOD, PLAN_CODE, MonthPlayer
    from woms.demo_summary import (
        GRADES,
        grade_text,
        names_of,
        print_summary,
        reporting_grades,
        unit_lines,
        ward_grades,
        write_exports,
    )
    from woms.demo_tenant import compressed_tenant_file
    from woms.onboarding import onboard

    settings, ports = stack.settings, stack.ports

    say(f"1/5 Khởi động / starting Temporal + Kafka (Tansu)… [{_t(started)}]")
    state = stack.start_runtime()
    temporal = state.components["temporal"]
    say(f"  Temporal {temporal.address}, Kafka {state.address('kafka')}")

    say(f"2/5 Tiếp nhận / onboarding {TENANT} (phường Phúc Lợi)… [{_t(started)}]")
    tenant_file = compressed_tenant_file(settings.woms_home / "demo" / "tenant", seconds_per_day)
    report = onboard(tenant_file, settings)
    _quiet_logs()
    say(f"  {len(report.databases)} cơ sở dữ liệu / databases, namespace woms-{TENANT}, topics")

    env = {
        "PLANNING_URL": ports.url("planning"),
        "TASKS_URL": ports.url("tasks"),
        "EVALUATION_URL": ports.url("evaluation"),
        "REPORTING_URL": ports.url("reporting"),
        "WEB_TENANT": TENANT,
        "WEB_PERIOD": PERIOD,
        "WOMS_HOME": str(settings.woms_home),
    }
    os.environ.update(env)
    get_settings.cache_clear()
    tasks_api._directory.clear()
    clock = Clock()
    tasks = tasks_api.create_app()
    tasks.dependency_overrides[tasks_api.today] = clock
    planning = planning_app()
    planning.dependency_overrides[planning_api.today] = clock  # June's plan closes in July
    sources = HttpSources(planning_url=ports.url("planning"), tasks_url=ports.url("tasks"))
    # the served applications keep using these until Ctrl-C: closed when the stack stops
    stack.on_close(dispose_engines)
    stack.on_close(sources.close)
    api: Api | None = None
    try:
        say("  dịch vụ / services:")
        for name, app in (
            ("planning", planning),
            ("tasks", tasks),
            ("evaluation", evaluation_app(sources=sources)),
            ("reporting", reporting_app()),
        ):
            say(f"    {name:<10} {stack.serve(name, app)}  (OpenAPI /docs)")
        web = _web_app(say)
        if web is not None:
            say(f"    {'web':<10} {stack.serve('web', web)}")
        _quiet_logs()
        child_env = {**os.environ, **env}
        for name, args in (
            ("worker", ["worker", TENANT]),
            ("relay", ["relay", TENANT]),
            ("reporting-consumer", ["reporting", "consume"]),
        ):
            log = stack.spawn(name, args, child_env)
            say(f"    {name:<10} woms {' '.join(args)}  (log {log})")

        api = Api(
            {n: ports.url(n) for n in ("planning", "tasks", "evaluation", "reporting")},
            TENANT,
            settings,
        )
        relation = sources.relation_of(TENANT, PERIOD)
        if api.status("planning", "GET", f"/plans/{PLAN_CODE}", "P019") == 200:
            _already_played(api, settings.woms_home, say)
        else:
            say(f"3/5 Tháng {PERIOD} qua API / the month through the APIs [{_t(started)}]:")
            player = MonthPlayer(api, clock, say)
            player.plans()
            player.tasks()
            stack.check()

            say(
                f"4/5 Chu kỳ đánh giá trên Temporal / the monthly cycle ({PERIOD}) [{_t(started)}]:"
            )
            people = sorted(p.person_id for p in sources.people_of(TENANT, PERIOD))
            cycle = CyclePlayer(
                api,
                ports.url("evaluation"),
                PERIOD,
                seconds_per_day,
                say,
                stack.check,
                deadline_days(tenant_file, PERIOD),
            )
            outcome = asyncio.run(cycle.run(relation, people))
            clock.day = None  # the month is over: the tasks API goes back to the real date
            progress = outcome.progress
            workflow = progress.get("workflow") or {}
            say(
                f"  xong / done in {outcome.seconds:.0f}s: {progress.get('by_status')}; "
                f"trễ hạn / late {len(workflow.get('late', []))}, xếp loại muộn qua API / "
                f"decided late through the API {len(outcome.decided_late)}, cơ quan cấp trên / "
                f"city bodies {len(outcome.decided_for_bodies)}"
            )

        say(f"5/5 Kết quả đã công bố / the published results [{_t(started)}]:")
        names = names_of(api)
        lines, records = unit_lines(api, "PL-VP", "P019", PERIOD, names)
        print_summary(console, "PL-VP", PERIOD, lines)
        example = next(line for line in lines if line.person == "P021")
        say(
            f"  P021 {names.get('P021', '')} (ví dụ của 002 / the worked example): 12 nhiệm vụ, "
            f"132 điểm → {example.score} điểm, loại {grade_text(example.grade)}"
        )
        expected, flags = ward_grades(api, sorted(relation["unit_members"]), PERIOD)
        say(
            "  Bước bị lỡ / missed steps: "
            f"tự đánh giá quá hạn (điểm hệ thống) / self-assessment missed "
            f"{flags['self_assessment_missed']}, nhận xét chuyển cấp trên / review escalated "
            f"{flags['review_escalated']}, xếp loại chuyển cấp trên / decision escalated "
            f"{flags['decision_escalated']}"
        )
        totals, same = reporting_grades(api, PERIOD, expected)
        ward = ", ".join(f"{g} {expected.get(g, 0)}" for g in GRADES)
        say(f"  Toàn phường / the ward (final grades): {ward}")
        say(
            "  Báo cáo qua Kafka / reporting read model: "
            + ", ".join(f"{g} {totals.get(g, 0)}" for g in GRADES)
            + (" — khớp / matches" if same else " — CHƯA KHỚP / does not match yet")
        )
        files = write_exports(settings.woms_home / "demo", "PL-VP", PERIOD, records, lines)
        say("Xem ở đâu / where to look:")
        if web is not None:
            say(f"  Ứng dụng web / web app:  {ports.url('web')}")
        if temporal.ui:
            say(f"  Temporal UI:             {temporal.ui}/namespaces/woms-{TENANT}/workflows")
        else:
            say(f"  Temporal:                {temporal.address} (namespace woms-{TENANT})")
        say(f"  API (OpenAPI):           {ports.url('evaluation')}/docs …")
        for path in files:
            say(f"  Tệp / file:              {path}")
        say(f"Thời gian / wall time: {time.monotonic() - started:.0f}s")
    finally:
        if api is not None:
            api.close()


def _already_played(api: Any, home: Path, say: Callable[[str], None]) -> None:
    """A previous ``woms demo`` in this home played the month: when its cycle published
    everyone, show its results again (steps 3–4 skipped); else stop with a hint.

    Raises:
        DemoError: the previous demo was interrupted before every month was published.
    """
    from woms.demo_api import DemoError
    from woms.demo_month import PERIOD

    progress = api.call("evaluation", "GET", f"/cycles/{PERIOD}", "admin", "tenant_admin")
    if set(progress.get("by_status") or {}) != {"published"}:
        raise DemoError(
            f"{home} holds a demo month that did not finish ({progress.get('by_status')}); "
            "run `woms dev down`, remove that folder and run the demo again"
        )
    say(f"3–4/5 Tháng {PERIOD} đã chạy trong thư mục này / already played here: kết quả / results")


def _quiet_logs() -> None:
    """The console shows the demo's progress: libraries log warnings and errors only (the
    services' telemetry may have set the root logger to INFO when their apps were built)."""
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("httpx", "httpcore", "kafka", "temporalio", "alembic", "fontTools", "uvicorn"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _t(started: float) -> str:
    """Seconds since ``started`` (shown on each step)."""
    return f"{time.monotonic() - started:.0f}s"


def _web_app(say: Callable[[str], None]) -> object | None:
    """The web application (``services.web.app.create_app``) when it exists, else None (a
    web application that exists but fails to build is reported and skipped)."""
    try:
        from services.web.app import create_app  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return create_app()
    except Exception as error:  # another team's module: the demo goes on without it
        say(f"    web        không khởi động được / not started: {error}")
        return None
