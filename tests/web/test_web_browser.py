"""The evaluation month in a real browser (Debian's Chromium, headless, driven by Playwright;
no browser is downloaded): a staff member self-assesses on the Mẫu số 03 form, the manager
reviews, the authority decides the unit with the excellence quota and publishes, the staff
member sees the published grade and appeals, the level above answers. A form error is shown
in Vietnamese next to the field and keeps everything typed. Screenshots of the main pages go
to ``docs/screenshots/``.

The whole stack is real (:mod:`tests.web.web_stack`): the web app reaches planning, tasks and
evaluation over HTTP with the signed-in person's token.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web.web_stack import ABOVE, HEAD, OTHERS, PERIOD, STAFF, UNIT, web_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots go to a temporary folder; ``WOMS_SCREENSHOTS=docs/screenshots`` refreshes the
#: committed ones (a plain test run leaves the checkout unchanged).
SHOTS = Path(os.environ.get("WOMS_SCREENSHOTS") or Path(tempfile.gettempdir()) / "woms-screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (``make test`` installs it when missing; absent → failure)."""
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


def log_in(page: Page, base: str, person: str, *, save: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.select_option("#person", person)
    if save:
        shot(page, save)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".who")).to_contain_text(person)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(f"{page.url.split('/login')[0].rstrip('/')}/login")


def row_inputs(page: Page) -> list[tuple[str, Decimal]]:
    """``(input id, maximum)`` of every row of the form on the page."""
    inputs = page.locator("input.points")
    return [
        (
            str(inputs.nth(i).get_attribute("id")),
            Decimal(str(inputs.nth(i).get_attribute("data-max"))),
        )
        for i in range(inputs.count())
    ]


@pytest.mark.timeout(900)  # a real month / browser session; slow on a busy machine
def test_month_in_the_browser(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str
) -> None:
    with web_stack(tmp_path, monkeypatch, temporal_address) as stack:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        base = stack.web

        # --- the staff member self-assesses; a wrong row keeps all that was typed ------------
        log_in(page, base, STAFF, save="01-dang-nhap")
        expect(page.locator("body")).to_contain_text("Chờ tự đánh giá")
        expect(page.locator("body")).to_contain_text("83,9")  # the system's suggestion
        page.get_by_role("link", name="Tự đánh giá").click()
        expect(page.locator("h1")).to_contain_text("Tự đánh giá — tháng 06/2026")
        expect(page.locator("form#step-form")).to_contain_text("Mẫu số 03")
        rows = row_inputs(page)
        assert len(rows) >= 5 and sum(m for _, m in rows) == 30
        own = {field: maximum for field, maximum in rows}
        first, second = rows[0][0], rows[1][0]
        own[second] = rows[1][1] - Decimal("0.5")
        for field, points in own.items():
            page.fill(f"#{_css(field)}", str(points))
        typed_wrong = str(rows[0][1] + 1)
        page.fill(f"#{_css(first)}", typed_wrong)
        page.get_by_role("button", name="Gửi tự đánh giá").click()
        error = page.locator(f'.error[data-field="rows.{first.removeprefix("row-")}"]')
        expect(error).to_contain_text("ngoài khoảng 0–")
        expect(page.locator(".error-box")).to_contain_text("Vui lòng kiểm tra lại")
        expect(page.locator(f"#{_css(first)}")).to_have_value(typed_wrong)  # kept
        for field, points in list(own.items())[1:]:
            expect(page.locator(f"#{_css(field)}")).to_have_value(str(points))  # kept
        shot(page, "03-tu-danh-gia-loi")
        page.fill(f"#{_css(first)}", str(rows[0][1]))
        expected_self = sum(own.values())
        expect(page.locator("#general-total")).to_have_text(_vn(expected_self))
        page.get_by_role("button", name="Gửi tự đánh giá").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã gửi tự đánh giá")
        expect(page.locator("table.steps")).to_contain_text(f"{_vn(expected_self)} / 30")
        log_out(page)

        # --- the manager reviews -------------------------------------------------------------
        log_in(page, base, HEAD)
        page.get_by_role("link", name="Lê Văn Nam").click()
        expect(page.locator("h1")).to_contain_text("Nhận xét")
        for field, maximum in rows:  # prefilled with the person's own points
            expect(page.locator(f"#{_css(field)}")).to_have_value(str(own[field]))
            page.fill(f"#{_css(field)}", str(maximum))
        page.fill("#comment", "Hoàn thành tốt, cần chủ động hơn trong báo cáo.")
        shot(page, "04-nhan-xet")
        page.get_by_role("button", name="Gửi nhận xét").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã gửi nhận xét")

        # --- the authority decides the unit with the quota, and publishes --------------------
        page.get_by_role("link", name="Trang chủ").first.click()
        page.get_by_role("link", name=f"Xếp loại đơn vị {UNIT}").click()
        expect(page.locator("#quota-line")).to_contain_text("20 %")
        page.fill("#ratio", "0,25")  # above 20 % without a reason: refused, input kept
        page.get_by_role("button", name="Quyết định xếp loại").click()
        expect(page.locator('.error[data-field="reason"]')).to_contain_text("cần lý do")
        expect(page.locator("#ratio")).to_have_value("0,25")
        page.fill("#ratio", "0,2")
        page.get_by_role("button", name="Quyết định xếp loại").click()
        result = page.locator("#decision-result")
        expect(result).to_contain_text("Đã quyết định xếp loại")
        expect(result).to_contain_text("Lê Văn Nam")
        row = page.locator(f'#unit-list tr[data-person="{STAFF}"]')
        expect(row).to_contain_text("83,9")
        expect(row.locator(".final")).to_contain_text("B")
        # P022 and P023 scored A; with one B in the unit no A fits in 20 % of the B grades
        # (001 §II.2.5a): both move down, the lowest first, and the page says so.
        expect(result).to_contain_text("Chuyển mức do tỷ lệ xuất sắc")
        for other in OTHERS:
            other_row = page.locator(f'#unit-list tr[data-person="{other}"]')
            expect(other_row.locator("td").nth(6)).to_contain_text("A")
            expect(other_row.locator(".final")).to_contain_text("B")
            expect(other_row.locator(".final")).to_contain_text("giảm do tỷ lệ")
        expect(page.locator("#quota-line")).to_contain_text("0 người loại A, 3 người loại B")
        shot(page, "05-xep-loai-don-vi")
        page.get_by_role("button", name="Công khai kết quả").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã công khai")
        log_out(page)

        # --- the staff member sees the published grade and appeals ---------------------------
        log_in(page, base, STAFF)
        expect(page.locator("body")).to_contain_text("Kết quả công khai: 83,9")
        page.get_by_role("link", name="Xem phiếu").click()
        published = page.locator("#published-result")
        expect(published).to_contain_text("83,9")
        expect(published).to_contain_text("Hoàn thành tốt nhiệm vụ")
        shot(page, "06-ket-qua-cong-khai")
        page.get_by_role("link", name="Gửi kiến nghị").click()
        page.get_by_role("button", name="Gửi kiến nghị").click()  # empty: refused
        expect(page.locator('.error[data-field="reason"]')).to_contain_text("không được để trống")
        page.fill("#reason", "Đề nghị xem xét lại nhiệm vụ trễ hạn do mất điện.")
        page.get_by_role("button", name="Gửi kiến nghị").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã gửi kiến nghị")
        log_out(page)

        # --- the level above the decider answers ---------------------------------------------
        log_in(page, base, ABOVE)
        page.goto(f"{base}/evaluations/{STAFF}/{PERIOD}/appeal")
        page.fill("#answer", "Giữ nguyên: nguyên nhân khách quan đã được tính.")
        page.get_by_role("button", name="Gửi trả lời").click()
        expect(page.locator(".alert.ok")).to_contain_text("Đã trả lời kiến nghị")
        expect(page.locator("#published-result")).to_contain_text("Giữ nguyên kết quả")
        page.close()


def _css(element_id: str) -> str:
    """An element id usable after ``#`` (row codes contain dots)."""
    return element_id.replace(".", "\\.")


def _vn(value: Decimal) -> str:
    """``Decimal('28.5')`` → ``"28,5"`` (the pages' decimal comma, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")
