"""Working days (Vietnamese holidays, Tết) and evaluation periods (services/tasks/workdays.py;
002 "Chậm 1 ngày (-25%)", 002 Mẫu số 03 period 25/04 → 24/05)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.tasks.workdays import WorkCalendar, period_bounds, period_of

CAL = WorkCalendar()


def test_weekend_is_off_weekdays_work() -> None:
    assert CAL.is_working_day(date(2026, 3, 6))  # Friday
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday
    assert CAL.is_working_day(date(2026, 3, 9))  # Monday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),  # New Year
        date(2026, 2, 16),  # Tết: Lunar New Year's Eve
        date(2026, 2, 17),
        date(2026, 2, 20),
        date(2026, 4, 27),  # Hùng Kings (observed: the 26th is a Sunday)
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 2),
    ],
)
def test_public_holidays_are_off(holiday: date) -> None:
    assert holiday.weekday() < 5
    assert not CAL.is_working_day(holiday)
    assert CAL.holiday_name(holiday)


def test_make_up_saturday_is_a_working_day() -> None:
    # 2025-05-02 (Friday) was taken off in exchange for working Saturday 2025-04-26.
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.is_working_day(date(2025, 4, 26))
    assert not CAL.is_working_day(date(2025, 4, 19))  # an ordinary Saturday


def test_make_up_saturday_on_a_fresh_calendar_is_found_without_a_prior_lookup() -> None:
    assert WorkCalendar().is_working_day(date(2025, 4, 26))


def test_tenant_overrides() -> None:
    cal = WorkCalendar(
        extra_days_off=frozenset({date(2026, 3, 10)}),
        extra_working_days=frozenset({date(2026, 3, 14), date(2026, 2, 17)}),
    )
    assert not cal.is_working_day(date(2026, 3, 10))  # a Tuesday made a day off
    assert cal.is_working_day(date(2026, 3, 14))  # a Saturday made a working day
    assert cal.is_working_day(date(2026, 2, 17))  # even a Tết day
    with pytest.raises(ValueError, match="2026-03-10"):
        WorkCalendar(extra_days_off={date(2026, 3, 10)}, extra_working_days={date(2026, 3, 10)})


def test_working_days_in_a_month() -> None:
    assert CAL.working_days_in(date(2026, 3, 1), date(2026, 3, 31)) == 22
    assert CAL.working_days_in(date(2026, 2, 1), date(2026, 2, 28)) == 15  # Tết 16–20
    assert CAL.working_days_in(date(2026, 4, 1), date(2026, 4, 30)) == 20  # 27 and 30 April
    assert CAL.working_days_in(date(2026, 3, 6), date(2026, 3, 6)) == 1
    assert CAL.working_days_in(date(2026, 3, 7), date(2026, 3, 8)) == 0
    assert CAL.working_days_in(date(2026, 3, 9), date(2026, 3, 6)) == 0


@pytest.mark.parametrize(
    ("due", "submitted", "late"),
    [
        (date(2026, 3, 6), date(2026, 3, 5), 0),  # early
        (date(2026, 3, 6), date(2026, 3, 6), 0),  # on the due day
        (date(2026, 3, 6), date(2026, 3, 7), 0),  # Saturday after a Friday due date
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Friday → Monday, across the weekend
        (date(2026, 3, 6), date(2026, 3, 12), 4),
        (date(2026, 3, 9), date(2026, 3, 10), 1),
        (date(2026, 3, 2), date(2026, 3, 16), 10),  # two weeks
        (date(2026, 2, 13), date(2026, 2, 23), 1),  # across Tết 2026 (16–20 Feb off)
        (date(2026, 2, 13), date(2026, 2, 20), 0),  # submitted during Tết
        (date(2026, 4, 24), date(2026, 5, 4), 3),  # 27, 30 Apr and 1 May off: 28, 29 Apr, 4 May
    ],
)
def test_working_days_late(due: date, submitted: date, late: int) -> None:
    assert CAL.working_days_late(due, submitted) == late


@pytest.mark.parametrize(
    ("due", "start_day", "period"),
    [
        (date(2026, 5, 1), 1, "2026-05"),
        (date(2026, 5, 31), 1, "2026-05"),
        (date(2026, 6, 1), 1, "2026-06"),
        (date(2026, 12, 31), 1, "2026-12"),
        (date(2027, 1, 1), 1, "2027-01"),
        (date(2026, 4, 24), 25, "2026-04"),
        (date(2026, 4, 25), 25, "2026-05"),  # 002: Tháng 5/2026 = 25/04 → 24/05
        (date(2026, 5, 24), 25, "2026-05"),
        (date(2026, 5, 25), 25, "2026-06"),
        (date(2026, 5, 31), 25, "2026-06"),
        (date(2026, 12, 24), 25, "2026-12"),
        (date(2026, 12, 25), 25, "2027-01"),
        (date(2027, 1, 10), 25, "2027-01"),
        (date(2026, 2, 28), 28, "2026-03"),
    ],
)
def test_period_of(due: date, start_day: int, period: str) -> None:
    assert period_of(due, start_day) == period


@pytest.mark.parametrize(
    ("period", "start_day", "bounds"),
    [
        ("2026-05", 25, (date(2026, 4, 25), date(2026, 5, 24))),
        ("2026-01", 25, (date(2025, 12, 25), date(2026, 1, 24))),
        ("2026-02", 1, (date(2026, 2, 1), date(2026, 2, 28))),
        ("2024-02", 1, (date(2024, 2, 1), date(2024, 2, 29))),
        ("2026-12", 1, (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-03", 2, (date(2026, 2, 2), date(2026, 3, 1))),
    ],
)
def test_period_bounds(period: str, start_day: int, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, start_day) == bounds


@pytest.mark.parametrize("start_day", [1, 2, 15, 25, 28])
def test_periods_tile_the_calendar(start_day: int) -> None:
    """Every day of 2024–2027 lies in the bounds of its period, and the periods follow each
    other without gap or overlap."""
    day, end = date(2024, 1, 1), date(2027, 12, 31)
    previous_last: date | None = None
    while day <= end:
        first, last = period_bounds(period_of(day, start_day), start_day)
        assert first <= day <= last
        if previous_last is not None:
            assert first == previous_last + timedelta(days=1)
        previous_last, day = last, last + timedelta(days=1)


@pytest.mark.parametrize("start_day", [0, 29, 31, -1])
def test_start_day_outside_1_to_28(start_day: int) -> None:
    with pytest.raises(ValueError, match="start_day"):
        period_of(date(2026, 5, 1), start_day)
    with pytest.raises(ValueError, match="start_day"):
        period_bounds("2026-05", start_day)


def test_start_day_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        period_of(date(2026, 5, 1), True)


@pytest.mark.parametrize("period", ["2026-13", "2026-5", "202605", "2026-00", " 2026-05", ""])
def test_malformed_period(period: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_bounds(period, 1)
