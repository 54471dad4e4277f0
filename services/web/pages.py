"""What every page shares: the Jinja2 environment, the signed-in viewer (token cookie → the
person, their tenant, their roles as planning grants them — never the token's claim — and a
:class:`~services.web.backend.Backend` with their token), and rendering with the services'
errors in Vietnamese.

A request without a valid token cookie is sent to the log-in page (:class:`LoginRequired`).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.common.auth import AuthError, Principal, verify_token
from services.common.roles import GrantSource, RolesUnavailable, effective_roles
from services.web import labels
from services.web.backend import ApiError, Backend
from services.web.settings import WebSettings

TOKEN_COOKIE = "woms_token"
NAME_COOKIE = "woms_name"
HERE = Path(__file__).resolve().parent
ZONE = "Asia/Ho_Chi_Minh"
"""The day on which roles are read from planning is today in this zone."""

ROLE_LABELS = {
    "tenant_admin": "Quản trị của đơn vị thuê bao",
    "central": "Cơ quan cấp trên (so sánh giữa các đơn vị)",
    "external_body": "Cơ quan đánh giá bên ngoài",
}
"""Vietnamese names of the roles planning grants (shown beside the signed-in person)."""

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    GRADES=labels.GRADES,
    EVALUATION_STATUS=labels.EVALUATION_STATUS,
    APPEAL_STATUS=labels.APPEAL_STATUS,
    FLAGS=labels.FLAGS,
    HISTORY_ACTIONS=labels.HISTORY_ACTIONS,
    TASK_STATUS=labels.TASK_STATUS,
    TASK_GROUPS=labels.TASK_GROUPS,
    PERSPECTIVES=labels.PERSPECTIVES,
)
templates.env.filters.update(
    period=labels.period_label, percent=labels.percent, points=labels.points
)


class LoginRequired(Exception):
    """No valid token cookie: the app answers with a redirect to ``/login``."""


def settings_of(request: Request) -> WebSettings:
    """The app's :class:`WebSettings` (``app.state.settings``)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def granted_roles(request: Request, tenant: str) -> Mapping[str, frozenset[str]]:
    """``{subject: roles}`` planning grants in ``tenant`` today (``app.state.role_grants``,
    cached ``RELATION_CACHE_S``).

    Raises:
        HTTPException: 503 when planning's grants cannot be read.
    """
    source: GrantSource = request.app.state.role_grants
    try:
        return source.grants(tenant, datetime.now(ZoneInfo(ZONE)).date())
    except RolesUnavailable as exc:
        raise HTTPException(503, "Không đọc được vai trò từ dịch vụ kế hoạch") from exc


def period_end(period: str) -> str:
    """Last day of ``YYYY-MM`` as ISO text (the relation is read as of then)."""
    year, month = (int(x) for x in period.split("-"))
    return f"{period}-{calendar.monthrange(year, month)[1]:02d}"


@dataclass
class Viewer:
    """The signed-in person: ``principal`` (tenant, subject, roles), their display ``name``,
    ``backend`` calling the services with their token; per-request caches."""

    principal: Principal
    name: str
    backend: Backend
    settings: WebSettings
    _relations: dict[str, dict[str, Any]] = field(default_factory=dict)
    _names: dict[str, str] | None = None

    @property
    def person(self) -> str:
        return self.principal.subject

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    def has_role(self, *roles: str) -> bool:
        """Whether planning grants the viewer one of ``roles`` (``staff`` for everyone)."""
        return bool(self.principal.roles & set(roles))

    def role_labels(self) -> list[str]:
        """Vietnamese names of the roles planning grants the viewer (``staff`` not shown)."""
        return [ROLE_LABELS[r] for r in sorted(self.principal.roles) if r in ROLE_LABELS]

    def default_period(self) -> str:
        return self.settings.period or labels.current_period()

    def relation(self, period: str) -> dict[str, Any]:
        """The evaluator relation at the end of ``period`` (planning
        ``/evaluators/policy-data``: ``evaluator_of``, ``evaluatees_of``, ``decider_of``,
        ``unit_heads``, ``unit_members``)."""
        if period not in self._relations:
            self._relations[period] = self.backend.get(
                "planning", "/evaluators/policy-data", as_of=period_end(period)
            )
        return self._relations[period]

    def names(self) -> dict[str, str]:
        """``{person code: name}`` of the tenant (planning ``/people``, every page)."""
        if self._names is None:
            found: dict[str, str] = {}
            offset = 0
            while True:
                page = self.backend.get("planning", "/people", offset=offset, limit=200)
                found.update({p["code"]: p["name"] for p in page["items"]})
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
            self._names = found
        return self._names

    def unit_of(self, person: str, period: str) -> str | None:
        """The first unit listing ``person`` in the period's relation (primary first)."""
        for unit, members in self.relation(period).get("unit_members", {}).items():
            if person in members:
                return str(unit)
        return None

    def units_to_decide(self, period: str) -> list[str]:
        """Units with someone whose grade the viewer decides (``decider_of``)."""
        relation = self.relation(period)
        deciding = {p for p, d in relation.get("decider_of", {}).items() if d == self.person}
        return sorted(
            {u for u, ms in relation.get("unit_members", {}).items() if deciding & set(ms)}
        )


def viewer(request: Request) -> Viewer:
    """FastAPI dependency: the :class:`Viewer` from the token cookie.

    Raises:
        LoginRequired: no cookie, or a token that is invalid or expired.
    """
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        principal = verify_token(token)
    except AuthError as exc:
        raise LoginRequired() from exc
    settings = settings_of(request)
    grants = granted_roles(request, principal.tenant)
    principal = Principal(principal.tenant, principal.subject, effective_roles(principal, grants))
    backend = Backend(request.app.state.http, principal.tenant, token)
    name = unquote(request.cookies.get(NAME_COOKIE) or principal.subject)
    return Viewer(principal, name, backend, settings)


Me = Annotated[Viewer, Depends(viewer)]


def render(
    request: Request, template: str, me: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` with ``me`` and ``context``; ``errors`` defaults to none."""
    context.setdefault("errors", {})
    return templates.TemplateResponse(
        request, template, {"me": me, **context}, status_code=status_code
    )


def api_failure(exc: ApiError) -> int:
    """The status a page answers when a service refused: 4xx kept, 5xx → 502."""
    return exc.status if 400 <= exc.status < 500 else 502
