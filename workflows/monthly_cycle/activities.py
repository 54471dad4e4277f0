"""Activity contracts of the monthly cycle, by name only (DOMAIN.md §6, 001 §IV.1).

The implementations live in the evaluation service; the workflows call them with
``workflow.execute_activity("<name>", arg, ...)`` so no service code is imported here.
Every implementation must be idempotent on the input's ``idempotency_key`` (Temporal retries
activities at least once).

==========================  =======================  =====================================
name                        input                    result / effect
==========================  =======================  =====================================
``list_people``             ``PeriodRef``            ``list[PersonRef]`` of the tenant
``open_evaluation``         ``PersonStep("open")``   ``None``: opens the person's month
``send_reminder``           ``PersonStep(step)``     ``None``: reminds whoever owns ``step``
``escalate``                ``PersonStep(step)``     ``str``: who it was escalated to (the
                                                     next level)
``apply_fallback``          ``PersonStep``           ``None``: the self-assessment falls back
                            ``("self_assessment")``  to the system score, flagged
``record_not_evaluated``    ``PersonStep``           ``None``: the person is outside the
                            ``("not_evaluated")``    month's evaluation
``publish``                 ``PersonStep``           ``None``: publishes the result inside
                            ``("publication")``      the unit
``cycle_finished``          ``PeriodRef``            ``None``: every person's month is closed
``count_people``            ``PeopleQuery``          ``list[UnitCount]``: people per unit,
                                                     ordered by ``unit_id`` (sharded months)
``list_people_page``        ``PeopleQuery``          ``list[PersonRef]``: at most ``limit``
                            ``(offset, limit)``      people from ``offset``, ordered by
                                                     ``(unit_id, person_id)``
==========================  =======================  =====================================
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio.common import RetryPolicy


class ActivityNames:
    """Names the evaluation service registers its activities under."""

    LIST_PEOPLE: Final = "list_people"
    OPEN_EVALUATION: Final = "open_evaluation"
    SEND_REMINDER: Final = "send_reminder"
    ESCALATE: Final = "escalate"
    APPLY_FALLBACK: Final = "apply_fallback"
    RECORD_NOT_EVALUATED: Final = "record_not_evaluated"
    PUBLISH: Final = "publish"
    CYCLE_FINISHED: Final = "cycle_finished"
    COUNT_PEOPLE: Final = "count_people"
    LIST_PEOPLE_PAGE: Final = "list_people_page"

    ALL: Final = (
        LIST_PEOPLE,
        OPEN_EVALUATION,
        SEND_REMINDER,
        ESCALATE,
        APPLY_FALLBACK,
        RECORD_NOT_EVALUATED,
        PUBLISH,
        CYCLE_FINISHED,
        COUNT_PEOPLE,
        LIST_PEOPLE_PAGE,
    )


#: Timeout of one attempt of any cycle activity.
START_TO_CLOSE: Final = timedelta(minutes=2)
#: Retries with backoff for up to about a day of attempts; the service deduplicates.
RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=200,
)
