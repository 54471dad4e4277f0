"""The task page's read (issue 17): ``GET /tasks/{code}/history`` through the tasks API with
planning served over HTTP (the stack of ``test_tasks_month``). What a task went through —
the submission with its evidence file, the return with its reason, the resubmission, a
progress note, a push-back and its answer, an objective cause — is answered in order, with
who decides it (the policy's ``authorities``); it is read by whoever may read the task
(``task.read``) and refused to a person of another unit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_tasks_authority import BASE, OUTSIDER, act, given, refused
from tests.integration.test_tasks_month import HEAD, STAFF, _evidence, h, stack

__all__ = ["stack"]

pytestmark = pytest.mark.integration


def test_history_answers_what_the_task_went_through(stack: dict[str, Any]) -> None:
    client: TestClient = stack["client"]
    code = given(client)
    assert act(client, code, "start", STAFF).status_code == 200
    note = client.post(
        f"{BASE}/tasks/{code}/progress",
        headers=h(STAFF),
        json={"percent": 40, "difficulties": "Thiếu số liệu quý II"},
    )
    assert note.status_code == 201, note.text
    pushed = client.post(
        f"{BASE}/tasks/{code}/pushbacks",
        headers=h(STAFF),
        json={"topic": "scope", "text": "Phạm vi gồm cả tổ dân phố?"},
    )
    assert pushed.status_code == 201, pushed.text
    answered = client.post(
        f"{BASE}/tasks/{code}/pushbacks/{pushed.json()['id']}/answer",
        headers=h(HEAD),
        json={"answer": "Có, cả 12 tổ"},
    )
    assert answered.status_code == 200, answered.text
    first = _evidence(client, STAFF)
    assert act(client, code, "submit", STAFF, evidence_ids=[first]).status_code == 200
    returned = act(client, code, "return", HEAD, reason="Thiếu phụ lục", for_quality=True)
    assert returned.status_code == 200, returned.text
    again = act(client, code, "submit", STAFF, evidence_ids=[_evidence(client, STAFF)])
    assert again.status_code == 200, again.text

    answer = client.get(f"{BASE}/tasks/{code}/history", headers=h(STAFF))
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["code"] == code
    assert HEAD in record["authorities"] and STAFF not in record["authorities"]
    assert [len(s["evidence"]) for s in record["submissions"]] == [1, 1]
    assert record["submissions"][0]["evidence"][0]["id"] == first
    assert record["submissions"][0]["by"] == STAFF
    assert [(r["decision"], r["reason"]) for r in record["reviews"]] == [
        ("returned", "Thiếu phụ lục")
    ]
    assert record["progress"][0]["difficulties"] == "Thiếu số liệu quý II"
    assert record["pushbacks"][0]["answer"] == "Có, cả 12 tổ"
    assert record["pushbacks"][0]["answered_by"] == HEAD
    actions = [e["action"] for e in record["events"]]
    assert actions[0] == "task.created"
    assert "pushback.answered" in actions and "task.progress" in actions
    assert [e["status"] for e in record["events"] if e["action"].startswith("task.")][-1] == (
        "submitted"
    )
    assert {e["actor"] for e in record["events"]} >= {HEAD, STAFF}

    head_view = client.get(f"{BASE}/tasks/{code}/history", headers=h(HEAD))
    assert head_view.status_code == 200 and head_view.json() == record
    refused(client.get(f"{BASE}/tasks/{code}/history", headers=h(OUTSIDER)), "task.read")
    assert client.get(f"{BASE}/tasks/NO-SUCH/history", headers=h(HEAD)).status_code == 404
