"""The export records built from the reporting read models — pure, no I/O (issue 6, "Exports").

Each function turns the answers of :mod:`services.reporting.service` (rows of
``evaluation_facts`` and ``task_counts``) plus names read from planning into the plain data
of a record of :mod:`services.common.exports.schemas`, ready for
:func:`services.common.exports.export`:

* :func:`unit_summary` — the unit's monthly summary list (record 2 of ``001 §V.2``);
* :func:`commendation_list` — the people proposed for commendation (record 3 of ``001 §V.2``);
* :func:`person_card` — the person's card of ``002`` ("Báo cáo nhiệm vụ được giao");
* :func:`provincial_summary` — the monthly / 3-monthly summary to the provincial standing
  office (``003``, Phụ lục row 10).

The read models hold each person's step, score and grades but not the general-criteria points
nor the a, b, c of the task result (those are in the evaluation service's records, exported by
``GET /tenants/{t}/evaluations/{person}/{period}/record?format=``): the lines leave them empty.
Scores and points are exact decimals written as text (``"83.9"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

GRADES = ("A", "B", "C", "D")
GRADE_LABELS = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}
#: The task groups of the tasks service (``000 §V.2``: trọng tâm, thường xuyên, phát sinh).
GROUP_LABELS = {
    "focus": "Nhóm nhiệm vụ trọng tâm (OKR/KPI)",
    "regular": "Nhóm nhiệm vụ thường xuyên",
    "arising": "Nhóm nhiệm vụ phát sinh, đột xuất",
    "": "Chưa phân nhóm",
}
#: Steps whose grade is decided (``001 §IV.1`` steps 4–5).
DECIDED = ("decided", "published")
SUMMARY_TITLE = "Danh sách tổng hợp kết quả đánh giá, xếp loại CBCCVC"
COMMENDATION_TITLE = "Danh sách đề nghị khen thưởng"


def text(value: Decimal | None) -> str | None:
    """An exact decimal as plain text without trailing zeros (``83.900000`` → ``"83.9"``)."""
    return None if value is None else format(value.normalize(), "f")


def month_label(period: str) -> str:
    """``"2026-06"`` → ``"06/2026"``."""
    year, month = period.split("-")
    return f"{month}/{year}"


def quarter_months(period: str) -> list[str]:
    """The months of ``YYYY-Qn`` (``"2026-Q3"`` → ``["2026-07", "2026-08", "2026-09"]``), or
    ``[period]`` for a month."""
    year, part = period.split("-")
    if not part.startswith("Q"):
        return [period]
    first = (int(part[1]) - 1) * 3 + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


def unit_summary(
    unit: str, period: str, rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> dict[str, Any]:
    """Record 2 of ``001 §V.2`` from the unit's ``evaluation_facts`` rows of ``period``: one line
    per person (by code) with step, score, proposed and final grade; counts by final grade
    among the decided, not evaluated, undecided (as ``services/evaluation/records.py``), which
    add up to the lines. The read models hold no general points nor task result: the list
    has no such columns (``general_points`` false); the evaluation service's record has them.

    Args:
        unit: the unit's name as printed (planning's name, else its code).
        names: person code → name (missing codes print no name).
    """
    ordered = sorted(rows, key=lambda r: r["person"])
    by_grade = dict.fromkeys(GRADES, 0)
    not_evaluated = undecided = 0
    lines = []
    for no, row in enumerate(ordered, 1):
        final = row["final_grade"]
        if row["status"] == "not_evaluated":
            not_evaluated += 1
        elif row["status"] not in DECIDED:
            undecided += 1
        elif final:
            by_grade[final] += 1
        lines.append(
            {
                "no": no,
                "person": row["person"],
                "name": names.get(row["person"]),
                "status": row["status"],
                "score": text(row["score"]),
                "grade": row["grade"],
                "final_grade": final,
                "final_grade_label": GRADE_LABELS[final] if final else None,
                "flags": list(row["flags"] or []),
            }
        )
    return {
        "record": "unit_summary",
        "title": f"{SUMMARY_TITLE} tháng {month_label(period)}",
        "unit": unit,
        "period": period,
        "general_points": False,  # not in the read models: no blank columns
        "lines": lines,
        "by_final_grade": by_grade,
        "not_evaluated": not_evaluated,
        "undecided": undecided,
        "total": len(lines),
    }


def commendation_list(
    unit: str, period: str, rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> dict[str, Any]:
    """Record 3 of ``001 §V.2``: the decided or published people whose final grade is A
    (``001 §I.1``, ``§IV.1`` step 5), best score first, then by code."""
    chosen = [r for r in rows if r["status"] in DECIDED and r["final_grade"] == "A"]
    chosen.sort(key=lambda r: (-(r["score"] or Decimal(0)), r["person"]))
    reason = f"{GRADE_LABELS['A']} tháng {month_label(period)}"
    lines = [
        {
            "no": no,
            "person": row["person"],
            "name": names.get(row["person"]),
            "score": text(row["score"]),
            "final_grade": "A",
            "final_grade_label": GRADE_LABELS["A"],
            "reason": reason,
        }
        for no, row in enumerate(chosen, 1)
    ]
    return {
        "record": "commendation_list",
        "title": f"{COMMENDATION_TITLE} tháng {month_label(period)}",
        "unit": unit,
        "period": period,
        "lines": lines,
        "total": len(lines),
    }


def person_card(
    month: Mapping[str, Any], name: str, unit: str | None, period: str
) -> dict[str, Any]:
    """The card of ``002`` from :func:`services.reporting.service.person_month`: tasks, points
    assigned and completed by task group, the month's totals, late / overdue / returned tasks,
    and the evaluation's score and grade (the final grade once set, else the proposed one).
    a, b, c are not in the read models and are left out."""
    groups = [
        {
            "group": GROUP_LABELS.get(g["task_group"], g["task_group"]),
            "tasks": g["total"],
            "points": text(g["points_assigned"]),
            "tasks_done": g["done"],
            "points_completed": text(g["points_completed"]),
        }
        for g in month["by_group"]
    ]
    totals = month["tasks"]
    evaluation = month["evaluation"] or {}
    grade = evaluation.get("final_grade") or evaluation.get("grade")
    return {
        "record": "person_card",
        "person": month["person"],
        "name": name,
        "unit": unit,
        "period": period,
        "groups": groups,
        "tasks": totals["total"],
        "points": text(totals["points_assigned"]),
        "tasks_done": totals["done"],
        "points_completed": text(totals["points_completed"]),
        "tasks_late": totals["late"],
        "tasks_overdue": totals["overdue"],
        "tasks_returned": totals["returned"],
        "score": text(evaluation.get("score")),
        "grade": grade,
        "grade_label": GRADE_LABELS[grade] if grade else None,
    }


def provincial_units(
    evaluations: Iterable[Mapping[str, Any]],
    tasks: Iterable[Mapping[str, Any]],
    unit_names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The unit lines of the summary of ``003`` from the ``evaluation_facts`` rows and the
    per-unit task rows (:func:`services.reporting.service.task_summary` with ``by="unit"``)
    of one or more months (rows of several months add up: a person counts once per month).

    Per unit: ``people`` (people-months in the read model), ``evaluated`` (decided or published,
    with a final grade A–D, as in :func:`unit_summary`), ``A``–``D``, ``not_evaluated`` (the
    step ``not_evaluated``, under half the working days, ``001 §II.2``), ``tasks`` (assigned,
    not cancelled), ``tasks_done``, ``tasks_late`` (done late + overdue and not done),
    ``score_total`` (sum of the evaluated people's scores).
    Units in code order; a unit's printed name from ``unit_names``, else its code.
    """
    blank = {
        "people": 0,
        "evaluated": 0,
        **dict.fromkeys(GRADES, 0),
        "not_evaluated": 0,
        "tasks": 0,
        "tasks_done": 0,
        "tasks_late": 0,
        "score_total": Decimal(0),
    }
    lines: dict[str, dict[str, Any]] = {}
    for row in evaluations:
        line = lines.setdefault(row["unit"], dict(blank))
        line["people"] += 1
        final = row["final_grade"]
        if row["status"] == "not_evaluated":
            line["not_evaluated"] += 1
        elif row["status"] in DECIDED and final in GRADES:
            line["evaluated"] += 1
            line[final] += 1
            line["score_total"] += row["score"] or Decimal(0)
    for row in tasks:
        line = lines.setdefault(row["unit"], dict(blank))
        line["tasks"] += row["total"]
        line["tasks_done"] += row["done"]
        line["tasks_late"] += row["late"] + row["overdue"]
    return [
        {"unit": unit_names.get(unit, unit), **line, "score_total": text(line["score_total"])}
        for unit, line in sorted(lines.items())
    ]


def provincial_summary(
    period: str,
    province: str,
    reporter: str,
    units: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The summary of ``003`` (Phụ lục row 10): ``monthly`` for ``YYYY-MM``, ``quarterly`` (the
    3-monthly "sơ kết") for ``YYYY-Qn``, addressed to the provincial standing office."""
    return {
        "record": "provincial_summary",
        "kind": "quarterly" if "Q" in period else "monthly",
        "province": province,
        "reporter": reporter,
        "period": period,
        "units": [dict(u) for u in units],
    }


RANKING_TITLE = "Xếp hạng các cơ quan, đơn vị"


def unit_ranking(
    ranking: Mapping[str, Any], axis_label: str, tenant_names: Mapping[str, str]
) -> dict[str, Any]:
    """The ranking record from :func:`services.reporting.queries.unit_ranking` with the
    ``tenant_name`` / ``unit_name`` of :func:`services.reporting.api.named_ranking`: per unit
    its rank and value on the axis, tasks (total, done, overdue) and grades (graded, A)."""
    lines = []
    for item in ranking["units"]:
        tasks = item["tasks"] or {}
        grades = item["grades"] or {}
        value = item["value"]
        lines.append(
            {
                "rank": item["rank"],
                "tenant": item.get("tenant_name") or item["tenant"],
                "unit": item.get("unit_name") or item["unit"],
                "value": None if value is None else text(Decimal(value)),
                "tasks": tasks.get("total", 0),
                "tasks_done": tasks.get("done", 0),
                "tasks_overdue": tasks.get("overdue", 0),
                "graded": grades.get("graded", 0),
                "A": grades.get("A", 0),
            }
        )
    return {
        "record": "unit_ranking",
        "title": f"{RANKING_TITLE} tháng {month_label(ranking['period'])}",
        "period": ranking["period"],
        "axis": axis_label,
        "percent": ranking["axis"].endswith("_percent"),
        "tenants": [tenant_names.get(t, t) for t in ranking["covers"]["tenants"]],
        "lines": lines,
    }
