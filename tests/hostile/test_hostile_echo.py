"""Answers that must not echo hostile input (issue 15, "Found in the same hostile run"):

* a JSON body with a lone surrogate (the escape ``\\ud800``: ``json.loads`` accepts it, UTF-8
  cannot encode it) answers 422 naming the field and the reason in tasks, evaluation and
  planning — not 500 — and the next request on the same client is answered
  (``services/common/api_errors.py``);
* a 401 never repeats a 5,000-character ``kid`` (``services/common/auth.py``);
* ``POST /login`` of the web app redirects only to paths of the site (``services/web/app.py``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.auth import AuthError, verify_token
from services.common.roles import Grants
from services.common.settings import get_settings
from services.evaluation.api import create_app as evaluation_app
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from tests.hostile.schemathesis_run import bearer
from tests.integration.backends import database_backend
from woms.onboarding import onboard

HANOI = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"
LONE_SURROGATE = b'{"name": "ab\\ud800cd"}'

pytestmark = pytest.mark.integration


class NoGrants:
    """A grant source with no grants (callers are plain staff): no planning server needed."""

    def grants(self, tenant: str, day: date) -> Grants:
        return {}


@pytest.fixture
def onboarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    tasks_api._directory.clear()
    with database_backend("sqlite", monkeypatch):
        onboard(HANOI, infrastructure=False)
        yield
    tasks_api._directory.clear()
    get_settings.cache_clear()


def _apps() -> dict[str, tuple[FastAPI, str]]:
    tasks = tasks_api.create_app()
    tasks.state.role_grants = NoGrants()
    planning = planning_app()
    return {
        "planning": (planning, "/tenants/hanoi/plans"),
        "tasks": (tasks, "/tenants/hanoi/tasks"),
        "evaluation": (
            evaluation_app(role_grants=NoGrants()),
            "/tenants/hanoi/evaluations/P021/2026-06/self-assessment",
        ),
    }


@pytest.mark.parametrize("service", ["planning", "tasks", "evaluation"])
def test_a_lone_surrogate_answers_422_and_the_client_goes_on(onboarded: None, service: str) -> None:
    app, url = _apps()[service]
    client = TestClient(app, raise_server_exceptions=False)
    headers = {**bearer("P021"), "Content-Type": "application/json"}
    for body in (
        LONE_SURROGATE,  # an unknown field
        b'{"title": "ab\\ud800cd", "value": "ab\\ud800cd", "general": "ab\\ud800cd"}',
        b'{"ab\\ud800": 1}',  # the field name itself
    ):
        answer = client.post(url, content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        answer.content.decode("utf-8")  # valid UTF-8 JSON
        items = answer.json()["detail"]
        assert items and all(item["loc"] and item["msg"] for item in items)
        assert "\ud800" not in answer.text and "ab\\ud800cd" not in answer.text
    named = client.post(url, content=LONE_SURROGATE, headers=headers).json()["detail"]
    (item,) = [i for i in named if i["loc"] == ["body", "name"]]  # the field, and why
    assert item["type"] in {"extra_forbidden", "string_unicode"}
    assert "not valid Unicode" in item["msg"] and "input" not in item
    # the next request on the same client is answered
    assert client.get("/health").status_code == 200


def test_a_surrogate_in_a_text_field_names_the_field_and_the_reason(onboarded: None) -> None:
    app, _ = _apps()["planning"]
    client = TestClient(app, raise_server_exceptions=False)
    headers = {**bearer("P019"), "Content-Type": "application/json"}
    answer = client.post(
        "/tenants/hanoi/key-results/PL-VP-M05-O1-KR1/progress",
        content=b'{"value": "1", "note": "ab\\ud800cd"}',
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    (item,) = answer.json()["detail"]
    assert item["loc"] == ["body", "note"]
    assert "unicode" in item["msg"].lower() and "not valid Unicode" in item["msg"]
    assert "input" not in item


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_401_does_not_echo_a_long_kid(onboarded: None) -> None:
    kid = "K" * 5000
    token = f"{_b64({'alg': 'RS256', 'typ': 'JWT', 'kid': kid})}.{_b64({'sub': 'P1'})}.c2ln"
    with pytest.raises(AuthError) as refused:
        verify_token(token)
    assert "KKKKKKKK" not in str(refused.value) and "5000 characters" in str(refused.value)
    client = TestClient(planning_app())
    answer = client.get("/tenants/hanoi/units", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert "KKKKKKKK" not in answer.text and len(answer.text) < 500
    for alg in ("x" * 3000, "<script>"):
        forged = f"{_b64({'alg': alg, 'kid': 'k'})}.{_b64({'sub': 'P1'})}.c2ln"
        answer = client.get("/tenants/hanoi/units", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401 and alg not in answer.text
