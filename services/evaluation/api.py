"""Evaluation HTTP API (FastAPI): thin routers over :mod:`services.evaluation.service`
(``001 §IV.1`` steps 2–5, ``001 §II.2.5``, DOMAIN.md §5–§7).

Every endpoint is under ``/tenants/{tenant}`` and needs a bearer token of that tenant (another
tenant's token gets 404). Every access decision is the Rego package ``woms.evaluation.authz``,
asked through the one authorizer (``ctx.authorize`` / ``ctx.allowed``,
:class:`services.common.authorizer.Authorizer`, which owns the input document) on the resources
of :mod:`services.evaluation.access` (a person's month, a unit's month, the tenant's month),
with the evaluator relation of the period read from the planning API (``sources``:
:class:`~services.evaluation.clients.HttpSources`, app state, overridable; it also reads the
tasks ledger and the units' plans) — starting and following the tenant's month included
(``cycle.start``, ``cycle.read``). Roles are the ones planning grants the caller
(:mod:`services.common.roles`), never a person's token claim.

Separation of duties (issue 15, ``001 §II.1–§IV.1``): the decision counts the manager's
general-criteria points — the authority enters them for a month nobody reviewed, and may
decide another grade than the proposed one only with a written reason; a unit is decided (and
its quota applied) only once each of its months is reviewed or past its review deadline; the
authority may choose who keeps A among the candidates, within the quota, with a reason; once
published, the unit's list of names and grades is disclosed to its members
(``GET /units/{unit}/results/{period}``).

Besides a person's steps: the general-criteria form and its rows (``001 §II.1``), the records
of ``001 §V.2``, late data from the tasks ledger (``DOMAIN.md §6``), the authority's decision
on a whole unit with the excellence quota (``001 §II.2.5``, ``§IV.1`` step 4), a head's d, đ,
e (``001 §III.3``) and the unit's collective evaluation of a quarter or year (``004`` Part B).

Signals: after a step's transaction has committed, the person's workflow
(``{tenant}:evaluation:{person}:{period}``) is signalled (``self_assessed``, ``reviewed``,
``decided`` with ``StepDone``; ``appealed`` with ``Appeal``; ``appeal_answered`` with
``AppealAnswer``). The answer says what became of it (``workflow``): ``sent``;
``not_running`` (no workflow for that month — API-only use, month not started or finished —
not an error); ``pending`` (Temporal unreachable: the stored step stands). Repeating the same
request re-sends the signal: self-assessment, review and decision re-apply (allowed until the
next step), and an appeal or appeal answer already recorded with the same content is
answered as ``repeated`` without a change. The workflow keeps the first payload of each
step, so a repeated signal changes nothing there.

Errors: a refused use case (:class:`~services.evaluation.service.EvaluationError`) → its
status with ``{"field", "reason"}`` (404 unknown person/period, 409 out of order, 422 bad
value); invalid bodies and periods → FastAPI's 422 naming the field; denied → 403 with the
policy's reasons; planning, tasks or Temporal unreachable where needed → 503.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal, Protocol

from anyio import from_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from services.common import tenancy
from services.common.db import transaction
from services.common.exports import parse_record
from services.common.exports.download import FILE_RESPONSES as FILES
from services.common.exports.download import file_response
from services.common.limits import install_limits
from services.common.roles import GrantSource, HttpGrants
from services.common.telemetry import instrument_app
from services.common.web import Context, context_for
from services.evaluation import access, collective, schemas, service, signals, unit_service
from services.evaluation import repository as repo
from services.evaluation.clients import HttpSources, SourceUnavailable, period_end
from services.evaluation.cycle_settings import calendar_of
from services.evaluation.leaders import ObjectiveStanding
from services.evaluation.models import CollectiveEvaluation, Evaluation
from services.evaluation.scoring import ScoringRules
from services.evaluation.signals import CycleGateway, TemporalUnavailable
from workflows.monthly_cycle.inputs import Appeal, AppealAnswer, StepDone, person_workflow_id

Ctx = Annotated[Context, Depends(context_for(service.SERVICE))]
Period = Annotated[
    str, Path(pattern=schemas.PERIOD_PATTERN, description="Kỳ đánh giá / period, YYYY-MM")
]
PeriodQuery = Annotated[
    str, Query(pattern=schemas.PERIOD_PATTERN, description="Kỳ đánh giá / period, YYYY-MM")
]
Code = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]  # tenant-file codes
ExportFormat = Annotated[
    Literal["json", "xlsx", "pdf"], Query(alias="format", description="json | xlsx | pdf")
]

router = APIRouter(prefix="/tenants/{tenant}")


class RelationSource(Protocol):
    """What the API reads from the other services (:class:`HttpSources` over HTTP): the
    evaluator relation of a period (planning), a person's tasks ledger of the month (tasks,
    late data and the unit's decision) and a unit's plan objectives (planning, leaders' đ and
    the collective evaluation). Each raises :class:`SourceUnavailable` when its service does
    not answer."""

    def relation_of(self, tenant: str, period: str) -> dict[str, Any]: ...

    def ledger_of(self, tenant: str, person: str, period: str) -> list[dict[str, Any]]: ...

    def plan_objectives(
        self, tenant: str, unit: str, kind: str, year: int, number: int | None, as_of: date
    ) -> list[ObjectiveStanding] | None: ...


def sources(request: Request) -> RelationSource:
    """The app's relation source (``app.state.sources``)."""
    return request.app.state.sources  # type: ignore[no-any-return]


def gateway(request: Request) -> CycleGateway:
    """The app's Temporal gateway (``app.state.gateway``)."""
    return request.app.state.gateway  # type: ignore[no-any-return]


Sources = Annotated[RelationSource, Depends(sources)]
Gateway = Annotated[CycleGateway, Depends(gateway)]


# --- helpers -------------------------------------------------------------------------------


def _relation(src: RelationSource, tenant: str, period: str) -> dict[str, Any]:
    try:
        return src.relation_of(tenant, period)
    except SourceUnavailable as exc:
        raise HTTPException(
            503, f"không đọc được sơ đồ đánh giá / planning unavailable: {exc}"
        ) from exc


def _audit_read(s: Session, ctx: Context, view: str, person: str, period: str) -> None:
    """Append the caller's read (``view``) of another person's month to the audit chain, in the
    request's transaction (issue 9); reading one's own month is not recorded."""
    if person != ctx.subject:
        subject, after = f"{person}/{period}", {"view": view}
        service.audit_change(
            s, ctx.tenant, "evaluation.read", "evaluation", subject, ctx.subject, None, after
        )


def _audit_unit_read(
    s: Session, ctx: Context, view: str, unit: str, period: str, people: list[str]
) -> None:
    """As :func:`_audit_read` for a unit's list: one entry naming every other person read."""
    others = [p for p in people if p != ctx.subject]
    if others:
        subject, after = f"{unit}/{period}", {"view": view, "people": others}
        service.audit_change(
            s, ctx.tenant, "evaluation.read", "unit", subject, ctx.subject, None, after
        )


def _unit_months(s: Session, unit: str, period: str) -> list[Evaluation]:
    months = repo.evaluations_of_unit(s, unit, period)
    if not months:
        raise service.EvaluationError(
            "unit", f"{unit} chưa có đánh giá kỳ {period} / has no months for {period}", 404
        )
    return months


def _evaluation(s: Session, person: str, period: str) -> Evaluation:
    ev = repo.evaluation_of(s, person, period)
    if ev is None:
        raise service.EvaluationError("evaluation", f"{person} has no evaluation for {period}", 404)
    return ev


def _step(
    ctx: Context,
    src: RelationSource,
    gw: CycleGateway,
    person: str,
    period: str,
    action: str,
    apply: Callable[[Session, dict[str, Any]], dict[str, Any]],
    signal: tuple[str, Any],
    repeat: Callable[[Evaluation], bool] | None = None,
) -> schemas.StepOut:
    """Authorise ``action``, apply the use case in one transaction (``apply(session,
    relation)``, or recognise a ``repeat``), then — committed — signal the person's
    workflow."""
    relation = _relation(src, ctx.tenant, period)
    repeated = False
    with ctx.session() as s:
        ev = _evaluation(s, person, period)
        ctx.authorize(action, access.month_resource(ev), relation)
        if repeat is not None and repeat(ev):
            after, repeated = service.snapshot(ev), True
        else:
            after = apply(s, relation)
    name, payload = signal
    delivery = from_thread.run(gw.signal, ctx.tenant, person, period, name, payload)
    detail = {
        signals.Delivery.NOT_RUNNING: "không có quy trình đang chạy / no workflow running",
        signals.Delivery.PENDING: (
            "chưa gửi được tín hiệu, gửi lại yêu cầu / signal pending, repeat the request"
        ),
    }.get(delivery)
    return schemas.StepOut(
        evaluation=schemas.EvaluationOut(**after),
        workflow=delivery.value,
        workflow_id=person_workflow_id(ctx.tenant, person, period),
        repeated=repeated,
        detail=detail,
    )


# --- a person's month ----------------------------------------------------------------------


@router.get("/evaluations", response_model=schemas.EvaluationListOut)
def list_evaluations(
    ctx: Ctx,
    src: Sources,
    unit: Annotated[str, Query(max_length=64, description="Mã đơn vị / unit code")],
    period: PeriodQuery,
) -> schemas.EvaluationListOut:
    """Kết quả của đơn vị / the unit's evaluations of the period that the caller may read."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        items = [
            schemas.EvaluationOut(**service.snapshot(ev))
            for ev in repo.evaluations_of_unit(s, unit, period)
            if ctx.allowed("evaluation.read", access.month_resource(ev), relation)
        ]
        _audit_unit_read(s, ctx, "list", unit, period, [i.person for i in items])
    return schemas.EvaluationListOut(unit=unit, period=period, items=items)


@router.get("/evaluations/{person}/{period}", response_model=schemas.EvaluationOut)
def get_evaluation(ctx: Ctx, src: Sources, person: Code, period: Period) -> schemas.EvaluationOut:
    """Phiếu đánh giá / a person's month: suggestion, general points, score, grades, flags,
    appeal."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ev = _evaluation(s, person, period)
        ctx.authorize("evaluation.read", access.month_resource(ev), relation)
        _audit_read(s, ctx, "evaluation", person, period)
        return schemas.EvaluationOut(**service.snapshot(ev))


@router.get("/evaluations/{person}/{period}/history", response_model=list[schemas.HistoryEntryOut])
def get_history(
    ctx: Ctx, src: Sources, person: Code, period: Period
) -> list[schemas.HistoryEntryOut]:
    """Lịch sử / every change of the month, oldest first: who, when, action, before, after."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ev = _evaluation(s, person, period)
        ctx.authorize("evaluation.read", access.month_resource(ev), relation)
        _audit_read(s, ctx, "history", person, period)
        return [
            schemas.HistoryEntryOut(
                actor=h.actor, at=h.at, action=h.action, before=h.before, after=h.after
            )
            for h in repo.history(s, ev.id)
        ]


def _exactly_one(body: schemas.SelfAssessmentIn | schemas.ReviewIn) -> None:
    """422 at ``body.general`` / ``body.rows`` unless exactly one of them is given."""
    problem = body.problem()
    if problem is not None:
        field, reason = problem
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", field), "msg": reason, "input": None}]
        )


@router.post("/evaluations/{person}/{period}/self-assessment", response_model=schemas.StepOut)
def self_assess(
    ctx: Ctx,
    src: Sources,
    gw: Gateway,
    person: Code,
    period: Period,
    body: schemas.SelfAssessmentIn,
) -> schemas.StepOut:
    """Tự đánh giá / the person's general-criteria points (step 2, before the 25th): the total
    ``general`` (0–30) or ``rows`` on the person's form (their kind from the period's relation,
    ``001 §II.1``); a bad row → 422 ``rows.<code>``, no form installed → 409 ``form``."""
    _exactly_one(body)
    return _step(
        ctx,
        src,
        gw,
        person,
        period,
        "evaluation.self_assess",
        lambda s, relation: service.self_assess(
            s,
            ctx.tenant,
            person,
            period,
            body.general,
            ctx.subject,
            rows=body.rows,
            relation=relation,
        ),
        (signals.SELF_ASSESSED, StepDone(actor=ctx.subject)),
    )


@router.post("/evaluations/{person}/{period}/review", response_model=schemas.StepOut)
def review(
    ctx: Ctx, src: Sources, gw: Gateway, person: Code, period: Period, body: schemas.ReviewIn
) -> schemas.StepOut:
    """Nhận xét / the direct manager's general-criteria points and comment (step 3; the
    points that count, 001 §II.1): ``general`` or ``rows``, as the self-assessment."""
    _exactly_one(body)
    return _step(
        ctx,
        src,
        gw,
        person,
        period,
        "evaluation.review",
        lambda s, relation: service.review(
            s,
            ctx.tenant,
            person,
            period,
            body.general,
            body.comment,
            ctx.subject,
            rows=body.rows,
            relation=relation,
        ),
        (signals.REVIEWED, StepDone(actor=ctx.subject, note=body.comment)),
    )


def _rules(ctx: Context) -> ScoringRules:
    """The tenant's scoring settings (registry ``config.scoring``, DOMAIN.md §5); defaults
    where absent. A bad setting → 422 naming ``scoring``."""
    scoring = dict(ctx.config.get("scoring") or {})
    known = ("delay_penalty_unit", "excellent_requires_exceeding", "excellent_quota_ratio")
    try:
        return ScoringRules(**{k: scoring[k] for k in known if scoring.get(k) is not None})
    except (ValueError, TypeError) as exc:
        raise service.EvaluationError("scoring", f"tenant settings: {exc}") from exc


@router.post("/evaluations/{person}/{period}/decision", response_model=schemas.StepOut)
def decide(
    ctx: Ctx,
    src: Sources,
    gw: Gateway,
    person: Code,
    period: Period,
    body: schemas.DecisionIn | None = None,
) -> schemas.StepOut:
    """Xếp loại / the authority's decision: score = the manager's general points + task result
    × 70, grade (step 4, before the 28th; :func:`services.evaluation.service.decide`). The body
    (optional) carries the general-criteria points the authority enters for a month without
    a review (``general`` or ``rows``; without them such a month is refused 409 ``general``)
    and a ``grade`` other than the proposed one with its ``reason`` (422 ``reason``)."""
    given = body or schemas.DecisionIn()
    return _step(
        ctx,
        src,
        gw,
        person,
        period,
        "evaluation.decide",
        lambda s, relation: service.decide(
            s,
            ctx.tenant,
            person,
            period,
            ctx.subject,
            rules=_rules(ctx),
            general=given.general,
            rows=given.rows,
            relation=relation,
            grade=given.grade,
            reason=given.reason,
        ),
        (signals.DECIDED, StepDone(actor=ctx.subject, note=given.reason)),
    )


@router.post("/evaluations/{person}/{period}/publication", response_model=schemas.EvaluationOut)
def publish(ctx: Ctx, src: Sources, person: Code, period: Period) -> schemas.EvaluationOut:
    """Công khai / publish the decided result inside the unit (unit head or tenant
    administrator). A running workflow publishes by itself once decided; this is for
    API-only use and is a no-op on a published month."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ev = _evaluation(s, person, period)
        ctx.authorize("evaluation.publish", access.month_resource(ev), relation)
        after = service.publish(s, ctx.tenant, person, period, None, actor=ctx.subject)
    return schemas.EvaluationOut(**after)


@router.post("/evaluations/{person}/{period}/appeal", response_model=schemas.StepOut)
def appeal(
    ctx: Ctx, src: Sources, gw: Gateway, person: Code, period: Period, body: schemas.AppealIn
) -> schemas.StepOut:
    """Kiến nghị / the person appeals the published result (step 5)."""
    return _step(
        ctx,
        src,
        gw,
        person,
        period,
        "evaluation.appeal",
        lambda s, relation: service.appeal(s, ctx.tenant, person, period, body.reason, ctx.subject),
        (signals.APPEALED, Appeal(reason=body.reason)),
        repeat=lambda ev: ev.appeal_status is not None and ev.appeal_reason == body.reason,
    )


@router.post("/evaluations/{person}/{period}/appeal/answer", response_model=schemas.StepOut)
def answer_appeal(
    ctx: Ctx,
    src: Sources,
    gw: Gateway,
    person: Code,
    period: Period,
    body: schemas.AppealAnswerIn,
) -> schemas.StepOut:
    """Trả lời kiến nghị / the level above the decider upholds the result or changes it to
    ``final_grade`` (binding, 001 §IV.1 step 5)."""

    def same_answer(ev: Evaluation) -> bool:
        status = "upheld" if body.upheld else "changed"
        return (
            ev.appeal_status == status
            and ev.appeal_answer == body.answer
            and (body.upheld or ev.final_grade == body.final_grade)
        )

    return _step(
        ctx,
        src,
        gw,
        person,
        period,
        "evaluation.answer_appeal",
        lambda s, relation: service.answer_appeal(
            s,
            ctx.tenant,
            person,
            period,
            body.upheld,
            body.answer,
            ctx.subject,
            final_grade=body.final_grade,
        ),
        (
            signals.APPEAL_ANSWERED,
            AppealAnswer(actor=ctx.subject, upheld=body.upheld, note=body.answer),
        ),
        repeat=same_answer,
    )


@router.get("/evaluations/{person}/{period}/workflow", response_model=schemas.PersonWorkflowOut)
def person_workflow(
    ctx: Ctx, src: Sources, gw: Gateway, person: Code, period: Period
) -> schemas.PersonWorkflowOut:
    """The live ``state`` of the person's workflow (step, flags, escalations, reminders,
    publication, appeal); 404 when no workflow exists for the month."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ctx.authorize(
            "evaluation.read", access.month_resource(_evaluation(s, person, period)), relation
        )
        _audit_read(s, ctx, "workflow", person, period)
    try:
        state = from_thread.run(gw.person_state, ctx.tenant, person, period)
    except TemporalUnavailable as exc:
        raise HTTPException(503, f"Temporal không phản hồi / unavailable: {exc}") from exc
    if state is None:
        raise HTTPException(404, {"field": "workflow", "reason": "not_running"})
    return schemas.PersonWorkflowOut(
        workflow_id=person_workflow_id(ctx.tenant, person, period), state=state
    )


# --- forms, records and late data (001 §II.1, §V.2; DOMAIN.md §6) --------------------------


def _names(relation: dict[str, Any], people: list[str]) -> dict[str, str]:
    """Each person's name when the relation carries names (``names``), else their code."""
    names = relation.get("names")
    known = names if isinstance(names, dict) else {}
    return {p: str(known.get(p) or p) for p in people}


def _unavailable(what: str, exc: SourceUnavailable) -> HTTPException:
    return HTTPException(503, f"không đọc được {what} / {what} unavailable: {exc}")


@router.get("/evaluations/{person}/{period}/form", response_model=schemas.FormOut)
def get_form(ctx: Ctx, src: Sources, person: Code, period: Period) -> schemas.FormOut:
    """Mẫu phiếu / the general-criteria form the person fills for the month (leader: Phụ lục 1,
    staff: Phụ lục 2 / Mẫu số 03, ``001 §II.1``; kind from the period's relation); 409
    ``form`` when the tenant has no form in force."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ctx.authorize(
            "evaluation.read", access.month_resource(_evaluation(s, person, period)), relation
        )
        return schemas.FormOut(**service.form_for(s, person, period, relation))


@router.get("/evaluations/{person}/{period}/record", response_model=dict[str, Any], responses=FILES)
def get_person_record(
    ctx: Ctx, src: Sources, person: Code, period: Period, fmt: ExportFormat = "json"
) -> Any:
    """Hồ sơ 1 / record 1 of ``001 §V.2``: the person's self-assessment form row by row (maximum,
    own and manager's points), the task result (a, b, c — d, đ, e for a head), score and
    grades (:func:`services.evaluation.records.person_form`); ``format=xlsx|pdf`` answers the
    Mẫu số 03 file (:mod:`services.common.exports`)."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ctx.authorize(
            "evaluation.read", access.month_resource(_evaluation(s, person, period)), relation
        )
        name = _names(relation, [person])[person]
        record = service.person_record(s, person, period, relation, name)
        _audit_read(s, ctx, "record", person, period)
    if fmt == "json":
        return record
    return file_response(parse_record(record), fmt, f"Phiếu tự đánh giá {person} {period}")


@router.get(
    "/units/{unit}/records/{period}", response_model=schemas.UnitRecordsOut, responses=FILES
)
def get_unit_records(
    ctx: Ctx,
    src: Sources,
    unit: Code,
    period: Period,
    fmt: ExportFormat = "json",
    record: Annotated[Literal["summary", "commendation"], Query()] = "summary",
) -> Any:
    """Hồ sơ đánh giá / the three records of ``001 §V.2`` for the unit's month (every person's
    form, the summary list, the list proposed for commendation); allowed to whoever may
    publish the unit's results (its head, a tenant administrator). Names from the relation
    when it has them, else codes. ``format=xlsx|pdf`` answers one file: the summary list, or
    the commendation list with ``record=commendation``."""
    relation = _relation(src, ctx.tenant, period)
    ctx.authorize("evaluation.publish", access.unit_resource(unit, period), relation)
    with ctx.session() as s:
        people = [ev.person for ev in repo.evaluations_of_unit(s, unit, period)]
        records = service.unit_records_of(s, unit, period, relation, _names(relation, people))
        _audit_unit_read(s, ctx, "unit_records", unit, period, people)
    if fmt == "json":
        return schemas.UnitRecordsOut(unit=unit, period=period, **records)
    title = "Danh sách tổng hợp" if record == "summary" else "Danh sách đề nghị khen thưởng"
    return file_response(parse_record(records[record]), fmt, f"{title} {unit} {period}")


@router.get("/units/{unit}/results/{period}", response_model=schemas.UnitListOut)
def get_unit_list(ctx: Ctx, src: Sources, unit: Code, period: Period) -> schemas.UnitListOut:
    """Công khai trong đơn vị / the unit's published list (``001 §IV.1`` step 5): each evaluated
    person's name, score and grades — nothing of their forms. ``evaluation.unit_list``: the
    unit's members, its head and everyone above the head, tenant administrators and central
    bodies, once every evaluated
    month of the unit is published (403 with the reason before); 404 no month in the unit."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        months = _unit_months(s, unit, period)
        resource = access.unit_resource(unit, period, months, relation)
        ctx.authorize("evaluation.unit_list", resource, relation)
        listed = [ev for ev in months if ev.status not in access.UNLISTED]
        names = _names(relation, [ev.person for ev in listed])
        items = [
            schemas.UnitListLineOut(name=names[ev.person], **service.list_line(ev)) for ev in listed
        ]
        _audit_unit_read(s, ctx, "unit_list", unit, period, [ev.person for ev in listed])
    return schemas.UnitListOut(unit=unit, period=period, items=items)


@router.post("/evaluations/{person}/{period}/refresh", response_model=schemas.RefreshOut)
def refresh(ctx: Ctx, src: Sources, person: Code, period: Period) -> schemas.RefreshOut:
    """Dữ liệu muộn / re-read the person's tasks ledger of the month from the tasks service and
    take it (:func:`services.evaluation.service.refresh_ledger`: before the decision the
    suggestion follows it; once decided it is flagged; once published the refusal is recorded,
    only an appeal changes the result, ``001 §IV.1`` step 5).

    Allowed to whoever may read the month (``evaluation.read``): the call takes no input from
    the caller, it only re-reads the source of truth (the approved tasks). 503 when the tasks
    service does not answer (nothing changed)."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        ctx.authorize(
            "evaluation.read", access.month_resource(_evaluation(s, person, period)), relation
        )
    try:
        ledger = src.ledger_of(ctx.tenant, person, period)
    except SourceUnavailable as exc:
        raise _unavailable("sổ công việc (tasks)", exc) from exc
    with ctx.session() as s:
        result = service.refresh_ledger(
            s, ctx.tenant, person, period, ledger, rules=_rules(ctx), actor=ctx.subject
        )
    return schemas.RefreshOut(
        outcome=result["outcome"], evaluation=schemas.EvaluationOut(**result["evaluation"])
    )


# --- a head's factors d, đ, e (001 §III.3) --------------------------------------------------


def _month_objectives(
    src: RelationSource, tenant: str, unit: str, period: str
) -> list[ObjectiveStanding] | None:
    """The objectives of ``unit``'s plan of the month (``None`` without one), as of the
    month's last day; 503 when planning does not answer."""
    year, month_number = (int(x) for x in period.split("-"))
    try:
        return src.plan_objectives(tenant, unit, "month", year, month_number, period_end(period))
    except SourceUnavailable as exc:
        raise _unavailable("kế hoạch (planning)", exc) from exc


def _head_month(
    s: Session, ctx: Context, person: str, period: str, relation: dict[str, Any]
) -> str:
    """Authorise ``evaluation.decide`` on ``person``'s month; the unit they head (409 when they
    head none: d, đ, e are a head's factors only, ``001 §III.3``)."""
    ctx.authorize(
        "evaluation.decide", access.month_resource(_evaluation(s, person, period)), relation
    )
    unit = access.headed_unit(person, relation)
    if unit is None:
        raise service.EvaluationError(
            "person",
            f"{person} không là người đứng đầu đơn vị / heads no unit in {period}: d, đ, e "
            "apply to unit heads only (001 §III.3)",
            409,
        )
    return unit


@router.post(
    "/evaluations/{person}/{period}/leader-factors/proposal", response_model=schemas.EvaluationOut
)
def propose_leader_factors(
    ctx: Ctx, src: Sources, person: Code, period: Period, body: schemas.LeaderProposalIn
) -> schemas.EvaluationOut:
    """Đề xuất d, đ, e / the system's proposal of a head's factors (``001 §III.3``): d from the
    subordinates' scores (``evaluatees_of`` of the period's relation), đ from the headed
    unit's plan of the month (kept open without one), e from ``conflict_reports``. Allowed to
    the head's deciding authority; 409 when the person heads no unit or the month is
    published."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        unit = _head_month(s, ctx, person, period, relation)
    objectives = _month_objectives(src, ctx.tenant, unit, period)
    with ctx.session() as s:
        after = unit_service.propose_leader_factors(
            s,
            ctx.tenant,
            person,
            period,
            subordinates=list(relation.get("evaluatees_of", {}).get(person, [])),
            objectives=objectives,
            conflict_reports=body.conflict_reports,
            rules=_rules(ctx),
            actor=ctx.subject,
        )
    return schemas.EvaluationOut(**after)


@router.put("/evaluations/{person}/{period}/leader-factors", response_model=schemas.EvaluationOut)
def confirm_leader_factors(
    ctx: Ctx, src: Sources, person: Code, period: Period, body: schemas.LeaderFactorsIn
) -> schemas.EvaluationOut:
    """Xác nhận đ, e / the authority confirms or overrides a head's đ and e (``001 §III.3b–c``;
    d stays as computed); an override needs a ``reason`` (422 ``reason``); 409 without a
    proposal or on a published month."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        _head_month(s, ctx, person, period, relation)
        after = unit_service.confirm_leader_factors(
            s,
            ctx.tenant,
            person,
            period,
            unit_on_plan=body.unit_on_plan,
            unit_united=body.unit_united,
            reason=body.reason,
            actor=ctx.subject,
        )
    return schemas.EvaluationOut(**after)


# --- a unit's month ------------------------------------------------------------------------


@router.post("/units/{unit}/quota/{period}", response_model=schemas.QuotaOut)
def apply_quota(
    ctx: Ctx, src: Sources, unit: Code, period: Period, body: schemas.QuotaIn | None = None
) -> schemas.QuotaOut:
    """Tỷ lệ xuất sắc / the unit's excellence quota on its decided evaluations (001 §II.2.5)
    with the tenant's ``scoring.excellent_quota_ratio``: the system's proposal by score, or
    the authority's ``keep_a`` among the candidates with a ``reason``
    (:func:`services.evaluation.unit_service.apply_quota`); ``evaluation.quota``: the unit's
    head, who decides its members' grades (``001 §II.3``) — not a tenant administrator, whose
    office keeps accounts and rights, not grades (``000 §IX.2``). 409 ``not_ready`` (with the
    list) while a month of the unit is neither reviewed nor past its review deadline; 422
    ``keep_a`` / ``keep_a_reason``."""
    relation = _relation(src, ctx.tenant, period)
    ratio = _rules(ctx).excellent_quota_ratio
    choice = body or schemas.QuotaIn()
    ctx.authorize("evaluation.quota", access.unit_resource(unit, period), relation)
    with ctx.session() as s:
        final = unit_service.apply_quota(
            s,
            ctx.tenant,
            unit,
            period,
            ratio,
            ctx.subject,
            keep_a=choice.keep_a,
            reason=choice.reason,
        )
    return schemas.QuotaOut(unit=unit, period=period, ratio=_ratio_text(ratio), final_grades=final)


def _ratio_text(ratio: Fraction | str) -> str:
    """A quota ratio as decimal text (``"1/5"`` → ``"0.2"``)."""
    value = Fraction(ratio)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


@router.post("/units/{unit}/decision/{period}", response_model=schemas.UnitDecisionOut)
def decide_unit(
    ctx: Ctx,
    src: Sources,
    gw: Gateway,
    unit: Code,
    period: Period,
    body: schemas.UnitDecisionIn,
) -> schemas.UnitDecisionOut:
    """Xếp loại đơn vị / the authority decides the unit's month (``001 §IV.1`` step 4,
    :func:`services.evaluation.unit_service.decide_unit`): the months of the people whose
    decision the caller may take (``evaluation.decide`` each; none → 403) — each reviewed or
    past its review deadline (else 409 ``not_ready`` with the list), the general-criteria
    points of those without a review entered in ``general`` (else 409 ``general`` with the
    list); the quota proposes who keeps A by score, ``keep_a`` with ``keep_a_reason`` is the
    authority's choice among the candidates within the quota (422 ``keep_a``) — each first taking
    the tasks ledger now (late data), heads with d, đ, e (đ proposed from their unit's plan of
    the month when planning has one), then the excellence quota across the unit and each
    group at ``ratio`` (above 0.2 only with a ``reason``, at most 0.25, ``001 §II.2.5``) with
    the tenant's scoring rules. After the commit each decided person's workflow gets
    ``decided`` (``workflows``: per person ``sent`` / ``not_running`` / ``pending``).

    Errors: 404 no month in the unit; 409 ``not_ready`` / ``general``; 422 ``ratio`` /
    ``reason`` / ``groups`` / ``general`` / ``keep_a`` / ``keep_a_reason``; 503 tasks or
    planning unreachable (nothing decided)."""
    relation = _relation(src, ctx.tenant, period)
    with ctx.session() as s:
        months = _unit_months(s, unit, period)
        resources = [access.month_resource(ev) for ev in months]
        mine = [r["person"] for r in resources if ctx.allowed("evaluation.decide", r, relation)]
        if not mine:
            reasons = {
                reason
                for r in resources
                for reason in ctx.authorizer.reasons("evaluation.decide", r, relation)
            }
            raise HTTPException(403, {"action": "evaluation.decide", "reasons": sorted(reasons)})
        unit_service.require_ready([ev for ev in months if ev.person in mine], unit, period)
    unit_service.quota_ratio(body.ratio, body.reason)  # 422 before reading other services
    try:
        ledgers = {p: src.ledger_of(ctx.tenant, p, period) for p in mine}
    except SourceUnavailable as exc:
        raise _unavailable("sổ công việc (tasks)", exc) from exc
    heads_units = {u: head for u, head in relation.get("unit_heads", {}).items() if head in mine}
    objectives = {
        u: found
        for u in sorted(heads_units)
        if (found := _month_objectives(src, ctx.tenant, u, period)) is not None
    }
    with ctx.session() as s:
        result = unit_service.decide_unit(
            s,
            ctx.tenant,
            unit,
            period,
            ctx.subject,
            relation=relation,
            ratio=body.ratio,
            reason=body.reason,
            groups=body.groups,
            objectives_of=objectives or None,
            conflict_reports=body.conflict_reports,
            only=mine,
            ledger_of=ledgers.__getitem__,
            rules=_rules(ctx),
            general_of=body.general,
            keep_a=body.keep_a,
            keep_a_reason=body.keep_a_reason,
        )
    workflows = {
        person: from_thread.run(
            gw.signal, ctx.tenant, person, period, signals.DECIDED, StepDone(actor=ctx.subject)
        ).value
        for person in result["decided"]
    }
    return schemas.UnitDecisionOut(
        **{**result, "ratio": _ratio_text(result["ratio"])}, workflows=workflows
    )


# --- the unit's collective evaluation (004 Part B §I–II) ------------------------------------

CollectivePeriod = Annotated[
    str,
    Path(
        pattern=schemas.COLLECTIVE_PERIOD_PATTERN,
        description="Quý / quarter YYYY-Qn, năm / year YYYY",
    ),
]


def _last_month(period: str) -> str:
    """The last month ``YYYY-MM`` of a quarter ``YYYY-Qn`` or a year ``YYYY``."""
    return collective.months_of(period)[-1]


def _collective_out(row: CollectiveEvaluation) -> schemas.CollectiveOut:
    completion = None if row.completion is None else str(row.completion.quantize(Decimal("0.1")))
    return schemas.CollectiveOut(
        unit=row.unit,
        period=row.period,
        perspectives=row.perspectives,
        completion=completion,
        proposed_level=row.proposed_level,
        unplanned=row.unplanned,
        level=row.level,
        comment=row.comment,
        head=row.head,
        head_result=row.head_result,
        recorded_by=row.recorded_by,
    )


def _unit_head_resource(
    src: RelationSource, ctx: Context, unit: str, period: str
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The relation of the period's last month, the resource "the head's month" used to
    authorise the collective evaluation, and the head (``None`` when the unit has none)."""
    month = _last_month(period)
    relation = _relation(src, ctx.tenant, month)
    head = relation.get("unit_heads", {}).get(unit)
    return relation, access.head_month_resource(head, unit, month), head


@router.put("/units/{unit}/collective/{period}", response_model=schemas.CollectiveOut)
def record_collective(
    ctx: Ctx, src: Sources, unit: Code, period: CollectivePeriod, body: schemas.CollectiveIn
) -> schemas.CollectiveOut:
    """Đánh giá tập thể / record the unit's collective evaluation for a quarter or a year
    (``004`` Part B §I, :func:`services.evaluation.unit_service.record_collective`): plan
    completion per perspective from the unit's plan of the period (planning), the unplanned
    work, the proposed and recorded ``level``; the head's result is linked (``§II.1``).
    Allowed to whoever may decide the head's last month of the period. Recording again
    replaces it. 409 ``unit`` without a head, ``plan`` without a plan of the period; 503
    planning unreachable."""
    relation, resource, head = _unit_head_resource(src, ctx, unit, period)
    if head is None:
        raise service.EvaluationError(
            "unit", f"{unit} không có người đứng đầu / has no head in {resource['period']}", 409
        )
    ctx.authorize("evaluation.decide", resource, relation)
    year, _, quarter = period.partition("-Q")
    kind, number = ("quarter", int(quarter)) if quarter else ("year", None)
    as_of = period_end(resource["period"])
    try:
        objectives = src.plan_objectives(ctx.tenant, unit, kind, int(year), number, as_of)
    except SourceUnavailable as exc:
        raise _unavailable("kế hoạch (planning)", exc) from exc
    if objectives is None:
        raise service.EvaluationError(
            "plan",
            f"{unit} chưa có kế hoạch kỳ {period} / has no plan for {period} (004 Part B §I)",
            409,
        )
    unplanned = [collective.UnplannedWork(u.title, u.perspective, u.result) for u in body.unplanned]
    with ctx.session() as s:
        unit_service.record_collective(
            s,
            ctx.tenant,
            unit,
            period,
            objectives=objectives,
            actor=ctx.subject,
            unplanned=unplanned,
            head=head,
            level=body.level,
            comment=body.comment,
        )
        row = repo.collective_evaluation(s, unit, period)
        assert row is not None
        return _collective_out(row)


@router.get("/units/{unit}/collective/{period}", response_model=schemas.CollectiveOut)
def get_collective(
    ctx: Ctx, src: Sources, unit: Code, period: CollectivePeriod
) -> schemas.CollectiveOut:
    """The stored collective evaluation of the unit for the quarter or year; allowed to whoever
    may read the head's last month of the period or publish the unit's results; 404 when none
    is recorded."""
    relation, resource, _ = _unit_head_resource(src, ctx, unit, period)
    if not ctx.allowed("evaluation.read", resource, relation):
        unit_month = access.unit_resource(unit, resource["period"])
        ctx.authorize("evaluation.publish", unit_month, relation)
    with ctx.session() as s:
        row = repo.collective_evaluation(s, unit, period)
        if row is None:
            raise service.EvaluationError(
                "collective", f"{unit} has no collective evaluation for {period}", 404
            )
        return _collective_out(row)


# --- the tenant's month on Temporal --------------------------------------------------------


def _time_zone(tenant: str) -> str | None:
    with transaction(tenancy.registry_engine()) as s:
        found = tenancy.get_tenant(s, tenant)
    return found.time_zone if found else None


@router.post("/cycles/{period}", response_model=schemas.CycleRunOut)
def start_cycle(ctx: Ctx, gw: Gateway, period: Period) -> schemas.CycleRunOut:
    """Bắt đầu kỳ / start the tenant's month (MonthlyCycleWorkflow) with its calendar; a second
    call returns the same run. ``cycle.start`` (Rego): tenant administrators only."""
    ctx.authorize("cycle.start", access.cycle_resource(period))
    try:
        calendar = calendar_of(ctx.config, _time_zone(ctx.tenant))
    except ValueError as exc:
        raise service.EvaluationError("calendar", str(exc)) from exc
    try:
        run = from_thread.run(gw.start_cycle, ctx.tenant, period, calendar)
    except TemporalUnavailable as exc:
        raise HTTPException(503, f"Temporal không phản hồi / unavailable: {exc}") from exc
    return schemas.CycleRunOut(workflow_id=run.workflow_id, run_id=run.run_id, status=run.status)


@router.get("/cycles/{period}", response_model=schemas.CycleProgressOut)
def cycle_progress(ctx: Ctx, gw: Gateway, period: Period) -> schemas.CycleProgressOut:
    """Tiến độ kỳ / the month's progress: evaluations by status (database) and the cycle
    workflow's ``progress`` query (people, started, by step, late). ``cycle.read`` (Rego):
    tenant administrators and central bodies."""
    ctx.authorize("cycle.read", access.cycle_resource(period))
    with ctx.session() as s:
        by_status = repo.counts_by_status(s, period)
    try:
        progress = from_thread.run(gw.progress, ctx.tenant, period)
        status = "present" if progress is not None else "absent"
    except TemporalUnavailable:
        progress, status = None, "unavailable"
    return schemas.CycleProgressOut(
        period=period, by_status=by_status, workflow_status=status, workflow=progress
    )


# --- the application -----------------------------------------------------------------------


def _writable(text: str) -> str:
    """``text`` as UTF-8-encodable text: a lone surrogate a refusal may echo from the caller's
    JSON (``"ab\\ud800cd"``) is shown escaped instead of failing the answer (a 500, issue 15)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def create_app(
    sources: RelationSource | None = None,
    cycle_gateway: CycleGateway | None = None,
    role_grants: GrantSource | None = None,
) -> FastAPI:
    """The evaluation service's FastAPI application.

    Args:
        sources: where the evaluator relation comes from (default: planning over HTTP at
            ``PLANNING_URL``).
        cycle_gateway: Temporal access (default: ``TEMPORAL_ADDRESS`` or the embedded
            dev server).
        role_grants: where callers' roles come from (default: planning over HTTP, the same
            planning as ``sources`` when it is :class:`HttpSources`;
            :mod:`services.common.roles`).
    """
    app = FastAPI(title="WOMS — Đánh giá (evaluation)", version="0.1.0")
    instrument_app(app, "evaluation")  # OpenTelemetry: docs/telemetry.md
    install_limits(app, "evaluation")  # body cap, per-token rate limit: docs/security.md
    app.state.sources = sources if sources is not None else HttpSources()
    app.state.gateway = cycle_gateway if cycle_gateway is not None else CycleGateway()
    planning = getattr(app.state.sources, "_planning", None)  # HttpSources' planning client
    app.state.role_grants = role_grants or HttpGrants(service.SERVICE, planning)
    app.include_router(router)

    @app.exception_handler(service.EvaluationError)
    async def evaluation_error(_: Request, exc: service.EvaluationError) -> Response:
        content = {"field": _writable(exc.field), "reason": _writable(exc.reason)}
        return JSONResponse(status_code=exc.status, content=content)

    from services.common.health import readiness_router  # GET /ready (infra/k8s probes)

    app.include_router(readiness_router("evaluation"))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
