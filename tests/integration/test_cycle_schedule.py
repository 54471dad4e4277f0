"""The tenant's monthly schedule on the real Temporal dev server (DOMAIN.md §6; 001 §IV.1).

A small tenant (``tests/fixtures/tenant_mini.yaml`` as ``lich``, in Tokyo's zone, periods
starting on the 3rd, compressed to one second per day) is onboarded on the session runtime
(registry, databases, namespace ``woms-lich``). The schedule is created from its registry
settings, described, created again (nothing changes) and triggered; a monthly-cycle worker
with the evaluation service's real activities (an empty month: ``people_of`` lists nobody)
runs the launcher and the cycle it starts. Then ``woms cycle`` runs as subprocesses against
the same server. (The time-skipping test server has no schedules.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.client import Client
from typer.testing import CliRunner

from services.common import tenancy
from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import Settings, get_settings
from services.evaluation.clients import HttpSources
from services.evaluation.cycle_settings import calendar_of
from services.evaluation.models import outbox
from services.evaluation.worker import cycle_worker
from woms import cycle_cmds
from woms.onboarding import onboard
from workflows.monthly_cycle import worker as cycle_worker_module
from workflows.monthly_cycle.inputs import CycleCalendar, CycleProgress, PersonRef
from workflows.monthly_cycle.launch import LaunchResult
from workflows.monthly_cycle.schedule import (
    describe_schedule,
    ensure_schedule,
    schedule_id,
    trigger_schedule,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

TENANT, ZONE, START_DAY = "lich", "Asia/Tokyo", 3
FINISHED = "vn.woms.evaluation.cycle.finished.v1"


@pytest.fixture
def tenant(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
) -> Iterator[dict[str, Any]]:
    """``lich`` onboarded on the session runtime under a fresh ``WOMS_HOME``."""
    text = (ROOT / "tests" / "fixtures" / "tenant_mini.yaml").read_text(encoding="utf-8")
    text = text.replace("code: mini", f"code: {TENANT}", 1)
    text = text.replace("time_zone: Asia/Ho_Chi_Minh", f"time_zone: {ZONE}", 1)
    text = text.replace(
        "  period_start_day: 1\n",
        f"  period_start_day: {START_DAY}\n  seconds_per_day: 1\n  reminder_days_before: [1]\n",
        1,
    )
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    settings = Settings(
        woms_home=tmp_path,
        temporal_address=temporal_address,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    onboard(path, settings)
    with transaction(tenancy.registry_engine(settings)) as session:
        registered = tenancy.get_tenant(session, TENANT)
    assert registered is not None
    try:
        yield {
            "home": tmp_path,
            "temporal": temporal_address,
            "calendar": calendar_of(registered.config, registered.time_zone),
        }
    finally:
        dispose_engines()
        get_settings.cache_clear()


def _woms(home: Path, address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(WOMS_HOME=str(home), TEMPORAL_ADDRESS=address)
    return subprocess.run(
        [sys.executable, "-m", "woms.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def _period_of(instant: datetime) -> str:
    """The oracle: the Tokyo month of ``instant``, the previous one before the 3rd."""
    local = instant.astimezone(ZoneInfo(ZONE))
    year, month = local.year, local.month
    if local.day < START_DAY:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


async def _schedule_and_trigger(address: str, calendar: CycleCalendar) -> dict[str, Any]:
    client = await Client.connect(address, namespace=tenancy.namespace_of(TENANT))
    queue = f"schedule-test-{uuid.uuid4().hex[:8]}"
    out: dict[str, Any] = {"queue": queue}
    out["created"] = await ensure_schedule(client, TENANT, calendar, task_queue=queue)
    out["described"] = await describe_schedule(client, TENANT)
    out["again"] = await ensure_schedule(client, TENANT, calendar, task_queue=queue)
    out["described_again"] = await describe_schedule(client, TENANT)
    changed = replace(calendar, reminder_days_before=[3, 1])
    out["changed"] = await ensure_schedule(client, TENANT, changed, task_queue=queue)
    out["described_changed"] = await describe_schedule(client, TENANT)
    out["restored"] = await ensure_schedule(client, TENANT, calendar, task_queue=queue)

    def nobody(tenant: str, period: str) -> list[PersonRef]:
        return []

    sources = HttpSources()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            worker = cycle_worker(client, sources, pool, task_queue=queue, people_of=nobody)
            async with worker:
                await trigger_schedule(client, TENANT)
                deadline = time.monotonic() + 20
                while not (info := await describe_schedule(client, TENANT)) or not info.recent:
                    assert time.monotonic() < deadline, "the trigger started nothing"
                    await asyncio.sleep(0.2)
                scheduled_at, launcher_id = info.recent[-1]
                launcher = client.get_workflow_handle(launcher_id, result_type=LaunchResult)
                launched = await launcher.result()
                cycle = client.get_workflow_handle(
                    launched.cycle_workflow_id, result_type=CycleProgress
                )
                progress = await asyncio.wait_for(cycle.result(), 30)
                described = await cycle.describe()
                out.update(
                    scheduled_at=scheduled_at,
                    launcher_id=launcher_id,
                    launched=launched,
                    progress=progress,
                    cycle_parent=described.parent_id,
                    cycle_type=described.workflow_type,
                )
    finally:
        sources.close()
    return out


def test_schedule_created_described_triggered_and_driven_by_the_cli(
    tenant: dict[str, Any],
) -> None:
    calendar: CycleCalendar = tenant["calendar"]
    assert (calendar.time_zone, calendar.period_start_day) == (ZONE, START_DAY)
    assert (calendar.seconds_per_day, calendar.reminder_days_before) == (1, [1])

    out = asyncio.run(
        asyncio.wait_for(_schedule_and_trigger(tenant["temporal"], calendar), timeout=90)
    )

    # created once; a second creation changes nothing
    assert out["created"].action == "created" and out["again"].action == "unchanged"
    info = out["described"]
    assert info.schedule_id == schedule_id(TENANT) == f"{TENANT}:cycle:schedule"
    assert (info.time_zone, info.day_of_month, info.hour, info.minute) == (ZONE, START_DAY, 5, 0)
    assert info.overlap == "SKIP" and not info.paused
    assert info.launch is not None and info.launch.calendar == calendar
    assert info.launch.tenant_id == TENANT
    for run in info.next_runs[:3]:  # the 3rd at 05:00 in Tokyo, every month
        local = run.astimezone(ZoneInfo(ZONE))
        assert (local.day, local.hour, local.minute) == (START_DAY, 5, 0)
    months = {
        (r.astimezone(ZoneInfo(ZONE)).year, r.astimezone(ZoneInfo(ZONE)).month)
        for r in info.next_runs[:3]
    }
    assert len(months) == 3  # once a month
    assert out["described_again"].next_runs == info.next_runs
    # a changed setting updates the schedule's launcher input (and only then)
    assert out["changed"].action == "updated" and out["restored"].action == "updated"
    assert out["described_changed"].launch.calendar.reminder_days_before == [3, 1]

    # the trigger ran the launcher, which started the month it fired in, in Tokyo's zone
    launched: LaunchResult = out["launched"]
    period = _period_of(out["scheduled_at"])
    assert out["launcher_id"].startswith(f"{TENANT}:cycle:launcher-")
    assert launched.period == period and launched.started
    assert launched.cycle_workflow_id == f"{TENANT}:cycle:all:{period}"
    assert out["cycle_type"] == "MonthlyCycleWorkflow"
    assert out["cycle_parent"] == out["launcher_id"]
    assert out["progress"].total == 0  # an empty month, run by the real activities
    with transaction(engine_for(TENANT, "evaluation")) as session:
        kinds = {row.type for row in session.execute(select(outbox.c.type))}
    assert FINISHED in kinds

    # the CLI against the same server
    home, address, queue = tenant["home"], tenant["temporal"], out["queue"]
    again = _woms(home, address, "cycle", "schedule", TENANT, "--task-queue", queue)
    assert again.returncode == 0, again.stderr
    assert "không đổi / unchanged" in again.stdout and f"({ZONE})" in again.stdout

    status = _woms(home, address, "cycle", "status", TENANT, period, "--json")
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["workflow_id"] == launched.cycle_workflow_id
    assert reported["status"] == "COMPLETED" and reported["progress"]["total"] == 0

    started = _woms(home, address, "cycle", "start", TENANT, period, "--task-queue", queue)
    assert started.returncode == 0, started.stderr
    assert "already started" in started.stdout  # the month never runs twice

    never = CliRunner().invoke(cycle_cmds.app, ["status", TENANT, "1999-01"])
    assert never.exit_code == 1, never.output
    assert "not started" in never.output

    later = CliRunner().invoke(cycle_cmds.app, ["start", TENANT, "2031-05", "--task-queue", queue])
    assert later.exit_code == 0, later.output
    assert f"{TENANT}:cycle:all:2031-05: đã bắt đầu / started" in later.output

    gone = _woms(home, address, "cycle", "unschedule", TENANT)
    assert gone.returncode == 0, gone.stderr
    assert "đã xoá / deleted" in gone.stdout

    async def after() -> tuple[Any, Any]:
        client = await Client.connect(address, namespace=tenancy.namespace_of(TENANT))
        handle = client.get_workflow_handle(f"{TENANT}:cycle:all:2031-05")
        described = await handle.describe()
        await handle.terminate("test over")  # no worker polls its queue any more
        return await describe_schedule(client, TENANT), described.workflow_type

    assert asyncio.run(after()) == (None, "MonthlyCycleWorkflow")


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``WOMS_HOME`` with an empty tenant registry."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        yield tmp_path
    finally:
        dispose_engines()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", TENANT, "2026-13"], "PERIOD"),
        (["start", TENANT, "26-03"], "PERIOD"),
        (["schedule", "khong-co"], "is not onboarded"),
        (["unschedule", "Bad Code"], "TENANT"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    empty_home: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cycle_cmds.app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_default_task_queue_is_the_workers() -> None:
    assert cycle_cmds.TASK_QUEUE == cycle_worker_module.TASK_QUEUE
