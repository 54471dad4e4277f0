"""Issue 15 through the evaluation HTTP API (``mini``; planning served for real, the Rego policy
deciding): the authority enters the general points of a month nobody reviewed, a changed grade
needs a reason (in the history and the audit chain), a unit is decided only once ready, the
unit's list is disclosed to its members after publication, the cycle is a Rego decision, the
policy input matches ``policies/woms/evaluation/input.schema.json``, hostile bodies never 500.

mini's chart in June 2026 (``tests/fixtures/tenant_mini.yaml``): PA-VP = head P02 + staff P03;
P03 is reviewed and decided by P02, P02 by P01 (Bí thư); P05 heads another unit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common.authorizer import Authorizer, PolicyInputInvalid, check_input
from services.common.db import engine_for, transaction
from services.evaluation.models import audit
from tests.evaluation_service.evaluation_api_stack import (
    HEAD,
    OTHER_HEAD,
    PERIOD,
    SECRETARY,
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

pytestmark = pytest.mark.integration

BASE = f"/tenants/{TENANT}"


def month(person: str, step: str = "") -> str:
    return f"{BASE}/evaluations/{person}/{PERIOD}" + (f"/{step}" if step else "")


def post(api: TestClient, url: str, who: str, body: Any = None, *roles: str) -> httpx.Response:
    return api.post(url, headers=auth(who, *roles), json=body or {})


@pytest.fixture
def documents(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every policy input the service builds during the test (the real Authorizer's)."""
    built: list[dict[str, Any]] = []
    original = Authorizer.document

    def recording(self: Authorizer, *args: Any, **kw: Any) -> dict[str, Any]:
        document = original(self, *args, **kw)
        if self.service == "evaluation":  # planning is served in this process too
            built.append(json.loads(json.dumps(document)))
        return document

    monkeypatch.setattr(Authorizer, "document", recording)
    return built


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        open_month(HEAD)
        open_month(STAFF)
        with TestClient(evaluation_app(planning_url, closed_address())) as client:
            yield client


def _audit(action: str) -> list[dict[str, Any]]:
    with transaction(engine_for(TENANT, "evaluation")) as s:
        rows = s.execute(select(audit.log).where(audit.log.c.action == action)).mappings()
        return [dict(r) for r in rows]


def test_a_month_nobody_reviewed_waits_for_the_authoritys_points(api: TestClient) -> None:
    refused = post(api, month(STAFF, "decision"), HEAD)
    assert refused.status_code == 409, refused.text
    assert refused.json()["field"] == "general"
    assert stored(STAFF)[0]["status"] == "opened"
    r = post(api, month(STAFF, "decision"), HEAD, {"general": 26})
    assert r.status_code == 200, r.text
    decided = r.json()["evaluation"]
    assert (decided["score"], decided["grade"], decided["review_general"]) == ("79.9", "B", "26")
    assert decided["decision"]["general_entered"] is True
    both = post(api, month(STAFF, "decision"), HEAD, {"general": 26, "rows": {"x": 1}})
    assert both.status_code == 422 and "rows" in both.text


def test_a_changed_grade_needs_a_reason_kept_in_history_and_audit(api: TestClient) -> None:
    assert post(api, month(STAFF, "review"), HEAD, {"general": 30}).status_code == 200
    refused = post(api, month(STAFF, "decision"), HEAD, {"grade": "A"})
    assert (refused.status_code, refused.json()["field"]) == (422, "reason")
    why = "Sáng kiến cải cách thủ tục được áp dụng toàn phường"
    r = post(api, month(STAFF, "decision"), HEAD, {"grade": "A", "reason": why})
    assert r.status_code == 200, r.text
    ev = r.json()["evaluation"]
    assert (ev["score"], ev["grade"], ev["decision"]["proposed_grade"]) == ("83.9", "A", "B")
    history = api.get(month(STAFF, "history"), headers=auth(STAFF)).json()
    assert history[-1]["action"] == "decided" and history[-1]["after"]["decision"]["reason"] == why
    entries = _audit("evaluation.decided")
    assert len(entries) == 1 and why in entries[0]["after"]
    assert entries[0]["actor"] == HEAD


def test_the_unit_is_not_decided_before_its_months_are_ready(api: TestClient) -> None:
    assert post(api, month(STAFF, "self-assessment"), STAFF, {"general": 27}).status_code == 200
    url = f"{BASE}/units/{UNIT}/decision/{PERIOD}"
    refused = post(api, url, HEAD, {})
    assert refused.status_code == 409, refused.text
    assert (
        refused.json()["field"] == "not_ready" and f"{STAFF} (review)" in refused.json()["reason"]
    )
    assert stored(STAFF)[0]["status"] == "self_assessed"
    quota = post(api, f"{BASE}/units/{UNIT}/quota/{PERIOD}", HEAD)
    assert (quota.status_code, quota.json()["field"]) == (409, "not_ready")
    assert post(api, month(STAFF, "review"), HEAD, {"general": 28}).status_code == 200
    r = post(api, url, HEAD, {})
    # ready now: the decision goes on to read the tasks ledger, which this stack does not serve
    assert r.status_code == 503 and "tasks" in r.text, r.text
    quota_url = f"{BASE}/units/{UNIT}/quota/{PERIOD}"
    assert post(api, quota_url, HEAD).status_code == 200
    stranger = post(api, quota_url, HEAD, {"keep_a": [STAFF], "reason": "x"})  # B, not A
    assert (stranger.status_code, stranger.json()["field"]) == (422, "keep_a"), stranger.text


def _publish_the_unit(api: TestClient) -> None:
    for person, reviewer in ((STAFF, HEAD), (HEAD, SECRETARY)):
        assert post(api, month(person, "review"), reviewer, {"general": 28}).status_code == 200
        assert post(api, month(person, "decision"), reviewer).status_code == 200
    for person in (STAFF, HEAD):
        assert post(api, month(person, "publication"), HEAD).status_code == 200


def test_the_units_list_is_disclosed_to_its_members_after_publication(api: TestClient) -> None:
    url = f"{BASE}/units/{UNIT}/results/{PERIOD}"
    early = api.get(url, headers=auth(STAFF))
    assert early.status_code == 403
    assert "the unit's results are not published yet" in " ".join(early.json()["detail"]["reasons"])
    _publish_the_unit(api)
    for who in (STAFF, HEAD):
        r = api.get(url, headers=auth(who))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["person"] for i in items] == [HEAD, STAFF]
        assert all(set(i) == {"person", "name", "score", "grade", "final_grade"} for i in items)
        assert next(i for i in items if i["person"] == STAFF)["score"] == "81.9"  # 28 + 53.9
    outsider = api.get(url, headers=auth(OTHER_HEAD))
    assert outsider.status_code == 403
    # a member still cannot read a colleague's form (evaluation.read unchanged)
    assert api.get(month(HEAD), headers=auth(STAFF)).status_code == 403
    assert api.get(month(HEAD, "record"), headers=auth(STAFF)).status_code == 403


def test_the_cycle_is_a_rego_decision(api: TestClient) -> None:
    cycles = f"{BASE}/cycles/{PERIOD}"
    started = post(api, cycles, HEAD)
    assert started.status_code == 403
    assert started.json()["detail"] == {
        "action": "cycle.start",
        "reasons": ["chỉ quản trị đơn vị thuê bao / only a tenant administrator"],
    }
    read = api.get(cycles, headers=auth(HEAD))
    assert read.status_code == 403
    assert read.json()["detail"] == {  # the reason of the Rego rule cycle.read
        "action": "cycle.read",
        "reasons": [
            "chỉ quản trị hoặc cơ quan trung ương / only a tenant administrator or a central body"
        ],
    }
    progress = api.get(cycles, headers=auth("C1"))  # central (mini's role_grants)
    assert progress.status_code == 200, progress.text
    assert post(api, cycles, "C1").status_code == 403


def test_the_policy_inputs_match_their_schema(api: TestClient, documents: list[Any]) -> None:
    post(api, month(STAFF, "self-assessment"), STAFF, {"general": 27})
    post(api, month(STAFF, "review"), OTHER_HEAD, {"general": 27})  # denied: still a document
    _publish_the_unit(api)
    api.get(f"{BASE}/evaluations", params={"unit": UNIT, "period": PERIOD}, headers=auth(HEAD))
    api.get(f"{BASE}/units/{UNIT}/results/{PERIOD}", headers=auth(STAFF))
    api.get(f"{BASE}/units/{UNIT}/records/{PERIOD}", headers=auth(HEAD))
    post(api, f"{BASE}/units/{UNIT}/decision/{PERIOD}", SECRETARY, {})
    api.get(f"{BASE}/units/{UNIT}/collective/2026-Q2", headers=auth(HEAD))
    api.get(f"{BASE}/cycles/{PERIOD}", headers=auth("C1"))
    post(api, month(STAFF, "appeal"), STAFF, {"reason": "Xin xem lại"})
    actions = {d["action"] for d in documents}
    assert {
        "evaluation.self_assess",
        "evaluation.review",
        "evaluation.decide",
        "evaluation.publish",
        "evaluation.read",
        "evaluation.unit_list",
        "evaluation.appeal",
        "cycle.read",
    } <= actions, actions
    for document in documents:  # policies/woms/evaluation/input.schema.json (with woms.lib)
        check_input("evaluation", document)
    bad = {**documents[0], "resource": {"person": STAFF}}  # the schema can refuse
    with pytest.raises(PolicyInputInvalid, match="at resource"):
        check_input("evaluation", bad)
    with pytest.raises(PolicyInputInvalid, match="at action"):
        check_input("evaluation", {**documents[0], "action": "evaluation.delete"})


@pytest.mark.parametrize(
    ("step", "body"),
    [
        ("self-assessment", b'{"general": 27, "x": "ab\\ud800cd"}'),
        ("review", b'{"general": 27, "comment": "ab\\ud800cd"}'),
        ("decision", b'{"reason": "ab\\ud800cd", "grade": "A"}'),
        ("appeal", b'{"reason": "ab\\ud800cd"}'),
    ],
)
def test_a_lone_surrogate_is_never_a_500(api: TestClient, step: str, body: bytes) -> None:
    who = STAFF if step in ("self-assessment", "appeal") else HEAD
    headers = {**auth(who), "Content-Type": "application/json"}
    r = api.post(month(STAFF, step), headers=headers, content=body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_evaluations_refusals_never_fail_on_a_lone_surrogate() -> None:
    """The service's own error answer (``{"field", "reason"}``) escapes what UTF-8 cannot
    encode instead of failing while writing it."""
    from services.evaluation.api import _writable

    assert _writable("ab\ud800cd") == "ab\\ud800cd"
    assert _writable("Hoàn thành tốt") == "Hoàn thành tốt"
    json.dumps(_writable("\udfff"), ensure_ascii=False).encode("utf-8")
