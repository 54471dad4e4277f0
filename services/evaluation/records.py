"""The three monthly records of a unit — pure, no I/O (``001_d4bf1d183fe0817b.txt §V.2``).

``001 §V.2``: "Hồ sơ đánh giá, xếp loại hằng tháng được lưu trên phần mềm … gồm:
1. Phiếu tự đánh giá, chấm điểm xếp loại của từng cá nhân. 2. Danh sách tổng hợp kết quả đánh
giá xếp loại CBCCVC của đơn vị. 3. Danh sách đề nghị khen thưởng."

* :func:`person_form` — record 1: the person's general-criteria form row by row (maximum, the
  person's points, the manager's points), the task result (a, b, c — and d, đ, e for a head —
  and the result in %), score and grades.
* :func:`unit_summary` — record 2: one line per person of the unit, counts by final grade.
* :func:`commendation_list` — record 3: who is proposed for commendation: the people whose
  final grade (after the unit quota and any appeal) is A, "Hoàn thành xuất sắc nhiệm vụ"
  (``001 §I.1``: "biểu dương, khen thưởng CBCCVC hoàn thành xuất sắc nhiệm vụ được giao";
  ``§IV.1`` step 5), once decided; best score first.

Inputs are evaluation snapshots (:func:`services.evaluation.service.snapshot`: decimals as
text, a/b/c as exact fractions ``"26/33"``) and :class:`~services.evaluation.forms.FormTemplate`.
Outputs are plain JSON-ready data (points and scores as text, e.g. ``"83.9"``), ready for the
Excel/PDF exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.evaluation.forms import FORM_TOTAL, FormTemplate, section_totals
from services.evaluation.leaders import factors_of
from services.evaluation.scoring import FACTOR_MET, FACTOR_NOT_MET, Grade, round_half_up

PERSON_FORM_TITLE = "Phiếu tự đánh giá, chấm điểm xếp loại"
SUMMARY_TITLE = "Danh sách tổng hợp kết quả đánh giá, xếp loại CBCCVC"
COMMENDATION_TITLE = "Danh sách đề nghị khen thưởng"
#: Statuses whose grade is decided (the commendation list reads only these).
DECIDED = ("decided", "published")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _label(grade: str | None) -> str | None:
    return Grade(grade).label if grade else None


def _month(period: str) -> str:
    """``"2026-06"`` → ``"06/2026"``."""
    year, month = period.split("-")
    return f"{month}/{year}"


def task_result(snapshot: Mapping[str, Any]) -> dict[str, str | None] | None:
    """The task result of a snapshot: the factors and the result in percent.

    Staff: (a + b + c) / 3; a head with ``leader_factors``: (a + b + c + d + đ + e) / 6, d, đ, e
    being 100% or 50% (``001 §III.4``). a, b, c are the stored exact fractions (the suggestion
    from the same tasks ledger the decision scores). ``percent`` is rounded half-up to 0.1
    (``"77"`` for 305/396 = 77.02%).

    Returns:
        ``{"a", "b", "c", "d", "dd", "e": fraction text | None, "percent": text}``, or ``None``
        when the month has no task result (no tasks, not evaluated).
    """
    raw = [snapshot.get(f"suggested_{k}") for k in "abc"]
    if any(value is None for value in raw):
        return None
    abc = [Fraction(str(value)) for value in raw]
    leader = factors_of(snapshot.get("leader_factors"))
    factors: dict[str, Fraction | None] = dict(zip("abc", abc, strict=True))
    if leader is None:
        factors.update(d=None, dd=None, e=None)
        result = sum(abc, Fraction(0)) / 3
    else:
        d, dd, e = (
            FACTOR_MET if met else FACTOR_NOT_MET
            for met in (leader.all_subordinates_pass, leader.unit_on_plan, leader.unit_united)
        )
        factors.update(d=d, dd=dd, e=e)
        result = (sum(abc, Fraction(0)) + d + dd + e) / 6
    data: dict[str, str | None] = {k: None if v is None else str(v) for k, v in factors.items()}
    data["percent"] = _plain(round_half_up(result * 100))
    return data


def _row_points(rows: Mapping[str, Any] | None) -> dict[str, Decimal]:
    points = (rows or {}).get("points") or {}
    return {code: Decimal(str(value)) for code, value in points.items()}


def person_form(
    snapshot: Mapping[str, Any], template: FormTemplate | None, name: str | None = None
) -> dict[str, Any]:
    """Record 1 of ``001 §V.2``: the person's self-assessment form for the month.

    Args:
        snapshot: the evaluation (``service.snapshot``), with ``self_rows``/``review_rows``.
        template: the form the rows were given on (else the person's form in force); ``None``
            when the tenant has no template — the form then shows totals only.
        name: the person's name, when known.

    Returns:
        ``{"record": "person_form", "title", "person", "name", "unit", "period", "status",
        "form": {code, kind, title, effective_from} | None, "sections": [{code, title,
        max_points, self_points, manager_points, rows: [{code, text, max_points, self_points,
        manager_points}]}], "general": {max_points, self_points, manager_points}, "task_result"
        (see :func:`task_result`), "score", "grade", "grade_label", "final_grade",
        "final_grade_label", "review_comment", "flags"}``; points as text, ``None`` where not
        given (a total given without rows leaves the rows empty).
    """
    own, manager = _row_points(snapshot.get("self_rows")), _row_points(snapshot.get("review_rows"))
    sections: list[dict[str, Any]] = []
    form = None
    if template is not None:
        form = {
            "code": template.code,
            "kind": template.kind,
            "title": template.title,
            "effective_from": template.effective_from.isoformat(),
        }
        own_sums, manager_sums = section_totals(template, own), section_totals(template, manager)
        for section in template.sections:
            sections.append(
                {
                    "code": section.code,
                    "title": section.title,
                    "max_points": _plain(section.max_points),
                    "self_points": _plain(own_sums[section.code]) if own else None,
                    "manager_points": _plain(manager_sums[section.code]) if manager else None,
                    "rows": [
                        {
                            "code": row.code,
                            "text": row.text,
                            "max_points": _plain(row.max_points),
                            "self_points": _plain(own[row.code]) if row.code in own else None,
                            "manager_points": (
                                _plain(manager[row.code]) if row.code in manager else None
                            ),
                        }
                        for row in section.rows
                    ],
                }
            )
    return {
        "record": "person_form",
        "title": PERSON_FORM_TITLE,
        "person": snapshot["person"],
        "name": name,
        "unit": snapshot["unit"],
        "period": snapshot["period"],
        "status": snapshot["status"],
        "form": form,
        "sections": sections,
        "general": {
            "max_points": _plain(FORM_TOTAL),
            "self_points": snapshot.get("self_general"),
            "manager_points": snapshot.get("review_general"),
        },
        "task_result": task_result(snapshot),
        "score": snapshot.get("score"),
        "grade": snapshot.get("grade"),
        "grade_label": _label(snapshot.get("grade")),
        "final_grade": snapshot.get("final_grade"),
        "final_grade_label": _label(snapshot.get("final_grade")),
        "review_comment": snapshot.get("review_comment"),
        "flags": list(snapshot.get("flags") or []),
    }


def unit_summary(
    unit: str,
    period: str,
    snapshots: Iterable[Mapping[str, Any]],
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Record 2 of ``001 §V.2``: the unit's summary list of the month.

    Returns:
        ``{"record": "unit_summary", "title", "unit", "period", "lines": [{no, person, name,
        status, self_general, review_general, task_result (percent text | None), score,
        grade, final_grade, final_grade_label, flags}], "by_final_grade": {"A": n, "B", "C",
        "D"}, "not_evaluated": n, "undecided": n, "total": n}``; lines by person code.
        ``undecided`` counts people still before the decision (no final grade yet).
    """
    names = names or {}
    ordered = sorted(snapshots, key=lambda s: s["person"])
    lines = []
    by_grade = {grade.value: 0 for grade in Grade}
    not_evaluated = undecided = 0
    for no, snap in enumerate(ordered, 1):
        result = task_result(snap)
        final = snap.get("final_grade")
        if snap["status"] == "not_evaluated":
            not_evaluated += 1
        elif snap["status"] not in DECIDED:
            undecided += 1
        elif final:
            by_grade[final] += 1
        lines.append(
            {
                "no": no,
                "person": snap["person"],
                "name": names.get(snap["person"]),
                "status": snap["status"],
                "self_general": snap.get("self_general"),
                "review_general": snap.get("review_general"),
                "task_result": result["percent"] if result else None,
                "score": snap.get("score"),
                "grade": snap.get("grade"),
                "final_grade": final,
                "final_grade_label": _label(final),
                "flags": list(snap.get("flags") or []),
            }
        )
    return {
        "record": "unit_summary",
        "title": f"{SUMMARY_TITLE} tháng {_month(period)}",
        "unit": unit,
        "period": period,
        "lines": lines,
        "by_final_grade": by_grade,
        "not_evaluated": not_evaluated,
        "undecided": undecided,
        "total": len(lines),
    }


def commendation_list(
    unit: str,
    period: str,
    snapshots: Iterable[Mapping[str, Any]],
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Record 3 of ``001 §V.2``: the people proposed for commendation — decided or published,
    final grade A (after the quota of ``001 §II.2.5`` and any appeal answer), best score first
    (then person code).

    Returns:
        ``{"record": "commendation_list", "title", "unit", "period", "lines": [{no, person,
        name, score, final_grade, final_grade_label, reason}], "total": n}``.
    """
    names = names or {}
    chosen = [
        s for s in snapshots if s["status"] in DECIDED and s.get("final_grade") == Grade.A.value
    ]
    chosen.sort(key=lambda s: (-Decimal(str(s.get("score") or 0)), s["person"]))
    reason = f"{Grade.A.label} tháng {_month(period)}"
    lines = [
        {
            "no": no,
            "person": snap["person"],
            "name": names.get(snap["person"]),
            "score": snap.get("score"),
            "final_grade": Grade.A.value,
            "final_grade_label": Grade.A.label,
            "reason": reason,
        }
        for no, snap in enumerate(chosen, 1)
    ]
    return {
        "record": "commendation_list",
        "title": f"{COMMENDATION_TITLE} tháng {_month(period)}",
        "unit": unit,
        "period": period,
        "lines": lines,
        "total": len(lines),
    }
