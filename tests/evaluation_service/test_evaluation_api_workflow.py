"""The evaluation API drives a running PersonEvaluationWorkflow (time-skipping Temporal
server, namespace ``woms-mini``, the evaluation service's real activities on SQLite, planning
served for real): each step is stored, then signalled; the workflow publishes and closes the
appeal without fallback, escalation or reminder. A step made while Temporal is unreachable
is reported ``pending`` and the same request, repeated, delivers the signal. The cycle start
is idempotent and its progress readable through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import runtime
from services.common.db import engine_for, transaction
from services.common.tenancy import namespace_of
from services.evaluation.activities import EvaluationActivities
from services.evaluation.clients import HttpSources
from services.evaluation.models import Evaluation
from tests.evaluation_service.evaluation_api_stack import (
    HEAD,
    PERIOD,
    SECRETARY,
    SEED,
    STAFF,
    TENANT,
    UNIT,
    auth,
    closed_address,
    evaluation_app,
    open_month,
    planning_stack,
    stored,
)
from workflows.monthly_cycle.inputs import Deadlines, PersonInput, PersonState, person_workflow_id
from workflows.monthly_cycle.person import PersonEvaluationWorkflow
from workflows.monthly_cycle.worker import TASK_QUEUE, build_worker

pytestmark = pytest.mark.integration

BASE = f"/tenants/{TENANT}"


def month(person: str, step: str = "") -> str:
    return f"{BASE}/evaluations/{person}/{PERIOD}" + (f"/{step}" if step else "")


async def _opened(person: str) -> None:
    """Wait (real time) for the workflow's ``open_evaluation`` activity."""
    for _ in range(400):
        with transaction(engine_for(TENANT, "evaluation")) as s:
            if s.execute(select(Evaluation).where(Evaluation.person == person)).first():
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{person}'s month was never opened")


async def _state_until(api: TestClient, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the API's view of the live ``state`` query until ``ready``."""
    for _ in range(400):
        r = await asyncio.to_thread(api.get, month(STAFF, "workflow"), headers=auth(STAFF))
        assert r.status_code == 200, r.text
        if ready(r.json()["state"]):
            return dict(r.json()["state"])
        await asyncio.sleep(0.05)
    raise AssertionError("the workflow never reached the expected state")


async def _post(api: TestClient, url: str, who: str, body: Any = None, *roles: str) -> Any:
    r: httpx.Response = await asyncio.to_thread(
        api.post, url, headers=auth(who, *roles), json=body or {}
    )
    assert r.status_code == 200, (url, r.text)
    return r.json()


async def _drive(planning_url: str, acts: EvaluationActivities) -> PersonState:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=runtime.temporal_test_server_path()
    )
    address = env.client.service_client.config.target_host
    client = await Client.connect(address, namespace=namespace_of(TENANT))
    start = await env.get_current_time()
    hour = timedelta(hours=1)
    deadlines = Deadlines(start + 5 * hour, start + 6 * hour, start + 8 * hour, start + 12 * hour)
    with ThreadPoolExecutor(4) as pool:
        async with (
            env,
            build_worker(client, acts.all(), task_queue=TASK_QUEUE, activity_executor=pool),
        ):
            handle = await client.start_workflow(
                PersonEvaluationWorkflow.run,
                PersonInput(TENANT, PERIOD, STAFF, UNIT, "api-test", deadlines, [], 3600),
                id=person_workflow_id(TENANT, STAFF, PERIOD),
                task_queue=TASK_QUEUE,
            )
            await _opened(STAFF)
            open_month(HEAD)  # a month without a workflow (API-only use)
            live = TestClient(evaluation_app(planning_url, address))
            dead = TestClient(evaluation_app(planning_url, closed_address()))
            with live, dead:
                # Temporal unreachable: stored, signal pending; the workflow still waits
                body = {"general": 27}
                r = await _post(dead, month(STAFF, "self-assessment"), STAFF, body)
                assert (r["workflow"], r["evaluation"]["status"]) == ("pending", "self_assessed")
                waiting = await _state_until(live, lambda s: s["step"] == "self_assessment")
                assert waiting["flags"] == []
                # the same request again, Temporal reachable: the signal arrives
                r = await _post(live, month(STAFF, "self-assessment"), STAFF, body)
                assert r["workflow"] == "sent"
                await _state_until(live, lambda s: s["step"] == "review")
                review = {"general": 28, "comment": "Hoàn thành tốt"}
                r = await _post(live, month(STAFF, "review"), HEAD, review)
                assert r["workflow"] == "sent"
                r = await _post(live, month(STAFF, "decision"), HEAD)
                assert r["workflow"] == "sent"
                published = await _state_until(live, lambda s: s["step"] == "appeal_window")
                assert published["published"] is True
                assert stored(STAFF)[0]["status"] == "published"  # by the workflow's activity

                r = await _post(live, month(HEAD, "self-assessment"), HEAD, {"general": 30})
                assert r["workflow"] == "not_running"
                unknown = await asyncio.to_thread(
                    live.get, month(HEAD, "workflow"), headers=auth(HEAD)
                )
                assert unknown.status_code == 404

                r = await _post(live, month(STAFF, "appeal"), STAFF, {"reason": "Xin xem lại"})
                assert r["workflow"] == "sent"
                await _state_until(live, lambda s: s["appeal"] == "open")
                answer = {"upheld": True, "answer": "Giữ nguyên"}
                r = await _post(live, month(STAFF, "appeal/answer"), SECRETARY, answer)
                assert r["workflow"] == "sent"
                state = await handle.result()

                # the month on Temporal: one run however often it is started
                admin = ("admin", None, "tenant_admin")
                first = await _post(live, f"{BASE}/cycles/{PERIOD}", *admin)
                second = await _post(live, f"{BASE}/cycles/{PERIOD}", *admin)
                assert first["run_id"] and first == {**second, "status": first["status"]}
                assert first["workflow_id"] == f"{TENANT}:cycle:all:{PERIOD}"
                progress = await asyncio.to_thread(
                    live.get, f"{BASE}/cycles/{PERIOD}", headers=auth("admin", "tenant_admin")
                )
                assert progress.status_code == 200, progress.text
                assert progress.json()["workflow_status"] == "present"
                assert progress.json()["workflow"]["total"] == 0  # people_of lists nobody
                assert progress.json()["by_status"] == {"published": 1, "self_assessed": 1}
                return state


def test_api_steps_drive_the_running_person_workflow_to_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        relation = HttpSources(planning_url=planning_url).relation_of(TENANT, PERIOD)
        acts = EvaluationActivities(
            people_of=lambda tenant, period: [],  # the cycle started below runs nobody
            ledger_of=lambda tenant, person, period: list(SEED["tasks"]),
            relation_of=lambda tenant, period: relation,
        )
        state = asyncio.run(asyncio.wait_for(_drive(planning_url, acts), timeout=120))
        assert state == PersonState(step="done", published=True, appeal="upheld")
        assert stored(STAFF)[1] == [
            "opened",
            "self_assessed",
            "self_assessed",
            "reviewed",
            "decided",
            "published",
            "appealed",
            "appeal_answered",
        ]
