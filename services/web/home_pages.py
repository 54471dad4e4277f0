"""The home page (dashboard) of the signed-in person: their month's evaluation, the people
they review, the units whose grades they decide, and — from the reporting API — the
figures of their unit (tasks done / late / overdue, the cycle step and deadline)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.web import charts, labels
from services.web.backend import ApiError
from services.web.pages import Me, Viewer, render
from services.web.reports_pages import report

router = APIRouter()

#: Warnings listed on the dashboard (the rest are counted).
SHOWN_WARNINGS = 6
PeriodQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _month_or_none(me: Viewer, person: str, period: str) -> dict[str, Any] | None:
    try:
        return dict(me.backend.get("evaluation", f"/evaluations/{person}/{period}"))
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise


@router.get("/", response_class=HTMLResponse)
def home(request: Request, me: Me, period: PeriodQuery = None) -> HTMLResponse:
    """Trang chủ / what the viewer has to do this period and how their unit stands."""
    period = period or me.default_period()
    relation = me.relation(period)
    names = me.names()
    mine = _month_or_none(me, me.person, period)
    to_review = [
        (p, names.get(p, p), _month_or_none(me, p, period))
        for p in relation.get("evaluatees_of", {}).get(me.person, [])
    ]
    unit = me.unit_of(me.person, period)
    heads = {u: h for u, h in relation.get("unit_heads", {}).items() if h == me.person}
    scope = sorted(heads)[0] if heads else None  # a head sees the unit, others themselves
    where = {"unit": scope} if scope else {"person": me.person}
    tasks, problem = report(me, "/tasks", period=period, **where)
    cycle, _ = report(me, "/cycle", period=period, unit=scope or unit) if scope else (None, None)
    grades, _ = report(me, "/grades", period=period, unit=scope) if scope else (None, None)
    # the warnings of the same scope as the figures (a head: the unit; others: their own
    # tasks), on the same rule of "overdue" (services.common.overdue.is_overdue)
    warnings, _ = report(me, "/warnings", period=period, **where)
    trend = []
    for back in range(5, -1, -1):
        month = labels.shift_period(period, -back)
        figures, _ = report(me, "/tasks", period=month, **where)
        trend.append((month, (figures or {}).get("totals", {}).get("done_percent")))
    chart = None
    if grades:
        totals = grades["totals"]
        chart = charts.grade_bars(
            {g: int(totals.get(g) or 0) for g in ("A", "B", "C", "D")}, "Phân bố xếp loại"
        )
    return render(
        request,
        "home.html",
        me,
        period=period,
        previous=labels.shift_period(period, -1),
        following=labels.shift_period(period, 1),
        mine=mine,
        unit=unit,
        to_review=to_review,
        units_to_decide=me.units_to_decide(period),
        heads=heads,
        scope=scope,
        tasks=tasks,
        problem=problem,
        cycle=cycle,
        reached=labels.steps_reached(cycle["by_step"]) if cycle else None,
        warnings=(warnings or {}).get("warnings", [])[:SHOWN_WARNINGS],
        warning_total=len((warnings or {}).get("warnings", [])),
        warning_counts=(warnings or {}).get("task_counts"),
        scope_name=me.unit_names().get(scope, scope) if scope else None,
        grade_chart=chart,
        trend_chart=charts.trend_line(
            [labels.period_label(m) for m, _ in trend],
            [v for _, v in trend],
            "Tỷ lệ hoàn thành nhiệm vụ theo tháng (%)",
        ),
        deadlines=labels.default_deadlines(period),
    )
