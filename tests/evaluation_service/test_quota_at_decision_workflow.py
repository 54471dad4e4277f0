"""Quota demotion at decision: a unit's month on a time-skipping Temporal server with the real
EvaluationActivities on SQLite. MonthlyCycleWorkflow lists the unit (a joiner under half the
working days is recorded not evaluated, 001 §I.6), every person self-assesses and is
reviewed through the service, the authority decides the whole unit
(``unit_service.decide_unit``), the excellence quota demotes the lowest A to B
(001 §II.2.5: A ≤ 20% of B), and the person workflows publish the final grades; the history
records the demotion between the decision and the publication."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from services.common import runtime
from services.common.db import dispose_engines, engine_for, migrate, transaction
from services.common.settings import get_settings
from services.evaluation import service, unit_service
from services.evaluation.activities import EvaluationActivities
from services.evaluation.models import Evaluation
from workflows.monthly_cycle.cycle import MonthlyCycleWorkflow
from workflows.monthly_cycle.inputs import (
    CycleCalendar,
    CycleInput,
    CycleProgress,
    PersonRef,
    StepDone,
    cycle_workflow_id,
    person_workflow_id,
)
from workflows.monthly_cycle.worker import build_worker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TENANT, PERIOD, UNIT, QUEUE = "mini", "2026-06", "U1", "quota-test"
#: Scores with general 30: two A, five B → 20% of 5 B allows one A; P2 (the lower A) moves.
SCORES = {"P1": 96, "P2": 92, "B1": 85, "B2": 80, "B3": 78, "B4": 75, "B5": 72}
PEOPLE = [PersonRef(p, UNIT) for p in SCORES] + [PersonRef("K", UNIT, evaluated=False)]
RELATION: dict[str, Any] = {
    "unit_heads": {},
    "evaluator_of": {p: ["M"] for p in SCORES},
    "decider_of": {p: "H" for p in SCORES},
}


def ledger_for(score: int) -> list[dict[str, Any]]:
    """(10·score − 300) of 700 points completed without deduction: score with general 30."""
    done = 10 * score - 300
    return [{"points": done, "completed": True}, {"points": 700 - done, "completed": False}]


def test_quota_demotes_the_lowest_a_at_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    engine = engine_for(TENANT, "evaluation")
    migrate(engine, ROOT / "services" / "evaluation" / "migrations")
    acts = EvaluationActivities(
        people_of=lambda t, p: list(PEOPLE),
        ledger_of=lambda t, person, p: ledger_for(SCORES[person]),
        relation_of=lambda t, p: RELATION,
    )

    def each(use_case: Any, *args: Any, **kw: Any) -> None:
        with transaction(engine) as s:
            for person in SCORES:
                use_case(s, TENANT, person, PERIOD, *args, **kw)

    def decide_unit() -> dict[str, Any]:
        with transaction(engine) as s:
            return unit_service.decide_unit(s, TENANT, UNIT, PERIOD, "H", relation=RELATION)

    def opened() -> int:
        with transaction(engine) as s:
            return len(s.execute(select(Evaluation.id)).all())

    async def signal_all(env: WorkflowEnvironment, name: str, actor: str) -> None:
        for person in SCORES:
            handle = env.client.get_workflow_handle(person_workflow_id(TENANT, person, PERIOD))
            await handle.signal(name, StepDone(actor=actor))

    async def main() -> tuple[CycleProgress, dict[str, Any]]:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=runtime.temporal_test_server_path()
        )
        calendar = CycleCalendar(seconds_per_day=3600, reminder_days_before=[])
        with ThreadPoolExecutor(4) as pool:
            async with (
                env,
                build_worker(env.client, acts.all(), task_queue=QUEUE, activity_executor=pool),
            ):
                handle = await env.client.start_workflow(
                    MonthlyCycleWorkflow.run,
                    CycleInput(TENANT, PERIOD, "q", calendar),
                    id=cycle_workflow_id(TENANT, PERIOD),
                    task_queue=QUEUE,
                )
                for _ in range(400):  # every month opened (real time)
                    if await asyncio.to_thread(opened) == len(PEOPLE):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(each, service.self_assess, 30, actor="self")
                await signal_all(env, "self_assessed", "self")
                await asyncio.to_thread(each, service.review, 30, None, actor="M")
                await signal_all(env, "reviewed", "M")
                decision = await asyncio.to_thread(decide_unit)
                await signal_all(env, "decided", "H")
                return await handle.result(), decision

    try:
        progress, decision = asyncio.run(asyncio.wait_for(main(), timeout=90))
        assert (progress.total, progress.started, progress.not_evaluated) == (8, 7, 1)
        assert decision["demoted"] == {"P2": "unit"}
        with transaction(engine) as s:
            months = {ev.person: ev for ev in s.execute(select(Evaluation)).scalars()}
            assert months["K"].status == "not_evaluated"
            for person, score in SCORES.items():
                ev = months[person]
                assert (ev.status, ev.score) == ("published", Decimal(score))
                wanted = "A" if person == "P1" else "B"
                assert ev.final_grade == wanted, person
            steps = service.history(s, "P2", PERIOD)
            assert [h.action for h in steps] == [
                "opened",
                "self_assessed",
                "reviewed",
                "decided",
                "quota_applied",
                "published",
            ]
            demotion = steps[4]
            assert (demotion.actor, demotion.before["final_grade"]) == ("H", "A")
            assert (demotion.after["grade"], demotion.after["final_grade"]) == ("A", "B")
            assert steps[5].after["final_grade"] == "B"
            assert "quota_applied" not in [h.action for h in service.history(s, "P1", PERIOD)]
    finally:
        dispose_engines()
        get_settings.cache_clear()
