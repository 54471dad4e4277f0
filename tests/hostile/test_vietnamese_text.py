"""Vietnamese text at the boundary (issue 9, "Hostile input"; ``services/common/text.py``):
names with diacritics typed in NFC or NFD are one name — searched, stored and compared as
NFC — and control characters are refused with 422 naming the field; unattached evidence
uploads are capped per person."""

from __future__ import annotations

import unicodedata

import pytest
from fastapi.testclient import TestClient

from services.common.audit import ACTOR_KEY, TENANT_KEY
from services.common.db import engine_for, transaction
from services.common.text import clean_text, nfc, same_text
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from services.tasks import service as tasks_service
from services.tasks.evidence import EvidenceRejected
from tests.hostile.schemathesis_run import bearer

pytestmark = pytest.mark.integration

NAME = "Nguyễn Văn Hùng"  # P001 of data/tenants/hanoi/tenant.yaml
NFD = unicodedata.normalize("NFD", NAME)


def test_nfc_and_nfd_are_the_same_text() -> None:
    assert NFD != NAME and len(NFD) > len(NAME)  # the two forms differ as code points
    assert nfc(NFD) == NAME and clean_text(NFD) == NAME
    assert same_text(NFD, NAME)
    assert same_text(unicodedata.normalize("NFD", "ĐỖ VĂN THẮNG"), "Đỗ Văn Thắng", casefold=True)
    assert not same_text("Hùng", "Hưng")
    assert clean_text("Dòng 1\nDòng 2\tcột") == "Dòng 1\nDòng 2\tcột"
    for bad in ("a\x00b", "a\x07", "\x1b[31m", "x\ufffe", "\x85"):
        with pytest.raises(ValueError, match="U\\+"):
            clean_text(bad)


def test_people_and_units_are_found_by_a_name_typed_in_nfd(hanoi: dict[str, str]) -> None:
    client = TestClient(planning_app())
    h = bearer("P002")
    for q in (NAME, NFD, unicodedata.normalize("NFD", "Văn Hùng")):
        found = client.get("/tenants/hanoi/people", params={"q": q}, headers=h)
        assert found.status_code == 200, found.text
        assert [p["code"] for p in found.json()["items"]] == ["P001"], q
    unit_nfd = unicodedata.normalize("NFD", "Đảng ủy")
    units = client.get("/tenants/hanoi/units", params={"q": unit_nfd}, headers=h).json()
    assert "PL-DU" in {u["code"] for u in units["items"]}
    bad = client.get("/tenants/hanoi/people", params={"q": "Hùng\x00"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "q"]


def test_task_texts_are_stored_in_nfc(hanoi: dict[str, str]) -> None:
    client = TestClient(tasks_api.create_app())
    h = bearer("P001")
    title = "Báo cáo tổng kết công tác Đảng năm 2026"
    created = client.post(
        "/tenants/hanoi/tasks",
        json={"name": unicodedata.normalize("NFD", title), "basis": NFD},
        headers=h,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == title and body["basis"] == NAME
    again = client.get(f"/tenants/hanoi/tasks/{body['code']}", headers=h).json()
    assert again["name"] == title
    refused = client.post("/tenants/hanoi/tasks", json={"name": "Bell\x07"}, headers=h)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "name"]


def test_unattached_evidence_uploads_are_capped_per_person(hanoi: dict[str, str]) -> None:
    rules = tasks_service.TenantRules(evidence_max_pending=2)
    store = tasks_api.evidence_store("hanoi")
    with transaction(engine_for("hanoi", "tasks")) as s:
        s.info.update({TENANT_KEY: "hanoi", ACTOR_KEY: "P009"})  # as a request's session
        for n in range(2):
            tasks_service.store_evidence(s, store, rules, "P009", f"ghi chú {n}".encode(), "a.txt")
        with pytest.raises(EvidenceRejected, match="at most 2"):
            tasks_service.store_evidence(s, store, rules, "P009", b"one more", "b.txt")
        # another person's budget is their own
        tasks_service.store_evidence(s, store, rules, "P010", b"mine", "c.txt")
    assert tasks_service.TenantRules.from_config({}, 20).evidence_max_pending == 50
    assert (
        tasks_service.TenantRules.from_config(
            {"tasks": {"evidence_max_pending": 5}}, 20
        ).evidence_max_pending
        == 5
    )
