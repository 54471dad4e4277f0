"""The Temporal worker of the monthly cycle with the evaluation service's real activities.

:func:`cycle_worker` wires :func:`workflows.monthly_cycle.worker.build_worker` to
:class:`~services.evaluation.activities.EvaluationActivities` reading the other services over
HTTP (:class:`~services.evaluation.clients.HttpSources`). The activities are synchronous
(blocking database and HTTP I/O), so the worker runs them on a thread pool: pass one as
``activity_executor`` (the caller owns it and shuts it down after the worker stops).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from services.common.settings import Settings
from services.evaluation.activities import EvaluationActivities, PeopleOf
from services.evaluation.clients import HttpSources
from workflows.monthly_cycle.worker import TASK_QUEUE, build_worker


def cycle_worker(
    client: Client,
    sources: HttpSources,
    activity_executor: ThreadPoolExecutor,
    *,
    task_queue: str = TASK_QUEUE,
    settings: Settings | None = None,
    people_of: PeopleOf | None = None,
    **options: Any,
) -> Worker:
    """A worker running the cycle workflows and the evaluation activities.

    Args:
        client: Temporal client connected to the tenant's namespace (``woms-<tenant>``).
        sources: the tasks ledger and the planning relation over HTTP.
        activity_executor: thread pool the synchronous activities run on; give it at least
            ``max_concurrent_activities`` threads (Temporal's default: 100).
        task_queue: task queue of the cycle and of its person workflows.
        settings: settings of the evaluation databases (default: ``get_settings()``).
        people_of: who the month evaluates (default: everyone in planning's relation,
            ``sources.people_of``).
        **options: passed to :class:`~temporalio.worker.Worker`.
    """
    activities = EvaluationActivities(
        people_of or sources.people_of,
        sources.ledger_of,
        sources.relation_of,
        settings=settings,
    )
    return build_worker(
        client,
        activities.all(),
        task_queue=task_queue,
        activity_executor=activity_executor,
        **options,
    )
