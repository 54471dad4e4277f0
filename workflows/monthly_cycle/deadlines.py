"""The monthly calendar: a period ``YYYY-MM`` → its four deadlines (DOMAIN.md §6, 001 §IV.1).

001 §IV.1 gives each step as "before day N": self-assessment before the 25th, review before
the 26th, decision before the 28th, publication before the 5th of the next month; December's
evaluation is completed before 15/12. Choices made here (pure, no I/O besides the tz database):

* **The deadline instant is the start of the named day**: "before the 25th" is due at
  00:00 local time on the 25th (the first late instant), i.e. 17:00 UTC on the 24th in
  Việt Nam. Everything up to 23:59:59.999… of the 24th is on time.
* **Period start.** The period ``YYYY-MM`` begins on ``period_start_day`` of that month
  (default 1: the calendar month). Each deadline is the first occurrence of its named day
  strictly after the previous anchor (the period start, then the previous deadline), so with
  the default calendar March gives 25/3, 26/3, 28/3, 5/4; a period starting on the 25th
  (25/3–24/4) gives 25/4, 26/4, 28/4, 5/5. A named day past the month's end (e.g. 31 in
  April) means the first day of the next month.
* **December runs early.** The period whose regular self-assessment deadline falls in December
  (with the default calendar: ``YYYY-12``) has all four steps on the consecutive days ending on
  ``december_deadline_day``: self-assessment before 12/12, review before 13/12, decision before
  14/12, publication before 15/12 (instead of 5/1 of the next year).
* **Compressed calendars.** With ``seconds_per_day`` set, a deadline is
  ``cycle_start + N × seconds_per_day`` where ``N`` is the number of days from the period's
  first day to the deadline's named day (March: 24, 25, 27, 35). ``cycle_start`` is then
  required (the cycle workflow passes ``workflow.now()``).
"""

from __future__ import annotations

import calendar as _calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.monthly_cycle.inputs import CycleCalendar, Deadlines


def parse_period(period: str) -> tuple[int, int]:
    """``"YYYY-MM"`` → ``(year, month)``.

    Raises:
        ValueError: when ``period`` is not a valid ``YYYY-MM``.
    """
    parts = period.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return year, month


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _named_day(year: int, month: int, day: int) -> date:
    """Day ``day`` of the month, or the first day of the next month when it has fewer days."""
    if day <= _calendar.monthrange(year, month)[1]:
        return date(year, month, day)
    return date(*_next_month(year, month), 1)


def _first_after(day: int, anchor: date) -> date:
    """First date strictly after ``anchor`` that is the named ``day`` of its month."""
    year, month = anchor.year, anchor.month
    while True:
        candidate = _named_day(year, month, day)
        if candidate > anchor:
            return candidate
        year, month = _next_month(year, month)


def _check(calendar: CycleCalendar) -> None:
    if not 1 <= calendar.period_start_day <= 28:
        raise ValueError("period_start_day must be within 1..28")
    days = (
        calendar.self_assessment_day,
        calendar.review_day,
        calendar.approval_day,
        calendar.publication_day,
    )
    if not all(1 <= d <= 31 for d in days):
        raise ValueError("deadline days must be within 1..31")
    if not 4 <= calendar.december_deadline_day <= 31:
        raise ValueError("december_deadline_day must be within 4..31")
    if calendar.seconds_per_day is not None and calendar.seconds_per_day <= 0:
        raise ValueError("seconds_per_day must be positive")


def period_start(period: str, calendar: CycleCalendar) -> date:
    """First (local) day of the period."""
    year, month = parse_period(period)
    return date(year, month, calendar.period_start_day)


def deadline_dates(period: str, calendar: CycleCalendar) -> tuple[date, date, date, date]:
    """The named (local) days of the four deadlines: each step is due *before* its day.

    Returns:
        ``(self_assessment, review, decision, publication)`` dates; see the module docstring.
    """
    _check(calendar)
    start = period_start(period, calendar)
    self_assessment = _first_after(calendar.self_assessment_day, start)
    if self_assessment.month == 12:  # 001 §IV.1 "Lưu ý": December is done before 15/12
        last = date(self_assessment.year, 12, calendar.december_deadline_day)
        early = tuple(last - timedelta(days=n) for n in (3, 2, 1, 0))
        if early[0] <= start:
            raise ValueError(f"December deadlines of {period} fall before the period starts")
        return early  # type: ignore[return-value]
    review = _first_after(calendar.review_day, self_assessment)
    decision = _first_after(calendar.approval_day, review)
    publication = _first_after(calendar.publication_day, decision)
    return self_assessment, review, decision, publication


def deadlines_for(
    period: str, calendar: CycleCalendar, cycle_start: datetime | None = None
) -> Deadlines:
    """The deadlines of ``period`` as timezone-aware UTC instants (DOMAIN.md §6).

    Args:
        period: ``"YYYY-MM"``.
        calendar: the tenant's calendar.
        cycle_start: start of a compressed cycle (required, and timezone-aware, when
            ``calendar.seconds_per_day`` is set; ignored otherwise).

    Raises:
        ValueError: on an invalid period or calendar, or a compressed calendar without a
            timezone-aware ``cycle_start``.
    """
    dates = deadline_dates(period, calendar)
    if calendar.seconds_per_day is not None:
        if cycle_start is None or cycle_start.tzinfo is None:
            raise ValueError("a compressed calendar needs a timezone-aware cycle_start")
        start = period_start(period, calendar)
        origin = cycle_start.astimezone(UTC)
        instants = [
            origin + timedelta(seconds=(d - start).days * calendar.seconds_per_day) for d in dates
        ]
    else:
        zone = ZoneInfo(calendar.time_zone)
        instants = [datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in dates]
    return Deadlines(*instants)
