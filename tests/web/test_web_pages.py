"""The dashboard and the other pages in a real browser, on the whole stack with the reporting
read models fed through the real Tansu broker (:func:`tests.web.web_stack.feed_reporting`):
the office's June is decided and published through the evaluation API, then a head opens the
home page (task figures, cycle, grades, trend), creates a task whose "6 rõ" fields are
incomplete (every missing field marked, what was typed kept, the draft completed rather than
duplicated), and follows the unit summary with its Excel and PDF exports, the person card, the
goal tree with its spider chart; a central body compares the units.

Expected figures are counted here from what the stack created (``web_stack``), not read from
the reporting code."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.ward_stack import TENANT, auth
from tests.web.web_stack import HEAD, OTHERS, PERIOD, STAFF, UNIT, feed_reporting, web_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots go to a temporary folder; ``WOMS_SCREENSHOTS=docs/screenshots`` refreshes the
#: committed ones (a plain test run leaves the checkout unchanged).
SHOTS = Path(os.environ.get("WOMS_SCREENSHOTS") or Path(tempfile.gettempdir()) / "woms-screenshots")
WORKED_EXAMPLE_TASKS, WORKED_EXAMPLE_APPROVED = 12, 10  # 002's Bảng điểm (ward_stack.Tasks)


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
    """Sign in as ``person`` (a person or an account): no role is chosen, planning grants them."""
    page.goto(f"{base}/login")
    expect(page.locator('input[name="roles"]')).to_have_count(0)
    page.select_option("#person", person)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".who")).to_contain_text(person)


def _publish_the_office(evaluation_url: str) -> None:
    """P021 self-assesses and is reviewed (30 points); P019 decides the office and publishes."""
    with httpx.Client(base_url=f"{evaluation_url}/tenants/{TENANT}", timeout=30) as api:
        month = f"/evaluations/{STAFF}/{PERIOD}"
        for step, who in (("self-assessment", STAFF), ("review", HEAD)):
            answer = api.post(f"{month}/{step}", headers=auth(who), json={"general": "30"})
            assert answer.status_code == 200, answer.text
        decided = api.post(f"/units/{UNIT}/decision/{PERIOD}", headers=auth(HEAD), json={})
        assert decided.status_code == 200, decided.text
        for person in (STAFF, *OTHERS):
            published = api.post(f"/evaluations/{person}/{PERIOD}/publication", headers=auth(HEAD))
            assert published.status_code == 200, published.text


@pytest.mark.timeout(900)  # a real month / browser session; slow on a busy machine
def test_dashboard_tasks_reports_in_the_browser(
    browser: Browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
) -> None:
    with web_stack(tmp_path, monkeypatch, temporal_address) as stack:
        _publish_the_office(stack.evaluation)
        assert feed_reporting(kafka_bootstrap) > 0
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        base = stack.web
        total = WORKED_EXAMPLE_TASKS + sum(len(items) for items in OTHERS.values())
        done = WORKED_EXAMPLE_APPROVED + sum(len(items) for items in OTHERS.values())

        # --- no page without a valid token; an unknown person cannot log in ----------------
        with httpx.Client(base_url=base, timeout=30) as web:
            for cookies in ({}, {"woms_token": "not-a-token"}):
                web.cookies.clear()
                web.cookies.update(cookies)
                answer = web.get(f"/evaluations/{STAFF}/{PERIOD}")
                assert answer.status_code == 303, answer.text
                assert answer.headers["location"].startswith("/login")
            refused = web.post("/login", data={"person": "P999"})
            assert refused.status_code == 422 and "woms_token" not in refused.cookies

        # --- the head's dashboard ------------------------------------------------------------
        log_in(page, base, HEAD)
        kpis = page.locator("#kpis")
        expect(kpis.locator(".kpi").nth(0)).to_contain_text(str(total))
        expect(kpis.locator(".kpi").nth(1)).to_contain_text(str(done))
        expect(page.locator(".dashboard")).to_contain_text("hạn 25/06/2026")
        expect(page.locator(".dashboard svg.pygal-chart").first).to_be_visible()
        shot(page, "02-trang-chu")

        # --- a task with incomplete "6 rõ" fields, then completed ------------------------------
        page.get_by_role("link", name="Công việc", exact=True).first.click()
        page.get_by_role("link", name="+ Giao việc").click()
        page.fill("#name", "Báo cáo sơ kết 6 tháng")
        page.select_option("#lead_person", "P022")
        page.get_by_role("button", name="Giao việc").click()
        expect(page.locator(".error-box").first).to_contain_text("6 rõ")
        for field in ("basis", "due_date", "output_product", "quality_criteria"):
            expect(page.locator(f'.error[data-field="{field}"]')).to_contain_text("Bắt buộc")
        expect(page.locator("#name")).to_have_value("Báo cáo sơ kết 6 tháng")
        expect(page.locator("#lead_person")).to_have_value("P022")
        draft = page.locator('input[name="draft"]').input_value()
        assert draft, "the refused assignment keeps its draft"
        shot(page, "08-giao-viec-loi")
        page.fill("#basis", "Kế hoạch 45/KH-UBND")
        page.fill("#start_date", "2026-06-15")
        page.fill("#due_date", "2026-06-26")
        page.fill("#output_product", "Báo cáo trình Chủ tịch")
        page.fill("#quality_criteria", "Đúng thể thức, số liệu đầy đủ")
        page.select_option("#catalog_item", "VP-BC-01")
        page.fill("#quantity", "1")
        page.get_by_role("button", name="Giao việc").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã giao việc")
        with httpx.Client(base_url=stack.tasks, timeout=30) as api:
            listed = api.get(
                f"/tenants/{TENANT}/tasks",
                params={"person": "P022", "period": PERIOD},
                headers=auth(HEAD),
            ).json()
        named = [t for t in listed["items"] if t["name"] == "Báo cáo sơ kết 6 tháng"]
        assert [(t["code"], t["status"]) for t in named] == [(draft, "assigned")]

        # --- unit summary and its exports ----------------------------------------------------
        page.goto(f"{base}/?period={PERIOD}")
        page.get_by_role("link", name=f"Tổng hợp đơn vị {UNIT}").click()
        expect(page.locator("h1")).to_contain_text(f"Tổng hợp đơn vị {UNIT}")
        shot(page, "09-tong-hop-don-vi")
        with page.expect_download() as excel:
            page.get_by_role("link", name="Xuất Excel").click()
        assert Path(excel.value.path()).read_bytes()[:2] == b"PK"
        with page.expect_download() as pdf:
            page.get_by_role("link", name="Xuất PDF").click()
        assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"

        # --- person card, goal tree ----------------------------------------------------------
        page.get_by_role("link", name="Lê Văn Nam").click()
        expect(page.locator("h1")).to_contain_text("Lê Văn Nam")
        expect(page.locator("tfoot")).to_contain_text(str(WORKED_EXAMPLE_TASKS))
        shot(page, "10-phieu-ca-nhan")
        with page.expect_download() as card:
            page.get_by_role("link", name="Xuất Excel").click()
        assert Path(card.value.path()).read_bytes()[:2] == b"PK"
        page.get_by_role("link", name="Mục tiêu").click()
        expect(page.locator("h1")).to_contain_text(f"Cây mục tiêu đơn vị {UNIT}")
        page.get_by_role("button", name="Đăng xuất").click()

        # --- the assignee submits with evidence (an executable is refused); the head approves -
        log_in(page, base, "P022")
        page.get_by_role("link", name="Công việc", exact=True).first.click()
        row = page.locator(f'tr[data-task="{draft}"]')
        row.get_by_role("button", name="Bắt đầu").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã bắt đầu")
        program = tmp_path / "chay.exe"
        program.write_bytes(b"MZ" + b"\x00" * 200)
        row.locator('input[type="file"]').set_input_files(str(program))
        row.get_by_role("button", name="Gửi kết quả").click()
        refusal = page.locator(f'.error[data-field="task-{draft}"]')
        expect(refusal).to_contain_text("Không chấp nhận tệp thực thi")
        report = tmp_path / "bao-cao.pdf"
        report.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
        row = page.locator(f'tr[data-task="{draft}"]')
        row.locator('input[type="file"]').set_input_files(str(report))
        row.get_by_role("button", name="Gửi kết quả").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã gửi kết quả")
        page.get_by_role("button", name="Đăng xuất").click()
        log_in(page, base, HEAD)
        page.get_by_role("link", name="Công việc", exact=True).first.click()
        waiting = page.locator(f'tr[data-task="{draft}"]')
        expect(waiting).to_contain_text("Trần Thị Hoa")
        shot(page, "07-cong-viec")
        waiting.get_by_role("button", name="Duyệt").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã duyệt")
        with httpx.Client(base_url=stack.tasks, timeout=30) as api:
            approved = api.get(f"/tenants/{TENANT}/tasks/{draft}", headers=auth(HEAD)).json()
        assert approved["status"] == "approved"
        page.get_by_role("button", name="Đăng xuất").click()

        # --- a staff member proposes a task for themselves; only the head gives it ("giao" is
        # an act of authority, 000 §V.2): it counts once accepted --------------------------------
        log_in(page, base, "P022")
        page.get_by_role("link", name="Công việc", exact=True).first.click()
        page.get_by_role("link", name="+ Giao việc").click()
        page.fill("#name", "Đề xuất số hóa hồ sơ lưu trữ")
        page.select_option("#lead_person", "P022")
        page.fill("#basis", "Kế hoạch 45/KH-UBND")
        page.fill("#start_date", "2026-06-15")
        page.fill("#due_date", "2026-06-26")
        page.fill("#output_product", "Danh mục hồ sơ đã số hóa")
        page.fill("#quality_criteria", "Đầy đủ, đúng quy định lưu trữ")
        page.select_option("#catalog_item", "VP-BC-01")
        page.fill("#quantity", "1")
        page.get_by_role("button", name="Giao việc").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã gửi đề xuất")
        with httpx.Client(base_url=stack.tasks, timeout=30) as api:
            mine = api.get(
                f"/tenants/{TENANT}/tasks",
                params={"person": "P022", "period": PERIOD, "status": "proposed"},
                headers=auth("P022"),
            ).json()["items"]
        assert [t["name"] for t in mine] == ["Đề xuất số hóa hồ sơ lưu trữ"]
        proposal = mine[0]["code"]
        page.get_by_role("button", name="Đăng xuất").click()
        log_in(page, base, HEAD)
        page.get_by_role("link", name="Công việc", exact=True).first.click()
        waiting = page.locator(f'tr[data-task="{proposal}"]')
        expect(waiting).to_contain_text("Đề xuất, chờ giao")
        waiting.get_by_role("button", name="Chấp nhận giao").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã chấp nhận đề xuất")
        with httpx.Client(base_url=stack.tasks, timeout=30) as api:
            given = api.get(f"/tenants/{TENANT}/tasks/{proposal}", headers=auth(HEAD)).json()
        assert (given["status"], given["assigner"], given["proposed_by"]) == (
            "assigned",
            HEAD,
            "P022",
        )
        page.get_by_role("button", name="Đăng xuất").click()

        # --- a central body compares the units -----------------------------------------------
        log_in(page, base, "BTC-TW")  # granted central in hanoi's tenant file
        page.get_by_role("link", name="So sánh đơn vị").click()
        expect(page.locator("#ranking")).to_contain_text(UNIT)
        shot(page, "12-so-sanh-don-vi")
        page.get_by_role("link", name="Mục tiêu").click()  # the whole tenant's tree
        plans = page.locator("section.plan")
        expect(plans.first).to_be_visible()
        expect(plans.first.locator("svg.pygal-chart")).to_be_visible()  # the spider chart
        expect(page.locator(".tag").first).to_contain_text("Đột phá")
        shot(page, "11-cay-muc-tieu")
        page.close()
