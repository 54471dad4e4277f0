"""The published unit summary of the demo: read through the APIs, printed, exported.

* the unit's records of ``001 §V.2`` (``GET /units/{unit}/records/{period}`` as its head):
  record 2, the summary list, with score, grade and the final grade after the quota;
* each person's month (``GET /evaluations/{person}/{period}``) for a, b, c — exact fractions
  of the task ledger (``001 §III.2``), shown as percentages rounded half-up to 0.1 like the
  scores (``002``);
* the ward's final grades from the reporting read model (Kafka → ``woms reporting consume``);
* the summary list written as .xlsx and .pdf (the export library) and as ``summary.json``
  (the printed rows, for scripts and tests) under ``$WOMS_HOME/demo/``.
"""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from services.evaluation.scoring import Grade, round_half_up
from woms.demo_api import Api


@dataclass(frozen=True)
class Line:
    """One printed row: a, b, c as exact fraction text (``"97/132"``) or None."""

    person: str
    name: str | None
    status: str
    a: str | None
    b: str | None
    c: str | None
    general: str | None
    score: str | None
    grade: str | None
    final_grade: str | None
    flags: list[str]


GRADES = ("A", "B", "C", "D")


def percent(value: str | None) -> str:
    """An exact ratio (``"97/132"``) as a percentage rounded half-up to 0.1 (``"73.5%"``)."""
    if value is None:
        return "—"
    return f"{round_half_up(Fraction(value) * 100)}%"


def grade_text(grade: str | None) -> str:
    return "—" if grade is None else f"{grade} “{Grade(grade).label}”"


def exports_module() -> Any:
    """The export library: ``services.common.exports`` if present, else the reporting one."""
    for name in ("services.common.exports", "services.reporting.exports"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError("no export library (services.common.exports)")


def unit_lines(
    api: Api, unit: str, head: str, period: str, names: dict[str, str]
) -> tuple[list[Line], dict[str, Any]]:
    """The unit's summary rows and its records (``summary``, ``person_forms``); the records
    name people by code when the relation has no names, so ``names`` fills them in."""
    records = api.call("evaluation", "GET", f"/units/{unit}/records/{period}", head)
    for record in [records["summary"], *records.get("person_forms", [])]:
        for row in record.get("lines", [record]):
            if row.get("person") in names:
                row["name"] = names[row["person"]]
    lines = []
    for row in records["summary"]["lines"]:
        month = api.call(
            "evaluation", "GET", f"/evaluations/{row['person']}/{period}", "admin", "tenant_admin"
        )
        general = month.get("review_general") or month.get("self_general")
        lines.append(
            Line(
                person=row["person"],
                name=row.get("name"),
                status=month["status"],
                a=month.get("suggested_a"),
                b=month.get("suggested_b"),
                c=month.get("suggested_c"),
                general=general,
                score=month.get("score"),
                grade=month.get("grade"),
                final_grade=month.get("final_grade"),
                flags=list(month.get("flags", [])),
            )
        )
    return lines, records


def print_summary(console: Console, unit: str, period: str, lines: list[Line]) -> None:
    table = Table(title=f"DANH SÁCH TỔNG HỢP KẾT QUẢ — {unit}, tháng {period} (đã công bố)")
    headers = ("Mã", "Họ tên", "a", "b", "c", "Điểm", "Loại", "Sau tỷ lệ", "Ghi chú")
    for header in headers:
        table.add_column(
            header, justify="left" if header in ("Mã", "Họ tên", "Ghi chú") else "right"
        )
    for line in lines:
        notes = [f for f in line.flags if f in NOTES]
        table.add_row(
            line.person,
            line.name or "",
            percent(line.a),
            percent(line.b),
            percent(line.c),
            line.score or "—",
            line.grade or "—",
            line.final_grade or "—",
            ", ".join(NOTES[f] for f in notes),
        )
    console.print(table)


#: Flags shown in the summary's notes column (short Vietnamese labels).
NOTES = {
    "self_assessment_missed": "quá hạn tự đánh giá",
    "review_escalated": "nhận xét chuyển cấp trên",
    "decision_escalated": "xếp loại chuyển cấp trên",
    "no_tasks": "không có nhiệm vụ",
    "not_evaluated": "không đánh giá",
}


def ward_grades(api: Api, units: list[str], period: str) -> tuple[Counter[str], Counter[str]]:
    """Final grades A–D and flags of every month of ``units`` (evaluation API, as a tenant
    admin)."""
    grades: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    for unit in units:
        listing = api.call(
            "evaluation",
            "GET",
            "/evaluations",
            "admin",
            "tenant_admin",
            params={"unit": unit, "period": period},
        )
        for row in listing["items"]:
            if row.get("final_grade"):
                grades[row["final_grade"]] += 1
            flags.update(row.get("flags", []))
    return grades, flags


def reporting_grades(
    api: Api, period: str, expected: Counter[str], wait_s: float = 60.0
) -> tuple[dict[str, Any], bool]:
    """The ward's final grades in the reporting read model (Kafka → ``woms reporting
    consume``) and whether they equal ``expected``; waits up to ``wait_s`` for the consumer."""
    deadline = time.monotonic() + wait_s
    while True:
        answer = api.call(
            "reporting",
            "GET",
            "/reports/grades",
            "admin",
            "tenant_admin",
            params={"period": period},
        )
        totals = dict(answer.get("totals", {}))
        same = all(totals.get(g, 0) == expected.get(g, 0) for g in GRADES)
        if same or time.monotonic() > deadline:
            return totals, same
        time.sleep(1.0)


def names_of(api: Api) -> dict[str, str]:
    """Everyone's name by person code (planning ``GET /people``, paged)."""
    names: dict[str, str] = {}
    offset = 0
    while True:
        page = api.call(
            "planning",
            "GET",
            "/people",
            "admin",
            "tenant_admin",
            params={"offset": offset, "limit": 100},
        )
        names.update({p["code"]: p["name"] for p in page["items"]})
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return names


def write_exports(
    folder: Path, unit: str, period: str, records: dict[str, Any], lines: list[Line]
) -> list[Path]:
    """``<unit>-<period>-tong-hop.xlsx|pdf`` (record 2), the worked example's form as PDF,
    and ``summary.json`` (the printed rows) under ``folder``."""
    exports = exports_module()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("xlsx", "pdf"):
        path = folder / f"{unit}-{period}-tong-hop.{fmt}"
        path.write_bytes(exports.export(records["summary"], fmt))
        written.append(path)
    for form in records.get("person_forms", []):
        if form.get("person") == "P021":
            path = folder / f"P021-{period}-phieu.pdf"
            path.write_bytes(exports.export(form, "pdf"))
            written.append(path)
    data = {"unit": unit, "period": period, "lines": [asdict(line) for line in lines]}
    path = folder / "summary.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    written.append(path)
    return written
