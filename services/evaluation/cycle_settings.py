"""A tenant's monthly-cycle calendar from its registry settings (DOMAIN.md §6; 001 §IV.1).

The tenant file's ``calendar`` (validated by planning at onboarding and stored in the tenant
registry's ``config``) names the days; ``time_zone`` is the tenant's. Two optional keys of the
calendar tune the cycle itself:

* ``seconds_per_day`` — compress the month for demos and tests: a "day" lasts this many
  seconds from the cycle start (absent or ``null``: real days);
* ``reminder_days_before`` — reminders this many days before each deadline (default ``[2, 1]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.monthly_cycle.inputs import CycleCalendar

_DAYS = (
    "period_start_day",
    "self_assessment_day",
    "review_day",
    "approval_day",
    "publication_day",
    "december_deadline_day",
)


def calendar_of(config: Mapping[str, Any], time_zone: str | None = None) -> CycleCalendar:
    """The :class:`CycleCalendar` of a tenant.

    Args:
        config: the tenant registry's ``config`` (``{"calendar": {...}, ...}``).
        time_zone: the tenant's IANA time zone (default: the calendar's, else Việt Nam).

    Raises:
        ValueError: when a day is not an integer 1–28, ``seconds_per_day`` is not a positive
            integer, or ``reminder_days_before`` is not a list of positive integers.
    """
    calendar = dict(config.get("calendar") or {})
    values: dict[str, Any] = {}
    for name in _DAYS:
        if name in calendar:
            day = calendar[name]
            if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 28:
                raise ValueError(f"calendar.{name}: {day!r} is not a day 1–28")
            values[name] = day
    seconds = calendar.get("seconds_per_day")
    if seconds is not None:
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
            raise ValueError(f"calendar.seconds_per_day: {seconds!r} is not a positive integer")
        values["seconds_per_day"] = seconds
    reminders = calendar.get("reminder_days_before")
    if reminders is not None:
        if not isinstance(reminders, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in reminders
        ):
            raise ValueError(
                f"calendar.reminder_days_before: {reminders!r} is not a list of positive days"
            )
        values["reminder_days_before"] = list(reminders)
    zone = time_zone or calendar.get("time_zone") or config.get("time_zone")
    if zone:
        values["time_zone"] = str(zone)
    return CycleCalendar(**values)
