"""Tasks pages (``000 §V.2``, ``000 §I.2`` "6 rõ"): the viewer's tasks of the month by group
(focus / regular / arising) with the moves their state allows, the tasks waiting for the
viewer's approval, and the form that creates and assigns a task with the "6 rõ" fields.
Everything goes through the tasks API; its refusals (every missing field of the "6 rõ"
check at once) are shown next to the fields, with what was typed kept. A draft created by a
refused assignment is kept and completed by the next submission, never duplicated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.common.authorizer import authorities_over
from services.web.backend import ApiError
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
) -> HTMLResponse:
    mine = _all(me, "/tasks", person=me.person, period=period)
    by_group: dict[str, list[dict[str, Any]]] = {"focus": [], "regular": [], "arising": []}
    for task in mine:
        by_group.setdefault(task.get("group") or "", []).append(task)
    waiting: list[dict[str, Any]] = []
    for unit in _headed_units(me, period):
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
    )


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request, me: Me, period: PeriodQuery = None, ok: str | None = None
) -> HTMLResponse:
    """Công việc / my tasks of the month by group, and the tasks of the units I head that
    wait for approval."""
    return _tasks_page(request, me, period or me.default_period(), DONE.get(ok or ""))


@router.post("/tasks/{code}/{action}")
async def move_task(
    request: Request, me: Me, code: Annotated[str, Path(max_length=64)], action: str
) -> Response:
    """Start / submit / approve / return / cancel a task (``reason`` for return and cancel)."""
    posted = await request.form()
    period = str(posted.get("period") or me.default_period())
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
    except ApiError as exc:  # shown on the task's row, the rest of the page as it was
        message = "; ".join(field_errors(exc.status, exc.detail).values())
        return _tasks_page(
            request, me, period, row_errors={code: message}, status_code=api_failure(exc)
        )
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
