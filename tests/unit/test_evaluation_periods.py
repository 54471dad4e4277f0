"""Quarterly/annual results from months and the leader factor d (services/evaluation/periods)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.evaluation.periods import (
    MonthOutcome,
    quarter,
    quarter_of,
    subordinates_pass,
    summarise,
    year_end_needs_justification,
)
from services.evaluation.scoring import Grade


def months(*scores: str | None, year: int = 2026) -> list[MonthOutcome]:
    return [
        MonthOutcome(f"{year}-{i + 1:02d}", None if s is None else Decimal(s))
        for i, s in enumerate(scores)
    ]


def test_average_is_exact_and_rounded_half_up_once() -> None:
    # 89.95 average → 90.0 → A; rounding each month first would not change this one, but
    # 83.25 / 83.3 style halves must round up on the exact mean
    result = summarise(months("89.9", "90.0"))
    assert (result.average, result.grade) == (Decimal("90.0"), Grade.A)
    assert summarise(months("83.2", "83.3")).average == Decimal("83.3")


def test_months_without_score_do_not_count() -> None:
    result = summarise(months("80.0", None, "70.0"))
    assert (result.months_evaluated, result.months_total) == (2, 3)
    assert result.average == Decimal("75.0") and result.monthly_grades == {Grade.B: 2}
    empty = summarise(months(None, None))
    assert empty.average is None and empty.grade is None


def test_quarter_picks_its_three_months() -> None:
    year = months("95", "95", "95", "60", "60", "60")
    assert quarter_of("2026-04") == 2 and quarter_of("2026-12") == 4
    assert quarter(year, 2026, 1).grade is Grade.A
    assert quarter(year, 2026, 2).average == Decimal("60.0")
    with pytest.raises(ValueError):
        quarter_of("2026-13")


def test_duplicate_month_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        summarise([MonthOutcome("2026-01", Decimal(80)), MonthOutcome("2026-01", Decimal(90))])


def test_year_end_far_from_tracked_data_needs_justification() -> None:
    tracked = summarise(months("75", "78", "80"))  # B
    assert not year_end_needs_justification(Grade.B, tracked)
    assert year_end_needs_justification(Grade.A, tracked)
    assert not year_end_needs_justification(Grade.A, tracked, max_steps=1)
    assert year_end_needs_justification(Grade.D, tracked, max_steps=1)
    assert year_end_needs_justification(Grade.B, summarise(months(None)))


def test_factor_d_needs_every_subordinate_at_50() -> None:
    assert subordinates_pass([Decimal("50.0"), Decimal("88.1"), None])
    assert not subordinates_pass([Decimal("49.9"), Decimal("95")])
    assert subordinates_pass([])
