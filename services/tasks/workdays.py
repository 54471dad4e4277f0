"""Working days and evaluation periods of Vietnamese public bodies.

Pure computations, no I/O. A day is a *working day* unless it is a Saturday or Sunday or a
Vietnamese public holiday (Labour Code 2019 Art. 112: New Year, Tết Nguyên Đán, Hùng Kings,
30/4, 1/5, National Day, and the days the government swaps), as listed by the ``holidays``
package (``holidays.country_holidays("VN")``). Two corrections apply on top:

* the package's *make-up working Saturdays* (``weekend_workdays``, e.g. Saturday 2025-04-26
  worked to take Friday 2025-05-02 off) are working days — public bodies follow the swap;
* a tenant's ``extra_days_off`` (local holidays, swaps announced after the package release) and
  ``extra_working_days`` (make-up days the package does not know) override everything else.

The package computes future lunar holidays itself; swap days are only known once the Ministry
of Home Affairs announces them, so tenants keep their overrides up to date.

Lateness is counted in working days (``002``: "Chậm 1 ngày (-25%)"; ``001 §III.2`` counts each
late submission). Evaluation periods are the calendar month, or e.g. the 25th of the previous
month to the 24th (``002`` Mẫu số 03: "Kỳ đánh giá: Tháng 5/2026 Từ ngày 25/04/2026 Đến ngày
24/05/2026"), named by the month they end in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, timedelta

import holidays

__all__ = ["MAX_START_DAY", "WorkCalendar", "period_bounds", "period_of"]

#: Highest allowed period start day: every month has a 28th, so every period is well defined.
MAX_START_DAY = 28

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_ONE_DAY = timedelta(days=1)


class WorkCalendar:
    """Vietnamese working days with a tenant's overrides.

    Args:
        extra_days_off: dates that are not working days even if the package says they are
            (e.g. a provincial day off).
        extra_working_days: dates that are working days even if they fall on a weekend or a
            holiday (e.g. a make-up Saturday unknown to the package).

    Raises:
        ValueError: a date is in both sets.
    """

    __slots__ = ("_holidays", "_lock", "_years", "extra_days_off", "extra_working_days")

    def __init__(
        self,
        extra_days_off: Iterable[date] = frozenset(),
        extra_working_days: Iterable[date] = frozenset(),
    ) -> None:
        self.extra_days_off: frozenset[date] = frozenset(extra_days_off)
        self.extra_working_days: frozenset[date] = frozenset(extra_working_days)
        both = self.extra_days_off & self.extra_working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both off and working: {listed}")
        self._holidays = holidays.country_holidays("VN")
        self._years: set[int] = set()
        self._lock = threading.Lock()

    def _ensure_year(self, year: int) -> None:
        """Load ``year``'s holidays and make-up Saturdays (the package loads years lazily, and
        its ``weekend_workdays`` only after a lookup in that year)."""
        if year in self._years:
            return
        with self._lock:
            if year not in self._years:
                _ = date(year, 1, 1) in self._holidays
                self._years.add(year)

    def holiday_name(self, d: date) -> str | None:
        """The public holiday on ``d`` (Vietnamese name from the package), or ``None``."""
        self._ensure_year(d.year)
        name: str | None = self._holidays.get(d)
        return name

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day: tenant overrides first, then make-up Saturdays, then
        not a weekend day and not a public holiday."""
        if d in self.extra_working_days:
            return True
        if d in self.extra_days_off:
            return False
        self._ensure_year(d.year)
        if d.weekday() >= 5:
            return d in self._holidays.weekend_workdays
        return d not in self._holidays

    def working_days_in(self, start: date, end: date) -> int:
        """Number of working days from ``start`` to ``end``, both included (days).

        Returns 0 when ``end`` is before ``start``.
        """
        count, day = 0, start
        while day <= end:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def working_days_late(self, due: date, submitted: date) -> int:
        """Working days by which a submission on ``submitted`` missed ``due`` (days).

        0 when submitted on or before the due date; otherwise the working days after ``due`` up
        to and including ``submitted``: due Friday, submitted Monday → 1; due Friday 2026-02-13,
        submitted Monday 2026-02-23 → 1 (16–20 February are Tết). A submission after the due
        date on a day off before the next working day is late by 0 working days (it is still a
        delay for ``001 §III.2``; see ``services.tasks.ledger``). The due date itself is taken as
        given, even when it falls on a day off.
        """
        if submitted <= due:
            return 0
        return self.working_days_in(due + _ONE_DAY, submitted)


def _check_start_day(start_day: int) -> None:
    if isinstance(start_day, bool) or not isinstance(start_day, int):
        raise TypeError(f"start_day must be an int, not {type(start_day).__name__}")
    if not 1 <= start_day <= MAX_START_DAY:
        raise ValueError(f"start_day: {start_day} is outside 1–{MAX_START_DAY}")


def period_of(due: date, start_day: int = 1) -> str:
    """The evaluation period ``YYYY-MM`` a task belongs to: the one its due date falls in.

    A period starts on day ``start_day`` of a month and is named by the month it **ends** in:

    * ``start_day = 1``: the calendar month (``DOMAIN.md §5`` default); 2026-05-31 → ``2026-05``;
    * ``start_day = 25``: 25th of the previous month → 24th (``002`` Mẫu số 03); 2026-05-24 →
      ``2026-05``, 2026-05-25 → ``2026-06``, 2026-12-25 → ``2027-01``.

    Raises:
        TypeError: ``start_day`` is not an ``int``.
        ValueError: ``start_day`` is outside 1–28.
    """
    _check_start_day(start_day)
    year, month = due.year, due.month
    if start_day > 1 and due.day >= start_day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}"


def period_bounds(period: str, start_day: int = 1) -> tuple[date, date]:
    """First and last day (both included) of the evaluation period ``period`` (``YYYY-MM``).

    ``period_bounds("2026-05", 25) == (date(2026, 4, 25), date(2026, 5, 24))``;
    ``period_bounds("2026-02", 1) == (date(2026, 2, 1), date(2026, 2, 28))``. The inverse of
    :func:`period_of`: every day ``d`` of the bounds has ``period_of(d, start_day) == period``.

    Raises:
        TypeError: ``start_day`` is not an ``int``.
        ValueError: ``period`` is not ``YYYY-MM`` or ``start_day`` is outside 1–28.
    """
    _check_start_day(start_day)
    match = _PERIOD.fullmatch(period) if isinstance(period, str) else None
    if match is None:
        raise ValueError(f"period: {period!r} is not YYYY-MM")
    year, month = int(match[1]), int(match[2])
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    if start_day == 1:
        return date(year, month, 1), next_first - _ONE_DAY
    prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(prev_year, prev_month, start_day), date(year, month, start_day - 1)
