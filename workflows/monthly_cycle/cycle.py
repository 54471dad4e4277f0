"""A tenant's month: one :class:`PersonEvaluationWorkflow` per evaluated person (DOMAIN.md §6).

001 §IV.1: the unit runs steps 2–5 for every public servant each month (December early,
before 15/12). This workflow computes the period's deadlines, lists the people
(``list_people``), records those outside the evaluation (``record_not_evaluated``), starts the
person workflows in batches, waits for all of them and calls ``cycle_finished``.

Contract
--------
Id: ``{tenant}:cycle:all:{period}`` (:func:`cycle_workflow_id`); a second start of the same
month while it runs is rejected by Temporal (``WorkflowAlreadyStartedError``), so activities
are never doubled. Children: ``{tenant}:evaluation:{person}:{period}``.
Queries: ``progress() -> CycleProgress``, ``deadlines() -> Deadlines | None``.
Result: the final :class:`CycleProgress`.

Choices
-------
* ``progress().by_step`` counts the person workflows as ``not_started`` / ``running`` /
  ``completed`` / ``failed`` (and ``already_running`` when a person's workflow id was taken).
  Live per-person steps are read with each child's ``state`` query (by its deterministic id):
  children do not signal the parent, which keeps the cycle's history to ~3 events per person.
* ``late`` lists people whose finished month carries a flag (missed, escalated, late) or whose
  workflow failed.
* Batches: each batch of ``batch_size`` children has *started* before the next is started.
* Compressed calendars start at ``workflow.now()`` of the cycle's first task.
* Very large months: a history holds ~51 200 events; at ~3 events per child plus activities a
  single run is fine for a few thousand people. Beyond that, start the children in slices and
  ``workflow.continue_as_new`` with the remaining people (carrying the progress counters), or
  shard by unit (one cycle per unit) — not needed for a ward-sized tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.activities import RETRY, START_TO_CLOSE, ActivityNames
    from workflows.monthly_cycle.deadlines import deadlines_for
    from workflows.monthly_cycle.inputs import (
        CycleInput,
        CycleProgress,
        Deadlines,
        PeriodRef,
        PersonInput,
        PersonRef,
        PersonStep,
        person_workflow_id,
    )
    from workflows.monthly_cycle.person import PersonEvaluationWorkflow

T = TypeVar("T")


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    size = max(1, size)
    for i in range(0, len(items), size):
        yield items[i : i + size]


@workflow.defn
class MonthlyCycleWorkflow:
    """The monthly evaluation cycle of one tenant (DOMAIN.md §6; 001 §IV.1)."""

    def __init__(self) -> None:
        self._deadlines: Deadlines | None = None
        self._total = 0
        self._evaluated = 0
        self._not_evaluated = 0
        self._launched = 0  # start attempted and answered (started or refused)
        self._started = 0
        self._counts: dict[str, int] = {"completed": 0, "failed": 0, "already_running": 0}
        self._late: list[str] = []

    @workflow.query(name="progress")
    def progress(self) -> CycleProgress:
        """People listed, children started, counts per state, late people, not evaluated."""
        by_step = {
            "not_started": self._evaluated - self._launched,
            "running": self._started - self._counts["completed"] - self._counts["failed"],
            "completed": self._counts["completed"],
            "failed": self._counts["failed"],
        }
        if self._counts["already_running"]:
            by_step["already_running"] = self._counts["already_running"]
        return CycleProgress(
            total=self._total,
            started=self._started,
            by_step=by_step,
            late=list(self._late),
            not_evaluated=self._not_evaluated,
        )

    @workflow.query(name="deadlines")
    def deadlines(self) -> Deadlines | None:
        """The period's deadlines once computed."""
        return self._deadlines

    @workflow.run
    async def run(self, input: CycleInput) -> CycleProgress:
        """Run the whole month and return the final progress."""
        calendar = input.calendar
        start = workflow.now() if calendar.seconds_per_day is not None else None
        self._deadlines = deadlines = deadlines_for(input.period, calendar, start)
        period = PeriodRef(tenant_id=input.tenant_id, period=input.period)

        people: list[PersonRef] = await workflow.execute_activity(
            ActivityNames.LIST_PEOPLE,
            period,
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
            result_type=list[PersonRef],
        )
        self._total = len(people)
        skipped = [p for p in people if not p.evaluated]
        evaluated = [p for p in people if p.evaluated]
        self._evaluated = len(evaluated)

        for batch in _batches(skipped, input.batch_size):
            await asyncio.gather(*(self._record_not_evaluated(input, p) for p in batch))

        tasks: list[asyncio.Task[None]] = []
        for batch in _batches(evaluated, input.batch_size):
            target = self._launched + len(batch)
            tasks.extend(asyncio.create_task(self._child(input, deadlines, p)) for p in batch)
            await workflow.wait_condition(lambda target=target: self._launched >= target)
        await asyncio.gather(*tasks)

        await workflow.execute_activity(
            ActivityNames.CYCLE_FINISHED,
            period,
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
        )
        return self.progress()

    async def _record_not_evaluated(self, input: CycleInput, person: PersonRef) -> None:
        await workflow.execute_activity(
            ActivityNames.RECORD_NOT_EVALUATED,
            PersonStep(
                tenant_id=input.tenant_id,
                period=input.period,
                person_id=person.person_id,
                unit_id=person.unit_id,
                step="not_evaluated",
                idempotency_key=f"{input.idempotency_key}:{person.person_id}:not_evaluated",
            ),
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
        )
        self._not_evaluated += 1

    async def _child(self, input: CycleInput, deadlines: Deadlines, person: PersonRef) -> None:
        """Start one person's workflow, then wait for its result."""
        try:
            handle = await workflow.start_child_workflow(
                PersonEvaluationWorkflow.run,
                PersonInput(
                    tenant_id=input.tenant_id,
                    period=input.period,
                    person_id=person.person_id,
                    unit_id=person.unit_id,
                    idempotency_key=f"{input.idempotency_key}:{person.person_id}",
                    deadlines=deadlines,
                    reminder_days_before=list(input.calendar.reminder_days_before),
                    seconds_per_day=input.calendar.seconds_per_day or 86_400,
                ),
                id=person_workflow_id(input.tenant_id, person.person_id, input.period),
            )
        except WorkflowAlreadyStartedError:
            self._counts["already_running"] += 1
            self._launched += 1
            return
        self._started += 1
        self._launched += 1
        try:
            state = await handle
        except ChildWorkflowError:
            self._counts["failed"] += 1
            self._late.append(person.person_id)
            return
        self._counts["completed"] += 1
        if state.flags:
            self._late.append(person.person_id)
