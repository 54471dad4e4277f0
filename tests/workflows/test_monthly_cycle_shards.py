"""A sharded month (``CycleInput.shard_size``) on a real Temporal time-skipping server.

DOMAIN.md §6, 001 §IV.1: every person of the month is evaluated once, however large the tenant.
The activities are recorders standing in for the evaluation service, except the two paging
activities, which call the real :class:`~services.evaluation.activities.EvaluationActivities`
methods over an in-memory ``people_of``.

The histories of the sharded scenario are kept under ``histories/`` (``e_cycle_sharded``,
``e_shard_sharded``) and replayed by :func:`test_sharded_histories_replay`; re-record them after
an intended change with ``WOMS_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from services.common import runtime
from services.evaluation.activities import EvaluationActivities
from workflows.monthly_cycle.activities import ActivityNames
from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleInput,
    CycleProgress,
    PeopleQuery,
    PeriodRef,
    PersonRef,
    PersonState,
    PersonStep,
    StepDone,
    UnitCount,
    person_workflow_id,
    shard_workflow_id,
)
from workflows.monthly_cycle.person import PersonEvaluationWorkflow
from workflows.monthly_cycle.shard import MAX_SHARDS, CycleShardWorkflow, plan_shards
from workflows.monthly_cycle.worker import build_worker, start_cycle, workflows

pytestmark = pytest.mark.integration

TENANT = "xa-lon"
PERIOD = "2026-04"
QUEUE = "monthly-cycle-shards-test"
HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("WOMS_RECORD_HISTORIES") == "1"
ALL_STEPS = ("self_assessed", "reviewed", "decided")

# 25 people in 5 units of 6, 4, 7, 3 and 5; listed out of order on purpose.
UNIT_SIZES = {"u1": 6, "u2": 4, "u3": 7, "u4": 3, "u5": 5}
PEOPLE = sorted(
    (
        PersonRef(
            person_id=f"{unit}-p{i}",
            unit_id=unit,
            evaluated=(unit, i) not in {("u2", 1), ("u5", 4)},  # two on long leave
        )
        for unit, size in UNIT_SIZES.items()
        for i in range(size)
    ),
    key=lambda p: p.person_id[::-1],
)
EVALUATED = sorted(p.person_id for p in PEOPLE if p.evaluated)
SKIPPED = sorted(p.person_id for p in PEOPLE if not p.evaluated)
LATE = "u3-p2"  # never self-assesses: falls back and is flagged


# --- plan_shards (pure) ------------------------------------------------------------------


def _units(*sizes: int) -> list[UnitCount]:
    return [UnitCount(unit_id=f"u{i}", people=n) for i, n in enumerate(sizes)]


def test_plan_keeps_whole_units_together_while_they_fit() -> None:
    assert plan_shards(_units(6, 4, 7, 3, 5), 10) == [(0, 10), (10, 10), (20, 5)]
    assert plan_shards(_units(6, 5, 5), 10) == [(0, 6), (6, 10)]


def test_plan_splits_a_unit_larger_than_a_shard_over_shards_of_its_own() -> None:
    assert plan_shards(_units(3, 25, 2), 10) == [(0, 3), (3, 10), (13, 10), (23, 7)]
    assert plan_shards(_units(), 10) == []
    assert plan_shards(_units(0, 4), 10) == [(0, 4)]


def test_plan_raises_the_shard_size_when_there_would_be_too_many_shards() -> None:
    plan = plan_shards(_units(*([7] * 1_000)), 5)  # 7,000 people, 1,000 units
    assert len(plan) <= MAX_SHARDS
    assert sum(limit for _, limit in plan) == 7_000
    assert all(limit <= 7 for _, limit in plan)


# --- the evaluation service stand-in -----------------------------------------------------


@dataclass
class Service:
    """Recording activities; the paging ones run the real evaluation-service methods."""

    people: list[PersonRef]
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def args(self, name: str) -> list[Any]:
        return [arg for n, arg in self.calls if n == name]

    def activities(self) -> list[Callable[..., Any]]:
        real = EvaluationActivities(
            people_of=lambda tenant, period: list(self.people),
            ledger_of=lambda tenant, person, period: [],
            relation_of=lambda tenant, period: {},
        )

        @activity.defn(name=ActivityNames.COUNT_PEOPLE)
        async def count_people(query: PeopleQuery) -> list[UnitCount]:
            self.calls.append((ActivityNames.COUNT_PEOPLE, query))
            return real.count_people(query)

        @activity.defn(name=ActivityNames.LIST_PEOPLE_PAGE)
        async def list_people_page(query: PeopleQuery) -> list[PersonRef]:
            self.calls.append((ActivityNames.LIST_PEOPLE_PAGE, query))
            return real.list_people_page(query)

        @activity.defn(name=ActivityNames.LIST_PEOPLE)
        async def list_people(ref: PeriodRef) -> list[PersonRef]:
            self.calls.append((ActivityNames.LIST_PEOPLE, ref))
            return list(self.people)

        @activity.defn(name=ActivityNames.CYCLE_FINISHED)
        async def cycle_finished(ref: PeriodRef) -> None:
            self.calls.append((ActivityNames.CYCLE_FINISHED, ref))

        @activity.defn(name=ActivityNames.ESCALATE)
        async def escalate(step: PersonStep) -> str:
            self.calls.append((ActivityNames.ESCALATE, step))
            return "chu-tich"

        def recorder(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def run(step: PersonStep) -> None:
                self.calls.append((name, step))

            return run

        plain = (
            ActivityNames.OPEN_EVALUATION,
            ActivityNames.SEND_REMINDER,
            ActivityNames.APPLY_FALLBACK,
            ActivityNames.RECORD_NOT_EVALUATED,
            ActivityNames.PUBLISH,
        )
        paging = [count_people, list_people_page, list_people, cycle_finished, escalate]
        return [*paging, *(recorder(n) for n in plain)]


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Poll ``check`` (real time, no time skipping) until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _save(name: str, handle: WorkflowHandle[Any, Any]) -> None:
    if RECORD:
        HISTORIES.mkdir(exist_ok=True)
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


@dataclass
class Outcome:
    live: CycleProgress  # the cycle's progress once every shard has reported
    final: CycleProgress
    shards: list[CycleProgress]
    shard_ids: list[str]
    missing_shard: bool
    states: dict[str, PersonState]


def test_a_sharded_month_publishes_everyone_once_and_sums_the_shards() -> None:
    service = Service(PEOPLE)
    cycle_input = CycleInput(
        tenant_id=TENANT,
        period=PERIOD,
        idempotency_key=f"cycle-{PERIOD}",
        calendar=CycleCalendar(seconds_per_day=3600),
        batch_size=4,
        shard_size=10,
    )

    async def scenario(env: WorkflowEnvironment) -> Outcome:
        handle = await start_cycle(env.client, cycle_input, task_queue=QUEUE)

        async def all_started() -> bool:
            progress: CycleProgress = await handle.query(MonthlyCycleWorkflow.progress)
            return progress.started == len(EVALUATED)

        await _eventually(all_started)
        live: CycleProgress = await handle.query(MonthlyCycleWorkflow.progress)
        for person in EVALUATED:
            child = env.client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
            for step in ALL_STEPS if person != LATE else ALL_STEPS[1:]:
                await child.signal(step, StepDone(actor=f"{step}-actor"))
        final = await handle.result()
        shard_ids = [shard_workflow_id(TENANT, n, PERIOD) for n in range(3)]
        shards = [
            await env.client.get_workflow_handle_for(CycleShardWorkflow.run, wid).result()
            for wid in shard_ids
        ]
        try:
            await env.client.get_workflow_handle(shard_workflow_id(TENANT, 3, PERIOD)).describe()
            missing = False
        except RPCError:
            missing = True
        states = {
            p: await env.client.get_workflow_handle_for(
                PersonEvaluationWorkflow.run, person_workflow_id(TENANT, p, PERIOD)
            ).result()
            for p in EVALUATED
        }
        await _save("e_cycle_sharded", handle)
        await _save("e_shard_sharded", env.client.get_workflow_handle(shard_ids[1]))
        return Outcome(live, final, shards, shard_ids, missing, states)

    async def main() -> Outcome:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=runtime.temporal_test_server_path()
        )
        async with env, build_worker(env.client, service.activities(), task_queue=QUEUE):
            return await scenario(env)

    out = asyncio.run(asyncio.wait_for(main(), timeout=90))

    # three shards of whole units (6+4, 7+3, 5 people), the fourth id is not used
    assert [(s.total, s.not_evaluated) for s in out.shards] == [(10, 1), (10, 0), (5, 1)]
    assert out.missing_shard
    # everyone evaluated is published exactly once; the two on leave are recorded once
    published = sorted(arg.person_id for arg in service.args(ActivityNames.PUBLISH))
    assert published == EVALUATED
    recorded = sorted(arg.person_id for arg in service.args(ActivityNames.RECORD_NOT_EVALUATED))
    assert recorded == SKIPPED
    opened = sorted(arg.person_id for arg in service.args(ActivityNames.OPEN_EVALUATION))
    assert opened == EVALUATED
    assert all(s.published and s.step == "done" for s in out.states.values())
    assert out.states[LATE].flags == ["self_assessment_missed"]
    # the cycle's counts are the sums of its shards'
    assert out.final == CycleProgress(
        total=25,
        started=23,
        by_step={"not_started": 0, "running": 0, "completed": 23, "failed": 0},
        late=[LATE],
        not_evaluated=2,
    )
    assert out.live.total == 25 and out.live.not_evaluated == 2
    assert out.live.by_step["not_started"] == 0
    assert out.live.by_step["running"] + out.live.by_step["completed"] == 23
    # paged: no list_people, every page at most a batch, the pages cover everyone once
    assert service.args(ActivityNames.LIST_PEOPLE) == []
    pages = service.args(ActivityNames.LIST_PEOPLE_PAGE)
    assert all(0 < q.limit <= 4 for q in pages)
    assert sorted((q.offset, q.offset + q.limit) for q in pages)[-1][1] == 25
    assert sum(q.limit for q in pages) == 25
    assert len(service.args(ActivityNames.COUNT_PEOPLE)) == 1
    assert len(service.args(ActivityNames.CYCLE_FINISHED)) == 1
    # every activity input names the tenant and has its own idempotency key
    keyed = [arg for _, arg in service.calls if hasattr(arg, "idempotency_key")]
    assert all(arg.tenant_id == TENANT for arg in keyed)
    keys = [arg.idempotency_key for arg in keyed]
    assert len(keys) == len(set(keys))
    # person keys are the cycle's, as in an unsharded month
    assert sorted(arg.idempotency_key for arg in service.args(ActivityNames.OPEN_EVALUATION)) == [
        f"cycle-{PERIOD}:{p}:open" for p in EVALUATED
    ]


@pytest.mark.parametrize("name", ["e_cycle_sharded", "e_shard_sharded"])
def test_sharded_histories_replay(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    assert path.exists(), f"missing {path}: run the module with WOMS_RECORD_HISTORIES=1"
    history = WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))

    async def replay() -> None:
        await Replayer(workflows=workflows()).replay_workflow(history)

    asyncio.run(asyncio.wait_for(replay(), timeout=30))
