"""The task page and the unit's work in a real browser (issue 17, part 2), on the whole stack
(:mod:`tests.web.web_stack`): P022 submits a task of the office with a PDF and a PNG as
evidence (through the tasks API, as the staff page would); the head P019 opens "Công việc
của đơn vị" on /tasks, filters it by person and state, opens the task: every "6 rõ" field by
name with dd/mm/yyyy dates and decimal-comma points, the evidence previewed inline (PDF in an
<iframe>, the image in an <img>) and downloaded through the web app with the tasks API's
headers (attachment, nosniff), then approves it there. P022 sees the task without "Duyệt";
P032 of another unit is refused with a Vietnamese page (403).

Expected values come from what the test created and from planning's API (names), not from
the web code."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfWriter

from tests.integration.ward_stack import TENANT, auth
from tests.web.web_stack import HEAD, PERIOD, UNIT, web_stack

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("WOMS_SCREENSHOTS") or Path(tempfile.gettempdir()) / "woms-screenshots")
LEAD, OUTSIDER = "P022", "P032"  # staff of PL-VP; a person of PL-KTHTDT


def _pdf() -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


PDF = _pdf()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: make test installs it"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, person: str) -> None:
    page.goto(f"{base}/login")
    page.select_option("#person", person)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".who")).to_contain_text(person)


def _submitted_task(
    tasks_url: str, name: str = "Báo cáo kết quả cải cách hành chính quý II"
) -> tuple[str, dict[str, Any], list[int]]:
    """A task of LEAD (VP-VB-01 × 1,5) assigned by the head, started and submitted with a PDF
    and a PNG; returns its code, its fields and the evidence ids."""
    body = {
        "name": name,
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "focus",
        "lead_unit": UNIT,
        "lead_person": LEAD,
        "start_date": "2026-06-02",
        "due_date": "2026-06-24",
        "output_product": "Báo cáo trình Chủ tịch UBND",
        "quality_criteria": "Đủ số liệu 12 tổ dân phố",
        "catalog_item": "VP-VB-01",
        "quantity": "1.5",
    }
    with httpx.Client(base_url=f"{tasks_url}/tenants/{TENANT}", timeout=30) as api:
        created = api.post("/tasks", headers=auth(HEAD), json=body)
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        assert api.post(f"/tasks/{code}/assign", headers=auth(HEAD), json={}).status_code == 200
        assert api.post(f"/tasks/{code}/start", headers=auth(LEAD), json={}).status_code == 200
        ids = []
        for name, data in (("bao-cao.pdf", PDF), ("bang-so-lieu.png", _png())):
            stored = api.post(
                "/evidence", params={"filename": name}, headers=auth(LEAD), content=data
            )
            assert stored.status_code == 201, stored.text
            ids.append(stored.json()["id"])
        moved = api.post(f"/tasks/{code}/submit", headers=auth(LEAD), json={"evidence_ids": ids})
        assert moved.status_code == 200, moved.text
        return code, moved.json(), ids


def _names(planning_url: str) -> tuple[dict[str, str], dict[str, str], str]:
    """People's and units' names, and the name of catalog item VP-VB-01, from planning."""
    with httpx.Client(base_url=f"{planning_url}/tenants/{TENANT}", timeout=30) as api:
        people = api.get("/people", params={"limit": 200}, headers=auth(HEAD)).json()["items"]
        units = api.get("/units", params={"limit": 200}, headers=auth(HEAD)).json()["items"]
        catalog = api.get(
            "/catalog", params={"as_of": "2026-06-30", "unit": UNIT}, headers=auth(HEAD)
        ).json()
    item = next(c["name"] for c in catalog if c["code"] == "VP-VB-01")
    return {p["code"]: p["name"] for p in people}, {u["code"]: u["name"] for u in units}, item


@pytest.mark.timeout(900)
def test_head_opens_filters_and_approves_with_the_evidence_in_view(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str
) -> None:
    with web_stack(tmp_path, monkeypatch, temporal_address) as stack:
        code, task, (pdf_id, png_id) = _submitted_task(stack.tasks)
        people, units, item_name = _names(stack.planning)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        failures: list[str] = []
        page.on("response", lambda r: failures.append(r.url) if r.status >= 500 else None)

        other, _, _ = _submitted_task(stack.tasks, "Tổng hợp ý kiến cử tri")

        # the lead sees the submitted task and its evidence, never a decision button
        log_in(page, stack.web, LEAD)
        page.goto(f"{stack.web}/tasks?period={PERIOD}")
        expect(page.locator("#unit-work")).to_have_count(0)  # P022 heads no unit
        page.locator(f'tr[data-task="{code}"]').get_by_role("link", name=task["name"]).click()
        expect(page).to_have_url(f"{stack.web}/tasks/{code}")
        expect(page.locator("[data-status]")).to_have_text("Chờ duyệt")
        expect(page.locator(f'#evidence img[src="/evidence/{png_id}/inline"]')).to_be_visible()
        expect(page.get_by_role("button", name="Duyệt")).to_have_count(0)
        expect(page.get_by_role("button", name="Trả lại")).to_have_count(0)
        assert context.request.get(f"{stack.web}/evidence/{pdf_id}").status == 200
        shot(page, "task-page-staff")
        page.get_by_role("button", name="Đăng xuất").click()

        # the head's list covers the unit's work, filtered by person and state
        log_in(page, stack.web, HEAD)
        page.goto(f"{stack.web}/tasks?period={PERIOD}")
        unit_work = page.locator("#unit-work")
        expect(unit_work).to_contain_text(f"Công việc của đơn vị: {units[UNIT]}")
        every = unit_work.locator("tbody tr").count()
        assert every == 17  # P021's 12, P022's 2 and the 2 submitted here, P023's 1
        unit_work.locator("#filter-person").select_option(LEAD)
        unit_work.locator("#filter-status").select_option("submitted")
        unit_work.get_by_role("button", name="Lọc").click()
        expect(page).to_have_url(
            f"{stack.web}/tasks?period={PERIOD}&group=&status=submitted&person={LEAD}"
        )
        rows = page.locator("#unit-work tbody tr")
        expect(rows).to_have_count(2)
        rows = page.locator(f'#unit-work tr[data-unit-task="{code}"]')
        expect(rows.first).to_contain_text(people[LEAD])
        expect(rows.first).to_contain_text("Chờ duyệt")
        expect(rows.first).to_contain_text("24/06/2026")
        shot(page, "tasks-unit-filtered")
        # another state of the same person: none submitted besides it, P022's approved ones
        page.goto(f"{stack.web}/tasks?period={PERIOD}&person={LEAD}&status=approved")
        expect(page.locator("#unit-work tbody tr")).to_have_count(2)
        page.goto(f"{stack.web}/tasks?period={PERIOD}&person={LEAD}&status=submitted")

        # the task page: every "6 rõ" field, by name, dd/mm/yyyy, decimal comma
        rows.first.get_by_role("link", name=task["name"]).click()
        expect(page).to_have_url(f"{stack.web}/tasks/{code}")
        expect(page.locator("h1")).to_have_text(task["name"])
        fields = {
            "basis": "Kế hoạch 45/KH-UBND",
            "group": "Nhiệm vụ trọng tâm",
            "lead_unit": units[UNIT],
            "lead_person": people[LEAD],
            "start_date": "02/06/2026",
            "due_date": "24/06/2026",
            "output_product": "Báo cáo trình Chủ tịch UBND",
            "quality_criteria": "Đủ số liệu 12 tổ dân phố",
            "catalog_item": item_name,
        }
        for name, text in fields.items():
            expect(page.locator(f'td[data-field="{name}"]')).to_have_text(text)
        points = format(Decimal(str(task["points"])).normalize(), "f").replace(".", ",")
        expect(page.locator('td[data-field="points"]')).to_contain_text("1,5 × ")
        expect(page.locator('td[data-field="points"] strong')).to_have_text(points)
        expect(page.locator("[data-status]")).to_have_text("Chờ duyệt")

        # the evidence in view: previews, and downloads through the web app
        evidence = page.locator("#evidence")
        expect(evidence.locator(f'iframe[src="/evidence/{pdf_id}/inline"]')).to_have_count(1)
        image = evidence.locator(f'img[src="/evidence/{png_id}/inline"]')
        expect(image).to_be_visible()
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 40
        download = context.request.get(f"{stack.web}/evidence/{pdf_id}")
        assert download.status == 200 and download.body() == PDF
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["content-type"].startswith("application/pdf")
        inline = context.request.get(f"{stack.web}/evidence/{png_id}/inline")
        assert inline.status == 200 and inline.body() == _png()
        assert inline.headers["content-disposition"].startswith("inline")
        assert inline.headers["x-content-type-options"] == "nosniff"
        assert inline.headers["content-type"] == "image/png"
        expect(page.locator("table.history")).to_contain_text("Gửi kết quả, minh chứng")
        expect(page.locator("table.history")).to_contain_text(people[LEAD])
        shot(page, "task-page-submitted")

        # approve it there
        page.locator("#decision").get_by_role("button", name="Duyệt").click()
        expect(page).to_have_url(f"{stack.web}/tasks/{code}?ok=approve")
        expect(page.locator(".alert.ok")).to_have_text("Đã duyệt kết quả.")
        expect(page.locator("[data-status]")).to_have_text("Đã duyệt")
        expect(page.get_by_role("button", name="Duyệt")).to_have_count(0)
        expect(page.locator('tr[data-review="approved"]')).to_contain_text(people[HEAD])
        expect(page.locator("table.history")).to_contain_text("Duyệt kết quả")
        shot(page, "task-page-approved")
        with httpx.Client(base_url=stack.tasks, timeout=30) as api:
            stored = api.get(f"/tenants/{TENANT}/tasks/{code}", headers=auth(HEAD)).json()
        assert stored["status"] == "approved"

        # a return on the page, with its reason
        page.goto(f"{stack.web}/tasks/{other}")
        decision = page.locator("#decision")
        decision.get_by_label("Lý do trả lại").fill("Thiếu số liệu tổ dân phố số 7")
        decision.get_by_role("button", name="Trả lại").click()
        expect(page).to_have_url(f"{stack.web}/tasks/{other}?ok=return")
        expect(page.locator("[data-status]")).to_have_text("Bị trả lại")
        expect(page.locator('tr[data-review="returned"]')).to_contain_text(
            "Thiếu số liệu tổ dân phố số 7"
        )
        expect(page.locator("table.history")).to_contain_text("Trả lại")
        page.get_by_role("button", name="Đăng xuất").click()

        # a person of another unit: a Vietnamese refusal page, and no file
        log_in(page, stack.web, OUTSIDER)
        refused = page.goto(f"{stack.web}/tasks/{code}")
        assert refused is not None and refused.status == 403
        expect(page.locator(".error-page")).to_contain_text("không có quyền")
        expect(page.locator("h1")).not_to_contain_text(task["name"])
        shot(page, "task-page-refused")
        assert context.request.get(f"{stack.web}/evidence/{pdf_id}").status == 403
        assert failures == []
        context.close()
