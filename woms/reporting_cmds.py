"""``woms reporting consume | rebuild`` — the reporting event pipeline."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="reporting",
    help="Báo cáo / reporting: consume the tenants' events into the read models, rebuild them.",
    no_args_is_help=True,
    add_completion=False,
)

PatternOption = Annotated[
    str | None, typer.Option(help="Topic pattern (default: every tenant, ^woms\\..*\\.events$)")
]


def _bootstrap() -> str:
    """``KAFKA_BOOTSTRAP_SERVERS``, else the embedded broker of ``woms dev up``."""
    from services.common import runtime
    from services.common.settings import get_settings

    settings = get_settings()
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    state = runtime.read_state(settings.woms_home)
    if state is None or "kafka" not in state.components:
        typer.echo(
            "Chưa có Kafka / no broker: set KAFKA_BOOTSTRAP_SERVERS or run `woms dev up`.",
            err=True,
        )
        raise typer.Exit(2)
    return state.address("kafka")


@app.command()
def consume(
    group: Annotated[str, typer.Option(help="Consumer group id")] = "woms-reporting",
    pattern: PatternOption = None,
    until_caught_up: Annotated[
        bool, typer.Option(help="Stop once every partition is read to its end")
    ] = False,
    report_every: Annotated[
        float, typer.Option(help="Seconds between progress lines (outcomes and lag)")
    ] = 10.0,
) -> None:
    """Apply the tenants' events to the read models until stopped (SIGINT / SIGTERM)."""
    from services.common.telemetry import setup_telemetry
    from services.reporting.consumer import TOPIC_PATTERN, ReportingConsumer
    from services.reporting.database import reporting_engine
    from services.reporting.tracing import observe_lag

    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    setup_telemetry("reporting-consumer")  # WOMS_TELEMETRY (docs/telemetry.md)
    consumer = ReportingConsumer(
        reporting_engine(), _bootstrap(), group_id=group, pattern=pattern or TOPIC_PATTERN
    )
    last_lag: dict[tuple[str, int], int] = {}
    observe_lag(lambda: last_lag)  # woms.reporting.consumer.lag, refreshed below after each batch
    typer.echo(f"Đang nhận sự kiện / consuming as group {group}")
    try:
        idle, last_report = 0, 0.0
        while not stop.is_set():
            n = consumer.poll_once(timeout_ms=1000)
            if n:
                last_lag = consumer.lag()
            if n and time.monotonic() - last_report >= report_every:
                last_report = time.monotonic()
                lag = sum(last_lag.values())
                typer.echo(f"  {dict(consumer.outcomes)}; lag {lag}")
            idle = idle + 1 if n == 0 and consumer.caught_up() else 0
            if until_caught_up and idle >= 2:
                break
    finally:
        consumer.close()
    typer.echo(f"Dừng / stopped: {dict(consumer.outcomes)}")


@app.command()
def rebuild(
    tenant: Annotated[
        list[str] | None,
        typer.Option(help="Only this tenant's topics and rows (repeatable); default: all"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 600.0,
) -> None:
    """Rebuild the read models from the beginning of the topics into new tables, then swap
    them in; a running `woms reporting consume` waits meanwhile (docs/reporting.md)."""
    from services.reporting.database import reporting_engine
    from services.reporting.rebuild import RebuildTimeout
    from services.reporting.rebuild import rebuild as run_rebuild

    try:
        report = run_rebuild(
            reporting_engine(), _bootstrap(), tenants=tenant or None, timeout_s=timeout
        )
    except RebuildTimeout as error:
        typer.echo(f"Không xong / not done, nothing changed: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Dựng lại xong / rebuilt from {report.records} records (group {report.group_id})")
    for table, rows in report.rows.items():
        typer.echo(f"  {table}: {rows}")
