"""PersonEvaluationWorkflow on a time-skipping Temporal server with the real
EvaluationActivities on SQLite: the worked example opened, self-assessed, reviewed and decided
through the service (as the API would, then signalled), and published by the workflow."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from services.common import runtime
from services.common.db import dispose_engines, engine_for, migrate, transaction
from services.common.settings import get_settings
from services.evaluation import service
from services.evaluation.activities import EvaluationActivities
from services.evaluation.models import Evaluation
from workflows.monthly_cycle.inputs import (
    Deadlines,
    PersonInput,
    PersonRef,
    PersonState,
    StepDone,
    person_workflow_id,
)
from workflows.monthly_cycle.person import PersonEvaluationWorkflow
from workflows.monthly_cycle.worker import build_worker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads(
    (ROOT.parent / "shared" / "golden" / "scoring" / "seed002_nguyen_van_a.json").read_text()
)
TENANT, PERIOD, QUEUE = "mini", "2026-06", "evaluation-test"
RELATION = {"evaluator_of": {"A": ["M"], "M": ["H"]}, "decider_of": {"A": "H", "M": "H"}}


def test_person_workflow_publishes_the_decided_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    engine = engine_for(TENANT, "evaluation")
    migrate(engine, ROOT / "services" / "evaluation" / "migrations")
    acts = EvaluationActivities(
        people_of=lambda t, p: [PersonRef("A", "U1")],
        ledger_of=lambda t, person, p: list(SEED["tasks"]),
        relation_of=lambda t, p: RELATION,
    )

    def step(use_case: Any, *args: Any, **kw: Any) -> None:
        with transaction(engine) as s:
            use_case(s, TENANT, "A", PERIOD, *args, **kw)

    async def main() -> PersonState:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=runtime.temporal_test_server_path()
        )
        start = await env.get_current_time()
        day = timedelta(hours=1)
        deadlines = Deadlines(start + 5 * day, start + 6 * day, start + 8 * day, start + 12 * day)
        with ThreadPoolExecutor(4) as pool:
            async with (
                env,
                build_worker(env.client, acts.all(), task_queue=QUEUE, activity_executor=pool),
            ):
                handle = await env.client.start_workflow(
                    PersonEvaluationWorkflow.run,
                    PersonInput(TENANT, PERIOD, "A", "U1", "k", deadlines, [], 3600),
                    id=person_workflow_id(TENANT, "A", PERIOD),
                    task_queue=QUEUE,
                )
                for _ in range(200):  # wait for the open_evaluation activity (real time)
                    with transaction(engine) as s:
                        if s.execute(select(Evaluation)).first():
                            break
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(step, service.self_assess, 30, actor="A")
                await handle.signal("self_assessed", StepDone(actor="A"))
                await asyncio.to_thread(step, service.review, 30, "Tốt", actor="M")
                await handle.signal("reviewed", StepDone(actor="M"))
                await asyncio.to_thread(step, service.decide, actor="H")
                await handle.signal("decided", StepDone(actor="H"))
                return await handle.result()

    try:
        state = asyncio.run(asyncio.wait_for(main(), timeout=60))
        assert state == PersonState(step="done", published=True)
        with transaction(engine) as s:
            ev = s.execute(select(Evaluation)).scalar_one()
            assert (ev.status, str(ev.score.normalize()), ev.final_grade) == (
                "published",
                "83.9",
                "B",
            )
            assert [h.action for h in service.history(s, "A", PERIOD)] == [
                "opened",
                "self_assessed",
                "reviewed",
                "decided",
                "published",
            ]
    finally:
        dispose_engines()
        get_settings.cache_clear()
