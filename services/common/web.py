"""What every service's HTTP API shares: the caller from the bearer token, the tenant context
(another tenant's token gets 404), the caller's roles as planning grants them
(:mod:`services.common.roles`), Rego-checked access, the request's unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.common import tenancy
from services.common.audit import ACTOR_KEY, TENANT_KEY
from services.common.auth import AuthError, IdentityProviderUnavailable, Principal, verify_token
from services.common.authorizer import Authorizer
from services.common.db import engine_for, transaction, unavailable
from services.common.limits import rate_limiter_of
from services.common.policy import PolicyEvaluator, PolicyUnavailable, policy_engine
from services.common.roles import GrantSource, HttpGrants, RolesUnavailable, resolve
from services.common.settings import get_settings

MAX_LIMIT = 200
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
MAX_ROW_ID = 2**63 - 1
"""Largest row id a database integer key holds (SQLite/PostgreSQL ``BIGINT``)."""
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""A row id in a path: larger numbers are 422, not an overflow in the driver."""

POLICY_UNAVAILABLE = "máy chủ chính sách không truy cập được / policy engine (OPA) unavailable"
"""Detail of the 503 answered when ``OPA_URL`` is set and the server cannot be reached."""
ROLES_UNAVAILABLE = "không đọc được vai trò từ kế hoạch / planning's role grants unavailable"
"""Detail of the 503 answered when planning's role grants cannot be read."""
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
"""Zone of the day on which roles are resolved for a caller whose tenant is not registered."""

_local = threading.local()
_shared: dict[str, PolicyEvaluator] = {}
_shared_lock = threading.Lock()


@dataclass(frozen=True)
class _ApiPolicies:
    """A policy engine whose unavailability becomes HTTP 503 instead of a 500."""

    engine: PolicyEvaluator

    def evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        try:
            return self.engine.evaluate(rule, input)
        except PolicyUnavailable as exc:
            raise HTTPException(503, POLICY_UNAVAILABLE) from exc


def policies() -> PolicyEvaluator:
    """The request's policy engine (``services.common.policy.policy_engine``): with ``OPA_URL``
    one OPA engine shared by all threads (policies uploaded on first use), else this thread's
    regorus engine (regorus engines cannot move between threads).

    Raises:
        HTTPException: 503 when OPA cannot be reached (here or in ``evaluate``).
    """
    settings = get_settings()
    if settings.opa_url is None:
        engine = getattr(_local, "engine", None)
        if engine is None:
            engine = _local.engine = policy_engine(settings)
        return engine
    with _shared_lock:
        engine = _shared.get(settings.opa_url)
        if engine is None:
            try:
                engine = _shared[settings.opa_url] = _ApiPolicies(policy_engine(settings))
            except PolicyUnavailable as exc:
                raise HTTPException(503, POLICY_UNAVAILABLE) from exc
        return engine


def principal_of(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The caller from ``Authorization: Bearer <token>``; 401 otherwise; 429 with
    ``Retry-After`` over the app's per-token rate limit (``services/common/limits.py``)."""
    principal = _verified(authorization)
    limiter = rate_limiter_of(request.app)
    if limiter is not None:
        limiter.check(principal)
    return principal


def grant_source(request: Request) -> GrantSource:
    """The app's source of role grants (``app.state.role_grants``, set by each service's
    ``create_app``); default: planning over HTTP at ``PLANNING_URL``
    (:class:`services.common.roles.HttpGrants`), created on first use."""
    source: GrantSource | None = getattr(request.app.state, "role_grants", None)
    if source is None:
        source = request.app.state.role_grants = HttpGrants("woms")
    return source


def today_in(zone: str) -> date:
    """Today's date in the time zone ``zone`` (the day roles are resolved for)."""
    return datetime.now(ZoneInfo(zone)).date()


def with_roles(principal: Principal, source: GrantSource, day: date) -> Principal:
    """``principal`` with its effective roles on ``day`` (:func:`services.common.roles.resolve`:
    ``staff`` + planning's grants; a token's ``service``/``system`` for ``system:`` subjects).

    Raises:
        HTTPException: 503 when the grants cannot be read.
    """
    try:
        return resolve(principal, source, day)
    except RolesUnavailable as exc:
        raise HTTPException(503, f"{ROLES_UNAVAILABLE}: {exc}") from exc


def caller_of(
    principal: Annotated[Principal, Depends(principal_of)],
    source: Annotated[GrantSource, Depends(grant_source)],
) -> Principal:
    """The caller with the roles planning grants it in its own tenant today (the dependency of
    endpoints outside ``/tenants/{tenant}``, e.g. reporting's ``/central``): a tenant that is
    not registered has no grants; 503 when the grants cannot be read."""
    with outage_as_503():
        found = tenancy.cached_tenant(principal.tenant)
    return with_roles(principal, source, today_in(found.time_zone if found else DEFAULT_ZONE))


def _verified(authorization: str | None) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            401, "thiếu mã truy cập / bearer token required", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return verify_token(authorization[7:].strip())
    except IdentityProviderUnavailable as exc:  # the OIDC provider's JWKS cannot be fetched
        raise HTTPException(503, f"máy chủ định danh không truy cập được / {exc}") from exc
    except AuthError as exc:
        raise HTTPException(
            401,
            f"mã truy cập không hợp lệ / invalid token: {exc}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


@dataclass(frozen=True)
class Context:
    """A request's tenant and caller (checked to belong together), for one service."""

    tenant: str
    principal: Principal
    config: dict[str, Any]
    name: str
    service: str

    @property
    def subject(self) -> str:
        return self.principal.subject

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The request's unit of work: committed when the block ends without error."""
        with outage_as_503(), transaction(engine_for(self.tenant, self.service)) as session:
            session.info.update({TENANT_KEY: self.tenant, ACTOR_KEY: self.subject})  # audit
            yield session

    @property
    def authorizer(self) -> Authorizer:
        """The one authorizer (:class:`services.common.authorizer.Authorizer`) for this
        caller, tenant and service."""
        return Authorizer(self.service, self.tenant, self.principal, policies)

    def allowed(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether ``woms.<service>.authz`` allows ``action`` on ``resource``."""
        return self.authorizer.allowed(action, resource, relation)

    def authorize(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Mapping[str, Any] | None = None,
    ) -> None:
        """Ask the policy; 403 with its reasons when denied."""
        self.authorizer.authorize(action, resource, relation)


DATABASE_UNAVAILABLE = "cơ sở dữ liệu tạm thời không truy cập được / database unavailable"
RETRY_AFTER_S = 5


@contextmanager
def outage_as_503() -> Iterator[None]:
    """Turn a database outage (:func:`services.common.db.unavailable`) inside the block into
    HTTP 503 with ``Retry-After`` (issue 9, faults): the transaction was rolled back, nothing
    was acknowledged, the client may retry. Other errors pass through unchanged."""
    try:
        yield
    except SQLAlchemyError as exc:
        if not unavailable(exc):
            raise
        raise HTTPException(
            503, DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_S)}
        ) from exc


def context_for(service: str) -> Callable[..., Context]:
    """A FastAPI dependency giving the :class:`Context` of ``/tenants/{tenant}`` requests:
    404 unless the token's tenant is ``tenant`` and the tenant is onboarded; the context's
    principal carries the roles planning grants on the tenant's today (:func:`with_roles`,
    503 when they cannot be read), never the roles a person's token claims."""

    def context(
        tenant: str,
        principal: Annotated[Principal, Depends(principal_of)],
        source: Annotated[GrantSource, Depends(grant_source)],
    ) -> Context:
        if principal.tenant != tenant:
            raise HTTPException(404, "không tìm thấy / not found")
        with outage_as_503():
            found = tenancy.cached_tenant(tenant)
        if found is None:
            raise HTTPException(404, "không tìm thấy / not found")
        resolved = with_roles(principal, source, today_in(found.time_zone))
        return Context(tenant, resolved, found.config, found.name, service)

    return context
