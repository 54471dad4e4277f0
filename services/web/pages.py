"""What every page shares: the Jinja2 environment, the signed-in viewer (token cookie → the
person, their tenant, their roles as planning grants them — never the token's claim — and a
:class:`~services.web.backend.Backend` with their token), and rendering with the services'
errors in Vietnamese.

A request without a valid token cookie is sent to the log-in page (:class:`LoginRequired`).

The templates' filters are registered here, once, for every page (:data:`FILTERS`): numbers
with the decimal comma (``points``, ``number``), dates ``dd/mm/yyyy`` (``date``), moments in
the tenant's time zone (``datetime``), codes as names (``label``, ``unit_name``,
``person_name``, ``form_name``), ``—`` for what is absent (``dash``). Typed numbers are read
by :func:`parse_number` / :func:`decimal_text` (``1,5`` and ``1.5``).
"""

from __future__ import annotations

import calendar
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from services.common.auth import AuthError, Principal, verify_token
from services.common.roles import GrantSource, RolesUnavailable, effective_roles
from services.web import labels
from services.web.backend import ApiError, Backend, ServiceDown
from services.web.labels import decimal_text, parse_number
from services.web.settings import WebSettings

TOKEN_COOKIE = "woms_token"
NAME_COOKIE = "woms_name"
HERE = Path(__file__).resolve().parent
ZONE = "Asia/Ho_Chi_Minh"
"""The zone of a tenant whose own is not known (the registry cannot be read): the day on
which roles are read from planning, the zone times are shown in."""
__all__ = ["decimal_text", "parse_number"]  # shared number parsing, re-exported for the pages
_log = logging.getLogger(__name__)
_zones: dict[str, str] = {}
_zones_lock = threading.Lock()


def tenant_zone(tenant: str) -> str:
    """The tenant's time zone as the platform registry holds it (``time_zone`` of the tenant
    file, e.g. ``Asia/Ho_Chi_Minh`` for ``hanoi``; :func:`services.common.tenancy.cached_tenant`),
    read once per process; :data:`ZONE` when the tenant is not registered or the registry
    cannot be read (then asked again on a later call)."""
    if tenant in _zones:
        return _zones[tenant]
    from services.common import tenancy  # the registry: only this one read of it

    try:
        found = tenancy.cached_tenant(tenant)
    except Exception as exc:  # any registry failure: the default zone
        _log.warning("time zone of %s not read (%s); showing %s", tenant, exc, ZONE)
        return ZONE
    zone = found.time_zone if found else ZONE
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        zone = ZONE
    with _zones_lock:
        _zones[tenant] = zone
    return zone


ROLE_LABELS = {
    "tenant_admin": "Quản trị của đơn vị thuê bao",
    "central": "Cơ quan cấp trên (so sánh giữa các đơn vị)",
    "external_body": "Cơ quan đánh giá bên ngoài",
}
"""Vietnamese names of the roles planning grants (shown beside the signed-in person)."""


def _viewer_in(context: Context) -> Viewer | None:
    me = context.get("me")
    return me if isinstance(me, Viewer) else None


@pass_context
def _datetime_filter(context: Context, value: Any) -> str:
    """``{{ h.at | datetime }}``: a service's UTC moment in the viewer's tenant's zone."""
    me = _viewer_in(context)
    return labels.datetime_label(value, tenant_zone(me.tenant) if me else ZONE)


@pass_context
def _unit_name(context: Context, code: Any) -> str:
    """``{{ ev.unit | unit_name }}``: the unit's name (planning ``/units``), its code when
    the unit is not listed; ``—`` when absent."""
    me = _viewer_in(context)
    if code in (None, "", "None"):
        return labels.DASH
    return me.unit_names().get(str(code), str(code)) if me else str(code)


@pass_context
def _person_name(context: Context, code: Any) -> str:
    """``{{ t.lead_person | person_name }}``: the person's name (planning ``/people``); system
    actors are "Hệ thống"; the code when not listed; ``—`` when absent."""
    me = _viewer_in(context)
    if code in (None, "", "None"):
        return labels.DASH
    if str(code).startswith("system:"):
        return "Hệ thống"
    return me.names().get(str(code), str(code)) if me else str(code)


FILTERS = {
    "period": labels.period_label,
    "percent": labels.percent,
    "points": labels.points,
    "number": labels.number,
    "date": labels.date_label,
    "datetime": _datetime_filter,
    "label": labels.label,
    "dash": lambda value: labels.DASH if value in (None, "", "None") else value,
    "form_name": lambda code: labels.label(code, labels.FORM_NAMES),
    "unit_name": _unit_name,
    "person_name": _person_name,
}
"""Every page's filters, registered in :data:`templates` (one place)."""

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
    FORM_NAMES=labels.FORM_NAMES,
)
templates.env.filters.update(FILTERS)


class LoginRequired(Exception):
    """No valid token cookie: the app answers with a redirect to ``/login``."""


def settings_of(request: Request) -> WebSettings:
    """The app's :class:`WebSettings` (``app.state.settings``)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def granted_roles(request: Request, tenant: str) -> Mapping[str, frozenset[str]]:
    """``{subject: roles}`` planning grants in ``tenant`` today (``app.state.role_grants``,
    cached ``RELATION_CACHE_S``).

    Raises:
        ServiceDown: planning's grants cannot be read (the app's "service down" page, 503).
    """
    source: GrantSource = request.app.state.role_grants
    try:
        return source.grants(tenant, datetime.now(ZoneInfo(tenant_zone(tenant))).date())
    except RolesUnavailable as exc:
        raise ServiceDown("planning", str(exc)) from exc


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
    _unit_names: dict[str, str] | None = None

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

    def unit_names(self) -> dict[str, str]:
        """``{unit code: name}`` of the tenant (planning ``/units``, read once a request)."""
        if self._unit_names is None:
            found: dict[str, str] = {}
            while True:
                page = self.backend.get("planning", "/units", offset=len(found), limit=200)
                found.update({u["code"]: u.get("name") or u["code"] for u in page["items"]})
                if not page["items"] or len(found) >= page.get("total", 0):
                    break
            self._unit_names = found
        return self._unit_names

    @property
    def zone(self) -> str:
        """The tenant's time zone (:func:`tenant_zone`)."""
        return tenant_zone(self.tenant)

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


def viewer_or_none(request: Request) -> Viewer | None:
    """The signed-in :class:`Viewer` for a page that must answer anyway (an error page in the
    application's frame), or ``None``: not signed in, or planning cannot tell their roles."""
    try:
        return viewer(request)
    except Exception:  # an error page never fails for want of its menu
        return None
