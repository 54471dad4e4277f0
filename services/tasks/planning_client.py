"""What the tasks service asks the planning service, over its HTTP API only.

Planning owns people, units, the work catalog and the evaluator relation; tasks reads them
through ``PLANNING_URL`` with a service token (subject ``system:tasks``, role ``service``).
The evaluator relation and the catalog of a tenant and day are kept ``RELATION_CACHE_S``
seconds (:mod:`services.common.relation_cache`; default 30, 0 = fetched on every call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import httpx

from services.common.auth import issue_token
from services.common.relation_cache import RelationCache
from services.common.settings import Settings, get_settings

SUBJECT = "system:tasks"


class PlanningUnavailable(Exception):
    """The planning API did not answer as expected (HTTP status and text in the message)."""


@dataclass(frozen=True)
class CatalogEntry:
    """A work catalog item version in force on a day (``001 §III.1``, ``DOMAIN.md §3``).

    Attributes:
        code: the item's code.
        unit: the unit whose catalog holds it (``None``: tenant-wide, when planning says so).
        coefficient: the conversion coefficient (points per unit of quantity), exact.
        evidence_required: planning's ``evidence_required`` flag when it sends one, else
            ``None`` (the tasks service then applies its default: evidence required).
    """

    code: str
    unit: str | None
    coefficient: Decimal
    evidence_required: bool | None = None


class PlanningDirectory(Protocol):
    """The planning facts the tasks service needs."""

    def coefficient(self, tenant: str, catalog_item: str, as_of: date) -> Decimal | None: ...

    def catalog_entry(self, tenant: str, catalog_item: str, as_of: date) -> CatalogEntry | None: ...

    def org(self, tenant: str, as_of: date) -> dict[str, Any]: ...


class HttpPlanningDirectory:
    """:class:`PlanningDirectory` over the planning HTTP API (httpx)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        cache: RelationCache | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        self._client = httpx.Client(
            base_url=base_url or self._settings.planning_url, timeout=10.0, transport=transport
        )
        self._cache = cache if cache is not None else RelationCache(self._settings.relation_cache_s)

    def _get(self, tenant: str, path: str, params: dict[str, str]) -> Any:
        token = issue_token(tenant, SUBJECT, {"service"}, ttl_s=300, settings=self._settings)
        try:
            answer = self._client.get(
                f"/tenants/{tenant}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise PlanningUnavailable(f"planning API: {exc}") from exc
        if answer.status_code != 200:
            raise PlanningUnavailable(f"planning API {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def coefficient(self, tenant: str, catalog_item: str, as_of: date) -> Decimal | None:
        """The conversion coefficient of ``catalog_item`` in force on ``as_of`` (None when the
        item does not exist then), ``001 §III.1``."""
        found = self.catalog_entry(tenant, catalog_item, as_of)
        return None if found is None else found.coefficient

    def catalog_entry(self, tenant: str, catalog_item: str, as_of: date) -> CatalogEntry | None:
        """The version of ``catalog_item`` in force on ``as_of`` (planning's ``/catalog``),
        ``None`` when the item does not exist then. ``unit`` is planning's ``unit`` (``None``
        when absent or null: a tenant-wide item); ``evidence_required`` planning's flag when
        the answer carries one (a bool), else ``None``.

        Raises:
            PlanningUnavailable: planning did not answer 200.
        """
        items = self._cache.get(
            "catalog",
            tenant,
            as_of,
            lambda: self._get(tenant, "/catalog", {"as_of": as_of.isoformat()}),
        )
        found = next((i for i in items if i["code"] == catalog_item), None)
        if found is None:
            return None
        flag = found.get("evidence_required")
        return CatalogEntry(
            code=str(found["code"]),
            unit=found.get("unit") or None,
            coefficient=Decimal(str(found["coefficient"])),
            evidence_required=flag if isinstance(flag, bool) else None,
        )

    def org(self, tenant: str, as_of: date) -> dict[str, Any]:
        """The evaluator relation and unit heads/members on ``as_of``
        (planning's ``/evaluators/policy-data``), cached per tenant and day for
        ``RELATION_CACHE_S`` seconds: read-only, shared between requests.

        Raises:
            PlanningUnavailable: planning did not answer 200.
        """
        data: dict[str, Any] = self._cache.get(
            "policy-data",
            tenant,
            as_of,
            lambda: self._get(tenant, "/evaluators/policy-data", {"as_of": as_of.isoformat()}),
        )
        return data

    def close(self) -> None:
        self._client.close()
