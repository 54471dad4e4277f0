"""The monthly calendar (DOMAIN.md §6, 001 §IV.1): period → deadlines, pure function."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.monthly_cycle.deadlines import deadline_dates, deadlines_for
from workflows.monthly_cycle.inputs import CycleCalendar, Deadlines

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_normal_month_is_due_at_the_start_of_the_named_days() -> None:
    # before the 25th / 26th / 28th / 5th of next month = 00:00 local (UTC+7) of that day
    assert deadlines_for("2026-03", CycleCalendar()) == Deadlines(
        self_assessment=_utc(2026, 3, 24, 17),
        review=_utc(2026, 3, 25, 17),
        decision=_utc(2026, 3, 27, 17),
        publication=_utc(2026, 4, 4, 17),
    )


def test_deadlines_are_local_midnight_seven_hours_ahead_of_utc() -> None:
    local = deadlines_for("2026-06", CycleCalendar())
    for instant in (local.self_assessment, local.review, local.decision, local.publication):
        assert instant.utcoffset() == timedelta(0)
        assert instant.astimezone(VN).utcoffset() == timedelta(hours=7)
        assert instant.astimezone(VN).time().isoformat() == "00:00:00"
    in_utc = deadlines_for("2026-06", CycleCalendar(time_zone="UTC"))
    assert in_utc.self_assessment - local.self_assessment == timedelta(hours=7)
    assert in_utc.publication == _utc(2026, 7, 5)


def test_november_publication_is_in_december_and_january_rolls_the_year() -> None:
    assert deadline_dates("2026-11", CycleCalendar()) == (
        date(2026, 11, 25),
        date(2026, 11, 26),
        date(2026, 11, 28),
        date(2026, 12, 5),
    )
    assert deadline_dates("2027-01", CycleCalendar())[3] == date(2027, 2, 5)


def test_december_runs_early_everything_before_the_fifteenth() -> None:
    assert deadline_dates("2026-12", CycleCalendar()) == (
        date(2026, 12, 12),
        date(2026, 12, 13),
        date(2026, 12, 14),
        date(2026, 12, 15),
    )
    d = deadlines_for("2026-12", CycleCalendar())
    assert d.self_assessment == _utc(2026, 12, 11, 17)
    assert d.publication == _utc(2026, 12, 14, 17)  # 15/12 00:00 in Hà Nội
    assert deadline_dates("2026-12", CycleCalendar(december_deadline_day=20))[3] == date(
        2026, 12, 20
    )


def test_period_starting_on_the_25th_is_due_the_next_month() -> None:
    calendar = CycleCalendar(period_start_day=25)  # period 25/3 – 24/4
    assert deadline_dates("2026-03", calendar) == (
        date(2026, 4, 25),
        date(2026, 4, 26),
        date(2026, 4, 28),
        date(2026, 5, 5),
    )
    # the period 25/11 – 24/12 is December's evaluation: early, before 15/12
    assert deadline_dates("2026-11", calendar) == (
        date(2026, 12, 12),
        date(2026, 12, 13),
        date(2026, 12, 14),
        date(2026, 12, 15),
    )
    assert deadline_dates("2026-12", calendar)[0] == date(2027, 1, 25)


def test_named_day_past_the_month_end_is_the_next_months_first_day() -> None:
    calendar = CycleCalendar(self_assessment_day=31, review_day=1, approval_day=3)
    assert deadline_dates("2026-04", calendar)[:3] == (
        date(2026, 5, 1),
        date(2026, 6, 1),
        date(2026, 6, 3),
    )


def test_compressed_calendar_counts_days_from_the_cycle_start() -> None:
    start = datetime(2026, 3, 1, 8, tzinfo=VN)
    d = deadlines_for("2026-03", CycleCalendar(seconds_per_day=60), cycle_start=start)
    origin = start.astimezone(UTC)
    assert [d.self_assessment, d.review, d.decision, d.publication] == [
        origin + timedelta(minutes=n) for n in (24, 25, 27, 35)
    ]
    assert d.self_assessment.tzinfo == UTC
    december = deadlines_for("2026-12", CycleCalendar(seconds_per_day=10), cycle_start=start)
    assert december.publication - origin == timedelta(seconds=14 * 10)


@pytest.mark.parametrize(
    ("period", "calendar", "start"),
    [
        ("2026-13", CycleCalendar(), None),
        ("26-03", CycleCalendar(), None),
        ("2026-03", CycleCalendar(period_start_day=29), None),
        ("2026-03", CycleCalendar(seconds_per_day=60), None),
        ("2026-03", CycleCalendar(seconds_per_day=60), datetime(2026, 3, 1)),
        ("2026-03", CycleCalendar(seconds_per_day=0), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_invalid_input_is_rejected(
    period: str, calendar: CycleCalendar, start: datetime | None
) -> None:
    with pytest.raises(ValueError):
        deadlines_for(period, calendar, start)
