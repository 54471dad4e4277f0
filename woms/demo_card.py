"""``woms demo --worked-example``: the worked example of ``002`` scored on its own.

It scores "Bảng điểm đánh giá kết quả công việc tháng 6/2026" (12 tasks, 132 points → 83.9,
"Hoàn thành tốt") with the scoring engine and prints the person's card, every figure derived
from the task ledger — without starting the platform (the full demo is :mod:`woms.demo`).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from services.common.errors import InputError
from services.evaluation import cases
from services.evaluation.scoring import DEDUCTION_STEPS, round_half_up, totals_of

EXAMPLE = (
    Path(__file__).resolve().parent.parent / "data" / "examples" / "seed002_worked_example.json"
)
GROUP_LABELS = {"focus": "Trọng tâm", "regular": "Thường xuyên", "arising": "Phát sinh"}


def _percent(value: Fraction | None) -> str:
    """A ratio as a percentage with one decimal, rounded half-up like the scores (``002``)."""
    return "—" if value is None else f"{round_half_up(value * 100)}%"


def _points(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def worked_example_card(case: Path = EXAMPLE) -> None:
    """Score the scoring case ``case`` (default: 002's worked example) and print its card.

    Raises:
        typer.Exit: code 2 when the case file is invalid (file, line, column on stderr).
    """
    try:
        parsed = cases.load_scoring_case(case)
    except InputError as error:
        typer.echo(f"lỗi dữ liệu / input error: {error}", err=True)
        raise typer.Exit(2) from None
    result = cases.score_case(parsed)
    rules, records = cases.case_rules(parsed), cases.task_records(parsed)
    console = Console()
    name = parsed.person.name or parsed.person.id or "—"
    table = Table(title=f"BÁO CÁO NHIỆM VỤ ĐƯỢC GIAO — {name}  ({parsed.id or case.name})")
    for header in ("Nhóm", "Số việc", "Điểm giao", "Hoàn thành", "Chất lượng", "Đúng hạn"):
        table.add_column(header, justify="left" if header == "Nhóm" else "right")
    groups = [g for g in GROUP_LABELS if any(t.group == g for t in records)]
    others = [t for t in records if t.group not in GROUP_LABELS]
    rows = [(GROUP_LABELS[g], [t for t in records if t.group == g]) for g in groups]
    if others:
        rows.append(("Khác", others))
    rows.append(("Tổng cộng", records))
    for label, subset in rows:
        totals = totals_of(subset, rules)
        scale = Fraction(1, totals.scale)
        table.add_row(
            label,
            str(len(subset)),
            _points(totals.assigned * scale),
            _points(totals.completed * scale),
            _points(totals.quality_steps * scale / DEDUCTION_STEPS),
            _points(totals.timeliness_steps * scale / DEDUCTION_STEPS),
            style="bold" if label == "Tổng cộng" else None,
        )
    console.print(table)
    if result.task_result is None or result.score is None or result.grade is None:
        console.print(f"Trạng thái: {result.status.value}")
        return
    console.print(
        f"a (khối lượng) = {_percent(result.a)}   b (chất lượng) = {_percent(result.b)}   "
        f"c (tiến độ) = {_percent(result.c)}"
    )
    if result.d is None:
        formula = "(a + b + c) / 3"
    else:
        formula = "(a + b + c + d + đ + e) / 6"
        console.print(
            f"d = {_percent(result.d)}   đ = {_percent(result.dd)}   e = {_percent(result.e)}"
        )
    console.print(f"Kết quả thực hiện nhiệm vụ = {formula} = {_percent(result.task_result)}")
    console.print(
        f"Điểm = {parsed.general_score} (tiêu chí chung) + {_percent(result.task_result)} × 70 = "
        f"[bold]{result.score}[/bold] → loại {result.grade.value} "
        f"“{result.grade.label}”"
    )
    if parsed.source:
        console.print(f"Nguồn số liệu: {parsed.source}")
    console.print("Quy tắc: 001 §II–§III, 002, 000 §II.2 (xem DOMAIN.md §5).")
