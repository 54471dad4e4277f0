"""A caller's effective roles: ``staff`` for people and accounts, plus the roles planning
grants them; never the roles a person's token claims (issue 9, ``docs/identity.md``).

* A person or account (any subject not starting with ``system:``): ``staff`` plus the roles
  granted to the subject in planning's ``role_grants`` relation on the request's day
  (``tenant_admin``, ``central``, ``external_body``; from the tenant file's ``role_grants:``).
  Whatever the token's ``roles`` claim says is ignored — with an identity provider, its role
  mapper does not decide who administers a tenant.
* A ``system:`` subject (a signed service token, an external system feeding data): only the
  token's ``service`` and ``system`` roles are kept; planning grants nothing to them.
* A caller of the reserved ``platform`` tenant (a central body over every tenant,
  ``policies/woms/reporting/authz.rego``): ``staff`` plus the platform's grants, kept in the
  platform registry (:func:`services.common.tenancy.platform_role_grants`, managed with
  ``woms platform grant | revoke``; only ``central``), read on every request
  (:class:`PlatformGrants`).

Where the grants come from (:class:`GrantSource`): the planning service reads its own database;
the other services call ``GET /tenants/{t}/roles?as_of=`` on planning (``PLANNING_URL``) with a
service token (:class:`HttpGrants`) and keep the answer per (tenant, day) for
``RELATION_CACHE_S`` seconds (:class:`services.common.relation_cache.RelationCache`; 0 = no
cache), so a grant added in planning takes effect within that time. The FastAPI dependencies
that apply this to every request are in :mod:`services.common.web`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date
from typing import Protocol

import httpx
from sqlalchemy.exc import SQLAlchemyError

from services.common.auth import Principal, issue_token
from services.common.db import transaction
from services.common.relation_cache import RelationCache
from services.common.settings import Settings, get_settings
from services.common.tenancy import (
    PLATFORM,
    PLATFORM_GRANTABLE,
    platform_role_grants,
    registry_engine,
)

STAFF = "staff"
GRANTED_ROLES = frozenset({"tenant_admin", "central", "external_body"})
"""Roles that only planning grants (a token claiming them is not believed)."""
TOKEN_ROLES = frozenset({"service", "system"})
"""Roles taken from a token, and only from the token of a ``system:`` subject."""

Grants = Mapping[str, frozenset[str]]
"""``{subject: roles}`` of the grants holding on one day of one tenant."""

CACHE_SIZE = 1024
"""Most (tenant, day) entries an :class:`HttpGrants` keeps."""


class RolesUnavailable(Exception):
    """Planning's role grants could not be read (planning down or answering an error)."""


class GrantSource(Protocol):
    """Where the role grants of a tenant come from."""

    def grants(self, tenant: str, day: date) -> Grants:
        """``{subject: roles}`` holding on ``day``; raises :class:`RolesUnavailable`."""
        ...


def effective_roles(principal: Principal, grants: Grants) -> frozenset[str]:
    """The roles ``principal`` acts with: ``system:`` subjects keep the token's ``service`` /
    ``system`` roles only; everyone else has ``staff`` plus ``grants[subject]`` (restricted to
    :data:`GRANTED_ROLES`; for a caller of the ``platform`` tenant, to
    :data:`services.common.tenancy.PLATFORM_GRANTABLE`), whatever the token claims."""
    if principal.is_system:
        return principal.roles & TOKEN_ROLES
    allowed = PLATFORM_GRANTABLE if principal.tenant == PLATFORM else GRANTED_ROLES
    return frozenset({STAFF}) | (frozenset(grants.get(principal.subject, ())) & allowed)


def resolve(principal: Principal, source: GrantSource, day: date) -> Principal:
    """``principal`` with its :func:`effective_roles` on ``day`` (the source is not asked for
    ``system:`` subjects; a caller of the ``platform`` tenant gets the platform registry's
    grants, :class:`PlatformGrants`, whatever ``source`` is).

    Raises:
        RolesUnavailable: the source cannot be read.
    """
    if principal.tenant == PLATFORM:
        source = PlatformGrants()
    grants: Grants = {} if principal.is_system else source.grants(principal.tenant, day)
    return Principal(principal.tenant, principal.subject, effective_roles(principal, grants))


class PlatformGrants:
    """:class:`GrantSource` of the reserved ``platform`` tenant: the platform registry's
    ``platform_grants`` (no cache: a revocation takes effect at the next request)."""

    def grants(self, tenant: str, day: date) -> Grants:
        """``{subject: roles}`` granted on the platform (``tenant`` and ``day`` are not used:
        platform grants have no dates).

        Raises:
            RolesUnavailable: the registry cannot be read.
        """
        try:
            with transaction(registry_engine()) as session:
                return platform_role_grants(session)
        except SQLAlchemyError as exc:
            raise RolesUnavailable(f"platform registry: {exc}") from exc


class HttpGrants:
    """:class:`GrantSource` over planning's HTTP API, cached per (tenant, day).

    Args:
        service: the calling service; its token's subject is ``system:<service>`` (role
            ``service``).
        client: an ``httpx.Client`` whose base URL is planning's (tests pass a
            ``TestClient``); default: one client on ``PLANNING_URL`` (read when first used).
        settings: default :func:`get_settings` (``relation_cache_s``, the key set).
    """

    def __init__(
        self,
        service: str,
        client: httpx.Client | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        self._subject = f"system:{service}"
        self._client = client
        self._settings = settings
        self._lock = threading.Lock()
        self._cache: RelationCache | None = None

    def _settings_now(self) -> Settings:
        return self._settings or get_settings()

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self._settings_now().planning_url, timeout=10.0)
        return self._client

    def clear(self) -> None:
        """Forget every cached answer (the next request asks planning)."""
        self._current().clear()

    def _current(self) -> RelationCache:
        """The cache for today's ``RELATION_CACHE_S`` (a changed setting starts a new one)."""
        ttl = self._settings_now().relation_cache_s
        with self._lock:
            if self._cache is None or self._cache.ttl_s != ttl:
                self._cache = RelationCache(ttl, maxsize=CACHE_SIZE)
            return self._cache

    def grants(self, tenant: str, day: date) -> Grants:
        """``{subject: roles}`` of ``tenant`` on ``day``: from the cache when fetched less than
        ``RELATION_CACHE_S`` seconds ago, else from ``GET /tenants/{tenant}/roles?as_of=day``.
        A tenant planning does not know (404) has no grants.

        Raises:
            RolesUnavailable: planning cannot be reached or answers another error.
        """
        return self._current().get("roles", tenant, day, lambda: self._fetch(tenant, day))

    def _fetch(self, tenant: str, day: date) -> Grants:
        settings = self._settings_now()
        token = issue_token(tenant, self._subject, {"service"}, ttl_s=300, settings=settings)
        try:
            answer = self._http().get(
                f"/tenants/{tenant}/roles",
                params={"as_of": day.isoformat()},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise RolesUnavailable(f"planning API: {exc}") from exc
        if answer.status_code == 404:
            return {}
        if answer.status_code != 200:
            raise RolesUnavailable(f"planning API /roles: {answer.status_code} {answer.text}")
        body = answer.json()
        return {str(subject): frozenset(map(str, roles)) for subject, roles in body.items()}
