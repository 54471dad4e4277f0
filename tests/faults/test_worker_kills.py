"""Issue 9, faults: the cycle's Temporal worker process SIGKILLed at seeded random points 50
times during a month of 200 people on the real dev server — every person ends published exactly
once, with one evaluation (score record) each, one ``published`` history entry each, and no
step's outbox event written twice (`docs/faults.md`).

The worker is ``tests/faults/cycle_worker.py`` (the real workflows and activities on a SQLite
tenant database, in-process people and ledgers generated as ``bench/cycle.py`` does). The test
plays the people and their managers as the API would (``service.self_assess`` / ``review`` /
``decide`` in one transaction each, then the matching signal), one slice of people per worker
life, so the kills are spread over the opening, the steps and the publications. Each worker life
ends with SIGKILL a seeded random 0.2–3 s after it reported ``ready``; a last worker, left
alive, finishes the month.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from temporalio.client import Client
from temporalio.service import RPCError

from bench.cycle import head_of, people, person_id, settings_for
from services.common.db import engine_for, migrate, transaction
from services.evaluation import service
from services.evaluation.models import Evaluation, EvaluationEvent, outbox
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleInput,
    StepDone,
    person_workflow_id,
)
from workflows.monthly_cycle.worker import start_cycle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

KILLS = int(os.environ.get("WOMS_FAULT_WORKER_KILLS", "50"))
PEOPLE = int(os.environ.get("WOMS_FAULT_WORKER_PEOPLE", "200"))
SEED = 2026
PERIOD = "2026-06"
UNIT_SIZE = 20  # bench/cycle.py's units


def _retrying(engine: Engine, use_case: Callable[..., Any], *args: Any, **kw: Any) -> None:
    """One transaction, retried on SQLite's "database is locked" (single writer)."""
    for attempt in range(40):
        try:
            with transaction(engine) as session:
                use_case(session, *args, **kw)
            return
        except OperationalError:
            if attempt == 39:
                raise
            time.sleep(0.05 * (attempt + 1))


class Month:
    """The test's side of the month: who is open, and the people's and managers' steps."""

    def __init__(self, client: Client, engine: Engine, tenant: str) -> None:
        self.client, self.engine, self.tenant = client, engine, tenant

    def count(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(Evaluation).where(Evaluation.period == PERIOD)
        if status is not None:
            stmt = stmt.where(Evaluation.status == status)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(stmt).scalar_one())
        except OperationalError:
            return -1

    def is_open(self, person: str) -> bool:
        try:
            with self.engine.connect() as conn:
                return (
                    conn.execute(
                        select(Evaluation.id).where(
                            Evaluation.person == person, Evaluation.period == PERIOD
                        )
                    ).first()
                    is not None
                )
        except OperationalError:
            return False

    async def play(self, index: int) -> None:
        """Self-assess, review and decide ``index``'s month, each followed by its signal."""
        person = person_id(index)
        while not await asyncio.to_thread(self.is_open, person):
            await asyncio.sleep(0.2)
        manager = head_of(index) if index % UNIT_SIZE else "D"
        handle = self.client.get_workflow_handle(person_workflow_id(self.tenant, person, PERIOD))
        steps: list[tuple[str, Callable[..., Any], tuple[Any, ...], str]] = [
            ("self_assessed", service.self_assess, (28,), person),
            ("reviewed", service.review, (27, "Hoàn thành tốt"), manager),
            ("decided", service.decide, (), manager),
        ]
        for name, use_case, args, actor in steps:
            await asyncio.to_thread(
                _retrying, self.engine, use_case, self.tenant, person, PERIOD, *args, actor=actor
            )
            await handle.signal(name, StepDone(actor=actor))


async def _spawn_worker(address: str, home: Path, queue: str) -> asyncio.subprocess.Process:
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.cycle_worker",
        address, str(home), queue, str(PEOPLE), str(SEED),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=(home / "worker.log").open("ab"),
    )  # fmt: skip
    assert worker.stdout is not None
    line = await asyncio.wait_for(worker.stdout.readline(), timeout=180)
    assert line.strip() == b"ready", f"worker did not start; see {home / 'worker.log'}"
    return worker


async def _scenario(address: str, home: Path, tenant: str) -> dict[str, Any]:
    rng = random.Random(SEED)
    queue = f"faults-{tenant}"
    engine = engine_for(tenant, "evaluation", settings_for(home))
    migrate(engine, ROOT / "services/evaluation/migrations")
    client = await Client.connect(address)
    month = Month(client, engine, tenant)
    # a compressed day long enough for every worker life to fit before the first reminder
    # (day 22), whatever the machine's load: up to 12 s per life
    spd = max(8, math.ceil(KILLS * 12 / 22))
    lives = asyncio.Event()
    started = 0
    kills: list[dict[str, Any]] = []

    async def killer() -> asyncio.subprocess.Process:
        nonlocal started
        for i in range(KILLS):
            worker = await _spawn_worker(address, home, queue)
            started = i + 1
            lives.set()
            await asyncio.sleep(rng.uniform(0.2, 3.0))
            kills.append({"opened": month.count(), "published": month.count("published")})
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
            assert worker.returncode == -signal.SIGKILL
        return await _spawn_worker(address, home, queue)

    async def players() -> None:
        order = list(range(PEOPLE))
        rng_people = random.Random(SEED + 1)
        rng_people.shuffle(order)
        size = math.ceil(PEOPLE / KILLS)
        slices = [order[i : i + size] for i in range(0, PEOPLE, size)]
        for n, part in enumerate(slices):
            while started <= n:  # one slice per worker life
                lives.clear()
                await lives.wait()
            await asyncio.gather(*(month.play(i) for i in part))

    handle = await start_cycle(
        client,
        CycleInput(tenant, PERIOD, f"{tenant}-{PERIOD}", CycleCalendar(seconds_per_day=spd), 50),
        task_queue=queue,
    )
    last: asyncio.subprocess.Process | None = None
    try:
        killing = asyncio.create_task(killer())
        await asyncio.wait_for(players(), timeout=KILLS * 30 + 600)
        last = await asyncio.wait_for(killing, timeout=KILLS * 30 + 600)
        for _ in range(1800):  # the last worker publishes what is left
            if month.count("published") == PEOPLE:
                break
            await asyncio.sleep(0.5)
    finally:
        with contextlib.suppress(RPCError):  # the month is left running otherwise
            await handle.terminate("fault test done")
        if last is not None and last.returncode is None:
            last.send_signal(signal.SIGTERM)
            await asyncio.wait_for(last.wait(), timeout=60)
    print(f"kills (opened, published at each): {kills}")
    return {"kills": kills, "engine": engine}


@pytest.mark.timeout(3600)
def test_a_worker_killed_50_times_publishes_everyone_exactly_once(
    temporal_address: str, tmp_path: Path
) -> None:
    tenant = f"fk{uuid.uuid4().hex[:8]}"
    result = asyncio.run(_scenario(temporal_address, tmp_path, tenant))
    kills, engine = result["kills"], result["engine"]
    assert len(kills) == KILLS
    assert kills[-1]["published"] < PEOPLE, f"the kills were during the month: {kills}"
    everyone = {r.person_id for r in people(PEOPLE)}
    with transaction(engine) as s:
        rows = s.execute(select(Evaluation).where(Evaluation.period == PERIOD)).scalars().all()
        assert sorted(r.person for r in rows) == sorted(everyone)  # one evaluation each
        assert {r.status for r in rows} == {"published"}
        assert all(r.score is not None and r.grade is not None for r in rows)
        entries = Counter(
            s.execute(
                select(Evaluation.person)
                .join(EvaluationEvent, EvaluationEvent.evaluation_id == Evaluation.id)
                .where(EvaluationEvent.action == "published")
            ).scalars()
        )
        assert entries == Counter(everyone), "one published history entry per person"
        per_step = Counter(
            (a, t) for a, t in s.execute(select(outbox.c.aggregate, outbox.c.type)).all()
        )
    doubled = {k: n for k, n in per_step.items() if n > 1}
    assert not doubled, f"outbox events written twice for one step: {doubled}"
    published_events = {a for (a, t) in per_step if ".published" in t}
    assert len(published_events) == PEOPLE
