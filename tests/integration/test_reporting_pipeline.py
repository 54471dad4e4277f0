"""The reporting pipeline on the real Tansu broker: the tasks and evaluation services' own use
cases write events to their outboxes (SQLite files), the outbox relay publishes them, the
reporting consumer group applies them — and the read models equal a direct computation from
the services' databases, through duplicates, a restart that redelivers everything, an unknown
event version, a malformed message and a rebuild.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.common.db import create_engine_for_url, migrate, transaction
from services.common.events import CloudEvent, topic_for
from services.common.outbox import record, relay_once
from services.evaluation import models as evaluation_models
from services.evaluation import service as evaluation
from services.reporting import repository as repo
from services.reporting import service as reporting
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import MIGRATIONS
from services.reporting.models import LIVE
from services.reporting.rebuild import rebuild
from services.tasks import models as tasks_models
from services.tasks import service as tasks
from services.tasks.workdays import period_of
from woms.onboarding import SERVICES, ensure_topics

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

PERIOD = "2026-06"
UNITS = {"P1": "U1", "P2": "U1", "P3": "U2", "P4": "U2"}
BOSS = "P0"
PATHS = ("on_time", "late", "returned", "open", "submitted", "cancelled", "in_progress")


@dataclass
class TenantDbs:
    """One tenant's tasks and evaluation databases (their own migrations, SQLite files)."""

    code: str
    tasks: Engine
    evaluation: Engine


def _tenant(tmp_path: Path, bootstrap: str, index: int) -> TenantDbs:
    code = f"rp{random.Random().getrandbits(32):08x}{index}"
    ensure_topics(bootstrap, code)
    dbs = TenantDbs(
        code,
        create_engine_for_url(f"sqlite:///{tmp_path / f'{code}-tasks.sqlite3'}"),
        create_engine_for_url(f"sqlite:///{tmp_path / f'{code}-evaluation.sqlite3'}"),
    )
    migrate(dbs.tasks, ROOT / "services/tasks/migrations")
    migrate(dbs.evaluation, ROOT / "services/evaluation/migrations")
    return dbs


def _new_task(session: Session, n: int, person: str, due: date, rng: random.Random) -> str:
    """A draft with every "6 rõ" field, inserted directly with its points priced (``create_task``
    prices through the planning HTTP API, which this test does not need)."""
    quantity = Decimal(rng.randint(1, 4))
    task = tasks_models.Task(
        code=f"CV-{n:06d}",
        name=f"Nhiệm vụ {n}",
        basis="Kế hoạch tháng",
        group=rng.choice(["focus", "regular", "arising"]),
        lead_unit=UNITS[person],
        lead_person=person,
        start_date=due - timedelta(days=14),
        due_date=due,
        output_product="Báo cáo",
        quality_criteria="Đúng hạn, đủ nội dung",
        catalog_item="BC01",
        quantity=quantity,
        coefficient=Decimal("2.5"),
        points=quantity * Decimal("2.5"),
        period=period_of(due, 1),
        status="draft",
        assigner=BOSS,
        created_at=datetime.now(UTC),
        last_update_at=datetime.now(UTC),
        percent=0,
        collaborating_units=[],
        collaborating_people=[],
    )
    session.add(task)
    session.flush()
    return task.code


def _drive_tasks(dbs: TenantDbs, seed: int, count: int = 28) -> None:
    """Tasks through the tasks service's lifecycle (assign → … → approve/return/cancel), then
    the daily overdue flagging — every change writes its event to the tasks outbox."""
    rng = random.Random(seed)
    rules = tasks.TenantRules()
    with transaction(dbs.tasks) as s:
        for n in range(1, count + 1):
            person = rng.choice(sorted(UNITS))
            due = rng.choice([date(2026, 6, 19), date(2026, 6, 26), date(2026, 7, 10)])
            code = _new_task(s, n, person, due, rng)
            path = PATHS[n % len(PATHS)]
            tasks.act(s, dbs.code, rules, code, "assign", BOSS, due - timedelta(days=14))
            if path == "open":
                continue
            if path == "cancelled":
                tasks.act(s, dbs.code, rules, code, "cancel", BOSS, due, reason="Không cần nữa")
                continue
            tasks.act(s, dbs.code, rules, code, "start", person, due - timedelta(days=10))
            if path == "in_progress":
                continue
            early, late = due - timedelta(days=2), due + timedelta(days=3)
            tasks.act(s, dbs.code, rules, code, "submit", person, late if path == "late" else early)
            if path == "submitted":
                continue
            if path == "returned":
                tasks.act(s, dbs.code, rules, code, "return", BOSS, early, reason="Thiếu số liệu")
                tasks.act(s, dbs.code, rules, code, "submit", person, late)
            tasks.act(s, dbs.code, rules, code, "approve", BOSS, late)
        tasks.flag_overdue(s, dbs.code, date(2026, 7, 1))


def _drive_evaluations(dbs: TenantDbs) -> None:
    """People's months through the evaluation service: each stops at a different step."""
    ledgers = {
        "P1": [{"points": "30", "completed": True, "group": "regular"}],
        "P2": [
            {"points": "20", "completed": True, "group": "regular"},
            {"points": "10", "completed": False, "group": "arising"},
        ],
        "P3": [{"points": "12", "completed": True, "delays": 1, "group": "focus"}],
        "P4": [{"points": "8", "completed": False, "group": "regular"}],
    }
    with transaction(dbs.evaluation) as s:
        for person, ledger in ledgers.items():
            evaluation.open_evaluation(s, dbs.code, person, UNITS[person], PERIOD, ledger, None)
        for person in ("P1", "P2", "P3"):
            evaluation.self_assess(s, dbs.code, person, PERIOD, 28, person)
        for person in ("P1", "P2"):
            evaluation.review(s, dbs.code, person, PERIOD, 27, "Tốt", BOSS)
            evaluation.decide(s, dbs.code, person, PERIOD, BOSS)
        evaluation.publish(s, dbs.code, "P1", PERIOD, None, BOSS)


def _relay(dbs: TenantDbs, bootstrap: str) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        sent = 0
        for engine, table in (
            (dbs.tasks, tasks_models.outbox),
            (dbs.evaluation, evaluation_models.outbox),
        ):
            while n := relay_once(engine, table, producer):
                sent += n
        return sent
    finally:
        producer.close()


def _drain(consumer: ReportingConsumer, attempts: int = 120) -> int:
    """Poll until every partition is read to its end (two empty polls in a row)."""
    handled = idle = 0
    for _ in range(attempts):
        n = consumer.poll_once(timeout_ms=500)
        handled += n
        idle = idle + 1 if n == 0 and consumer.caught_up() else 0
        if idle >= 2:
            return handled
    raise AssertionError(f"not caught up after {attempts} polls ({handled} records)")


# --- the direct computations from the source services' databases ----------------------------


KEYS = (
    "total",
    "done",
    "on_time",
    "late",
    "overdue",
    "returned",
    "points_assigned",
    "points_completed",
)


def _num(value: Any) -> Decimal:
    """Counts and points compared as exact numbers (points travel as decimal text)."""
    return Decimal(str(value)).normalize()


def _expected_tasks(dbs: TenantDbs) -> dict[tuple[str, str, str], dict[str, int]]:
    """Per (period, unit, person), computed from the tasks database's rows."""
    out: dict[tuple[str, str, str], Counter[str]] = {}
    with Session(dbs.tasks) as s:
        for task in s.execute(select(tasks_models.Task)).scalars():
            if task.status in {"draft", "cancelled"}:
                continue
            c = out.setdefault((task.period, task.lead_unit, task.lead_person), Counter())
            done = task.status == "approved"
            late = bool(task.submissions) and task.submissions[-1].days_late > 0
            c["total"] += 1
            c["done"] += done
            c["on_time"] += done and not late
            c["late"] += done and late
            c["overdue"] += task.overdue_notified and not done
            c["returned"] += any(r.decision == "returned" for r in task.reviews)
            points = Decimal(task.points or 0)
            c["points_assigned"] += points  # type: ignore[assignment]
            c["points_completed"] += points if done else 0  # type: ignore[assignment]
    return {k: {name: _num(c[name]) for name in KEYS} for k, c in out.items()}


def _projected_tasks(engine: Engine, dbs: TenantDbs) -> dict[tuple[str, str, str], dict[str, int]]:
    out = {}
    with engine.connect() as conn:
        for period in ("2026-06", "2026-07"):
            summary = reporting.task_summary(conn, [dbs.code], period, by="person")
            for row in summary["rows"]:
                out[(period, row["unit"], row["person"])] = {k: _num(row[k]) for k in KEYS}
    return out


def _expected_evaluations(dbs: TenantDbs) -> list[dict[str, Any]]:
    with Session(dbs.evaluation) as s:
        rows = s.execute(select(evaluation_models.Evaluation)).scalars()
        return sorted(
            (
                {
                    "person": ev.person,
                    "unit": ev.unit,
                    "status": ev.status,
                    "score": None if ev.score is None else ev.score.normalize(),
                    "grade": ev.grade,
                    "final_grade": ev.final_grade,
                    "flags": sorted(ev.flags),
                }
                for ev in rows
            ),
            key=lambda r: r["person"],
        )


def _snapshot(engine: Engine, tenants: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every live reporting row of ``tenants``, without the wall-clock columns."""
    skip = {"applied_at", "at"}
    out = {}
    with engine.connect() as conn:
        for table in LIVE.all():
            columns = [
                c
                for c in table.columns
                if c.name not in skip and not (table is LIVE.task_facts and c.name == "updated_at")
            ]
            rows = conn.execute(select(*columns).where(table.c.tenant.in_(tenants)))
            out[table.name] = sorted((tuple(map(str, r)) for r in rows), key=str)
    return out


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
def reporting_db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for_url(f"sqlite:///{tmp_path / 'reporting.sqlite3'}")
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def test_events_flow_into_read_models_once_through_duplicates_restarts_and_rebuild(
    kafka_bootstrap: str, tmp_path: Path, reporting_db: Engine
) -> None:
    a, b = _tenant(tmp_path, kafka_bootstrap, 1), _tenant(tmp_path, kafka_bootstrap, 2)
    for seed, dbs in enumerate((a, b)):
        _drive_tasks(dbs, seed)
        _drive_evaluations(dbs)
    published = _relay(a, kafka_bootstrap) + _relay(b, kafka_bootstrap)
    pattern = tenants_pattern([a.code, b.code])
    group = f"reporting-{a.code}"

    consumer = ReportingConsumer(reporting_db, kafka_bootstrap, group_id=group, pattern=pattern)
    try:
        assert _drain(consumer) == published
        assert consumer.outcomes == Counter(applied=published)
        lag = consumer.lag()
        assert {topic for topic, _ in lag} == {
            topic_for(t, s) for t in (a.code, b.code) for s in SERVICES
        }
        assert sum(lag.values()) == 0
    finally:
        consumer.close()

    # the read models equal the direct computation from each service's database
    scenario = Counter[str]()
    for expected_counts in (*_expected_tasks(a).values(), *_expected_tasks(b).values()):
        scenario.update(expected_counts)
    assert all(scenario[k] > 0 for k in ("done", "on_time", "late", "overdue", "returned"))
    assert scenario["total"] > scenario["done"]
    assert scenario["points_assigned"] > scenario["points_completed"] > 0
    with reporting_db.connect() as conn:  # the task events carry their group (001 §III.1)
        by_group = reporting.task_summary(conn, [a.code], "2026-06")["by_group"]
    assert by_group and all(g["task_group"] in {"focus", "regular", "arising"} for g in by_group)
    for dbs in (a, b):
        assert _projected_tasks(reporting_db, dbs) == _expected_tasks(dbs)
        with reporting_db.connect() as conn:
            rows = reporting.evaluation_rows(conn, [dbs.code], PERIOD)
            grades = reporting.grade_distribution(conn, [dbs.code], PERIOD)
            progress = reporting.cycle_progress(conn, [dbs.code], PERIOD)
        expected = _expected_evaluations(dbs)
        assert [{k: r[k] for k in expected[0]} for r in rows] == expected
        finals = Counter(e["final_grade"] for e in expected)
        assert {g: grades["totals"][g] for g in "ABCD"} == {g: finals[g] for g in "ABCD"}
        assert grades["totals"]["pending"] == finals[None]
        steps = Counter(e["status"] for e in expected)
        assert {k: v for k, v in progress["by_step"].items() if v} == dict(steps)
    with reporting_db.connect() as conn:
        both = reporting.task_summary(conn, [a.code, b.code], "2026-06", by="tenant")
    assert both["covers"]["tenants"] == sorted([a.code, b.code])
    assert {(u["tenant"], u["unit"]) for u in both["covers"]["units"]} == {
        (t, u) for t in (a.code, b.code) for u in ("U1", "U2")
    }
    assert both["totals"]["total"] == sum(r["total"] for r in both["rows"])
    before = _snapshot(reporting_db, [a.code, b.code])

    # a relay that publishes everything again (at least once) changes nothing
    for engine, table in ((a.tasks, tasks_models.outbox), (a.evaluation, evaluation_models.outbox)):
        with transaction(engine) as s:
            s.execute(update(table).values(published_at=None))
    republished = _relay(a, kafka_bootstrap)
    assert republished > 0

    # a consumer that died after its database commit but before committing offsets: the group's
    # offsets go back to the start, the restarted member receives every event again
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets(group)[group]
        admin.alter_group_offsets(group, {tp: OffsetAndMetadata(0, "", -1) for tp in offsets})
    finally:
        admin.close()
    restarted = ReportingConsumer(reporting_db, kafka_bootstrap, group_id=group, pattern=pattern)
    try:
        assert _drain(restarted) == published + republished
        assert restarted.outcomes == Counter(duplicate=published + republished)
        assert _snapshot(reporting_db, [a.code, b.code]) == before

        # an unknown version and a malformed body are parked with their reason, nothing else
        with transaction(a.tasks) as s:
            record(
                s,
                tasks_models.outbox,
                CloudEvent.of(
                    tenant=a.code,
                    service="tasks",
                    entity="task",
                    action="approved",
                    subject="CV-000001",
                    data={"task": "CV-000001"},
                    version=2,
                ),
            )
        assert _relay(a, kafka_bootstrap) == 1
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        producer.send(topic_for(b.code, "evaluation"), value=b'{"not": "an event"', key=b"x")
        producer.flush()
        producer.close()
        assert _drain(restarted) == 2
        # a new change after the restart is applied once
        with transaction(b.tasks) as s:
            code = next(
                t.code
                for t in s.execute(select(tasks_models.Task)).scalars()
                if t.status == "submitted"
            )
            tasks.act(s, b.code, tasks.TenantRules(), code, "approve", BOSS, date(2026, 7, 2))
        assert _relay(b, kafka_bootstrap) == 1
        assert _drain(restarted) == 1
        assert sum(restarted.lag().values()) == 0
    finally:
        restarted.close()
    assert restarted.outcomes["dead_letter"] == 2 and restarted.outcomes["applied"] == 1
    assert _projected_tasks(reporting_db, b) == _expected_tasks(b)
    with reporting_db.connect() as conn:
        parked = reporting.dead_letters(conn, [a.code, b.code])
    assert sorted(p["reason"].split(":")[0] for p in parked) == [
        "malformed body",
        "unknown version v2 of vn.woms.tasks.task.approved",
    ]
    assert {p["tenant"] for p in parked} == {a.code, b.code}
    after = _snapshot(reporting_db, [a.code, b.code])

    # rebuilt from the beginning of the topics into new tables and swapped in: the same figures
    report = rebuild(reporting_db, kafka_bootstrap, tenants=[a.code, b.code], timeout_s=120)
    assert report.records == published + republished + 3
    assert _snapshot(reporting_db, [a.code, b.code]) == after


def test_a_task_summary_needs_a_tenant_and_a_known_breakdown(reporting_db: Engine) -> None:
    with reporting_db.connect() as conn:
        with pytest.raises(ValueError, match="tenants"):
            reporting.task_summary(conn, [], PERIOD)
        with pytest.raises(ValueError, match="by: 'group'"):
            reporting.task_summary(conn, ["hanoi"], PERIOD, by="group")


def _consume_command(group: str, pattern: str) -> list[str]:
    return [
        sys.executable, "-m", "woms.cli", "reporting", "consume",
        "--group", group, "--pattern", pattern,
    ]  # fmt: skip


def _processed(engine: Engine, tenant: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(LIVE.processed)
            .where(LIVE.processed.c.tenant == tenant)
        ).scalar_one()


def test_a_consumer_killed_mid_stream_and_restarted_counts_nothing_twice(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """``woms reporting consume`` is SIGKILLed after its first batch reached the database, then
    restarted: the figures equal the direct computation, every event processed once."""
    dbs = _tenant(tmp_path, kafka_bootstrap, 3)
    _drive_tasks(dbs, seed=11, count=400)
    published = _relay(dbs, kafka_bootstrap)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "WOMS_HOME": str(home),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": "sqlite:///{home}/db/{tenant}/{service}.sqlite3",
    }
    command = _consume_command(f"kill-{dbs.code}", tenants_pattern([dbs.code]))
    engine = create_engine_for_url(f"sqlite:///{home / 'db/platform/reporting.sqlite3'}")
    victim = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        seen = 0
        for _ in range(12000):  # up to ~60 s for the first batch to commit
            if victim.poll() is not None:
                break
            try:
                seen = _processed(engine, dbs.code)
            except OperationalError:  # the table is not migrated yet
                seen = 0
            if seen:
                victim.kill()
                break
            time.sleep(0.005)
    finally:
        victim.kill()
        victim.wait(timeout=30)
    assert 0 < seen < published, "killed mid-stream"

    restarted = subprocess.run(
        [*command, "--until-caught-up"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert _processed(engine, dbs.code) == published
    reporting_view = _projected_tasks(engine, dbs)
    engine.dispose()
    assert reporting_view == _expected_tasks(dbs)


def test_a_rebuild_holds_the_live_consumer_and_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path, reporting_db: Engine
) -> None:
    """While a rebuild runs the live consumer applies nothing; events published meanwhile are
    applied once after the swap, whatever the interleaving."""
    dbs = _tenant(tmp_path, kafka_bootstrap, 4)
    _drive_tasks(dbs, seed=5)
    published = _relay(dbs, kafka_bootstrap)
    live = ReportingConsumer(
        reporting_db,
        kafka_bootstrap,
        group_id=f"live-{dbs.code}",
        pattern=tenants_pattern([dbs.code]),
    )
    open_tasks = _open_task_codes(dbs)
    try:
        assert _drain(live) == published

        # held: a new event waits, rewound, until the pause is lifted
        with reporting_db.begin() as conn:
            repo.set_pause(conn, "by-hand", datetime.now(UTC) + timedelta(minutes=5))
        _approve(dbs, open_tasks.pop())
        waiting = _relay(dbs, kafka_bootstrap)
        assert waiting >= 1
        assert [live.poll_once(timeout_ms=300) for _ in range(4)] == [0, 0, 0, 0]
        assert sum(live.outcomes.values()) == published
        assert sum(live.lag().values()) == waiting  # fetched, not committed
        with reporting_db.begin() as conn:
            repo.clear_pause(conn)
        assert _drain(live) == waiting

        # a real rebuild with the live consumer polling and new events arriving meanwhile
        result: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: result.update(
                report=rebuild(reporting_db, kafka_bootstrap, tenants=[dbs.code], timeout_s=120)
            )
        )
        worker.start()
        holders: set[str | None] = set()
        while worker.is_alive():
            if open_tasks:
                _approve(dbs, open_tasks.pop())
                _relay(dbs, kafka_bootstrap)
            live.poll_once(timeout_ms=200)
            with reporting_db.connect() as conn:
                holders.add(repo.paused_by(conn, datetime.now(UTC)))
        worker.join()
        assert holders - {None} == {result["report"].group_id}  # held while it ran
        with reporting_db.connect() as conn:
            assert repo.paused_by(conn, datetime.now(UTC)) is None  # released by the swap
        _drain(live)
    finally:
        live.close()
    assert _projected_tasks(reporting_db, dbs) == _expected_tasks(dbs)
    with Session(dbs.tasks) as s:
        events = s.execute(select(func.count()).select_from(tasks_models.outbox)).scalar_one()
    assert _processed(reporting_db, dbs.code) == events


def _open_task_codes(dbs: TenantDbs) -> list[str]:
    with Session(dbs.tasks) as s:
        return [
            t.code
            for t in s.execute(select(tasks_models.Task)).scalars()
            if t.status in {"submitted", "assigned", "in_progress"}
        ]


def _approve(dbs: TenantDbs, code: str) -> None:
    """Submit (when needed) and approve ``code`` through the tasks service."""
    rules = tasks.TenantRules()
    with transaction(dbs.tasks) as s:
        task = tasks.get_task(s, code)
        if task.status == "assigned":
            tasks.act(s, dbs.code, rules, code, "start", task.lead_person, date(2026, 7, 1))
        if task.status != "submitted":
            tasks.act(s, dbs.code, rules, code, "submit", task.lead_person, date(2026, 7, 2))
        tasks.act(s, dbs.code, rules, code, "approve", BOSS, date(2026, 7, 3))
