"""``woms relay [TENANT]`` — the outbox relay: each service's outbox to Kafka, until stopped.

Every service writes its CloudEvents to its own ``outbox`` table in the same transaction as
the change (:mod:`services.common.outbox`); this process publishes them, in order and at least
once, to the tenant's topics ``woms.<tenant>.<service>.events`` by looping
:func:`services.common.outbox.relay_once` over the outboxes of planning, tasks and evaluation
of one tenant (or of every tenant of the registry, re-read each round so new tenants are
picked up) until SIGINT / SIGTERM. The broker is ``KAFKA_BOOTSTRAP_SERVERS``, else the
embedded Tansu broker of ``woms dev up``.

Publish verification (``--verify``, the default; ``docs/faults.md``): the relay remembers where
the broker said each event landed and, after a broker failure, reads those offsets back and
sends again what the broker lost (:class:`services.common.outbox.PublishVerifier`, kept in
memory: a relay restarted together with the broker does not verify what it sent before).

Exit codes: 0 stopped by a signal (or ``--drain`` done), 2 unknown tenant or no broker,
1 the broker kept refusing with ``--drain``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Table

    from services.common.outbox import PublishVerifier

#: The services that own an outbox (reporting only consumes).
RELAYED = ("planning", "tasks", "evaluation")


def outbox_tables() -> dict[str, Table]:
    """The ``outbox`` table of each relayed service, by service name."""
    from services.evaluation.models import outbox as evaluation_outbox
    from services.planning.models import outbox as planning_outbox
    from services.tasks.models import outbox as tasks_outbox

    return {"planning": planning_outbox, "tasks": tasks_outbox, "evaluation": evaluation_outbox}


def _bootstrap() -> str:
    """``KAFKA_BOOTSTRAP_SERVERS``, else the embedded broker recorded by ``woms dev up``."""
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


def _tenants(only: str | None) -> list[str]:
    """``[only]`` when it is onboarded, else every tenant of the registry.

    Raises:
        typer.Exit: code 2 when ``only`` is invalid or not onboarded.
    """
    from services.common import tenancy
    from services.common.db import transaction

    try:
        if only is not None:
            tenancy.validate_code(only)
        with transaction(tenancy.registry_engine()) as session:
            if only is not None:
                if tenancy.get_tenant(session, only) is None:
                    typer.echo(f"tenant: {only!r} is not onboarded (woms tenant list)", err=True)
                    raise typer.Exit(2)
                return [only]
            return [t.code for t in tenancy.list_tenants(session)]
    except ValueError as exc:
        typer.echo(f"tenant: {exc}", err=True)
        raise typer.Exit(2) from exc


def relay_round(
    tenants: list[str],
    producer: Any,
    counts: Counter[str],
    limit: int = 500,
    verifier: PublishVerifier | None = None,
) -> int:
    """One pass over every outbox of ``tenants``: each drained in batches of ``limit``,
    through ``verifier`` when given (:func:`services.common.outbox.relay_once`).

    Returns the number of events published; ``counts`` gains them per ``tenant/service``.

    Raises:
        kafka.errors.KafkaError: the broker did not acknowledge (nothing of that batch is
            marked published; it is sent again next round).
    """
    from services.common.db import engine_for
    from services.common.outbox import relay_once

    total = 0
    for tenant in tenants:
        for service, table in outbox_tables().items():
            engine = engine_for(tenant, service)
            while n := relay_once(engine, table, producer, limit=limit, verifier=verifier):
                counts[f"{tenant}/{service}"] += n
                total += n
                if n < limit:
                    break
    return total


def observe_backlog(tenants: Callable[[], list[str]]) -> None:
    """Register the ``woms.outbox.backlog`` gauge: events not yet relayed, per
    ``woms.tenant`` and ``woms.service``, counted at each metric collection."""
    from services.common.db import engine_for, transaction
    from services.common.outbox import backlog
    from services.common.telemetry import TENANT_ATTRIBUTE, observe_gauge

    def read() -> list[tuple[float, dict[str, str]]]:
        out = []
        for tenant in tenants():
            for service, table in outbox_tables().items():
                with transaction(engine_for(tenant, service)) as session:
                    n = backlog(session, table)
                out.append((float(n), {TENANT_ATTRIBUTE: tenant, "woms.service": service}))
        return out

    observe_gauge(
        "woms.outbox.backlog", read, unit="{event}", description="Outbox events not yet relayed"
    )


def relay(
    tenant: Annotated[
        str | None, typer.Argument(help="Tenant code (default: every onboarded tenant)")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between rounds when idle")] = 0.5,
    drain: Annotated[
        bool, typer.Option("--drain", help="Publish what is pending now, then stop")
    ] = False,
    report_every: Annotated[float, typer.Option(help="Seconds between progress lines")] = 10.0,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="After a broker failure, read back what it acknowledged and re-send what it lost",
        ),
    ] = True,
) -> None:
    """Chuyển sự kiện / relay the services' outboxes to Kafka until Ctrl-C (SIGINT / SIGTERM)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from services.common.db import dispose_engines
    from services.common.outbox import PublishVerifier
    from services.common.telemetry import setup_telemetry

    tenants = _tenants(tenant)
    bootstrap = _bootstrap()
    setup_telemetry("relay")  # WOMS_TELEMETRY; traces and the backlog gauge (docs/telemetry.md)
    observe_backlog(lambda: tenants)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="woms-relay")
    verifier = PublishVerifier(bootstrap) if verify else None
    counts: Counter[str] = Counter()
    failures = 0
    where = tenant or "mọi đơn vị / every tenant"
    typer.echo(f"relay: {where} → Kafka {bootstrap} — Ctrl-C dừng / stops", err=False)
    try:
        last_report = time.monotonic()
        while not stop.is_set():
            try:
                sent = relay_round(tenants, producer, counts, verifier=verifier)
                failures = 0
            except KafkaError as exc:
                failures += 1
                typer.echo(f"relay: broker refused ({exc}); retrying", err=True)
                if drain and failures >= 5:
                    raise typer.Exit(1) from exc
                stop.wait(min(2.0 * failures, 10.0))
                continue
            if drain and sent == 0 and not (verifier and verifier.scheduled()):
                break  # nothing pending, no verification to come
            if time.monotonic() - last_report >= report_every and counts:
                last_report = time.monotonic()
                typer.echo(f"relay: {sum(counts.values())} events {dict(counts)}")
            if sent == 0:
                stop.wait(interval)
                if tenant is None:
                    tenants = _tenants(None)
    finally:
        producer.close(timeout=10)
        dispose_engines()
    typer.echo(f"relay: dừng / stopped after {sum(counts.values())} events {dict(counts)}")
    if verifier is not None and verifier.stats["verifications"]:
        typer.echo(f"relay: kiểm tra lại / verified {verifier.stats}")
