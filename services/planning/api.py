"""Planning HTTP API (FastAPI): thin routers over :mod:`services.planning.service`.

Every endpoint is under ``/tenants/{tenant}`` and needs a bearer token of that tenant (another
tenant's token gets 404, as if nothing were there); access is decided by the Rego package
``woms.planning.authz``. Lists are paginated (``offset``, ``limit`` ≤ 200).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from services.common.db import engine_for, transaction
from services.common.errors import InputError
from services.common.limits import install_limits
from services.common.roles import Grants
from services.common.telemetry import instrument_app
from services.common.text import Text
from services.common.web import Context, Limit, Offset, context_for, outage_as_503
from services.planning import access, excel, schemas, service
from services.planning import repository as repo
from services.planning.models import KeyResult, Person, Plan, Unit
from services.planning.tenant_file import Plan as PlanIn

Ctx = Annotated[Context, Depends(context_for(service.SERVICE))]

router = APIRouter(prefix="/tenants/{tenant}")


def today() -> date:
    """The service's clock (a dependency, so tests and the demo can set the day; as in the
    tasks service): the day a key result's period is checked against."""
    return date.today()


def _unit_out(unit: Unit, codes: dict[int, str]) -> schemas.UnitOut:
    return schemas.UnitOut(
        code=unit.code,
        name=unit.name,
        axis=unit.axis,
        type=unit.type,
        parent=codes.get(unit.parent_id) if unit.parent_id else None,
        head_evaluated_by=unit.head_evaluated_by,
    )


def _unit_codes(session: Session) -> dict[int, str]:
    return {u.id: u.code for u in repo.all_rows(session, Unit)}


def _required(row: Any, field: str, code: str) -> Any:
    if row is None:
        raise HTTPException(404, [{"loc": ["path", field], "msg": f"{code!r} không tồn tại"}])
    return row


@router.get("/units", response_model=schemas.Page[schemas.UnitOut])
def list_units(
    ctx: Ctx,
    offset: Offset = 0,
    limit: Limit = 50,
    axis: str | None = None,
    parent: str | None = None,
    q: Annotated[Text | None, Query(max_length=100)] = None,  # NFC: services/common/text.py
) -> dict[str, Any]:
    """Đơn vị / org units, filtered by axis, parent unit code, or text."""
    ctx.authorize("unit.read")
    with ctx.session() as s:
        parent_id = (
            _required(repo.by_code(s, Unit, parent), "parent", parent).id if parent else None
        )
        rows, total = repo.page(s, repo.units_query(axis, parent_id, q), offset=offset, limit=limit)
        codes = _unit_codes(s)
        return {
            "items": [_unit_out(u, codes) for u in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
        }


@router.get("/units/{code}", response_model=schemas.UnitOut)
def get_unit(ctx: Ctx, code: str) -> schemas.UnitOut:
    ctx.authorize("unit.read")
    with ctx.session() as s:
        return _unit_out(_required(repo.by_code(s, Unit, code), "code", code), _unit_codes(s))


@router.get("/people", response_model=schemas.Page[schemas.PersonOut])
def list_people(
    ctx: Ctx,
    offset: Offset = 0,
    limit: Limit = 50,
    unit: str | None = None,
    as_of: date | None = None,
    q: Annotated[Text | None, Query(max_length=100)] = None,  # NFC: services/common/text.py
) -> dict[str, Any]:
    """Cán bộ / people, filtered by unit (members as of a date) or text."""
    ctx.authorize("person.read")
    with ctx.session() as s:
        unit_id = _required(repo.by_code(s, Unit, unit), "unit", unit).id if unit else None
        rows, total = repo.page(s, repo.people_query(unit_id, q, as_of), offset=offset, limit=limit)
        return {
            "items": [schemas.PersonOut.model_validate(p) for p in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
        }


@router.get("/people/{code}", response_model=schemas.PersonDetail)
def get_person(ctx: Ctx, code: str) -> schemas.PersonDetail:
    """A person with the history of their posts."""
    ctx.authorize("person.read")
    with ctx.session() as s:
        person = _required(repo.by_code(s, Person, code), "code", code)
        return schemas.PersonDetail(
            code=person.code,
            name=person.name,
            email=person.email,
            memberships=[
                schemas.MembershipOut(
                    unit=m.unit.code, role=m.role, title=m.title, start=m.start, end=m.end
                )
                for m in repo.memberships_of(s, person.id)
            ],
        )


@router.get("/evaluators", response_model=list[schemas.EvaluatorEdgeOut])
def evaluator_relation(ctx: Ctx, as_of: date | None = None) -> list[dict[str, Any]]:
    """Who evaluates whom as of a date (001 §II.3 plus the tenant's overrides)."""
    ctx.authorize("evaluator.read")
    with ctx.session() as s:
        return service.evaluator_edges(s, as_of or date.today())


@router.get("/catalog", response_model=list[schemas.CatalogItemOut])
def catalog(ctx: Ctx, as_of: date | None = None, unit: str | None = None) -> list[Any]:
    """Danh mục sản phẩm/công việc: the version of each item in force on a date."""
    ctx.authorize("catalog.read")
    with ctx.session() as s:
        unit_id = _required(repo.by_code(s, Unit, unit), "unit", unit).id if unit else None
        codes = _unit_codes(s)
        return [
            schemas.CatalogItemOut(
                code=c.code,
                unit=codes[c.unit_id],
                name=c.name,
                complexity_group=c.complexity_group,
                standard_unit=c.standard_unit,
                coefficient=c.coefficient,
                effective_from=c.effective_from,
            )
            for c in repo.catalog_as_of(s, as_of or date.today(), unit_id)
        ]


@router.get("/plans", response_model=schemas.Page[schemas.PlanOut])
def list_plans(
    ctx: Ctx,
    offset: Offset = 0,
    limit: Limit = 50,
    owner_unit: str | None = None,
    owner_person: str | None = None,
    period_kind: str | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: str | None = None,
) -> dict[str, Any]:
    ctx.authorize("plan.read")
    with ctx.session() as s:
        unit_id = (
            _required(repo.by_code(s, Unit, owner_unit), "owner_unit", owner_unit).id
            if owner_unit
            else None
        )
        person_id = (
            _required(repo.by_code(s, Person, owner_person), "owner_person", owner_person).id
            if owner_person
            else None
        )
        stmt = repo.plans_query(unit_id, person_id, period_kind, year, status)
        rows, total = repo.page(s, stmt, offset=offset, limit=limit)
        return {
            "items": [service.plan_out(s, p) for p in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
        }


@router.post("/plans", response_model=schemas.PlanOut, status_code=201)
def create_plan(ctx: Ctx, body: PlanIn) -> dict[str, Any]:
    """Lập kế hoạch / a new plan (draft) of a unit or a person, with its objectives and key
    results; the same fields and checks as the tenant file (docs/tenant-file.md)."""
    with ctx.session() as s:
        ctx.authorize("plan.edit", _owner(s, body))
        return service.plan_out(s, service.save_plan(s, ctx.tenant, body, create=True))


@router.put("/plans/{code}", response_model=schemas.PlanOut)
def amend_plan(ctx: Ctx, code: str, body: PlanIn) -> dict[str, Any]:
    """Điều chỉnh / amend a draft or returned plan (objectives and key results by code)."""
    if body.code != code:
        raise HTTPException(422, [{"loc": ["body", "code"], "msg": "must equal the path code"}])
    with ctx.session() as s:
        plan = _required(repo.by_code(s, Plan, code), "code", code)
        ctx.authorize("plan.edit", access.plan_resource(s, plan))
        return service.plan_out(s, service.save_plan(s, ctx.tenant, body, create=False))


def _owner(s: Session, body: PlanIn) -> dict[str, Any]:
    unit = repo.by_code(s, Unit, body.owner_unit) if body.owner_unit else None
    person = repo.by_code(s, Person, body.owner_person) if body.owner_person else None
    if (body.owner_unit and unit is None) or (body.owner_person and person is None):
        raise HTTPException(422, [{"loc": ["body", "owner"], "msg": "unknown owner"}])
    return access.owner_resource(s, unit.id if unit else None, person.id if person else None)


@router.get("/plans/late", response_model=list[schemas.LatePlanOut])
def late_plans(ctx: Ctx, today: date | None = None) -> list[dict[str, Any]]:
    """Plans not submitted by their deadline (the plan calendar of 004 Part A §II)."""
    ctx.authorize("plan.read")
    with ctx.session() as s:
        return service.late_plans(s, service.calendar_of(ctx.config), today or date.today())


@router.get("/plans/{code}", response_model=schemas.PlanDetail)
def get_plan(ctx: Ctx, code: str, today: date | None = None) -> dict[str, Any]:
    """A plan's objectives and key results with progress and status colours."""
    ctx.authorize("plan.read")
    with ctx.session() as s:
        plan = _required(repo.by_code(s, Plan, code), "code", code)
        return service.plan_detail(s, plan, today or date.today())


@router.post("/plans/{code}/{action}", response_model=schemas.PlanOut)
def decide(
    ctx: Ctx, code: str, action: str, body: schemas.Decision | None = None
) -> dict[str, Any]:
    """Nộp / duyệt / trả lại: ``action`` is ``submit``, ``approve`` or ``return``."""
    if action not in service.TRANSITIONS:
        raise HTTPException(404, [{"loc": ["path", "action"], "msg": "submit|approve|return"}])
    with ctx.session() as s:
        plan = _required(repo.by_code(s, Plan, code), "code", code)
        ctx.authorize(f"plan.{action}", access.plan_resource(s, plan))
        decided = service.decide_plan(
            s, ctx.tenant, code, action, ctx.principal.subject, body.reason if body else None
        )
        return service.plan_out(s, decided)


@router.post("/key-results/{code}/progress", response_model=schemas.ProgressOut, status_code=201)
def record_progress(
    ctx: Ctx, code: str, body: schemas.ProgressIn, day: Annotated[date, Depends(today)]
) -> Any:
    """Cập nhật tiến độ / log a new value of a key result: only by those the plan names (its
    owner person, the owning unit's head) and their superiors (Rego ``progress.record``, 403);
    a value from 0 to 10× the key result's scale (422 at ``value``); never once the plan's
    period is closed — after the tenant's publication day of the following month (409 at
    ``period``); ``services.planning.service.record_progress``."""
    with ctx.session() as s:
        kr = _required(repo.by_code(s, KeyResult, code), "code", code)
        ctx.authorize("progress.record", access.plan_resource(s, kr.objective.plan, day))
        update, _ = service.record_progress(
            s,
            ctx.tenant,
            code,
            body.value,
            actor=ctx.principal.subject,
            evidence=body.evidence,
            note=body.note,
            today=day,
            publication_day=service.calendar_of(ctx.config).publication_day,
        )
        return schemas.ProgressOut.model_validate(update)


@router.get("/key-results/{code}/progress", response_model=list[schemas.ProgressOut])
def progress_log(ctx: Ctx, code: str) -> list[Any]:
    """Every logged update of a key result (old, new, evidence, note, who, when)."""
    ctx.authorize("progress.read")
    with ctx.session() as s:
        kr = _required(repo.by_code(s, KeyResult, code), "code", code)
        return [schemas.ProgressOut.model_validate(u) for u in repo.progress_log(s, kr.id)]


@router.post("/ingest/{system}", response_model=schemas.IngestOut)
def ingest(
    ctx: Ctx, system: str, body: schemas.IngestIn, day: Annotated[date, Depends(today)]
) -> schemas.IngestOut:
    """Values from an external system (token subject ``system:<system>``), idempotent by
    ``external_id``; see docs/ingestion.md."""
    ctx.authorize("progress.ingest", {"system": system})
    accepted = duplicates = 0
    with ctx.session() as s:
        for item in body.records:
            _, new = service.record_progress(
                s,
                ctx.tenant,
                item.key_result,
                item.value,
                actor=ctx.principal.subject,
                source=f"system:{system}",
                note=item.note,
                external_id=item.external_id,
                at=item.at,
                today=day,
                publication_day=service.calendar_of(ctx.config).publication_day,
            )
            accepted, duplicates = accepted + new, duplicates + (not new)
    return schemas.IngestOut(accepted=accepted, duplicates=duplicates)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024


def _xlsx_response(write: Any, filename: str) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        write(path)
        content = path.read_bytes()
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/org/template.xlsx", response_class=Response)
def org_template(ctx: Ctx) -> Response:
    """Mẫu nhập liệu / the blank workbook (units, positions, people, catalog) to fill in."""
    ctx.authorize("org.template")
    return _xlsx_response(excel.write_template, "woms-mau-nhap-lieu.xlsx")


@router.get("/org/export.xlsx", response_class=Response)
def org_export(ctx: Ctx) -> Response:
    """The tenant's org chart and catalog as a workbook in the template layout."""
    ctx.authorize("org.export")
    with ctx.session() as s:
        snapshot = service.org_snapshot(s, ctx.tenant, ctx.name)
    return _xlsx_response(
        lambda path: excel.export_workbook(snapshot, path), f"woms-{ctx.tenant}-to-chuc.xlsx"
    )


@router.post("/org/import", response_model=dict[str, int])
async def org_import(ctx: Ctx, request: Request) -> dict[str, int]:
    """Nhập từ Excel / import a workbook (request body, ≤ 10 MB): all or nothing; a bad row is
    reported with its sheet, row and column and nothing is imported."""
    ctx.authorize("org.import")
    body = await request.body()
    if len(body) > MAX_UPLOAD:
        raise HTTPException(413, "tệp quá lớn / file over 10 MB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.xlsx"
        path.write_bytes(body)
        try:
            imported = excel.import_workbook(path)
            with ctx.session() as s:
                report = service.import_org(s, ctx.tenant, ctx.name, imported)
        except InputError as error:
            detail = {
                "loc": ["body", error.field],
                "msg": error.reason,
                "row": error.line,
                "column": error.column,
            }
            raise HTTPException(422, [detail]) from error
    return dict(report.counts)


@router.get("/roles", response_model=dict[str, list[str]])
def roles(ctx: Ctx, as_of: date | None = None) -> dict[str, list[str]]:
    """Vai trò được giao / ``{subject: [role, …]}`` of the role grants holding on ``as_of``
    (default today): who is a tenant administrator (``tenant_admin``), a central body
    (``central``) or acts for an external body (``external_body``). Read by the other
    services (service tokens) and tenant administrators; ``docs/identity.md``."""
    ctx.authorize("role.read")
    with ctx.session() as s:
        return service.role_grants(s, as_of or date.today())


class DatabaseGrants:
    """Planning's own :class:`~services.common.roles.GrantSource`: the grants are read from
    the tenant's planning database on every request (no cache: a grant takes effect at once)."""

    def grants(self, tenant: str, day: date) -> Grants:
        """``{subject: roles}`` holding on ``day`` (``service.role_grants``)."""
        with outage_as_503(), transaction(engine_for(tenant, service.SERVICE)) as s:
            return {k: frozenset(v) for k, v in service.role_grants(s, day).items()}


@router.get("/evaluators/policy-data")
def evaluator_policy_data(ctx: Ctx, as_of: date | None = None) -> dict[str, Any]:
    """The evaluator relation as the data document of the Rego policies (OPA bundle)."""
    ctx.authorize("evaluator.read")
    with ctx.session() as s:
        return service.policy_data(s, as_of or date.today())


@router.get("/delegations", response_model=schemas.Page[schemas.DelegationOut])
def list_delegations(
    ctx: Ctx, offset: Offset = 0, limit: Limit = 50, unit: str | None = None
) -> dict[str, Any]:
    """Ủy quyền / the heads' delegations (of ``unit``), newest first, with who recorded and
    who ended them (``DOMAIN.md §4``)."""
    ctx.authorize("delegation.read")
    with ctx.session() as s:
        unit_id = _required(repo.by_code(s, Unit, unit), "unit", unit).id if unit else None
        rows, total = repo.page(s, repo.delegations_query(unit_id), offset=offset, limit=limit)
        return {
            "items": [service.delegation_out(d) for d in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
        }


@router.post("/delegations", response_model=schemas.DelegationOut, status_code=201)
def create_delegation(ctx: Ctx, body: schemas.DelegationIn) -> dict[str, Any]:
    """Ghi nhận ủy quyền / record a delegation by the unit's head to a named person for a
    period (only that head or a tenant administrator: Rego ``delegation.create``); 422 names
    the field (unit without head, unknown delegate, end before start …), 409 an overlap."""
    with ctx.session() as s:
        ctx.authorize("delegation.create", access.delegation_resource(s, body.unit, body.start))
        row = service.create_delegation(
            s,
            ctx.tenant,
            unit=body.unit,
            delegate=body.delegate,
            start=body.start,
            end=body.end,
            basis=body.basis,
            actor=ctx.principal.subject,
        )
        return service.delegation_out(row)


@router.post("/delegations/{delegation_id}/end", response_model=schemas.DelegationOut)
def end_delegation(
    ctx: Ctx,
    delegation_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    day: Annotated[date, Depends(today)],
    body: schemas.DelegationEndIn | None = None,
) -> dict[str, Any]:
    """Kết thúc ủy quyền / end a delegation early (the unit's head, the head who delegated,
    or a tenant administrator: Rego ``delegation.end``); ``on`` is the last day it holds
    (default yesterday); 409 when already ended or over, 422 at ``on`` for a day before
    yesterday or after its end."""
    with ctx.session() as s:
        row = _required(
            repo.delegation_by_id(s, delegation_id), "delegation_id", str(delegation_id)
        )
        ctx.authorize("delegation.end", access.end_resource(s, row, day))
        ended = service.end_delegation(
            s,
            ctx.tenant,
            delegation_id,
            on=body.on if body else None,
            reason=body.reason if body else None,
            actor=ctx.principal.subject,
            today=day,
        )
        return service.delegation_out(ended)


@router.post("/key-results/{code}/push-down", response_model=list[str])
def push_down(ctx: Ctx, code: str, body: schemas.PushDownIn) -> list[str]:
    """Giao xuống / push a key result down to child units, mandatory or suggested."""
    with ctx.session() as s:
        kr = _required(repo.by_code(s, KeyResult, code), "code", code)
        ctx.authorize("plan.submit", access.plan_resource(s, kr.objective.plan))
        return service.push_down(s, ctx.tenant, code, body.units, body.mode, ctx.principal.subject)


def create_app() -> FastAPI:
    """The planning service's FastAPI application."""
    app = FastAPI(title="WOMS — Kế hoạch (planning)", version="0.1.0")
    instrument_app(app, "planning")  # OpenTelemetry: docs/telemetry.md
    install_limits(app, "planning")  # body cap, per-token rate limit: docs/security.md
    app.state.role_grants = DatabaseGrants()  # callers' roles: services/common/roles.py
    app.include_router(router)

    @app.exception_handler(service.PlanningError)
    async def planning_error(_: Request, exc: service.PlanningError) -> Response:
        return JSONResponse(
            status_code=exc.status,
            content={"detail": [{"loc": ["body", exc.field], "msg": exc.reason}]},
        )

    from services.common.health import readiness_router  # GET /ready (infra/k8s probes)

    app.include_router(readiness_router("planning"))

    from services.common.jwks import router as jwks_router  # GET /.well-known/jwks.json

    app.include_router(jwks_router)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
