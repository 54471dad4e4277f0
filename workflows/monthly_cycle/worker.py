"""Worker wiring of the monthly cycle (DOMAIN.md §6).

The activity implementations belong to the evaluation service and are passed in by the
caller; they must be registered under the names of :class:`~.activities.ActivityNames`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker

from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
from workflows.monthly_cycle.inputs import CycleInput, CycleProgress, cycle_workflow_id
from workflows.monthly_cycle.launcher import CycleLauncherWorkflow
from workflows.monthly_cycle.person import PersonEvaluationWorkflow
from workflows.monthly_cycle.shard import CycleShardWorkflow

#: Default task queue of the monthly cycle.
TASK_QUEUE = "monthly-cycle"


def workflows() -> list[type]:
    """The workflow classes a monthly-cycle worker registers (the launcher: the schedule's)."""
    return [
        MonthlyCycleWorkflow,
        CycleShardWorkflow,
        PersonEvaluationWorkflow,
        CycleLauncherWorkflow,
    ]


def build_worker(
    client: Client,
    activities: Sequence[Callable[..., Any]],
    task_queue: str = TASK_QUEUE,
    **options: Any,
) -> Worker:
    """A :class:`Worker` running the cycle workflows and the given activity implementations.

    Args:
        client: connected Temporal client (the tenant's namespace).
        activities: ``@activity.defn(name=...)`` callables for every name of ``ActivityNames``.
        task_queue: task queue of the cycle and of its children.
        **options: passed to :class:`Worker` (e.g. ``activity_executor`` for sync activities).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows(),
        activities=list(activities),
        **options,
    )


async def start_cycle(
    client: Client, input: CycleInput, task_queue: str = TASK_QUEUE
) -> WorkflowHandle[MonthlyCycleWorkflow, CycleProgress]:
    """Start the tenant's month once: a repeated call returns the existing run.

    The id is ``{tenant}:cycle:all:{period}`` and the reuse policy ``REJECT_DUPLICATE``, so a
    month that is running *or already finished* is never run twice (the activities are not
    doubled); the existing run's handle is returned instead.
    """
    workflow_id = cycle_workflow_id(input.tenant_id, input.period)
    try:
        return await client.start_workflow(
            MonthlyCycleWorkflow.run,
            input,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(MonthlyCycleWorkflow.run, workflow_id)
