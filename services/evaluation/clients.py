"""What the evaluation service reads from the other services, over their HTTP APIs only.

* tasks: ``GET {tasks_url}/tenants/{t}/ledger/{person}/{period}`` → ``{"tasks": [line, ...]}``;
* planning: ``GET {planning_url}/tenants/{t}/evaluators/policy-data?as_of=`` → the evaluator
  relation (``unit_members``, ``unit_heads``, ``evaluator_of``, ``decider_of`` …).

* planning: ``GET /people/{code}`` → the person's memberships (joiners and leavers), and
  ``GET /plans?owner_unit=…`` + ``GET /plans/{code}?today=`` → a unit's plan objectives with
  progress, perspective, breakthrough flag and status colour (leaders' đ, collective
  evaluation).

Joiners, leavers and movers (:meth:`HttpSources.people_of`, rules in
:mod:`services.evaluation.people_of_month`): the relation is read on the first and the last
day of the period; people in one of the two only get their membership history read and are
evaluated when present at least half the working days (``001 §I.6``); a mover is evaluated
once, in the unit at the end of the period.

Both with a service token (subject ``system:evaluation``, role ``service``). The relation of a
tenant and day is kept ``RELATION_CACHE_S`` seconds (:mod:`services.common.relation_cache`;
default 30, 0 = fetched on every call). The callables
:meth:`HttpSources.people_of`, :meth:`HttpSources.ledger_of` and
:meth:`HttpSources.relation_of` are what
:class:`~services.evaluation.activities.EvaluationActivities`
takes.
"""

from __future__ import annotations

import calendar
import os
from datetime import date
from typing import Any

import httpx

from services.common.auth import issue_token
from services.common.relation_cache import RelationCache
from services.common.settings import Settings, get_settings
from services.evaluation.leaders import ObjectiveStanding
from services.evaluation.people_of_month import (
    Stint,
    WorkingDays,
    people_of_month,
    period_bounds,
    primary_units,
)
from workflows.monthly_cycle.inputs import PersonRef

SUBJECT = "system:evaluation"
#: Default base URL of the tasks API (env ``TASKS_URL``).
DEFAULT_TASKS_URL = "http://127.0.0.1:8102"


class SourceUnavailable(Exception):
    """The tasks or planning API did not answer as expected."""


def period_end(period: str) -> date:
    """Last day of ``YYYY-MM`` (the relation is read as of then)."""
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def people_from_relation(relation: dict[str, Any]) -> list[PersonRef]:
    """Everyone in ``unit_members``, each with the first unit listing them (planning lists
    primary memberships first), by person code."""
    unit_of: dict[str, str] = {}
    for unit, members in relation.get("unit_members", {}).items():
        for person in members:
            unit_of.setdefault(person, unit)
    return [PersonRef(person_id=p, unit_id=u) for p, u in sorted(unit_of.items())]


class HttpSources:
    """The tasks ledger and the planning relation over HTTP (httpx)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tasks_url: str | None = None,
        planning_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        period_start_day: int = 1,
        working_days: WorkingDays | None = None,
        cache: RelationCache | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        self._cache = cache if cache is not None else RelationCache(self._settings.relation_cache_s)
        self._start_day = period_start_day
        self._days = working_days or WorkingDays()
        self._tasks = httpx.Client(
            base_url=tasks_url or os.environ.get("TASKS_URL", DEFAULT_TASKS_URL),
            timeout=10.0,
            transport=transport,
        )
        self._planning = httpx.Client(
            base_url=planning_url or self._settings.planning_url, timeout=10.0, transport=transport
        )

    def _get(self, client: httpx.Client, tenant: str, path: str, params: dict[str, str]) -> Any:
        token = issue_token(tenant, SUBJECT, {"service"}, ttl_s=300, settings=self._settings)
        try:
            answer = client.get(
                f"/tenants/{tenant}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{path}: {exc}") from exc
        if answer.status_code != 200:
            raise SourceUnavailable(f"{path}: {answer.status_code} {answer.text}")
        return answer.json()

    def _policy_data(self, tenant: str, day: date) -> dict[str, Any]:
        """Planning's ``/evaluators/policy-data`` of ``day``, cached per tenant and day
        (``RELATION_CACHE_S``): read-only, shared between calls.

        Raises:
            SourceUnavailable: planning did not answer 200.
        """
        data: dict[str, Any] = self._cache.get(
            "policy-data",
            tenant,
            day,
            lambda: self._get(
                self._planning, tenant, "/evaluators/policy-data", {"as_of": day.isoformat()}
            ),
        )
        return data

    def relation_of(self, tenant: str, period: str) -> dict[str, Any]:
        """The evaluator relation as of the period's last day (a shallow copy of the cached
        answer: its nested values are shared, read-only).

        Raises:
            SourceUnavailable: planning did not answer 200.
        """
        return dict(self._policy_data(tenant, period_end(period)))

    def _members_on(self, tenant: str, day: date) -> dict[str, str]:
        relation = self._policy_data(tenant, day)
        return primary_units(relation.get("unit_members", {}))

    def memberships_of(self, tenant: str, person: str) -> list[Stint]:
        """The person's memberships (planning ``GET /people/{code}``), dates inclusive."""
        detail = self._get(self._planning, tenant, f"/people/{person}", {})
        return [
            Stint(
                unit=m["unit"],
                start=date.fromisoformat(m["start"]),
                end=date.fromisoformat(m["end"]) if m.get("end") else None,
            )
            for m in detail.get("memberships", [])
        ]

    def people_of(self, tenant: str, period: str) -> list[PersonRef]:
        """Everyone of the period with their unit and whether evaluated (see the module doc).

        Raises:
            SourceUnavailable: planning did not answer, or a joiner/leaver has no membership
                in the period.
        """
        first, last = period_bounds(period, self._start_day)
        at_start = self._members_on(tenant, first)
        at_end = self._members_on(tenant, last)
        partial = sorted(set(at_start) ^ set(at_end))
        history = {person: self.memberships_of(tenant, person) for person in partial}
        try:
            return people_of_month(at_start, at_end, history, (first, last), self._days)
        except ValueError as exc:
            raise SourceUnavailable(str(exc)) from exc

    def plan_objectives(
        self, tenant: str, unit: str, kind: str, year: int, number: int | None, as_of: date
    ) -> list[ObjectiveStanding] | None:
        """The objectives of ``unit``'s plan for a period (``kind`` ``year`` | ``quarter`` |
        ``month``), with progress and colour as of ``as_of``; ``None`` when it has none."""
        plans = self._get(
            self._planning,
            tenant,
            "/plans",
            {"owner_unit": unit, "period_kind": kind, "year": str(year), "limit": "100"},
        )["items"]
        chosen = [p for p in plans if p.get("number") == number]
        if not chosen:
            return None
        detail = self._get(
            self._planning, tenant, f"/plans/{chosen[0]['code']}", {"today": str(as_of)}
        )
        return [ObjectiveStanding.of(o) for o in detail.get("objectives", [])]

    def ledger_of(self, tenant: str, person: str, period: str) -> list[dict[str, Any]]:
        return list(self._get(self._tasks, tenant, f"/ledger/{person}/{period}", {})["tasks"])

    def close(self) -> None:
        self._tasks.close()
        self._planning.close()
