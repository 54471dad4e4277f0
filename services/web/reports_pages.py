"""Pages over the reporting API (``/tenants/{t}/reports/...``, ``/central/...``): the unit
summary with its Excel/PDF exports, the person card with the competency profile, the goal
tree with the four perspectives as a spider chart, and the cross-unit comparison for central
bodies. Figures are the reporting service's read models; the web computes none."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.common.exports import parse_record
from services.common.exports.download import file_response
from services.web import charts, labels
from services.web.backend import ApiError, ServiceDown
from services.web.messages import FORM, field_errors
from services.web.pages import Me, Viewer, render

router = APIRouter()

PeriodPath = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
PeriodQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
CodePath = Annotated[str, Path(max_length=64)]
AXES = {
    "done_percent": "Tỷ lệ hoàn thành nhiệm vụ",
    "on_time_percent": "Tỷ lệ đúng hạn",
    "points_completed_percent": "Tỷ lệ điểm quy đổi hoàn thành",
    "a_percent": "Tỷ lệ xếp loại A",
    "published_percent": "Tỷ lệ đã công khai kết quả",
    "late_people": "Số người chậm bước đánh giá",
}
EXPORTS = {
    "summary": "/units/{unit}/summary/export",
    "commendation": "/units/{unit}/commendation/export",
}


def report(me: Viewer, path: str, **params: Any) -> tuple[Any, str | None]:
    """``GET /reports{path}`` → ``(answer, None)``, or ``(None, Vietnamese reason)`` when the
    reporting service refuses or does not answer (the page shows the reason in place)."""
    try:
        return me.backend.get("reporting", f"/reports{path}", **params), None
    except ApiError as exc:
        return None, field_errors(exc.status, exc.detail).get(FORM) or "Chưa có số liệu"
    except ServiceDown:
        return None, "Dịch vụ báo cáo không phản hồi"


def unit_records(me: Viewer, unit: str, period: str) -> dict[str, Any] | None:
    """The evaluation service's records of the unit's month (``001 §V.2``: the summary list
    with each person's general points, task result, score and grades, and the commendation
    list — the source of these figures), or ``None`` when the viewer may not read them (only
    who may publish the unit's results may: its head, an administrator)."""
    try:
        return dict(me.backend.get("evaluation", f"/units/{unit}/records/{period}"))
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise


@router.get("/units/{unit}/summary/{period}", response_class=HTMLResponse)
def unit_summary(request: Request, me: Me, unit: CodePath, period: PeriodPath) -> HTMLResponse:
    """Tổng hợp đơn vị / the unit's month: the summary list of the evaluation service (general
    points, task result, score, grades, the counts by grade — the very record the Excel/PDF
    files hold), task figures and the written analysis (reporting)."""
    listed = me.backend.get("evaluation", "/evaluations", unit=unit, period=period)
    records = unit_records(me, unit, period)
    summary = records["summary"] if records else None
    tasks, tasks_problem = report(me, "/tasks", period=period, unit=unit, by="person")
    text, _ = report(me, f"/units/{unit}/analysis", period=period)
    if summary:
        counts = {g: int(summary["by_final_grade"].get(g) or 0) for g in ("A", "B", "C", "D")}
    else:
        grades, _ = report(me, "/grades", period=period, unit=unit)
        totals = (grades or {}).get("totals") or {}
        counts = {g: int(totals.get(g) or 0) for g in ("A", "B", "C", "D")} if grades else {}
    chart = charts.grade_bars(counts, "Phân bố xếp loại") if counts else None
    return render(
        request,
        "unit_summary.html",
        me,
        unit=unit,
        unit_name=me.unit_names().get(unit, unit),
        period=period,
        items=listed["items"],
        summary=summary,
        names=me.names(),
        tasks=tasks,
        tasks_problem=tasks_problem,
        analysis=text,
        chart=chart,
    )


FILE_STEMS = {"summary": "Danh sách tổng hợp", "commendation": "Danh sách đề nghị khen thưởng"}


@router.get("/units/{unit}/export/{kind}/{period}")
def unit_export(
    me: Me,
    unit: CodePath,
    kind: Literal["summary", "commendation"],
    period: PeriodPath,
    fmt: Literal["xlsx", "pdf"] = "xlsx",
) -> Response:
    """The unit's list as Excel or PDF: the evaluation service's record (every column filled,
    the counts by grade from its lines) with the unit's name; for a viewer who may not read
    it, the reporting service's list from the read models, passed through with its name."""
    records = unit_records(me, unit, period)
    if records is not None:
        unit_name, names = me.unit_names().get(unit, unit), me.names()
        record = dict(records[kind])
        # names, not codes: planning's names of the unit and of each person
        record["unit"] = unit_name
        record["lines"] = [
            {**line, "name": names.get(line["person"], line.get("name"))}
            for line in record["lines"]
        ]
        return file_response(parse_record(record), fmt, f"{FILE_STEMS[kind]} {unit_name} {period}")
    path = "/reports" + EXPORTS[kind].format(unit=unit)
    return _passed_through(me.backend.raw("reporting", path, {"period": period, "format": fmt}))


@router.get("/people/{person}/card/{period}/export")
def card_export(
    me: Me, person: CodePath, period: PeriodPath, fmt: Literal["xlsx", "pdf"] = "xlsx"
) -> Response:
    """Báo cáo nhiệm vụ được giao (``002``) as the reporting service's Excel or PDF file."""
    path = f"/reports/people/{person}/card/export"
    return _passed_through(me.backend.raw("reporting", path, {"period": period, "format": fmt}))


def _passed_through(answer: Any) -> Response:
    """A file answer passed on with its type and name; a refusal raised as :class:`ApiError`
    (the app's error page)."""
    if answer.status_code != 200:
        raise ApiError("reporting", answer.status_code, _detail(answer))
    headers = {k: v for k, v in answer.headers.items() if k.lower() == "content-disposition"}
    return Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers)


def _detail(answer: Any) -> Any:
    try:
        body = answer.json()
    except ValueError:
        return answer.text
    return body.get("detail", body) if isinstance(body, dict) else body


@router.get("/people/{person}/card/{period}", response_class=HTMLResponse)
def person_card(request: Request, me: Me, person: CodePath, period: PeriodPath) -> HTMLResponse:
    """Phiếu cá nhân / the person's month (tasks by group, points, evaluation) and their
    competency profile over the last six months."""
    card, problem = report(me, f"/people/{person}/card", period=period)
    profile, _ = report(
        me,
        f"/people/{person}/profile",
        **{"from": labels.shift_period(period, -5), "to": period},
    )
    return render(
        request,
        "person_card.html",
        me,
        person=person,
        person_name=me.names().get(person, person),
        period=period,
        card=card,
        problem=problem,
        profile=(profile or {}).get("profile"),
    )


@router.get("/goals", response_class=HTMLResponse)
def goal_tree(
    request: Request, me: Me, period: PeriodQuery = None, unit: str | None = None
) -> HTMLResponse:
    """Cây mục tiêu / objectives and key results with progress, traffic lights, breakthrough
    items marked, and each plan's four perspectives as a spider chart."""
    period = period or me.default_period()
    if unit is None and not me.has_role("tenant_admin", "central"):
        # a head sees the unit they head, others their own unit (tenant-wide: admin, central)
        heads = me.relation(period).get("unit_heads", {})
        headed = sorted(u for u, h in heads.items() if h == me.person)
        unit = headed[0] if headed else me.unit_of(me.person, period)
    tree, problem = report(me, "/goal-tree", period=period, unit=unit or None)
    spiders = {}
    for plan in (tree or {}).get("plans", []):
        axes = [labels.PERSPECTIVES.get(p["perspective"], p["label"]) for p in plan["perspectives"]]
        spiders[plan["plan"]] = charts.spider(
            axes,
            {
                "Tiến độ": [p["progress_percent"] for p in plan["perspectives"]],
                "Tính vào đánh giá": [
                    p["evaluation_progress_percent"] for p in plan["perspectives"]
                ],
            },
            "Bốn khía cạnh (%)",
        )
    return render(
        request,
        "goals.html",
        me,
        period=period,
        unit=unit,
        tree=tree,
        problem=problem,
        spiders=spiders,
    )


def _central_get(me: Viewer, path: str, params: dict[str, Any]) -> Any:
    """``GET /central{path}`` of the reporting service (outside ``/tenants``) with the viewer's
    token: the answer (JSON or file), or :class:`ServiceDown`."""
    try:
        return me.backend.http["reporting"].get(
            f"/central{path}",
            params=params,
            headers={"Authorization": f"Bearer {me.backend.token}"},
        )
    except Exception as exc:  # httpx errors: the reporting service did not answer
        raise ServiceDown("reporting", str(exc)) from exc


def central_scope(me: Viewer) -> tuple[list[dict[str, str]], str | None]:
    """The tenants the viewer may compare as a central body (reporting ``/central/tenants``,
    decided by the reporting policy: granted by the platform, every tenant), or a reason."""
    try:
        answer = _central_get(me, "/tenants", {})
    except ServiceDown:
        return [], "Dịch vụ báo cáo không phản hồi"
    if answer.status_code != 200:
        return [], field_errors(answer.status_code, _detail(answer)).get(FORM) or NO_DATA
    tenants = list(answer.json()["tenants"])
    return tenants, None if tenants else "Tài khoản chưa được cấp quyền cơ quan tổng hợp"


NO_DATA = "Chưa có số liệu"


@router.get("/central", response_class=HTMLResponse)
def central(
    request: Request,
    me: Me,
    period: PeriodQuery = None,
    axis: Annotated[str, Query(max_length=40)] = "done_percent",
) -> HTMLResponse:
    """So sánh các đơn vị / units of every tenant the central body is granted (the platform's
    central body: every tenant) ranked on one axis, with tenant and unit names, ranks (units
    without figures last, unranked) and the Excel/PDF file of the same ranking."""
    period = period or me.default_period()
    axis = axis if axis in AXES else "done_percent"
    tenants, problem = central_scope(me)
    answer = None
    if tenants:
        params = {"period": period, "tenants": [t["tenant"] for t in tenants], "axis": axis}
        try:
            ranking = _central_get(me, "/rankings", params)
        except ServiceDown:
            problem = "Dịch vụ báo cáo không phản hồi"
        else:
            if ranking.status_code == 200:
                answer = ranking.json()
            else:
                problem = field_errors(ranking.status_code, _detail(ranking)).get(FORM) or NO_DATA
    chart = None
    ranked = [u for u in (answer or {}).get("units", []) if u["value"] is not None]
    if ranked:
        several = len(tenants) > 1
        chart = charts.ranking_bars(
            [
                f"{u['unit_name']} ({u['tenant_name']})" if several else u["unit_name"]
                for u in ranked
            ],
            [u["value"] for u in ranked],
            AXES[axis],
            percent=axis.endswith("_percent"),
        )
    return render(
        request,
        "central.html",
        me,
        period=period,
        axis=axis,
        axes=AXES,
        tenants=tenants,
        ranking=answer,
        problem=problem,
        chart=chart,
    )


@router.get("/central/export")
def central_export(
    me: Me,
    period: PeriodQuery = None,
    axis: Annotated[str, Query(max_length=40)] = "done_percent",
    fmt: Literal["xlsx", "pdf"] = "xlsx",
) -> Response:
    """The ranking of :func:`central` as the reporting service's Excel or PDF file."""
    period = period or me.default_period()
    axis = axis if axis in AXES else "done_percent"
    tenants, problem = central_scope(me)
    if not tenants:
        raise ApiError("reporting", 403, problem or NO_DATA)
    params = {
        "period": period,
        "tenants": [t["tenant"] for t in tenants],
        "axis": axis,
        "format": fmt,
    }
    return _passed_through(_central_get(me, "/rankings/export", params))
