"""Issue 17, part 3 "Figures contradict each other": on the whole stack (``web_stack``: the
office PL-VP's June through the real services, the reporting read models fed through the real
broker), every place that shows a figure shows the same one — the head's and the staff
member's dashboards, the early warnings, the unit summary, the person card, their Excel/PDF
files, the central comparison and its file.

Expected figures are counted from what the stack created (``web_stack``: 002's worked example
for P021 leaves 2 of its 12 tasks not completed — the meeting, started, and the arising report,
assigned — both due 26/06/2026, so both are overdue on any later day; P022 and P023 get 3
tasks, all approved), never read back from the reporting code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfReader

from tests.integration.ward_stack import HANOI, TENANT, auth
from tests.web.web_stack import HEAD, OTHERS, PERIOD, STAFF, UNIT, feed_reporting, web_stack

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
DUE = date(2026, 6, 26)  # the due date of the stack's tasks (ward_stack.Tasks)
WORKED_EXAMPLE_TASKS, WORKED_EXAMPLE_APPROVED = 12, 10
OTHER_TASKS = sum(len(items) for items in OTHERS.values())
#: P021's tasks still with the lead past their due date (the meeting and the arising report)
OVERDUE = WORKED_EXAMPLE_TASKS - WORKED_EXAMPLE_APPROVED
PEOPLE = [STAFF, *OTHERS]  # the months the stack opened
TENANT_FILE = yaml.safe_load(HANOI.read_text(encoding="utf-8"))
UNIT_NAME = next(u["name"] for u in TENANT_FILE["units"] if u["code"] == UNIT)
PERSON_NAMES = {p["code"]: p["name"] for p in TENANT_FILE["people"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: make test installs it"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def log_in(page: Page, base: str, person: str) -> None:
    page.goto(f"{base}/login")
    page.select_option("#person", person)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".who")).to_contain_text(person)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()


def publish_the_office(evaluation_url: str) -> None:
    """P021 self-assesses and is reviewed (30 general points); P019 decides and publishes."""
    with httpx.Client(base_url=f"{evaluation_url}/tenants/{TENANT}", timeout=30) as api:
        month = f"/evaluations/{STAFF}/{PERIOD}"
        for step, who in (("self-assessment", STAFF), ("review", HEAD)):
            answer = api.post(f"{month}/{step}", headers=auth(who), json={"general": "30"})
            assert answer.status_code == 200, answer.text
        decided = api.post(f"/units/{UNIT}/decision/{PERIOD}", headers=auth(HEAD), json={})
        assert decided.status_code == 200, decided.text
        for person in PEOPLE:
            published = api.post(f"/evaluations/{person}/{PERIOD}/publication", headers=auth(HEAD))
            assert published.status_code == 200, published.text


def number(text: str) -> int:
    """The one whole number shown in ``text`` (a figure cell)."""
    [found] = re.findall(r"\d+", text)
    return int(found)


def download(page: Page, url: str) -> bytes:
    answer = page.request.get(url)
    assert answer.status == 200, answer.text()
    return answer.body()


def rows(content: bytes) -> list[list[Any]]:
    return [list(r) for r in load_workbook(BytesIO(content)).active.iter_rows(values_only=True)]


def cells(content: bytes) -> list[list[Any]]:
    return [list(r) for r in load_workbook(BytesIO(content)).active.iter_rows()]


def row_with(values: list[list[Any]], index: int, value: Any) -> list[Any]:
    [found] = [r for r in values if len(r) > index and r[index] == value]
    return found


def pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def dashboard_overdue(page: Page) -> tuple[int, int]:
    """The dashboard's "Quá hạn chưa xong" figure and the warnings' count of overdue tasks."""
    kpi = number(page.locator("#kpi-overdue b").inner_text())
    warned = number(page.locator('#warning-counts b[data-kind="overdue"]').inner_text())
    return kpi, warned


@pytest.mark.timeout(900)  # a real month / browser session; slow on a busy machine
def test_every_page_and_file_shows_the_same_figures(
    browser: Browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
) -> None:
    assert date.today() > DUE, "the stack's June tasks must be past their due date"
    with web_stack(tmp_path, monkeypatch, temporal_address) as stack:
        publish_the_office(stack.evaluation)
        assert feed_reporting(kafka_bootstrap) > 0
        base = stack.web
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        total = WORKED_EXAMPLE_TASKS + OTHER_TASKS
        done = WORKED_EXAMPLE_APPROVED + OTHER_TASKS

        # --- the head's dashboard: the overdue figure is the warnings' count -----------------
        log_in(page, base, HEAD)
        page.goto(f"{base}/?period={PERIOD}")
        kpis = page.locator("#kpis .kpi")
        assert number(kpis.nth(0).locator("b").inner_text()) == total
        assert number(kpis.nth(1).locator("b").inner_text()) == done
        assert dashboard_overdue(page) == (OVERDUE, OVERDUE)
        expect(page.locator(".dashboard h2").first).to_contain_text(UNIT_NAME)
        overdue_shown = page.locator('li.warn[data-kind="overdue"][data-item="task"]')
        for n in range(overdue_shown.count()):
            expect(overdue_shown.nth(n)).to_contain_text("quá hạn")
            expect(overdue_shown.nth(n)).to_contain_text("26/06/2026")

        # --- the unit summary: per-person and unit figures, the evaluation list ---------------
        page.goto(f"{base}/units/{UNIT}/summary/{PERIOD}")
        expect(page.locator("h1")).to_contain_text(UNIT_NAME)
        assert number(page.locator("#unit-overdue").inner_text()) == OVERDUE
        per_person = page.locator("#tasks-by-person tbody tr")
        overdue_of = {
            per_person.nth(n).get_attribute("data-person"): number(
                per_person.nth(n).locator("td").nth(5).inner_text()
            )
            for n in range(per_person.count())
        }
        assert overdue_of == {STAFF: OVERDUE, **dict.fromkeys(OTHERS, 0)}
        listed = page.locator("#summary tbody tr")
        assert sorted(
            listed.nth(n).get_attribute("data-person") for n in range(listed.count())
        ) == (sorted(PEOPLE))
        staff_line = page.locator(f'#summary tr[data-person="{STAFF}"] td')
        # 002's worked example: general 30 (self and review), task result 77 %, 83.9 → B
        assert [staff_line.nth(i).inner_text().strip() for i in (3, 4, 5, 6)] == [
            "30",
            "30",
            "77",
            "83,9",
        ]
        by_grade = page.locator("#by-grade tbody tr td.num")
        counted = sum(number(by_grade.nth(n).inner_text()) for n in range(by_grade.count()))
        assert counted == number(page.locator("#by-grade tfoot th.num").inner_text()) == len(PEOPLE)

        # --- the unit summary's files: the same people, every column, numbers as numbers -----
        content = download(page, f"{base}/units/{UNIT}/export/summary/{PERIOD}?fmt=xlsx")
        values = rows(content)
        assert any(r[1] == UNIT_NAME for r in values if len(r) > 1)  # "Đơn vị:" names the unit
        header = row_with(values, 0, "STT")
        assert header[4:8] == [
            "Tự chấm tiêu chí chung",
            "Lãnh đạo chấm tiêu chí chung",
            "Kết quả nhiệm vụ (%)",
            "Tổng điểm",
        ]
        lines = [r for r in values if isinstance(r[0], int) and r[1] in PEOPLE]
        assert sorted(r[1] for r in lines) == sorted(PEOPLE)
        for line in lines:
            assert line[2] == PERSON_NAMES[line[1]]
            assert all(isinstance(v, int | float) for v in line[4:8]), line  # none blank or text
        staff = row_with(values, 1, STAFF)
        assert [Decimal(str(v)) for v in staff[4:8]] == [30, 30, 77, Decimal("83.9")]
        [score_cell] = [r[7] for r in cells(content) if r[1].value == STAFF]
        assert score_cell.number_format == "#,##0.0"
        grade_rows = [r for r in values if isinstance(r[0], str) and re.match(r"^[ABCD] — ", r[0])]
        graded = sum(r[1] for r in grade_rows)
        rest = row_with(values, 0, "Không đánh giá")[1] + row_with(values, 0, "Chưa quyết định")[1]
        assert graded + rest == row_with(values, 0, "Tổng số")[1] == len(lines) == len(PEOPLE)
        text = pdf_text(download(page, f"{base}/units/{UNIT}/export/summary/{PERIOD}?fmt=pdf"))
        assert UNIT_NAME in text and PERSON_NAMES[STAFF] in text and "83,9" in text

        # --- the person card and its file -----------------------------------------------------
        page.goto(f"{base}/people/{STAFF}/card/{PERIOD}")
        assert number(page.locator("#card-overdue").inner_text()) == OVERDUE
        card = rows(download(page, f"{base}/people/{STAFF}/card/{PERIOD}/export?fmt=xlsx"))
        assert row_with(card, 0, "Nhiệm vụ quá hạn chưa xong (nhiệm vụ)")[1] == OVERDUE
        assert row_with(card, 0, "Tổng cộng")[1] == WORKED_EXAMPLE_TASKS
        assert "None" not in page.locator("body").inner_text()
        log_out(page)

        # --- the staff member's own dashboard: own tasks, own warnings -----------------------
        log_in(page, base, STAFF)
        page.goto(f"{base}/?period={PERIOD}")
        assert number(page.locator("#kpis .kpi").nth(0).locator("b").inner_text()) == (
            WORKED_EXAMPLE_TASKS
        )
        assert dashboard_overdue(page) == (OVERDUE, OVERDUE)
        log_out(page)

        # --- the central body: names, ranks, the same figures, the file ----------------------
        log_in(page, base, "BTC-TW")  # granted central in Hà Nội's tenant file
        page.goto(f"{base}/central?period={PERIOD}")
        expect(page.locator("#scope")).to_contain_text(TENANT_FILE["name"])
        row = page.locator(f'#ranking tr[data-tenant="{TENANT}"][data-unit="{UNIT}"]')
        expect(row).to_contain_text(UNIT_NAME)
        assert number(row.locator("td.overdue").inner_text()) == OVERDUE
        ranks = page.locator("#ranking td.rank")
        for n in range(ranks.count()):
            assert re.fullmatch(r"\d+|Chưa xếp hạng", ranks.nth(n).inner_text().strip())
        assert "None" not in page.locator("#ranking").inner_text()
        ranking = rows(download(page, f"{base}/central/export?period={PERIOD}&fmt=xlsx"))
        line = row_with(ranking, 2, UNIT_NAME)
        assert line[1] == TENANT_FILE["name"]
        assert isinstance(line[0], int)
        assert line[4:7] == [total, done, OVERDUE]
        assert not any(isinstance(v, str) and "None" in v for r in ranking for v in r)
        page.close()
