"""The whole ward's month — phường Phúc Lợi, every person planning lists — from start to
publication on the real Temporal dev server, the actors acting through the evaluation API
(DOMAIN.md §6–§7; 001 §II.3, §IV.1).

Hà Nội is onboarded from its tenant file with the calendar compressed **by the tenant
setting** ``calendar.seconds_per_day`` (a temporary copy of the file); planning, tasks and
evaluation are served over HTTP by uvicorn; the cycle worker runs the evaluation service's
real activities (reading planning and tasks over HTTP) for everyone of the ward.

July 2026 is evaluated (the office's one-office test runs June on the same session server,
and a month's cycle id is unique per tenant). Tasks of three offices are created and approved
through the tasks API; P021 reproduces 002's worked example (132 points → 83.9, B). A tenant
administrator starts the month with ``POST /cycles/{period}``; then, each with their own
token and only as the relation allows (``evaluator_of`` / ``decider_of``):

* ``ON_TIME`` self-assess, are reviewed by their evaluator and decided by their decider before
  the deadlines; P022 then appeals and the level above the decider (P003) answers;
* everyone else does nothing: the self-assessment falls back to the system score, the review
  and the decision escalate, and — once the decision escalated — the decider decides late;
* wrong actors are refused (403) while the month runs.

P001–P003 (Bí thư, Phó Bí thư thường trực, Chủ tịch UBND) are reviewed and decided by city
bodies outside the tenant (``relation.external`` / ``decider_external``). Each body acts
through the API with its own account, granted ``external_body`` for that body in the tenant
file (``role_grants``; planning's relation says which body an account acts for,
``acting_for``): the body's account decides late, P004 and another body's account are
refused.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from services.common import tenancy
from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import Settings, get_settings
from services.evaluation import service
from services.evaluation.api import create_app as evaluation_app
from services.evaluation.clients import HttpSources
from services.evaluation.cycle_settings import calendar_of
from services.evaluation.models import Evaluation, outbox
from services.evaluation.scoring import Status, TaskRecord, score_month
from services.evaluation.signals import CycleGateway
from services.evaluation.worker import cycle_worker
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from tests.integration.ward_stack import (
    TENANT,
    Clock,
    Tasks,
    auth,
    compressed_tenant_file,
    serving,
)
from woms.onboarding import namespace_of, onboard
from workflows.monthly_cycle.inputs import cycle_workflow_id, person_workflow_id

pytestmark = pytest.mark.integration

PERIOD = "2026-07"
#: Seconds per "day" of the compressed month: self-assessment due 24 "days" after the start,
#: review 25, decision 27, publication 35, appeal window 10 after publication.
SECONDS_PER_DAY = 2
#: General-criteria points the late decider enters for a month nobody reviewed (``001 §II.1``:
#: the manager's points count; without them the month is not decided, issue 15).
AUTHORITY_GENERAL = 26
WORKED_EXAMPLE = "P021"  # chuyên viên VP HĐND-UBND: 002's Bảng điểm
APPELLANT = "P022"
#: person -> (unit, head assigning the tasks, [(catalog item, quantity)])
TASKS = {
    WORKED_EXAMPLE: ("PL-VP", "P019", []),
    APPELLANT: ("PL-VP", "P019", [("VP-BC-01", "2"), ("VP-VB-01", "3")]),
    "P024": ("PL-VP", "P019", [("VP-VB-01", "4")]),  # idle, with approved work
    "P027": ("PL-VHXH", "P026", [("VH-BC-01", "3")]),
    "P032": ("PL-KTHTDT", "P031", [("KT-BC-01", "2"), ("KT-GP-01", "1")]),
}
#: person -> (self-assessed points, reviewed points): they act before every deadline
ON_TIME = {WORKED_EXAMPLE: (28, 30), APPELLANT: (27, 26), "P027": (30, 29), "P032": (25, 27)}
EXTERNAL = ("P001", "P002", "P003")
PUBLISHED = "vn.woms.evaluation.evaluation.published.v1"
ESCALATED = "vn.woms.evaluation.evaluation.escalated.v1"
EVENT = "vn.woms.evaluation.evaluation.{}.v1"


@dataclass
class Ward:
    settings: Settings
    planning: str
    tasks: str
    evaluation: str
    clock: Clock
    task_queue: str  # the cycle's: the evaluation API starts it there, the test's worker polls it


@pytest.fixture
def ward(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
) -> Iterator[Ward]:
    """Hà Nội onboarded with the compressed calendar; the three APIs served over HTTP."""
    home = tmp_path / "home"
    monkeypatch.setenv("WOMS_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    get_settings.cache_clear()
    dispose_engines()
    tasks_api._directory.clear()
    settings = Settings(
        woms_home=home, temporal_address=temporal_address, kafka_bootstrap_servers=kafka_bootstrap
    )
    onboard(compressed_tenant_file(tmp_path / "tenant", SECONDS_PER_DAY), settings)
    clock = Clock(date(2026, 7, 1))
    tasks = tasks_api.create_app()
    tasks.dependency_overrides[tasks_api.today] = clock
    try:
        with serving(planning_app(), tasks) as (planning_url, tasks_url):
            monkeypatch.setenv("PLANNING_URL", planning_url)
            monkeypatch.setenv("TASKS_URL", tasks_url)
            get_settings.cache_clear()
            queue = f"ward-month-{uuid.uuid4().hex[:8]}"
            relations = HttpSources(planning_url=planning_url, tasks_url=tasks_url)
            app = evaluation_app(
                sources=relations, cycle_gateway=CycleGateway(temporal_address, task_queue=queue)
            )
            try:
                with serving(app) as (evaluation_url,):
                    yield Ward(settings, planning_url, tasks_url, evaluation_url, clock, queue)
            finally:
                relations.close()
    finally:
        tasks_api._directory.clear()
        dispose_engines()
        get_settings.cache_clear()


# --- the actors, through the evaluation API ------------------------------------------------


def _month(person: str, step: str = "") -> str:
    return f"/tenants/{TENANT}/evaluations/{person}/{PERIOD}" + (f"/{step}" if step else "")


async def _post(api: httpx.AsyncClient, url: str, who: str, body: Any = None) -> dict[str, Any]:
    """A step as ``who``; it must be stored and its signal delivered to the running workflow."""
    answer = await api.post(url, headers=auth(who), json=body if body is not None else {})
    assert answer.status_code == 200, (url, who, answer.text)
    out = dict(answer.json())
    assert out["workflow"] == "sent", (url, out)
    return out


async def _refused(api: httpx.AsyncClient, url: str, who: str, body: Any = None) -> None:
    answer = await api.post(url, headers=auth(who), json=body if body is not None else {})
    assert answer.status_code == 403, (url, who, answer.text)
    assert answer.json()["detail"]["reasons"], answer.text


async def _read(api: httpx.AsyncClient, person: str, who: str) -> dict[str, Any] | None:
    answer = await api.get(_month(person), headers=auth(who))
    if answer.status_code == 404:  # not opened yet by the workflow
        return None
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _until_status(api: httpx.AsyncClient, person: str, status: str) -> dict[str, Any]:
    while True:
        row = await _read(api, person, person)
        if row is not None and row["status"] == status:
            return row
        await asyncio.sleep(0.5)


async def _on_time(api: httpx.AsyncClient, person: str, relation: dict[str, Any]) -> None:
    """Self-assessment, review and decision before their deadlines, each by its owner; the
    wrong actors are refused on the way."""
    self_points, review_points = ON_TIME[person]
    evaluator = relation["evaluator_of"][person][0]
    decider = relation["decider_of"][person]
    await _until_status(api, person, "opened")
    await _refused(api, _month(person, "self-assessment"), evaluator, {"general": 30})
    await _post(api, _month(person, "self-assessment"), person, {"general": self_points})
    await _refused(api, _month(person, "review"), person, {"general": 30})  # not one's own
    review = {"general": review_points, "comment": "Hoàn thành tốt nhiệm vụ"}
    await _post(api, _month(person, "review"), evaluator, review)
    await _refused(api, _month(person, "decision"), person)
    await _post(api, _month(person, "decision"), decider)


async def _appeal(api: httpx.AsyncClient, person: str, relation: dict[str, Any]) -> None:
    """Once published, the person appeals; the level above the decider upholds the result
    (the decider may not answer an appeal against their own decision)."""
    decider = relation["decider_of"][person]
    authority = relation["evaluator_of"][decider][0]
    await _until_status(api, person, "published")
    await _post(api, _month(person, "appeal"), person, {"reason": "Đề nghị xem xét lại điểm"})
    answer = {"upheld": True, "answer": "Giữ nguyên kết quả"}
    await _refused(api, _month(person, "appeal/answer"), decider, answer)
    await _post(api, _month(person, "appeal/answer"), authority, answer)


def _flags() -> dict[str, list[str]]:
    with transaction(engine_for(TENANT, "evaluation")) as s:
        return {ev.person: list(ev.flags) for ev in s.scalars(select(Evaluation))}


async def _late_deciders(
    api: httpx.AsyncClient, client: Client, idle: list[str], relation: dict[str, Any]
) -> None:
    """Nobody acts for ``idle`` until their decision escalated (watched in the evaluation
    database); then the decider decides through the API — a city body's decision (EXTERNAL,
    see the module notes) is made by the account acting for that body."""
    waiting = set(idle)
    deadline = time.monotonic() + 45 * SECONDS_PER_DAY + 60
    while waiting:
        flags = await asyncio.to_thread(_flags)
        if time.monotonic() > deadline:
            stuck = {p: (flags.get(p), await _diagnosis(client, p)) for p in sorted(waiting)}
            raise AssertionError(f"decision never escalated: {stuck}")
        ready = sorted(p for p in waiting if "decision_escalated" in flags.get(p, []))
        for person in ready:
            waiting.discard(person)
        await asyncio.gather(*(_decide_late(api, client, p, relation) for p in ready))
        await asyncio.sleep(0.5)


async def _diagnosis(client: Client, person: str) -> Any:
    handle = client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
    described = await handle.describe()
    events = [e async for e in handle.fetch_history_events()]
    return {
        "status": described.status,
        "pending": [str(a) for a in described.raw_description.pending_activities],
        "pending_task": str(described.raw_description.pending_workflow_task),
        "last": [str(e)[:300] for e in events[-6:]],
    }


async def _decide_late(
    api: httpx.AsyncClient, client: Client, person: str, relation: dict[str, Any]
) -> None:
    decider = relation["decider_of"].get(person)
    entered = {"general": AUTHORITY_GENERAL}  # nobody reviewed: the decider enters them
    if decider is not None:
        await _post(api, _month(person, "decision"), decider, entered)
        return
    body = relation["decider_external"][person]
    await _refused(api, _month(person, "decision"), "P004")  # no person of the ward decides
    accounts = {b: subject for subject, b in relation["acting_for"].items()}
    others = sorted(set(relation["acting_for"]) - {accounts[body]})
    await _refused(api, _month(person, "decision"), others[0])  # another body's account
    await _post(api, _month(person, "decision"), accounts[body], entered)  # the body's own


async def _run_month(ward: Ward, people: list[str], relation: dict[str, Any]) -> dict[str, Any]:
    """Start the month through the API with the cycle worker running; the actors act; wait
    for the cycle; read the people's workflow states and the cycle's progress via the API."""
    admin = auth("admin", "tenant_admin")
    client = await Client.connect(ward.settings.temporal_address or "", namespace="woms-hanoi")
    assert namespace_of(TENANT) == "woms-hanoi"
    sources = HttpSources(planning_url=ward.planning, tasks_url=ward.tasks)
    api = httpx.AsyncClient(base_url=ward.evaluation, timeout=30)
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            worker = cycle_worker(
                client, sources, pool, task_queue=ward.task_queue, max_concurrent_activities=24
            )
            async with worker:
                refused = await api.post(f"/tenants/{TENANT}/cycles/{PERIOD}", headers=auth("P019"))
                assert refused.status_code == 403, refused.text  # staff do not start months
                started = await api.post(f"/tenants/{TENANT}/cycles/{PERIOD}", headers=admin)
                assert started.status_code == 200, started.text
                run = started.json()
                assert run["workflow_id"] == cycle_workflow_id(TENANT, PERIOD)
                assert run["status"] == "RUNNING", run
                again = await api.post(f"/tenants/{TENANT}/cycles/{PERIOD}", headers=admin)
                assert again.json()["run_id"] == run["run_id"]  # one month, one run

                idle = [p for p in people if p not in ON_TIME]
                actors = [_on_time(api, p, relation) for p in ON_TIME]
                actors += [_appeal(api, APPELLANT, relation)]
                actors += [_late_deciders(api, client, idle, relation)]
                budget = 60 * SECONDS_PER_DAY + 60
                await asyncio.wait_for(asyncio.gather(*actors), budget)
                handle = client.get_workflow_handle(run["workflow_id"])
                await asyncio.wait_for(handle.result(), 20 * SECONDS_PER_DAY + 60)

                progress = await api.get(f"/tenants/{TENANT}/cycles/{PERIOD}", headers=admin)
                assert progress.status_code == 200, progress.text
                watched = [*ON_TIME, "P024", "P001"]
                states = {}
                for person in watched:
                    got = await api.get(_month(person, "workflow"), headers=admin)
                    assert got.status_code == 200, got.text
                    states[person] = got.json()["state"]
    finally:
        await api.aclose()
        sources.close()
    return {"progress": progress.json(), "states": states}


# --- the test ------------------------------------------------------------------------------


def _engine_result(ledger: list[dict[str, Any]], general: Decimal) -> Any:
    records = [
        TaskRecord(
            points=Fraction(Decimal(str(line["points"]))),
            completed=line["completed"],
            quality_failures=line["quality_failures"],
            delays=line["delays"],
            days_late=line["days_late"],
            objective_cause=line["objective_cause"],
            exceeded=line["exceeded"],
            group=line["group"],
        )
        for line in ledger
    ]
    return score_month(records, general_score=general, working_days=1, days_worked=1)


@pytest.mark.timeout(900)  # a real month / browser session; slow on a busy machine
def test_the_ward_month_runs_through_the_api_on_the_dev_server(ward: Ward) -> None:
    started = time.monotonic()
    with transaction(tenancy.registry_engine()) as s:
        registered = tenancy.get_tenant(s, TENANT)
    assert registered is not None
    calendar = calendar_of(registered.config, registered.time_zone)
    assert calendar.seconds_per_day == SECONDS_PER_DAY  # the tenant setting, from the registry
    assert calendar.time_zone == "Asia/Ho_Chi_Minh"

    with httpx.Client(base_url=ward.tasks, timeout=10) as client:
        tasks = Tasks(client, ward.clock, start=date(2026, 7, 1), due=date(2026, 7, 17))
        codes = {WORKED_EXAMPLE: tasks.worked_example("P019", "PL-VP", WORKED_EXAMPLE)}
        ward.clock.day = date(2026, 7, 15)
        for person, (unit, head, items) in TASKS.items():
            for item, quantity in items:
                code = tasks.create(head, unit, person, item, quantity)
                tasks.done_and_approved(code, person, head)
                codes.setdefault(person, []).append(code)

    sources = HttpSources(planning_url=ward.planning, tasks_url=ward.tasks)
    try:
        people_refs = sources.people_of(TENANT, PERIOD)
        relation = sources.relation_of(TENANT, PERIOD)
        ledgers = {p.person_id: sources.ledger_of(TENANT, p.person_id, PERIOD) for p in people_refs}
    finally:
        sources.close()
    people = sorted(p.person_id for p in people_refs)
    assert all(p.unit_id == "PL" or p.unit_id.startswith("PL-") for p in people_refs)
    assert len(people) == 60 and all(p.evaluated for p in people_refs)  # the whole ward
    assert {line["task_id"] for line in ledgers[WORKED_EXAMPLE]} == set(codes[WORKED_EXAMPLE])

    month = asyncio.run(_run_month(ward, people, relation))
    progress, states = month["progress"], month["states"]
    idle = sorted(set(people) - set(ON_TIME))

    # GET /cycles/{period}: every month published, the cycle's counts
    assert progress["workflow_status"] == "present"
    assert progress["by_status"] == {"published": len(people)}
    cycle = progress["workflow"]
    assert cycle["total"] == cycle["started"] == len(people) and cycle["not_evaluated"] == 0
    assert cycle["by_step"]["completed"] == len(people) and cycle["by_step"]["failed"] == 0

    # the workflows' own view: no flag for the punctual, escalations to the next level
    for person in ON_TIME:
        state = states[person]
        assert state["published"] and state["step"] == "done", state
        assert state["flags"] == [] and state["escalations"] == [] and state["reminders"] == 0
    assert states[APPELLANT]["appeal"] == "upheld"
    assert sorted(cycle["late"]) == idle  # a flag on every idle month, none on the others
    for person, to in (("P024", "P003"), ("P001", "tenant_admin")):
        state = states[person]
        assert state["published"] and state["step"] == "done", state
        assert {"self_assessment_missed", "review_escalated", "review_missed"} <= set(
            state["flags"]
        ), state
        assert "decision_escalated" in state["flags"] and state["reminders"] > 0, state
        assert state["escalations"][:2] == [f"review:{to}", f"decision:{to}"], state

    with transaction(engine_for(TENANT, "evaluation")) as session:
        rows = {
            ev.person: service.snapshot(ev)
            for ev in session.scalars(select(Evaluation).where(Evaluation.period == PERIOD))
        }
        events = session.execute(select(outbox.c.type, outbox.c.aggregate)).all()
    assert sorted(rows) == people

    # every published score is the scoring engine applied to the ledger read over HTTP
    for person, row in rows.items():
        assert row["status"] == "published", row
        general = Decimal(ON_TIME[person][1] if person in ON_TIME else AUTHORITY_GENERAL)
        result = _engine_result(ledgers[person], general)
        if result.status is Status.EVALUATED:
            assert Decimal(row["score"]) == result.score, (person, row)
            assert row["grade"] == row["final_grade"] == result.grade.value, (person, row)
        else:
            assert row["score"] is None and result.status.value in row["flags"], (person, row)
    assert set(TASKS) <= {p for p, row in rows.items() if row["score"] is not None}
    assert (rows[WORKED_EXAMPLE]["score"], rows[WORKED_EXAMPLE]["grade"]) == ("83.9", "B")
    for person in ON_TIME:
        assert Decimal(rows[person]["self_general"]) == ON_TIME[person][0]
        assert Decimal(rows[person]["review_general"]) == ON_TIME[person][1]
        assert not {"self_assessment_missed", "general_defaulted"} & set(rows[person]["flags"])
    for person in idle:
        assert {
            "self_assessment_missed",
            "review_escalated",
            "decision_escalated",
            "general_by_authority",
        } <= set(rows[person]["flags"]), (person, rows[person])
        assert "general_defaulted" not in rows[person]["flags"]
        assert Decimal(rows[person]["review_general"]) == AUTHORITY_GENERAL
    assert rows[APPELLANT]["appeal_status"] == "upheld"

    # the outbox: one publication per person, two escalations per idle person, the appeal
    kinds = Counter(kind for kind, _ in events)
    published = Counter(subject for kind, subject in events if kind == PUBLISHED)
    assert published == {f"{p}/{PERIOD}": 1 for p in people}
    escalated = Counter(subject for kind, subject in events if kind == ESCALATED)
    assert set(escalated) == {f"{p}/{PERIOD}" for p in idle}
    assert all(n >= 2 for n in escalated.values())
    assert kinds[EVENT.format("fallback_applied")] == len(idle)
    assert kinds[EVENT.format("appealed")] == kinds[EVENT.format("appeal_answered")] == 1
    assert kinds[EVENT.format("reminder")] > 0
    assert kinds["vn.woms.evaluation.cycle.finished.v1"] == 1
    assert time.monotonic() - started < 60 * SECONDS_PER_DAY + 120
