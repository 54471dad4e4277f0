"""The planning API end to end, on SQLite and on the local PostgreSQL: onboarding, org chart,
catalog versions, the cascade roll-up, plan decisions, progress, ingestion, tenant isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common.auth import issue_token
from services.common.authorizer import authorities_over
from services.common.db import engine_for, transaction
from services.planning.api import create_app
from services.planning.models import outbox
from tests.integration.backends import BACKENDS, database_backend
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"

pytestmark = pytest.mark.integration


@pytest.fixture(params=BACKENDS)
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A WOMS home with the mini and Hà Nội tenants onboarded, on the backend of the param."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend(request.param, monkeypatch):
        onboard(MINI, infrastructure=False)
        onboard(HANOI, infrastructure=False)
        yield request.param


@pytest.fixture
def client(env: str) -> TestClient:
    return TestClient(create_app())


def auth(tenant: str, subject: str, *roles: str) -> dict[str, str]:
    token = issue_token(tenant, subject, set(roles) or {"staff"})
    return {"Authorization": f"Bearer {token}"}


def test_org_chart_pages_filters_and_history(client: TestClient) -> None:
    h = auth("mini", "P03")
    page = client.get("/tenants/mini/units", params={"limit": 2}, headers=h).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["limit"] == 2
    party = client.get("/tenants/mini/units", params={"axis": "party"}, headers=h).json()
    assert {u["code"] for u in party["items"]} == {"PA", "PA-VP"}
    person = client.get("/tenants/mini/people/P03", headers=h).json()
    assert [(m["unit"], m["end"]) for m in person["memberships"]] == [
        ("PA-VP", "2026-06-30"),
        ("PA-VHXH", None),
    ]
    june = client.get(
        "/tenants/mini/people", params={"unit": "PA-VP", "as_of": "2026-06-15"}, headers=h
    ).json()
    august = client.get(
        "/tenants/mini/people", params={"unit": "PA-VP", "as_of": "2026-08-15"}, headers=h
    ).json()
    assert {p["code"] for p in june["items"]} == {"P02", "P03"}
    assert {p["code"] for p in august["items"]} == {"P02"}
    assert client.get("/tenants/mini/units", params={"limit": 500}, headers=h).status_code == 422


def test_catalog_versions_apply_from_their_date(client: TestClient) -> None:
    h = auth("mini", "P03")

    def coefficient(day: str) -> str:
        items = client.get("/tenants/mini/catalog", params={"as_of": day}, headers=h).json()
        return next(i["coefficient"] for i in items if i["code"] == "VB-01")

    assert Decimal(coefficient("2026-06-30")) == Decimal("1.0")
    assert Decimal(coefficient("2026-07-01")) == Decimal("1.2")


def test_evaluator_relation_follows_moves(client: TestClient) -> None:
    h = auth("mini", "P03")

    def evaluator_of(person: str, day: str) -> str | None:
        edges = client.get("/tenants/mini/evaluators", params={"as_of": day}, headers=h).json()
        return next(e["evaluator"] or e["external"] for e in edges if e["person"] == person)

    assert evaluator_of("P03", "2026-03-01") == "P02"  # staff ← head of Văn phòng
    assert evaluator_of("P03", "2026-08-01") == "P05"  # moved to phòng VH-XH
    assert evaluator_of("P01", "2026-03-01") == "Ban Thường vụ Tỉnh ủy"
    assert evaluator_of("P05", "2026-03-01") == "P04"  # office head ← Chủ tịch UBND


def test_cascade_rolls_up_with_lower_is_better_and_mixed_sources(client: TestClient) -> None:
    """T-O1 (both): key results 50/50 — GRDP 6/8 = 75%, overdue dossiers 2/4 = 50% (lower is
    better) → 62.5%; children: PA-O1 (serving T-O1-KR1) at 90/100 → 90%; mean → 76.25%.
    T-O2 is a breakthrough at 20/80 = 25%: reported 0.6·76.25% + 0.4·25% = 55.75%, evaluation
    figure without it = 76.25% (004 Phụ lục 4 §3.2, §4.3)."""
    plan = client.get(
        "/tenants/mini/plans/T-2026", params={"today": "2026-06-30"}, headers=auth("mini", "P03")
    ).json()
    objectives = {o["code"]: o for o in plan["objectives"]}
    krs = {k["code"]: k for k in objectives["T-O1"]["key_results"]}
    assert Decimal(krs["T-O1-KR1"]["progress"]) == Decimal("0.75")
    assert Decimal(krs["T-O1-KR2"]["progress"]) == Decimal("0.5")
    assert Decimal(objectives["T-O1"]["progress"]) == Decimal("0.7625")
    assert Decimal(objectives["T-O2"]["progress"]) == Decimal("0.25")
    assert Decimal(plan["progress"]) == Decimal("0.5575")
    assert Decimal(plan["evaluation_progress"]) == Decimal("0.7625")
    assert objectives["T-O2"]["breakthrough"] is True
    assert objectives["T-O1"]["status_colour"] in {"green", "amber", "red"}


def test_plan_submit_approve_return_and_nobody_approves_their_own(client: TestClient) -> None:
    head_vp, secretary = auth("mini", "P02"), auth("mini", "P01")
    staff = auth("mini", "P03")
    assert client.post("/tenants/mini/plans/VP-2026-07/submit", headers=staff).status_code == 403
    assert (
        client.post("/tenants/mini/plans/VP-2026-07/submit", headers=head_vp).json()["status"]
        == "submitted"
    )
    denied = client.post("/tenants/mini/plans/VP-2026-07/approve", headers=head_vp)
    assert denied.status_code == 403
    no_reason = client.post(
        "/tenants/mini/plans/VP-2026-07/return", headers=secretary, json={"reason": " "}
    )
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"][-1] == "reason"
    returned = client.post(
        "/tenants/mini/plans/VP-2026-07/return",
        headers=secretary,
        json={"reason": "Bổ sung chỉ tiêu"},
    ).json()
    assert (returned["status"], returned["return_reason"]) == ("returned", "Bổ sung chỉ tiêu")
    client.post("/tenants/mini/plans/VP-2026-07/submit", headers=head_vp)
    approved = client.post("/tenants/mini/plans/VP-2026-07/approve", headers=secretary)
    assert approved.json()["status"] == "approved"
    again = client.post("/tenants/mini/plans/VP-2026-07/approve", headers=secretary)
    assert again.status_code == 409
    with transaction(engine_for("mini", "planning")) as s:
        types = s.execute(select(outbox.c.type).order_by(outbox.c.seq)).scalars().all()
    assert types[-2:] == [
        "vn.woms.planning.plan.approved.v1",
        "vn.woms.planning.objective.approved.v1",
    ]


def test_progress_is_logged_and_evidence_enforced(client: TestClient) -> None:
    _at(client, "2026-06-15")  # PA-2026 is open until 5 January 2027
    member = auth("mini", "P01")  # head of PA, owner unit of PA-2026
    url = "/tenants/mini/key-results/PA-O1-KR1/progress"
    missing = client.post(url, headers=member, json={"value": "93"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "evidence"
    done = client.post(url, headers=member, json={"value": "93", "evidence": "BC số 12/BC-UB"})
    assert done.status_code == 201
    assert (Decimal(done.json()["old_value"]), Decimal(done.json()["new_value"])) == (
        Decimal(90),
        Decimal(93),
    )
    outsider = auth("mini", "P05")
    assert (
        client.post(url, headers=outsider, json={"value": "1", "evidence": "x"}).status_code == 403
    )
    log = client.get(url, headers=auth("mini", "P03")).json()
    assert [(e["actor"], Decimal(e["new_value"])) for e in log] == [("P01", Decimal(93))]
    with transaction(engine_for("mini", "planning")) as s:
        last = s.execute(select(outbox.c.body).order_by(outbox.c.seq.desc())).scalars().first()
    assert last is not None
    event = json.loads(last)
    assert event["type"] == "vn.woms.planning.keyresult.progressed.v1"
    assert event["tenant"] == "mini" and event["data"]["new"] == "93"


def test_ingestion_is_idempotent_and_limited_to_its_system(client: TestClient) -> None:
    _at(client, "2026-06-15")
    dvc = auth("mini", "system:dvc", "system")
    body = {"records": [{"external_id": "DVC-1", "key_result": "T-O1-KR2", "value": "3.5"}]}
    first = client.post("/tenants/mini/ingest/dvc", headers=dvc, json=body).json()
    second = client.post("/tenants/mini/ingest/dvc", headers=dvc, json=body).json()
    assert (first, second) == ({"accepted": 1, "duplicates": 0}, {"accepted": 0, "duplicates": 1})
    absurd = {"records": [{"external_id": "DVC-9", "key_result": "T-O1-KR2", "value": "1e12"}]}
    refused = client.post("/tenants/mini/ingest/dvc", headers=dvc, json=absurd)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "value"]
    wrong_kr = {"records": [{"external_id": "DVC-2", "key_result": "T-O1-KR1", "value": "7"}]}
    assert client.post("/tenants/mini/ingest/dvc", headers=dvc, json=wrong_kr).status_code == 403
    other = auth("mini", "system:other", "system")
    assert client.post("/tenants/mini/ingest/dvc", headers=other, json=body).status_code == 403
    person = auth("mini", "P01", "tenant_admin")
    assert client.post("/tenants/mini/ingest/dvc", headers=person, json=body).status_code == 403


def test_late_plans_follow_the_calendar(client: TestClient) -> None:
    late = client.get(
        "/tenants/mini/plans/late", params={"today": "2026-07-10"}, headers=auth("mini", "P03")
    ).json()
    assert [(p["plan"], p["days_late"]) for p in late] == [("VP-2026-07", 5)]


def _calls(openapi: dict) -> list[tuple[str, str]]:
    """(method, path) of every tenant endpoint in the OpenAPI document, ids filled in."""
    calls = []
    for path, operations in openapi["paths"].items():
        if not path.startswith("/tenants/{tenant}"):
            continue
        filled = (
            path.replace("{code}", "PA-O1-KR1" if "key-results" in path else "T-2026")
            .replace("{action}", "submit")
            .replace("{system}", "dvc")
        )
        calls += [(method.upper(), filled) for method in operations]
    return calls


def test_no_endpoint_serves_another_tenant(client: TestClient) -> None:
    """Every tenant endpoint: a Hà Nội token on the mini tenant gets 404, no token 401."""
    calls = _calls(client.app.openapi())
    assert len(calls) >= 13
    foreign = auth("hanoi", "P001", "tenant_admin", "staff")
    for method, path in calls:
        url = path.replace("{tenant}", "mini")
        answer = client.request(
            method,
            url,
            headers=foreign,
            json={
                "value": "1",
                "records": [{"external_id": "x", "key_result": "T-O1-KR2", "value": "1"}],
            },
        )
        assert answer.status_code == 404, (method, url, answer.status_code)
        assert client.request(method, url).status_code == 401, (method, url)


def test_excel_export_import_round_trip_and_bad_row(client: TestClient, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    admin = auth("mini", "admin")  # granted tenant_admin in the fixture
    template = client.get("/tenants/mini/org/template.xlsx", headers=auth("mini", "P03"))
    assert template.status_code == 200 and template.content[:2] == b"PK"
    exported = client.get("/tenants/mini/org/export.xlsx", headers=admin)
    assert exported.status_code == 200
    same = client.post("/tenants/mini/org/import", headers=admin, content=exported.content)
    assert same.status_code == 200, same.text
    assert not [k for k, n in same.json().items() if n and not k.endswith(".unchanged")]
    assert (
        client.post(
            "/tenants/mini/org/import", headers=auth("mini", "P03"), content=exported.content
        ).status_code
        == 403
    )

    path = tmp_path / "org.xlsx"
    path.write_bytes(exported.content)
    workbook = load_workbook(path)
    sheet = workbook["Cán bộ"]
    header_row = next(r for r in range(1, 6) if "role" in [c.value for c in sheet[r]])
    role_column = [c.value for c in sheet[header_row]].index("role") + 1
    sheet.cell(row=header_row + 2, column=role_column, value="boss")
    workbook.save(path)
    bad = client.post("/tenants/mini/org/import", headers=admin, content=path.read_bytes())
    assert bad.status_code == 422
    detail = bad.json()["detail"][0]
    assert (detail["row"], detail["column"]) == (header_row + 2, role_column)
    assert "Cán bộ" in detail["loc"][-1]
    person = client.get("/tenants/mini/people/P02", headers=admin).json()
    assert person["memberships"][0]["role"] == "head"  # nothing was imported


def test_policy_data_and_push_down(client: TestClient) -> None:
    h = auth("mini", "P01")
    data = client.get(
        "/tenants/mini/evaluators/policy-data", params={"as_of": "2026-03-01"}, headers=h
    ).json()
    assert data["evaluator_of"]["P03"] == ["P02"]
    assert data["unit_heads"]["PA-VP"] == "P02"
    created = client.post(
        "/tenants/mini/key-results/PA-O1-KR1/push-down",
        headers=h,
        json={"units": ["PA-VP", "PA-UB"], "mode": "mandatory"},
    )
    assert created.status_code == 200, created.text
    assert created.json() == ["PA-VP-PA-O1-KR1", "PA-UB-PA-O1-KR1"]
    again = client.post(
        "/tenants/mini/key-results/PA-O1-KR1/push-down",
        headers=h,
        json={"units": ["PA-VP"], "mode": "mandatory"},
    )
    assert again.json() == []
    not_child = client.post(
        "/tenants/mini/key-results/PA-O1-KR1/push-down",
        headers=h,
        json={"units": ["PA-VHXH"], "mode": "suggested"},
    )
    assert not_child.status_code == 422


def _plan_body(code: str, weights: tuple[int, int] = (60, 40)) -> dict:
    kr = {
        "kind": "kpi",
        "unit_of_measure": "hồ sơ",
        "direction": "higher",
        "baseline": None,
        "target": 40,
        "complete_threshold": 36,
        "exceed_threshold": 40,
        "fail_threshold": 30,
        "data_source": "manual",
        "evidence_required": False,
    }
    return {
        "code": code,
        "owner_unit": "PA-VHXH",
        "period": {"kind": "month", "year": 2026, "number": 8},
        "status": "approved",  # ignored: a new plan is a draft
        "objectives": [
            {
                "code": f"{code}-O1",
                "title": "Giải quyết hồ sơ chính sách",
                "perspective": "citizens",
                "breakthrough": False,
                "weight": 100,
                "progress_source": "key_results",
                "parent_key_result": "PA-O1-KR1",
                "key_results": [
                    {**kr, "code": f"{code}-KR1", "title": "Hồ sơ đúng hạn", "weight": weights[0]},
                    {
                        **kr,
                        "code": f"{code}-KR2",
                        "title": "Hồ sơ trực tuyến",
                        "weight": weights[1],
                    },
                ],
            }
        ],
    }


def test_plans_are_created_and_amended_through_the_api(client: TestClient) -> None:
    head, staff = auth("mini", "P05"), auth("mini", "P03")
    assert (
        client.post("/tenants/mini/plans", headers=staff, json=_plan_body("VH-2026-08")).status_code
        == 403
    )
    bad = client.post("/tenants/mini/plans", headers=head, json=_plan_body("VH-2026-08", (60, 30)))
    assert bad.status_code == 422 and "weight" in bad.text
    created = client.post("/tenants/mini/plans", headers=head, json=_plan_body("VH-2026-08"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["owner_unit"] == "PA-VHXH"
    again = client.post("/tenants/mini/plans", headers=head, json=_plan_body("VH-2026-08"))
    assert again.status_code == 409
    amended_body = _plan_body("VH-2026-08", (50, 50))
    amended_body["objectives"][0]["title"] = "Giải quyết hồ sơ chính sách xã hội"
    amended = client.put("/tenants/mini/plans/VH-2026-08", headers=head, json=amended_body)
    assert amended.status_code == 200, amended.text
    detail = client.get("/tenants/mini/plans/VH-2026-08", headers=head).json()
    assert detail["objectives"][0]["title"] == "Giải quyết hồ sơ chính sách xã hội"
    assert [Decimal(k["weight"]) for k in detail["objectives"][0]["key_results"]] == [50, 50]
    parent = client.get("/tenants/mini/plans/PA-2026", headers=head).json()
    assert parent["code"] == "PA-2026"  # the new objective serves PA-O1-KR1 in the cascade
    assert (
        client.put(
            "/tenants/mini/plans/T-2026",
            headers=auth("mini", "admin"),
            json={**_plan_body("T-2026"), "owner_unit": "TINH"},
        ).status_code
        == 409
    )


# --- issue 15: progress only by those the plan names, in range, on an open period ----------


def _at(client: TestClient, day: str) -> None:
    """Set the planning API's clock (``services.planning.api.today``) to ``day``."""
    from services.planning import api

    client.app.dependency_overrides[api.today] = lambda: date.fromisoformat(day)


def test_progress_only_by_those_the_plan_names_within_range_and_period(
    client: TestClient,
) -> None:
    url = "/tenants/hanoi/key-results/PL-VP-M05-O1-KR1/progress"  # PL-VP's May plan, approved
    _at(client, "2026-06-01")
    staff = auth("hanoi", "P021")  # a member of PL-VP: the plan does not name him
    refused = client.post(url, headers=staff, json={"value": "1e12", "evidence": "x"})
    assert refused.status_code == 403
    assert "only the plan's owner" in refused.json()["detail"]["reasons"][0]
    assert client.post(url, headers=auth("hanoi", "QT-HN"), json={"value": "1"}).status_code == 403
    head, superior = auth("hanoi", "P019"), auth("hanoi", "P003")  # head; Chủ tịch UBND above
    for value, field in (("1e12", "value"), ("-1", "value"), ("30.000001", "value")):
        bad = client.post(url, headers=head, json={"value": value, "evidence": "BC"})
        assert bad.status_code == 422, (value, bad.text)
        assert bad.json()["detail"][0]["loc"] == ["body", field]
    assert client.post(url, headers=head, json={"value": "Infinity"}).status_code == 422
    ok = client.post(url, headers=head, json={"value": "30", "evidence": "BC 15/BC-VP"})
    assert ok.status_code == 201, ok.text  # 10 × the scale (fail threshold 3)
    assert (
        client.post(url, headers=superior, json={"value": "1.2", "evidence": "BC"}).status_code
        == 201
    )
    _at(client, "2026-06-05")  # the publication day of June: still open
    assert (
        client.post(url, headers=head, json={"value": "1.1", "evidence": "BC"}).status_code == 201
    )
    _at(client, "2026-06-06")
    closed = client.post(url, headers=head, json={"value": "1.0", "evidence": "BC"})
    assert closed.status_code == 409
    assert closed.json()["detail"][0]["loc"] == ["body", "period"]
    log = client.get(url, headers=staff).json()
    assert [Decimal(e["new_value"]) for e in log] == [Decimal(30), Decimal("1.2"), Decimal("1.1")]


def test_policy_data_names_deputies_fields_positions_and_delegations(client: TestClient) -> None:
    h = auth("hanoi", "P021")
    url = "/tenants/hanoi/evaluators/policy-data"
    june = client.get(url, params={"as_of": "2026-06-15"}, headers=h).json()
    assert june["in_charge_of"]["P020"] == ["VP-VT", "VP-KT"]
    assert june["in_charge_of"]["P006"] == ["PL-KTHTDT", "PL-PVHCC"]
    assert june["positions_of"]["P022"] == ["VP-VT"]
    assert june["delegations"] == {}
    assert june["decider_of"]["P054"] == "P049"  # 001 §II.3.a, the MTTQ Chairman
    july = client.get(url, params={"as_of": "2026-07-20"}, headers=h).json()
    assert july["delegations"] == {"PL-VHXH": ["P027"]}  # the tenant file's delegation
    assert authorities_over(july, "P030", "PL-VHXH")[:2] == ["P026", "P003"]
    assert "P027" in authorities_over(july, "P030", "PL-VHXH")  # the delegate
    assert "P027" not in authorities_over(june, "P030", "PL-VHXH")  # VHXH-VH: not his field
    assert "P027" in authorities_over(june, "P028", "PL-VHXH")  # VHXH-LD: his field


def test_delegations_recorded_listed_and_ended(client: TestClient) -> None:
    _at(client, "2026-08-10")
    head, deputy, admin = auth("hanoi", "P031"), auth("hanoi", "P032"), auth("hanoi", "QT-HN")
    url = "/tenants/hanoi/delegations"
    body = {
        "unit": "PL-KTHTDT",
        "delegate": "P034",
        "start": "2026-08-17",
        "end": "2026-08-28",
        "basis": "Trưởng phòng nghỉ phép năm (Quyết định 20/QĐ-UBND)",
    }
    refused = client.post(url, headers=deputy, json=body)
    assert refused.status_code == 403
    assert "only the unit's head" in refused.json()["detail"]["reasons"][0]
    for change, field in (
        ({"end": "2026-08-01"}, "end"),
        ({"delegate": "P999"}, "delegate"),
        ({"delegate": "P031"}, "delegate"),
        ({"basis": "   "}, "basis"),
    ):
        bad = client.post(url, headers=head, json={**body, **change})
        assert bad.status_code == 422, (change, bad.text)
        assert bad.json()["detail"][0]["loc"][-1] == field
    far = client.post(url, headers=head, json={**body, "end": "9999-12-31"})
    assert far.status_code == 422 and far.json()["detail"][0]["loc"] == ["body", "end"]
    created = client.post(url, headers=head, json=body)
    assert created.status_code == 201, created.text
    row = created.json()
    assert (row["delegated_by"], row["recorded_by"], row["ended_on"]) == ("P031", "P031", None)
    assert client.post(url, headers=head, json=body).status_code == 409  # overlaps
    by_admin = client.post(
        url,
        headers=admin,
        json={**body, "delegate": "P033", "start": "2026-09-01", "end": "2026-09-02"},
    )
    assert by_admin.status_code == 201 and by_admin.json()["recorded_by"] == "QT-HN"
    listed = client.get(url, params={"unit": "PL-KTHTDT"}, headers=deputy).json()
    assert [d["delegate"] for d in listed["items"]] == ["P033", "P034"] and listed["total"] == 2
    assert client.get(url, params={"unit": "PL-VHXH"}, headers=deputy).json()["total"] == 1
    data = "/tenants/hanoi/evaluators/policy-data"
    during = client.get(data, params={"as_of": "2026-08-20"}, headers=deputy).json()
    assert during["delegations"] == {"PL-KTHTDT": ["P034"]}

    end = f"{url}/{row['id']}/end"
    assert client.post(end, headers=deputy, json={}).status_code == 403
    assert client.post(end, headers=head, json={"on": "2026-08-01"}).status_code == 422  # past
    assert client.post(end, headers=head, json={"on": "2026-08-29"}).status_code == 422  # later
    ended = client.post(end, headers=head, json={"on": "2026-08-20", "reason": "Đi làm sớm"})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["ended_on"], ended.json()["ended_by"]) == ("2026-08-20", "P031")
    assert client.post(end, headers=admin, json={}).status_code == 409  # already ended
    after = client.get(data, params={"as_of": "2026-08-21"}, headers=deputy).json()
    assert after["delegations"] == {}
    again = {**body, "start": "2026-08-21", "basis": "Trưởng phòng nghỉ tiếp"}
    assert client.post(url, headers=head, json=again).status_code == 201  # after the early end
    assert client.post(url, headers=head, json={**again, "start": "2026-08-20"}).status_code == 409
    assert client.post(f"{url}/99999/end", headers=head, json={}).status_code == 404
    with transaction(engine_for("hanoi", "planning")) as s:
        events = [
            json.loads(b)["type"]
            for b in s.execute(select(outbox.c.body).order_by(outbox.c.seq)).scalars()
        ]
    assert events.count("vn.woms.planning.delegation.created.v1") == 4  # tenant file + 3
    assert events.count("vn.woms.planning.delegation.ended.v1") == 1


def test_the_documents_planning_builds_match_its_input_schema(env: str) -> None:
    """Every resource planning builds (access.plan_resource / owner_resource /
    delegation_resource / end_resource, the ingest system, reads) fits
    ``policies/woms/planning/input.schema.json``; a document outside it is refused."""
    from services.common.auth import Principal
    from services.common.authorizer import Authorizer, PolicyInputInvalid, check_input
    from services.common.policy import PolicyEngine
    from services.planning import access as planning_access
    from services.planning import repository as planning_repo
    from services.planning.models import Delegation, KeyResult, Plan

    engine = PolicyEngine()
    asker = Authorizer(
        "planning", "hanoi", Principal("hanoi", "P019", frozenset({"staff"})), lambda: engine
    )
    with transaction(engine_for("hanoi", "planning")) as s:
        plans = planning_repo.all_rows(s, Plan)
        kr = planning_repo.all_rows(s, KeyResult)[0]
        (delegation,) = planning_repo.all_rows(s, Delegation)
        documents = [
            *(asker.document("plan.edit", planning_access.plan_resource(s, p)) for p in plans),
            asker.document("progress.record", planning_access.plan_resource(s, kr.objective.plan)),
            asker.document("progress.ingest", {"system": "dvc"}),
            asker.document(
                "delegation.create",
                planning_access.delegation_resource(s, "PL-VP", date(2026, 6, 1)),
            ),
            asker.document(
                "delegation.create", planning_access.delegation_resource(s, "HN", date(2026, 6, 1))
            ),
            asker.document(
                "delegation.end", planning_access.end_resource(s, delegation, date(2026, 7, 20))
            ),
            asker.document("unit.read"),
        ]
        owners = {d["resource"]["owner_person"] for d in documents[: len(plans)]}
    assert len(plans) >= 4 and None in owners and len(owners) > 1  # unit and personal plans
    for document in documents:
        check_input("planning", document)
    for bad in (
        {**documents[0], "action": "plan.delete"},
        {**documents[0], "resource": {**documents[0]["resource"], "extra": 1}},
        {**documents[-2], "resource": {"unit": "PL-VP"}},  # no unit_head
    ):
        with pytest.raises(PolicyInputInvalid):
            check_input("planning", bad)
