"""The evaluation HTTP API on the ``mini`` tenant (SQLite), with planning served for real for
the evaluator relation and the Rego policy ``woms.evaluation.authz`` deciding access. Temporal
is unreachable here (a closed port): every step is stored and its signal reported ``pending``
(the time-skipping test drives a running workflow through the same API)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

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


def month(person: str, step: str = "", period: str = PERIOD) -> str:
    return f"{BASE}/evaluations/{person}/{period}" + (f"/{step}" if step else "")


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The evaluation API of ``mini`` with P02's and P03's June opened."""
    with planning_stack(tmp_path, monkeypatch) as planning_url:
        open_month(HEAD)
        open_month(STAFF)
        with TestClient(evaluation_app(planning_url, closed_address())) as client:
            yield client


def post(
    api: TestClient, url: str, who: str, body: dict[str, Any] | None = None, *roles: str
) -> httpx.Response:
    return api.post(url, headers=auth(who, *roles), json=body or {})


def test_happy_path_to_publication_and_appeal(api: TestClient) -> None:
    opened, _ = stored(STAFF)
    r = post(api, month(STAFF, "self-assessment"), STAFF, {"general": 27})
    assert r.status_code == 200, r.text
    assert r.json()["evaluation"]["self_general"] == "27"
    assert (r.json()["workflow"], r.json()["workflow_id"]) == (
        "pending",
        f"{TENANT}:evaluation:{STAFF}:{PERIOD}",
    )
    r = post(api, month(STAFF, "review"), HEAD, {"general": "28.5", "comment": "Hoàn thành tốt"})
    assert r.status_code == 200, r.text
    assert r.json()["evaluation"]["status"] == "reviewed"
    r = post(api, month(STAFF, "decision"), HEAD)
    assert r.status_code == 200, r.text
    decided = r.json()["evaluation"]
    # the suggestion counted the general criteria at 30; the decision counts the manager's 28.5
    assert Decimal(decided["score"]) == Decimal(opened["suggested_score"]) - Decimal("1.5")
    assert decided["final_grade"] == decided["grade"] is not None

    quota = post(api, f"{BASE}/units/{UNIT}/quota/{PERIOD}", HEAD)
    assert quota.status_code == 200, quota.text
    assert quota.json()["final_grades"] == {STAFF: decided["grade"]}
    assert Decimal(quota.json()["ratio"]) == Decimal("0.2")  # mini's scoring setting

    r = post(api, month(STAFF, "publication"), HEAD)
    assert (r.status_code, r.json()["status"]) == (200, "published")
    r = post(api, month(STAFF, "appeal"), STAFF, {"reason": "Chưa tính việc vượt tiến độ"})
    assert (r.status_code, r.json()["evaluation"]["appeal_status"]) == (200, "open")
    answer = {"upheld": False, "final_grade": "A", "answer": "Chấp nhận kiến nghị"}
    r = post(api, month(STAFF, "appeal/answer"), SECRETARY, answer)
    assert r.status_code == 200, r.text
    assert (r.json()["evaluation"]["appeal_status"], r.json()["evaluation"]["final_grade"]) == (
        "changed",
        "A",
    )
    assert r.json()["repeated"] is False

    # the same answer again changes nothing and re-sends the signal (still pending here)
    again = post(api, month(STAFF, "appeal/answer"), SECRETARY, answer)
    assert (again.status_code, again.json()["repeated"], again.json()["workflow"]) == (
        200,
        True,
        "pending",
    )

    seen = api.get(month(STAFF), headers=auth(STAFF)).json()
    assert seen == stored(STAFF)[0]
    history = api.get(month(STAFF, "history"), headers=auth(STAFF)).json()
    assert [(h["action"], h["actor"]) for h in history] == [
        ("opened", "system:evaluation"),
        ("self_assessed", STAFF),
        ("reviewed", HEAD),
        ("decided", HEAD),
        ("published", HEAD),
        ("appealed", STAFF),
        ("appeal_answered", SECRETARY),
    ]
    assert history[2]["before"]["review_general"] is None
    assert history[2]["after"]["review_general"] == "28.5"
    assert history[-1]["after"]["final_grade"] == "A"


def test_repeated_steps_re_apply_and_report_the_signal(api: TestClient) -> None:
    """A repeated self-assessment (allowed until the review) re-applies and re-signals; a
    repeated appeal with the same reason is recognised, a different one refused."""
    for points in (25, 26):
        r = post(api, month(STAFF, "self-assessment"), STAFF, {"general": points})
        assert (r.status_code, r.json()["workflow"]) == (200, "pending")
    assert stored(STAFF)[0]["self_general"] == "26"
    # nobody reviewed: the authority enters the general points (001 §II.1, issue 15)
    for step, who, body in (("decision", HEAD, {"general": 26}), ("publication", HEAD, {})):
        assert post(api, month(STAFF, step), who, body).status_code == 200
    first = post(api, month(STAFF, "appeal"), STAFF, {"reason": "Xin xem lại"})
    again = post(api, month(STAFF, "appeal"), STAFF, {"reason": "Xin xem lại"})
    assert (first.json()["repeated"], again.json()["repeated"]) == (False, True)
    assert again.json()["evaluation"] == first.json()["evaluation"]
    other = post(api, month(STAFF, "appeal"), STAFF, {"reason": "Lý do khác"})
    assert other.status_code == 409
    assert other.json()["field"] == "appeal"
    assert stored(STAFF)[1].count("appealed") == 1


STEPS: list[tuple[str, dict[str, Any], str, str]] = [
    # (step, body, wrong caller, a reason the policy gives)
    ("self-assessment", {"general": 20}, HEAD, "only the person themselves"),
    ("review", {"general": 20}, STAFF, "nobody reviews themselves"),
    ("review", {"general": 20}, OTHER_HEAD, "only the person's evaluator"),
    ("decision", {}, STAFF, "nobody decides their own grade"),
    ("decision", {}, SECRETARY, "only the deciding authority"),
    ("publication", {}, STAFF, "only the unit head or a tenant administrator"),
    ("appeal", {"reason": "x"}, HEAD, "only the person themselves"),
    ("appeal/answer", {"upheld": True}, HEAD, "the decider does not answer an appeal"),
    ("appeal/answer", {"upheld": True}, STAFF, "nobody answers their own appeal"),
]


@pytest.mark.parametrize(("step", "body", "who", "reason"), STEPS)
def test_every_step_refused_for_the_wrong_role_and_another_tenant(
    api: TestClient, step: str, body: dict[str, Any], who: str, reason: str
) -> None:
    before = stored(STAFF)
    r = post(api, month(STAFF, step), who, body)
    assert r.status_code == 403, r.text
    assert any(reason in text for text in r.json()["detail"]["reasons"]), r.json()
    # the right person of another tenant: 404, as if nothing were there
    elsewhere = api.post(month(STAFF, step), headers=auth(STAFF, tenant="hanoi"), json=body)
    assert elsewhere.status_code == 404
    assert stored(STAFF) == before


def test_reads_quota_and_cycle_refused_outside_the_policy(api: TestClient) -> None:
    for url in (month(STAFF), month(STAFF, "history"), month(STAFF, "workflow")):
        denied = api.get(url, headers=auth(OTHER_HEAD))
        assert denied.status_code == 403, (url, denied.text)
        assert denied.json()["detail"]["action"] == "evaluation.read"
        assert api.get(url, headers=auth(STAFF, tenant="hanoi")).status_code == 404
    quota = post(api, f"{BASE}/units/{UNIT}/quota/{PERIOD}", STAFF)
    assert quota.status_code == 403
    for call in (api.post, api.get):
        cycle = call(f"{BASE}/cycles/{PERIOD}", headers=auth(HEAD))
        assert cycle.status_code == 403, cycle.text
        assert (
            call(
                f"{BASE}/cycles/{PERIOD}", headers=auth(HEAD, "tenant_admin", tenant="hanoi")
            ).status_code
            == 404
        )
    assert api.get(month(STAFF)).status_code == 401


@pytest.mark.parametrize("general", [31, -1, "ba mươi", "30.001", None])
@pytest.mark.parametrize(("step", "who"), [("self-assessment", STAFF), ("review", HEAD)])
def test_bad_points_are_refused_naming_the_field_and_change_nothing(
    api: TestClient, step: str, who: str, general: Any
) -> None:
    before = stored(STAFF)
    r = post(api, month(STAFF, step), who, {"general": general})
    assert r.status_code == 422, r.text
    assert ["body", "general"] in [e["loc"] for e in r.json()["detail"]]
    assert stored(STAFF) == before


def test_bad_period_unknown_person_and_unknown_fields(api: TestClient) -> None:
    r = post(api, month(STAFF, "self-assessment", period="2026-13"), STAFF, {"general": 20})
    assert r.status_code == 422
    assert ["path", "period"] in [e["loc"] for e in r.json()["detail"]]
    r = api.get(f"{BASE}/evaluations", params={"unit": UNIT, "period": "June"}, headers=auth(HEAD))
    assert ["query", "period"] in [e["loc"] for e in r.json()["detail"]]
    r = api.get(month(STAFF, period="2026-05"), headers=auth(STAFF))
    assert (r.status_code, r.json()["field"]) == (404, "evaluation")
    r = post(api, month("P99", "self-assessment"), "P99", {"general": 20})
    assert r.status_code == 404
    r = post(api, month(STAFF, "self-assessment"), STAFF, {"general": 20, "score": 100})
    assert r.status_code == 422
    r = post(api, month(STAFF, "appeal/answer"), SECRETARY, {"upheld": False})
    assert r.status_code == 422 and "final_grade" in r.text


def test_out_of_order_steps_are_409(api: TestClient) -> None:
    before = stored(STAFF)
    for step, who, body in (
        ("appeal", STAFF, {"reason": "Sớm quá"}),
        ("appeal/answer", SECRETARY, {"upheld": True}),
        ("publication", HEAD, {}),
    ):
        r = post(api, month(STAFF, step), who, body)
        assert r.status_code == 409, (step, r.text)
        assert set(r.json()) == {"field", "reason"}
    assert stored(STAFF) == before
    assert post(api, month(STAFF, "review"), HEAD, {"general": 25}).status_code == 200
    late = post(api, month(STAFF, "self-assessment"), STAFF, {"general": 30})
    assert (late.status_code, late.json()["field"]) == (409, "status")
    assert post(api, month(STAFF, "decision"), HEAD).status_code == 200
    again = post(api, month(STAFF, "review"), HEAD, {"general": 20})
    assert again.status_code == 409
    assert stored(STAFF)[0]["review_general"] == "25"


def test_list_shows_only_what_the_caller_may_read(api: TestClient) -> None:
    def listed(who: str, *roles: str) -> list[str]:
        r = api.get(
            f"{BASE}/evaluations",
            params={"unit": UNIT, "period": PERIOD},
            headers=auth(who, *roles),
        )
        assert r.status_code == 200, r.text
        return [e["person"] for e in r.json()["items"]]

    assert listed(STAFF) == [STAFF]
    assert listed(HEAD) == [HEAD, STAFF]  # their own, and the staff they evaluate
    assert listed(SECRETARY) == [HEAD, STAFF]  # evaluates P02, answers P03's appeals
    assert listed(OTHER_HEAD) == []
    assert listed("admin") == [HEAD, STAFF]  # granted tenant_admin in the fixture


def test_cycle_progress_counts_the_database_without_a_workflow(api: TestClient) -> None:
    post(api, month(STAFF, "self-assessment"), STAFF, {"general": 20})
    admin = auth("admin", "tenant_admin")
    r = api.get(f"{BASE}/cycles/{PERIOD}", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["by_status"] == {"opened": 1, "self_assessed": 1}
    assert (r.json()["workflow_status"], r.json()["workflow"]) == ("unavailable", None)
    assert api.post(f"{BASE}/cycles/{PERIOD}", headers=admin).status_code == 503
    assert api.get(month(STAFF, "workflow"), headers=auth(STAFF)).status_code == 503


def test_planning_unreachable_is_503_and_the_openapi_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with planning_stack(tmp_path, monkeypatch):
        open_month(STAFF)
        dead_planning = f"http://{closed_address()}"
        with TestClient(evaluation_app(dead_planning, closed_address())) as api:
            before = stored(STAFF)
            r = post(api, month(STAFF, "self-assessment"), STAFF, {"general": 20})
            assert r.status_code == 503, r.text
            assert stored(STAFF) == before
            paths = api.get("/openapi.json").json()["paths"]
            assert "/tenants/{tenant}/evaluations/{person}/{period}/review" in paths
            assert api.get("/docs").status_code == 200
