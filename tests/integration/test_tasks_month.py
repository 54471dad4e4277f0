"""A month of tasks for phường Phúc Lợi through the tasks API — with the planning API running
as a real HTTP server — driven through returns, a delay with an objective cause and approvals;
its ledger, fed to the scoring engine, reproduces 002's worked example (132 points → 83.9, B).
"""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common.auth import issue_token
from services.common.db import engine_for, transaction
from services.common.settings import get_settings
from services.evaluation.month_import import evaluate_month
from services.evaluation.scoring import TaskRecord, score_month
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from services.tasks.models import outbox
from tests.integration.backends import BACKENDS, database_backend
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

HEAD, STAFF, OTHER = "P019", "P021", "P009"  # Chánh VP HĐND-UBND; chuyên viên VP; VP Đảng ủy
DUE = date(2026, 6, 19)  # a Friday


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Hà Nội onboarded; planning served over HTTP by uvicorn; a tasks client with a clock."""
    port = _free_port()
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.setenv("PLANNING_URL", f"http://127.0.0.1:{port}")
    with database_backend(request.param, monkeypatch):
        yield from _stack(port)


def _stack(port: int) -> Iterator[dict[str, Any]]:
    tasks_api._directory.clear()
    onboard(ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml", infrastructure=False)
    server = uvicorn.Server(
        uvicorn.Config(planning_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "planning API did not start"
        time.sleep(0.05)
    clock = {"day": date(2026, 6, 1)}
    app = tasks_api.create_app()
    app.dependency_overrides[tasks_api.today] = lambda: clock["day"]
    try:
        yield {"client": TestClient(app), "clock": clock}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        tasks_api._directory.clear()


def h(subject: str, tenant: str = "hanoi") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(tenant, subject, {'staff'})}"}


def _task(client: TestClient, item: str, quantity: str, group: str, name: str) -> str:
    body = {
        "name": name,
        "basis": "Kế hoạch 45/KH-UBND",
        "group": group,
        "lead_unit": "PL-VP",
        "lead_person": STAFF,
        "start_date": "2026-06-01",
        "due_date": DUE.isoformat(),
        "output_product": "Văn bản trình ký",
        "quality_criteria": "Đúng thể thức, đúng hạn",
        "catalog_item": item,
        "quantity": quantity,
    }
    created = client.post("/tenants/hanoi/tasks", headers=h(HEAD), json=body)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert client.post(f"/tenants/hanoi/tasks/{code}/assign", headers=h(HEAD)).status_code == 200
    return code


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _evidence(client: TestClient, who: str, name: str = "san-pham.pdf") -> int:
    """Upload one evidence file as ``who`` (every submission carries one, 000 §VI.4)."""
    stored = client.post(
        "/tenants/hanoi/evidence", params={"filename": name}, headers=h(who), content=PDF
    )
    assert stored.status_code == 201, stored.text
    return int(stored.json()["id"])


def _move(client: TestClient, code: str, action: str, who: str, **body: Any) -> Any:
    if action == "submit" and "evidence_ids" not in body:
        body["evidence_ids"] = [_evidence(client, who)]
    answer = client.post(f"/tenants/hanoi/tasks/{code}/{action}", headers=h(who), json=body)
    assert answer.status_code == 200, (action, answer.text)
    return answer.json()


def test_a_month_reproduces_the_worked_example(stack: dict[str, Any]) -> None:
    client, clock = stack["client"], stack["clock"]
    # 3 focus = 57 points, 8 regular = 64, 1 arising = 11 (002's Bảng điểm tháng 6/2026)
    big = _task(client, "VP-DA-01", "3.5", "focus", "Đề án chuyển đổi số phường")  # 8.0 × 3.5
    plan = _task(client, "VP-KH-01", "4", "focus", "Kế hoạch công tác quý III")  # 3.0 × 4
    meeting = _task(client, "VP-HN-01", "4.25", "focus", "Phục vụ kỳ họp HĐND")  # 4.0 × 4.25
    regular = [
        _task(client, "VP-VB-01", "8", "regular", f"Văn bản hành chính đợt {i + 1}")
        for i in range(8)
    ]
    arising = _task(client, "VP-BC-01", "5.5", "arising", "Báo cáo đột xuất về ngập úng")
    points = [
        Decimal(client.get(f"/tenants/hanoi/tasks/{c}", headers=h(STAFF)).json()["points"])
        for c in [big, plan, meeting, *regular, arising]
    ]
    assert points == [28, 12, 17, *[8] * 8, 11] and sum(points) == 132

    for code in [big, plan, meeting, *regular]:
        _move(client, code, "start", STAFF)
    clock["day"] = date(2026, 6, 17)
    _move(client, big, "submit", STAFF, evidence_ids=[_evidence(client, STAFF, "de-an.pdf")])
    denied = client.post(f"/tenants/hanoi/tasks/{big}/approve", headers=h(STAFF))
    assert denied.status_code == 403  # nobody approves a task they lead
    returned = _move(client, big, "return", HEAD, reason="Thiếu số liệu khảo sát", for_quality=True)
    assert returned["status"] == "returned"
    _move(client, big, "submit", STAFF)
    for code in [big, plan, *regular[:7]]:
        if code != big:
            _move(client, code, "submit", STAFF)
        _move(client, code, "approve", HEAD)
    # one regular product is late (2 working days) but the head confirms an objective cause
    clock["day"] = date(2026, 6, 23)
    late = _move(client, regular[7], "submit", STAFF)
    assert late["status"] == "submitted"
    cause = client.post(
        f"/tenants/hanoi/tasks/{regular[7]}/objective-causes",
        headers=h(HEAD),
        json={"kind": "delay", "why": "Mất điện diện rộng 22/6"},
    )
    assert cause.status_code == 201, cause.text
    _move(client, regular[7], "approve", HEAD)
    conflict = client.post(f"/tenants/hanoi/tasks/{regular[7]}/approve", headers=h(HEAD))
    assert conflict.status_code == 409
    assert conflict.json()["detail"][0]["current"] == "approved"

    ledger = client.get(f"/tenants/hanoi/ledger/{STAFF}/2026-06", headers=h(STAFF))
    assert ledger.status_code == 200, ledger.text
    lines = ledger.json()["tasks"]
    by_code = {line["task_id"]: line for line in lines}
    assert by_code[big]["quality_failures"] == 1 and by_code[big]["evidence"]["quality_failures"]
    assert (by_code[regular[7]]["delays"], by_code[regular[7]]["days_late"]) == (1, 2)
    assert by_code[regular[7]]["objective_cause"] is True
    assert not by_code[meeting]["completed"] and not by_code[arising]["completed"]

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
        for line in lines
    ]
    result = score_month(records, general_score=30, working_days=22, days_worked=22)
    assert (result.a, result.b, result.c) == (
        Fraction(104, 132),
        Fraction(97, 132),
        Fraction(104, 132),
    )
    assert (str(result.score), result.grade.value if result.grade else None) == ("83.9", "B")

    exported = client.get("/tenants/hanoi/ledger-unit/PL-VP/2026-06/tasks.csv", headers=h(HEAD))
    assert exported.status_code == 200, exported.text
    folder = Path(get_settings().woms_home)
    (folder / "TASKS.csv").write_text(exported.text, encoding="utf-8")
    (folder / "PEOPLE.csv").write_text(
        "person_id,unit_id,role,working_days,days_worked,general_score,"
        "all_subordinates_pass,unit_on_plan,unit_united\n"
        f"{STAFF},PL-VP,staff,22,22,30,,,\n",
        encoding="utf-8",
    )
    month = evaluate_month(folder / "PEOPLE.csv", folder / "TASKS.csv")
    assert month.row(0, named=True)["score"] == "83.9"
    assert next(csv.DictReader(io.StringIO(exported.text)))["person_id"] == STAFF

    with transaction(engine_for("hanoi", "tasks")) as s:
        types = set(s.execute(select(outbox.c.type)).scalars())
    assert {
        "vn.woms.tasks.task.assigned.v1",
        "vn.woms.tasks.task.submitted.v1",
        "vn.woms.tasks.task.approved.v1",
        "vn.woms.tasks.task.returned.v1",
        "vn.woms.tasks.objective_cause.confirmed.v1",
    } <= types


def test_required_fields_access_and_warnings(stack: dict[str, Any]) -> None:
    client, clock = stack["client"], stack["clock"]
    draft = client.post(
        "/tenants/hanoi/tasks", headers=h(HEAD), json={"name": "Việc chưa rõ", "lead_person": STAFF}
    ).json()
    assert draft["status"] == "draft"
    refused = client.post(f"/tenants/hanoi/tasks/{draft['code']}/assign", headers=h(HEAD))
    assert refused.status_code == 422
    missing = set(refused.json()["detail"][0]["missing"])
    assert {
        "basis",
        "group",
        "lead_unit",
        "due_date",
        "output_product",
        "quality_criteria",
        "catalog_item",
        "quantity",
    } <= missing

    code = _task(client, "VP-VB-01", "2", "regular", "Giấy mời họp")
    assert client.get(f"/tenants/hanoi/tasks/{code}", headers=h(OTHER)).status_code == 403
    visible = client.get("/tenants/hanoi/tasks", headers=h(OTHER)).json()
    assert code not in {t["code"] for t in visible["items"]}
    # the Chủ tịch UBND evaluates the office head (001 §II.3), so sees the office's tasks
    assert client.get(f"/tenants/hanoi/tasks/{code}", headers=h("P003")).status_code == 200
    foreign = client.get(f"/tenants/hanoi/tasks/{code}", headers=h(STAFF, "thanhhoa"))
    assert foreign.status_code == 404

    exe = client.post(
        "/tenants/hanoi/evidence",
        params={"filename": "baocao.pdf"},
        headers=h(STAFF),
        content=b"MZ\x90\x00" + b"\x00" * 200,
    )
    assert (exe.status_code == 422 and "MZ" not in exe.text) or exe.status_code == 422

    clock["day"] = date(2026, 6, 17)
    soon = client.get("/tenants/hanoi/warnings", params={"person": STAFF}, headers=h(STAFF))
    assert code in {t["task"] for t in soon.json()["due_soon"]}
    clock["day"] = date(2026, 6, 25)
    overdue = client.get("/tenants/hanoi/warnings", params={"unit": "PL-VP"}, headers=h(HEAD))
    assert code in {t["task"] for t in overdue.json()["overdue"]}


def test_no_tasks_endpoint_serves_another_tenant(stack: dict[str, Any]) -> None:
    client = stack["client"]
    code = _task(client, "VP-VB-01", "1", "regular", "Công văn")
    fill = {
        "{code}": code,
        "{action}": "start",
        "{pushback_id}": "1",
        "{ratee}": STAFF,
        "{person}": STAFF,
        "{period}": "2026-06",
        "{unit}": "PL-VP",
        "{evidence_id}": "1",
    }
    calls = []
    for path, operations in client.app.openapi()["paths"].items():
        if path.startswith("/tenants/{tenant}"):
            for key, value in fill.items():
                path = path.replace(key, value)
            calls += [(method.upper(), path.replace("{tenant}", "hanoi")) for method in operations]
    assert len(calls) >= 20
    foreign = h(STAFF, "thanhhoa")
    for method, url in calls:
        params = {"filename": "a.pdf", "week": "2026-06-15"}
        answer = client.request(method, url, headers=foreign, params=params, json={})
        assert answer.status_code == 404, (method, url, answer.status_code)
        assert client.request(method, url, params=params).status_code == 401, (method, url)


def test_progress_pushback_ratings_calendar_and_overdue(stack: dict[str, Any]) -> None:
    client, clock = stack["client"], stack["clock"]
    code = _task(client, "VP-BC-01", "1", "regular", "Báo cáo tuần")
    body = {"collaborating_people": ["P022"], "collaborating_units": ["PL-PVHCC"]}
    assert (
        client.patch(f"/tenants/hanoi/tasks/{code}", headers=h(HEAD), json=body).status_code == 200
    )
    _move(client, code, "start", STAFF)
    note = client.post(
        f"/tenants/hanoi/tasks/{code}/progress",
        headers=h(STAFF),
        json={"percent": 40, "difficulties": "Chưa có số liệu phường"},
    )
    assert note.status_code == 201 and note.json()["percent"] == 40
    pb = client.post(
        f"/tenants/hanoi/tasks/{code}/pushbacks",
        headers=h(STAFF),
        json={"topic": "resources", "text": "Cần số liệu của Trung tâm PVHCC"},
    )
    assert pb.status_code == 201
    answered = client.post(
        f"/tenants/hanoi/tasks/{code}/pushbacks/{pb.json()['id']}/answer",
        headers=h(HEAD),
        json={"answer": "Đã đề nghị Trung tâm gửi trước 18/6"},
    )
    assert answered.json()["answered_by"] == HEAD
    early = client.put(
        f"/tenants/hanoi/tasks/{code}/ratings/P022", headers=h(STAFF), json={"score": 4}
    )
    assert early.status_code == 409  # only once approved

    clock["day"] = date(2026, 6, 22)
    assert client.post("/tenants/hanoi/overdue-sweep", headers=h(STAFF)).status_code == 403
    admin = {"Authorization": f"Bearer {issue_token('hanoi', 'P001', {'tenant_admin'})}"}
    assert client.post("/tenants/hanoi/overdue-sweep", headers=admin).json() == [code]
    assert client.post("/tenants/hanoi/overdue-sweep", headers=admin).json() == []  # once

    _move(client, code, "submit", STAFF)
    exceeded = client.post(
        f"/tenants/hanoi/tasks/{code}/exceeded", headers=h(STAFF), json={"kind": "innovation"}
    )
    assert exceeded.status_code == 403  # not by the lead
    assert (
        client.post(
            f"/tenants/hanoi/tasks/{code}/exceeded",
            headers=h(HEAD),
            json={"kind": "innovation", "note": "Mẫu báo cáo tự động"},
        ).status_code
        == 201
    )
    _move(client, code, "approve", HEAD)
    assert (
        client.put(
            f"/tenants/hanoi/tasks/{code}/ratings/P022",
            headers=h(STAFF),
            json={"score": 4, "comment": "Phối hợp tốt"},
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/tenants/hanoi/tasks/{code}/ratings/{STAFF}", headers=h("P022"), json={"score": 5}
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/tenants/hanoi/tasks/{code}/ratings/P023", headers=h(STAFF), json={"score": 1}
        ).status_code
        == 403
    )  # P023 did not collaborate
    closed = client.post("/tenants/hanoi/periods/2026-06/close", headers=admin)
    assert closed.json() == {"period": "2026-06", "closed_now": True}
    locked = client.put(
        f"/tenants/hanoi/tasks/{code}/ratings/P022", headers=h(STAFF), json={"score": 2}
    )
    assert locked.status_code == 409  # ratings are editable only until the period closes
    own = client.get(f"/tenants/hanoi/ratings/{STAFF}/2026-06", headers=h(STAFF)).json()
    assert own["average"] == "5.00" and "rater" not in own["ratings"][0]
    boss = client.get(f"/tenants/hanoi/ratings/{STAFF}/2026-06", headers=h(HEAD)).json()
    assert boss["ratings"][0]["rater"] == "P022"

    entry = client.post(
        f"/tenants/hanoi/calendar/{STAFF}",
        headers=h(STAFF),
        json={"day": "2026-06-17", "title": "Họp giao ban", "task": code},
    )
    assert entry.status_code == 201
    week = client.get(
        f"/tenants/hanoi/calendar/{STAFF}", params={"week": "2026-06-19"}, headers=h(HEAD)
    ).json()
    assert [e["title"] for e in week] == ["Họp giao ban"]
    assert (
        client.post(
            f"/tenants/hanoi/calendar/{STAFF}",
            headers=h(HEAD),
            json={"day": "2026-06-18", "title": "x"},
        ).status_code
        == 403
    )
    ledger = client.get(f"/tenants/hanoi/ledger/{STAFF}/2026-06", headers=h(STAFF)).json()
    line = next(t for t in ledger["tasks"] if t["task_id"] == code)
    assert line["exceeded"] is True and line["delays"] == 1
