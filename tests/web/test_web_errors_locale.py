"""Errors and locale of the web application (issue 17, part 5).

Every error is a Vietnamese page inside the application's frame (the menu when signed in):
an unknown address (404), a refused method (405), a 3 MB form field (413), a month that does
not exist in the address (422, naming the field), an unexpected exception (500 with a
reference, no traceback), a service that does not answer (503 naming it, with a retry link);
clients asking for JSON still get JSON. Numbers are typed with a decimal comma or point and
shown with a comma, dates ``dd/mm/yyyy``, times in the tenant's zone, codes as names.

The app runs over Hà Nội's planning API served for real (uvicorn, SQLite); the other services
point at a port nobody listens on, a real outage.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.settings import get_settings
from services.planning.api import create_app as planning_app
from services.web import charts, labels
from services.web.app import create_app as web_app
from services.web.messages import FORM, error_summary, field_errors
from services.web.pages import decimal_text, parse_number, templates, tenant_zone
from services.web.settings import WebSettings
from tests.evaluation_service.evaluation_api_stack import served
from tests.integration.backends import database_backend
from woms.onboarding import onboard

HANOI = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"accept": "application/json"}


def closed_port_url() -> str:
    """A local URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- pure: parsing and formats ----------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1,5", "1.5", " 1,5 ", "1,50"])
def test_a_decimal_comma_and_a_point_are_both_read(typed: str) -> None:
    assert parse_number(typed) == Decimal("1.5")
    assert Decimal(decimal_text(typed)) == Decimal("1.5")


@pytest.mark.parametrize("typed", ["", "abc", "1,2,3", "1.2,3", "NaN", "Infinity"])
def test_what_is_not_one_number_is_not_read_and_sent_as_typed(typed: str) -> None:
    assert parse_number(typed) is None
    assert decimal_text(typed) == typed.strip()


def _render(source: str, **context: object) -> str:
    return templates.env.from_string(source).render(**context)


def test_the_number_filter_shows_a_decimal_comma() -> None:
    assert _render("{{ x | number }}", x="83.90") == "83,9"
    assert _render("{{ x | number }}", x=Decimal("117.000000")) == "117"
    assert _render("{{ x | number(1) }}", x="1.25") == "1,3"  # half-up
    assert _render("{{ x | points }}", x="0.5") == "0,5"
    for absent in (None, "", "None"):
        assert _render("{{ x | number }}", x=absent) == "—"


def test_the_date_filter_is_dd_mm_yyyy() -> None:
    assert _render("{{ d | date }}", d="2026-06-26") == "26/06/2026"
    assert _render("{{ d | date }}", d="2026-06-05T08:00:00+00:00") == "05/06/2026"
    assert _render("{{ d | date }}", d=None) == "—"
    assert _render("{{ d | date }}", d="không rõ") == "không rõ"  # shown, never a 500


def test_times_are_shown_in_the_zone_not_as_utc() -> None:
    # 20:30 UTC is 03:30 the next day in Hà Nội (UTC+7); a time without offset is UTC
    assert labels.datetime_label("2026-06-26T20:30:00+00:00") == "27/06/2026 03:30"
    assert labels.datetime_label("2026-06-26T20:30:00") == "27/06/2026 03:30"
    assert labels.datetime_label("2026-06-26T20:30:00Z", "Europe/Paris") == "26/06/2026 22:30"
    # outside a signed-in page the filter falls back to the default zone
    assert _render("{{ t | datetime }}", t="2026-06-26T01:02:00+00:00") == "26/06/2026 08:02"


def test_codes_become_names_and_absent_values_a_dash() -> None:
    assert _render("{{ c | form_name }}", c="phu-luc-2").startswith("Mẫu số 03")
    assert _render("{{ c | label(TASK_STATUS) }}", c="approved") == "Đã duyệt"
    assert _render("{{ c | label(TASK_STATUS) }}", c=None) == "—"
    assert _render("{{ c | dash }}", c="None") == "—"
    assert _render("{{ c | unit_name }}", c=None) == "—"
    assert "No data" not in charts.trend_line(["06/2026"], [None], "t")
    assert charts.NO_DATA in charts.trend_line(["06/2026"], [None], "t")


def test_every_error_of_a_form_is_kept_at_once() -> None:
    detail = [
        {"type": "missing", "loc": ["body", "name"], "msg": "Field required"},
        {"type": "string_too_long", "loc": ["body", "name"], "ctx": {"max_length": 5}},
        {"type": "decimal_parsing", "loc": ["body", "rows", "1.1"], "msg": "..."},
        {"type": "decimal_parsing", "loc": ["body", "rows", "1.2"], "msg": "..."},
        {"field": "rows.2.1", "reason": "ngoài khoảng 0–2 điểm / 3 is outside 0–2 points"},
        {"loc": ["body", "fields"], "msg": "...", "missing": ["due_date"]},
    ]
    errors = field_errors(422, detail)
    assert errors["name"] == "bắt buộc nhập; quá dài (tối đa 5 ký tự)"
    assert errors["rows.1.1"] == errors["rows.1.2"] == "phải là một số (ví dụ 1,5)"
    assert errors["rows.2.1"] == "ngoài khoảng 0–2 điểm"
    assert errors["due_date"] and errors[FORM].startswith("Chưa đủ thông tin")
    summary = error_summary(422, detail)
    for part in ("Tên nhiệm vụ", "Tiêu chí 1.1", "Tiêu chí 1.2", "Tiêu chí 2.1", "Hạn hoàn thành"):
        assert part in summary


def test_a_period_out_of_range_names_the_field_and_its_format() -> None:
    detail = [{"type": "string_pattern_mismatch", "loc": ["query", "period"], "ctx": {}}]
    assert "2026-06" in field_errors(422, detail)["period"]
    assert error_summary(422, detail).startswith("Kỳ đánh giá (tháng):")


# --- the app: real planning, the other services down ----------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """Hà Nội's planning served for real; the web app with tasks, evaluation and reporting at
    a closed port. Yields the app (a route that fails is added) and planning's URL."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("WOMS_HOME", str(tmp_path_factory.mktemp("home")))
    get_settings.cache_clear()
    try:
        with database_backend("sqlite", monkeypatch):
            onboard(HANOI, infrastructure=False)
            with served(planning_app()) as planning:
                down = closed_port_url()
                settings = WebSettings(
                    planning_url=planning,
                    tasks_url=down,
                    evaluation_url=down,
                    reporting_url=down,
                    WEB_TENANT="hanoi",
                    WEB_PERIOD="2026-06",
                    timeout_s=3,
                )
                app = web_app(settings)

                @app.get("/boom-for-test")
                def boom() -> None:
                    raise RuntimeError("secret internals: /etc/passwd line 3")

                yield app, planning
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def anonymous(stack: tuple[FastAPI, str]) -> TestClient:
    return TestClient(stack[0], follow_redirects=False, raise_server_exceptions=False)


@pytest.fixture
def signed_in(stack: tuple[FastAPI, str]) -> TestClient:
    client = TestClient(stack[0], follow_redirects=False, raise_server_exceptions=False)
    answer = client.post("/login", data={"person": "P021", "next": "/"}, headers=HTML)
    assert answer.status_code == 303, answer.text
    return client


def in_the_frame(text: str) -> bool:
    """The page is the application's: its header, and the menu of a signed-in person."""
    return 'class="top"' in text and "Đăng xuất" in text and "P021" in text


@pytest.mark.integration
def test_unknown_address_is_a_vietnamese_404_in_the_frame(signed_in: TestClient) -> None:
    answer = signed_in.get("/khong-co-trang-nay", headers=HTML)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang" in answer.text and "/khong-co-trang-nay" in answer.text
    assert in_the_frame(answer.text)
    assert "Not Found" not in answer.text


@pytest.mark.integration
def test_not_signed_in_404_has_no_menu(anonymous: TestClient) -> None:
    answer = anonymous.get("/khong-co", headers=HTML)
    assert answer.status_code == 404 and "Không tìm thấy trang" in answer.text
    assert "Đăng xuất" not in answer.text


@pytest.mark.integration
def test_refused_method_is_a_vietnamese_405(signed_in: TestClient) -> None:
    answer = signed_in.get("/logout", headers=HTML)
    assert answer.status_code == 405
    assert "Thao tác không được hỗ trợ" in answer.text and "GET" in answer.text
    assert answer.headers["allow"] == "POST"


@pytest.mark.integration
def test_month_13_is_a_422_page_naming_the_field(signed_in: TestClient) -> None:
    answer = signed_in.get("/tasks", params={"period": "2026-13"}, headers=HTML)
    assert answer.status_code == 422
    assert "Kỳ đánh giá (tháng)" in answer.text and "2026-06" in answer.text
    assert in_the_frame(answer.text)
    assert "string_pattern_mismatch" not in answer.text and "String should" not in answer.text


@pytest.mark.integration
@pytest.mark.parametrize("multipart", [False, True])
def test_a_3_mb_field_is_a_vietnamese_413(anonymous: TestClient, multipart: bool) -> None:
    big = "x" * (3 * 1024 * 1024)
    if multipart:
        answer = anonymous.post("/login", files={"person": (None, big)}, headers=HTML)
    else:
        answer = anonymous.post("/login", data={"person": big}, headers=HTML)
    assert answer.status_code == 413
    assert "Dữ liệu gửi lên quá lớn" in answer.text and "1 MB" in answer.text
    assert "exceeded" not in answer.text


@pytest.mark.integration
def test_a_service_down_is_a_503_naming_it_with_retry(signed_in: TestClient) -> None:
    answer = signed_in.get("/tasks", params={"period": "2026-06"}, headers=HTML)
    assert answer.status_code == 503
    assert "Dịch vụ nhiệm vụ không phản hồi" in answer.text
    assert 'href="/tasks?period=2026-06"' in answer.text and "Thử lại" in answer.text
    assert in_the_frame(answer.text)


@pytest.mark.integration
def test_planning_down_says_so_on_the_login_page() -> None:
    down = closed_port_url()
    settings = WebSettings(
        planning_url=down,
        tasks_url=down,
        evaluation_url=down,
        reporting_url=down,
        WEB_TENANT="hanoi",
        timeout_s=2,
    )
    client = TestClient(web_app(settings), raise_server_exceptions=False)
    answer = client.get("/login", headers=HTML)
    assert answer.status_code == 503
    assert "Dịch vụ kế hoạch không phản hồi" in answer.text and 'href="/login"' in answer.text


@pytest.mark.integration
def test_an_exception_is_a_500_with_a_reference_and_no_traceback(
    signed_in: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="services.web"):
        answer = signed_in.get("/boom-for-test", headers=HTML)
    assert answer.status_code == 500
    assert "Hệ thống gặp lỗi ngoài dự kiến" in answer.text and in_the_frame(answer.text)
    assert "Traceback" not in answer.text and "secret internals" not in answer.text
    reference = answer.text.split('class="reference">')[1].split("<")[0]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log


@pytest.mark.integration
def test_json_clients_still_get_json(signed_in: TestClient) -> None:
    missing = signed_in.get("/khong-co", headers=JSON)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    invalid = signed_in.get("/tasks", params={"period": "2026-13"}, headers=JSON)
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == [
        "query",
        "period",
    ]
    down = signed_in.get("/tasks", params={"period": "2026-06"}, headers=JSON)
    assert down.status_code == 503 and down.json()["detail"]["service"] == "tasks"
    boom = signed_in.get("/boom-for-test", headers=JSON)
    assert boom.status_code == 500 and boom.json()["reference"]
    assert "secret" not in boom.text


@pytest.mark.integration
def test_the_tenant_zone_comes_from_the_registry(stack: tuple[FastAPI, str]) -> None:
    assert tenant_zone("hanoi") == "Asia/Ho_Chi_Minh"
    assert tenant_zone("no-such-tenant") == "Asia/Ho_Chi_Minh"  # the default


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_error_pages_in_the_browser(stack: tuple[FastAPI, str]) -> None:
    """In Chromium: a signed-in person meets the 404, 422 and 503 pages inside the menu, in
    Vietnamese, with no console error; "Thử lại" goes back to the address that failed."""
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: make test installs it"
    errors: list[str] = []
    with served(stack[0]) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/login")
            page.select_option("#person", "P021")
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(f"{base}/**")
            for path, status, text in (
                ("/khong-co-trang-nay", 404, "Không tìm thấy trang"),
                ("/tasks?period=2026-13", 422, "Kỳ đánh giá (tháng)"),
                ("/tasks?period=2026-06", 503, "Dịch vụ nhiệm vụ không phản hồi"),
            ):
                answer = page.goto(base + path)
                assert answer is not None and answer.status == status, path
                expect(page.locator("main")).to_contain_text(text)
                expect(page.locator("header.top nav")).to_contain_text("Công việc")
                expect(page.locator(".who")).to_contain_text("P021")
            page.get_by_role("link", name="Thử lại").click()
            expect(page).to_have_url(f"{base}/tasks?period=2026-06")
        finally:
            browser.close()
    # the browser reports each failed page load (404/422/503) as a console error; nothing else
    assert all("Failed to load resource" in e for e in errors), errors
