"""``woms worker TENANT`` — run the monthly-cycle Temporal worker of one tenant.

The worker runs the cycle's workflows (launcher, cycle, person) and the evaluation service's
activities in the tenant's namespace ``woms-<tenant>`` at ``TEMPORAL_ADDRESS`` (else the
embedded dev server of ``woms dev up``), reading planning (``PLANNING_URL``) and tasks
(``TASKS_URL``) over HTTP, with the tenant's period start day from its registry calendar.
It runs until interrupted (Ctrl-C / SIGTERM). Exit codes: 2 unknown tenant or invalid
settings, 1 Temporal unreachable.
"""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer

THREADS = 32


def worker(
    tenant: Annotated[str, typer.Argument(help="Tenant code (woms tenant list)")],
    task_queue: Annotated[str, typer.Option(help="Task queue of the monthly cycle")] = (
        "monthly-cycle"
    ),
) -> None:
    """Chạy worker chu kỳ đánh giá / run the tenant's monthly-cycle worker until Ctrl-C."""
    from services.common import tenancy
    from services.common.db import transaction
    from services.common.settings import get_settings
    from services.common.telemetry import setup_telemetry
    from services.evaluation.clients import HttpSources
    from services.evaluation.cycle_settings import calendar_of
    from services.evaluation.signals import temporal_address

    settings = get_settings()
    setup_telemetry("worker", settings)  # WOMS_TELEMETRY (docs/telemetry.md)
    try:
        tenancy.validate_code(tenant)
        with transaction(tenancy.registry_engine()) as session:
            found = tenancy.get_tenant(session, tenant)
    except ValueError as exc:
        typer.echo(f"tenant: {exc}", err=True)
        raise typer.Exit(2) from exc
    if found is None:
        typer.echo(f"tenant: {tenant!r} is not onboarded (woms tenant list)", err=True)
        raise typer.Exit(2)
    try:
        calendar = calendar_of(found.config, found.time_zone)
    except ValueError as exc:
        typer.echo(f"{tenant}: {exc}", err=True)
        raise typer.Exit(2) from exc
    address = temporal_address(settings)
    if address is None:
        typer.echo("Temporal: set TEMPORAL_ADDRESS or run `woms dev up`", err=True)
        raise typer.Exit(1)
    sources = HttpSources(settings, period_start_day=calendar.period_start_day)
    try:
        asyncio.run(_run(address, tenancy.namespace_of(tenant), sources, task_queue))
    except ConnectionError as exc:
        typer.echo(f"Temporal at {address}: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        sources.close()


async def _run(address: str, namespace: str, sources: object, task_queue: str) -> None:
    from temporalio.client import Client

    from services.common.telemetry import temporal_interceptors
    from services.evaluation.clients import HttpSources
    from services.evaluation.worker import cycle_worker

    assert isinstance(sources, HttpSources)
    try:
        client = await Client.connect(
            address, namespace=namespace, interceptors=temporal_interceptors()
        )  # the worker traces with the client's TracingInterceptor (docs/telemetry.md)
    except RuntimeError as exc:  # temporalio raises RuntimeError when it cannot connect
        raise ConnectionError(str(exc)) from exc
    # Ctrl-C / SIGTERM end the worker gracefully (``async with`` shuts it down and waits for
    # its pollers): cancelling ``worker.run()`` from a KeyboardInterrupt left the SDK's core
    # threads calling into a finalizing interpreter (a fatal PyGILState_Release abort).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        worker = cycle_worker(
            client, sources, pool, task_queue=task_queue, max_concurrent_activities=THREADS
        )
        async with worker:
            typer.echo(
                f"worker: namespace {namespace}, task queue {task_queue} — Ctrl-C dừng / stops"
            )
            await stop.wait()
            typer.echo("worker: stopping (waiting for running activities)")
