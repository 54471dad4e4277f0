"""A slice of a large month: one shard of people, started and tracked (DOMAIN.md §6).

001 §IV.1 asks every public servant to be evaluated each month; a tenant of 10,000–200,000
people cannot be one workflow's children (Temporal allows 2,000 open children and 51,200
history events per workflow, and 2 MB per payload). With ``CycleInput.shard_size`` set,
:class:`~.cycle.MonthlyCycleWorkflow` counts the people per unit (``count_people``), cuts the
month into shards with :func:`plan_shards` and starts one :class:`CycleShardWorkflow` per
shard. Each shard reads its people in pages (``list_people_page``, at most ``batch_size`` per
payload), starts their person workflows in batches and waits for them.

Contract
--------
Id: ``{tenant}:cycle-shard:{n}:{period}`` (:func:`~.inputs.shard_workflow_id`), ``n`` from 0
in the order of :func:`plan_shards`. Person children and their keys are the same as an
unsharded cycle's (``{tenant}:evaluation:{person}:{period}``, ``"<cycle key>:<person>"``).
Query: ``progress() -> CycleProgress`` (the shard's people only). Result: its final
:class:`CycleProgress`. Once every person workflow of the shard has started, the shard sends
its counts to the parent cycle with the ``shard_progress`` signal (:class:`ShardReport`): one
signal per shard, so the cycle's history stays ~10 events per shard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.activities import RETRY, START_TO_CLOSE, ActivityNames
    from workflows.monthly_cycle.inputs import (
        CycleProgress,
        PeopleQuery,
        PersonRef,
        ShardInput,
        ShardReport,
        UnitCount,
    )
    from workflows.monthly_cycle.people_run import PeopleRun

#: Most shards of one month: the cycle keeps every shard open as its child (limit 2,000).
MAX_SHARDS = 1_000


def plan_shards(units: Sequence[UnitCount], shard_size: int) -> list[tuple[int, int]]:
    """Cut a month into shards of at most ``shard_size`` people, whole units together.

    Args:
        units: people per unit, in the ``list_people_page`` order (by ``unit_id``).
        shard_size: most people per shard (at least 1). Raised to ``ceil(total /
            MAX_SHARDS)`` when the month would need more than :data:`MAX_SHARDS` shards.

    Returns:
        ``(offset, limit)`` of each shard, consecutive and covering every person: units are
        packed in order while they fit; a unit larger than a shard is split over whole shards
        of its own.
    """
    total = sum(u.people for u in units)
    size = max(1, shard_size, math.ceil(total / MAX_SHARDS))
    shards: list[tuple[int, int]] = []
    start = filled = 0
    for unit in units:
        left = unit.people
        if filled and filled + left > size:  # the unit does not fit: close the shard
            shards.append((start, filled))
            start, filled = start + filled, 0
        while filled + left > size:  # a unit larger than a shard
            shards.append((start, size))
            start, left = start + size, left - size
        filled += left
    if filled:
        shards.append((start, filled))
    return shards


@workflow.defn
class CycleShardWorkflow:
    """The person workflows of one shard of a sharded month (see module doc)."""

    def __init__(self) -> None:
        self._run: PeopleRun | None = None

    @workflow.query(name="progress")
    def progress(self) -> CycleProgress:
        """The shard's counts (same shape as the cycle's)."""
        if self._run is None:
            return CycleProgress()
        return self._run.progress()

    @workflow.run
    async def run(self, input: ShardInput) -> CycleProgress:
        """Page through the shard's people, start their workflows, wait for all of them."""
        self._run = people = PeopleRun(
            input.tenant_id,
            input.period,
            input.idempotency_key,
            input.calendar,
            input.batch_size,
            input.deadlines,
        )
        page_size = max(1, input.batch_size)
        for offset in range(input.offset, input.offset + input.limit, page_size):
            limit = min(page_size, input.offset + input.limit - offset)
            page: list[PersonRef] = await workflow.execute_activity(
                ActivityNames.LIST_PEOPLE_PAGE,
                PeopleQuery(
                    tenant_id=input.tenant_id,
                    period=input.period,
                    idempotency_key=f"{input.idempotency_key}:shard:{input.shard}:page:{offset}",
                    offset=offset,
                    limit=limit,
                ),
                start_to_close_timeout=START_TO_CLOSE,
                retry_policy=RETRY,
                result_type=list[PersonRef],
            )
            await people.launch(page)
        parent = workflow.info().parent
        if parent is not None:
            cycle = workflow.get_external_workflow_handle(parent.workflow_id, run_id=parent.run_id)
            await cycle.signal(
                "shard_progress", ShardReport(shard=input.shard, progress=people.progress())
            )
        return await people.finish()
