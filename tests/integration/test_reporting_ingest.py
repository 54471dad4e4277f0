"""Batch application of events on a real SQLite database (``services.reporting.ingest``):
applying a stream in one batch, in chunks or message by message gives the same tables;
duplicates inside a batch and across batches change nothing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from services.common.db import engine_for, migrate
from services.common.events import CloudEvent, topic_for
from services.reporting import service as reporting
from services.reporting.database import MIGRATIONS
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE
from tests.integration.backends import BACKENDS, database_backend

pytestmark = pytest.mark.integration

ACTIONS = ["assigned", "started", "submitted", "approved", "returned", "cancelled", "overdue"]


def _stream(seed: int, size: int = 300) -> list[Message]:
    """Task and evaluation events of two tenants, each event possibly delivered twice, plus a
    malformed body and an unknown version."""
    rng = random.Random(seed)
    events: list[CloudEvent] = []
    for _ in range(size):
        tenant = rng.choice(["ta", "tb"])
        if rng.random() < 0.7:
            task = f"CV-{rng.randint(1, 25):06d}"
            data: dict[str, Any] = {
                "task": task,
                "lead_person": f"P{rng.randint(1, 4)}",
                "lead_unit": f"U{rng.randint(1, 2)}",
                "period": rng.choice(["2026-06", "2026-07"]),
                "late": rng.random() < 0.3,
                "group": rng.choice(["focus", "regular"]),
                "points": str(rng.randint(1, 40) / 4),
            }
            action = rng.choice(ACTIONS)
            entity, subject = "task", task
            service = "tasks"
        else:
            person = f"P{rng.randint(1, 4)}"
            data = {
                "person": person,
                "unit": "U1",
                "period": "2026-06",
                "status": rng.choice(["opened", "self_assessed", "decided", "published"]),
                "score": str(rng.randint(600, 1000) / 10),
                "grade": rng.choice("ABCD"),
                "final_grade": rng.choice(["A", "B", None]),
                "flags": rng.sample(["review_escalated", "general_defaulted"], rng.randint(0, 2)),
            }
            action, entity, subject, service = (
                "decided",
                "evaluation",
                f"{person}/2026-06",
                "evaluation",
            )
        events.append(
            CloudEvent.of(
                tenant=tenant,
                service=service,
                entity=entity,
                action=action,
                subject=subject,
                data=data,
            )
        )
    events.append(
        CloudEvent.of(
            tenant="ta",
            service="tasks",
            entity="task",
            action="approved",
            subject="CV-000001",
            data={"task": "CV-000001"},
            version=2,
        )
    )
    messages: list[Message] = []
    for event in events:
        topic = topic_for(event.tenant, event.service)
        value = event.model_dump_json().encode()
        for _ in range(1 + (rng.random() < 0.2)):  # some delivered twice
            messages.append(Message(topic, 0, len(messages), value))
    messages.insert(rng.randrange(len(messages)), Message(topic_for("tb", "tasks"), 0, 99999, b"{"))
    return messages


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """SQLite files under a temporary home, or throw-away PostgreSQL databases."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend(request.param, monkeypatch):
        yield request.param


def _database(name: str) -> Engine:
    """A migrated reporting database of its own (``name`` stands in the tenant's place)."""
    engine = engine_for(name, "reporting")
    migrate(engine, MIGRATIONS)
    return engine


def _tables(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    skip = {"applied_at", "at"}
    out = {}
    with engine.connect() as conn:
        for table in LIVE.all():
            columns = [
                c
                for c in table.columns
                if c.name not in skip and not (table is LIVE.task_facts and c.name == "updated_at")
            ]
            out[table.name] = sorted(tuple(map(str, r)) for r in conn.execute(select(*columns)))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_one_batch_chunks_and_one_by_one_give_the_same_tables(seed: int, backend: str) -> None:
    messages = _stream(seed)
    whole, chunked, single = (_database(f"{n}{seed}") for n in ("whole", "chunked", "single"))
    with whole.begin() as conn:
        outcomes = apply_batch(conn, LIVE, messages)
    rng = random.Random(seed)
    start = 0
    while start < len(messages):
        size = rng.randint(1, 60)
        with chunked.begin() as conn:
            apply_batch(conn, LIVE, messages[start : start + size])
        start += size
    for message in messages:
        with single.begin() as conn:
            apply_batch(conn, LIVE, [message])
    assert _tables(whole) == _tables(chunked) == _tables(single)
    assert outcomes.count("duplicate") == len(messages) - len({m.value for m in messages})
    assert outcomes.count("dead_letter") >= 2  # the v2 event and the malformed body at least
    with whole.begin() as conn:  # the whole stream again: every message is a duplicate
        again = apply_batch(conn, LIVE, messages)
    assert set(again) == {"duplicate", "dead_letter"} and again.count("dead_letter") == 1
    assert _tables(whole) == _tables(single)
    with whole.connect() as conn:
        rows = conn.execute(select(LIVE.task_counts)).all()
        summary = reporting.task_summary(conn, ["ta", "tb"], "2026-06", by="unit")
        grades = reporting.grade_distribution(conn, ["ta", "tb"], "2026-06")
        progress = reporting.cycle_progress(conn, ["ta", "tb"], "2026-06")
    assert rows  # keys left with no task are deleted, the others stay
    assert all(any(row[5:]) for row in rows)
    june = [r for r in rows if r.period == "2026-06"]
    assert summary["totals"]["total"] == sum(r.total for r in june)
    assert summary["totals"]["points_completed"] == sum(r.points_completed for r in june)
    assert sum(u["graded"] + u["pending"] for u in grades["units"]) == sum(
        progress["by_step"].values()
    )


def _message(event: CloudEvent, offset: int) -> Message:
    topic = topic_for(event.tenant, event.service)
    return Message(topic, 0, offset, event.model_dump_json().encode())


def _at(event: CloudEvent, time: datetime) -> CloudEvent:
    return event.model_copy(update={"time": time})


def test_an_event_re_sent_after_newer_ones_rolls_nothing_back(backend: str) -> None:
    """The outbox relay re-sends an event the broker lost (``docs/faults.md``) after newer
    events of the same task or person's month got through: in the same batch or a later one,
    the projections end as if the stream had been in order."""
    t0 = datetime(2026, 6, 20, 8, tzinfo=UTC)
    base = {"task": "CV-000001", "lead_person": "P1", "lead_unit": "U1", "period": "2026-06"}
    tasks = [
        _at(CloudEvent.of(tenant="ta", service="tasks", entity="task", action=action,
                          subject="CV-000001", data=base | data), t0 + timedelta(minutes=n))
        for n, (action, data) in enumerate(
            [("assigned", {"points": "8", "group": "focus"}), ("started", {}),
             ("submitted", {"late": True}), ("approved", {"late": True})]
        )
    ]  # fmt: skip
    month = {"person": "P1", "unit": "U1", "period": "2026-06", "score": "91.5", "flags": []}
    evaluations = [
        _at(CloudEvent.of(tenant="ta", service="evaluation", entity="evaluation",
                          action=action, subject="P1/2026-06", data=month | data),
            t0 + timedelta(hours=n))
        for n, (action, data) in enumerate(
            [("decided", {"status": "decided", "grade": "B", "final_grade": None}),
             ("published", {"status": "published", "grade": "B", "final_grade": "A"})]
        )
    ]  # fmt: skip
    in_order, one_batch, later = (_database(n) for n in ("inorder", "onebatch", "later"))
    stream = [*tasks, *evaluations]
    with in_order.begin() as conn:
        apply_batch(conn, LIVE, [_message(e, n) for n, e in enumerate(stream)])
    lost = [tasks[2], evaluations[0]]  # the submission and the decision, re-sent last
    kept = [e for e in stream if e not in lost]
    with one_batch.begin() as conn:
        apply_batch(conn, LIVE, [_message(e, n) for n, e in enumerate([*kept, *lost])])
    with later.begin() as conn:
        apply_batch(conn, LIVE, [_message(e, n) for n, e in enumerate(kept)])
    with later.begin() as conn:
        outcomes = apply_batch(conn, LIVE, [_message(e, 100 + n) for n, e in enumerate(lost)])
    assert outcomes == ["applied", "applied"]
    expected = _tables(in_order)
    assert _tables(one_batch) == expected and _tables(later) == expected
    with in_order.connect() as conn:
        task = conn.execute(select(LIVE.task_facts)).one()
        month_row = conn.execute(select(LIVE.evaluation_facts)).one()
    assert (task.status, task.late) == ("approved", True)
    assert (month_row.status, month_row.final_grade) == ("published", "A")
