"""``woms relay [TENANT]`` against the real Tansu broker: the services' outboxes of a tenant are
published to its topics until the process is interrupted; ``--drain`` stops once nothing is
pending; an unknown tenant exits 2."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from sqlalchemy import func, select
from typer.testing import CliRunner

from services.common.db import engine_for, transaction
from services.common.events import CloudEvent, topic_for
from services.common.outbox import decode, record
from services.tasks.models import outbox as tasks_outbox
from tests.support.processes import mini_home, running_woms, woms_env
from woms.cli import app
from woms.relay_cmds import outbox_tables

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
TENANT = "mini"


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str, kafka_bootstrap: str
) -> Iterator[Path]:
    """``mini`` onboarded under a fresh ``WOMS_HOME`` (its onboarding leaves planning events
    in the outbox)."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    with mini_home(tmp_path, monkeypatch, temporal_address, kafka_bootstrap, env) as path:
        yield path


def _pending() -> dict[str, int]:
    counts = {}
    for service, table in outbox_tables().items():
        with transaction(engine_for(TENANT, service)) as s:
            counts[service] = s.execute(
                select(func.count()).select_from(table).where(table.c.published_at.is_(None))
            ).scalar_one()
    return counts


def _event(marker: str) -> CloudEvent:
    return CloudEvent.of(
        tenant=TENANT,
        service="tasks",
        entity="task",
        action="progressed",
        subject=f"CV-{marker}",
        data={"marker": marker},
    )


def _received(bootstrap: str, wanted: set[str]) -> set[str]:
    """Event ids of ``wanted`` found on the tenant's tasks topic (read from the start)."""
    consumer = KafkaConsumer(
        topic_for(TENANT, "tasks"),
        bootstrap_servers=bootstrap,
        group_id=f"test-relay-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        consumer_timeout_ms=1000,
    )
    found: set[str] = set()
    try:
        for _ in range(30):
            found |= {decode(m.value).id for m in consumer} & wanted
            if found == wanted:
                break
    finally:
        consumer.close()
    return found


def _env(home: Path, bootstrap: str) -> dict[str, str]:
    return woms_env(home, KAFKA_BOOTSTRAP_SERVERS=bootstrap)


def test_drain_publishes_every_pending_event_and_stops(home: Path, kafka_bootstrap: str) -> None:
    events = [_event(f"drain-{i}") for i in range(3)]
    with transaction(engine_for(TENANT, "tasks")) as s:
        for event in events:
            record(s, tasks_outbox, event)
    before = _pending()
    assert before["tasks"] == 3 and before["planning"] > 0  # onboarding's planning events too
    done = subprocess.run(
        [sys.executable, "-m", "woms.cli", "relay", TENANT, "--drain"],
        env=_env(home, kafka_bootstrap),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _pending() == {"planning": 0, "tasks": 0, "evaluation": 0}
    assert f"{sum(before.values())} events" in done.stdout, done.stdout
    ids = {e.id for e in events}
    assert _received(kafka_bootstrap, ids) == ids


def test_relay_runs_until_interrupted(home: Path, kafka_bootstrap: str) -> None:
    with running_woms(["relay", TENANT, "--interval", "0.2"], _env(home, kafka_bootstrap)) as relay:
        deadline = time.monotonic() + 60
        while sum(_pending().values()) and time.monotonic() < deadline:
            assert relay.proc.poll() is None, relay.proc.communicate()
            time.sleep(0.3)
        assert sum(_pending().values()) == 0  # onboarding's events relayed
        late = _event("late")  # written while the relay runs
        with transaction(engine_for(TENANT, "tasks")) as s:
            record(s, tasks_outbox, late)
        while _pending()["tasks"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _pending()["tasks"] == 0
        assert relay.proc.poll() is None  # still running: it loops until interrupted
    assert relay.returncode == 0, relay.err
    assert "dừng / stopped" in relay.out
    assert _received(kafka_bootstrap, {late.id}) == {late.id}


@pytest.mark.parametrize(("tenant", "message"), [("khong-co", "not onboarded"), ("Bad", "tenant")])
def test_unknown_tenant_exits_2(home: Path, tenant: str, message: str) -> None:
    result = CliRunner().invoke(app, ["relay", tenant])
    assert result.exit_code == 2, result.output
    assert message in result.output
