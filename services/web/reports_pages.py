"""Pages over the reporting API (``/tenants/{t}/reports/...``, ``/central/...``): the unit
summary with its Excel/PDF exports, the person card with the competency profile, the goal
tree with the four perspectives as a spider chart, and the cross-unit comparison for central
bodies. Figures are the reporting service's read models; the web computes none."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

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


@router.get("/units/{unit}/summary/{period}", response_class=HTMLResponse)
def unit_summary(request: Request, me: Me, unit: CodePath, period: PeriodPath) -> HTMLResponse:
    """Tổng hợp đơn vị / the unit's month: evaluations (evaluation API), task figures, grade
    distribution, the written analysis (reporting) and the export files."""
    listed = me.backend.get("evaluation", "/evaluations", unit=unit, period=period)
    tasks, tasks_problem = report(me, "/tasks", period=period, unit=unit, by="person")
    grades, _ = report(me, "/grades", period=period, unit=unit)
    text, _ = report(me, f"/units/{unit}/analysis", period=period)
    chart = None
    if grades:
        totals = grades["totals"]
        chart = charts.grade_bars(
            {g: int(totals.get(g) or 0) for g in ("A", "B", "C", "D")}, "Phân bố xếp loại"
        )
    return render(
        request,
        "unit_summary.html",
        me,
        unit=unit,
        period=period,
        items=listed["items"],
        names=me.names(),
        tasks=tasks,
        tasks_problem=tasks_problem,
        analysis=text,
        chart=chart,
    )


@router.get("/units/{unit}/export/{kind}/{period}")
def unit_export(
    me: Me,
    unit: CodePath,
    kind: Literal["summary", "commendation"],
    period: PeriodPath,
    fmt: Literal["xlsx", "pdf"] = "xlsx",
) -> Response:
    """The reporting service's file (Excel or PDF), passed through with its name."""
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


@router.get("/central", response_class=HTMLResponse)
def central(
    request: Request,
    me: Me,
    period: PeriodQuery = None,
    axis: Annotated[str, Query(max_length=40)] = "done_percent",
) -> HTMLResponse:
    """So sánh các đơn vị / units ranked on one axis (central bodies: role ``central``)."""
    period = period or me.default_period()
    axis = axis if axis in AXES else "done_percent"
    try:
        ranking = me.backend.http["reporting"].get(
            "/central/rankings",
            params={"period": period, "tenants": [me.tenant], "axis": axis},
            headers={"Authorization": f"Bearer {me.backend.token}"},
        )
    except Exception:  # httpx errors: shown in place like the other report blocks
        ranking, problem, answer = None, "Dịch vụ báo cáo không phản hồi", None
    else:
        answer = ranking.json() if ranking.status_code == 200 else None
        problem = (
            None
            if answer is not None
            else field_errors(ranking.status_code, _detail(ranking)).get(FORM) or "Chưa có số liệu"
        )
    chart = None
    if answer and answer.get("units"):
        chart = charts.ranking_bars(
            [u["unit"] for u in answer["units"]],
            [u["value"] for u in answer["units"]],
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
        ranking=answer,
        problem=problem,
        chart=chart,
    )
