"""Evaluation pages (``001 §IV.1`` steps 2–5): a person's month, the self-assessment on the
Mẫu số 03 / Phụ lục form with the system's suggestion, the manager's review, the
authority's decision on the unit with the excellence quota (``001 §II.2.5``), publication
and the appeal with its answer. Every step is a call to the evaluation API with the
viewer's token; its refusals are shown in Vietnamese next to the field, with what was typed
kept in the form.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web import labels
from services.web.backend import ApiError
from services.web.messages import FORM, field_errors
from services.web.pages import Me, Viewer, api_failure, decimal_text, render

router = APIRouter()

PeriodPath = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
CodePath = Annotated[str, Path(max_length=64)]


def _month(me: Viewer, person: str, period: str) -> str:
    return f"/evaluations/{person}/{period}"


def _roles_on(me: Viewer, person: str, period: str, unit: str | None) -> dict[str, bool]:
    """What the viewer is to ``person``'s month (from the period's relation): the person,
    an evaluator (reviews), the decider, the unit's head (publishes)."""
    relation = me.relation(period)
    heads = relation.get("unit_heads", {})
    return {
        "self": person == me.person,
        "evaluator": me.person in relation.get("evaluator_of", {}).get(person, []),
        "decider": relation.get("decider_of", {}).get(person) == me.person,
        "publisher": (unit is not None and heads.get(unit) == me.person)
        or me.has_role("tenant_admin"),
        "answers_appeal": relation.get("decider_of", {}).get(
            relation.get("decider_of", {}).get(person, ""), ""
        )
        == me.person,
    }


def _evaluation(me: Viewer, person: str, period: str) -> dict[str, Any]:
    return dict(me.backend.get("evaluation", _month(me, person, period)))


def _typed_rows(form: dict[str, Any], posted: Any) -> dict[str, str]:
    """``{row code: typed text}`` (as typed, trimmed) for every row of ``form`` from the
    posted fields ``row-<code>``."""
    return {
        row["code"]: str(posted.get(f"row-{row['code']}", "")).strip()
        for section in form["sections"]
        for row in section["rows"]
    }


def _given_rows(ev: dict[str, Any], key: str) -> dict[str, str]:
    given = ev.get(key) or {}
    return {code: str(points) for code, points in (given.get("points") or {}).items()}


def _step_page(
    request: Request,
    me: Viewer,
    person: str,
    period: str,
    step: str,
    *,
    typed: dict[str, str] | None = None,
    comment: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The self-assessment (``step="self"``) or review (``step="review"``) page."""
    ev = _evaluation(me, person, period)
    form = me.backend.get("evaluation", _month(me, person, period) + "/form")
    own = _given_rows(ev, "self_rows")
    if typed is None:
        typed = _given_rows(ev, "review_rows") if step == "review" else own
        if step == "review" and not typed:
            typed = dict(own)
        comment = comment or (ev.get("review_comment") or "")
    names = me.names()
    return render(
        request,
        "step_form.html",
        me,
        status_code=status_code,
        step=step,
        ev=ev,
        form=form,
        typed=typed,
        own=own,
        comment=comment,
        errors=errors or {},
        person=person,
        person_name=names.get(person, person),
        period=period,
        roles=_roles_on(me, person, period, ev.get("unit")),
    )


def _post_step(
    request: Request, me: Viewer, person: str, period: str, step: str, posted: Any
) -> Response:
    form = me.backend.get("evaluation", _month(me, person, period) + "/form")
    typed = _typed_rows(form, posted)
    comment = str(posted.get("comment", "")).strip()
    body: dict[str, Any] = {"rows": {code: decimal_text(v) for code, v in typed.items()}}
    if step == "review" and comment:
        body["comment"] = comment
    path = _month(me, person, period) + ("/self-assessment" if step == "self" else "/review")
    try:
        me.backend.post("evaluation", path, body)
    except ApiError as exc:
        errors = field_errors(exc.status, exc.detail)
        for code, value in typed.items():  # an empty row: say so rather than "not a number"
            if not value and f"rows.{code}" in errors:
                errors[f"rows.{code}"] = "Chưa nhập điểm"
        return _step_page(
            request,
            me,
            person,
            period,
            step,
            typed=typed,
            comment=comment,
            errors=errors,
            status_code=api_failure(exc),
        )
    done = "tu-danh-gia" if step == "self" else "nhan-xet"
    return RedirectResponse(f"{_month(me, person, period)}?ok={done}", status_code=303)


@router.get("/evaluations/{person}/{period}", response_class=HTMLResponse)
def month_page(
    request: Request, me: Me, person: CodePath, period: PeriodPath, ok: str | None = None
) -> HTMLResponse:
    """Phiếu đánh giá / a person's month: status, suggestion, points, grade, history, and the
    steps the viewer may take."""
    try:
        ev = _evaluation(me, person, period)
    except ApiError as exc:
        return render(
            request,
            "message.html",
            me,
            status_code=api_failure(exc),
            title=f"Phiếu đánh giá tháng {labels.period_label(period)}",
            message=field_errors(exc.status, exc.detail).get(FORM)
            or "Không xem được phiếu đánh giá",
        )
    history = me.backend.get("evaluation", _month(me, person, period) + "/history")
    names = me.names()
    return render(
        request,
        "evaluation.html",
        me,
        ev=ev,
        history=history,
        person=person,
        person_name=names.get(person, person),
        names=names,
        period=period,
        ok=ok,
        roles=_roles_on(me, person, period, ev.get("unit")),
    )


@router.get("/evaluations/{person}/{period}/self-assessment", response_class=HTMLResponse)
def self_assessment_page(
    request: Request, me: Me, person: CodePath, period: PeriodPath
) -> HTMLResponse:
    """Tự đánh giá / the person's form (Mẫu số 03 for staff, Phụ lục 1 for leaders)."""
    return _step_page(request, me, person, period, "self")


@router.post("/evaluations/{person}/{period}/self-assessment")
async def self_assess(request: Request, me: Me, person: CodePath, period: PeriodPath) -> Response:
    """Gửi tự đánh giá: ``row-<code>`` fields → ``POST .../self-assessment`` ``{"rows"}``."""
    posted = await request.form()
    return _post_step(request, me, person, period, "self", posted)


@router.get("/evaluations/{person}/{period}/review", response_class=HTMLResponse)
def review_page(request: Request, me: Me, person: CodePath, period: PeriodPath) -> HTMLResponse:
    """Nhận xét / the manager's form, the person's own points beside each row."""
    return _step_page(request, me, person, period, "review")


@router.post("/evaluations/{person}/{period}/review")
async def review(request: Request, me: Me, person: CodePath, period: PeriodPath) -> Response:
    """Gửi nhận xét: rows and ``comment`` → ``POST .../review``."""
    posted = await request.form()
    return _post_step(request, me, person, period, "review", posted)


# --- the unit's decision with the quota, publication ----------------------------------------


def _unit_page(
    request: Request,
    me: Me,
    unit: str,
    period: str,
    *,
    result: dict[str, Any] | None = None,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = me.backend.get("evaluation", "/evaluations", unit=unit, period=period)
    items = listed["items"]
    decided = [e for e in items if e.get("grade")]
    count_a = sum(1 for e in decided if e.get("final_grade") == "A")
    count_b = sum(1 for e in decided if e.get("final_grade") == "B")
    relation = me.relation(period)
    return render(
        request,
        "unit_decision.html",
        me,
        status_code=status_code,
        unit=unit,
        period=period,
        items=items,
        names=me.names(),
        result=result,
        typed=typed or {"ratio": "0,2", "reason": ""},
        errors=errors or {},
        notice=notice,
        count_a=count_a,
        count_b=count_b,
        deciding={p for p, d in relation.get("decider_of", {}).items() if d == me.person},
        publisher=relation.get("unit_heads", {}).get(unit) == me.person
        or me.has_role("tenant_admin"),
    )


@router.get("/units/{unit}/decision/{period}", response_class=HTMLResponse)
def unit_decision_page(
    request: Request, me: Me, unit: CodePath, period: PeriodPath, ok: str | None = None
) -> HTMLResponse:
    """Xếp loại đơn vị / the unit's months with suggestion, review, grade and final grade after
    the excellence quota (A at most 20 %, 25 % with a reason: ``001 §II.2.5``)."""
    notice = {"cong-khai": "Đã công khai kết quả của đơn vị."}.get(ok or "")
    return _unit_page(request, me, unit, period, notice=notice)


@router.post("/units/{unit}/decision/{period}", response_class=HTMLResponse)
async def decide_unit(request: Request, me: Me, unit: CodePath, period: PeriodPath) -> Response:
    """Quyết định xếp loại: ``POST /units/{unit}/decision/{period}`` with ``ratio`` and
    ``reason``; the answer (decided, final grades, moved by the quota) is shown."""
    posted = await request.form()
    typed = {
        "ratio": str(posted.get("ratio", "")).strip(),
        "reason": str(posted.get("reason", "")).strip(),
    }
    body: dict[str, Any] = {"ratio": decimal_text(typed["ratio"]) or None}
    if typed["reason"]:
        body["reason"] = typed["reason"]
    try:
        result = me.backend.post("evaluation", f"/units/{unit}/decision/{period}", body)
    except ApiError as exc:
        return _unit_page(
            request,
            me,
            unit,
            period,
            typed=typed,
            errors=field_errors(exc.status, exc.detail),
            status_code=api_failure(exc),
        )
    return _unit_page(request, me, unit, period, result=result, typed=typed)


@router.post("/units/{unit}/publication/{period}")
def publish_unit(request: Request, me: Me, unit: CodePath, period: PeriodPath) -> Response:
    """Công khai / publish every decided month of the unit (``POST .../publication`` each)."""
    listed = me.backend.get("evaluation", "/evaluations", unit=unit, period=period)
    try:
        for ev in listed["items"]:
            if ev["status"] == "decided":
                me.backend.post("evaluation", f"/evaluations/{ev['person']}/{period}/publication")
    except ApiError as exc:
        return _unit_page(
            request,
            me,
            unit,
            period,
            errors=field_errors(exc.status, exc.detail),
            status_code=api_failure(exc),
        )
    return RedirectResponse(f"/units/{unit}/decision/{period}?ok=cong-khai", status_code=303)


# --- appeal ---------------------------------------------------------------------------------


def _appeal_page(
    request: Request,
    me: Viewer,
    person: str,
    period: str,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ev = _evaluation(me, person, period)
    return render(
        request,
        "appeal.html",
        me,
        status_code=status_code,
        ev=ev,
        person=person,
        person_name=me.names().get(person, person),
        period=period,
        typed=typed or {},
        errors=errors or {},
        roles=_roles_on(me, person, period, ev.get("unit")),
    )


@router.get("/evaluations/{person}/{period}/appeal", response_class=HTMLResponse)
def appeal_page(request: Request, me: Me, person: CodePath, period: PeriodPath) -> HTMLResponse:
    """Kiến nghị / the person's appeal of the published result, and its answer by the level
    above the decider (``001 §IV.1`` step 5)."""
    return _appeal_page(request, me, person, period)


@router.post("/evaluations/{person}/{period}/appeal")
async def appeal(request: Request, me: Me, person: CodePath, period: PeriodPath) -> Response:
    """Gửi kiến nghị (``reason``) or trả lời (``answer``, ``upheld``, ``final_grade``)."""
    posted = await request.form()
    typed = {k: str(posted.get(k, "")).strip() for k in ("reason", "answer", "upheld", "grade")}
    if posted.get("kind") == "answer":
        body: dict[str, Any] = {"upheld": typed["upheld"] != "no"}
        if typed["answer"]:
            body["answer"] = typed["answer"]
        if typed["upheld"] == "no":
            body["final_grade"] = typed["grade"] or None
        path = _month(me, person, period) + "/appeal/answer"
    else:
        body = {"reason": typed["reason"]}
        path = _month(me, person, period) + "/appeal"
    try:
        me.backend.post("evaluation", path, body)
    except ApiError as exc:
        return _appeal_page(
            request,
            me,
            person,
            period,
            typed=typed,
            errors=field_errors(exc.status, exc.detail),
            status_code=api_failure(exc),
        )
    done = "tra-loi" if posted.get("kind") == "answer" else "kien-nghi"
    return RedirectResponse(f"{_month(me, person, period)}?ok={done}", status_code=303)
