"""A Temporal Schedule per tenant that starts the monthly cycle (DOMAIN.md §6; 001 §IV.1).

The schedule ``{tenant}:cycle:schedule`` lives in the tenant's namespace and fires once a
month, on the calendar's ``period_start_day`` at :data:`FIRE_AT` (hour, minute) in the tenant's
time zone (``ScheduleCalendarSpec`` with ``time_zone_name``). Its action starts
:class:`~.launcher.CycleLauncherWorkflow` (id ``{tenant}:cycle:launcher`` plus the firing
time, which Temporal appends) with a fixed :class:`~.launch.LaunchInput`; the launcher
derives the period from its scheduled time and starts ``{tenant}:cycle:all:{period}`` once.

Policies:

* overlap ``SKIP``: a launcher still running (e.g. no worker yet) is not doubled;
* catch-up window :data:`CATCHUP_WINDOW` (7 days): a firing missed while the Temporal
  service was down is still run when it comes back within a week — the month's first
  deadline (the self-assessment, on the 25th) is weeks away; after that, start the month by
  hand (``woms cycle start``);
* a paused schedule stays paused when it is updated (the state is the operator's).

Functions: :func:`ensure_schedule` (create or update, idempotent), :func:`describe_schedule`,
:func:`trigger_schedule`, :func:`delete_schedule`. They take a client connected to the
tenant's namespace (``woms-<tenant>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.monthly_cycle.deadlines import deadline_dates
from workflows.monthly_cycle.inputs import CycleCalendar
from workflows.monthly_cycle.launch import LaunchInput, period_at
from workflows.monthly_cycle.launcher import CycleLauncherWorkflow
from workflows.monthly_cycle.worker import TASK_QUEUE

#: Local (hour, minute) of the monthly firing: early morning of the period's first day,
#: outside the usual 00:00–03:00 daylight-saving transitions.
FIRE_AT: Final = (5, 0)
#: How late a missed firing is still run (see the module docstring).
CATCHUP_WINDOW: Final = timedelta(days=7)


def schedule_id(tenant_id: str) -> str:
    """Id of the tenant's schedule: ``{tenant}:cycle:schedule``."""
    return f"{tenant_id}:cycle:schedule"


def launcher_workflow_id(tenant_id: str) -> str:
    """Id prefix of the launcher runs: ``{tenant}:cycle:launcher`` (+ ``-<firing time>``)."""
    return f"{tenant_id}:cycle:launcher"


@dataclass(frozen=True)
class ScheduleOutcome:
    """What :func:`ensure_schedule` did: ``"created"``, ``"updated"`` or ``"unchanged"``."""

    schedule_id: str
    action: str


@dataclass(frozen=True)
class ScheduleInfo:
    """A tenant's schedule as described by Temporal.

    Attributes:
        schedule_id: ``{tenant}:cycle:schedule``.
        time_zone: IANA zone of the calendar spec.
        day_of_month, hour, minute: when it fires (local time).
        catchup_window: how late a missed firing still runs.
        overlap: overlap policy name (``SKIP``).
        paused: whether the schedule is paused.
        launch: the launcher's fixed input (tenant, calendar, batch size).
        next_runs: the next firing instants (UTC).
        recent: ``(scheduled at, launcher workflow id)`` of the recent firings, oldest first.
    """

    schedule_id: str
    time_zone: str | None
    day_of_month: int
    hour: int
    minute: int
    catchup_window: timedelta
    overlap: str
    paused: bool
    launch: LaunchInput | None
    next_runs: list[datetime]
    recent: list[tuple[datetime, str]]


def _check(calendar: CycleCalendar) -> None:
    """Refuse a calendar the launcher could not use (checked before anything is written).

    Raises:
        ValueError: unknown time zone, or days / compression out of range (see
            :func:`~.deadlines.deadline_dates`).
    """
    deadline_dates(period_at(datetime(2000, 1, 15, 12, tzinfo=UTC), calendar), calendar)


def build_schedule(
    tenant_id: str,
    calendar: CycleCalendar,
    *,
    task_queue: str = TASK_QUEUE,
    batch_size: int = 200,
    paused: bool = False,
) -> Schedule:
    """The tenant's monthly schedule (spec, policy and launcher action), not yet stored.

    Raises:
        ValueError: on a calendar the launcher could not use.
    """
    _check(calendar)
    hour, minute = FIRE_AT
    spec = ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(minute)],
                hour=[ScheduleRange(hour)],
                day_of_month=[ScheduleRange(calendar.period_start_day)],
                comment="WOMS monthly evaluation cycle (DOMAIN.md §6)",
            )
        ],
        time_zone_name=calendar.time_zone,
    )
    action = ScheduleActionStartWorkflow(
        CycleLauncherWorkflow.run,
        LaunchInput(tenant_id=tenant_id, calendar=calendar, batch_size=batch_size),
        id=launcher_workflow_id(tenant_id),
        task_queue=task_queue,
    )
    return Schedule(
        action=action,
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note="woms cycle schedule", paused=paused),
    )


async def _launch_of(client: Client, action: Any) -> LaunchInput | None:
    """The launcher input stored in a described action (``None`` if it is not ours)."""
    if not isinstance(action, ScheduleActionStartWorkflow) or len(action.args) != 1:
        return None
    if action.workflow != "CycleLauncherWorkflow":
        return None
    arg = action.args[0]
    if not hasattr(arg, "data"):  # already a value (not a raw payload)
        return arg if isinstance(arg, LaunchInput) else None
    [value] = await client.data_converter.decode([arg], [LaunchInput])
    return value if isinstance(value, LaunchInput) else None


def _shape(schedule: Schedule) -> tuple[Any, ...]:
    """What :func:`ensure_schedule` compares: spec, policy and action target (not the args)."""
    spec, policy, action = schedule.spec, schedule.policy, schedule.action
    calendars = tuple(
        (
            tuple(c.second),
            tuple(c.minute),
            tuple(c.hour),
            tuple(c.day_of_month),
            tuple(c.month),
            tuple(c.year),
            tuple(c.day_of_week),
        )
        for c in spec.calendars
    )
    target = (
        (action.workflow, action.id, action.task_queue)
        if isinstance(action, ScheduleActionStartWorkflow)
        else None
    )
    return (
        calendars,
        tuple(spec.intervals),
        tuple(spec.cron_expressions),
        spec.time_zone_name or "",
        policy.overlap,
        policy.catchup_window,
        target,
    )


async def ensure_schedule(
    client: Client,
    tenant_id: str,
    calendar: CycleCalendar,
    *,
    task_queue: str = TASK_QUEUE,
    batch_size: int = 200,
) -> ScheduleOutcome:
    """Create the tenant's schedule, or bring it up to date; a repeated call changes nothing.

    Args:
        client: connected to the tenant's namespace.
        tenant_id: the tenant.
        calendar: the tenant's calendar (``services.evaluation.cycle_settings.calendar_of``).
        task_queue: the monthly-cycle worker's task queue.
        batch_size: children started per batch by the cycle.

    Returns:
        ``created`` / ``updated`` (spec, policy or launcher input differed) / ``unchanged``.

    Raises:
        ValueError: on a calendar the launcher could not use (nothing is written).
        temporalio.service.RPCError: Temporal refused the call (e.g. unknown namespace).
    """
    wanted = build_schedule(tenant_id, calendar, task_queue=task_queue, batch_size=batch_size)
    sid = schedule_id(tenant_id)
    try:
        await client.create_schedule(sid, wanted)
        return ScheduleOutcome(sid, "created")
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(sid)
    current = await handle.describe()
    launch = await _launch_of(client, current.schedule.action)
    wanted_launch = LaunchInput(tenant_id=tenant_id, calendar=calendar, batch_size=batch_size)
    if _shape(current.schedule) == _shape(wanted) and launch == wanted_launch:
        return ScheduleOutcome(sid, "unchanged")

    def update(previous: ScheduleUpdateInput) -> ScheduleUpdate:
        state = previous.description.schedule.state
        return ScheduleUpdate(
            Schedule(
                action=wanted.action,
                spec=wanted.spec,
                policy=wanted.policy,
                state=ScheduleState(note=wanted.state.note, paused=state.paused),
            )
        )

    await handle.update(update)
    return ScheduleOutcome(sid, "updated")


def _first(ranges: Any) -> int:
    return int(ranges[0].start) if ranges else 0


async def describe_schedule(client: Client, tenant_id: str) -> ScheduleInfo | None:
    """The tenant's schedule, or ``None`` when it has none.

    Raises:
        temporalio.service.RPCError: Temporal refused the call (other than "not found").
    """
    try:
        described: ScheduleDescription = await client.get_schedule_handle(
            schedule_id(tenant_id)
        ).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    schedule = described.schedule
    calendar = schedule.spec.calendars[0] if schedule.spec.calendars else ScheduleCalendarSpec()
    recent = [
        (a.scheduled_at, a.action.workflow_id)
        for a in described.info.recent_actions
        if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
    ]
    return ScheduleInfo(
        schedule_id=described.id,
        time_zone=schedule.spec.time_zone_name,
        day_of_month=_first(calendar.day_of_month),
        hour=_first(calendar.hour),
        minute=_first(calendar.minute),
        catchup_window=schedule.policy.catchup_window,
        overlap=schedule.policy.overlap.name,
        paused=schedule.state.paused,
        launch=await _launch_of(client, schedule.action),
        next_runs=list(described.info.next_action_times),
        recent=recent,
    )


async def trigger_schedule(client: Client, tenant_id: str) -> ScheduleHandle:
    """Fire the tenant's schedule now (the launcher starts the current month if not started).

    Raises:
        temporalio.service.RPCError: no such schedule (``NOT_FOUND``) or Temporal refused.
    """
    handle = client.get_schedule_handle(schedule_id(tenant_id))
    await handle.trigger()
    return handle


async def delete_schedule(client: Client, tenant_id: str) -> bool:
    """Delete the tenant's schedule; ``False`` when there was none. Running months go on.

    Raises:
        temporalio.service.RPCError: Temporal refused the call (other than "not found").
    """
    try:
        await client.get_schedule_handle(schedule_id(tenant_id)).delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
