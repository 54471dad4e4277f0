"""The unit's written monthly analysis in Vietnamese, generated from its figures by rules.

Like the "Phân tích tổng quan" of ``002`` ("Báo cáo tự động": total tasks, completed,
on time, late, overdue, where the unfinished work is concentrated), but produced by fixed rules
from the unit's figures — no external AI service (``DOMAIN.md §9``, issue 6). The analysis says
which task groups slipped, who is late in the cycle (``001 §IV.1``, ``000 §VI.3`` deadlines),
the grade distribution (``001 §II.2``) and what changed since last month (``000 §II.1(4)``:
read trends, not only absolute figures).

Every :class:`Sentence` carries the figures it states, keyed by their path in the input
(``this.total.completed_points``, ``last.groups.<group>.completion_pct``,
``this.grades.D``, ``this.period.month`` …); every number in a sentence's text is one of those
values, written the same way. Derived figures (completion %, changes) are stated rounded
half-up to 0.1 and the comparisons use the stated values, so the text never contradicts
itself.

Completion of a group = completed points / assigned points × 100 % (``001 §III.2``, the a
ratio). A group *slipped* when its completion fell by at least ``slip_points`` percentage
points since last month (tenant setting, default 5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = [
    "DEFAULT_SLIP_POINTS",
    "GRADE_LABELS",
    "GroupFigures",
    "Sentence",
    "UnitFigures",
    "monthly_analysis",
]

#: Default drop in completion (percentage points) that counts as a group slipping.
DEFAULT_SLIP_POINTS = Decimal(5)

#: Vietnamese names of the grades (``001 §II.2``) and the scoreless outcomes (``DOMAIN.md §5``).
GRADE_LABELS: dict[str, str] = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
    "not_evaluated": "Không đánh giá",
    "no_tasks": "Không có nhiệm vụ",
}

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """One task group's month (e.g. "Nhiệm vụ trọng tâm").

    Attributes:
        name: the group's name, unique in the unit's month.
        assigned_points, completed_points: converted points (``001 §III.1``), ``Decimal``.
        on_time, late: tasks completed on time / late (counts).
        overdue: tasks past due and not completed (count).
        returned: returns of products for rework (count).
    """

    name: str
    assigned_points: Decimal
    completed_points: Decimal
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    returned: int = 0


@dataclass(frozen=True, slots=True)
class UnitFigures:
    """A unit's figures for one month.

    Attributes:
        unit: the unit's name.
        period: ``YYYY-MM``.
        groups: per task group, in display order.
        late_people: names of the people late at a step of the monthly cycle.
        grades: people per grade ``A``–``D`` and ``not_evaluated`` / ``no_tasks``.
    """

    unit: str
    period: str
    groups: tuple[GroupFigures, ...]
    late_people: tuple[str, ...] = ()
    grades: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of the analysis and the figures it states (path → stated value)."""

    text: str
    figures: dict[str, object]


def _stated(value: Fraction | Decimal) -> Decimal:
    """``value`` rounded half-up to 0.1, written without a trailing ``.0``."""
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else value
    )
    rounded = exact.quantize(_TENTH, rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral_value() else rounded


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return _stated(Fraction(part) * 100 / Fraction(whole)) if whole else None


def _n(value: Decimal | int) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _month(period: str) -> tuple[int, int]:
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"period: {period!r} is not YYYY-MM")
    return int(match[1]), int(match[2])


def _check(figures: UnitFigures, which: str) -> None:
    _month(figures.period)
    names: set[str] = set()
    for g in figures.groups:
        if g.name in names:
            raise ValueError(f"groups: {which}: duplicate group {g.name!r}")
        names.add(g.name)
        for attr in ("assigned_points", "completed_points"):
            value = getattr(g, attr)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{attr}: {which}: group {g.name!r} has {value!r}")
        if g.completed_points > g.assigned_points:
            raise ValueError(
                f"completed_points: {which}: group {g.name!r} completed {g.completed_points} "
                f"of {g.assigned_points} assigned points"
            )
        for attr in ("on_time", "late", "overdue", "returned"):
            value = getattr(g, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{attr}: {which}: group {g.name!r} has {value!r}")
    for grade, count in figures.grades.items():
        if grade not in GRADE_LABELS:
            raise ValueError(f"grades: {which}: unknown grade {grade!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"grades: {which}: {grade} has {count!r}")


@dataclass(frozen=True, slots=True)
class _Totals:
    assigned: Decimal
    completed: Decimal
    on_time: int
    late: int
    overdue: int
    returned: int

    @property
    def pct(self) -> Decimal | None:
        return _pct(self.completed, self.assigned)


def _totals(figures: UnitFigures) -> _Totals:
    gs = figures.groups
    return _Totals(
        assigned=sum((g.assigned_points for g in gs), Decimal(0)),
        completed=sum((g.completed_points for g in gs), Decimal(0)),
        on_time=sum(g.on_time for g in gs),
        late=sum(g.late for g in gs),
        overdue=sum(g.overdue for g in gs),
        returned=sum(g.returned for g in gs),
    )


def _overview(this: UnitFigures, t: _Totals) -> Sentence:
    year, month = _month(this.period)
    figures: dict[str, object] = {
        "this.unit": this.unit,
        "this.period.month": month,
        "this.period.year": year,
        "this.total.completed_points": t.completed,
        "this.total.assigned_points": t.assigned,
        "this.total.on_time": t.on_time,
        "this.total.late": t.late,
        "this.total.overdue": t.overdue,
        "this.total.returned": t.returned,
    }
    if t.pct is None:
        head = f"Tháng {month}/{year}, {this.unit} không có nhiệm vụ được giao"
    else:
        figures["this.total.completion_pct"] = t.pct
        head = (
            f"Tháng {month}/{year}, {this.unit} hoàn thành {_n(t.completed)}/{_n(t.assigned)} "
            f"điểm nhiệm vụ được giao ({_n(t.pct)}%)"
        )
    text = (
        f"{head}; {t.on_time} nhiệm vụ hoàn thành đúng hạn, {t.late} nhiệm vụ hoàn thành muộn, "
        f"{t.overdue} nhiệm vụ quá hạn, {t.returned} lượt trả lại sản phẩm."
    )
    return Sentence(text, figures)


def _change(last: UnitFigures, t: _Totals, t0: _Totals) -> Sentence | None:
    p1, p0 = t.pct, t0.pct
    if p1 is None or p0 is None:
        return None
    year, month = _month(last.period)
    figures: dict[str, object] = {
        "last.period.month": month,
        "last.period.year": year,
        "last.total.completion_pct": p0,
        "this.total.completion_pct": p1,
    }
    if p1 == p0:
        return Sentence(
            f"So với tháng {month}/{year}, tỷ lệ hoàn thành không đổi ({_n(p1)}%).", figures
        )
    diff = abs(p1 - p0)
    figures["change.total.completion_pct"] = diff
    verb, word = ("tăng", "lên") if p1 > p0 else ("giảm", "xuống")
    return Sentence(
        f"So với tháng {month}/{year}, tỷ lệ hoàn thành {verb} {_n(diff)} điểm phần trăm "
        f"(từ {_n(p0)}% {word} {_n(p1)}%).",
        figures,
    )


def _group_changes(this: UnitFigures, last: UnitFigures, slip_points: Decimal) -> list[Sentence]:
    before = {g.name: g for g in last.groups}
    out: list[Sentence] = []
    slipped = False
    for g in this.groups:
        old = before.get(g.name)
        if old is None:
            continue
        p1 = _pct(g.completed_points, g.assigned_points)
        p0 = _pct(old.completed_points, old.assigned_points)
        if p1 is None or p0 is None or abs(p1 - p0) < slip_points:
            continue
        key = f"groups.{g.name}"
        figures: dict[str, object] = {
            f"this.{key}.name": g.name,
            f"last.{key}.completion_pct": p0,
            f"this.{key}.completion_pct": p1,
        }
        if p1 < p0:
            slipped = True
            figures[f"this.{key}.completed_points"] = g.completed_points
            figures[f"this.{key}.assigned_points"] = g.assigned_points
            text = (
                f"Nhóm «{g.name}» giảm tỷ lệ hoàn thành từ {_n(p0)}% xuống {_n(p1)}% "
                f"(hoàn thành {_n(g.completed_points)}/{_n(g.assigned_points)} điểm)."
            )
        else:
            text = f"Nhóm «{g.name}» tăng tỷ lệ hoàn thành từ {_n(p0)}% lên {_n(p1)}%."
        out.append(Sentence(text, figures))
    if not slipped:
        out.insert(
            0,
            Sentence(
                "Không nhóm nhiệm vụ nào giảm tỷ lệ hoàn thành từ "
                f"{_n(slip_points)} điểm phần trăm trở lên so với tháng trước.",
                {"rules.slip_points": slip_points},
            ),
        )
    return out


def _group_problems(this: UnitFigures, last: UnitFigures | None) -> list[Sentence]:
    before = {g.name: g for g in last.groups} if last else {}
    out: list[Sentence] = []
    for g in this.groups:
        if not (g.overdue or g.late or g.returned):
            continue
        key = f"groups.{g.name}"
        figures: dict[str, object] = {
            f"this.{key}.name": g.name,
            f"this.{key}.overdue": g.overdue,
            f"this.{key}.late": g.late,
            f"this.{key}.returned": g.returned,
        }
        text = (
            f"Nhóm «{g.name}»: {g.overdue} nhiệm vụ quá hạn, {g.late} nhiệm vụ hoàn thành muộn, "
            f"{g.returned} lượt trả lại"
        )
        old = before.get(g.name)
        if old is not None:
            figures[f"last.{key}.overdue"] = old.overdue
            figures[f"last.{key}.late"] = old.late
            figures[f"last.{key}.returned"] = old.returned
            text += (
                f" (tháng trước: {old.overdue} quá hạn, {old.late} muộn, {old.returned} trả lại)"
            )
        out.append(Sentence(text + ".", figures))
    return out


def _late_people(this: UnitFigures) -> Sentence:
    people = this.late_people
    if not people:
        return Sentence(
            "Tất cả cán bộ thực hiện đúng hạn các bước đánh giá trong kỳ.",
            {"this.late_people": ()},
        )
    return Sentence(
        f"{len(people)} người chậm thực hiện các bước đánh giá trong kỳ: {', '.join(people)}.",
        {"this.late_people.count": len(people), "this.late_people": tuple(people)},
    )


def _grades(this: UnitFigures, last: UnitFigures | None) -> list[Sentence]:
    present = [g for g in GRADE_LABELS if this.grades.get(g)]
    if not present:
        return []
    figures: dict[str, object] = {f"this.grades.{g}": this.grades[g] for g in present}
    parts = ", ".join(f"{this.grades[g]} {GRADE_LABELS[g]}" for g in present)
    out = [Sentence(f"Kết quả xếp loại: {parts}.", figures)]
    if last is None:
        return out
    changed = [g for g in GRADE_LABELS if this.grades.get(g, 0) != last.grades.get(g, 0)]
    if changed:
        year, month = _month(last.period)
        figs: dict[str, object] = {"last.period.month": month, "last.period.year": year}
        items = []
        for g in changed:
            old, new = last.grades.get(g, 0), this.grades.get(g, 0)
            figs[f"last.grades.{g}"] = old
            figs[f"this.grades.{g}"] = new
            items.append(f"{GRADE_LABELS[g]} từ {old} {'lên' if new > old else 'xuống'} {new}")
        out.append(Sentence(f"So với tháng {month}/{year}: {'; '.join(items)}.", figs))
    return out


def monthly_analysis(
    this: UnitFigures,
    last: UnitFigures | None = None,
    *,
    slip_points: Decimal = DEFAULT_SLIP_POINTS,
) -> list[Sentence]:
    """The unit's monthly analysis: Vietnamese sentences, each with the figures it states.

    Args:
        this: the unit's figures for the month analysed.
        last: the same unit's figures for the previous month, if any (enables the comparisons).
        slip_points: drop in a group's completion, in percentage points, that is reported as a
            slip (tenant setting, default 5); rises of the same size are reported too.

    Returns:
        In order: the overview; the change of the unit's completion; groups that slipped or
        improved (or a sentence that none slipped); groups with overdue, late or returned work;
        who is late in the cycle; the grade distribution and its changes.

    Raises:
        ValueError: a period not ``YYYY-MM`` or ``last`` not before ``this``; a duplicate group;
            negative or non-``Decimal`` points, completed above assigned; a negative count; an
            unknown grade; ``slip_points`` not positive. The message starts with the field.
    """
    _check(this, "this")
    if not isinstance(slip_points, Decimal) or not slip_points > 0:
        raise ValueError(f"slip_points: must be a positive Decimal, got {slip_points!r}")
    totals = _totals(this)
    out = [_overview(this, totals)]
    if last is not None:
        _check(last, "last")
        if _month(last.period) >= _month(this.period):
            raise ValueError(f"last: period {last.period} is not before {this.period}")
        change = _change(last, totals, _totals(last))
        if change is not None:
            out.append(change)
        out += _group_changes(this, last, slip_points)
    out += _group_problems(this, last)
    out.append(_late_people(this))
    out += _grades(this, last)
    return out
