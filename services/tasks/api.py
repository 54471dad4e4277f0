"""Tasks HTTP API (FastAPI): thin routers over :mod:`services.tasks.service`.

Every endpoint is under ``/tenants/{tenant}``, needs a bearer token of that tenant (another
tenant's gets 404) and is checked by the Rego package ``woms.tasks.authz``. People, units and
the evaluator relation come from the planning API (:mod:`services.tasks.planning_client`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from services.common.limits import install_limits
from services.common.roles import HttpGrants
from services.common.settings import get_settings
from services.common.telemetry import instrument_app
from services.common.web import Context, Limit, Offset, RowId, context_for
from services.tasks import access, lifecycle, schemas, service
from services.tasks import ledger as ledger_rules
from services.tasks import repository as repo
from services.tasks.evidence import (
    EvidenceRejected,
    EvidenceStore,
    LocalEvidenceStore,
    download_headers,
)
from services.tasks.models import Evidence, Task
from services.tasks.planning_client import HttpPlanningDirectory, PlanningDirectory

Ctx = Annotated[Context, Depends(context_for(service.SERVICE))]
MAX_EVIDENCE_REQUEST = 50 * 1024 * 1024
PERIOD = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"

router = APIRouter(prefix="/tenants/{tenant}")


def today() -> date:
    """The service's clock (a dependency, so tests can set the day)."""
    return date.today()


_directory: list[PlanningDirectory] = []


def directory() -> PlanningDirectory:
    """The planning directory (HTTP client to ``PLANNING_URL``), one per process."""
    if not _directory:
        _directory.append(HttpPlanningDirectory())
    return _directory[0]


def evidence_store(tenant: str) -> EvidenceStore:
    """Evidence files of ``tenant`` on the local disk under ``$WOMS_HOME/evidence/``."""
    return LocalEvidenceStore(get_settings().woms_home / "evidence" / tenant)


Today = Annotated[date, Depends(today)]
Directory = Annotated[PlanningDirectory, Depends(directory)]
PersonCode = Annotated[str, Path(min_length=1, max_length=64)]
"""A person or unit code in a path (planning codes are at most 64 characters)."""
ACTIONS = ("assign", "propose", "accept", "start", "submit", "approve", "return", "cancel")
"""The actions of ``POST /tasks/{code}/{action}`` (``services.tasks.lifecycle.Action``)."""


def rules_of(ctx: Context) -> service.TenantRules:
    return service.TenantRules.from_config(ctx.config, get_settings().evidence_max_mb)


def _out(task: Task) -> dict[str, Any]:
    out = schemas.TaskOut.model_validate(task).model_dump()
    out["missing_fields"] = lifecycle.missing_fields(service._fields(task))
    return out


@contextmanager
def _task_session(
    ctx: Context, code: str, action: str, planning: PlanningDirectory, day: date
) -> Iterator[tuple[Session, Task]]:
    """The request's unit of work with task ``code``, once the policy allows ``action`` on it
    (404 when the task does not exist, 403 when denied)."""
    with ctx.session() as s:
        task = service.get_task(s, code)
        ctx.authorize(action, access.task_resource(planning.org(ctx.tenant, day), task))
        yield s, task


@router.post("/tasks", response_model=schemas.TaskOut, status_code=201)
def create_task(
    ctx: Ctx, body: schemas.TaskCreate, planning: Directory, day: Today
) -> dict[str, Any]:
    """Giao việc hoặc đề xuất / create a draft task (``DOMAIN.md §4``): an authority over the
    intended lead drafts it to assign it; anyone drafts one for themselves or for their own
    unit, to propose it. Only an authority names collaborators. 403 ``{"action", "reasons"}``
    otherwise; 422 naming the field for a lead outside the org chart, a date outside the plan
    years, a quantity or points out of bounds, a catalog item of another unit."""
    values = body.model_dump(exclude_unset=True, exclude={"parent"})
    org = planning.org(ctx.tenant, day)
    resource = access.proposal_resource(
        org,
        proposed_by=ctx.subject,
        lead_person=values.get("lead_person"),
        lead_unit=values.get("lead_unit"),
        collaborating_people=values.get("collaborating_people") or [],
        collaborating_units=values.get("collaborating_units") or [],
        changes=[f for f in ("collaborating_people", "collaborating_units") if values.get(f)],
    )
    ctx.authorize("task.create", resource)
    with ctx.session() as s:
        task = service.create_task(
            s, ctx.tenant, planning, rules_of(ctx), ctx.subject, values, body.parent, org
        )
        return _out(task)


@router.get("/tasks")
def list_tasks(
    ctx: Ctx,
    planning: Directory,
    day: Today,
    offset: Offset = 0,
    limit: Limit = 50,
    person: str | None = None,
    unit: str | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Tasks the caller may see, filtered by lead person, lead unit, period and status."""
    org = planning.org(ctx.tenant, day)
    with ctx.session() as s:
        visible = [
            t
            for t in repo.tasks(s, person=person, unit=unit, period=period, status=status)
            if ctx.allowed("task.read", access.task_resource(org, t))
        ]
        page = visible[offset : offset + limit]
        return {
            "items": [_out(t) for t in page],
            "total": len(visible),
            "offset": offset,
            "limit": limit,
        }


@router.get("/tasks/{code}", response_model=schemas.TaskOut)
def get_task(ctx: Ctx, code: str, planning: Directory, day: Today) -> dict[str, Any]:
    with _task_session(ctx, code, "task.read", planning, day) as (_s, task):
        return _out(task)


@router.patch("/tasks/{code}", response_model=schemas.TaskOut)
def edit_task(
    ctx: Ctx, code: str, body: schemas.TaskFields, planning: Directory, day: Today
) -> dict[str, Any]:
    """Sửa nhiệm vụ / edit a task's fields: an authority over its lead (before and after the
    edit, so a lead cannot be moved outside one's authority), or its proposer while it is a
    draft or proposal; collaborators only by an authority (``DOMAIN.md §4``)."""
    values = body.model_dump(exclude_unset=True)
    org = planning.org(ctx.tenant, day)
    with ctx.session() as s:
        task = service.get_task(s, code)
        changes = service.changed_fields(task, values)
        ctx.authorize("task.edit", access.task_resource(org, task, changes))
        merged = {
            name: values.get(name, getattr(task, name))
            for name in ("lead_person", "lead_unit", "collaborating_people", "collaborating_units")
        }
        after = access.proposal_resource(
            org,
            proposed_by=task.proposed_by or task.assigner,
            lead_person=merged["lead_person"],
            lead_unit=merged["lead_unit"],
            collaborating_people=merged["collaborating_people"] or [],
            collaborating_units=merged["collaborating_units"] or [],
            status=task.status,
            assigner=task.assigner,
            code=task.code,
            changes=changes,
        )
        ctx.authorize("task.edit", after)
        return _out(service.update_task(s, ctx.tenant, planning, rules_of(ctx), code, values, org))


@router.post("/tasks/{code}/progress", status_code=201)
def progress(
    ctx: Ctx, code: str, body: schemas.ProgressIn, planning: Directory, day: Today
) -> dict[str, Any]:
    """Cập nhật tiến độ / progress with percentage and difficulties."""
    with _task_session(ctx, code, "task.progress", planning, day) as (s, _task):
        item = service.add_progress(
            s, code, ctx.subject, body.percent, body.difficulties, body.note
        )
        return {"percent": item.percent, "difficulties": item.difficulties, "at": item.at}


@router.post("/tasks/{code}/pushbacks", status_code=201)
def pushback(
    ctx: Ctx, code: str, body: schemas.PushbackIn, planning: Directory, day: Today
) -> dict[str, Any]:
    """Phản hồi / the assignee questions scope, authority or resources of a task."""
    with _task_session(ctx, code, "pushback.create", planning, day) as (s, _task):
        item = service.push_back(s, code, ctx.subject, body.topic, body.text)
        return {"id": item.id, "topic": item.topic, "text": item.text}


@router.post("/tasks/{code}/pushbacks/{pushback_id}/answer")
def answer(
    ctx: Ctx, code: str, pushback_id: RowId, body: schemas.AnswerIn, planning: Directory, day: Today
) -> dict[str, Any]:
    with _task_session(ctx, code, "pushback.answer", planning, day) as (s, _task):
        item = service.answer_push_back(s, code, pushback_id, ctx.subject, body.answer)
        return {"id": item.id, "answer": item.answer, "answered_by": item.answered_by}


@router.post("/tasks/{code}/objective-causes", status_code=201)
def objective_cause(
    ctx: Ctx, code: str, body: schemas.CauseIn, planning: Directory, day: Today
) -> dict[str, Any]:
    """Xác nhận nguyên nhân khách quan (001 §III.2): no deduction for this task."""
    with _task_session(ctx, code, "cause.confirm", planning, day) as (s, _task):
        item = service.confirm_cause(s, ctx.tenant, code, ctx.subject, body.kind, body.why, day)
        return {"id": item.id, "kind": item.kind, "by": item.by, "on": item.on}


@router.post("/tasks/{code}/exceeded", status_code=201)
def exceeded(
    ctx: Ctx, code: str, body: schemas.ExceededIn, planning: Directory, day: Today
) -> dict[str, Any]:
    """Vượt mức (000 §II.2): ahead of time, higher quality or an innovation."""
    with _task_session(ctx, code, "exceeded.mark", planning, day) as (s, _task):
        item = service.mark_exceeded(s, code, ctx.subject, body.kind, body.note, day)
        return {"id": item.id, "kind": item.kind, "by": item.by}


@router.put("/tasks/{code}/ratings/{ratee}")
def rate(
    ctx: Ctx, code: str, ratee: str, body: schemas.RatingIn, planning: Directory, day: Today
) -> dict[str, Any]:
    """Đánh giá phối hợp (000 §IV.4): the lead ↔ collaborators, 1–5 with a comment."""
    with _task_session(ctx, code, "rating.write", planning, day) as (s, _task):
        item = service.rate(s, code, ctx.subject, ratee, body.score, body.comment)
        return {"ratee": item.ratee, "score": item.score, "comment": item.comment}


@router.get("/ratings/{person}/{period}")
def ratings(
    ctx: Ctx,
    person: PersonCode,
    period: Annotated[str, Query(pattern=PERIOD)] | str,
    planning: Directory,
    day: Today,
) -> dict[str, Any]:
    """A person's coordination ratings of a month: the average, and who gave each rating only
    for the authority over the person."""
    org = planning.org(ctx.tenant, day)
    resource = access.person_resource(org, person)
    ctx.authorize("rating.read", resource)
    with ctx.session() as s:
        return service.rating_summary(
            s, person, period, with_raters=ctx.allowed("rating.raters", resource)
        )


@router.post("/evidence", response_model=schemas.EvidenceOut, status_code=201)
async def upload_evidence(
    ctx: Ctx, request: Request, filename: Annotated[str, Query(min_length=1, max_length=300)]
) -> Any:
    """Tải minh chứng / upload one evidence file (request body); attach it when submitting.
    Type is checked by content; executables and files over the tenant limit are refused."""
    ctx.authorize("evidence.upload")
    data = await request.body()
    if len(data) > MAX_EVIDENCE_REQUEST:
        raise HTTPException(413, "tệp quá lớn / file too large")
    return await run_in_threadpool(_store_evidence, ctx, data, filename)


def _store_evidence(ctx: Context, data: bytes, filename: str) -> Any:
    """The upload's unit of work, off the event loop (the content check is CPU-bound: seconds
    for a 20 MB adversarial file)."""
    with ctx.session() as s:
        try:
            item = service.store_evidence(
                s, evidence_store(ctx.tenant), rules_of(ctx), ctx.subject, data, filename
            )
        except EvidenceRejected as exc:
            raise HTTPException(422, [{"loc": ["body", "file"], "msg": str(exc)}]) from exc
        return schemas.EvidenceOut.model_validate(item)


@router.get("/evidence/{evidence_id}", response_class=Response)
def download_evidence(ctx: Ctx, evidence_id: RowId, planning: Directory, day: Today) -> Response:
    with ctx.session() as s:
        item = s.get(Evidence, evidence_id)
        if item is None:
            raise HTTPException(404, "không tìm thấy / not found")
        if item.submission_id is None:
            if item.uploaded_by != ctx.subject:
                raise HTTPException(404, "không tìm thấy / not found")
        else:
            task = repo.task_of_submission(s, item.submission_id)
            assert task is not None
            ctx.authorize("task.read", access.task_resource(planning.org(ctx.tenant, day), task))
        data = evidence_store(ctx.tenant).get(item.key)
        return Response(
            data,
            media_type=item.content_type,
            headers=download_headers(item.filename, default=f"minh-chung-{evidence_id}"),
        )


def _ledger_lines(
    ctx: Context, period: str, person: str | None, unit: str | None
) -> list[dict[str, Any]]:
    with ctx.session() as s:
        return [
            {"task_id": t.code, "name": t.name or "", **_line(line)}
            for t, line in service.ledger(s, rules_of(ctx), period, person=person, unit=unit)
        ]


def _line(line: Any) -> dict[str, Any]:
    return {**line.record_fields(), "evidence": line.evidence}


@router.get("/ledger/{person}/{period}", response_model=schemas.LedgerOut)
def person_ledger(
    ctx: Ctx, person: PersonCode, period: str, planning: Directory, day: Today
) -> dict[str, Any]:
    """Sổ theo dõi tháng / per task of the period (by due date), exactly the inputs of the
    scoring engine, with the records behind each number; only assigned or accepted tasks (no
    draft, no proposal awaiting acceptance, ``DOMAIN.md §4``)."""
    _check_period(period)
    ctx.authorize("ledger.read", access.person_resource(planning.org(ctx.tenant, day), person))
    return {
        "person": person,
        "unit": None,
        "period": period,
        "tasks": _ledger_lines(ctx, period, person, None),
    }


@router.get("/ledger-unit/{unit}/{period}", response_model=schemas.LedgerOut)
def unit_ledger(
    ctx: Ctx, unit: PersonCode, period: str, planning: Directory, day: Today
) -> dict[str, Any]:
    """The ledger of every task led in ``unit`` (for its head, superiors, administrators)."""
    _check_period(period)
    ctx.authorize("ledger.read", access.unit_resource(planning.org(ctx.tenant, day), unit))
    return {
        "person": None,
        "unit": unit,
        "period": period,
        "tasks": _ledger_lines(ctx, period, None, unit),
    }


@router.get("/ledger-unit/{unit}/{period}/tasks.csv", response_class=Response)
def unit_ledger_csv(
    ctx: Ctx, unit: PersonCode, period: str, planning: Directory, day: Today
) -> Response:
    """The month as the ``TASKS.csv`` of ``woms evaluate-month`` (assigned or accepted tasks
    only, like the ledger)."""
    _check_period(period)
    ctx.authorize("ledger.read", access.unit_resource(planning.org(ctx.tenant, day), unit))
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(ledger_rules.TASK_CSV_COLUMNS), lineterminator="\n"
    )
    writer.writeheader()
    with ctx.session() as s:
        by_person: dict[str, list[Any]] = {}
        for task, line in service.ledger(s, rules_of(ctx), period, unit=unit):
            by_person.setdefault(task.lead_person or "", []).append(line)
    for person, lines in by_person.items():
        writer.writerows(ledger_rules.ledger_csv_rows(person, lines))
    return Response(buffer.getvalue(), media_type="text/csv")


def _check_period(period: str) -> None:
    if not re.fullmatch(PERIOD, period):
        raise HTTPException(422, [{"loc": ["path", "period"], "msg": "YYYY-MM"}])


@router.get("/warnings")
def warnings(
    ctx: Ctx,
    planning: Directory,
    day: Today,
    person: Annotated[str | None, Query(max_length=64)] = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Nhắc việc / tasks due soon, overdue, and without update, for a person or a unit."""
    org = planning.org(ctx.tenant, day)
    resource = (
        access.person_resource(org, person) if person else access.unit_resource(org, unit or "")
    )
    ctx.authorize("warnings.read", resource)
    with ctx.session() as s:
        return service.warnings(s, rules_of(ctx), day, person=person, unit=unit)


@router.post("/overdue-sweep", response_model=list[str])
def overdue_sweep(ctx: Ctx, day: Today) -> list[str]:
    """Flag tasks that became overdue (one ``task.overdue`` event each); for the daily job
    of the cycle (service role) or an administrator."""
    ctx.authorize("overdue.sweep")
    with ctx.session() as s:
        return service.flag_overdue(s, ctx.tenant, day)


@router.post("/periods/{period}/close")
def close_period(ctx: Ctx, period: str) -> dict[str, Any]:
    """Khóa kỳ / close a period: coordination ratings can no longer be changed."""
    _check_period(period)
    ctx.authorize("overdue.sweep")  # the same callers: the cycle (service) or an administrator
    with ctx.session() as s:
        return {"period": period, "closed_now": service.close_period(s, period)}


@router.get("/calendar/{person}", response_model=list[schemas.CalendarOut])
def calendar(
    ctx: Ctx, person: PersonCode, week: date, planning: Directory, day: Today
) -> list[Any]:
    """Lịch công tác tuần / a person's weekly work calendar (``week`` = any day of it)."""
    ctx.authorize("calendar.read", access.person_resource(planning.org(ctx.tenant, day), person))
    monday = week - timedelta(days=week.weekday())
    with ctx.session() as s:
        return [
            schemas.CalendarOut.model_validate(e)
            for e in service.calendar_entries(s, person, monday)
        ]


@router.post("/calendar/{person}", response_model=schemas.CalendarOut, status_code=201)
def add_calendar(
    ctx: Ctx, person: PersonCode, body: schemas.CalendarIn, planning: Directory, day: Today
) -> Any:
    ctx.authorize("calendar.write", access.person_resource(planning.org(ctx.tenant, day), person))
    with ctx.session() as s:
        return schemas.CalendarOut.model_validate(
            service.add_calendar_entry(s, person, body.day, body.title, body.task, body.note)
        )


@router.get("/tasks/{code}/history")
def task_history(ctx: Ctx, code: str, planning: Directory, day: Today) -> dict[str, Any]:
    """Hồ sơ nhiệm vụ / what the task page shows beside the "6 rõ" fields (``task.read``, as
    ``GET /tasks/{code}``): the authorities who decide it (the policy's resource), each
    submission with its evidence files (``GET /evidence/{id}``) and links, the approvals and
    returns with their reasons, progress notes, push-backs and answers, objective causes,
    exceeded marks, the coordination ratings (who rated only for an authority over the person
    rated, ``rating.raters``) and the task's audit entries (who, when in UTC, what)."""
    org = planning.org(ctx.tenant, day)
    with _task_session(ctx, code, "task.read", planning, day) as (s, task):
        notes, pushbacks = repo.task_notes(s, task.id)
        ratings = []
        for r in repo.task_ratings(s, task.id):
            raters = r.ratee_kind != "person" or ctx.allowed(
                "rating.raters", access.person_resource(org, r.ratee)
            )
            ratings.append(
                {
                    "ratee": r.ratee,
                    "ratee_kind": r.ratee_kind,
                    "score": r.score,
                    "comment": r.comment,
                    "rater": r.rater if raters else None,
                }
            )
        return {
            "code": task.code,
            "authorities": access.task_resource(org, task)["authorities"],
            "submissions": [
                {
                    "id": sub.id,
                    "on": sub.on,
                    "at": sub.at,
                    "by": sub.by,
                    "note": sub.note,
                    "days_late": sub.days_late,
                    "links": sub.links or [],
                    "evidence": [
                        schemas.EvidenceOut.model_validate(e).model_dump() for e in sub.evidence
                    ],
                }
                for sub in task.submissions
            ],
            "reviews": [
                {
                    "submission_id": r.submission_id,
                    "decision": r.decision,
                    "for_quality": r.for_quality,
                    "reason": r.reason,
                    "by": r.by,
                    "on": r.on,
                    "at": r.at,
                }
                for r in task.reviews
            ],
            "progress": [
                {
                    "percent": n.percent,
                    "difficulties": n.difficulties,
                    "note": n.note,
                    "by": n.by,
                    "at": n.at,
                }
                for n in notes
            ],
            "pushbacks": [
                {
                    "id": p.id,
                    "topic": p.topic,
                    "text": p.text,
                    "by": p.by,
                    "at": p.at,
                    "answer": p.answer,
                    "answered_by": p.answered_by,
                    "answered_at": p.answered_at,
                }
                for p in pushbacks
            ],
            "causes": [{"kind": c.kind, "why": c.why, "by": c.by, "on": c.on} for c in task.causes],
            "exceeded": [
                {"kind": m.kind, "note": m.note, "by": m.by, "on": m.on}
                for m in task.exceeded_marks
            ],
            "ratings": ratings,
            "events": [
                {
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "kind": e.object_kind,
                    "status": _after_status(e.after),
                }
                for e in repo.task_audit(s, task.code)
            ],
        }


def _after_status(after: str | None) -> str | None:
    """The task's state after an audited change (the entry's ``after`` JSON), when it has one."""
    try:
        value = json.loads(after) if after else None
    except ValueError:
        return None
    return value.get("status") if isinstance(value, dict) else None


# declared last: the specific /tasks/{code}/… routes above must match first
@router.post("/tasks/{code}/{action}", response_model=schemas.TaskOut)
def move_task(
    ctx: Ctx,
    code: str,
    action: str,
    planning: Directory,
    day: Today,
    body: schemas.ActionIn | None = None,
) -> dict[str, Any]:
    """``assign`` | ``propose`` | ``accept`` | ``start`` | ``submit`` | ``approve`` | ``return``
    | ``cancel`` (``services.tasks.lifecycle``), each checked by the policy (``task.<action>``:
    assign, accept and the decisions only by an authority over the lead, ``DOMAIN.md §4``); an
    invalid transition answers 409 with the current state; a submission without evidence, or
    an approval of one, 422 where the catalog item requires evidence."""
    if action not in ACTIONS:
        raise HTTPException(404, [{"loc": ["path", "action"], "msg": "unknown action"}])
    body = body or schemas.ActionIn()
    org = planning.org(ctx.tenant, day)
    with ctx.session() as s:
        task = service.get_task(s, code)
        ctx.authorize(f"task.{action}", access.task_resource(org, task))
        moved = service.act(
            s,
            ctx.tenant,
            rules_of(ctx),
            code,
            action,
            ctx.subject,
            day,
            reason=body.reason,
            for_quality=body.for_quality,
            evidence_ids=body.evidence_ids,
            evidence_links=[str(link) for link in body.evidence_links],
            note=body.note,
            org=org,
        )
        return _out(moved)


def create_app() -> FastAPI:
    """The tasks service's FastAPI application."""
    app = FastAPI(title="WOMS — Nhiệm vụ (tasks)", version="0.1.0")
    instrument_app(app, "tasks")  # OpenTelemetry: docs/telemetry.md
    install_limits(app, "tasks", upload_suffixes=("/evidence",))  # docs/security.md
    app.state.role_grants = HttpGrants(service.SERVICE)  # callers' roles from planning
    app.include_router(router)

    @app.exception_handler(service.TaskError)
    async def task_error(_: Request, exc: service.TaskError) -> Response:
        return JSONResponse(
            status_code=exc.status,
            content={"detail": [{"loc": ["body", exc.field], "msg": exc.reason, **exc.extra}]},
        )

    from services.common.health import readiness_router  # GET /ready (infra/k8s probes)

    app.include_router(readiness_router("tasks"))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
