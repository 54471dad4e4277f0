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
Signal: ``shard_progress(ShardReport)`` (sent by the shards of a sharded month).
Result: the final :class:`CycleProgress`.

Large months (``CycleInput.shard_size`` set)
--------------------------------------------
Instead of ``list_people`` (one payload with everyone), the cycle calls ``count_people``
(people per unit), cuts the month with :func:`~.shard.plan_shards` and starts one
:class:`~.shard.CycleShardWorkflow` per shard (``{tenant}:cycle-shard:{n}:{period}``), in
batches of ``batch_size``. Each shard pages through its people and starts their person
workflows (same ids and keys as below). ``progress()`` sums the shards' last reports
(``shard_progress`` once a shard has started everyone, then its result); a shard not yet
reported counts its planned people as ``total`` and ``not_started``. A shard that fails
counts its unfinished people as ``failed``. 200,000 people at ``shard_size`` 1,000 make ~200
shards of ~6,000 history events each, and a cycle history of ~10 events per shard.
Without ``shard_size`` (saved histories, small tenants) the cycle runs as it always did.

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
* Unsharded months: a history holds ~51,200 events and a workflow 2,000 open children; at
  ~6 events per child this path is for up to ~1,500 people (docs/bench-cycle.md).
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.activities import RETRY, START_TO_CLOSE, ActivityNames
    from workflows.monthly_cycle.deadlines import deadlines_for
    from workflows.monthly_cycle.inputs import (
        CycleInput,
        CycleProgress,
        Deadlines,
        PeopleQuery,
        PeriodRef,
        PersonRef,
        ShardInput,
        ShardReport,
        UnitCount,
        shard_workflow_id,
    )
    from workflows.monthly_cycle.people_run import PeopleRun, add_progress, batches
    from workflows.monthly_cycle.shard import CycleShardWorkflow, plan_shards


@workflow.defn
class MonthlyCycleWorkflow:
    """The monthly evaluation cycle of one tenant (DOMAIN.md §6; 001 §IV.1)."""

    def __init__(self) -> None:
        self._deadlines: Deadlines | None = None
        self._people: PeopleRun | None = None  # unsharded months
        self._planned: list[int] = []  # sharded months: people planned per shard
        self._reports: dict[int, CycleProgress] = {}  # ... and each shard's last report

    @workflow.query(name="progress")
    def progress(self) -> CycleProgress:
        """People listed, children started, counts per state, late people, not evaluated."""
        if self._people is not None:
            return self._people.progress()
        parts = [
            self._reports.get(n) or CycleProgress(total=planned, by_step={"not_started": planned})
            for n, planned in enumerate(self._planned)
        ]
        return add_progress(parts)

    @workflow.query(name="deadlines")
    def deadlines(self) -> Deadlines | None:
        """The period's deadlines once computed."""
        return self._deadlines

    @workflow.signal(name="shard_progress")
    def shard_progress(self, report: ShardReport) -> None:
        """A shard's counts once it has started all its people (a result replaces them)."""
        self._reports.setdefault(report.shard, report.progress)

    @workflow.run
    async def run(self, input: CycleInput) -> CycleProgress:
        """Run the whole month and return the final progress."""
        calendar = input.calendar
        start = workflow.now() if calendar.seconds_per_day is not None else None
        self._deadlines = deadlines = deadlines_for(input.period, calendar, start)
        period = PeriodRef(tenant_id=input.tenant_id, period=input.period)

        if input.shard_size is None:
            await self._unsharded(input, deadlines, period)
        else:
            await self._sharded(input, deadlines, input.shard_size)

        await workflow.execute_activity(
            ActivityNames.CYCLE_FINISHED,
            period,
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
        )
        return self.progress()

    async def _unsharded(self, input: CycleInput, deadlines: Deadlines, period: PeriodRef) -> None:
        people: list[PersonRef] = await workflow.execute_activity(
            ActivityNames.LIST_PEOPLE,
            period,
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
            result_type=list[PersonRef],
        )
        self._people = run = PeopleRun(
            input.tenant_id,
            input.period,
            input.idempotency_key,
            input.calendar,
            input.batch_size,
            deadlines,
        )
        await run.launch(people)
        await run.finish()

    async def _sharded(self, input: CycleInput, deadlines: Deadlines, shard_size: int) -> None:
        units: list[UnitCount] = await workflow.execute_activity(
            ActivityNames.COUNT_PEOPLE,
            PeopleQuery(
                tenant_id=input.tenant_id,
                period=input.period,
                idempotency_key=f"{input.idempotency_key}:count",
            ),
            start_to_close_timeout=START_TO_CLOSE,
            retry_policy=RETRY,
            result_type=list[UnitCount],
        )
        plan = plan_shards(units, shard_size)
        self._planned = [limit for _, limit in plan]
        shards = [
            ShardInput(
                tenant_id=input.tenant_id,
                period=input.period,
                idempotency_key=input.idempotency_key,
                shard=n,
                offset=offset,
                limit=limit,
                deadlines=deadlines,
                calendar=input.calendar,
                batch_size=input.batch_size,
            )
            for n, (offset, limit) in enumerate(plan)
        ]
        tasks: list[asyncio.Task[None]] = []
        for batch in batches(shards, input.batch_size):
            handles = await asyncio.gather(
                *(
                    workflow.start_child_workflow(
                        CycleShardWorkflow.run,
                        shard,
                        id=shard_workflow_id(input.tenant_id, shard.shard, input.period),
                    )
                    for shard in batch
                )
            )
            tasks.extend(
                asyncio.create_task(self._shard_done(shard, handle))
                for shard, handle in zip(batch, handles, strict=True)
            )
        await asyncio.gather(*tasks)

    async def _shard_done(
        self,
        shard: ShardInput,
        handle: workflow.ChildWorkflowHandle[CycleShardWorkflow, CycleProgress],
    ) -> None:
        try:
            self._reports[shard.shard] = await handle
        except ChildWorkflowError:
            workflow.logger.exception("shard %s failed", shard.shard)
            last = self._reports.get(shard.shard) or CycleProgress(total=shard.limit)
            steps = dict(last.by_step)
            unfinished = steps.pop("not_started", 0) + steps.pop("running", 0)
            if not last.by_step:  # no report: none of its people is known to have finished
                unfinished = shard.limit
            steps["not_started"] = steps["running"] = 0
            steps["failed"] = steps.get("failed", 0) + unfinished
            self._reports[shard.shard] = CycleProgress(
                total=last.total,
                started=last.started,
                by_step=steps,
                late=list(last.late),
                not_evaluated=last.not_evaluated,
            )
