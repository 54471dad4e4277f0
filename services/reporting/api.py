"""Reporting HTTP API (FastAPI): thin routers over the read-model queries
(:mod:`services.reporting.service`, :mod:`services.reporting.queries`) and the pure rules
(:mod:`~services.reporting.profile`, :mod:`~services.reporting.analysis`,
:mod:`~services.reporting.allocation`); ``DOMAIN.md §8–§9``, issue 6.

* ``/tenants/{tenant}/reports/...`` — one tenant's figures; a bearer token of that tenant
  (another tenant's gets 404). A person's card and profile: the person, their superiors along
  the evaluator relation (``001 §II.3``, read from planning), tenant administrators and central
  bodies of the tenant; a unit's figures: its head and the people above, administrators,
  central bodies; the whole tenant: administrators and central bodies.
  The goal tree (``/goal-tree``) and the early warnings (``/warnings``) of a month follow the
  unit / tenant rule (:mod:`services.reporting.goals`).
* ``/central/...`` — aggregates across units and tenants for central bodies (role
  ``central``; granted by a tenant it covers that tenant, granted by the platform tenant
  ``platform`` every tenant). No person's code or name leaves its tenant here.

Access is decided by the Rego package ``woms.reporting.authz``; every answer says which
tenants and units it covers (``covers``). Scores and points are exact decimals written as
strings; fractions as ``p/q``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal, Protocol

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from sqlalchemy import Connection, Engine

from services.common import tenancy
from services.common.auth import Principal, issue_token
from services.common.authorizer import Authorizer
from services.common.db import transaction
from services.common.limits import install_limits
from services.common.relation_cache import RelationCache
from services.common.roles import GrantSource, HttpGrants
from services.common.settings import get_settings
from services.common.telemetry import instrument_app
from services.common.web import Context, caller_of, context_for, policies
from services.reporting import access, analysis, goals, profile, queries, schemas, service
from services.reporting.allocation import (
    DEFAULT_EXCLUDED,
    NO_TASKS,
    NOT_EVALUATED,
    PublishedResult,
    allocate_income,
)
from services.reporting.database import SERVICE, reporting_engine

SUBJECT = "system:reporting"
UNGROUPED = "Chưa phân nhóm"
"""Name of the task group ``""`` (events that did not carry the group) in the analysis."""

Ctx = Annotated[Context, Depends(context_for(SERVICE))]
PeriodQ = Annotated[str, Query(pattern=schemas.PERIOD_PATTERN, description="Kỳ / period, YYYY-MM")]
Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
CodeQ = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
TenantsQ = Annotated[
    list[str], Query(min_length=1, max_length=100, description="Đơn vị thuê bao / tenants")
]

AxisQ = Annotated[
    Literal[
        "done_percent",
        "on_time_percent",
        "points_completed_percent",
        "a_percent",
        "published_percent",
        "late_people",
    ],
    Query(description="Tiêu chí xếp hạng / ranking axis"),
]
"""The axes units are ranked by (the rankings and their export)."""
TodayQ = Annotated[
    date | None, Query(description="Ngày tính tiến độ / the day of the figures (default today)")
]


def day_of(today: date | None) -> date:
    """The day the figures are counted on: the one asked for, else the server's date (the
    same default for the task figures and the early warnings, so they agree)."""
    return today or date.today()


tenant_router = APIRouter(prefix="/tenants/{tenant}/reports", tags=["tenant"])
central_router = APIRouter(prefix="/central", tags=["central"])


# --- where the evaluator relation comes from -----------------------------------------------


class RelationSource(Protocol):
    """The evaluator relation of a tenant for a period (``unit_heads``, ``evaluator_of`` …, as
    planning's ``GET /tenants/{t}/evaluators/policy-data``)."""

    def relation_of(self, tenant: str, period: str) -> dict[str, Any]: ...


class HttpRelations:
    """The relation read from the planning API (``PLANNING_URL``) with a service token
    (subject ``system:reporting``, role ``service``), as of the period's last day; kept
    ``RELATION_CACHE_S`` seconds per tenant and day (:mod:`services.common.relation_cache`)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=get_settings().planning_url, timeout=10.0)
        self._cache = RelationCache()

    def relation_of(self, tenant: str, period: str) -> dict[str, Any]:
        year, month = (int(x) for x in period.split("-"))
        as_of = date.fromordinal(date(year + month // 12, month % 12 + 1, 1).toordinal() - 1)
        return dict(
            self._cache.get("policy-data", tenant, as_of, lambda: self._fetch(tenant, as_of))
        )

    def _fetch(self, tenant: str, as_of: date) -> dict[str, Any]:
        token = issue_token(tenant, SUBJECT, {"service"}, ttl_s=300)
        try:
            answer = self._client.get(
                f"/tenants/{tenant}/evaluators/policy-data",
                params={"as_of": as_of.isoformat()},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise HTTPException(
                503, f"không đọc được sơ đồ đánh giá / planning unavailable: {exc}"
            ) from exc
        if answer.status_code != 200:
            raise HTTPException(
                503, f"không đọc được sơ đồ đánh giá / planning answered {answer.status_code}"
            )
        return dict(answer.json())


def relations(request: Request) -> RelationSource:
    """The app's relation source (``app.state.relations``)."""
    source: RelationSource = request.app.state.relations
    return source


Relations = Annotated[RelationSource, Depends(relations)]


@contextmanager
def reading(request: Request) -> Iterator[Connection]:
    """A read-only connection to the reporting database (migrated once per app)."""
    engine: Engine | None = request.app.state.engine
    if engine is None:
        engine = request.app.state.engine = reporting_engine()
    with engine.connect() as conn:
        yield conn


# --- access --------------------------------------------------------------------------------


def _check(
    ctx: Context,
    source: RelationSource,
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> None:
    """403 unless the caller may read ``person``'s figures (when given), else ``unit``'s,
    else the whole tenant's. The relation is read only when a tenant-wide role is not enough."""
    action = "reporting.person" if person else "reporting.unit" if unit else "reporting.tenant"
    if action == "reporting.tenant":
        ctx.authorize(action)
        return
    if ctx.allowed(action, {"person": person, "unit": unit}):
        return
    relation = source.relation_of(ctx.tenant, period)
    if person:
        ctx.authorize(action, access.person_resource(relation, person))
    else:
        ctx.authorize(action, access.unit_resource(relation, unit or ""))


def _central(principal: Principal, tenants: Sequence[str]) -> list[str]:
    """403 unless ``woms.reporting.authz`` lets ``principal`` query ``tenants`` as a central
    body; 422 naming ``tenants`` when a code is malformed (before the policy, which expects
    codes) or, after it, when one is not onboarded. Returns the tenants, deduplicated."""
    malformed = [t for t in tenants if not tenancy.CODE_PATTERN.fullmatch(t)]
    if malformed:  # a shape check only: nothing is said of which tenants exist
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "tenants"],
                    "msg": "mã đơn vị thuê bao không hợp lệ / malformed tenant code "
                    f"(pattern {tenancy.CODE_PATTERN.pattern}): {len(malformed)} value(s)",
                }
            ],
        )
    resource = access.central_resource(tenants)
    asked: list[str] = resource["tenants"]
    Authorizer("reporting", principal.tenant, principal, policies).authorize(
        "reporting.central", resource
    )
    with transaction(tenancy.registry_engine()) as session:
        unknown = [t for t in asked if tenancy.get_tenant(session, t) is None]
    if unknown:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "tenants"],
                    "msg": f"đơn vị thuê bao không tồn tại / unknown tenants: {', '.join(unknown)}",
                }
            ],
        )
    return asked


# --- output --------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """JSON-ready data: exact decimals and fractions as strings (``"83.9"``, ``"1/3"``),
    dataclasses as objects, tuples and sets as lists."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, Fraction):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    return value


def _unprocessable(field: str, where: str, exc: ValueError) -> HTTPException:
    return HTTPException(422, [{"loc": [where, field], "msg": str(exc)}])


def previous_period(period: str) -> str:
    """The month before ``YYYY-MM``."""
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


# --- one tenant ----------------------------------------------------------------------------


@tenant_router.get("/tasks")
def tasks(
    ctx: Ctx,
    request: Request,
    source: Relations,
    period: PeriodQ,
    unit: CodeQ = None,
    person: CodeQ = None,
    by: Literal["tenant", "unit", "person"] | None = None,
    today: TodayQ = None,
) -> dict[str, Any]:
    """Nhiệm vụ / task figures of the tenant, a unit or a person for a month: total, done, on
    time, late, overdue on ``today`` (the rule of the early warnings), returned (tasks), points
    assigned vs completed, percentages (%), per task group and optionally per unit / person."""
    _check(ctx, source, period, unit=unit, person=person)
    with reading(request) as conn:
        return plain(
            service.task_summary(
                conn, [ctx.tenant], period, unit=unit, person=person, by=by, today=day_of(today)
            )
        )


@tenant_router.get("/grades")
def grades(
    ctx: Ctx, request: Request, source: Relations, period: PeriodQ, unit: CodeQ = None
) -> dict[str, Any]:
    """Xếp loại / final grades A–D per unit and overall, pending people and the share of A
    (the quota use, ``001 §II.2.5``)."""
    _check(ctx, source, period, unit=unit)
    with reading(request) as conn:
        return plain(service.grade_distribution(conn, [ctx.tenant], period, unit=unit))


@tenant_router.get("/cycle")
def cycle(
    ctx: Ctx, request: Request, source: Relations, period: PeriodQ, unit: CodeQ = None
) -> dict[str, Any]:
    """Tiến độ kỳ đánh giá / who is at which step of the month (``001 §IV.1``), who is late."""
    _check(ctx, source, period, unit=unit)
    with reading(request) as conn:
        return plain(service.cycle_progress(conn, [ctx.tenant], period, unit=unit))


@tenant_router.get("/people/{person}/card")
def card(
    ctx: Ctx,
    request: Request,
    source: Relations,
    person: Code,
    period: PeriodQ,
    today: TodayQ = None,
) -> dict[str, Any]:
    """Báo cáo nhiệm vụ được giao (``002``): the person's tasks of the month by group with
    points (assigned, completed), the totals, and their evaluation (step, suggested score,
    score, grade, final grade, flags). The a/b/c ratios are not in the read models yet."""
    _check(ctx, source, period, person=person)
    with reading(request) as conn:
        return plain(service.person_month(conn, ctx.tenant, person, period, today=day_of(today)))


@tenant_router.get("/people/{person}/profile")
def competency(
    ctx: Ctx,
    request: Request,
    source: Relations,
    person: Code,
    first: Annotated[str, Query(alias="from", pattern=schemas.PERIOD_PATTERN)],
    last: Annotated[str, Query(alias="to", pattern=schemas.PERIOD_PATTERN)],
) -> dict[str, Any]:
    """Hồ sơ năng lực số (``000 §IV.6``, ``000 §III.5``, ``000 §IX.1``): the person's published
    months from ``from`` to ``to`` (scores, grades, late tasks as delays) with the flags of
    :func:`services.reporting.profile.competency_profile` (tenant defaults). Months not yet
    published are listed as ``pending``. Exceeded work and innovations are not in the read
    models yet (counted as unknown / 0)."""
    if first > last:
        raise HTTPException(422, [{"loc": ["query", "to"], "msg": "to < from"}])
    _check(ctx, source, last, person=person)
    with reading(request) as conn:
        history = queries.person_history(conn, ctx.tenant, person, first, last)
    records, pending = [], []
    for row in history:
        if row["status"] == "not_evaluated":
            records.append(profile.MonthRecord(row["period"], None, NOT_EVALUATED))
        elif row["status"] != "published":
            pending.append(row["period"])
        else:
            grade = row["final_grade"] or row["grade"]
            score = row["score"] if grade else None
            records.append(
                profile.MonthRecord(row["period"], score, grade or NO_TASKS, delays=row["late"])
            )
    built = profile.competency_profile(records)
    return plain(
        {
            "person": person,
            "from": first,
            "to": last,
            "covers": {
                "tenants": [ctx.tenant],
                "units": sorted({r["unit"] for r in history}),
            },
            "pending": pending,
            "profile": built,
        }
    )


def _unit_figures(
    conn: Connection, tenant: str, unit: str, period: str, today: date
) -> analysis.UnitFigures:
    tasks = service.task_summary(conn, [tenant], period, unit=unit, today=today)
    grades = service.grade_distribution(conn, [tenant], period, unit=unit)["totals"]
    progress = service.cycle_progress(conn, [tenant], period, unit=unit)
    counts = {g: grades[g] for g in service.GRADES if grades[g]}
    if progress["by_step"].get("not_evaluated"):
        counts["not_evaluated"] = progress["by_step"]["not_evaluated"]
    return analysis.UnitFigures(
        unit=unit,
        period=period,
        groups=tuple(
            analysis.GroupFigures(
                name=g["task_group"] or UNGROUPED,
                assigned_points=g["points_assigned"].normalize(),
                completed_points=g["points_completed"].normalize(),
                on_time=g["on_time"],
                late=g["late"],
                overdue=g["overdue"],
                returned=g["returned"],
            )
            for g in tasks["by_group"]
        ),
        late_people=tuple(p["person"] for p in progress["late"]),
        grades=counts,
    )


@tenant_router.get("/units/{unit}/analysis")
def unit_analysis(
    ctx: Ctx,
    request: Request,
    source: Relations,
    unit: Code,
    period: PeriodQ,
    today: TodayQ = None,
) -> dict[str, Any]:
    """Phân tích tổng quan (``002``): the unit's month in Vietnamese sentences generated by
    the rules of :mod:`services.reporting.analysis` from this month's and last month's
    figures; each sentence lists the figures it states."""
    _check(ctx, source, period, unit=unit)
    last_period = previous_period(period)
    with reading(request) as conn:
        this = _unit_figures(conn, ctx.tenant, unit, period, day_of(today))
        last = _unit_figures(conn, ctx.tenant, unit, last_period, day_of(today))
    has_last = bool(last.groups or last.grades or last.late_people)
    sentences = analysis.monthly_analysis(this, last if has_last else None)
    return plain(
        {
            "period": period,
            "unit": unit,
            "compared_with": last_period if has_last else None,
            "covers": {"tenants": [ctx.tenant], "units": [{"tenant": ctx.tenant, "unit": unit}]},
            "text": " ".join(s.text for s in sentences),
            "sentences": sentences,
        }
    )


@tenant_router.post("/units/{unit}/allocation", response_model=schemas.AllocationOut)
def allocation(
    ctx: Ctx, request: Request, source: Relations, unit: Code, body: schemas.AllocationIn
) -> dict[str, Any]:
    """Thu nhập tăng thêm (``001 §V.1``, ``000 §IV.6``): the unit's pool (VND) split in
    proportion to the published scores, grades excluded by the tenant rule getting nothing;
    the amounts add up to the pool exactly (largest remainder). 409 while a person of the unit
    is not published yet; 422 naming the field when the pool cannot be split."""
    period = body.period
    if not ctx.allowed("reporting.allocate", {"unit": unit}):
        ctx.authorize(
            "reporting.allocate", access.unit_resource(source.relation_of(ctx.tenant, period), unit)
        )
    with reading(request) as conn:
        rows = service.evaluation_rows(conn, [ctx.tenant], period, unit=unit)
    pending = sorted(r["person"] for r in rows if r["status"] not in ("published", "not_evaluated"))
    if not rows or pending:
        raise HTTPException(
            409,
            {
                "msg": "kết quả của đơn vị chưa công bố đủ / the unit's results are not all "
                "published",
                "pending": pending,
            },
        )
    results = []
    for r in rows:
        grade = NOT_EVALUATED if r["status"] == "not_evaluated" else r["final_grade"] or r["grade"]
        score = r["score"] if grade not in (None, NOT_EVALUATED) else None
        results.append(PublishedResult(r["person"], score, grade or NO_TASKS))
    excluded = DEFAULT_EXCLUDED if body.excluded_grades is None else frozenset(body.excluded_grades)
    try:
        shares = allocate_income(body.pool, results, excluded_grades=excluded)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise _unprocessable(
            field if field in ("pool", "score") else "excluded_grades", "body", exc
        ) from exc
    by_person = {r.person: r for r in results}
    return {
        "tenant": ctx.tenant,
        "unit": unit,
        "period": period,
        "pool": body.pool,
        "excluded_grades": sorted(excluded),
        "shares": [
            {
                "person": s.person,
                "score": plain(by_person[s.person].score),
                "grade": by_person[s.person].grade,
                "amount": s.amount,
                "quota": str(s.quota),
                "eligible": s.eligible,
            }
            for s in shares
        ],
    }


@tenant_router.get("/goal-tree", response_model=schemas.GoalTreeOut)
def goal_tree(
    ctx: Ctx,
    request: Request,
    source: Relations,
    period: PeriodQ,
    unit: CodeQ = None,
    person: CodeQ = None,
    today: TodayQ = None,
) -> dict[str, Any]:
    """Cây mục tiêu / the goal tree of the month: the plans (owned by ``unit`` or ``person`` when
    given) whose period overlaps it, their objectives and key results with the objectives of any
    plan serving them (``004 Phụ lục 4 §3.3``), progress, traffic light against the time elapsed
    (``004 Phụ lục 4 §4.4``), the evaluation figure without breakthrough items (``004 Part A
    §II``) and the four perspectives for a spider chart. Ratios are exact fractions ``p/q`` (1 =
    100 %) with ``…_percent`` beside them.
    """
    _check(ctx, source, period, unit=unit, person=person)
    day = day_of(today)
    with reading(request) as conn:
        return plain(goals.goal_tree(conn, ctx.tenant, period, day, unit=unit, person=person))


@tenant_router.get("/warnings", response_model=schemas.WarningsOut)
def early_warnings(
    ctx: Ctx,
    request: Request,
    source: Relations,
    period: PeriodQ,
    unit: CodeQ = None,
    person: CodeQ = None,
    today: TodayQ = None,
) -> dict[str, Any]:
    """Cảnh báo sớm (``000 §IV.5``): key results of the month's plans and the month's open
    tasks at risk — overdue, due soon with low progress, no update, projected to miss the
    target by the linear trend of the progress log — with the tenant's thresholds and working
    days; each warning carries its figures and a Vietnamese message."""
    _check(ctx, source, period, unit=unit, person=person)
    with reading(request) as conn:
        answer = goals.early_warnings(
            conn,
            ctx.tenant,
            period,
            day_of(today),
            goals.WorkingDays.from_config(ctx.config),
            unit=unit,
            person=person,
            warning_rules=goals.warning_rules(ctx.config),
        )
    return plain(answer)


# --- central bodies ------------------------------------------------------------------------

Caller = Annotated[Principal, Depends(caller_of)]
"""The caller with the roles planning grants it in its own tenant (never a token's claim)."""


@central_router.get("/tasks")
def central_tasks(
    request: Request,
    caller: Caller,
    period: PeriodQ,
    tenants: TenantsQ,
    by: Literal["tenant", "unit"] = "unit",
    today: TodayQ = None,
) -> dict[str, Any]:
    """Task figures across tenants, per tenant or per unit (no person's figures)."""
    asked = _central(caller, tenants)
    with reading(request) as conn:
        return plain(service.task_summary(conn, asked, period, by=by, today=day_of(today)))


@central_router.get("/grades")
def central_grades(
    request: Request, caller: Caller, period: PeriodQ, tenants: TenantsQ
) -> dict[str, Any]:
    """Grade distributions and quota use per unit across tenants."""
    asked = _central(caller, tenants)
    with reading(request) as conn:
        return plain(service.grade_distribution(conn, asked, period))


@central_router.get("/cycle")
def central_cycle(
    request: Request, caller: Caller, period: PeriodQ, tenants: TenantsQ
) -> dict[str, Any]:
    """Late cycles: people per step, published share and people late per unit (counts only)."""
    asked = _central(caller, tenants)
    with reading(request) as conn:
        return plain(queries.cycle_by_unit(conn, asked, period))


@central_router.get("/rankings")
def central_rankings(
    request: Request,
    caller: Caller,
    period: PeriodQ,
    tenants: TenantsQ,
    axis: AxisQ = "done_percent",
    today: TodayQ = None,
) -> dict[str, Any]:
    """Xếp hạng đơn vị / units of the tenants ranked by ``axis`` with their task, grade and
    cycle figures (:func:`services.reporting.queries.unit_ranking`). Units carry no type in
    the read models yet, so there is no unit-type filter."""
    asked = _central(caller, tenants)
    with reading(request) as conn:
        ranking = queries.unit_ranking(conn, asked, period, axis, today=day_of(today))
    return plain(named_ranking(request, ranking))


def tenant_names(tenants: Sequence[str]) -> dict[str, str]:
    """Code → name of the onboarded ``tenants`` (the platform registry)."""
    with transaction(tenancy.registry_engine()) as session:
        found = {t: tenancy.get_tenant(session, t) for t in tenants}
    return {t: row.name for t, row in found.items() if row is not None}


def named_ranking(request: Request, ranking: dict[str, Any]) -> dict[str, Any]:
    """``ranking`` (:func:`queries.unit_ranking`) with each unit's ``tenant_name`` (registry)
    and ``unit_name`` (planning's org chart of its tenant, else the code when planning does
    not know it or does not answer)."""
    from services.reporting.export_api import names  # imports this module

    source = names(request)
    by_tenant: dict[str, set[str]] = {}
    for item in ranking["units"]:
        by_tenant.setdefault(item["tenant"], set()).add(item["unit"])
    unit_names: dict[tuple[str, str], str] = {}
    for tenant, units in by_tenant.items():
        try:
            found = source.unit_names(tenant, units)
        except Exception:  # planning down or without the tenant: the codes stand in
            found = {}
        unit_names.update({(tenant, u): n for u, n in found.items()})
    tenants = tenant_names(sorted(by_tenant))
    for item in ranking["units"]:
        item["tenant_name"] = tenants.get(item["tenant"], item["tenant"])
        item["unit_name"] = unit_names.get((item["tenant"], item["unit"]), item["unit"])
    return ranking


@central_router.get("/tenants")
def central_tenants(caller: Caller) -> dict[str, Any]:
    """Các đơn vị thuê bao được cấp / the onboarded tenants the caller may query as a central
    body, each decided by ``woms.reporting.authz`` (``reporting.central``: granted by a tenant,
    that tenant; granted by the platform, every tenant), with their names. Empty when the
    caller is no central body."""
    authorizer = Authorizer("reporting", caller.tenant, caller, policies)
    with transaction(tenancy.registry_engine()) as session:
        onboarded = [(t.code, t.name) for t in tenancy.list_tenants(session)]
    granted = [
        {"tenant": code, "name": name}
        for code, name in sorted(onboarded)
        if authorizer.allowed("reporting.central", access.central_resource([code]))
    ]
    return {"subject": caller.subject, "tenants": granted}


def create_app(
    relation_source: RelationSource | None = None, role_grants: GrantSource | None = None
) -> FastAPI:
    """The reporting service's FastAPI application.

    Args:
        relation_source: where the evaluator relation comes from (default: the planning API
            at ``PLANNING_URL``, :class:`HttpRelations`).
        role_grants: where callers' roles come from (default: planning over HTTP, the same
            planning as ``relation_source`` when it is :class:`HttpRelations`;
            :mod:`services.common.roles`).
    """
    app = FastAPI(title="WOMS — Báo cáo (reporting)", version="0.1.0")
    instrument_app(app, "reporting")  # OpenTelemetry: docs/telemetry.md
    install_limits(app, "reporting")  # body cap, per-token rate limit: docs/security.md
    app.state.relations = relation_source or HttpRelations()
    planning = getattr(app.state.relations, "_client", None)  # HttpRelations' planning client
    app.state.role_grants = role_grants or HttpGrants(SERVICE, planning)
    app.state.engine = None
    app.include_router(tenant_router)
    app.include_router(central_router)
    from services.reporting.export_api import central_files  # imports this module
    from services.reporting.export_api import router as exports

    app.include_router(exports)
    app.include_router(central_files)

    from services.common.health import readiness_router  # GET /ready (infra/k8s probes)

    app.include_router(readiness_router("reporting"))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
