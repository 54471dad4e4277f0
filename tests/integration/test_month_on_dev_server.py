"""One month of phường Phúc Lợi (Hà Nội) from start to publication on the real Temporal dev
server, with the calendar compressed to one second per day (DOMAIN.md §6; 001 §IV.1).

Hà Nội is onboarded (databases, namespace ``woms-hanoi``, Kafka topics); the planning and tasks
APIs are served over HTTP by uvicorn; June's tasks of the office (PL-VP) are created and
approved through the tasks API; the monthly-cycle worker runs in the test with the evaluation
service's real activities (reading planning and tasks over HTTP). The test plays the actors:
P021, P022 and P023 self-assess, are reviewed by their evaluator and decided by their decider
(service use case in a transaction, then the matching signal); everyone else does nothing, so
their self-assessment falls back, their review and their decision escalate — and, once the
decision escalated, the next level decides (a decision is required before publication).

The month is restricted to the office (``people_of`` keeps PL-VP's members): the other ~30
people of the ward would only repeat the "does nothing" path and make the test slower.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from services.common.auth import issue_token
from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import Settings, get_settings
from services.evaluation import service
from services.evaluation.clients import HttpSources
from services.evaluation.models import Evaluation, outbox
from services.evaluation.worker import cycle_worker
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from woms.onboarding import namespace_of, onboard
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleInput,
    PersonRef,
    PersonState,
    StepDone,
    person_workflow_id,
)
from workflows.monthly_cycle.worker import start_cycle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

TENANT, PERIOD, UNIT = "hanoi", "2026-06", "PL-VP"
HEAD = "P019"  # Chánh VP HĐND-UBND: assigns and approves the office's tasks
ACTORS = ("P021", "P022", "P023")  # they self-assess, get reviewed and decided on time
IDLE_STAFF = "P024"  # has approved work but nobody acts on the month
TASKS = {"P021": ("VP-VB-01", "8"), "P022": ("VP-BC-01", "2"), "P023": ("VP-KH-01", "1")}
TASKS[IDLE_STAFF] = ("VP-VB-01", "4")
#: General-criteria points the next level enters for a month nobody reviewed (``001 §II.1``:
#: the manager's points count; without them the month is not decided, issue 15).
AUTHORITY_GENERAL = 26
PUBLISHED = "vn.woms.evaluation.evaluation.published.v1"
ESCALATED = "vn.woms.evaluation.evaluation.escalated.v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    return server, thread


@pytest.fixture
def stack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
) -> Iterator[dict[str, str]]:
    """Hà Nội onboarded on the session runtime; planning and tasks served over HTTP."""
    planning_port, tasks_port = _free_port(), _free_port()
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PLANNING_URL", f"http://127.0.0.1:{planning_port}")
    monkeypatch.setenv("TASKS_URL", f"http://127.0.0.1:{tasks_port}")
    get_settings.cache_clear()
    dispose_engines()
    tasks_api._directory.clear()
    settings = Settings(
        woms_home=tmp_path,
        temporal_address=temporal_address,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    onboard(ROOT / "data" / "tenants" / TENANT / "tenant.yaml", settings)
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    try:
        servers.append(_serve(planning_app(), planning_port))
        tasks = tasks_api.create_app()
        tasks.dependency_overrides[tasks_api.today] = lambda: date(2026, 6, 17)
        servers.append(_serve(tasks, tasks_port))
        yield {"temporal": temporal_address, "tasks": f"http://127.0.0.1:{tasks_port}"}
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, thread in servers:
            thread.join(timeout=10)
        tasks_api._directory.clear()
        dispose_engines()
        get_settings.cache_clear()


def _h(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(TENANT, subject, {'staff'})}"}


def _approved_task(tasks: httpx.Client, person: str, item: str, quantity: str) -> str:
    """A June task led by ``person``: created and assigned by the head, done, approved."""
    body = {
        "name": f"Sản phẩm tháng 6 của {person}",
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "regular",
        "lead_unit": UNIT,
        "lead_person": person,
        "start_date": "2026-06-01",
        "due_date": "2026-06-19",
        "output_product": "Văn bản trình ký",
        "quality_criteria": "Đúng thể thức, đúng hạn",
        "catalog_item": item,
        "quantity": quantity,
    }
    created = tasks.post(f"/tenants/{TENANT}/tasks", headers=_h(HEAD), json=body)
    assert created.status_code == 201, created.text
    code = str(created.json()["code"])
    stored = tasks.post(  # every submission carries evidence (issue 15, 000 §VI.4)
        f"/tenants/{TENANT}/evidence",
        params={"filename": "san-pham.pdf"},
        headers=_h(person),
        content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    )
    assert stored.status_code == 201, stored.text
    proof = {"evidence_ids": [stored.json()["id"]]}
    for action, who in (("assign", HEAD), ("start", person), ("submit", person)):
        payload = proof if action == "submit" else {}
        moved = tasks.post(
            f"/tenants/{TENANT}/tasks/{code}/{action}", headers=_h(who), json=payload
        )
        assert moved.status_code == 200, (action, moved.text)
    approved = tasks.post(f"/tenants/{TENANT}/tasks/{code}/approve", headers=_h(HEAD))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    return code


def _in_evaluation(use_case: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    with transaction(engine_for(TENANT, "evaluation")) as session:
        return use_case(session, TENANT, *args, **kw)


async def _state(client: Client, person: str) -> PersonState:
    handle = client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
    return await handle.query("state", result_type=PersonState)


async def _until(client: Client, person: str, ready: Callable[[PersonState], bool]) -> PersonState:
    """Poll ``person``'s ``state`` query until ``ready`` (the workflow may not exist yet)."""
    while True:
        try:
            state = await _state(client, person)
        except Exception:  # not started yet, or no worker answered the query yet
            state = None
        if state is not None and ready(state):
            return state
        await asyncio.sleep(0.2)


async def _signal(client: Client, person: str, name: str, actor: str) -> None:
    handle = client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
    await handle.signal(name, StepDone(actor=actor, note="test actor"))


async def _on_time(client: Client, person: str, relation: dict[str, Any]) -> None:
    """The person, the evaluator and the decider each act and signal (before any deadline)."""
    await _until(client, person, lambda s: s.step == "self_assessment")
    evaluator = relation["evaluator_of"][person][0]
    decider = relation["decider_of"][person]
    await asyncio.to_thread(_in_evaluation, service.self_assess, person, PERIOD, 27, person)
    await _signal(client, person, "self_assessed", person)
    await asyncio.to_thread(
        _in_evaluation, service.review, person, PERIOD, 28, "Hoàn thành tốt", evaluator
    )
    await _signal(client, person, "reviewed", evaluator)
    await asyncio.to_thread(_in_evaluation, service.decide, person, PERIOD, decider)
    await _signal(client, person, "decided", decider)


async def _after_escalation(client: Client, person: str) -> None:
    """Nobody acts until the decision escalates; then the next level decides, entering the
    general-criteria points nobody reviewed."""
    state = await _until(client, person, lambda s: "decision_escalated" in s.flags)
    to = next(e for e in state.escalations if e.startswith("decision:")).split(":", 1)[1]
    await asyncio.to_thread(
        _in_evaluation, service.decide, person, PERIOD, to, general=AUTHORITY_GENERAL
    )
    await _signal(client, person, "decided", to)


async def _run_month(address: str, sources: HttpSources, people: list[str]) -> dict[str, Any]:
    client = await Client.connect(address, namespace=namespace_of(TENANT))
    relation = await asyncio.to_thread(sources.relation_of, TENANT, PERIOD)
    queue = f"month-test-{uuid.uuid4().hex[:8]}"

    def office(tenant: str, period: str) -> list[PersonRef]:
        return [p for p in sources.people_of(tenant, period) if p.unit_id == UNIT]

    with ThreadPoolExecutor(max_workers=16) as pool:
        worker = cycle_worker(
            client,
            sources,
            pool,
            task_queue=queue,
            people_of=office,
            max_concurrent_activities=16,
        )
        async with worker:
            handle: WorkflowHandle[Any, Any] = await start_cycle(
                client,
                CycleInput(
                    tenant_id=TENANT,
                    period=PERIOD,
                    idempotency_key=f"test-{uuid.uuid4().hex[:8]}",
                    calendar=CycleCalendar(seconds_per_day=1),
                ),
                task_queue=queue,
            )
            assert handle.result_run_id is not None, "a cycle of June already existed"
            actors = [
                _on_time(client, p, relation) if p in ACTORS else _after_escalation(client, p)
                for p in people
            ]
            await asyncio.wait_for(asyncio.gather(*actors), 90)
            progress = await asyncio.wait_for(handle.result(), 120)
            states = {p: await _state(client, p) for p in people}
    return {"progress": progress, "states": states, "relation": relation}


@pytest.mark.timeout(900)  # a real month / browser session; slow on a busy machine
def test_a_month_runs_to_publication_on_the_dev_server(stack: dict[str, str]) -> None:
    started = time.monotonic()
    with httpx.Client(base_url=stack["tasks"], timeout=10) as tasks:
        codes = {p: _approved_task(tasks, p, *TASKS[p]) for p in TASKS}
    sources = HttpSources()
    try:
        people = [p.person_id for p in sources.people_of(TENANT, PERIOD) if p.unit_id == UNIT]
        assert set(ACTORS) | {HEAD, IDLE_STAFF} <= set(people)
        assert any(
            line["task_id"] == codes["P021"] for line in sources.ledger_of(TENANT, "P021", PERIOD)
        )
        month = asyncio.run(asyncio.wait_for(_run_month(stack["temporal"], sources, people), 180))
    finally:
        sources.close()
    progress, states = month["progress"], month["states"]

    # the cycle finished with every office workflow completed, the idle ones listed as late
    assert progress.total == progress.started == len(people)
    assert progress.by_step["completed"] == len(people) and progress.by_step["failed"] == 0
    idle = sorted(set(people) - set(ACTORS))
    assert sorted(progress.late) == idle
    for person, state in states.items():
        assert state.published and state.step == "done", (person, state)
        # idle: both self-assessment reminders (later steps begin at or after their own)
        assert state.reminders == 0 if person in ACTORS else state.reminders >= 2, state
    for person in ACTORS:
        assert states[person].flags == [] and states[person].escalations == []
    for person in idle:
        assert {
            "self_assessment_missed",
            "review_escalated",
            "review_missed",
            "decision_escalated",
        } <= set(states[person].flags), person
        assert "decision_overdue" not in states[person].flags
        assert [e.split(":")[0] for e in states[person].escalations] == ["review", "decision"]

    with transaction(engine_for(TENANT, "evaluation")) as session:
        rows = {
            ev.person: service.snapshot(ev)
            for ev in session.scalars(select(Evaluation).where(Evaluation.period == PERIOD))
        }
        events = session.execute(select(outbox.c.type, outbox.c.aggregate)).all()
    assert sorted(rows) == sorted(people)
    assert all(row["status"] == "published" for row in rows.values()), rows
    for person in TASKS:  # a real ledger: a score and a grade
        row = rows[person]
        assert row["score"] is not None and row["grade"] in {"A", "B", "C", "D"}, row
        assert row["final_grade"] == row["grade"] and row["suggested_score"] is not None
    for person in ACTORS:
        assert rows[person]["self_general"] == "27" and rows[person]["review_general"] == "28"
        assert rows[person]["review_comment"] == "Hoàn thành tốt"
        assert "self_assessment_missed" not in rows[person]["flags"]
    # the idle staff member did not self-assess: the system score stood in, flagged
    assert {"self_assessment_missed", "review_escalated", "decision_escalated"} <= set(
        rows[IDLE_STAFF]["flags"]
    )
    # nobody reviewed: the next level entered the general points (never 30 by default)
    assert "general_by_authority" in rows[IDLE_STAFF]["flags"]
    assert "general_defaulted" not in rows[IDLE_STAFF]["flags"]
    assert rows[IDLE_STAFF]["review_general"] == str(AUTHORITY_GENERAL)
    for person in set(people) - set(TASKS):  # no task in June: published without a score
        assert rows[person]["score"] is None and "no_tasks" in rows[person]["flags"]

    published = {subject for kind, subject in events if kind == PUBLISHED}
    assert published == {f"{p}/{PERIOD}" for p in people}
    escalated = [subject for kind, subject in events if kind == ESCALATED]
    assert sorted(set(escalated)) == sorted(f"{p}/{PERIOD}" for p in idle)
    assert len(escalated) == 2 * len(idle)  # review, then decision; none of the actors
    assert "vn.woms.evaluation.cycle.finished.v1" in {kind for kind, _ in events}
    assert time.monotonic() - started < 150
