"""``?format=xlsx|pdf`` on the evaluation records (``001 §V.2``): the person's form (Mẫu số
03) and the unit's summary and commendation lists as files, on the ``mini`` tenant (SQLite)
with planning served for real (the relation over HTTP) and the Rego policy deciding access.
Each file is reopened (openpyxl, pypdf) and compared with the JSON record of the same
endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from services.common.db import engine_for, transaction
from services.evaluation import forms, service
from tests.evaluation_service.evaluation_api_stack import (
    HEAD,
    OTHER_HEAD,
    PERIOD,
    ROOT,
    STAFF,
    TENANT,
    UNIT,
    auth,
    closed_address,
    evaluation_app,
    open_month,
    planning_stack,
)

pytestmark = pytest.mark.integration

FORMS = ROOT / "data" / "tenants" / "hanoi" / "forms"
LEADER_FORM = forms.load_template(FORMS / "phu-luc-1.yaml")
STAFF_FORM = forms.load_template(FORMS / "phu-luc-2.yaml")
BASE = f"/tenants/{TENANT}"
RECORD = f"{BASE}/evaluations/{STAFF}/{PERIOD}/record"
RECORDS = f"{BASE}/units/{UNIT}/records/{PERIOD}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """``mini`` with the Hà Nội forms, P02's and P03's June opened, P03 self-assessed by rows
    (one row half a point under its maximum); the evaluation API on the served planning."""
    with planning_stack(tmp_path, monkeypatch) as planning:
        with transaction(engine_for(TENANT, "evaluation")) as s:
            service.install_templates(s, TENANT, [LEADER_FORM, STAFF_FORM])
        open_month(HEAD)
        open_month(STAFF)
        rows = {row.code: str(row.max_points) for row in STAFF_FORM.rows}
        first = STAFF_FORM.rows[0]
        rows[first.code] = str(first.max_points - 1)
        with transaction(engine_for(TENANT, "evaluation")) as s:
            service.self_assess(s, TENANT, STAFF, PERIOD, None, STAFF, rows=rows, kind="staff")
        with TestClient(evaluation_app(planning, closed_address())) as client:
            yield client


def sheet(content: bytes) -> list[list[Any]]:
    book = load_workbook(BytesIO(content))
    return [["" if v is None else v for v in r] for r in book.active.iter_rows(values_only=True)]


def dec(value: Any) -> Any:
    """A sheet's figure (stored as a number) or the JSON's decimal text, as an exact Decimal."""
    return "" if value in ("", None) else Decimal(str(value))


def pdf_text(content: bytes) -> str:
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(BytesIO(content)).pages
    )


def file_of(api: TestClient, url: str, fmt: str, who: str) -> bytes:
    joiner = "&" if "?" in url else "?"
    answer = api.get(f"{url}{joiner}format={fmt}", headers=auth(who))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == (XLSX if fmt == "xlsx" else "application/pdf")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.isascii()
    assert unquote(disposition.split("filename*=UTF-8''")[1]).endswith(f".{fmt}")
    return answer.content


def test_the_persons_form_as_xlsx_and_pdf_holds_the_json_record(api: TestClient) -> None:
    record = api.get(RECORD, headers=auth(STAFF))
    assert record.status_code == 200, record.text
    data = record.json()
    assert data["general"]["self_points"] == "29"

    values = sheet(file_of(api, RECORD, "xlsx", STAFF))
    assert values[3][0] == f"{data['title'].upper()} THÁNG 06/2026"
    for section in data["sections"]:
        for row in section["rows"]:
            [line] = [v for v in values if v[0] == row["code"] and v[1] == row["text"]]
            assert [dec(v) for v in line[2:4]] == [dec(row["max_points"]), dec(row["self_points"])]
    [total] = [v for v in values if v[0] == "I" and v[1] == "Tổng điểm nhóm tiêu chí chung"]
    assert [dec(v) for v in total[2:4]] == [dec(data["general"]["max_points"]), Decimal(29)]

    text = pdf_text(file_of(api, RECORD, "pdf", HEAD))  # the evaluator reads it too
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert data["title"].upper() in text
    assert STAFF_FORM.rows[0].text[:40] in text


def test_the_units_lists_as_files(api: TestClient) -> None:
    answer = api.get(RECORDS, headers=auth(HEAD))
    assert answer.status_code == 200, answer.text
    summary = answer.json()["summary"]
    values = sheet(file_of(api, RECORDS, "xlsx", HEAD))
    assert values[0][0] == summary["title"].upper()
    for line in summary["lines"]:
        [row] = [v for v in values if v[:2] == [line["no"], line["person"]]]
        assert dec(row[4]) == dec(line["self_general"])
    assert next(v for v in values if v[0] == "Tổng số")[1] == summary["total"]

    commendation = answer.json()["commendation"]
    text = pdf_text(file_of(api, f"{RECORDS}?record=commendation", "pdf", HEAD))
    assert commendation["title"].upper() in text
    assert f"Tổng số {commendation['total']}" in text


@pytest.mark.parametrize(
    ("url", "who", "status", "field"),
    [
        (f"{RECORD}?format=docx", STAFF, 422, "format"),
        (f"{RECORDS}?format=pdf&record=payslip", HEAD, 422, "record"),
        (f"{BASE}/evaluations/{STAFF}/2026-13/record?format=pdf", STAFF, 422, "period"),
        (f"{BASE}/evaluations/P99/{PERIOD}/record?format=pdf", STAFF, 404, None),
        (f"{RECORD}?format=pdf", OTHER_HEAD, 403, None),
        (f"{RECORDS}?format=xlsx", STAFF, 403, None),
    ],
)
def test_refused_requests_get_no_file(
    api: TestClient, url: str, who: str, status: int, field: str | None
) -> None:
    answer = api.get(url, headers=auth(who))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    if field:
        assert any(field in d["loc"] for d in answer.json()["detail"]), answer.json()
