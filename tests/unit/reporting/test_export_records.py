"""The export records built from read-model rows (``services/reporting/export_records.py``),
validated by the export library's shapes; expected figures written out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.common.exports import parse_record
from services.reporting import export_records as er


def row(person: str, unit: str, status: str, score: str | None, final: str | None) -> dict:
    return {
        "person": person,
        "unit": unit,
        "status": status,
        "score": Decimal(score) if score else None,
        "grade": final,
        "final_grade": final,
        "flags": [],
    }


ROWS = [
    row("P4", "U1", "published", "95.000000", "A"),
    row("P2", "U1", "decided", "95.000000", "A"),
    row("P3", "U1", "reviewed", "97.5", "A"),  # not decided yet: not proposed, undecided
    row("P1", "U1", "published", "70.25", "C"),
    row("P5", "U1", "not_evaluated", None, None),
]


def test_quarter_months() -> None:
    assert er.quarter_months("2026-Q3") == ["2026-07", "2026-08", "2026-09"]
    assert er.quarter_months("2026-Q1") == ["2026-01", "2026-02", "2026-03"]
    assert er.quarter_months("2026-06") == ["2026-06"]


def test_unit_summary_counts_only_the_decided_grades() -> None:
    data = er.unit_summary("Văn phòng", "2026-06", ROWS, {"P1": "Lê Thị Một"})
    record: Any = parse_record(data)
    assert [line.person for line in record.lines] == ["P1", "P2", "P3", "P4", "P5"]
    assert record.lines[0].name == "Lê Thị Một" and record.lines[1].name is None
    assert record.lines[0].score == "70.25" and record.lines[1].score == "95"
    assert record.by_final_grade == {"A": 2, "B": 0, "C": 1, "D": 0}
    assert (record.not_evaluated, record.undecided, record.total) == (1, 1, 5)


def test_commendation_best_score_first_then_code() -> None:
    record: Any = parse_record(er.commendation_list("Văn phòng", "2026-06", ROWS, {}))
    assert [(line.no, line.person, line.score) for line in record.lines] == [
        (1, "P2", "95"),
        (2, "P4", "95"),
    ]
    assert record.lines[0].reason == "Hoàn thành xuất sắc nhiệm vụ tháng 06/2026"


def test_provincial_units_add_months_and_count_late_and_overdue() -> None:
    may = [row("P1", "U1", "published", "80", "B"), row("P9", "U2", "published", "60", "C")]
    tasks = [
        {"unit": "U1", "total": 4, "done": 3, "late": 1, "overdue": 1},
        {"unit": "U1", "total": 2, "done": 2, "late": 0, "overdue": 0},
        {"unit": "U3", "total": 1, "done": 0, "late": 0, "overdue": 1},
    ]
    units = er.provincial_units([*ROWS, *may], tasks, {"U1": "Văn phòng", "U2": "Ban Tuyên giáo"})
    assert [u["unit"] for u in units] == ["Văn phòng", "Ban Tuyên giáo", "U3"]
    u1 = units[0]
    assert {k: u1[k] for k in ("people", "evaluated", "A", "B", "C", "D", "not_evaluated")} == {
        "people": 6,
        "evaluated": 4,  # P3 (reviewed) is not decided yet
        "A": 2,
        "B": 1,
        "C": 1,
        "D": 0,
        "not_evaluated": 1,
    }
    assert (u1["tasks"], u1["tasks_done"], u1["tasks_late"]) == (6, 5, 2)
    assert u1["score_total"] == "340.25"  # 95 + 95 + 70.25 + 80
    assert units[2]["people"] == 0 and units[2]["tasks_late"] == 1
    summary = er.provincial_summary("2026-Q2", "Tỉnh Thử", "Ban Tổ chức Tỉnh ủy", units)
    assert parse_record(summary).kind == "quarterly"  # type: ignore[union-attr]
