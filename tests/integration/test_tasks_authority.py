"""Separation of duties on tasks (issue 15; ``DOMAIN.md §4``, ``001 §II.3``, ``000 §V.2``,
``000 §VI.4``) through the tasks API, with planning served over HTTP (the stack of
``test_tasks_month``). Phúc Lợi's office PL-VP in June 2026: P019 heads it (authority over its
staff), P003 (Chủ tịch UBND) evaluates P019, P021 and P022 are staff (peers), P032 works in
another unit (PL-KTHTDT). Expected answers come from the rules, not from the policy: giving
and deciding belong to the authorities over the lead, never to the lead, a peer or a
collaborator; proposals count in no ledger until accepted; evidence is required."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common.auth import issue_token
from services.common.db import engine_for, transaction
from services.tasks.models import Evidence, Task
from tests.integration.test_tasks_month import DUE, HEAD, PDF, STAFF, _evidence, h, stack

__all__ = ["stack"]  # the fixture, imported from the month's test

pytestmark = pytest.mark.integration

PEER, CHAIR, OUTSIDER = "P022", "P003", "P032"
BASE = "/tenants/hanoi"


def body(**over: Any) -> dict[str, Any]:
    """A task of STAFF with every "6 rõ" field (VP-VB-01: 1 point per document)."""
    fields = {
        "name": "Công văn đôn đốc",
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "regular",
        "lead_unit": "PL-VP",
        "lead_person": STAFF,
        "start_date": "2026-06-01",
        "due_date": DUE.isoformat(),
        "output_product": "Công văn",
        "quality_criteria": "Đúng thể thức",
        "catalog_item": "VP-VB-01",
        "quantity": "2",
    }
    fields.update(over)
    return fields


def create(client: TestClient, who: str, **over: Any) -> Any:
    return client.post(f"{BASE}/tasks", headers=h(who), json=body(**over))


def act(client: TestClient, code: str, action: str, who: str, **payload: Any) -> Any:
    return client.post(f"{BASE}/tasks/{code}/{action}", headers=h(who), json=payload)


def given(client: TestClient, **over: Any) -> str:
    """A task created and assigned by the head."""
    created = create(client, HEAD, **over)
    assert created.status_code == 201, created.text
    code = str(created.json()["code"])
    assert act(client, code, "assign", HEAD).status_code == 200
    return code


def submitted(client: TestClient, **over: Any) -> str:
    code = given(client, **over)
    moved = act(client, code, "submit", STAFF, evidence_ids=[_evidence(client, STAFF)])
    assert moved.status_code == 200, moved.text
    return code


def refused(answer: Any, action: str) -> list[str]:
    """A 403 of the policy: ``{"action", "reasons"}`` with at least one reason (vi / en)."""
    assert answer.status_code == 403, answer.text
    detail = answer.json()["detail"]
    assert detail["action"] == action and detail["reasons"], detail
    assert all(" / " in r for r in detail["reasons"])
    return list(detail["reasons"])


def field_of(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    return str(answer.json()["detail"][0]["loc"][-1])


def ledger_codes(client: TestClient, person: str = STAFF) -> set[str]:
    answer = client.get(f"{BASE}/ledger/{person}/2026-06", headers=h(HEAD))
    assert answer.status_code == 200, answer.text
    return {line["task_id"] for line in answer.json()["tasks"]}


def test_staff_cannot_give_a_colleague_a_task(stack: dict[str, Any]) -> None:
    client = stack["client"]
    reasons = refused(create(client, PEER), "task.create")
    assert any("thẩm quyền" in r for r in reasons)
    # nor another unit's person, nor the head assign himself a task (P003 is above him)
    refused(create(client, STAFF, lead_person=OUTSIDER, lead_unit="PL-KTHTDT"), "task.create")
    own = create(client, HEAD, lead_person=HEAD)
    assert own.status_code == 201, own.text
    refused(act(client, own.json()["code"], "assign", HEAD), "task.assign")


def test_a_proposal_counts_in_no_ledger_until_an_authority_accepts_it(
    stack: dict[str, Any],
) -> None:
    client = stack["client"]
    draft = create(client, STAFF)  # for themselves: allowed, as a draft
    assert draft.status_code == 201, draft.text
    code = draft.json()["code"]
    assert draft.json()["proposed_by"] == STAFF
    refused(act(client, code, "assign", STAFF), "task.assign")  # giving is not theirs
    proposed = act(client, code, "propose", STAFF)
    assert proposed.status_code == 200 and proposed.json()["status"] == "proposed"
    assert code not in ledger_codes(client)
    csv_text = client.get(f"{BASE}/ledger-unit/PL-VP/2026-06/tasks.csv", headers=h(HEAD)).text
    assert code not in csv_text
    refused(act(client, code, "accept", PEER), "task.accept")  # a peer accepts nothing
    refused(act(client, code, "accept", STAFF), "task.accept")  # nor the proposer
    accepted = act(client, code, "accept", HEAD)
    assert accepted.status_code == 200, accepted.text
    out = accepted.json()
    assert (out["status"], out["assigner"], out["proposed_by"]) == ("assigned", HEAD, STAFF)
    assert code in ledger_codes(client)


def test_proposer_edits_own_proposal_only_and_never_its_collaborators(
    stack: dict[str, Any],
) -> None:
    client = stack["client"]
    code = create(client, STAFF).json()["code"]
    edit = client.patch(f"{BASE}/tasks/{code}", headers=h(STAFF), json={"quantity": "3"})
    assert edit.status_code == 200, edit.text
    people = {"collaborating_people": [PEER]}
    refused(client.patch(f"{BASE}/tasks/{code}", headers=h(STAFF), json=people), "task.edit")
    moved = {"lead_person": PEER}  # turning one's draft into a colleague's task
    refused(client.patch(f"{BASE}/tasks/{code}", headers=h(STAFF), json=moved), "task.edit")
    assert client.patch(f"{BASE}/tasks/{code}", headers=h(HEAD), json=people).status_code == 200
    assert act(client, code, "propose", STAFF).status_code == 200
    assert act(client, code, "cancel", STAFF, reason="Trùng việc").status_code == 200
    other = given(client)
    refused(
        client.patch(f"{BASE}/tasks/{other}", headers=h(STAFF), json={"quantity": "9"}),
        "task.edit",
    )
    # the head cannot move a task to a lead outside his authority
    outside = {"lead_person": OUTSIDER, "lead_unit": "PL-KTHTDT", "catalog_item": "KT-BC-01"}
    refused(client.patch(f"{BASE}/tasks/{other}", headers=h(HEAD), json=outside), "task.edit")


def test_only_an_authority_decides(stack: dict[str, Any]) -> None:
    client = stack["client"]
    code = submitted(client, collaborating_people=[PEER])
    for who in (STAFF, PEER):  # the lead; a peer who is also a collaborator
        refused(act(client, code, "approve", who), "task.approve")
        refused(act(client, code, "return", who, reason="x"), "task.return")
        mark = {"kind": "innovation"}
        answer = client.post(f"{BASE}/tasks/{code}/exceeded", headers=h(who), json=mark)
        refused(answer, "exceeded.mark")
    admin = {"Authorization": f"Bearer {issue_token('hanoi', 'QT-HN', {'tenant_admin'})}"}
    assert client.post(f"{BASE}/tasks/{code}/approve", headers=admin).status_code == 403
    assert act(client, code, "approve", HEAD).status_code == 200


def test_a_peer_recorded_as_assigner_still_decides_nothing(stack: dict[str, Any]) -> None:
    """A task whose assigner is a peer (as the API allowed before issue 15): being its
    assigner gives no authority."""
    client = stack["client"]
    code = submitted(client)
    with transaction(engine_for("hanoi", "tasks")) as s:
        s.execute(select(Task).where(Task.code == code)).scalar_one().assigner = PEER
    mark = {"kind": "higher_quality"}
    refused(
        client.post(f"{BASE}/tasks/{code}/exceeded", headers=h(PEER), json=mark), "exceeded.mark"
    )
    cause = {"kind": "delay", "why": "Mất điện"}
    answer = client.post(f"{BASE}/tasks/{code}/objective-causes", headers=h(PEER), json=cause)
    refused(answer, "cause.confirm")
    refused(act(client, code, "approve", PEER), "task.approve")
    assert act(client, code, "approve", CHAIR).status_code == 200  # the head's superior may


def test_evidence_is_required_to_submit_and_to_approve(stack: dict[str, Any]) -> None:
    client = stack["client"]
    code = given(client)
    assert field_of(act(client, code, "submit", STAFF)) == "evidence_ids"
    answer = act(client, code, "submit", STAFF, evidence_ids=[_evidence(client, STAFF)])
    assert answer.status_code == 200, answer.text
    with transaction(engine_for("hanoi", "tasks")) as s:  # evidence lost after submission
        for item in s.execute(select(Evidence)).scalars():
            item.submission_id = None
    approved = act(client, code, "approve", HEAD)
    assert field_of(approved) == "evidence" and "minh chứng" in approved.json()["detail"][0]["msg"]


def test_a_link_is_evidence_too_but_only_an_http_link(stack: dict[str, Any]) -> None:
    client = stack["client"]
    code = given(client)
    script = act(client, code, "submit", STAFF, evidence_links=["javascript:alert(1)"])
    assert script.status_code == 422 and "evidence_links" in script.json()["detail"][0]["loc"]
    link = "https://vanban.hanoi.gov.vn/van-ban/45-KH-UBND"
    assert act(client, code, "submit", STAFF, evidence_links=[link]).status_code == 200
    assert act(client, code, "approve", HEAD).status_code == 200


def test_exceeded_and_cause_only_on_a_submitted_or_late_task(stack: dict[str, Any]) -> None:
    client, clock = stack["client"], stack["clock"]
    code = given(client)
    mark = {"kind": "ahead_of_time"}
    early = client.post(f"{BASE}/tasks/{code}/exceeded", headers=h(HEAD), json=mark)
    assert early.status_code == 409 and early.json()["detail"][0]["current"] == "assigned"
    cause = {"kind": "delay", "why": "Mất điện"}
    early = client.post(f"{BASE}/tasks/{code}/objective-causes", headers=h(HEAD), json=cause)
    assert early.status_code == 409 and "assigned" in early.json()["detail"][0]["msg"]
    clock["day"] = date(2026, 6, 22)  # past the due date: late
    late = client.post(f"{BASE}/tasks/{code}/objective-causes", headers=h(HEAD), json=cause)
    assert late.status_code == 201, late.text
    other = submitted(client)
    assert (
        client.post(f"{BASE}/tasks/{other}/exceeded", headers=h(HEAD), json=mark).status_code == 201
    )


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"due_date": "9999-12-31"}, "due_date"),
        ({"start_date": "1999-12-31"}, "start_date"),
        ({"due_date": "2026-06-19T08:00:00"}, "due_date"),
        ({"start_date": "2026-06-01T00:00:00"}, "start_date"),
        ({"due_date": 1781827200}, "due_date"),
        ({"lead_person": "P999"}, "lead_person"),
        ({"lead_unit": "PL-KTHTDT"}, "lead_unit"),
        ({"collaborating_people": ["P999"]}, "collaborating_people"),
        ({"collaborating_people": [f"P{i:03d}" for i in range(51)]}, "collaborating_people"),
        ({"collaborating_people": ["x" * 10_000]}, "0"),
        ({"collaborating_units": ["NOWHERE"]}, "collaborating_units"),
        ({"quantity": "-0"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1E-27"}, "quantity"),
        ({"quantity": "1000000", "catalog_item": "VP-DA-01"}, "quantity"),  # 8,000,000 points
        ({"quantity": "30", "catalog_item": "VP-DA-01"}, "quantity"),  # 240 > 200 points
        ({"catalog_item": "KT-BC-01"}, "catalog_item"),  # another unit's catalog
    ],
)
def test_hostile_fields_are_422_naming_the_field(
    stack: dict[str, Any], over: dict[str, Any], field: str
) -> None:
    answer = create(stack["client"], HEAD, **over)
    assert field_of(answer) == field, answer.text


def test_points_of_a_person_month_are_bounded_when_given(stack: dict[str, Any]) -> None:
    """1000 points a month at most (default ``max_points_per_person_month``): five tasks of
    200 points fit; a sixth is refused when assigned, and a proposal counts only once
    accepted."""
    client = stack["client"]
    for _ in range(5):
        given(client, catalog_item="VP-DA-01", quantity="25")  # 8 × 25 = 200 points
    sixth = create(client, HEAD, catalog_item="VP-VB-01", quantity="1").json()["code"]
    answer = act(client, sixth, "assign", HEAD)
    assert field_of(answer) == "quantity" and "1000" in answer.json()["detail"][0]["msg"]
    proposal = create(client, STAFF, catalog_item="VP-VB-01", quantity="1").json()["code"]
    assert act(client, proposal, "propose", STAFF).status_code == 200  # no points counted yet
    assert field_of(act(client, proposal, "accept", HEAD)) == "quantity"


def test_evidence_download_is_an_attachment_never_sniffed(stack: dict[str, Any]) -> None:
    client = stack["client"]
    code = given(client)
    evidence = _evidence(client, STAFF, "báo cáo.pdf")
    assert act(client, code, "submit", STAFF, evidence_ids=[evidence]).status_code == 200
    got = client.get(f"{BASE}/evidence/{evidence}", headers=h(HEAD))
    assert got.status_code == 200, got.text
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''b%C3%A1o%20c%C3%A1o.pdf" in disposition
    assert client.get(f"{BASE}/evidence/{evidence}", headers=h(OUTSIDER)).status_code == 403


def test_evidence_file_names_are_stored_normalised(stack: dict[str, Any]) -> None:
    """A raw name with a path, CR LF and NUL is stored and answered as its last segment
    without control characters (issue 15, hostile run: names were stored raw)."""
    client = stack["client"]
    answer = client.post(
        f"{BASE}/evidence",
        headers=h(STAFF),
        params={"filename": "../../a\r\nb\x00.pdf"},
        content=PDF,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == "ab.pdf"
    refused = client.post(
        f"{BASE}/evidence", headers=h(STAFF), params={"filename": "run.bat"}, content=b"@echo off"
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "file"]
