"""What the evaluation service reads from the other services, over their HTTP APIs only.

* tasks: ``GET {tasks_url}/tenants/{t}/ledger/{person}/{period}`` → ``{"tasks": [line, ...]}``;
* planning: ``GET {planning_url}/tenants/{t}/evaluators/policy-data?as_of=`` → the evaluator
  relation (``unit_members``, ``unit_heads``, ``evaluator_of``, ``decider_of`` …).

Both with a service token (subject ``system:evaluation``, role ``service``). The callables
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
from services.common.settings import Settings, get_settings
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
    ) -> None:
        self._settings = settings or get_settings()
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

    def relation_of(self, tenant: str, period: str) -> dict[str, Any]:
        as_of = period_end(period).isoformat()
        return dict(self._get(self._planning, tenant, "/evaluators/policy-data", {"as_of": as_of}))

    def people_of(self, tenant: str, period: str) -> list[PersonRef]:
        return people_from_relation(self.relation_of(tenant, period))

    def ledger_of(self, tenant: str, person: str, period: str) -> list[dict[str, Any]]:
        return list(self._get(self._tasks, tenant, f"/ledger/{person}/{period}", {})["tasks"])

    def close(self) -> None:
        self._tasks.close()
        self._planning.close()
