"""The reporting pipeline's test helpers, shared by ``tests/integration/test_reporting_pipeline.py``
and the fault scenarios (``tests/faults``): a tenant's tasks and evaluation databases (SQLite
files, their own migrations), events driven through the services' real use cases, the outbox
relayed to the broker, and the direct computations the read models must equal.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.common.db import create_engine_for_url, migrate, transaction
from services.common.outbox import relay_once
from services.evaluation import models as evaluation_models
from services.evaluation import service as evaluation
from services.reporting import service as reporting
from services.reporting.consumer import ReportingConsumer
from services.reporting.models import LIVE
from services.tasks import models as tasks_models
from services.tasks import service as tasks
from services.tasks.workdays import period_of
from woms.onboarding import ensure_topics

ROOT = Path(__file__).resolve().parents[2]

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


def tenant_dbs(tmp_path: Path, bootstrap: str, index: int) -> TenantDbs:
    """A fresh tenant code (random, ending in ``index``), its topics on ``bootstrap`` and its
    migrated tasks and evaluation databases under ``tmp_path``."""
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


def new_task(session: Session, n: int, person: str, due: date, rng: random.Random) -> str:
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


def drive_tasks(dbs: TenantDbs, seed: int, count: int = 28, first: int = 1) -> None:
    """Tasks ``CV-<first>`` … ``CV-<first + count - 1>`` through the tasks service's lifecycle
    (assign → … → approve/return/cancel), then the daily overdue flagging — every change writes
    its event to the tasks outbox (about 3.3 events per task)."""
    rng = random.Random(seed)
    # a stream of thousands of tasks over four people: far above the default cap of points a
    # person may lead in a month (tasks.max_points_per_person_month), which is not under test
    rules = tasks.TenantRules(max_points_per_person_month=Decimal(10**9))
    with transaction(dbs.tasks) as s:
        for n in range(first, first + count):
            person = rng.choice(sorted(UNITS))
            due = rng.choice([date(2026, 6, 19), date(2026, 6, 26), date(2026, 7, 10)])
            code = new_task(s, n, person, due, rng)
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
            product = [f"https://vanban.example/{code}"]  # evidence of the product, 000 §VI.4
            when = late if path == "late" else early
            tasks.act(s, dbs.code, rules, code, "submit", person, when, evidence_links=product)
            if path == "submitted":
                continue
            if path == "returned":
                tasks.act(s, dbs.code, rules, code, "return", BOSS, early, reason="Thiếu số liệu")
                tasks.act(s, dbs.code, rules, code, "submit", person, late, evidence_links=product)
            tasks.act(s, dbs.code, rules, code, "approve", BOSS, late)
        tasks.flag_overdue(s, dbs.code, date(2026, 7, 1))


def drive_evaluations(dbs: TenantDbs) -> None:
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


def relay_all(dbs: TenantDbs, bootstrap: str) -> int:
    """Relay the tenant's tasks and evaluation outboxes until empty; the number of events."""
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


def drain(consumer: ReportingConsumer, attempts: int = 120) -> int:
    """Poll until every partition is read to its end (two empty polls in a row)."""
    handled = idle = 0
    for _ in range(attempts):
        n = consumer.poll_once(timeout_ms=500)
        handled += n
        idle = idle + 1 if n == 0 and consumer.caught_up() else 0
        if idle >= 2:
            return handled
    raise AssertionError(f"not caught up after {attempts} polls ({handled} records)")


# --- the direct computations from the source services' databases ---------------------------


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


def num(value: Any) -> Decimal:
    """Counts and points compared as exact numbers (points travel as decimal text)."""
    return Decimal(str(value)).normalize()


def expected_tasks(dbs: TenantDbs) -> dict[tuple[str, str, str], dict[str, int]]:
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
    return {k: {name: num(c[name]) for name in KEYS} for k, c in out.items()}


def projected_tasks(engine: Engine, dbs: TenantDbs) -> dict[tuple[str, str, str], dict[str, int]]:
    """Per (period, unit, person), as the reporting read models give them."""
    out = {}
    with engine.connect() as conn:
        for period in ("2026-06", "2026-07"):
            summary = reporting.task_summary(conn, [dbs.code], period, by="person")
            for row in summary["rows"]:
                out[(period, row["unit"], row["person"])] = {k: num(row[k]) for k in KEYS}
    return out


def expected_evaluations(dbs: TenantDbs) -> list[dict[str, Any]]:
    """Every evaluation of the evaluation database, by person, as the read model shows it."""
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


def snapshot(engine: Engine, tenants: list[str]) -> dict[str, list[tuple[Any, ...]]]:
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


def consume_command(group: str, pattern: str) -> list[str]:
    """The ``woms reporting consume`` command line for consumer group ``group``."""
    return [
        sys.executable, "-m", "woms.cli", "reporting", "consume",
        "--group", group, "--pattern", pattern,
    ]  # fmt: skip


def processed(engine: Engine, tenant: str) -> int:
    """How many events of ``tenant`` the reporting database has processed."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(LIVE.processed)
            .where(LIVE.processed.c.tenant == tenant)
        ).scalar_one()
