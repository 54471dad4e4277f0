"""The reporting export endpoints on real components (``services/reporting/export_api.py``):
the read models of ``test_reporting_api`` (events applied through the real projections on
SQLite), tenant ``mini`` onboarded with its planning API (names and the evaluator relation
over HTTP), bearer tokens, the Rego policy ``woms.reporting.authz`` through regorus.

Every file is reopened (openpyxl; pypdf for the text) and checked against the JSON answers
of the reporting API and figures computed here from the events' specification."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

import tests.integration.test_reporting_api as base
from services.common import tenancy
from services.common.db import transaction
from services.common.events import topic_for
from services.common.settings import get_settings
from services.planning.api import create_app as planning_app
from services.reporting.api import HttpRelations, create_app
from services.reporting.database import reporting_engine
from services.reporting.export_api import HttpNames
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE
from woms.onboarding import onboard

pytestmark = pytest.mark.integration

JUNE = base.JUNE
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# names in tests/fixtures/tenant_mini.yaml
NAMES = {"P02": "Trần Thị Bình", "P03": "Lê Văn Cường", "P05": "Hoàng Văn Em"}
UNITS = {"PA-VP": "Văn phòng Đảng ủy", "PA-VHXH": "Phòng Văn hóa – Xã hội"}


@pytest.fixture
def client(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """As ``test_reporting_api.client``: ``mini`` onboarded, ``other`` registered, the events
    applied; names read from the same planning API as the relation. On SQLite files unless the
    test asks for ``postgresql`` (indirect parameter)."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    with base.database_backend(getattr(request, "param", "sqlite"), monkeypatch):
        onboard(base.MINI, infrastructure=False)
        with transaction(tenancy.registry_engine()) as session:
            tenancy.upsert(
                session,
                code="other",
                name="Tỉnh Khác",
                time_zone="Asia/Ho_Chi_Minh",
                config={},
                source_hash="test",
            )
            # the central body of the platform (its grants live in the registry)
            tenancy.grant_platform_role(session, "C0", "central")
        messages = [
            Message(topic_for(e.tenant, e.service), 0, n, e.model_dump_json().encode())
            for n, e in enumerate(base._events())
        ]
        with reporting_engine().begin() as conn:
            assert set(apply_batch(conn, LIVE, messages)) == {"applied"}
        with TestClient(planning_app()) as planning:
            app = create_app(HttpRelations(planning))
            app.state.names = HttpNames(planning)
            yield TestClient(app)
    get_settings.cache_clear()


def tok(subject: str, *roles: str, tenant: str = "mini") -> dict[str, str]:
    return base.auth(tenant, subject, *roles)


ADMIN = ("A1", "tenant_admin")
GRADE_LABELS = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}


def cells(content: bytes) -> list[list[Any]]:
    """The cells of the first sheet as stored (numbers as int / float)."""
    book = load_workbook(BytesIO(content))
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def _figure(value: Any) -> Any:
    """A stored number as its exact text (``83.9`` → ``"83.9"``, ``2`` → ``"2"``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else value
    return f"{Decimal(str(value)).normalize():f}"


def sheet(content: bytes) -> list[list[Any]]:
    """The cells of the first sheet, figures (stored as numbers) as their exact text; an empty
    cell reads ``""``."""
    return [[_figure(v) for v in r] for r in cells(content)]


def row_of(values: list[list[Any]], *head: Any) -> list[Any]:
    matches = [r for r in values if tuple(r[: len(head)]) == head]
    assert len(matches) == 1, (head, values)
    return matches[0]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def n(value: Decimal | str) -> str:
    """Exact decimal text without trailing zeros (``"83.9"``)."""
    return f"{Decimal(value).normalize():f}"


def vn(value: Decimal | str) -> str:
    """As the PDF prints a figure: with a decimal comma (``"83,9"``)."""
    return n(value).replace(".", ",")


def fetch(client: TestClient, url: str, fmt: str, headers: dict[str, str]) -> bytes:
    answer = client.get(f"{url}&format={fmt}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == (XLSX if fmt == "xlsx" else "application/pdf")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    ascii_part = disposition.split('filename="')[1].split('"')[0]
    assert ascii_part.isascii() and ascii_part.endswith(f".{fmt}")
    exact = unquote(disposition.split("filename*=UTF-8''")[1])
    assert exact.endswith(f".{fmt}") and not exact.isascii()  # the Vietnamese name, exact
    return answer.content


# --- the unit's lists ------------------------------------------------------------------------


def test_unit_summary_files_hold_the_names_and_the_json_figures(client: TestClient) -> None:
    head = tok("P02")
    url = "/tenants/mini/reports/units/PA-VP/summary/export"
    grades = client.get(f"/tenants/mini/reports/grades?period={JUNE}&unit=PA-VP", headers=head)
    assert grades.status_code == 200, grades.text
    totals = grades.json()["totals"]
    june = [e for e in base.EVALUATIONS if e[0] == "mini" and e[2] == "PA-VP" and e[3] == JUNE]

    content = fetch(client, f"{url}?period={JUNE}", "xlsx", head)
    values = sheet(content)
    assert values[0][0] == "DANH SÁCH TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CBCCVC THÁNG 06/2026"
    assert row_of(values, "Đơn vị:")[1] == UNITS["PA-VP"]
    # the read models hold no general points nor task result: no blank columns for them
    header = row_of(values, "STT")
    assert header[:7] == [
        "STT",
        "Mã",
        "Họ và tên",
        "Trạng thái",
        "Tổng điểm",
        "Xếp loại đề xuất",
        "Xếp loại quyết định",
    ]
    assert not any("Tự chấm" in str(v) for v in header)
    for no, e in enumerate(sorted(june, key=lambda e: e[1]), 1):
        _, person, _, _, _, score, grade, final, _ = e
        line = row_of(values, str(no), person)
        assert line[2] == NAMES[person]
        assert line[3] == "Đã công khai"
        assert line[4] == n(score) and line[5] == grade and line[6].startswith(f"{final} — ")
    # numbers are stored as numbers, with a number format of their decimals
    book = load_workbook(BytesIO(content)).active
    [score_cell] = [r[4] for r in book.iter_rows() if r[1].value == "P03"]
    assert isinstance(score_cell.value, float) and Decimal(str(score_cell.value)) == Decimal("83.9")
    assert score_cell.number_format == "#,##0.0"
    counted = 0
    for grade, label in GRADE_LABELS.items():
        assert row_of(values, f"{grade} — {label}")[1] == str(totals[grade])
        counted += int(row_of(values, f"{grade} — {label}")[1])
    counted += int(row_of(values, "Không đánh giá")[1]) + int(row_of(values, "Chưa quyết định")[1])
    assert row_of(values, "Tổng số")[1] == str(len(june)) == str(counted)  # adds up to the lines

    text = pdf_text(fetch(client, f"{url}?period={JUNE}", "pdf", head))
    assert "DANH SÁCH TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CBCCVC THÁNG 06/2026" in text
    assert UNITS["PA-VP"] in text
    for e in june:
        assert NAMES[e[1]] in text and vn(e[5]) in text


def test_commendation_list_names_only_the_final_a(client: TestClient) -> None:
    url = f"/tenants/mini/reports/units/PA-VP/commendation/export?period={JUNE}"
    chosen = [e for e in base.EVALUATIONS if e[2] == "PA-VP" and e[3] == JUNE and e[7] == "A"]
    assert chosen  # P02, 92.0
    values = sheet(fetch(client, url, "xlsx", tok(*ADMIN)))
    for no, e in enumerate(chosen, 1):
        line = row_of(values, str(no), e[1])
        assert line[2:5] == [NAMES[e[1]], n(e[5]), "Hoàn thành xuất sắc nhiệm vụ tháng 06/2026"]
    assert row_of(values, "", "", "Tổng số")[3] == str(len(chosen))
    text = pdf_text(fetch(client, url, "pdf", tok(*ADMIN)))
    assert "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG THÁNG 06/2026" in text
    assert NAMES["P02"] in text and "92" in text
    assert NAMES["P03"] not in text  # B


# --- the person's card -----------------------------------------------------------------------


def test_person_card_file_matches_the_json_card(client: TestClient) -> None:
    me = tok("P03")
    card = client.get(f"/tenants/mini/reports/people/P03/card?period={JUNE}", headers=me)
    assert card.status_code == 200, card.text
    body = card.json()
    url = f"/tenants/mini/reports/people/P03/card/export?period={JUNE}"

    values = sheet(fetch(client, url, "xlsx", me))
    assert values[0][0] == "BÁO CÁO NHIỆM VỤ ĐƯỢC GIAO THÁNG 06/2026"
    assert row_of(values, "Đồng chí:")[1] == NAMES["P03"]
    assert row_of(values, "Đơn vị:")[1] == UNITS["PA-VP"]
    for group in body["by_group"]:
        line = row_of(values, group["task_group"])
        assert line[1:5] == [
            str(group["total"]),
            n(group["points_assigned"]),
            str(group["done"]),
            n(group["points_completed"]),
        ]
    tasks = body["tasks"]
    assert row_of(values, "Tổng cộng")[1:5] == [
        str(tasks["total"]),
        n(tasks["points_assigned"]),
        str(tasks["done"]),
        n(tasks["points_completed"]),
    ]
    expected = base.expected_tasks(tenant="mini", period=JUNE, person="P03")
    late = row_of(values, "Nhiệm vụ hoàn thành trễ hạn (nhiệm vụ)")[1]
    assert late == str(expected["late"])
    assert row_of(values, "Nhiệm vụ quá hạn chưa xong (nhiệm vụ)")[1] == str(expected["overdue"])
    assert row_of(values, "Tổng điểm")[1] == n(body["evaluation"]["score"]) == "83.9"
    assert row_of(values, "Xếp loại")[1] == "B — Hoàn thành tốt nhiệm vụ"

    text = pdf_text(fetch(client, url, "pdf", tok("P02")))  # the head reads it too
    assert NAMES["P03"] in text and UNITS["PA-VP"] in text
    done = f"{n(tasks['points_completed'])}/{n(tasks['points_assigned'])} điểm"
    assert done in text and "83,9" in text and "Hoàn thành tốt nhiệm vụ" in text


# --- the summary to the provincial standing office (003) --------------------------------------


def provincial_expected(months: list[str]) -> dict[str, list[str]]:
    """Per unit code, the 14 cells after STT and name, computed from the events' spec."""
    out: dict[str, list[str]] = {}
    for unit in sorted(UNITS):
        evals = [e for e in base.EVALUATIONS if e[0] == "mini" and e[2] == unit and e[3] in months]
        graded = [e for e in evals if e[7] and e[4] in ("decided", "published")]
        tasks = [base.expected_tasks(tenant="mini", period=m, unit=unit) for m in months]
        total = sum(t["total"] for t in tasks)
        done = sum(t["done"] for t in tasks)
        late = sum(t["late"] + t["overdue"] for t in tasks)
        scores = sum((Decimal(e[5]) for e in graded), Decimal(0))
        half_up = Decimal("0.1")
        out[unit] = [
            str(len(evals)),
            str(len(graded)),
            *(str(sum(e[7] == g for e in graded)) for g in "ABCD"),
            str(sum(e[4] == "not_evaluated" for e in evals)),
            str(total),
            str(done),
            n((Decimal(done * 100) / total).quantize(half_up, ROUND_HALF_UP)) if total else "",
            str(late),
            n((scores / len(graded)).quantize(half_up, ROUND_HALF_UP)) if graded else "",
        ]
    return out


def test_provincial_monthly_summary_equals_the_read_models(client: TestClient) -> None:
    admin = tok(*ADMIN)
    url = f"/tenants/mini/reports/provincial/export?period={JUNE}"
    values = sheet(fetch(client, url, "xlsx", admin))
    assert values[0][0] == "BÁO CÁO TỔNG HỢP KẾT QUẢ THỰC HIỆN KPI THÁNG 06/2026"
    assert row_of(values, "Kính gửi:")[1] == "Thường trực Tỉnh ủy"
    assert row_of(values, "Đơn vị báo cáo:")[1] == "Ban Tổ chức Tỉnh ủy"
    assert row_of(values, "Tỉnh:")[1] == "Tỉnh Thử Nghiệm"
    expected = provincial_expected([JUNE])
    for no, unit in enumerate(sorted(UNITS), 1):
        assert row_of(values, str(no), UNITS[unit])[2:] == expected[unit]
    # the same figures as the JSON answers
    tasks = client.get(f"/tenants/mini/reports/tasks?period={JUNE}&by=unit", headers=admin).json()
    grades = client.get(f"/tenants/mini/reports/grades?period={JUNE}", headers=admin).json()
    for no, unit in enumerate(sorted(UNITS), 1):
        line = row_of(values, str(no), UNITS[unit])
        [t] = [r for r in tasks["rows"] if r["unit"] == unit]
        [g] = [r for r in grades["units"] if r["unit"] == unit]
        assert line[4:8] == [str(g[k]) for k in "ABCD"]
        assert line[9:11] == [str(t["total"]), str(t["done"])]
        assert line[11] == (n(t["done_percent"]) if t["done_percent"] else "")
    total = row_of(values, "", "Tổng cộng")
    assert total[2] == str(sum(int(expected[u][0]) for u in UNITS))
    assert total[9] == str(tasks["totals"]["total"])

    text = pdf_text(fetch(client, url, "pdf", admin))
    assert "BÁO CÁO TỔNG HỢP KẾT QUẢ THỰC HIỆN KPI THÁNG 06/2026" in text
    for unit in UNITS.values():
        assert unit in text
    assert "Tỉnh Thử Nghiệm" in text and "Thường trực Tỉnh ủy" in text
    assert expected["PA-VP"][-1] in text  # the average score, (92.0 + 83.9) / 2 = 88.0


def test_provincial_three_monthly_review_adds_the_quarter(client: TestClient) -> None:
    url = f"/tenants/mini/reports/provincial/export?period=2026-Q2&reporter={quote('Sở Nội vụ')}"
    values = sheet(fetch(client, url, "xlsx", tok("C1", "central")))
    assert values[0][0].startswith("BÁO CÁO SƠ KẾT 3 THÁNG") and "QUÝ II/2026" in values[0][0]
    assert row_of(values, "Đơn vị báo cáo:")[1] == "Sở Nội vụ"
    expected = provincial_expected(["2026-04", "2026-05", "2026-06"])
    assert expected["PA-VP"][0] == "5"  # P03 April, May, June; P02 May, June
    for no, unit in enumerate(sorted(UNITS), 1):
        assert row_of(values, str(no), UNITS[unit])[2:] == expected[unit]
    text = pdf_text(fetch(client, url, "pdf", tok("C1", "central")))
    assert "lượt đánh giá" in text and "Sở Nội vụ" in text


# --- access and bad requests -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "who"),
    [
        (f"/units/PA-VP/summary/export?period={JUNE}", ("P03",)),
        (f"/units/PA-VP/summary/export?period={JUNE}", ("P05",)),
        (f"/units/PA-VP/commendation/export?period={JUNE}", ("P03",)),
        (f"/people/P02/card/export?period={JUNE}", ("P03",)),
        (f"/people/P03/card/export?period={JUNE}", ("P05",)),
        (f"/provincial/export?period={JUNE}", ("P02",)),
        ("/provincial/export?period=2026-Q2", ("P01",)),
    ],
)
def test_a_caller_the_policy_refuses_gets_403(
    client: TestClient, url: str, who: tuple[str, ...]
) -> None:
    answer = client.get(f"/tenants/mini/reports{url}&format=pdf", headers=tok(*who))
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"]["reasons"]


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        (f"/units/NOWHERE/summary/export?period={JUNE}&format=xlsx", 404, "unit"),
        (f"/units/NOWHERE/commendation/export?period={JUNE}&format=pdf", 404, "unit"),
        (f"/people/P99/card/export?period={JUNE}&format=pdf", 404, "person"),
        ("/units/PA-VP/summary/export?period=2026-13&format=xlsx", 422, "period"),
        ("/units/PA-VP/summary/export?format=xlsx", 422, "period"),
        (f"/units/PA-VP/summary/export?period={JUNE}&format=docx", 422, "format"),
        (f"/units/PA-VP/summary/export?period={JUNE}", 422, "format"),
        ("/people/P03/card/export?period=2026-Q2&format=pdf", 422, "period"),
        ("/provincial/export?period=2026-Q5&format=pdf", 422, "period"),
        ("/provincial/export?period=2026-6&format=pdf", 422, "period"),
        (f"/provincial/export?period={JUNE}&format=pdf&reporter=", 422, "reporter"),
    ],
)
def test_unknown_codes_404_and_bad_queries_422_name_the_field(
    client: TestClient, url: str, status: int, field: str
) -> None:
    answer = client.get(f"/tenants/mini/reports{url}", headers=tok(*ADMIN))
    assert answer.status_code == status, answer.text
    assert any(field in d["loc"] for d in answer.json()["detail"]), answer.json()


def test_another_tenants_token_gets_404(client: TestClient) -> None:
    for headers in (tok(*ADMIN, tenant="other"), tok("C0", "central", tenant="platform")):
        for url in (
            f"/units/PA-VP/summary/export?period={JUNE}&format=pdf",
            f"/people/P03/card/export?period={JUNE}&format=pdf",
            f"/provincial/export?period={JUNE}&format=xlsx",
        ):
            answer = client.get(f"/tenants/mini/reports{url}", headers=headers)
            assert answer.status_code == 404, answer.text
    answer = client.get(f"/tenants/mini/reports/provincial/export?period={JUNE}&format=pdf")
    assert answer.status_code == 401


def test_openapi_lists_the_export_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    prefix = "/tenants/{tenant}/reports"
    for path in (
        f"{prefix}/units/{{unit}}/summary/export",
        f"{prefix}/units/{{unit}}/commendation/export",
        f"{prefix}/people/{{person}}/card/export",
        f"{prefix}/provincial/export",
    ):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {XLSX, "application/pdf"} <= set(content)


def test_names_are_read_from_planning_one_by_one_or_by_pages(client: TestClient) -> None:
    source: HttpNames = client.app.state.names  # type: ignore[attr-defined]
    every = {"P01": "Nguyễn Văn An", **NAMES, "P04": "Phạm Thị Dung"}
    # more than 5 codes: the unit's members page by page, the others one by one; unknown left out
    assert source.person_names("mini", [*every, "P99"], unit="PA-VP") == every
    assert source.person_names("mini", ["P03", "P99"]) == {"P03": NAMES["P03"]}
    units = {**UNITS, "TINH": "Tỉnh Thử Nghiệm", "PA": "Phường An", "PA-UB": "UBND phường An"}
    assert source.unit_names("mini", [*units, "X1", "NOWHERE"]) == units


@pytest.mark.parametrize("client", ["postgresql"], indirect=True)
def test_exports_on_postgresql(client: TestClient) -> None:
    """The same files from the read models on PostgreSQL (exact numerics, period ranges)."""
    admin = tok(*ADMIN)
    url = "/tenants/mini/reports/provincial/export?period=2026-Q2"
    values = sheet(fetch(client, url, "xlsx", admin))
    expected = provincial_expected(["2026-04", "2026-05", "2026-06"])
    for no, unit in enumerate(sorted(UNITS), 1):
        assert row_of(values, str(no), UNITS[unit])[2:] == expected[unit]
    card = sheet(
        fetch(client, f"/tenants/mini/reports/people/P03/card/export?period={JUNE}", "xlsx", admin)
    )
    assert row_of(card, "Tổng điểm")[1] == "83.9"
    text = pdf_text(
        fetch(
            client, f"/tenants/mini/reports/units/PA-VP/summary/export?period={JUNE}", "pdf", admin
        )
    )
    assert NAMES["P02"] in text and NAMES["P03"] in text and "83,9" in text


# --- issue 17: one rule for "overdue", the same count everywhere ------------------------------

#: Tasks of P03 (PA-VP, June) with due dates, on top of the events of ``test_reporting_api``:
#: (code, due date, the events after "assigned"). On 01/07/2026 (``TODAY``) the overdue ones
#: are those still with the lead past their due date: D-1 (assigned), D-2 (started), D-3
#: (returned); not D-4 (submitted: handed over), D-5 (approved), D-6 (due after today).
DUE_TASKS = [
    ("D-1", "2026-06-20", []),
    ("D-2", "2026-06-22", [("started", None)]),
    ("D-3", "2026-06-24", [("submitted", False), ("returned", None)]),
    ("D-4", "2026-06-24", [("submitted", True)]),
    ("D-5", "2026-06-25", [("submitted", False), ("approved", None)]),
    ("D-6", "2026-07-03", [("started", None)]),
]
OVERDUE_DUE = {"D-1", "D-2", "D-3"}
TODAY = "2026-07-01"


def _apply_due_tasks() -> None:
    events = []
    for code, due, actions in DUE_TASKS:
        data = {
            "task": code,
            "lead_person": "P03",
            "lead_unit": "PA-VP",
            "period": JUNE,
            "group": "thuong_xuyen",
            "points": "2",
            "due_date": due,
        }
        for action, late in [("assigned", None), *actions]:
            body = {**data, **({"late": late} if late is not None else {})}
            events.append(
                base.CloudEvent.of(
                    tenant="mini",
                    service="tasks",
                    entity="task",
                    action=action,
                    subject=code,
                    data=body,
                )
            )
    messages = [
        Message(topic_for(e.tenant, e.service), 1, n, e.model_dump_json().encode())
        for n, e in enumerate(events)
    ]
    with reporting_engine().begin() as conn:
        assert set(apply_batch(conn, LIVE, messages)) == {"applied"}


def test_overdue_is_one_count_on_figures_warnings_card_and_files(client: TestClient) -> None:
    """The dashboard's figures, the early warnings, the card (JSON and file) and the summary
    to the provincial office count the same overdue tasks: those of ``DUE_TASKS`` still with
    the lead past their due date, and the task flagged overdue without a due date (CV-7)."""
    _apply_due_tasks()
    flagged = {t.task for t in base.TASKS if t.outcome == "overdue" and t.tenant == "mini"}
    assert flagged == {"CV-7"}  # P02, PA-VP, no due date in its events
    head, admin = tok("P02"), tok(*ADMIN)
    day = f"period={JUNE}&today={TODAY}"

    unit = client.get(f"/tenants/mini/reports/tasks?{day}&unit=PA-VP&by=person", headers=head)
    assert unit.status_code == 200, unit.text
    body = unit.json()
    assert body["totals"]["overdue"] == len(OVERDUE_DUE) + len(flagged) == 4
    rows = {r["person"]: r["overdue"] for r in body["rows"]}
    assert rows == {"P02": 1, "P03": len(OVERDUE_DUE)}
    assert sum(g["overdue"] for g in body["by_group"]) == 4

    warnings = client.get(f"/tenants/mini/reports/warnings?{day}&person=P03", headers=head)
    assert warnings.status_code == 200, warnings.text
    found = warnings.json()
    overdue = {w["code"] for w in found["warnings"] if w["kind"] == "overdue"}
    assert overdue == OVERDUE_DUE
    assert found["task_counts"]["overdue"] == len(OVERDUE_DUE)

    card = client.get(f"/tenants/mini/reports/people/P03/card?{day}", headers=head).json()
    assert card["tasks"]["overdue"] == len(OVERDUE_DUE)
    url = f"/tenants/mini/reports/people/P03/card/export?{day}"
    values = sheet(fetch(client, url, "xlsx", head))
    assert row_of(values, "Nhiệm vụ quá hạn chưa xong (nhiệm vụ)")[1] == str(len(OVERDUE_DUE))

    url = f"/tenants/mini/reports/provincial/export?{day}"
    values = sheet(fetch(client, url, "xlsx", admin))
    line = row_of(values, str(sorted(UNITS).index("PA-VP") + 1), UNITS["PA-VP"])
    late = base.expected_tasks(tenant="mini", period=JUNE, unit="PA-VP")["late"]
    # "Chậm" = done late + overdue: D-4 is submitted (not done, not overdue), D-5 on time
    assert line[12] == str(late + len(OVERDUE_DUE) + len(flagged))


# --- issue 17: the central view over every tenant granted, with names, ranks and a file ------


def test_central_tenants_are_the_policys_grants(client: TestClient) -> None:
    with transaction(tenancy.registry_engine()) as session:
        onboarded = sorted(t.code for t in tenancy.list_tenants(session))
    platform = client.get("/central/tenants", headers=tok("C0", "central", tenant="platform"))
    assert platform.status_code == 200, platform.text
    assert [t["tenant"] for t in platform.json()["tenants"]] == onboarded
    assert {"mini", "other"} <= set(onboarded)
    names = {t["tenant"]: t["name"] for t in platform.json()["tenants"]}
    assert names["other"] == "Tỉnh Khác"
    own = client.get("/central/tenants", headers=tok("C1"))  # central in mini's file
    assert [t["tenant"] for t in own.json()["tenants"]] == ["mini"]
    staff = client.get("/central/tenants", headers=tok("P03"))
    assert staff.status_code == 200 and staff.json()["tenants"] == []


def test_central_ranking_has_names_ranks_and_a_file(client: TestClient) -> None:
    platform = tok("C0", "central", tenant="platform")
    query = f"period={JUNE}&tenants=mini&tenants=other&axis=done_percent"
    body = client.get(f"/central/rankings?{query}", headers=platform).json()
    units = {(u["tenant"], u["unit"]): u for u in body["units"]}
    for code, name in UNITS.items():
        assert units[("mini", code)]["unit_name"] == name
        assert units[("mini", code)]["tenant_name"] == "Tỉnh Thử Nghiệm"
    assert units[("other", "X1")]["tenant_name"] == "Tỉnh Khác"

    content = fetch(client, f"/central/rankings/export?{query}", "xlsx", platform)
    values = sheet(content)
    assert not any("None" in str(v) for row in values for v in row)
    for (tenant, unit), item in units.items():
        name = UNITS.get(unit, unit)
        [line] = [r for r in values if len(r) > 2 and r[2] == name]
        assert line[0] == (str(item["rank"]) if item["rank"] is not None else "Chưa xếp hạng")
        expected = base.expected_tasks(tenant=tenant, period=JUNE, unit=unit)
        assert line[4:7] == [
            str(expected["total"]),
            str(expected["done"]),
            str(expected["overdue"]),
        ]
        done = Fraction(expected["done"] * 100, expected["total"])
        assert abs(Fraction(Decimal(line[3])) - done) <= Fraction(1, 20)
    total = row_of(values, "", "Tổng cộng")
    assert total[4] == str(
        sum(base.expected_tasks(tenant=t, period=JUNE, unit=u)["total"] for t, u in units)
    )
    book = load_workbook(BytesIO(content)).active
    [rank_cell] = [r[0] for r in book.iter_rows() if r[2].value == UNITS["PA-VP"]]
    assert isinstance(rank_cell.value, int)
    text = pdf_text(fetch(client, f"/central/rankings/export?{query}", "pdf", platform))
    assert UNITS["PA-VP"] in text and "Tỉnh Khác" in text and "None" not in text
