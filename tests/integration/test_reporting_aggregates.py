"""The unit aggregates (``unit_task_counts``, ``unit_evaluation_counts``, issue 6) against a
direct computation from the person rows (``task_counts``, ``evaluation_facts``) on real SQLite
and PostgreSQL databases: after a seeded random stream with redeliveries applied in random
batches, after a rebuild (the stream applied to a ``_new`` set and swapped in) and after the
migration that creates them on a database that already has person rows. The unit-level
queries (tasks by unit, grade distribution, cycle by unit, ranking) must answer what the
person rows say."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select

from services.common.db import engine_for, migrate
from services.common.events import CloudEvent, topic_for
from services.reporting import queries
from services.reporting import repository as repo
from services.reporting import service as reporting
from services.reporting.database import MIGRATIONS
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE, ProjectionTables, rebuild_tables
from services.reporting.projections import is_late
from tests.integration.backends import BACKENDS, database_backend

pytestmark = pytest.mark.integration

TASK_ACTIONS = ["assigned", "started", "submitted", "approved", "returned", "cancelled", "overdue"]
STATUSES = ["opened", "self_assessed", "reviewed", "decided", "published", "not_evaluated"]
FLAGS = ["review_escalated", "self_assessment_missed", "general_defaulted", "decision_escalated"]
TENANTS = ["ta", "tb"]
PERIODS = ["2026-06", "2026-07"]


def _stream(seed: int, size: int = 400) -> list[Message]:
    """Task and evaluation events of two tenants, three units and two periods — tasks and
    people moving between units, grades changing back and forth — each possibly delivered
    twice or three times, in a shuffled order within a window."""
    rng = random.Random(seed)
    events: list[CloudEvent] = []
    for _ in range(size):
        tenant = rng.choice(TENANTS)
        if rng.random() < 0.5:
            task = f"CV-{rng.randint(1, 30):06d}"
            data: dict[str, Any] = {
                "task": task,
                "lead_person": f"P{rng.randint(1, 6)}",
                "lead_unit": f"U{rng.randint(1, 3)}",
                "period": rng.choice(PERIODS),
                "late": rng.random() < 0.3,
            }
            if rng.random() < 0.8:
                data["group"] = rng.choice(["focus", "regular"])
            if rng.random() < 0.8:
                data["points"] = str(rng.randint(1, 40) / 4)
            service, entity, action, subject = "tasks", "task", rng.choice(TASK_ACTIONS), task
        else:
            person = f"P{rng.randint(1, 40)}"
            period = rng.choice(PERIODS)
            data = {
                "person": person,
                "unit": f"U{rng.randint(1, 2)}",
                "period": period,
                "status": rng.choice(STATUSES[rng.randint(0, 1) * 3 :][:3]),
                "score": str(rng.randint(600, 1000) / 10),
                "grade": rng.choice(["A", "B", None]),
                "final_grade": rng.choice(["A", "C", None]),
                "flags": rng.sample(FLAGS, rng.choice([0, 0, 0, 1, 2])),
            }
            service, entity, subject = "evaluation", "evaluation", f"{person}/{period}"
            action = rng.choice(["decided", "published", "escalated", "quota_applied"])
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
    messages: list[Message] = []
    for event in events:
        value = event.model_dump_json().encode()
        for _ in range(rng.choice([1, 1, 1, 2, 3])):  # redeliveries
            messages.append(Message(topic_for(event.tenant, event.service), 0, 0, value))
    for i in range(len(messages) - 1):  # redeliveries arrive late: swap some neighbours
        if rng.random() < 0.1:
            messages[i], messages[i + 1] = messages[i + 1], messages[i]
    return [Message(m.topic, 0, offset, m.value) for offset, m in enumerate(messages)]


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """SQLite files under a temporary home, or throw-away PostgreSQL databases."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend(request.param, monkeypatch):
        yield request.param


def _apply_in_batches(engine: Engine, t: ProjectionTables, messages: list[Message], seed: int):
    rng = random.Random(seed)
    start = 0
    while start < len(messages):
        size = rng.randint(1, 40)
        with engine.begin() as conn:
            apply_batch(conn, t, messages[start : start + size])
        start += size


def _direct(engine: Engine, t: ProjectionTables = LIVE) -> tuple[dict, dict]:
    """The aggregates computed in Python from the person rows."""
    tasks: dict[tuple, list[Any]] = {}
    people: Counter[tuple] = Counter()
    with engine.connect() as conn:
        for r in conn.execute(select(t.task_counts)):
            key = (r.tenant, r.period, r.unit, r.task_group)
            sums = tasks.setdefault(key, [0] * 6 + [Decimal(0)] * 2)
            values = [r.total, r.done, r.on_time, r.late, r.overdue, r.returned]
            values += [repo.exact(r.points_assigned), repo.exact(r.points_completed)]
            tasks[key] = [a + b for a, b in zip(sums, values, strict=True)]
        for r in conn.execute(select(t.evaluation_facts)):
            late = int(is_late(list(r.flags or [])))
            key = (r.tenant, r.period, r.unit, r.status, r.grade or "", r.final_grade or "", late)
            people[key] += 1
    return {k: tuple(v) for k, v in tasks.items()}, dict(people)


def _stored(engine: Engine, t: ProjectionTables = LIVE) -> tuple[dict, dict]:
    """The aggregate tables as stored."""
    with engine.connect() as conn:
        tasks = {
            (r.tenant, r.period, r.unit, r.task_group): (
                r.total,
                r.done,
                r.on_time,
                r.late,
                r.overdue,
                r.returned,
                repo.exact(r.points_assigned),
                repo.exact(r.points_completed),
            )
            for r in conn.execute(select(t.unit_task_counts))
        }
        people = {
            (r.tenant, r.period, r.unit, r.status, r.grade, r.final_grade, r.late): r.people
            for r in conn.execute(select(t.unit_evaluation_counts))
        }
    return tasks, people


def _check_queries(engine: Engine) -> None:
    """The unit-level answers equal a computation over the person rows."""
    with engine.connect() as conn:
        for period in PERIODS:
            rows = reporting.evaluation_rows(conn, TENANTS, period)
            steps: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
            finals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
            late: Counter[tuple[str, str]] = Counter()
            for r in rows:
                key = (r["tenant"], r["unit"])
                steps[key][r["status"]] += 1
                finals[key][r["final_grade"] or "pending"] += 1
                late[key] += is_late(r["flags"])
            cycle = queries.cycle_by_unit(conn, TENANTS, period)
            assert {(u["tenant"], u["unit"]) for u in cycle["units"]} == set(steps)
            for u in cycle["units"]:
                key = (u["tenant"], u["unit"])
                assert {s: n for s, n in u["by_step"].items() if n} == dict(steps[key])
                assert u["people"] == sum(steps[key].values())
                assert u["late_people"] == late[key]
            grades = reporting.grade_distribution(conn, TENANTS, period)
            for u in grades["units"]:
                counts = finals[(u["tenant"], u["unit"])]
                assert {g: u[g] for g in ("A", "B", "C", "D", "pending")} == {
                    g: counts[g] for g in ("A", "B", "C", "D", "pending")
                }
            assert len(grades["units"]) == len(finals)
            by_person = reporting.task_summary(conn, TENANTS, period, by="person")
            by_unit = reporting.task_summary(conn, TENANTS, period, by="unit")
            summed: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
            for r in by_person["rows"]:
                for name in ("total", "done", "late", "points_assigned", "points_completed"):
                    summed[(r["tenant"], r["unit"])][name] += r[name]
            assert {
                (r["tenant"], r["unit"]): {n: r[n] for n in summed[(r["tenant"], r["unit"])]}
                for r in by_unit["rows"]
            } == {k: dict(v) for k, v in summed.items()}
            covered = {(c["tenant"], c["unit"]) for c in by_unit["covers"]["units"]}
            assert covered == set(summed) | set(steps)
            ranking = queries.unit_ranking(conn, TENANTS, period, "a_percent")
            assert {(u["tenant"], u["unit"]) for u in ranking["units"]} == covered
            assert ranking["covers"] == by_unit["covers"]
            blocks = {
                "tasks": {(r["tenant"], r["unit"]): r for r in by_unit["rows"]},
                "grades": {(r["tenant"], r["unit"]): r for r in grades["units"]},
                "cycle": {(r["tenant"], r["unit"]): r for r in cycle["units"]},
            }
            for u in ranking["units"]:  # the ranking's figures are the unit queries' figures
                for name, rows in blocks.items():
                    row = rows.get((u["tenant"], u["unit"]), {})
                    want = {k: v for k, v in row.items() if k not in ("tenant", "unit")}
                    assert u[name] == (want or None)


@pytest.mark.parametrize("seed", [3, 11])
def test_aggregates_equal_the_person_rows_after_redeliveries_and_a_rebuild(
    seed: int, backend: str
) -> None:
    messages = _stream(seed)
    engine = engine_for(f"agg{seed}", "reporting")
    migrate(engine, MIGRATIONS)
    _apply_in_batches(engine, LIVE, messages, seed)
    tasks, people = _direct(engine)
    assert tasks and people  # the stream left figures to compare
    assert any(n > 1 for n in people.values())
    assert _stored(engine) == (tasks, people)
    _check_queries(engine)
    with engine.begin() as conn:  # the whole stream again: nothing changes
        apply_batch(conn, LIVE, messages)
    assert _stored(engine) == (tasks, people)

    new = rebuild_tables()  # a rebuild: the stream into the ``_new`` set, then the swap
    new.processed.metadata.create_all(engine)
    try:
        _apply_in_batches(engine, new, messages, seed + 1)
        assert _stored(engine, new) == _direct(engine, new) == (tasks, people)
        with engine.begin() as conn:
            copied = repo.copy_into(conn, new, LIVE)
        assert {"unit_task_counts", "unit_evaluation_counts"} <= set(copied)  # in the swap
    finally:
        new.processed.metadata.drop_all(engine)
    assert _stored(engine) == _direct(engine) == (tasks, people)
    _check_queries(engine)
    engine.dispose()


def test_the_migration_fills_the_aggregates_from_existing_rows(backend: str) -> None:
    engine = engine_for("aggmig", "reporting")
    migrate(engine, MIGRATIONS)
    _apply_in_batches(engine, LIVE, _stream(5, size=200), 5)
    expected = _direct(engine)
    assert expected[0] and expected[1]
    config = Config()  # back to revision 0002 (the aggregates dropped), then up again
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert "unit_task_counts" not in inspect(engine).get_table_names()
    migrate(engine, MIGRATIONS)
    assert _stored(engine) == expected
    _check_queries(engine)
    engine.dispose()
