"""Temporal activities of the monthly cycle, implemented by the evaluation service.

One method per name of :class:`workflows.monthly_cycle.activities.ActivityNames`, taking the
dataclasses of :mod:`workflows.monthly_cycle.inputs`. Each opens one transaction on the
tenant's evaluation database and calls :mod:`services.evaluation.service` with the input's
``idempotency_key`` (a retried activity changes nothing). Methods are synchronous (blocking
database I/O): run the worker with an ``activity_executor`` (a thread pool).

Data from the other services comes through injected callables, so production passes the HTTP
clients of :mod:`services.evaluation.clients` and tests pass in-process functions:

* ``people_of(tenant, period) -> list[PersonRef]`` (``count_people`` and each
  ``list_people_page`` of a sharded month call it again and slice the result: only the
  Temporal payloads are paged, not the read from the planning service);
* ``ledger_of(tenant, person, period) -> list[dict]`` (tasks ledger lines);
* ``relation_of(tenant, period) -> dict`` (planning's evaluator policy data).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.db import engine_for, transaction
from services.common.settings import Settings
from services.evaluation import metrics, service
from services.evaluation.scoring import ScoringRules
from workflows.monthly_cycle.activities import ActivityNames
from workflows.monthly_cycle.inputs import (
    PeopleQuery,
    PeriodRef,
    PersonRef,
    PersonStep,
    UnitCount,
)

PeopleOf = Callable[[str, str], list[PersonRef]]
LedgerOf = Callable[[str, str, str], list[dict[str, Any]]]
RelationOf = Callable[[str, str], Mapping[str, Any]]


class EvaluationActivities:
    """The cycle's activities over the evaluation database (see module doc)."""

    def __init__(
        self,
        people_of: PeopleOf,
        ledger_of: LedgerOf,
        relation_of: RelationOf,
        *,
        settings: Settings | None = None,
        rules_of: Callable[[str], ScoringRules] | None = None,
    ) -> None:
        self._people_of = people_of
        self._ledger_of = ledger_of
        self._relation_of = relation_of
        self._settings = settings
        self._rules_of = rules_of

    def all(self) -> list[Callable[..., Any]]:
        """The activity callables to register on a worker."""
        return [
            self.list_people,
            self.open_evaluation,
            self.send_reminder,
            self.escalate,
            self.apply_fallback,
            self.record_not_evaluated,
            self.publish,
            self.cycle_finished,
            self.count_people,
            self.list_people_page,
        ]

    def _run(self, tenant: str, use_case: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            with transaction(engine_for(tenant, "evaluation", self._settings)) as session:
                result = use_case(session, tenant, *args, **kw)
            metrics.step_done(tenant, use_case.__name__)  # woms.cycle.steps (metrics.py)
            return result
        except service.EvaluationError as exc:  # a refusal does not get better on retry
            raise ApplicationError(str(exc), type="EvaluationError", non_retryable=True) from exc

    @activity.defn(name=ActivityNames.LIST_PEOPLE)
    def list_people(self, ref: PeriodRef) -> list[PersonRef]:
        return list(self._people_of(ref.tenant_id, ref.period))

    def _ordered(self, tenant: str, period: str) -> list[PersonRef]:
        people = self._people_of(tenant, period)
        return sorted(people, key=lambda p: (p.unit_id, p.person_id))

    @activity.defn(name=ActivityNames.COUNT_PEOPLE)
    def count_people(self, query: PeopleQuery) -> list[UnitCount]:
        """People per unit, ordered by ``unit_id`` (the order of ``list_people_page``)."""
        units = Counter(p.unit_id for p in self._people_of(query.tenant_id, query.period))
        return [UnitCount(unit_id=u, people=n) for u, n in sorted(units.items())]

    @activity.defn(name=ActivityNames.LIST_PEOPLE_PAGE)
    def list_people_page(self, query: PeopleQuery) -> list[PersonRef]:
        """At most ``query.limit`` people from ``query.offset``, by ``(unit_id, person_id)``.

        Raises:
            ApplicationError: (non-retryable) when ``offset`` or ``limit`` is negative.
        """
        if query.offset < 0 or query.limit < 0:
            raise ApplicationError(
                f"offset/limit âm: {query.offset}/{query.limit} / "
                f"negative offset/limit: {query.offset}/{query.limit}",
                type="ValueError",
                non_retryable=True,
            )
        people = self._ordered(query.tenant_id, query.period)
        return people[query.offset : query.offset + query.limit]

    @activity.defn(name=ActivityNames.OPEN_EVALUATION)
    def open_evaluation(self, step: PersonStep) -> None:
        ledger = self._ledger_of(step.tenant_id, step.person_id, step.period)
        rules = self._rules_of(step.tenant_id) if self._rules_of else None
        self._run(
            step.tenant_id,
            service.open_evaluation,
            step.person_id,
            step.unit_id,
            step.period,
            ledger,
            step.idempotency_key,
            rules=rules,
        )

    @activity.defn(name=ActivityNames.SEND_REMINDER)
    def send_reminder(self, step: PersonStep) -> None:
        relation = self._relation_of(step.tenant_id, step.period)
        self._run(
            step.tenant_id,
            service.send_reminder,
            step.person_id,
            step.period,
            step.step,
            relation,
            step.idempotency_key,
            step.deadline,
        )

    @activity.defn(name=ActivityNames.ESCALATE)
    def escalate(self, step: PersonStep) -> str:
        relation = self._relation_of(step.tenant_id, step.period)
        escalated = str(
            self._run(
                step.tenant_id,
                service.escalate,
                step.person_id,
                step.period,
                step.step,
                relation,
                step.idempotency_key,
                step.deadline,
            )
        )
        metrics.late(step.tenant_id, step.step)  # woms.cycle.late (metrics.py)
        return escalated

    @activity.defn(name=ActivityNames.APPLY_FALLBACK)
    def apply_fallback(self, step: PersonStep) -> None:
        self._run(
            step.tenant_id,
            service.apply_fallback,
            step.person_id,
            step.period,
            step.idempotency_key,
        )
        metrics.late(step.tenant_id, step.step)  # woms.cycle.late (metrics.py)

    @activity.defn(name=ActivityNames.RECORD_NOT_EVALUATED)
    def record_not_evaluated(self, step: PersonStep) -> None:
        self._run(
            step.tenant_id,
            service.record_not_evaluated,
            step.person_id,
            step.unit_id,
            step.period,
            step.idempotency_key,
        )

    @activity.defn(name=ActivityNames.PUBLISH)
    def publish(self, step: PersonStep) -> None:
        self._run(
            step.tenant_id, service.publish, step.person_id, step.period, step.idempotency_key
        )

    @activity.defn(name=ActivityNames.CYCLE_FINISHED)
    def cycle_finished(self, ref: PeriodRef) -> None:
        key = f"cycle_finished:{ref.tenant_id}:{ref.period}"
        self._run(ref.tenant_id, service.cycle_finished, ref.period, key)
