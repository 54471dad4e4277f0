"""The monthly cycle workflows on a real Temporal server with time skipping (DOMAIN.md §6).

The Temporal side is real (``temporal-test-server``); the activities are small recorders
written here that stand in for the evaluation service. Most scenarios use a compressed
calendar (one "day" = one hour from the cycle start) so deadlines are hours apart; the
December scenario uses the real calendar.

Histories of scenarios (a) and (c) are kept under ``histories/`` and replayed by
:func:`test_saved_histories_replay`, so a non-deterministic change of the workflow code fails.
Re-record them after an intended change with ``WOMS_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from services.common import runtime
from workflows.monthly_cycle.activities import ActivityNames
from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
from workflows.monthly_cycle.deadlines import deadlines_for
from workflows.monthly_cycle.inputs import (
    Appeal,
    AppealAnswer,
    CycleCalendar,
    CycleInput,
    CycleProgress,
    Deadlines,
    PeriodRef,
    PersonInput,
    PersonRef,
    PersonState,
    PersonStep,
    StepDone,
    cycle_workflow_id,
    person_workflow_id,
)
from workflows.monthly_cycle.person import PersonEvaluationWorkflow
from workflows.monthly_cycle.worker import build_worker, start_cycle, workflows

pytestmark = pytest.mark.integration

T = TypeVar("T")
TENANT = "phuong-test"
PERIOD = "2026-03"
QUEUE = "monthly-cycle-test"
HOUR_DAYS = CycleCalendar(seconds_per_day=3600)  # compressed: a "day" is an hour
HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("WOMS_RECORD_HISTORIES") == "1"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


# --- the evaluation service stand-in -----------------------------------------------------


@dataclass
class Call:
    name: str
    arg: Any
    scheduled: datetime


@dataclass
class Service:
    """Recording activity implementations registered under :class:`ActivityNames`."""

    people: list[PersonRef]
    calls: list[Call] = field(default_factory=list)

    def _record(self, name: str, arg: Any) -> None:
        self.calls.append(Call(name, arg, activity.info().current_attempt_scheduled_time))

    def named(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def steps(self, name: str) -> list[tuple[str, str]]:
        return [(c.arg.person_id, c.arg.step) for c in self.named(name)]

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=ActivityNames.LIST_PEOPLE)
        async def list_people(ref: PeriodRef) -> list[PersonRef]:
            self._record(ActivityNames.LIST_PEOPLE, ref)
            return self.people

        @activity.defn(name=ActivityNames.ESCALATE)
        async def escalate(step: PersonStep) -> str:
            self._record(ActivityNames.ESCALATE, step)
            return "chu-tich"

        @activity.defn(name=ActivityNames.CYCLE_FINISHED)
        async def cycle_finished(ref: PeriodRef) -> None:
            self._record(ActivityNames.CYCLE_FINISHED, ref)

        def person_step(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def run(step: PersonStep) -> None:
                self._record(name, step)

            return run

        plain = (
            ActivityNames.OPEN_EVALUATION,
            ActivityNames.SEND_REMINDER,
            ActivityNames.APPLY_FALLBACK,
            ActivityNames.RECORD_NOT_EVALUATED,
            ActivityNames.PUBLISH,
        )
        return [list_people, escalate, cycle_finished, *(person_step(n) for n in plain)]


def _people(*ids: str) -> list[PersonRef]:
    return [PersonRef(person_id=p, unit_id="van-phong", evaluated=True) for p in ids]


def _cycle_input(period: str = PERIOD, calendar: CycleCalendar = HOUR_DAYS) -> CycleInput:
    return CycleInput(
        tenant_id=TENANT, period=period, idempotency_key=f"cycle-{period}", calendar=calendar
    )


def _run(service: Service, scenario: Callable[[WorkflowEnvironment], Awaitable[T]]) -> T:
    """Run ``scenario`` against a fresh time-skipping server with ``service``'s worker."""

    async def main() -> T:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=runtime.temporal_test_server_path()
        )
        async with env, build_worker(env.client, service.activities(), task_queue=QUEUE):
            return await scenario(env)

    return asyncio.run(asyncio.wait_for(main(), timeout=45))


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Poll ``check`` (real time, no time skipping) until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _started(handle: WorkflowHandle[Any, Any], n: int) -> None:
    async def check() -> bool:
        progress: CycleProgress = await handle.query(MonthlyCycleWorkflow.progress)
        return progress.started + progress.by_step.get("already_running", 0) >= n

    await _eventually(check)


def _person(client: Client, person: str, period: str = PERIOD) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle_for(
        PersonEvaluationWorkflow.run, person_workflow_id(TENANT, person, period)
    )


async def _signal(client: Client, person: str, *steps: str, period: str = PERIOD) -> None:
    handle = _person(client, person, period)
    for step in steps:
        await handle.signal(step, StepDone(actor=f"{step}-actor"))


async def _save(name: str, handle: WorkflowHandle[Any, Any]) -> None:
    if RECORD:
        HISTORIES.mkdir(exist_ok=True)
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


ALL_STEPS = ("self_assessed", "reviewed", "decided")


# --- (a) everyone on time ----------------------------------------------------------------


def test_everyone_on_time_is_published_without_reminders_or_escalations() -> None:
    service = Service(_people("an", "binh", "chi"))

    async def scenario(env: WorkflowEnvironment) -> tuple[CycleProgress, list[PersonState]]:
        handle = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        await _started(handle, 3)
        for person in ("an", "binh", "chi"):
            await _signal(env.client, person, *ALL_STEPS)
        progress = await handle.result()
        states = [await _person(env.client, p).result() for p in ("an", "binh", "chi")]
        await _save("a_cycle_on_time", handle)
        await _save("a_person_on_time", _person(env.client, "an"))
        return progress, states

    progress, states = _run(service, scenario)
    assert progress == CycleProgress(
        total=3,
        started=3,
        by_step={"not_started": 0, "running": 0, "completed": 3, "failed": 0},
        late=[],
        not_evaluated=0,
    )
    assert all(s == PersonState(step="done", published=True) for s in states)
    assert sorted(service.steps(ActivityNames.PUBLISH)) == [
        ("an", "publication"),
        ("binh", "publication"),
        ("chi", "publication"),
    ]
    assert service.named(ActivityNames.SEND_REMINDER) == []
    assert service.named(ActivityNames.ESCALATE) == []
    assert service.named(ActivityNames.APPLY_FALLBACK) == []
    assert len(service.named(ActivityNames.OPEN_EVALUATION)) == 3
    assert [c.arg for c in service.named(ActivityNames.CYCLE_FINISHED)] == [
        PeriodRef(TENANT, PERIOD)
    ]
    keys = [c.arg.idempotency_key for c in service.calls if isinstance(c.arg, PersonStep)]
    assert len(keys) == len(set(keys))  # one key per effect


# --- (b) missed self-assessment ----------------------------------------------------------


def test_missed_self_assessment_falls_back_and_the_month_continues() -> None:
    service = Service(_people("dung"))

    async def scenario(env: WorkflowEnvironment) -> tuple[CycleProgress, PersonState]:
        handle = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        await _started(handle, 1)
        # review and decision arrive early: they are queued until their steps
        await _signal(env.client, "dung", "reviewed", "decided")
        return await handle.result(), await _person(env.client, "dung").result()

    progress, state = _run(service, scenario)
    assert state == PersonState(
        step="done", flags=["self_assessment_missed"], reminders=2, published=True
    )
    assert service.steps(ActivityNames.APPLY_FALLBACK) == [("dung", "self_assessment")]
    assert service.steps(ActivityNames.SEND_REMINDER) == [("dung", "self_assessment")] * 2
    assert service.steps(ActivityNames.PUBLISH) == [("dung", "publication")]
    assert service.named(ActivityNames.ESCALATE) == []
    assert progress.late == ["dung"]
    fallback = service.named(ActivityNames.APPLY_FALLBACK)[0]
    assert fallback.scheduled >= fallback.arg.deadline  # not before the deadline


# --- (c) missed review -------------------------------------------------------------------


def test_missed_review_is_escalated_and_the_decision_still_publishes() -> None:
    service = Service(_people("giang"))

    async def scenario(env: WorkflowEnvironment) -> tuple[PersonState, PersonState, Deadlines]:
        handle = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        await _started(handle, 1)
        deadlines: Deadlines = await handle.query(MonthlyCycleWorkflow.deadlines)
        await _signal(env.client, "giang", "self_assessed")
        # skip to half an hour past the review deadline (the decision is due 2 "days" later)
        await env.sleep(deadlines.review - await env.get_current_time() + timedelta(minutes=30))
        person = _person(env.client, "giang")

        async def escalated() -> bool:
            state: PersonState = await person.query(PersonEvaluationWorkflow.state)
            return "review_escalated" in state.flags

        await _eventually(escalated)
        during: PersonState = await person.query(PersonEvaluationWorkflow.state)
        await _signal(env.client, "giang", "decided")
        await handle.result()
        await _save("c_cycle_review_missed", handle)
        await _save("c_person_review_missed", person)
        return during, await person.result(), deadlines

    during, state, deadlines = _run(service, scenario)
    assert during.step == "review" and not during.published
    assert state == PersonState(
        step="done",
        flags=["review_escalated", "review_missed"],
        escalations=["review:chu-tich"],
        reminders=2,
        published=True,
    )
    [escalation] = service.named(ActivityNames.ESCALATE)
    assert (escalation.arg.step, escalation.arg.deadline) == ("review", deadlines.review)
    assert escalation.scheduled >= deadlines.review
    assert service.steps(ActivityNames.SEND_REMINDER) == [("giang", "review")] * 2
    [published] = service.named(ActivityNames.PUBLISH)
    assert published.scheduled < deadlines.publication


# --- (d) December runs early -------------------------------------------------------------


def test_december_cycle_is_due_on_the_12th_to_15th_and_published_before_the_15th() -> None:
    service = Service(_people("hoa"))

    async def scenario(env: WorkflowEnvironment) -> tuple[str, Deadlines, PersonState]:
        now = await env.get_current_time()
        year = now.year if now < datetime(now.year, 12, 11, tzinfo=VN) else now.year + 1
        period = f"{year}-12"
        handle = await start_cycle(
            env.client, _cycle_input(period, CycleCalendar()), task_queue=QUEUE
        )
        await _started(handle, 1)
        deadlines: Deadlines = await handle.query(MonthlyCycleWorkflow.deadlines)
        await _signal(env.client, "hoa", *ALL_STEPS, period=period)
        await handle.result()
        return period, deadlines, await _person(env.client, "hoa", period).result()

    period, deadlines, state = _run(service, scenario)
    year = int(period[:4])
    local = [
        d.astimezone(VN)
        for d in (
            deadlines.self_assessment,
            deadlines.review,
            deadlines.decision,
            deadlines.publication,
        )
    ]
    assert [(d.month, d.day, d.hour) for d in local] == [(12, n, 0) for n in (12, 13, 14, 15)]
    assert deadlines == deadlines_for(period, CycleCalendar())
    assert state == PersonState(step="done", published=True)
    [published] = service.named(ActivityNames.PUBLISH)
    assert published.arg.deadline == deadlines.publication
    assert published.scheduled < datetime(year, 12, 15, tzinfo=VN)


# --- (e) appeal after publication --------------------------------------------------------


def test_appeal_after_publication_is_open_until_answered() -> None:
    service = Service([])

    async def scenario(env: WorkflowEnvironment) -> tuple[list[PersonState], PersonState]:
        start = await env.get_current_time()
        handle = await env.client.start_workflow(
            PersonEvaluationWorkflow.run,
            PersonInput(
                tenant_id=TENANT,
                period=PERIOD,
                person_id="khanh",
                unit_id="van-phong",
                idempotency_key="appeal-1",
                deadlines=deadlines_for(PERIOD, HOUR_DAYS, start),
                seconds_per_day=3600,
            ),
            id=person_workflow_id(TENANT, "khanh", PERIOD),
            task_queue=QUEUE,
        )
        seen: list[PersonState] = []

        def appeal_is(value: str | None) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                state: PersonState = await handle.query(PersonEvaluationWorkflow.state)
                if state.published and state.appeal == value:
                    seen.append(state)
                    return True
                return False

            return check

        # an answer without an appeal is ignored
        await handle.signal(PersonEvaluationWorkflow.appeal_answered, AppealAnswer("x", True))
        await _signal(env.client, "khanh", *ALL_STEPS)
        await _eventually(appeal_is(None))
        await handle.signal(PersonEvaluationWorkflow.appealed, Appeal("điểm chưa đúng"))
        await _eventually(appeal_is("open"))
        await handle.signal(
            PersonEvaluationWorkflow.appeal_answered,
            AppealAnswer(actor="dang-uy", upheld=False, note="sửa xếp loại"),
        )
        return seen, await handle.result()

    seen, state = _run(service, scenario)
    assert [(s.step, s.appeal) for s in seen] == [
        ("appeal_window", None),
        ("appeal_window", "open"),
    ]
    assert state == PersonState(step="done", published=True, appeal="changed")


# --- (f) a person outside the evaluation -------------------------------------------------


def test_person_not_evaluated_is_recorded_and_gets_no_workflow() -> None:
    service = Service([*_people("lan"), PersonRef("minh", "van-phong", evaluated=False)])

    async def scenario(env: WorkflowEnvironment) -> CycleProgress:
        handle = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        await _started(handle, 1)
        await _signal(env.client, "lan", *ALL_STEPS)
        progress = await handle.result()
        with pytest.raises(RPCError):
            await _person(env.client, "minh").describe()
        return progress

    progress = _run(service, scenario)
    assert (progress.total, progress.started, progress.not_evaluated) == (2, 1, 1)
    assert service.steps(ActivityNames.RECORD_NOT_EVALUATED) == [("minh", "not_evaluated")]
    assert service.steps(ActivityNames.OPEN_EVALUATION) == [("lan", "open")]


# --- (g) idempotency ---------------------------------------------------------------------


def test_starting_the_same_month_twice_reuses_the_run_and_does_not_double_activities() -> None:
    service = Service(_people("nam"))

    async def scenario(env: WorkflowEnvironment) -> list[str | None]:
        first = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        with pytest.raises(WorkflowAlreadyStartedError):
            await env.client.start_workflow(
                MonthlyCycleWorkflow.run,
                _cycle_input(),
                id=cycle_workflow_id(TENANT, PERIOD),
                task_queue=QUEUE,
            )
        again = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)
        runs = [first.result_run_id, (await again.describe()).run_id]
        await _started(first, 1)
        await _signal(env.client, "nam", *ALL_STEPS)
        await first.result()
        after = await start_cycle(env.client, _cycle_input(), task_queue=QUEUE)  # finished
        runs.append((await after.describe()).run_id)
        return runs

    runs = _run(service, scenario)
    assert runs[0] is not None and runs == [runs[0]] * 3
    assert len(service.named(ActivityNames.LIST_PEOPLE)) == 1
    assert service.steps(ActivityNames.OPEN_EVALUATION) == [("nam", "open")]
    assert service.steps(ActivityNames.PUBLISH) == [("nam", "publication")]
    assert len(service.named(ActivityNames.CYCLE_FINISHED)) == 1


# --- (h) replay of the saved histories ---------------------------------------------------

SAVED = (
    "a_cycle_on_time",
    "a_person_on_time",
    "c_cycle_review_missed",
    "c_person_review_missed",
    "launcher_started",  # recorded by test_schedule_launcher.py
    "launcher_already_started",
)


@pytest.mark.parametrize("name", SAVED)
def test_saved_histories_replay(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    assert path.exists(), f"missing {path}: run the module with WOMS_RECORD_HISTORIES=1"
    history = WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))

    async def replay() -> None:
        await Replayer(workflows=workflows()).replay_workflow(history)

    asyncio.run(asyncio.wait_for(replay(), timeout=30))


# --- missed decision (not in the brief's list; covers the last escalation path) ----------


def test_missed_decision_escalates_twice_and_publishes_late_once_decided() -> None:
    service = Service([])

    async def scenario(env: WorkflowEnvironment) -> tuple[PersonState, Deadlines]:
        deadlines = deadlines_for(PERIOD, HOUR_DAYS, await env.get_current_time())
        handle = await env.client.start_workflow(
            PersonEvaluationWorkflow.run,
            PersonInput(
                tenant_id=TENANT,
                period=PERIOD,
                person_id="oanh",
                unit_id="van-phong",
                idempotency_key="late-1",
                deadlines=deadlines,
                reminder_days_before=[1],
                seconds_per_day=3600,
            ),
            id=person_workflow_id(TENANT, "oanh", PERIOD),
            task_queue=QUEUE,
        )
        await _signal(env.client, "oanh", "self_assessed", "reviewed")
        await env.sleep(deadlines.publication - await env.get_current_time() + timedelta(hours=1))

        async def overdue() -> bool:
            state: PersonState = await handle.query(PersonEvaluationWorkflow.state)
            return "decision_overdue" in state.flags

        await _eventually(overdue)
        await _signal(env.client, "oanh", "decided")
        return await handle.result(), deadlines

    state, deadlines = _run(service, scenario)
    assert state == PersonState(
        step="done",
        flags=["decision_escalated", "decision_overdue", "publication_late"],
        escalations=["decision:chu-tich", "decision:chu-tich"],
        reminders=1,
        published=True,
    )
    assert [c.arg.deadline for c in service.named(ActivityNames.ESCALATE)] == [
        deadlines.decision,
        deadlines.publication,
    ]
    assert service.steps(ActivityNames.SEND_REMINDER) == [("oanh", "decision")]
