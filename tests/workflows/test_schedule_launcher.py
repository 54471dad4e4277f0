"""The schedule's launcher: the period it fires in, in the tenant's zone (DOMAIN.md §6).

The Temporal side is real (``temporal-test-server`` with time skipping); the two activities a
cycle of an empty tenant calls (``count_people``, ``cycle_finished``) are recorders written
here. The test server has no schedules, so the launcher runs without the
``TemporalScheduledStartTime`` attribute and reads ``workflow.now()``; the schedule itself is
tested on the dev server (``tests/integration/test_cycle_schedule.py``).

The launcher's histories are kept under ``histories/`` (``launcher_started``,
``launcher_already_started``) and replayed by ``test_monthly_cycle_workflows``; re-record them
with ``WOMS_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from services.common import runtime
from workflows.monthly_cycle.activities import ActivityNames
from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleProgress,
    PeopleQuery,
    PeriodRef,
    PersonRef,
    UnitCount,
)
from workflows.monthly_cycle.launch import LaunchInput, LaunchResult, period_at
from workflows.monthly_cycle.launcher import CycleLauncherWorkflow
from workflows.monthly_cycle.schedule import CATCHUP_WINDOW, FIRE_AT, build_schedule
from workflows.monthly_cycle.worker import build_worker

TENANT = "phuong-lich"
QUEUE = "launcher-test"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = CycleCalendar(time_zone="Asia/Ho_Chi_Minh", seconds_per_day=60)
HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("WOMS_RECORD_HISTORIES") == "1"


# --- the pure period rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "calendar", "period"),
    [
        # 00:30 on 1/3 in Việt Nam is still 28/2 in UTC: the local month counts
        (datetime(2026, 2, 28, 17, 30, tzinfo=UTC), CycleCalendar(), "2026-03"),
        (datetime(2026, 2, 28, 16, 30, tzinfo=UTC), CycleCalendar(), "2026-02"),
        # New Year in Việt Nam, still 2026 in UTC
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), CycleCalendar(), "2027-01"),
        # a zone behind UTC: 1/4 01:00 UTC is still 31/3 in São Paulo (UTC−3)
        (
            datetime(2026, 4, 1, 1, 0, tzinfo=UTC),
            CycleCalendar(time_zone="America/Sao_Paulo"),
            "2026-03",
        ),
        # a period starting on the 25th (002): 24/1 belongs to December's period
        (datetime(2026, 1, 24, 12, 0, tzinfo=UTC), CycleCalendar(period_start_day=25), "2025-12"),
        (datetime(2026, 1, 24, 17, 0, tzinfo=UTC), CycleCalendar(period_start_day=25), "2026-01"),
    ],
)
def test_period_is_read_in_the_tenants_zone(
    instant: datetime, calendar: CycleCalendar, period: str
) -> None:
    assert period_at(instant, calendar) == period


def test_period_rule_refuses_naive_instants_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_at(datetime(2026, 3, 1), CycleCalendar())
    with pytest.raises(ValueError, match="Mars/Olympus"):
        period_at(datetime(2026, 3, 1, tzinfo=UTC), CycleCalendar(time_zone="Mars/Olympus"))


def test_schedule_fires_monthly_on_the_period_start_in_the_tenants_zone() -> None:
    calendar = CycleCalendar(time_zone="Asia/Bangkok", period_start_day=25)
    schedule = build_schedule(TENANT, calendar, task_queue=QUEUE)
    [spec] = schedule.spec.calendars
    assert [(r.start, r.end) for r in spec.day_of_month] == [(25, 25)]
    assert [(r.start, r.end) for r in spec.hour] == [(FIRE_AT[0], FIRE_AT[0])]
    assert [(r.start, r.end) for r in spec.month] == [(1, 12)]  # every month
    assert schedule.spec.time_zone_name == "Asia/Bangkok"
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert schedule.policy.catchup_window == CATCHUP_WINDOW
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "CycleLauncherWorkflow" and action.task_queue == QUEUE
    assert action.args == [LaunchInput(tenant_id=TENANT, calendar=calendar)]


def test_schedule_refuses_a_calendar_the_launcher_cannot_use() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        build_schedule(TENANT, CycleCalendar(time_zone="Mars/Olympus"))
    with pytest.raises(ValueError, match="seconds_per_day"):
        build_schedule(TENANT, CycleCalendar(seconds_per_day=0))


# --- the launcher on the time-skipping server --------------------------------------------


@dataclass
class Recorder:
    """``count_people`` / ``list_people`` (an empty tenant) and ``cycle_finished``, recording
    their periods (the launcher starts sharded months: ``count_people``)."""

    listed: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def activities(self) -> list[Any]:
        @activity.defn(name=ActivityNames.LIST_PEOPLE)
        async def list_people(ref: PeriodRef) -> list[PersonRef]:
            self.listed.append(f"{ref.tenant_id}/{ref.period}")
            return []

        @activity.defn(name=ActivityNames.COUNT_PEOPLE)
        async def count_people(query: PeopleQuery) -> list[UnitCount]:
            self.listed.append(f"{query.tenant_id}/{query.period}")
            return []

        @activity.defn(name=ActivityNames.CYCLE_FINISHED)
        async def cycle_finished(ref: PeriodRef) -> None:
            self.finished.append(f"{ref.tenant_id}/{ref.period}")

        return [list_people, count_people, cycle_finished]


async def _launch(client: Client, run_id: str) -> tuple[LaunchResult, Any]:
    handle = await client.start_workflow(
        CycleLauncherWorkflow.run,
        LaunchInput(tenant_id=TENANT, calendar=CALENDAR),
        id=f"{TENANT}:cycle:launcher-{run_id}",
        task_queue=QUEUE,
    )
    return await handle.result(), handle


async def _save(name: str, handle: Any) -> None:
    if RECORD and name in ("started", "already_started"):
        history = await handle.fetch_history()
        (HISTORIES / f"launcher_{name}.json").write_text(history.to_json(), encoding="utf-8")


async def _at(instant: datetime, launches: list[str], recorder: Recorder) -> dict[str, Any]:
    """On a fresh time-skipping server moved to ``instant``: run one launcher per name in
    ``launches`` (in order) and wait for the cycles they started.

    Returns ``{name: LaunchResult}`` and ``"cycles"``: ``{period: (parent id, people)}``.
    (One server per instant: the test server stops skipping time once a launcher has left an
    abandoned child behind, so a second ``env.sleep`` would hang.)
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=runtime.temporal_test_server_path()
    )
    out: dict[str, Any] = {"cycles": {}}
    async with env, build_worker(env.client, recorder.activities(), task_queue=QUEUE):
        await env.sleep(instant - await env.get_current_time())
        for name in launches:
            out[name], handle = await _launch(env.client, name)
            await _save(name, handle)
            launched: LaunchResult = out[name]
            if launched.started:  # the abandoned child runs on: wait for its result
                cycle = env.client.get_workflow_handle_for(
                    MonthlyCycleWorkflow.run, launched.cycle_workflow_id
                )
                progress: CycleProgress = await cycle.result()
                parent = (await cycle.describe()).parent_id
                out["cycles"][launched.period] = (parent, progress.total)
    return out


def _next_local_month_start() -> datetime:
    """The next 1st of a month, 00:00 in Việt Nam (17:00 UTC the day before), after the
    time-skipping server's clock (which starts at the real time)."""

    async def now() -> datetime:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=runtime.temporal_test_server_path()
        )
        async with env:
            return await env.get_current_time()

    local = asyncio.run(asyncio.wait_for(now(), timeout=30)).astimezone(VN)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=VN)


@pytest.mark.integration
def test_launcher_starts_the_local_month_once_across_a_month_boundary() -> None:
    boundary = _next_local_month_start()
    last_day = boundary - timedelta(days=1)
    old, new = f"{last_day.year:04d}-{last_day.month:02d}", f"{boundary:%Y-%m}"

    early, late = Recorder(), Recorder()
    before = asyncio.run(
        asyncio.wait_for(_at(boundary - timedelta(minutes=30), ["before"], early), timeout=60)
    )
    after = asyncio.run(
        asyncio.wait_for(
            _at(boundary + timedelta(minutes=30), ["started", "already_started"], late),
            timeout=60,
        )
    )

    # 23:30 local on the last day: the old month
    first: LaunchResult = before["before"]
    assert (first.period, first.started) == (old, True)
    assert first.cycle_workflow_id == f"{TENANT}:cycle:all:{old}"
    assert before["cycles"] == {old: (f"{TENANT}:cycle:launcher-before", 0)}
    assert early.listed == early.finished == [f"{TENANT}/{old}"]

    # 00:30 local on the 1st is still the previous day in UTC: the tenant's zone decides
    second: LaunchResult = after["started"]
    assert second.fired_at.astimezone(UTC).day != 1
    assert (second.period, second.started) == (new, True)
    assert second.cycle_workflow_id == f"{TENANT}:cycle:all:{new}"
    assert after["cycles"] == {new: (f"{TENANT}:cycle:launcher-started", 0)}
    # a second launch the same month finds the month's id taken and starts nothing
    third: LaunchResult = after["already_started"]
    assert (third.period, third.started) == (new, False)
    assert third.cycle_workflow_id == second.cycle_workflow_id
    assert late.listed == late.finished == [f"{TENANT}/{new}"]
