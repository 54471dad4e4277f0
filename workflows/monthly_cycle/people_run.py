"""Starting and tracking person workflows, shared by the cycle and its shards (DOMAIN.md §6).

Workflow-side code (runs inside :class:`~.cycle.MonthlyCycleWorkflow` or
:class:`~.shard.CycleShardWorkflow`): records people outside the evaluation
(``record_not_evaluated``), starts one :class:`~.person.PersonEvaluationWorkflow` per evaluated
person (id ``{tenant}:evaluation:{person}:{period}``, key ``"<cycle key>:<person>"``) in
batches, and keeps the counts of :class:`~.inputs.CycleProgress`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.activities import RETRY, START_TO_CLOSE, ActivityNames
    from workflows.monthly_cycle.inputs import (
        CycleCalendar,
        CycleProgress,
        Deadlines,
        PersonInput,
        PersonRef,
        PersonStep,
        person_workflow_id,
    )
    from workflows.monthly_cycle.person import PersonEvaluationWorkflow

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size`` (at least 1)."""
    size = max(1, size)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def add_progress(parts: Sequence[CycleProgress]) -> CycleProgress:
    """The sum of several progress reports (``late`` concatenated in order)."""
    total = CycleProgress(by_step={"not_started": 0, "running": 0, "completed": 0, "failed": 0})
    for part in parts:
        total.total += part.total
        total.started += part.started
        total.not_evaluated += part.not_evaluated
        total.late.extend(part.late)
        for step, n in part.by_step.items():
            total.by_step[step] = total.by_step.get(step, 0) + n
    return total


class PeopleRun:
    """The person workflows of one cycle or shard, and their counts.

    Args:
        tenant_id, period: whose month.
        idempotency_key: the cycle's key (persons get ``"<key>:<person>"``).
        calendar: reminders and compressed days passed to every person workflow.
        batch_size: activities / child starts in flight at once; a batch of children has
            *started* before the next one is started.
        deadlines: the period's deadlines.
    """

    def __init__(
        self,
        tenant_id: str,
        period: str,
        idempotency_key: str,
        calendar: CycleCalendar,
        batch_size: int,
        deadlines: Deadlines,
    ) -> None:
        self._tenant_id = tenant_id
        self._period = period
        self._key = idempotency_key
        self._calendar = calendar
        self._batch_size = batch_size
        self._deadlines = deadlines
        self._tasks: list[asyncio.Task[None]] = []
        self.total = 0
        self._evaluated = 0
        self._not_evaluated = 0
        self._launched = 0  # start attempted and answered (started or refused)
        self._started = 0
        self._counts: dict[str, int] = {"completed": 0, "failed": 0, "already_running": 0}
        self._late: list[str] = []

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
            total=self.total,
            started=self._started,
            by_step=by_step,
            late=list(self._late),
            not_evaluated=self._not_evaluated,
        )

    async def launch(self, people: Sequence[PersonRef]) -> None:
        """Record ``people`` outside the evaluation, then start the others' workflows.

        Returns once every start has been answered; :meth:`finish` waits for the results.
        """
        self.total += len(people)
        skipped = [p for p in people if not p.evaluated]
        evaluated = [p for p in people if p.evaluated]
        self._evaluated += len(evaluated)
        for batch in batches(skipped, self._batch_size):
            await asyncio.gather(*(self._record_not_evaluated(p) for p in batch))
        for batch in batches(evaluated, self._batch_size):
            target = self._launched + len(batch)
            self._tasks.extend(asyncio.create_task(self._child(p)) for p in batch)
            await workflow.wait_condition(lambda target=target: self._launched >= target)

    async def finish(self) -> CycleProgress:
        """Wait for every started person workflow; the final counts."""
        await asyncio.gather(*self._tasks)
        return self.progress()

    async def _record_not_evaluated(self, person: PersonRef) -> None:
        await workflow.execute_activity(
            ActivityNames.RECORD_NOT_EVALUATED,
            PersonStep(
                tenant_id=self._tenant_id,
                period=self._period,
                person_id=person.person_id,
                unit_id=person.unit_id,
                step="not_evaluated",
                idempotency_key=f"{self._key}:{person.person_id}:not_evaluated",
            ),
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
        )
        self._not_evaluated += 1

    async def _child(self, person: PersonRef) -> None:
        """Start one person's workflow, then wait for its result."""
        try:
            handle = await workflow.start_child_workflow(
                PersonEvaluationWorkflow.run,
                PersonInput(
                    tenant_id=self._tenant_id,
                    period=self._period,
                    person_id=person.person_id,
                    unit_id=person.unit_id,
                    idempotency_key=f"{self._key}:{person.person_id}",
                    deadlines=self._deadlines,
                    reminder_days_before=list(self._calendar.reminder_days_before),
                    seconds_per_day=self._calendar.seconds_per_day or 86_400,
                ),
                id=person_workflow_id(self._tenant_id, person.person_id, self._period),
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
