"""Who is evaluated in a month, for people who join, leave or move — pure rules, no I/O.

* ``001 §I.6``: "Không thực hiện đánh giá, xếp loại đối với CBCCVC có thời gian làm việc thực
  tế trong tháng dưới 50% số ngày làm việc theo quy định": a person whose memberships cover
  fewer than half the period's working days is listed ``evaluated=False`` (recorded as not
  evaluated); at least half → evaluated, on the days worked.
* Working days: Monday–Friday except Vietnamese public holidays, plus the government's make-up
  Saturdays, from the ``holidays`` package (``country_holidays("VN")``, Labour Code 2019
  Art. 112) — the same rule as the tasks service's calendar, which has no HTTP endpoint;
  a tenant's ``extra_days_off`` / ``extra_working_days`` override it.
* A person who **moves** between units within the month is evaluated once, in the unit they
  belong to at the end of the period (or on the last day they were present, for a leaver),
  with the days present in all units counted: the unit at period end holds the month's tasks
  in its ledger and its authority decides (``001 §II.3``: "cấp nào trực tiếp ... giao việc").
* Membership dates are inclusive; an open end (``None``) means still a member.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import holidays

from services.evaluation.scoring import MIN_WORKED_SHARE
from workflows.monthly_cycle.inputs import PersonRef

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Stint:
    """One membership of a person in a unit: ``start``–``end`` inclusive (``end`` None =
    current)."""

    unit: str
    start: date
    end: date | None = None


def period_bounds(period: str, start_day: int = 1) -> tuple[date, date]:
    """First and last day of ``YYYY-MM`` (calendar month, or from ``start_day`` of the
    previous month to the day before ``start_day``, e.g. 25/4–24/5 for ``2026-05``, ``002``).

    Raises:
        ValueError: a bad period or a start day outside 1–28.
    """
    try:
        year, month = (int(x) for x in period.split("-"))
        first = date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"period: {period!r} is not YYYY-MM") from exc
    if not 1 <= start_day <= 28:
        raise ValueError(f"start_day: {start_day} is outside 1–28")
    last = date(year, month, calendar.monthrange(year, month)[1])
    if start_day == 1:
        return first, last
    previous = first - _ONE_DAY
    return previous.replace(day=start_day), first.replace(day=start_day - 1)


class WorkingDays:
    """Vietnamese working days with a tenant's overrides (see the module doc)."""

    def __init__(
        self, extra_days_off: Iterable[date] = (), extra_working_days: Iterable[date] = ()
    ) -> None:
        self._off = frozenset(extra_days_off)
        self._on = frozenset(extra_working_days)
        if self._off & self._on:
            raise ValueError("a date is both a day off and a working day")
        self._holidays = holidays.country_holidays("VN")

    def is_working_day(self, day: date) -> bool:
        """Tenant overrides first, then make-up Saturdays, then weekdays without a holiday."""
        if day in self._on:
            return True
        if day in self._off:
            return False
        holiday = day in self._holidays  # loads the year, and its make-up workdays
        if day.weekday() >= 5:
            return day in self._holidays.weekend_workdays
        return not holiday

    def between(self, start: date, end: date) -> list[date]:
        """The working days from ``start`` to ``end``, both included."""
        days, day = [], start
        while day <= end:
            if self.is_working_day(day):
                days.append(day)
            day += _ONE_DAY
        return days


@dataclass(frozen=True, slots=True)
class Presence:
    """A person's month: the unit evaluated in, working days of the period, days present
    (days), and whether they are evaluated (``001 §I.6``)."""

    person: str
    unit: str
    working_days: int
    days_present: int

    @property
    def share(self) -> Fraction:
        return Fraction(self.days_present, self.working_days) if self.working_days else Fraction(0)

    @property
    def evaluated(self) -> bool:
        return self.working_days > 0 and self.share >= MIN_WORKED_SHARE


def presence(
    person: str, stints: Sequence[Stint], bounds: tuple[date, date], days: WorkingDays
) -> Presence | None:
    """The person's presence in the period from their memberships; ``None`` when no
    membership overlaps it. The unit is the one of the latest overlapping membership."""
    first, last = bounds
    overlapping = [s for s in stints if s.start <= last and (s.end is None or s.end >= first)]
    if not overlapping:
        return None
    working = days.between(first, last)
    present = {
        d for s in overlapping for d in working if s.start <= d and (s.end is None or d <= s.end)
    }
    latest = max(overlapping, key=lambda s: (s.end or last, s.start))
    return Presence(person, latest.unit, len(working), len(present))


def people_of_month(
    at_start: Mapping[str, str],
    at_end: Mapping[str, str],
    history: Mapping[str, Sequence[Stint]],
    bounds: tuple[date, date],
    days: WorkingDays,
) -> list[PersonRef]:
    """Everyone of the period, by person code, with the unit evaluated in and ``evaluated``.

    Args:
        at_start, at_end: person → unit (primary membership) on the first and last day.
        history: memberships of the people in one of the two lists only (joiners, leavers);
            a person in both lists is taken as present all period, in their unit at the end
            (a mover's memberships follow each other).
        bounds: first and last day of the period.

    Raises:
        ValueError: a joiner or leaver without memberships in ``history``.
    """
    refs = []
    missing = []
    for person in sorted(set(at_start) | set(at_end)):
        if person in at_start and person in at_end:
            refs.append(PersonRef(person, at_end[person], True))
            continue
        stints = history.get(person)
        found = presence(person, stints, bounds, days) if stints else None
        if found is None:
            missing.append(person)
            continue
        unit = at_end.get(person, found.unit)
        refs.append(PersonRef(person, unit, found.evaluated))
    if missing:
        raise ValueError(f"memberships: none in the period for {', '.join(missing)}")
    return refs


def primary_units(unit_members: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Person → the first unit listing them (planning lists primary memberships first)."""
    unit_of: dict[str, str] = {}
    for unit, members in unit_members.items():
        for person in members:
            unit_of.setdefault(person, unit)
    return unit_of
