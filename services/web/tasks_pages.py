"""Tasks pages (``000 §V.2``, ``000 §I.2`` "6 rõ"): the viewer's tasks of the month by group
(focus / regular / arising) with the moves their state allows, the tasks waiting for the
viewer's approval, and the form that creates and assigns a task with the "6 rõ" fields.
Everything goes through the tasks API; its refusals (every missing field of the "6 rõ"
check at once) are shown next to the fields, with what was typed kept. A draft created by a
refused assignment is kept and completed by the next submission, never duplicated."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from services.common.authorizer import authorities_over
from services.common.overdue import is_overdue
from services.web import labels
from services.web.backend import ApiError, ServiceDown
from services.web.messages import field_errors
from services.web.pages import Me, Viewer, api_failure, period_end, render

router = APIRouter()

PeriodQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
FIELDS = (
    "name",
    "basis",
    "group",
    "key_result",
    "lead_unit",
    "lead_person",
    "start_date",
    "due_date",
    "output_product",
    "quality_criteria",
    "catalog_item",
    "quantity",
)
PAGE_SIZE = 20
"""Rows of a page of the unit's tasks."""
PREVIEWS = {"application/pdf": "pdf", "image/png": "image", "image/jpeg": "image"}
"""Evidence types shown inline on the task page (the only ones served inline)."""
PASSED_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "content-security-policy",
    "x-content-type-options",
    "cache-control",
    "referrer-policy",
    "cross-origin-resource-policy",
)
"""The tasks API's evidence headers the download passes on."""
ACTIONS = {"start", "submit", "approve", "return", "cancel", "assign", "accept"}
DONE = {
    "start": "Đã bắt đầu thực hiện.",
    "submit": "Đã gửi kết quả, chờ duyệt.",
    "approve": "Đã duyệt kết quả.",
    "return": "Đã trả lại nhiệm vụ.",
    "cancel": "Đã hủy nhiệm vụ.",
    "assign": "Đã giao việc.",
    "accept": "Đã chấp nhận đề xuất và giao việc.",
    "created": "Đã giao việc.",
    "proposed": "Đã gửi đề xuất; nhiệm vụ được tính khi lãnh đạo có thẩm quyền chấp nhận giao.",
    "draft": "Đã lưu nháp.",
}


def _all(me: Viewer, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = me.backend.get("tasks", path, offset=len(items), limit=200, **params)
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


def _headed_units(me: Viewer, period: str) -> list[str]:
    heads = me.relation(period).get("unit_heads", {})
    return sorted(u for u, h in heads.items() if h == me.person)


def _tasks_page(
    request: Request,
    me: Viewer,
    period: str,
    notice: str | None = None,
    row_errors: dict[str, str] | None = None,
    status_code: int = 200,
    filters: dict[str, Any] | None = None,
) -> HTMLResponse:
    mine = _all(me, "/tasks", person=me.person, period=period)
    by_group: dict[str, list[dict[str, Any]]] = {"focus": [], "regular": [], "arising": []}
    for task in mine:
        by_group.setdefault(task.get("group") or "", []).append(task)
    headed = _headed_units(me, period)
    waiting: list[dict[str, Any]] = []
    for unit in headed:
        for status in ("submitted", "proposed"):
            waiting += _all(me, "/tasks", unit=unit, period=period, status=status)
    return render(
        request,
        "tasks.html",
        me,
        status_code=status_code,
        period=period,
        by_group=by_group,
        waiting=[t for t in waiting if t.get("lead_person") != me.person],
        names=me.names(),
        notice=notice,
        row_errors=row_errors or {},
        count=len(mine),
        unit_work=_unit_work(me, period, headed, filters or {}) if headed else None,
    )


def _today(me: Viewer) -> date:
    return datetime.now(ZoneInfo(me.zone)).date()


def overdue(task: dict[str, Any], today: date) -> bool:
    """Whether ``task`` (as the tasks API answers it) is overdue and not done on ``today``, by
    the rule every figure counts with (:func:`services.common.overdue.is_overdue`)."""
    due = task.get("due_date")
    return is_overdue(task.get("status"), date.fromisoformat(due) if due else None, False, today)


def _unit_work(
    me: Viewer, period: str, headed: list[str], filters: dict[str, Any]
) -> dict[str, Any]:
    """Công việc của đơn vị: the tasks of a unit the viewer heads in ``period``, filtered by
    state and person (the tasks API's filters), by group and overdue, one page of
    :data:`PAGE_SIZE`."""
    unit = filters.get("unit") if filters.get("unit") in headed else headed[0]
    tasks = _all(
        me,
        "/tasks",
        unit=unit,
        period=period,
        status=filters.get("status") or None,
        person=filters.get("person") or None,
    )
    if filters.get("group"):
        tasks = [t for t in tasks if t.get("group") == filters["group"]]
    today = _today(me)
    for task in tasks:
        task["overdue"] = overdue(task, today)
    if filters.get("overdue"):
        tasks = [t for t in tasks if t["overdue"]]
    pages = max(1, math.ceil(len(tasks) / PAGE_SIZE))
    page = min(max(1, int(filters.get("page") or 1)), pages)
    members = me.relation(period).get("unit_members", {}).get(unit, [])
    return {
        "unit": unit,
        "units": headed,
        "members": members,
        "filters": {**filters, "unit": unit},
        "tasks": tasks[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(tasks),
        "page": page,
        "pages": pages,
    }


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request,
    me: Me,
    period: PeriodQuery = None,
    ok: str | None = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    group: Annotated[str | None, Query(pattern=r"^(focus|regular|arising)?$")] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    person: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Công việc / my tasks of the month by group, the tasks of the units I head that wait
    for approval, and (for a head) the unit's work with filters and pages."""
    filters = {
        "unit": unit,
        "group": group,
        "status": status if status in labels.TASK_STATUS else None,
        "person": person,
        "overdue": overdue,
        "page": page,
    }
    period = period or me.default_period()
    return _tasks_page(request, me, period, DONE.get(ok or ""), filters=filters)


@router.post("/tasks/{code}/{action}")
async def move_task(
    request: Request, me: Me, code: Annotated[str, Path(max_length=64)], action: str
) -> Response:
    """Start / submit / approve / return / cancel a task (``reason`` for return and cancel);
    back to the task's page when sent from it (``from=task``)."""
    posted = await request.form()
    period = str(posted.get("period") or me.default_period())
    from_page = posted.get("from") == "task"
    if action not in ACTIONS:
        return RedirectResponse(f"/tasks?period={period}", status_code=303)
    body: dict[str, Any] = {}
    reason = str(posted.get("reason", "")).strip()
    if reason:
        body["reason"] = reason
    evidence = posted.get("evidence")
    try:
        if action == "submit" and isinstance(evidence, UploadFile) and evidence.filename:
            stored = me.backend.upload("/evidence", evidence.filename, await evidence.read())
            body["evidence_ids"] = [stored["id"]]
        me.backend.post("tasks", f"/tasks/{code}/{action}", body)
    except ApiError as exc:  # shown on the task's row (or page), the rest as it was
        message = "; ".join(field_errors(exc.status, exc.detail).values())
        if from_page:
            return _task_page(request, me, code, error=message, status_code=api_failure(exc))
        return _tasks_page(
            request, me, period, row_errors={code: message}, status_code=api_failure(exc)
        )
    if from_page:
        return RedirectResponse(f"/tasks/{code}?ok={action}", status_code=303)
    return RedirectResponse(f"/tasks?period={period}&ok={action}", status_code=303)


def _form_page(
    request: Request,
    me: Viewer,
    period: str,
    typed: dict[str, str],
    errors: dict[str, str] | None = None,
    draft: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    units = me.backend.get("planning", "/units", limit=200)["items"]
    unit = typed.get("lead_unit") or me.unit_of(me.person, period) or ""
    catalog = me.backend.get("planning", "/catalog", as_of=period_end(period), unit=unit or None)
    members = me.relation(period).get("unit_members", {}).get(unit, [])
    return render(
        request,
        "task_form.html",
        me,
        status_code=status_code,
        period=period,
        typed={"lead_unit": unit, **{k: v for k, v in typed.items() if v}},
        errors=errors or {},
        draft=draft,
        units=units,
        catalog=catalog,
        members=members or sorted(me.names()),
        names=me.names(),
    )


@router.get("/tasks/new", response_class=HTMLResponse)
def new_task_page(
    request: Request, me: Me, period: PeriodQuery = None, unit: str | None = None
) -> HTMLResponse:
    """Giao việc / the "6 rõ" form."""
    period = period or me.default_period()
    return _form_page(request, me, period, {"lead_unit": unit or "", "group": "regular"})


@router.post("/tasks/new", response_class=HTMLResponse)
async def create_task(request: Request, me: Me) -> Response:
    """Save the draft (``POST /tasks``, or ``PATCH`` of the draft already created) and, unless
    only saving, assign it (``POST /tasks/{code}/assign``: the "6 rõ" check)."""
    posted = await request.form()
    period = str(posted.get("period") or me.default_period())
    typed = {k: str(posted.get(k, "")).strip() for k in FIELDS}
    draft = str(posted.get("draft", "")).strip() or None
    body: dict[str, Any] = {k: v for k, v in typed.items() if v}
    if "quantity" in body:
        body["quantity"] = body["quantity"].replace(",", ".")
    try:
        if draft:
            me.backend.call("tasks", "PATCH", f"/tasks/{draft}", json=body)
        else:
            draft = str(me.backend.post("tasks", "/tasks", body)["code"])
        if posted.get("only_save"):
            return RedirectResponse(f"/tasks?period={period}&ok=draft", status_code=303)
        move = _assign_or_propose(me, period, typed)
        me.backend.post("tasks", f"/tasks/{draft}/{move}")
    except ApiError as exc:
        return _form_page(
            request,
            me,
            period,
            typed,
            field_errors(exc.status, exc.detail),
            draft,
            api_failure(exc),
        )
    done = "created" if move == "assign" else "proposed"
    return RedirectResponse(f"/tasks?period={period}&ok={done}", status_code=303)


def _assign_or_propose(me: Viewer, period: str, typed: dict[str, str]) -> str:
    """``assign`` when the viewer holds authority over the lead (``000 §V.2``: "giao" is an
    act of authority — the head of the lead's unit, the chain above, the deputy in charge of
    the field, the head's delegate; :func:`services.common.authorizer.authorities_over`), else
    ``propose``: the task waits for such a person to accept it. The tasks API decides either
    way; this only picks the step a user would expect."""
    lead = typed.get("lead_person") or None
    over = authorities_over(me.relation(period), lead, typed.get("lead_unit") or None)
    return "assign" if me.person in over else "propose"


def _catalog_name(me: Viewer, task: dict[str, Any]) -> str | None:
    """The name of the task's catalog item (planning ``/catalog`` of its unit and month)."""
    if not task.get("catalog_item") or not task.get("period"):
        return None
    items = me.backend.get(
        "planning", "/catalog", as_of=period_end(task["period"]), unit=task.get("lead_unit")
    )
    return next((c.get("name") for c in items if c.get("code") == task["catalog_item"]), None)


def _task_page(
    request: Request,
    me: Viewer,
    code: str,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    task = me.backend.get("tasks", f"/tasks/{code}")
    record = me.backend.get("tasks", f"/tasks/{code}/history")
    period = task.get("period") or me.default_period()
    lead, unit = task.get("lead_person"), task.get("lead_unit")
    deciders = authorities_over(me.relation(period), lead, unit)
    may_decide = (
        me.person in deciders
        and me.person != lead
        and me.person not in task.get("collaborating_people", [])
    )
    return render(
        request,
        "task_detail.html",
        me,
        status_code=status_code,
        period=period,
        task=task,
        record=record,
        catalog_name=_catalog_name(me, task),
        overdue=overdue(task, _today(me)),
        may_decide=may_decide and task.get("status") == "submitted",
        previews=PREVIEWS,
        notice=notice,
        error=error,
        TASK_EVENTS=labels.TASK_EVENTS,
        REVIEW_DECISIONS=labels.REVIEW_DECISIONS,
        PUSHBACK_TOPICS=labels.PUSHBACK_TOPICS,
        CAUSE_KINDS=labels.CAUSE_KINDS,
        EXCEEDED_KINDS=labels.EXCEEDED_KINDS,
    )


@router.get("/tasks/{code}", response_class=HTMLResponse)
def task_page(
    request: Request, me: Me, code: Annotated[str, Path(max_length=64)], ok: str | None = None
) -> HTMLResponse:
    """Nhiệm vụ / one task: its "6 rõ" fields, state, evidence of each submission (download
    and inline preview), notes, push-backs, returns, causes, marks, ratings and history;
    "Duyệt" / "Trả lại" for whoever may decide it (the tasks API decides)."""
    return _task_page(request, me, code, DONE.get(ok or ""))


def _evidence_answer(me: Viewer, evidence_id: int) -> httpx.Response:
    """The tasks API's ``GET /evidence/{id}`` opened as a stream (the body not yet read).

    Raises:
        ApiError: the API refused (403 another's task, 404 unknown).
        ServiceDown: the tasks service did not answer.
    """
    client = me.backend.http["tasks"]
    call = client.build_request(
        "GET",
        f"/tenants/{me.tenant}/evidence/{evidence_id}",
        headers={"Authorization": f"Bearer {me.backend.token}"},
    )
    try:
        answer = client.send(call, stream=True)
    except httpx.HTTPError as exc:
        raise ServiceDown("tasks", str(exc)) from exc
    if answer.status_code >= 400:
        answer.read()
        answer.close()
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        detail = body.get("detail", body) if isinstance(body, dict) else body
        raise ApiError("tasks", answer.status_code, detail)
    return answer


def _stream(answer: httpx.Response, headers: dict[str, str]) -> StreamingResponse:
    return StreamingResponse(
        answer.iter_raw(),
        status_code=200,
        headers=headers,
        background=BackgroundTask(answer.close),
    )


EvidenceId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/evidence/{evidence_id}")
def download_evidence(me: Me, evidence_id: EvidenceId) -> Response:
    """Tải minh chứng: the tasks API's file with its headers (``attachment``, the sandboxing
    ``Content-Security-Policy``, ``nosniff``), streamed."""
    answer = _evidence_answer(me, evidence_id)
    kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_HEADERS}
    return _stream(answer, kept)


@router.get("/evidence/{evidence_id}/inline")
def preview_evidence(me: Me, evidence_id: EvidenceId) -> Response:
    """Xem minh chứng: a PDF, PNG or JPEG served ``inline`` (for the task page's ``<iframe>``
    and ``<img>``), typed as the tasks API typed it from its content, ``nosniff``; any other
    type is only downloaded (``/evidence/{id}``)."""
    answer = _evidence_answer(me, evidence_id)
    kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PREVIEWS:
        answer.close()
        return RedirectResponse(f"/evidence/{evidence_id}", status_code=303)
    disposition = answer.headers.get("content-disposition", "")
    headers = {
        "Content-Type": kind,
        "Content-Disposition": "inline" + disposition[disposition.find(";") :]
        if ";" in disposition
        else "inline",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    }
    if "content-length" in answer.headers:
        headers["Content-Length"] = answer.headers["content-length"]
    return _stream(answer, headers)
