"""The web application's test stack: Hà Nội (phường Phúc Lợi) onboarded on SQLite under a
temporary WOMS home; planning, tasks, evaluation and the web app served for real by uvicorn in
threads (the web app reaches the services over HTTP only); the evaluation API signals the
session's Temporal dev server (``tests/conftest.py``; no workflow runs, so steps answer
``not_running``).

June 2026 of the office PL-VP (Văn phòng HĐND-UBND): P021's tasks reproduce 002's worked
example through the tasks API (132 points → 83.9, B with 30 general points), P022 and P023
get a few approved tasks, all on time (suggested 100, A); the months are opened from the
tasks ledger read over HTTP, as the cycle's ``open_evaluation`` activity opens them, and
P022 and P023 self-assess and are reviewed through the evaluation API before the test.
P019 heads the office: evaluator and decider of its staff (``001 §II.3``); P003 answers
appeals of P019's decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.common.db import dispose_engines, engine_for, transaction
from services.common.events import topic_for
from services.common.outbox import relay_once
from services.common.settings import get_settings
from services.evaluation import models as evaluation_models
from services.evaluation import service as evaluation_service
from services.evaluation.api import create_app as evaluation_app
from services.evaluation.clients import HttpSources
from services.evaluation.signals import CycleGateway
from services.planning import models as planning_models
from services.planning.api import create_app as planning_app
from services.reporting.api import create_app as reporting_app
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import reporting_engine
from services.tasks import api as tasks_api
from services.tasks import models as tasks_models
from services.web.app import create_app as web_app
from services.web.settings import WebSettings
from tests.integration.ward_stack import HANOI, TENANT, Clock, Tasks, auth, serving
from woms.onboarding import SERVICES, ensure_topics, onboard

PERIOD, UNIT = "2026-06", "PL-VP"
STAFF, HEAD, ABOVE = "P021", "P019", "P003"
OTHERS = {"P022": [("VP-VB-01", "6"), ("VP-BC-01", "2")], "P023": [("VP-VB-01", "3")]}


@dataclass(frozen=True)
class WebStack:
    """Base URLs of the served apps."""

    web: str
    planning: str
    tasks: str
    evaluation: str
    reporting: str


def _open_months(tasks_url: str, sources: HttpSources) -> None:
    for person in (STAFF, *OTHERS):
        ledger = sources.ledger_of(TENANT, person, PERIOD)
        with transaction(engine_for(TENANT, "evaluation")) as s:
            evaluation_service.open_evaluation(
                s, TENANT, person, UNIT, PERIOD, ledger, f"web-test:{person}:{PERIOD}:open"
            )


def _ready_for_decision(evaluation_url: str) -> None:
    """P022 and P023 self-assess and are reviewed through the evaluation API (general 28 and
    30 points), so the unit's decision has three people and the quota has work to do."""
    with httpx.Client(base_url=f"{evaluation_url}/tenants/{TENANT}", timeout=30) as api:
        for person in OTHERS:
            month = f"/evaluations/{person}/{PERIOD}"
            for step, who, body in (
                ("self-assessment", person, {"general": "28"}),
                ("review", HEAD, {"general": "30", "comment": "Hoàn thành tốt"}),
            ):
                answer = api.post(f"{month}/{step}", headers=auth(who), json=body)
                assert answer.status_code == 200, answer.text


@contextmanager
def web_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal: str) -> Iterator[WebStack]:
    """The whole stack for the web tests (see the module); yields the apps' URLs."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    tasks_api._directory.clear()
    onboard(HANOI, infrastructure=False)
    clock = Clock(date(2026, 6, 1))
    tasks = tasks_api.create_app()
    tasks.dependency_overrides[tasks_api.today] = clock
    try:
        with serving(planning_app(), tasks) as (planning_url, tasks_url):
            monkeypatch.setenv("PLANNING_URL", planning_url)
            monkeypatch.setenv("TASKS_URL", tasks_url)
            get_settings.cache_clear()
            with httpx.Client(base_url=tasks_url, timeout=30) as client:
                driver = Tasks(client, clock, date(2026, 6, 1), date(2026, 6, 26))
                driver.worked_example(HEAD, UNIT, STAFF)
                clock.day = date(2026, 6, 10)
                for person, items in OTHERS.items():
                    for item, quantity in items:
                        code = driver.create(HEAD, UNIT, person, item, quantity)
                        driver.done_and_approved(code, person, HEAD)
            sources = HttpSources(planning_url=planning_url, tasks_url=tasks_url)
            _open_months(tasks_url, sources)
            evaluation = evaluation_app(
                sources=sources, cycle_gateway=CycleGateway(temporal, timeout_s=3)
            )
            with serving(evaluation, reporting_app()) as (evaluation_url, reporting_url):
                _ready_for_decision(evaluation_url)
                settings = WebSettings(
                    planning_url=planning_url,
                    tasks_url=tasks_url,
                    evaluation_url=evaluation_url,
                    reporting_url=reporting_url,
                    tenant=TENANT,
                    period=PERIOD,
                )
                with serving(web_app(settings)) as (web_url,):
                    yield WebStack(web_url, planning_url, tasks_url, evaluation_url, reporting_url)
            sources.close()
    finally:
        tasks_api._directory.clear()
        dispose_engines()
        get_settings.cache_clear()


# --- the reporting read models, fed through the real Tansu broker ---------------------------


def _start_at_the_end(bootstrap: str, group: str) -> None:
    """Commit ``group``'s offsets at the current end of the tenant's topics: the session's
    broker is shared, and other tests' Hà Nội events must not reach this test's read
    models."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (topic_for(TENANT, s) for s in SERVICES)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(ends[tp], None, -1) for tp in partitions})
    finally:
        consumer.close()


def feed_reporting(bootstrap: str) -> int:
    """Relay the outboxes of planning, tasks and evaluation to Kafka (``outbox.relay_once``)
    and let a reporting consumer apply them until caught up; returns the records handled."""
    group = f"web-test-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, TENANT)
    _start_at_the_end(bootstrap, group)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for service, table in (
            ("planning", planning_models.outbox),
            ("tasks", tasks_models.outbox),
            ("evaluation", evaluation_models.outbox),
        ):
            while relay_once(engine_for(TENANT, service), table, producer):
                pass
    finally:
        producer.close()
    consumer = ReportingConsumer(
        reporting_engine(), bootstrap, group_id=group, pattern=tenants_pattern([TENANT])
    )
    try:
        handled = idle = 0
        for _ in range(240):
            n = consumer.poll_once(timeout_ms=500)
            handled += n
            idle = idle + 1 if n == 0 and consumer.caught_up() else 0
            if idle >= 2:
                return handled
        raise AssertionError(f"the reporting consumer did not catch up ({handled} records)")
    finally:
        consumer.close()
