"""The launcher's input, result and pure period rule (DOMAIN.md §6; 001 §IV.1).

Pure (no I/O besides the tz database); imported by :mod:`.launcher` through the sandbox's
pass-through so that ``zoneinfo`` is the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from workflows.monthly_cycle.inputs import DEFAULT_SHARD_SIZE, CycleCalendar


@dataclass(frozen=True)
class LaunchInput:
    """Fixed argument of the schedule's action (:class:`~.launcher.CycleLauncherWorkflow`).

    Attributes:
        tenant_id: tenant (unit) identifier.
        calendar: the tenant's calendar (time zone, period start day, deadlines, compression).
        batch_size: passed to :class:`~.inputs.CycleInput` (children started per batch).
        shard_size: passed to :class:`~.inputs.CycleInput` (people per shard workflow;
            ``None``: unsharded, for schedules created before sharding existed).
    """

    tenant_id: str
    calendar: CycleCalendar = field(default_factory=CycleCalendar)
    batch_size: int = 200
    shard_size: int | None = DEFAULT_SHARD_SIZE


@dataclass(frozen=True)
class LaunchResult:
    """Result of :class:`~.launcher.CycleLauncherWorkflow`.

    Attributes:
        period: the month launched, ``"YYYY-MM"``.
        cycle_workflow_id: ``{tenant}:cycle:all:{period}``.
        started: ``False`` when that month had already been started (nothing was started).
        fired_at: the instant the period was derived from (timezone-aware UTC).
    """

    period: str
    cycle_workflow_id: str
    started: bool
    fired_at: datetime


def period_at(instant: datetime, calendar: CycleCalendar) -> str:
    """The period ``"YYYY-MM"`` that ``instant`` falls in, read in the tenant's time zone.

    The period ``YYYY-MM`` runs from ``period_start_day`` of that month to the day before
    ``period_start_day`` of the next (``deadlines.period_start``; 002: a period starting on the
    25th runs 25th → 24th). E.g. with the default calendar (day 1, ``Asia/Ho_Chi_Minh``,
    UTC+7), 2026-02-28T17:30Z is 00:30 on 1/3 local, hence ``"2026-03"``.

    Raises:
        ValueError: ``instant`` is naive, or the time zone is unknown.
    """
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    try:
        zone = ZoneInfo(calendar.time_zone)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {calendar.time_zone!r}") from exc
    local = instant.astimezone(zone)
    year, month = local.year, local.month
    if local.day < calendar.period_start_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"
