"""The monthly score of a public servant — pure rules, exact arithmetic, no I/O.

Implements ``DOMAIN.md §5`` from the regulations in ``shared/seeds/``:

* ``001`` = ``001_d4bf1d183fe0817b.txt`` (Phúc Lợi guide implementing Regulation 11-QĐ/TU),
* ``002`` = ``002_d6bfb34b4564ffdb.txt`` (Hà Nội OKR-KPI training deck, worked example),
* ``000`` = ``000_1d80ea679aee8796.txt`` (Khương Đình guide, the 30%-exceeded rule).

Everything is computed with integers and :class:`fractions.Fraction`; only the final score is
rounded (half-up, to 0.1 point) and the grade is taken from the rounded score. Points are
*converted* points (quantity × conversion coefficient, ``001 §III.1``).

The per-task rules reduce a month to a handful of exact sums (:class:`TaskTotals`), so the same
:func:`score_totals` scores one person (:func:`score_month`) or a whole tenant-month whose sums
were aggregated elsewhere (``services.evaluation.month_import``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction
from math import lcm
from typing import NamedTuple

__all__ = [
    "DEDUCTION_STEPS",
    "DelayPenaltyUnit",
    "Grade",
    "LeaderFactors",
    "MonthlyResult",
    "ScoringRules",
    "Status",
    "TaskRecord",
    "TaskTotals",
    "apply_quota",
    "converted_points",
    "grade_for",
    "remaining_steps",
    "round_half_up",
    "score_month",
    "score_totals",
    "totals_of",
]

#: A deduction removes 25% of one product's points (``001 §III.2``): a product is worth
#: ``DEDUCTION_STEPS`` quarter-steps and each failed review or delay takes one away.
DEDUCTION_STEPS = 4

#: Maximum of the general criteria (``001 §II.1``: 30 of 100 points).
GENERAL_MAX = 30
#: Weight of the task result in the score (``001 §II.1``: 70 of 100 points).
TASK_WEIGHT = 70
#: Share of working days below which a person is not evaluated (``001 §I.6``).
MIN_WORKED_SHARE = Fraction(1, 2)
#: Leader factor values d, đ, e: met → 100%, not met → 50% (``001 §III.3``).
FACTOR_MET = Fraction(1)
FACTOR_NOT_MET = Fraction(1, 2)


class DelayPenaltyUnit(StrEnum):
    """What one 25% timeliness deduction is counted per (tenant setting, ``DOMAIN.md §5``).

    ``per_delay``: each late submission (``001 §III.2`` "mỗi lần chậm"), the default;
    ``per_day``: each day late (``002`` "Chậm 1 ngày (-25%)").
    """

    PER_DELAY = "per_delay"
    PER_DAY = "per_day"


class Status(StrEnum):
    """Outcome of a person's month (``001 §I.6``; ``DOMAIN.md §5``)."""

    EVALUATED = "evaluated"
    NOT_EVALUATED = "not_evaluated"
    NO_TASKS = "no_tasks"


class Grade(StrEnum):
    """The four monthly grades of ``001 §II.2``."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def label(self) -> str:
        """The grade's Vietnamese name, e.g. ``"Hoàn thành tốt nhiệm vụ"`` for B."""
        return _GRADE_LABELS[self]


#: Lowest score of each grade above D, in tenths of a point (``001 §II.2``).
GRADE_FLOORS_TENTHS = ((900, Grade.A), (700, Grade.B), (500, Grade.C))

_GRADE_LABELS = {
    Grade.A: "Hoàn thành xuất sắc nhiệm vụ",
    Grade.B: "Hoàn thành tốt nhiệm vụ",
    Grade.C: "Hoàn thành nhiệm vụ",
    Grade.D: "Không hoàn thành nhiệm vụ",
}


@dataclass(frozen=True, slots=True)
class ScoringRules:
    """A tenant's scoring settings (``DOMAIN.md §5``).

    Attributes:
        delay_penalty_unit: see :class:`DelayPenaltyUnit`; default ``per_delay`` (``001 §III.2``).
        excellent_requires_exceeding: grade A also needs every task completed and at least
            ``exceeded_share_for_excellent`` of the assigned points exceeded (``000 §II.2``).
        excellent_quota_ratio: A grades allowed per B grade in a unit, 0.20 or up to 0.25
            for an outstanding unit (``001 §II.2.5``).
        exceeded_share_for_excellent: 30% (``000 §II.2``).
    """

    delay_penalty_unit: DelayPenaltyUnit = DelayPenaltyUnit.PER_DELAY
    excellent_requires_exceeding: bool = False
    excellent_quota_ratio: Fraction = Fraction(1, 5)
    exceeded_share_for_excellent: Fraction = Fraction(3, 10)

    def __post_init__(self) -> None:
        object.__setattr__(self, "delay_penalty_unit", DelayPenaltyUnit(self.delay_penalty_unit))
        ratio = Fraction(str(self.excellent_quota_ratio))
        if not 0 <= ratio <= Fraction(1, 4):
            raise ValueError(
                f"excellent_quota_ratio: {ratio} is outside 0–0.25 (001 §II.2.5 caps it at 25%)"
            )
        object.__setattr__(self, "excellent_quota_ratio", ratio)
        object.__setattr__(
            self, "exceeded_share_for_excellent", Fraction(str(self.exceeded_share_for_excellent))
        )


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One assigned task of the month, as the tasks ledger records it.

    Attributes:
        points: converted points (≥ 0), see :func:`converted_points`.
        completed: the product was approved as done within the month.
        quality_failures: times the product was returned for quality (``001 §III.2``).
        delays: times it was submitted after its due date (``001 §III.2``).
        days_late: working days late in total, used with ``per_day`` (``002``).
        objective_cause: an authority confirmed an objective cause: no deduction (``001 §III.2``).
        exceeded: done ahead of time, at higher quality or with an innovation (``000 §II.2``).
        group: ``focus`` | ``regular`` | ``arising`` — informational here.
    """

    points: Fraction
    completed: bool
    quality_failures: int = 0
    delays: int = 0
    days_late: int = 0
    objective_cause: bool = False
    exceeded: bool = False
    group: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", Fraction(self.points))
        if self.points < 0:
            raise ValueError(f"points: {self.points} is negative")
        for name in ("quality_failures", "delays", "days_late"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: {getattr(self, name)} is negative")


class LeaderFactors(NamedTuple):
    """The three unit-level factors of a leader (``001 §III.3``).

    Attributes:
        all_subordinates_pass: d — every person under the leader scored grade C or better.
        unit_on_plan: đ — the unit met its plan on time and with quality (no long delays).
        unit_united: e — no internal-conflict reports in the period.
    """

    all_subordinates_pass: bool
    unit_on_plan: bool
    unit_united: bool


class TaskTotals(NamedTuple):
    """Exact sums over a person's month, as integers in units of ``1/scale`` point.

    Attributes:
        assigned: Σ points of all tasks.
        completed: Σ points of completed tasks (numerator of a).
        quality_steps: Σ points × remaining quality quarter-steps of completed tasks
            (= 4 × b's numerator, see :func:`remaining_steps`).
        timeliness_steps: the same for timeliness (= 4 × c's numerator).
        exceeded: Σ points of completed tasks marked exceeded.
        all_completed: every task was completed.
        scale: the unit of the sums; 1 for whole points, 10**6 for micro-points.
    """

    assigned: int = 0
    completed: int = 0
    quality_steps: int = 0
    timeliness_steps: int = 0
    exceeded: int = 0
    all_completed: bool = True
    scale: int = 1


@dataclass(frozen=True, slots=True)
class MonthlyResult:
    """A person's result for one month.

    Attributes:
        status: see :class:`Status`; the fields below are ``None`` unless ``evaluated``.
        a, b, c: quantity, quality, timeliness ratios 0–1 (``001 §III.2``).
        d, dd, e: leader factors d, đ, e — 1 or 1/2 (``001 §III.3``); ``None`` for staff.
        task_result: (a+b+c)/3 or (a+b+c+d+đ+e)/6, 0–1 (``001 §III.4``).
        score: points 0–100 with one decimal (``001 §II.1``, ``002``).
        grade: the grade before the unit quota (``001 §II.2``).
        notes: why a grade was changed by a tenant rule (Vietnamese).
        totals: the month's task sums the ratios come from.
    """

    status: Status
    a: Fraction | None = None
    b: Fraction | None = None
    c: Fraction | None = None
    d: Fraction | None = None
    dd: Fraction | None = None
    e: Fraction | None = None
    task_result: Fraction | None = None
    score: Decimal | None = None
    grade: Grade | None = None
    notes: tuple[str, ...] = ()
    totals: TaskTotals | None = None


def converted_points(quantity: Fraction | int | str, coefficient: Fraction | int | str) -> Fraction:
    """Points of a task = quantity × conversion coefficient (``001 §III.1``, ``000 §IV.3``).

    Both arguments are exact (``int``, ``Fraction`` or a decimal string such as ``"1.5"``).

    Raises:
        ValueError: either value is negative.
    """
    q, k = Fraction(quantity), Fraction(coefficient)
    if q < 0 or k < 0:
        raise ValueError("quantity and conversion coefficient must be ≥ 0")
    return q * k


def remaining_steps(failures: int) -> int:
    """Quarter-steps of a product left after ``failures`` 25% deductions, floored at 0.

    ``001 §III.2``: "mỗi lần … bị trừ 25% điểm … của sản phẩm/công việc đó"; a product cannot
    be worth less than nothing (``deductions_floor_at_zero`` golden case).
    """
    return max(0, DEDUCTION_STEPS - failures)


def _timeliness_events(task: TaskRecord, unit: DelayPenaltyUnit) -> int:
    """Number of 25% timeliness deductions of a task (``001 §III.2``; ``002`` for per_day)."""
    return task.days_late if unit is DelayPenaltyUnit.PER_DAY else task.delays


def totals_of(tasks: Iterable[TaskRecord], rules: ScoringRules) -> TaskTotals:
    """Reduce a month's tasks to :class:`TaskTotals` (``001 §III.2``).

    A completed product counts its points in a; its quality and timeliness points lose 25% per
    failed review / per delay (or per day late with ``per_day``), floor 0, unless an objective
    cause was confirmed. An incomplete product counts in the assigned points only. The sums are
    exact integers over the least common denominator of the points.
    """
    tasks = list(tasks)
    scale = lcm(*(t.points.denominator for t in tasks)) if tasks else 1
    assigned = completed = quality = timeliness = exceeded = 0
    all_completed = True
    for task in tasks:
        points = task.points.numerator * (scale // task.points.denominator)
        assigned += points
        if not task.completed:
            all_completed = False
            continue
        completed += points
        if task.exceeded:
            exceeded += points
        if task.objective_cause:
            quality += points * DEDUCTION_STEPS
            timeliness += points * DEDUCTION_STEPS
        else:
            quality += points * remaining_steps(task.quality_failures)
            late = _timeliness_events(task, rules.delay_penalty_unit)
            timeliness += points * remaining_steps(late)
    return TaskTotals(assigned, completed, quality, timeliness, exceeded, all_completed, scale)


def round_half_up(value: Fraction) -> Decimal:
    """Round a non-negative exact value to one decimal, halves up (``002`` "làm tròn đến 1 chữ
    số thập phân"; 83.25 → 83.3).

    Raises:
        ValueError: ``value`` is negative (scores never are).
    """
    if value < 0:
        raise ValueError(f"cannot round a negative score: {value}")
    return Decimal(_half_up_div(value.numerator * 10, value.denominator)).scaleb(-1)


def _half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up to an integer (both ≥ 0, denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def grade_for(score: Decimal) -> Grade:
    """Grade of a rounded score in points (``001 §II.2``): A 90–100, B 70–<90, C 50–<70,
    D <50."""
    return _grade_of_tenths(int(score.scaleb(1).to_integral_value(rounding=ROUND_FLOOR)))


def _grade_of_tenths(tenths: int) -> Grade:
    """:func:`grade_for` on a score given in tenths of a point (900 = 90.0)."""
    for floor, grade in GRADE_FLOORS_TENTHS:
        if tenths >= floor:
            return grade
    return Grade.D


def _factor(met: bool) -> Fraction:
    return FACTOR_MET if met else FACTOR_NOT_MET


def score_totals(
    totals: TaskTotals,
    *,
    general_score: Fraction | Decimal | int | str,
    working_days: int,
    days_worked: int,
    leader: LeaderFactors | None = None,
    rules: ScoringRules | None = None,
) -> MonthlyResult:
    """Score a month from its task sums.

    Rules, in order:

    1. fewer than 50% of the working days worked → ``not_evaluated`` (``001 §I.6``);
    2. no assigned points → ``no_tasks``: no task result, listed for the authority
       (``DOMAIN.md §5``);
    3. a = completed / assigned, b = quality / assigned, c = timeliness / assigned
       (``001 §III.2``);
    4. task result = (a+b+c)/3 for staff (``001 §III.4.1``), (a+b+c+d+đ+e)/6 for a leader with
       d, đ, e each 100% or 50% (``001 §III.3``, ``§III.4.2``);
    5. score = general criteria (0–30 points) + task result × 70, rounded half-up to 0.1
       (``001 §II.1``, ``002``);
    6. grade from the rounded score (``001 §II.2``); with ``excellent_requires_exceeding`` an A
       also needs all tasks completed and ≥ 30% of the assigned points exceeded, else B
       (``000 §II.2``).

    The arithmetic is on integers (the sums are integers in ``1/scale`` point); the ratios in the
    result are exact fractions.

    Raises:
        ValueError: general score outside 0–30, non-positive working days, or days worked
            negative or above the working days.
    """
    rules = rules or ScoringRules()
    if isinstance(general_score, Fraction):
        general = general_score
    elif isinstance(general_score, Decimal):
        general = Fraction(str(general_score))
    else:
        general = Fraction(general_score)
    g_num, g_den = general.numerator, general.denominator
    if not 0 <= g_num <= GENERAL_MAX * g_den:
        raise ValueError(f"general_score: {general_score} is outside 0–30 points (001 §II.1)")
    if working_days <= 0:
        raise ValueError(f"working_days: {working_days} must be positive")
    if not 0 <= days_worked <= working_days:
        raise ValueError(f"days_worked: {days_worked} is outside 0–{working_days}")

    if days_worked * MIN_WORKED_SHARE.denominator < working_days * MIN_WORKED_SHARE.numerator:
        return MonthlyResult(Status.NOT_EVALUATED)
    assigned = totals.assigned
    if assigned == 0:
        return MonthlyResult(Status.NO_TASKS)

    result_num, result_den = _task_result_parts(totals, leader)
    # score × 10 = 10·general + 700·task_result, rounded half-up
    tenths = _half_up_div(
        10 * g_num * result_den + 10 * TASK_WEIGHT * result_num * g_den,
        g_den * result_den,
    )
    score = Decimal(tenths).scaleb(-1)
    grade = _grade_of_tenths(tenths)
    notes: tuple[str, ...] = ()
    if grade is Grade.A and rules.excellent_requires_exceeding:
        share = Fraction(totals.exceeded, totals.assigned)
        if not totals.all_completed or share < rules.exceeded_share_for_excellent:
            grade = Grade.B
            notes = (
                "000 §II.2: loại A cần hoàn thành 100% nhiệm vụ và ≥ 30% vượt mức "
                f"(đã hoàn thành hết: {'có' if totals.all_completed else 'không'}, "
                f"vượt mức: {float(share):.1%})",
            )
    d, dd, e = (None, None, None) if leader is None else (_factor(met) for met in leader)
    return MonthlyResult(
        Status.EVALUATED,
        a=Fraction(totals.completed, totals.assigned),
        b=Fraction(totals.quality_steps, DEDUCTION_STEPS * totals.assigned),
        c=Fraction(totals.timeliness_steps, DEDUCTION_STEPS * totals.assigned),
        d=d,
        dd=dd,
        e=e,
        task_result=Fraction(result_num, result_den),
        score=score,
        grade=grade,
        notes=notes,
        totals=totals,
    )


def _task_result_parts(totals: TaskTotals, leader: LeaderFactors | None) -> tuple[int, int]:
    """Task result as an integer ratio (``001 §III.4``).

    Staff: (a+b+c)/3 with a+b+c = (4·completed + quality_steps + timeliness_steps)/(4·assigned).
    Leader: (a+b+c+d+đ+e)/6, where d, đ, e are 1 or 1/2, so 2·(d+đ+e) is a whole number.
    """
    abc4 = DEDUCTION_STEPS * totals.completed + totals.quality_steps + totals.timeliness_steps
    if leader is None:
        return abc4, 3 * DEDUCTION_STEPS * totals.assigned
    half_units = sum(2 if met else 1 for met in leader)
    return (
        2 * abc4 + DEDUCTION_STEPS * totals.assigned * half_units,
        2 * 6 * DEDUCTION_STEPS * totals.assigned,
    )


def score_month(
    tasks: Iterable[TaskRecord],
    *,
    general_score: Fraction | Decimal | int | str,
    working_days: int,
    days_worked: int,
    leader: LeaderFactors | None = None,
    rules: ScoringRules | None = None,
) -> MonthlyResult:
    """Score one person's month from the task ledger: :func:`totals_of` then
    :func:`score_totals` (``001 §II–§III``, ``002``, ``000 §II.2``).

    Raises:
        ValueError: as :func:`score_totals`.
    """
    rules = rules or ScoringRules()
    return score_totals(
        totals_of(tasks, rules),
        general_score=general_score,
        working_days=working_days,
        days_worked=days_worked,
        leader=leader,
        rules=rules,
    )


def apply_quota(
    grades: Mapping[str, tuple[Decimal, Grade]], ratio: Fraction | Decimal | float | str
) -> dict[str, Grade]:
    """Final grades of one unit (or group with similar work) after the excellence quota.

    ``001 §II.2.5``: the number of A grades may not exceed ``ratio`` (20%, or up to 25% for an
    outstanding unit) of the number of B grades. While it does, the lowest-scored A becomes B,
    and each move adds one B. Ties on score move the person whose id sorts last first, so the
    result never depends on input order.

    Args:
        grades: person id → (rounded score in points, grade before the quota).
        ratio: allowed A per B, 0–0.25; a float is read through its decimal text (0.2 → 1/5).

    Returns:
        person id → final grade (only A can change, to B).

    Raises:
        ValueError: ratio outside 0–0.25.
    """
    limit = Fraction(str(ratio))
    if not 0 <= limit <= Fraction(1, 4):
        raise ValueError(f"ratio: {ratio} is outside 0–0.25 (001 §II.2.5)")
    final = {person: grade for person, (_, grade) in grades.items()}
    a_people = sorted((p for p, (_, g) in grades.items() if g is Grade.A), reverse=True)
    a_people.sort(key=lambda p: grades[p][0])  # stable: equal scores keep the reversed id order
    a_count = len(a_people)
    b_count = sum(1 for g in final.values() if g is Grade.B)
    for person in a_people:
        if a_count <= limit * b_count:
            break
        final[person] = Grade.B
        a_count -= 1
        b_count += 1
    return final
