"""What every service's HTTP API shares: the caller from the bearer token, the tenant context
(another tenant's token gets 404), Rego-checked access, the request's unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.common import tenancy
from services.common.audit import ACTOR_KEY, TENANT_KEY
from services.common.auth import AuthError, IdentityProviderUnavailable, Principal, verify_token
from services.common.db import engine_for, transaction, unavailable
from services.common.limits import rate_limiter_of
from services.common.policy import PolicyEvaluator, PolicyUnavailable, policy_engine
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

    def allowed(self, action: str, resource: dict[str, Any] | None = None) -> bool:
        """Whether ``woms.<service>.authz`` allows ``action`` on ``resource``."""
        return (
            policies().evaluate(
                f"data.woms.{self.service}.authz.allow", self._document(action, resource)
            )
            is True
        )

    def authorize(self, action: str, resource: dict[str, Any] | None = None) -> None:
        """Ask the policy; 403 with its reasons when denied."""
        if not self.allowed(action, resource):
            reasons = (
                policies().evaluate(
                    f"data.woms.{self.service}.authz.reasons", self._document(action, resource)
                )
                or set()
            )
            raise HTTPException(403, {"action": action, "reasons": sorted(reasons)})

    def _document(self, action: str, resource: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "action": action,
            "principal": {
                "tenant": self.principal.tenant,
                "subject": self.principal.subject,
                "roles": sorted(self.principal.roles),
            },
            "resource": resource or {},
        }


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
    404 unless the token's tenant is ``tenant`` and the tenant is onboarded."""

    def context(tenant: str, principal: Annotated[Principal, Depends(principal_of)]) -> Context:
        if principal.tenant != tenant:
            raise HTTPException(404, "không tìm thấy / not found")
        with outage_as_503(), transaction(tenancy.registry_engine()) as session:
            found = tenancy.get_tenant(session, tenant)
        if found is None:
            raise HTTPException(404, "không tìm thấy / not found")
        return Context(tenant, principal, found.config, found.name, service)

    return context
