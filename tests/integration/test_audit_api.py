"""The audit chain behind the APIs (issue 9): a change made through the tasks or evaluation API
is appended with the caller as actor, and every read of another person's evaluation through
the evaluation API is appended too (reading one's own month is not), in the request's
transaction; ``woms audit verify`` then finds both chains intact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from services.common.db import engine_for
from services.common.settings import get_settings
from services.evaluation.models import audit as evaluation_audit
from services.tasks import api as tasks_api
from services.tasks.models import audit as tasks_audit
from tests.evaluation_service.evaluation_api_stack import (
    HEAD,
    PERIOD,
    STAFF,
    TENANT,
    UNIT,
    auth,
    closed_address,
    evaluation_app,
    open_month,
    planning_stack,
)
from woms.cli import app as woms

pytestmark = pytest.mark.integration
BASE = f"/tenants/{TENANT}"


@pytest.fixture
def apis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, TestClient]]:
    """``mini``'s evaluation API (P02's and P03's June opened) and tasks API."""
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        monkeypatch.setenv("PLANNING_URL", planning_url)
        get_settings.cache_clear()
        tasks_api._directory.clear()
        open_month(HEAD)
        open_month(STAFF)
        with (
            TestClient(evaluation_app(planning_url, closed_address())) as evaluation,
            TestClient(tasks_api.create_app()) as tasks,
        ):
            yield {"evaluation": evaluation, "tasks": tasks}
        tasks_api._directory.clear()


def _entries(service: str) -> list[dict[str, Any]]:
    tables = {"tasks": tasks_audit, "evaluation": evaluation_audit}[service]
    with engine_for(TENANT, service).connect() as conn:
        rows = conn.execute(select(tables.log).order_by(tables.log.c.seq))
        return [dict(r._mapping) for r in rows]


def _reads() -> list[tuple[str, str, str, Any]]:
    return [
        (e["actor"], e["object_kind"], e["object_id"], json.loads(e["after"]))
        for e in _entries("evaluation")
        if e["action"] == "evaluation.read"
    ]


def test_reads_of_another_persons_evaluation_are_audited(apis: dict[str, TestClient]) -> None:
    api = apis["evaluation"]
    month = f"{BASE}/evaluations/{STAFF}/{PERIOD}"
    assert api.get(month, headers=auth(STAFF)).status_code == 200  # their own: not recorded
    assert _reads() == []
    for path in ("", "/history", "/record"):
        answer = api.get(month + path, headers=auth(HEAD))
        assert answer.status_code == 200, answer.text
    assert api.get(f"{BASE}/evaluations/P05/{PERIOD}", headers=auth(HEAD)).status_code == 404
    listed = api.get(f"{BASE}/evaluations?unit={UNIT}&period={PERIOD}", headers=auth(HEAD))
    assert {i["person"] for i in listed.json()["items"]} == {HEAD, STAFF}
    denied = api.get(f"{BASE}/evaluations/{HEAD}/{PERIOD}", headers=auth(STAFF))
    assert denied.status_code == 403  # refused: nothing was read
    subject = f"{STAFF}/{PERIOD}"
    assert _reads() == [
        (HEAD, "evaluation", subject, {"view": "evaluation"}),
        (HEAD, "evaluation", subject, {"view": "history"}),
        (HEAD, "evaluation", subject, {"view": "record"}),
        (HEAD, "unit", f"{UNIT}/{PERIOD}", {"view": "list", "people": [STAFF]}),
    ]


def test_changes_through_the_apis_carry_the_caller(apis: dict[str, TestClient]) -> None:
    step = apis["evaluation"].post(
        f"{BASE}/evaluations/{STAFF}/{PERIOD}/self-assessment",
        headers=auth(STAFF),
        json={"general": 28},
    )
    assert step.status_code == 200, step.text
    last = _entries("evaluation")[-1]
    assert (last["action"], last["actor"], last["object_id"]) == (
        "evaluation.self_assessed",
        STAFF,
        f"{STAFF}/{PERIOD}",
    )
    assert json.loads(last["after"])["self_general"] == "28"

    tasks = apis["tasks"]
    created = tasks.post(f"{BASE}/tasks", headers=auth(HEAD), json={"name": "Rà soát hồ sơ"})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    edited = tasks.patch(f"{BASE}/tasks/{code}", headers=auth(HEAD), json={"name": "Rà soát"})
    assert edited.status_code == 200, edited.text
    entries = _entries("tasks")
    assert [(e["action"], e["actor"], e["tenant"], e["object_id"]) for e in entries] == [
        ("task.created", HEAD, TENANT, code),
        ("task.updated", HEAD, TENANT, code),
    ]
    assert json.loads(entries[1]["before"])["name"] == "Rà soát hồ sơ"

    verified = CliRunner().invoke(woms, ["audit", "verify", TENANT])
    assert verified.exit_code == 0, verified.output
    assert "tasks: nguyên vẹn / intact — 2 entries" in verified.output
