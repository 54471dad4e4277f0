"""Joiners, leavers and movers (001 §I.6): working days from the Vietnamese calendar, who is
evaluated (at least half the working days present) and in which unit (a mover: the unit at
the end of the period)."""

from __future__ import annotations

from datetime import date

import pytest

from services.evaluation.people_of_month import (
    Stint,
    WorkingDays,
    people_of_month,
    period_bounds,
    presence,
    primary_units,
)
from workflows.monthly_cycle.inputs import PersonRef

DAYS = WorkingDays()
JUNE = period_bounds("2026-06")  # 22 working days: no holiday in June 2026


def test_working_days_follow_weekends_holidays_and_overrides() -> None:
    assert len(DAYS.between(*JUNE)) == 22
    # September 2026: 2/9 (National Day) and 1/9 (the day before) are off
    september = DAYS.between(*period_bounds("2026-09"))
    assert date(2026, 9, 2) not in september and len(september) == 20
    local = WorkingDays(extra_days_off=[date(2026, 6, 1)], extra_working_days=[date(2026, 6, 6)])
    days = local.between(*JUNE)
    assert date(2026, 6, 1) not in days and date(2026, 6, 6) in days and len(days) == 22
    with pytest.raises(ValueError):
        WorkingDays([date(2026, 6, 1)], [date(2026, 6, 1)])


def test_period_bounds_with_a_start_day() -> None:
    assert period_bounds("2026-05", 25) == (date(2026, 4, 25), date(2026, 5, 24))
    assert period_bounds("2026-01", 25) == (date(2025, 12, 25), date(2026, 1, 24))
    assert period_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ValueError, match="period"):
        period_bounds("2026-13")
    with pytest.raises(ValueError, match="start_day"):
        period_bounds("2026-06", 29)


def test_presence_counts_working_days_inside_the_memberships() -> None:
    # joined Monday 15 June: 15–30 June = 12 working days of 22 → evaluated
    joined = presence("J", [Stint("U1", date(2026, 6, 15))], JUNE, DAYS)
    assert joined is not None and (joined.working_days, joined.days_present) == (22, 12)
    assert joined.evaluated
    # joined Wednesday 17 June: 10 of 22 → under half, not evaluated (001 §I.6)
    late = presence("L", [Stint("U1", date(2026, 6, 17))], JUNE, DAYS)
    assert late is not None and late.days_present == 10 and not late.evaluated
    # exactly half: left on Monday 15 June after 11 working days → evaluated
    left = presence("X", [Stint("U1", date(2020, 1, 1), date(2026, 6, 15))], JUNE, DAYS)
    assert left is not None and left.days_present == 11 and left.evaluated
    assert presence("Y", [Stint("U1", date(2020, 1, 1), date(2026, 5, 31))], JUNE, DAYS) is None


def test_people_of_month_joiners_leavers_and_movers() -> None:
    at_start = {"A": "U1", "M": "U1", "L": "U2", "S": "U2"}
    at_end = {"A": "U1", "M": "U2", "J": "U1", "K": "U2"}
    history = {
        "L": [Stint("U2", date(2024, 1, 1), date(2026, 6, 10))],  # 8 of 22
        "S": [Stint("U2", date(2024, 1, 1), date(2026, 6, 19))],  # 15 of 22
        "J": [Stint("U1", date(2026, 6, 8))],  # 17 of 22
        "K": [Stint("U2", date(2026, 6, 29))],  # 2 of 22
    }
    refs = people_of_month(at_start, at_end, history, JUNE, DAYS)
    assert refs == [
        PersonRef("A", "U1", True),
        PersonRef("J", "U1", True),
        PersonRef("K", "U2", False),
        PersonRef("L", "U2", False),
        PersonRef("M", "U2", True),  # moved: evaluated once, in the unit at period end
        PersonRef("S", "U2", True),
    ]
    with pytest.raises(ValueError, match="K"):
        people_of_month(
            at_start, at_end, {k: v for k, v in history.items() if k != "K"}, JUNE, DAYS
        )


def test_primary_units_take_the_first_unit_listing_a_person() -> None:
    assert primary_units({"U1": ["A", "B"], "U2": ["B", "C"]}) == {"A": "U1", "B": "U1", "C": "U2"}
