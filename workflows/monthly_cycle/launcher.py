"""What a tenant's monthly schedule starts: a launcher that opens the month it fires in.

A Temporal Schedule's action has fixed arguments, but each firing needs the period of the
month it fires in, and the month's cycle must keep its deterministic id
``{tenant}:cycle:all:{period}`` (DOMAIN.md §6; 001 §IV.1: the unit runs steps 2–5 every month).
So the schedule (:mod:`.schedule`) starts :class:`CycleLauncherWorkflow` with a fixed
:class:`~.launch.LaunchInput`; the launcher

1. reads the instant it was scheduled for (the ``TemporalScheduledStartTime`` search attribute
   the schedule sets; ``workflow.now()`` when started by hand),
2. derives the period that instant falls in, in the tenant's time zone (:func:`~.launch.period_at`),
3. starts :class:`~.cycle.MonthlyCycleWorkflow` as a child with id
   ``{tenant}:cycle:all:{period}``, reuse policy ``REJECT_DUPLICATE`` and parent-close policy
   ``ABANDON`` (the month outlives the launcher), and returns once it has started.

A second launch in the same month (a manual trigger, a catch-up) finds the id taken — running
or finished — and starts nothing: a month never runs twice.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
    from workflows.monthly_cycle.inputs import CycleInput, cycle_workflow_id
    from workflows.monthly_cycle.launch import LaunchInput, LaunchResult, period_at

#: Search attribute a Temporal Schedule sets on the workflows it starts: the nominal
#: (scheduled) time of the firing, also on a catch-up run started late.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class CycleLauncherWorkflow:
    """Starts the tenant's month the schedule fired in, once (DOMAIN.md §6; 001 §IV.1)."""

    @workflow.run
    async def run(self, input: LaunchInput) -> LaunchResult:
        """Derive the period, start the month's cycle (abandoned child) and return."""
        fired = workflow.info().typed_search_attributes.get(SCHEDULED_START_TIME)
        fired = fired or workflow.now()
        period = period_at(fired, input.calendar)
        workflow_id = cycle_workflow_id(input.tenant_id, period)
        try:
            await workflow.start_child_workflow(
                MonthlyCycleWorkflow.run,
                CycleInput(
                    tenant_id=input.tenant_id,
                    period=period,
                    idempotency_key=workflow_id,
                    calendar=input.calendar,
                    batch_size=input.batch_size,
                    shard_size=input.shard_size,
                ),
                id=workflow_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("cycle %s already started: nothing to do", workflow_id)
            return LaunchResult(period, workflow_id, started=False, fired_at=fired)
        return LaunchResult(period, workflow_id, started=True, fired_at=fired)
