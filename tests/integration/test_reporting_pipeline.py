"""The reporting pipeline on the real Tansu broker: the tasks and evaluation services' own use
cases write events to their outboxes (SQLite files), the outbox relay publishes them, the
reporting consumer group applies them — and the read models equal a direct computation from
the services' databases, through duplicates, a restart that redelivers everything, an unknown
event version, a malformed message and a rebuild.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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
from services.common.outbox import record
from services.evaluation import models as evaluation_models
from services.reporting import repository as repo
from services.reporting import service as reporting
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import MIGRATIONS
from services.reporting.rebuild import rebuild
from services.tasks import models as tasks_models
from services.tasks import service as tasks
from tests.support.pipeline import (
    BOSS,
    PERIOD,
    ROOT,
    TenantDbs,
    consume_command,
    drain,
    drive_evaluations,
    drive_tasks,
    expected_evaluations,
    expected_tasks,
    processed,
    projected_tasks,
    relay_all,
    snapshot,
    tenant_dbs,
)
from woms.onboarding import SERVICES

pytestmark = pytest.mark.integration

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
    a, b = tenant_dbs(tmp_path, kafka_bootstrap, 1), tenant_dbs(tmp_path, kafka_bootstrap, 2)
    for seed, dbs in enumerate((a, b)):
        drive_tasks(dbs, seed)
        drive_evaluations(dbs)
    published = relay_all(a, kafka_bootstrap) + relay_all(b, kafka_bootstrap)
    pattern = tenants_pattern([a.code, b.code])
    group = f"reporting-{a.code}"

    consumer = ReportingConsumer(reporting_db, kafka_bootstrap, group_id=group, pattern=pattern)
    try:
        assert drain(consumer) == published
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
    for expected_counts in (*expected_tasks(a).values(), *expected_tasks(b).values()):
        scenario.update(expected_counts)
    assert all(scenario[k] > 0 for k in ("done", "on_time", "late", "overdue", "returned"))
    assert scenario["total"] > scenario["done"]
    assert scenario["points_assigned"] > scenario["points_completed"] > 0
    with reporting_db.connect() as conn:  # the task events carry their group (001 §III.1)
        by_group = reporting.task_summary(conn, [a.code], "2026-06")["by_group"]
    assert by_group and all(g["task_group"] in {"focus", "regular", "arising"} for g in by_group)
    for dbs in (a, b):
        assert projected_tasks(reporting_db, dbs) == expected_tasks(dbs)
        with reporting_db.connect() as conn:
            rows = reporting.evaluation_rows(conn, [dbs.code], PERIOD)
            grades = reporting.grade_distribution(conn, [dbs.code], PERIOD)
            progress = reporting.cycle_progress(conn, [dbs.code], PERIOD)
        expected = expected_evaluations(dbs)
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
    before = snapshot(reporting_db, [a.code, b.code])

    # a relay that publishes everything again (at least once) changes nothing
    for engine, table in ((a.tasks, tasks_models.outbox), (a.evaluation, evaluation_models.outbox)):
        with transaction(engine) as s:
            s.execute(update(table).values(published_at=None))
    republished = relay_all(a, kafka_bootstrap)
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
        assert drain(restarted) == published + republished
        assert restarted.outcomes == Counter(duplicate=published + republished)
        assert snapshot(reporting_db, [a.code, b.code]) == before

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
        assert relay_all(a, kafka_bootstrap) == 1
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        producer.send(topic_for(b.code, "evaluation"), value=b'{"not": "an event"', key=b"x")
        producer.flush()
        producer.close()
        assert drain(restarted) == 2
        # a new change after the restart is applied once
        with transaction(b.tasks) as s:
            code = next(
                t.code
                for t in s.execute(select(tasks_models.Task)).scalars()
                if t.status == "submitted"
            )
            tasks.act(s, b.code, tasks.TenantRules(), code, "approve", BOSS, date(2026, 7, 2))
        assert relay_all(b, kafka_bootstrap) == 1
        assert drain(restarted) == 1
        assert sum(restarted.lag().values()) == 0
    finally:
        restarted.close()
    assert restarted.outcomes["dead_letter"] == 2 and restarted.outcomes["applied"] == 1
    assert projected_tasks(reporting_db, b) == expected_tasks(b)
    with reporting_db.connect() as conn:
        parked = reporting.dead_letters(conn, [a.code, b.code])
    assert sorted(p["reason"].split(":")[0] for p in parked) == [
        "malformed body",
        "unknown version v2 of vn.woms.tasks.task.approved",
    ]
    assert {p["tenant"] for p in parked} == {a.code, b.code}
    after = snapshot(reporting_db, [a.code, b.code])

    # rebuilt from the beginning of the topics into new tables and swapped in: the same figures
    report = rebuild(reporting_db, kafka_bootstrap, tenants=[a.code, b.code], timeout_s=120)
    assert report.records == published + republished + 3
    assert snapshot(reporting_db, [a.code, b.code]) == after


def test_a_task_summary_needs_a_tenant_and_a_known_breakdown(reporting_db: Engine) -> None:
    with reporting_db.connect() as conn:
        with pytest.raises(ValueError, match="tenants"):
            reporting.task_summary(conn, [], PERIOD)
        with pytest.raises(ValueError, match="by: 'group'"):
            reporting.task_summary(conn, ["hanoi"], PERIOD, by="group")


def test_a_consumer_killed_mid_stream_and_restarted_counts_nothing_twice(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """``woms reporting consume`` is SIGKILLed after its first batch reached the database, then
    restarted: the figures equal the direct computation, every event processed once."""
    dbs = tenant_dbs(tmp_path, kafka_bootstrap, 3)
    drive_tasks(dbs, seed=11, count=400)
    published = relay_all(dbs, kafka_bootstrap)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "WOMS_HOME": str(home),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": "sqlite:///{home}/db/{tenant}/{service}.sqlite3",
    }
    command = consume_command(f"kill-{dbs.code}", tenants_pattern([dbs.code]))
    engine = create_engine_for_url(f"sqlite:///{home / 'db/platform/reporting.sqlite3'}")
    victim = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        seen = 0
        for _ in range(12000):  # up to ~60 s for the first batch to commit
            if victim.poll() is not None:
                break
            try:
                seen = processed(engine, dbs.code)
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
    assert processed(engine, dbs.code) == published
    reporting_view = projected_tasks(engine, dbs)
    engine.dispose()
    assert reporting_view == expected_tasks(dbs)


def test_a_rebuild_holds_the_live_consumer_and_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path, reporting_db: Engine
) -> None:
    """While a rebuild runs the live consumer applies nothing; events published meanwhile are
    applied once after the swap, whatever the interleaving."""
    dbs = tenant_dbs(tmp_path, kafka_bootstrap, 4)
    drive_tasks(dbs, seed=5)
    published = relay_all(dbs, kafka_bootstrap)
    live = ReportingConsumer(
        reporting_db,
        kafka_bootstrap,
        group_id=f"live-{dbs.code}",
        pattern=tenants_pattern([dbs.code]),
    )
    open_tasks = _open_task_codes(dbs)
    try:
        assert drain(live) == published

        # held: a new event waits, rewound, until the pause is lifted
        with reporting_db.begin() as conn:
            repo.set_pause(conn, "by-hand", datetime.now(UTC) + timedelta(minutes=5))
        _approve(dbs, open_tasks.pop())
        waiting = relay_all(dbs, kafka_bootstrap)
        assert waiting >= 1
        assert [live.poll_once(timeout_ms=300) for _ in range(4)] == [0, 0, 0, 0]
        assert sum(live.outcomes.values()) == published
        assert sum(live.lag().values()) == waiting  # fetched, not committed
        with reporting_db.begin() as conn:
            repo.clear_pause(conn)
        assert drain(live) == waiting

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
                relay_all(dbs, kafka_bootstrap)
            live.poll_once(timeout_ms=200)
            with reporting_db.connect() as conn:
                holders.add(repo.paused_by(conn, datetime.now(UTC)))
        worker.join()
        assert holders - {None} == {result["report"].group_id}  # held while it ran
        with reporting_db.connect() as conn:
            assert repo.paused_by(conn, datetime.now(UTC)) is None  # released by the swap
        drain(live)
    finally:
        live.close()
    assert projected_tasks(reporting_db, dbs) == expected_tasks(dbs)
    with Session(dbs.tasks) as s:
        events = s.execute(select(func.count()).select_from(tasks_models.outbox)).scalar_one()
    assert processed(reporting_db, dbs.code) == events


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
            tasks.act(
                s,
                dbs.code,
                rules,
                code,
                "submit",
                task.lead_person,
                date(2026, 7, 2),
                evidence_links=[f"https://vanban.example/{code}"],  # 000 §VI.4
            )
        tasks.act(s, dbs.code, rules, code, "approve", BOSS, date(2026, 7, 3))
