"""The evaluation HTTP API's use cases of forms, records, late data, a unit's decision, leaders'
d, đ, e and the collective evaluation, on the ``mini`` tenant (SQLite). Planning and tasks are
served for real by uvicorn (the relation, the plans and the tasks ledger travel over HTTP);
the Rego policy ``woms.evaluation.authz`` decides access; Temporal is unreachable (a closed
port), so every signal is reported ``pending``. The Hà Nội general-criteria forms are
installed in the tenant's evaluation database as onboarding installs them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.common.db import engine_for, transaction
from services.common.roles import HttpGrants
from services.evaluation import forms, service
from services.evaluation.api import create_app
from services.evaluation.clients import HttpSources
from services.evaluation.models import CollectiveEvaluation, FormTemplate
from services.evaluation.signals import CycleGateway
from services.tasks import api as tasks_api
from services.tasks.planning_client import HttpPlanningDirectory
from tests.evaluation_service.evaluation_api_stack import (
    HEAD,
    OTHER_HEAD,
    PERIOD,
    ROOT,
    SECRETARY,
    STAFF,
    TENANT,
    UNIT,
    auth,
    closed_address,
    open_month,
    planning_stack,
    served,
    stored,
)

pytestmark = pytest.mark.integration

BASE = f"/tenants/{TENANT}"
FORMS = ROOT / "data" / "tenants" / "hanoi" / "forms"
LEADER_FORM = forms.load_template(FORMS / "phu-luc-1.yaml")
STAFF_FORM = forms.load_template(FORMS / "phu-luc-2.yaml")


def month(person: str, step: str = "", period: str = PERIOD) -> str:
    return f"{BASE}/evaluations/{person}/{period}" + (f"/{step}" if step else "")


def unit_url(step: str, unit: str = UNIT, period: str = PERIOD) -> str:
    return f"{BASE}/units/{unit}/{step}/{period}"


def at_max(template: forms.FormTemplate) -> dict[str, str]:
    return {row.code: str(row.max_points) for row in template.rows}


def collectives() -> list[tuple[str, str, str | None]]:
    with transaction(engine_for(TENANT, "evaluation")) as s:
        rows = s.query(CollectiveEvaluation).order_by(CollectiveEvaluation.id).all()
        return [(r.unit, r.period, r.level) for r in rows]


class Stack:
    """The served planning and tasks, and the evaluation API reading them."""

    def __init__(self, planning: str, tasks: str, api: TestClient) -> None:
        self.planning, self.tasks, self.api = planning, tasks, api

    def call(
        self, method: str, url: str, who: str, body: Any = None, *roles: str
    ) -> httpx.Response:
        return self.api.request(method, url, headers=auth(who, *roles), json=body)

    def approved_task(self, person: str, quantity: str) -> str:
        """A June task of ``person`` created, assigned and approved by the head (tasks API)."""
        body = {
            "name": f"Văn bản tháng 6 của {person}",
            "basis": "Kế hoạch công tác tháng 6",
            "group": "regular",
            "lead_unit": UNIT,
            "lead_person": person,
            "start_date": "2026-06-01",
            "due_date": "2026-06-19",
            "output_product": "Văn bản trình ký",
            "quality_criteria": "Đúng thể thức, đúng hạn",
            "catalog_item": "VB-01",
            "quantity": quantity,
        }
        with httpx.Client(base_url=self.tasks, timeout=10) as tasks:
            created = tasks.post(f"{BASE}/tasks", headers=auth(HEAD), json=body)
            assert created.status_code == 201, created.text
            code = str(created.json()["code"])
            stored = tasks.post(  # every submission carries evidence (issue 15)
                f"{BASE}/evidence",
                params={"filename": "van-ban.pdf"},
                headers=auth(person),
                content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
            )
            assert stored.status_code == 201, stored.text
            proof = {"evidence_ids": [stored.json()["id"]]}
            for action, who in (("assign", HEAD), ("start", person), ("submit", person)):
                payload = proof if action == "submit" else {}
                moved = tasks.post(f"{BASE}/tasks/{code}/{action}", headers=auth(who), json=payload)
                assert moved.status_code == 200, (action, moved.text)
            approved = tasks.post(f"{BASE}/tasks/{code}/approve", headers=auth(HEAD))
            assert approved.status_code == 200, approved.text
        return code


def evaluation_api(planning: str, tasks: str) -> TestClient:
    sources = HttpSources(planning_url=planning, tasks_url=tasks)
    return TestClient(create_app(sources, CycleGateway(closed_address(), timeout_s=3)))


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """``mini`` with the forms installed and P02's and P03's June opened (the 002 worked
    example's ledger); planning and tasks served; the evaluation API on them."""
    with planning_stack(tmp_path, monkeypatch) as planning:
        with transaction(engine_for(TENANT, "evaluation")) as s:
            service.install_templates(s, TENANT, [LEADER_FORM, STAFF_FORM])
        open_month(HEAD)
        open_month(STAFF)
        tasks_api._directory[:] = [HttpPlanningDirectory(base_url=planning)]
        app = tasks_api.create_app()
        app.dependency_overrides[tasks_api.today] = lambda: date(2026, 6, 17)
        app.state.role_grants = HttpGrants("tasks", httpx.Client(base_url=planning))  # roles
        try:
            with served(app) as tasks, evaluation_api(planning, tasks) as api:
                yield Stack(planning, tasks, api)
        finally:
            tasks_api._directory.clear()


# --- general points by rows and the form ---------------------------------------------------


def test_general_points_by_rows_follow_the_persons_form(stack: Stack) -> None:
    form = stack.call("GET", month(STAFF, "form"), STAFF)
    assert form.status_code == 200, form.text
    assert (form.json()["code"], form.json()["kind"]) == (STAFF_FORM.code, "staff")
    leader = stack.call("GET", month(HEAD, "form"), SECRETARY)
    assert (leader.status_code, leader.json()["code"]) == (200, LEADER_FORM.code)

    rows = at_max(STAFF_FORM)
    first = STAFF_FORM.rows[0].code
    rows[first] = str(STAFF_FORM.rows[0].max_points - Decimal("0.5"))
    r = stack.call("POST", month(STAFF, "self-assessment"), STAFF, {"rows": rows})
    assert r.status_code == 200, r.text
    ev = r.json()["evaluation"]
    assert Decimal(ev["self_general"]) == Decimal("29.5")
    assert ev["self_rows"]["form"] == STAFF_FORM.code
    assert Decimal(ev["self_rows"]["points"][first]) == Decimal(rows[first])
    assert "review_rows" not in ev and "leader_factors" not in ev
    assert r.json()["workflow"] == "pending"

    review = stack.call("POST", month(STAFF, "review"), HEAD, {"rows": at_max(STAFF_FORM)})
    assert review.status_code == 200, review.text
    assert review.json()["evaluation"]["review_general"] == "30"
    assert stack.call("GET", month(STAFF), STAFF).json() == stored(STAFF)[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"general": 20, "rows": {"x": 1}}, "rows"),
        ({}, "general"),
        ({"rows": {"1.1": "-1"}}, "rows"),
        ({"rows": {"1.1": "abc"}}, "rows"),
    ],
)
def test_both_or_neither_or_bad_points_are_422_naming_the_field(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    before = stored(STAFF)
    r = stack.call("POST", month(STAFF, "self-assessment"), STAFF, body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(field in e["loc"] or f"Value error, {field}:" in e["msg"] for e in detail), detail
    assert stored(STAFF) == before


def test_rows_off_the_form_are_422_naming_the_row_and_change_nothing(stack: Stack) -> None:
    before = stored(STAFF)
    over = at_max(STAFF_FORM)
    first = STAFF_FORM.rows[0]
    over[first.code] = str(first.max_points + 1)
    r = stack.call("POST", month(STAFF, "self-assessment"), STAFF, {"rows": over})
    assert (r.status_code, r.json()["field"]) == (422, f"rows.{first.code}"), r.text
    missing = at_max(STAFF_FORM)
    del missing[first.code]
    r = stack.call("POST", month(STAFF, "review"), HEAD, {"rows": missing})
    assert r.status_code == 422 and r.json()["field"].startswith("rows"), r.text
    assert stored(STAFF) == before


def test_no_form_in_force_is_409_and_the_form_is_read_only_by_readers(stack: Stack) -> None:
    denied = stack.call("GET", month(STAFF, "form"), OTHER_HEAD)
    assert (denied.status_code, denied.json()["detail"]["action"]) == (403, "evaluation.read")
    with transaction(engine_for(TENANT, "evaluation")) as s:  # a tenant without its forms
        s.query(FormTemplate).delete()
    old = stack.call("POST", month(STAFF, "self-assessment"), STAFF, {"rows": at_max(STAFF_FORM)})
    assert (old.status_code, old.json()["field"]) == (409, "form"), old.text
    assert stored(STAFF)[0]["status"] == "opened"
    assert stack.call("GET", month(STAFF, "form"), STAFF).status_code == 409
    # the total still works without a form
    total = stack.call("POST", month(STAFF, "self-assessment"), STAFF, {"general": 25})
    assert total.status_code == 200, total.text
    assert stack.call("GET", month(STAFF, "form", "2026-13"), STAFF).status_code == 422


# --- the records of 001 §V.2 ---------------------------------------------------------------


def test_person_record_and_the_units_three_records(stack: Stack) -> None:
    stack.call("POST", month(STAFF, "self-assessment"), STAFF, {"rows": at_max(STAFF_FORM)})
    record = stack.call("GET", month(STAFF, "record"), STAFF)
    assert record.status_code == 200, record.text
    assert (record.json()["person"], record.json()["form"]["code"]) == (STAFF, STAFF_FORM.code)
    assert record.json()["general"]["self_points"] == "30"
    assert record.json()["name"] == STAFF  # planning's relation carries codes, not names
    assert stack.call("GET", month(STAFF, "record", "2026-13"), STAFF).status_code == 422

    records = stack.call("GET", unit_url("records"), HEAD)
    assert records.status_code == 200, records.text
    data = records.json()
    assert sorted(f["person"] for f in data["person_forms"]) == [HEAD, STAFF]
    assert (data["unit"], data["period"]) == (UNIT, PERIOD)
    assert {"summary", "commendation"} <= set(data)
    assert sorted(line["name"] for line in data["summary"]["lines"]) == [HEAD, STAFF]
    for who in (STAFF, OTHER_HEAD):
        denied = stack.call("GET", unit_url("records"), who)
        assert (denied.status_code, denied.json()["detail"]["action"]) == (
            403,
            "evaluation.publish",
        )
    assert stack.call("GET", month(STAFF, "record"), OTHER_HEAD).status_code == 403
    assert stack.call("GET", month("P99", "record"), STAFF).status_code == 404


# --- late data -----------------------------------------------------------------------------


def test_refresh_takes_the_ledger_from_tasks(stack: Stack) -> None:
    before = stored(STAFF)
    denied = stack.call("POST", month(STAFF, "refresh"), OTHER_HEAD)
    assert denied.status_code == 403
    assert stored(STAFF) == before

    stack.approved_task(STAFF, "10")
    r = stack.call("POST", month(STAFF, "refresh"), STAFF)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "refreshed"
    after, actions = stored(STAFF)
    assert actions[-1] == "ledger_refreshed"
    assert r.json()["evaluation"] == after
    # one approved task, done on time: a = b = c = 100% (the seed's month scored less)
    assert (after["suggested_a"], after["suggested_score"]) == ("1", "100")
    assert before[0]["suggested_score"] != after["suggested_score"]
    again = stack.call("POST", month(STAFF, "refresh"), HEAD)
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert stored(STAFF)[1] == actions


def test_refresh_after_publication_is_recorded_not_applied(stack: Stack) -> None:
    # nobody reviewed: the authority enters the general points (001 §II.1, issue 15)
    for step, who, body in (("decision", HEAD, {"general": 26}), ("publication", HEAD, {})):
        assert stack.call("POST", month(STAFF, step), who, body).status_code == 200
    published = stored(STAFF)[0]
    stack.approved_task(STAFF, "3")
    r = stack.call("POST", month(STAFF, "refresh"), STAFF)
    assert (r.status_code, r.json()["outcome"]) == (200, "refused"), r.text
    after, actions = stored(STAFF)
    assert actions[-1] == "late_data_refused"
    assert after["score"] == published["score"]
    assert "late_data_after_publication" in after["flags"]


def test_refresh_with_tasks_unreachable_is_503_and_changes_nothing(stack: Stack) -> None:
    reviewed(stack, STAFF)  # ready for the unit's decision, which then needs the ledger
    before = stored(STAFF)
    with evaluation_api(stack.planning, f"http://{closed_address()}") as api:
        r = api.post(month(STAFF, "refresh"), headers=auth(STAFF))
        assert r.status_code == 503, r.text
        decided = api.post(unit_url("decision"), headers=auth(HEAD), json={})
        assert decided.status_code == 503, decided.text
    assert stored(STAFF) == before


# --- the unit's decision -------------------------------------------------------------------


def self_assessed(stack: Stack, *people: str) -> None:
    for person in people:
        r = stack.call("POST", month(person, "self-assessment"), person, {"general": 28})
        assert r.status_code == 200, r.text


def reviewed(stack: Stack, *people: str) -> None:
    """Self-assessed (28) and reviewed (28) by the evaluator: ready for the unit's decision
    (issue 15: every month reviewed or past its review deadline)."""
    self_assessed(stack, *people)
    evaluator = {STAFF: HEAD, HEAD: SECRETARY}
    for person in people:
        r = stack.call("POST", month(person, "review"), evaluator[person], {"general": 28})
        assert r.status_code == 200, r.text


def test_unit_decision_decides_whom_the_caller_may_with_the_ledger_now(stack: Stack) -> None:
    reviewed(stack, HEAD, STAFF)
    stack.approved_task(STAFF, "10")
    r = stack.call("POST", unit_url("decision"), HEAD, {})
    assert r.status_code == 200, r.text
    result = r.json()
    # P02 decides P03 only (P02's own month is P01's to decide)
    assert (result["decided"], result["not_ready"]) == ([STAFF], [])
    assert result["workflows"] == {STAFF: "pending"}
    assert Decimal(result["ratio"]) == Decimal("0.2")
    staff, actions = stored(STAFF)
    assert actions[-3:] == ["ledger_refreshed", "decided", "quota_applied"]
    # the ledger of the tasks service now: 100% done → 28 + 70 = 98, A; alone in the unit's
    # decided months, no B to allow an A (001 §II.2.5): the final grade is B
    assert (staff["status"], staff["score"], staff["grade"]) == ("decided", "98", "A")
    assert (result["final"], result["demoted"]) == ({STAFF: "B"}, {STAFF: "unit"})
    assert staff["final_grade"] == "B"
    assert stored(HEAD)[0]["status"] == "reviewed"

    head = stack.call("POST", unit_url("decision"), SECRETARY, {})
    assert head.status_code == 200, head.text
    assert head.json()["decided"] == [HEAD]
    decided_head = stored(HEAD)[0]
    assert decided_head["status"] == "decided"
    # P02 heads PA-VP: d from P03's decided score (≥ 50: met), no June plan for đ
    assert decided_head["leader_factors"]["subordinates"] == [STAFF]
    assert decided_head["leader_factors"]["proposed"]["d"] is True
    assert "leader_factors_unconfirmed" in decided_head["flags"]
    # P02 leads no task this June (the tasks ledger now is empty): decided without a score
    assert (decided_head["score"], "no_tasks" in decided_head["flags"]) == (None, True)
    assert head.json()["final"] == {STAFF: "B"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ratio": "0.25"}, "reason"),
        ({"ratio": "0.3", "reason": "Đơn vị xuất sắc"}, "ratio"),
        ({"groups": {"kế toán": [STAFF, "P99"]}}, "groups"),
    ],
)
def test_unit_decision_refuses_bad_quota_input_and_changes_nothing(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    reviewed(stack, STAFF)
    before = stored(STAFF)
    r = stack.call("POST", unit_url("decision"), HEAD, body)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    assert stored(STAFF) == before


def test_unit_decision_bad_body_role_and_unit(stack: Stack) -> None:
    self_assessed(stack, STAFF)
    before = stored(STAFF)
    bad = stack.call("POST", unit_url("decision"), HEAD, {"ratio": "hai mươi"})
    assert bad.status_code == 422
    assert ["body", "ratio"] in [e["loc"] for e in bad.json()["detail"]]
    for who in (STAFF, OTHER_HEAD):
        denied = stack.call("POST", unit_url("decision"), who, {})
        assert denied.status_code == 403, denied.text
        assert denied.json()["detail"]["reasons"], denied.json()
    assert stored(STAFF) == before
    unknown = stack.call("POST", unit_url("decision", unit="PA-XX"), HEAD, {})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "unit")
    assert stack.call("POST", unit_url("decision", period="2026-6"), HEAD, {}).status_code == 422


def test_a_ratio_above_20_percent_with_a_reason(stack: Stack) -> None:
    reviewed(stack, STAFF)
    body = {"ratio": "0.25", "reason": "Đơn vị hoàn thành xuất sắc, nổi trội"}
    r = stack.call("POST", unit_url("decision"), HEAD, body)
    assert r.status_code == 200, r.text
    assert (Decimal(r.json()["ratio"]), r.json()["reason"]) == (Decimal("0.25"), body["reason"])


# --- a head's d, đ, e ----------------------------------------------------------------------


def test_leader_factors_proposed_then_confirmed_by_the_authority(stack: Stack) -> None:
    early = stack.call(
        "PUT", month(HEAD, "leader-factors"), SECRETARY, {"unit_on_plan": True, "unit_united": True}
    )
    assert (early.status_code, early.json()["field"]) == (409, "leader_factors"), early.text

    reports = {"conflict_reports": ["Phản ánh mất đoàn kết tổ văn thư"]}
    r = stack.call("POST", month(HEAD, "leader-factors/proposal"), SECRETARY, reports)
    assert r.status_code == 200, r.text
    factors = r.json()["leader_factors"]
    assert factors["subordinates"] == [STAFF]
    assert factors["conflict_reports"] == reports["conflict_reports"]
    assert (factors["proposed"]["dd"], factors["proposed"]["e"]) == (True, False)
    assert stored(HEAD)[1][-1] == "leader_factors_proposed"

    before = stored(HEAD)
    override = {"unit_on_plan": True, "unit_united": True}
    no_reason = stack.call("PUT", month(HEAD, "leader-factors"), SECRETARY, override)
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    assert stored(HEAD) == before
    bad = stack.call("PUT", month(HEAD, "leader-factors"), SECRETARY, {"unit_on_plan": "có"})
    assert bad.status_code == 422
    assert {("body", "unit_on_plan"), ("body", "unit_united")} <= {
        tuple(e["loc"]) for e in bad.json()["detail"]
    }
    assert stored(HEAD) == before

    reason = {**override, "reason": "Phản ánh đã được giải quyết trong tháng"}
    ok = stack.call("PUT", month(HEAD, "leader-factors"), SECRETARY, reason)
    assert ok.status_code == 200, ok.text
    confirmed = ok.json()["leader_factors"]["confirmed"]
    assert (confirmed["e"], confirmed["by"]) == (True, SECRETARY)
    assert ok.json() == stored(HEAD)[0]


def test_leader_factors_refused_for_the_wrong_role_and_for_staff(stack: Stack) -> None:
    before = stored(HEAD), stored(STAFF)
    for who in (HEAD, STAFF, OTHER_HEAD):
        r = stack.call("POST", month(HEAD, "leader-factors/proposal"), who, {})
        assert (r.status_code, r.json()["detail"]["action"]) == (403, "evaluation.decide")
    staff = stack.call("POST", month(STAFF, "leader-factors/proposal"), HEAD, {})
    assert (staff.status_code, staff.json()["field"]) == (409, "person"), staff.text
    for step, who, body in (("decision", HEAD, {"general": 26}), ("publication", HEAD, {})):
        assert stack.call("POST", month(STAFF, step), who, body).status_code == 200
    assert (stored(HEAD), stored(STAFF)[0]["status"]) == (before[0], "published")
    bad = stack.call("POST", month(HEAD, "leader-factors/proposal"), SECRETARY, {"x": 1})
    assert bad.status_code == 422


# --- the collective evaluation ------------------------------------------------------------

PLAN = {
    "code": "VP-2026",
    "owner_unit": UNIT,
    "owner_person": None,
    "period": {"kind": "year", "year": 2026},
    "objectives": [
        {
            "code": "VP-Y1",
            "title": "Văn bản đúng hạn",
            "perspective": "process",
            "breakthrough": False,
            "weight": 100,
            "progress_source": "key_results",
            "parent_key_result": None,
            "key_results": [
                {
                    "code": "VP-Y1-KR1",
                    "title": "Văn bản ban hành",
                    "kind": "okr",
                    "unit_of_measure": "văn bản",
                    "direction": "higher",
                    "baseline": 0,
                    "target": 200,
                    "complete_threshold": None,
                    "exceed_threshold": None,
                    "fail_threshold": None,
                    "weight": 100,
                    "data_source": "manual",
                    "evidence_required": False,
                    "current": 150,
                }
            ],
        }
    ],
}


def test_collective_evaluation_of_a_year(stack: Stack) -> None:
    url = unit_url("collective", period="2026")
    body = {
        "unplanned": [{"title": "Hỗ trợ bầu cử", "perspective": "citizens", "result": "xong"}],
        "level": "B",
        "comment": "Hoàn thành tốt",
    }
    no_plan = stack.call("PUT", url, SECRETARY, body)
    assert (no_plan.status_code, no_plan.json()["field"]) == (409, "plan"), no_plan.text
    with httpx.Client(base_url=stack.planning, timeout=10) as planning:
        created = planning.post(f"{BASE}/plans", headers=auth("admin", "tenant_admin"), json=PLAN)
        assert created.status_code == 201, created.text

    for who in (HEAD, STAFF):  # the head does not record their own unit's; staff never
        denied = stack.call("PUT", url, who, body)
        assert (denied.status_code, denied.json()["detail"]["action"]) == (403, "evaluation.decide")
    for bad, loc in (
        ({**body, "level": "E"}, ["body", "level"]),
        ({"unplanned": [{"title": "x", "perspective": "sports", "result": "y"}]}, None),
    ):
        r = stack.call("PUT", url, SECRETARY, bad)
        assert r.status_code == 422, r.text
        assert loc is None or loc in [e["loc"] for e in r.json()["detail"]]
    assert (
        stack.call("PUT", unit_url("collective", period="2026-Q5"), SECRETARY, body).status_code
        == 422
    )
    assert collectives() == []

    r = stack.call("PUT", url, SECRETARY, body)
    assert r.status_code == 200, r.text
    data = r.json()
    # 150 of 200 documents: 75% completion on the process perspective, proposed B
    assert (data["completion"], data["proposed_level"], data["level"]) == ("75.0", "B", "B")
    assert data["perspectives"]["process"]["counted"] == ["VP-Y1"]
    assert data["unplanned"][0]["title"] == "Hỗ trợ bầu cử"
    assert (data["head"], data["recorded_by"]) == (HEAD, SECRETARY)
    assert collectives() == [(UNIT, "2026", "B")]

    assert stack.call("GET", url, HEAD).json() == data  # the head reads their own month
    assert stack.call("GET", url, "admin", None, "tenant_admin").json() == data
    denied = stack.call("GET", url, OTHER_HEAD)
    assert (denied.status_code, denied.json()["detail"]["action"]) == (403, "evaluation.publish")
    none = stack.call("GET", unit_url("collective", period="2026-Q1"), HEAD)
    assert (none.status_code, none.json()["field"]) == (404, "collective")


NEW_ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", month(STAFF, "form"), None),
    ("GET", month(STAFF, "record"), None),
    ("GET", unit_url("records"), None),
    ("POST", month(STAFF, "refresh"), None),
    ("POST", unit_url("decision"), {}),
    ("POST", month(HEAD, "leader-factors/proposal"), {}),
    ("PUT", month(HEAD, "leader-factors"), {"unit_on_plan": True, "unit_united": True}),
    ("PUT", unit_url("collective", period="2026-Q2"), {}),
    ("GET", unit_url("collective", period="2026-Q2"), None),
]


@pytest.mark.parametrize(("method", "url", "body"), NEW_ENDPOINTS)
def test_another_tenants_token_sees_nothing_and_a_bad_period_is_422(
    stack: Stack, method: str, url: str, body: Any
) -> None:
    before = stored(HEAD), stored(STAFF)
    who = SECRETARY if "leader-factors" in url or "collective" in url else HEAD
    elsewhere = stack.api.request(method, url, headers=auth(who, tenant="hanoi"), json=body)
    assert elsewhere.status_code == 404, elsewhere.text
    bad = url.replace(PERIOD, "2026-00").replace("2026-Q2", "2026-Q0")
    r = stack.call(method, bad, who, body)
    assert r.status_code == 422, r.text
    assert ["path", "period"] in [e["loc"] for e in r.json()["detail"]]
    assert (stored(HEAD), stored(STAFF)) == before


def test_the_openapi_documents_the_new_endpoints_and_optional_parts(stack: Stack) -> None:
    spec = stack.api.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in (
        ("/tenants/{tenant}/evaluations/{person}/{period}/form", "get"),
        ("/tenants/{tenant}/evaluations/{person}/{period}/record", "get"),
        ("/tenants/{tenant}/evaluations/{person}/{period}/refresh", "post"),
        ("/tenants/{tenant}/evaluations/{person}/{period}/leader-factors", "put"),
        ("/tenants/{tenant}/evaluations/{person}/{period}/leader-factors/proposal", "post"),
        ("/tenants/{tenant}/units/{unit}/records/{period}", "get"),
        ("/tenants/{tenant}/units/{unit}/decision/{period}", "post"),
        ("/tenants/{tenant}/units/{unit}/collective/{period}", "put"),
        ("/tenants/{tenant}/units/{unit}/collective/{period}", "get"),
    ):
        assert method in paths.get(path, {}), path
    evaluation = spec["components"]["schemas"]["EvaluationOut"]["properties"]
    assert {"self_rows", "review_rows", "leader_factors", "score"} <= set(evaluation)
