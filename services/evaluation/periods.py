"""Quarterly and annual results from the monthly ones, and the leader factor d — pure rules.

* ``000 §VII.1–2`` / ``DOMAIN.md §8``: quarterly (leaders) and annual evaluation use the
  monthly results; the annual grade uses the year's average score; a year-end result far from
  the tracked data must be justified by the authority.
* ``001 §III.3a``: a head's factor d is 100% when every person under them scored at the level
  of grade C or better (≥ 50 points), 50% otherwise.

Scores are exact decimals in points (one decimal, as :func:`scoring.round_half_up` gives
them); averages are exact and rounded half-up to 0.1 only at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from services.evaluation.scoring import Grade, grade_for, round_half_up

#: Passing level for factor d: grade C starts at 50 points (``001 §II.2``, ``§III.3a``).
PASS_SCORE = Decimal(50)
_ORDER = (Grade.A, Grade.B, Grade.C, Grade.D)


@dataclass(frozen=True, slots=True)
class MonthOutcome:
    """One month of a person: ``period`` ``YYYY-MM``; ``score`` in points (None when not
    evaluated or without tasks)."""

    period: str
    score: Decimal | None


@dataclass(frozen=True, slots=True)
class PeriodResult:
    """A quarter's or year's result: the average of the evaluated months (points, one
    decimal), its grade, how many months were evaluated, and the monthly grade counts."""

    months_evaluated: int
    months_total: int
    average: Decimal | None
    grade: Grade | None
    monthly_grades: dict[Grade, int]


def quarter_of(period: str) -> int:
    """The quarter (1–4) of a ``YYYY-MM`` period.

    Raises:
        ValueError: not a ``YYYY-MM`` period.
    """
    year, month = period.split("-")
    if len(year) != 4 or not 1 <= int(month) <= 12:
        raise ValueError(f"period {period!r} is not YYYY-MM")
    return (int(month) - 1) // 3 + 1


def summarise(months: Sequence[MonthOutcome]) -> PeriodResult:
    """Average and grade over the evaluated months of a quarter or year (``000 §VII``,
    ``DOMAIN.md §8``: the annual grade uses the year's average score). Months without a score
    (not evaluated, no tasks) do not count in the average.

    Raises:
        ValueError: the same period appears twice.
    """
    periods = [m.period for m in months]
    if len(set(periods)) != len(periods):
        raise ValueError("a month appears twice")
    scores = [m.score for m in months if m.score is not None]
    if not scores:
        return PeriodResult(0, len(months), None, None, {})
    exact = sum((Fraction(str(s)) for s in scores), Fraction(0)) / len(scores)
    average = round_half_up(exact)
    counts = Counter(grade_for(s) for s in scores)
    return PeriodResult(
        months_evaluated=len(scores),
        months_total=len(months),
        average=average,
        grade=grade_for(average),
        monthly_grades={g: counts[g] for g in _ORDER if counts[g]},
    )


def quarter(months: Iterable[MonthOutcome], year: int, number: int) -> PeriodResult:
    """The result of quarter ``number`` of ``year`` from the months given (others ignored)."""
    chosen = [
        m for m in months if m.period.startswith(f"{year}-") and quarter_of(m.period) == number
    ]
    return summarise(chosen)


def year_end_needs_justification(
    proposed: Grade, tracked: PeriodResult, max_steps: int = 0
) -> bool:
    """Whether a proposed year-end grade is far from the tracked data: more than ``max_steps``
    grade steps away from the grade of the year's average (``000 §VII.2``: "kết quả cuối năm
    khác biệt lớn so với dữ liệu theo dõi thường xuyên" — the authority must examine the
    causes, grounds and evidence). The default 0 asks for a justification on any difference;
    a tenant may allow one step. Without tracked data any grade needs a justification.
    """
    if tracked.grade is None:
        return True
    return abs(_ORDER.index(proposed) - _ORDER.index(tracked.grade)) > max_steps


def subordinates_pass(scores: Iterable[Decimal | None]) -> bool:
    """Leader factor d met: every subordinate evaluated this month scored ≥ 50 points (grade C
    or better, ``001 §III.3a``); subordinates not evaluated are left out."""
    return all(score >= PASS_SCORE for score in scores if score is not None)
