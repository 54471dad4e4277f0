"""Excel and PDF exports of the evaluation records and reports (issue 6, "Exports").

The records are built by ``services/evaluation/records.py`` from evaluation snapshots and the
shipped Phụ lục 2 form, so the exports are checked against the exact shapes they will receive.
The xlsx is reopened with openpyxl, the PDF is read back with pypdf (text, embedded fonts) and
page 1 is rendered with pypdfium2.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import typer
from openpyxl import load_workbook
from pydantic import ValidationError
from pypdf import PdfReader
from typer.testing import CliRunner

from services.common.exports import export
from services.evaluation import forms, records
from woms.export_cmds import export as export_cmd

ROOT = Path(__file__).resolve().parents[3]
FORM = ROOT / "data" / "tenants" / "hanoi" / "forms" / "phu-luc-2.yaml"
NAMES = {"P001": "Nguyễn Văn Ánh", "P002": "Trần Thị Bích Hường", "P003": "Lê Đức Thắng"}


def snap(person: str, status: str, score: str | None, final: str | None, **extra: Any) -> dict:
    base = {
        "person": person,
        "unit": "Phòng Văn hóa - Xã hội",
        "period": "2026-06",
        "status": status,
        "suggested_a": "104/132",
        "suggested_b": "97/132",
        "suggested_c": "104/132",
        "self_general": "30",
        "review_general": "29.5",
        "score": score,
        "grade": final,
        "final_grade": final,
        "review_comment": None,
        "flags": [],
    }
    return {**base, **extra}


def person_form() -> dict:
    template = forms.load_template(FORM)
    own = {row.code: str(row.max_points) for s in template.sections for row in s.rows}
    manager = {**own, "1.1": "1.5"}
    ref = {"form": "phu-luc-2", "kind": "staff", "effective_from": "2026-01-01"}
    return records.person_form(
        snap(
            "P001",
            "decided",
            "83.4",
            "B",
            self_rows={**ref, "points": own},
            review_rows={**ref, "points": manager},
            review_comment="Chủ động, đúng hạn; cần nâng chất lượng văn bản.",
        ),
        template,
        NAMES["P001"],
    )


def month_snaps() -> list[dict]:
    return [
        snap("P003", "published", "95.2", "A"),
        snap("P001", "decided", "83.9", "B"),
        snap("P002", "published", "96.5", "A"),
        snap("P004", "not_evaluated", None, None, suggested_a=None),
    ]


PERSON_CARD = {  # 002, "Báo cáo nhiệm vụ được giao" and "Bảng điểm … tháng 6/2026"
    "record": "person_card",
    "person": "P001",
    "name": "Nguyễn Văn A",
    "unit": "Phường Phúc Lợi",
    "period": "2026-06",
    "groups": [
        {"group": "Nhóm OKR/KPI", "tasks": 3, "points": "57"},
        {"group": "Nhóm nhiệm vụ thường xuyên", "tasks": 8, "points": "64"},
        {"group": "Nhóm phát sinh", "tasks": 1, "points": "11"},
    ],
    "tasks": 12,
    "points": "132",
    "tasks_done": 10,
    "a": "104",
    "b": "97",
    "c": "104",
    "task_percent": "77",
    "general": "30",
    "score": "83.9",
    "grade": "B",
    "grade_label": "Hoàn thành tốt nhiệm vụ",
}


def provincial(kind: str = "monthly", period: str = "2026-06") -> dict:
    unit = {"A": 1, "B": 2, "C": 0, "D": 0, "not_evaluated": 1, "tasks_late": 3}
    return {
        "record": "provincial_summary",
        "kind": kind,
        "province": "Thanh Hóa",
        "reporter": "Ban Tổ chức Tỉnh ủy",
        "period": period,
        "units": [
            {
                "unit": "Văn phòng Tỉnh ủy",
                "people": 4,
                "evaluated": 3,
                **unit,
                "tasks": 40,
                "tasks_done": 35,
                "score_total": "251.7",
            },
            {
                "unit": "Sở Khoa học và Công nghệ",
                "people": 5,
                "evaluated": 4,
                **{**unit, "C": 1, "not_evaluated": 0, "tasks_late": 1},
                "tasks": 30,
                "tasks_done": 29,
                "score_total": "330.05",
            },
        ],
    }


def _figure_text(value: Any) -> Any:
    """A figure stored as a number (issue 17: numbers as numbers), compared as its exact text
    (``1.5`` → ``"1.5"``, ``2`` → ``"2"``); text cells as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return format(Decimal(str(value)).normalize(), "f")


def sheet_values(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(BytesIO(content)).active
    return [[_figure_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def row_starting(values: list[list[Any]], *head: Any) -> list[Any]:
    matches = [row for row in values if tuple(row[: len(head)]) == head]
    assert len(matches) == 1, (head, matches)
    return matches[0]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def embedded_fonts(content: bytes) -> set[str]:
    """BaseFont names of the fonts whose program is embedded (FontFile2/3) in the PDF."""
    names = set()
    for page in PdfReader(BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor or "/FontFile3" in descriptor:
                    names.add(str(font["/BaseFont"]))
    return names


def render_first_page(content: bytes, png: Path) -> tuple[float, int]:
    """Render page 1 to ``png``; return (share of dark pixels, distinct grey levels)."""
    page = pypdfium2.PdfDocument(content)[0]
    image = page.render(scale=1.5).to_pil().convert("L")
    image.save(png)
    histogram = image.histogram()
    dark = sum(histogram[:128]) / (image.width * image.height)
    return dark, sum(1 for count in histogram if count)


def test_person_form_xlsx_has_rows_and_exact_points() -> None:
    record = person_form()
    values = sheet_values(export(record, "xlsx"))
    assert values[0][0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert any(row[0] == "PHIẾU TỰ ĐÁNH GIÁ, CHẤM ĐIỂM XẾP LOẠI THÁNG 06/2026" for row in values)
    assert row_starting(values, "Họ và tên:")[1] == "Nguyễn Văn Ánh"
    first = record["sections"][0]["rows"][0]
    assert row_starting(values, "1.1")[:5] == ["1.1", first["text"], "2", "2", "1.5"]
    assert row_starting(values, "1")[1:5] == [
        "Về chính trị, phẩm chất đạo đức và ý thức tổ chức kỷ luật",
        "15",
        "15",
        "14.5",
    ]
    assert row_starting(values, "I")[2:5] == ["30", "30", "29.5"]
    assert row_starting(values, "Khối lượng (a)")[1] == "26/33"  # 104/132, exact
    assert row_starting(values, "Kết quả thực hiện nhiệm vụ (%)")[1] == "77"
    assert row_starting(values, "Tổng điểm")[1] == "83.4"
    assert row_starting(values, "Xếp loại quyết định")[1] == "B — Hoàn thành tốt nhiệm vụ"


def test_person_form_pdf_text_fonts_and_rendering(tmp_path: Path) -> None:
    record = person_form()
    content = export(record, "pdf")
    text = pdf_text(content)
    assert unicodedata.is_normalized("NFC", text)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "PHIẾU TỰ ĐÁNH GIÁ, CHẤM ĐIỂM XẾP LOẠI THÁNG 06/2026",
        "Nguyễn Văn Ánh",
        "Về chính trị, phẩm chất đạo đức và ý thức tổ chức kỷ luật",
        "Chủ động, đúng hạn; cần nâng chất lượng văn bản.",
        "Hoàn thành tốt nhiệm vụ",
    ):
        assert expected in text, expected
    # every criterion's text is in the PDF (table cells wrap, so compare without spaces)
    squeezed = "".join(text.split())
    for section in record["sections"]:
        for row in section["rows"]:
            assert "".join(row["text"].split()) in squeezed, row["code"]
    fonts = embedded_fonts(content)
    assert fonts and all("BeVietnamPro" in name for name in fonts), fonts
    dark, greys = render_first_page(content, tmp_path / "form.png")
    assert 0.01 < dark < 0.5 and greys > 16


def test_unit_summary_and_commendation_list_keep_lines_and_totals(tmp_path: Path) -> None:
    summary = records.unit_summary("Phòng Văn hóa - Xã hội", "2026-06", month_snaps(), NAMES)
    values = sheet_values(export(summary, "xlsx"))
    for line in summary["lines"]:
        row = row_starting(values, str(line["no"]), line["person"])
        assert row[2] == (line["name"] or None)
        assert row[7] == line["score"]
    assert row_starting(values, "2", "P002")[9] == "A — Hoàn thành xuất sắc nhiệm vụ"
    assert row_starting(values, "4", "P004")[3] == "Không đánh giá"
    assert row_starting(values, "A — Hoàn thành xuất sắc nhiệm vụ")[1] == "2"
    assert row_starting(values, "Tổng số")[1] == str(summary["total"]) == "4"
    text = pdf_text(export(summary, "pdf"))
    assert "DANH SÁCH TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CBCCVC THÁNG 06/2026" in text
    assert "Trần Thị Bích Hường" in text and "Lê Đức Thắng" in text

    proposed = records.commendation_list("Phòng Văn hóa - Xã hội", "2026-06", month_snaps(), NAMES)
    values = sheet_values(export(proposed, "xlsx"))
    assert row_starting(values, "1", "P002")[2:4] == ["Trần Thị Bích Hường", "96.5"]
    assert row_starting(values, "2", "P003")[2:4] == ["Lê Đức Thắng", "95.2"]
    assert row_starting(values, None, None, "Tổng số")[3] == str(proposed["total"]) == "2"
    content = export(proposed, "pdf")
    assert "Hoàn thành xuất sắc nhiệm vụ tháng 06/2026" in pdf_text(content)
    dark, _ = render_first_page(content, tmp_path / "commendation.png")
    assert dark > 0.005


def test_person_card_of_002_and_its_totals(tmp_path: Path) -> None:
    values = sheet_values(export(PERSON_CARD, "xlsx"))
    assert any(row[0] == "BÁO CÁO NHIỆM VỤ ĐƯỢC GIAO THÁNG 06/2026" for row in values)
    for group in PERSON_CARD["groups"]:
        assert row_starting(values, group["group"])[1:3] == [str(group["tasks"]), group["points"]]
    assert row_starting(values, "Tổng cộng")[1:3] == ["12", "132"]
    assert row_starting(values, "Chất lượng (b)")[1] == "97/132 điểm"
    assert row_starting(values, "Tổng điểm")[1] == "83.9"
    content = export(PERSON_CARD, "pdf")
    text = pdf_text(content)
    for expected in ("Nhóm nhiệm vụ thường xuyên", "Nhóm phát sinh", "104/132 điểm", "77%"):
        assert expected in text, expected
    dark, _ = render_first_page(content, tmp_path / "card.png")
    assert dark > 0.005
    decomposed = {**PERSON_CARD, "name": unicodedata.normalize("NFD", "Đặng Thị Hương")}
    assert "Đặng Thị Hương" in pdf_text(export(decomposed, "pdf"))
    wrong = {**PERSON_CARD, "points": "131"}
    with pytest.raises(ValidationError, match="groups' sum 132"):
        export(wrong, "xlsx")


@pytest.mark.parametrize(
    ("kind", "period", "title"),
    [
        ("monthly", "2026-06", "BÁO CÁO TỔNG HỢP KẾT QUẢ THỰC HIỆN KPI THÁNG 06/2026"),
        ("quarterly", "2026-Q3", "QUÝ III/2026"),
    ],
    ids=["monthly", "quarterly"],
)
def test_provincial_summary_totals_equal_the_units(kind: str, period: str, title: str) -> None:
    data = provincial(kind, period)
    values = sheet_values(export(data, "xlsx"))
    assert any(row[0] and title in row[0] for row in values)
    total = row_starting(values, None, "Tổng cộng")
    units = data["units"]
    for index, key in enumerate(("people", "evaluated", "A", "B", "C", "D"), 2):
        assert total[index] == str(sum(u[key] for u in units))
    assert total[8:10] == [str(sum(u["not_evaluated"] for u in units)), "70"]
    # 251.7 / 3 = 83.9; 330.05 / 4 = 82.5125 → 82.5; (251.7 + 330.05) / 7 = 83.107… → 83.1
    assert row_starting(values, "1", "Văn phòng Tỉnh ủy")[13] == "83.9"
    assert row_starting(values, "2", "Sở Khoa học và Công nghệ")[13] == "82.5"
    expected_mean = (sum(Decimal(u["score_total"]) for u in units) / 7).quantize(Decimal("0.1"))
    assert total[13] == str(expected_mean) == "83.1"
    assert total[11] == "91.4"  # 64 / 70 done
    text = pdf_text(export(data, "pdf"))
    assert "Thường trực Tỉnh ủy" in text and "Sở Khoa học và Công nghệ" in text


def test_provincial_summary_rejects_counts_that_do_not_add_up() -> None:
    data = provincial()
    data["units"][0]["A"] = 2
    with pytest.raises(ValidationError, match="A \\+ B \\+ C \\+ D"):
        export(data, "pdf")
    with pytest.raises(ValidationError, match="YYYY-Qn"):
        export(provincial("quarterly", "2026-07"), "pdf")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(export_cmd)
    return app


def test_cli_writes_xlsx_and_pdf(tmp_path: Path) -> None:
    source = tmp_path / "card.json"
    source.write_text(json.dumps(PERSON_CARD, ensure_ascii=False, indent=2), encoding="utf-8")
    xlsx, pdf = tmp_path / "out" / "card.xlsx", tmp_path / "out" / "card.pdf"
    result = CliRunner().invoke(cli(), [str(source), "--out", str(xlsx), "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    assert row_starting(sheet_values(xlsx.read_bytes()), "Tổng cộng")[1:3] == ["12", "132"]
    assert "Nguyễn Văn A" in pdf_text(pdf.read_bytes())


def test_cli_bad_input_names_file_line_column_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "card.json"
    bad = {**PERSON_CARD, "score": "83,9"}
    text = json.dumps(bad, ensure_ascii=False, indent=2)
    source.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '"score"' in t)
    column = text.splitlines()[line - 1].index('"83,9"') + 1
    out = tmp_path / "card.pdf"
    result = CliRunner().invoke(cli(), [str(source), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{source}:{line}:{column}: score:" in result.output
    assert not out.exists()

    source.write_text('{"record": "person_card",\n "tasks": }', encoding="utf-8")
    result = CliRunner().invoke(cli(), [str(source), "--out", str(out)])
    assert result.exit_code == 2 and f"{source}:2:" in result.output
    source.write_text('{"record": "payslip"}', encoding="utf-8")
    result = CliRunner().invoke(cli(), [str(source), "--out", str(out)])
    assert result.exit_code == 2 and f"{source}:1:12: record:" in result.output
    assert not out.exists()


def test_head_form_shows_d_dd_e_and_totals_only_form() -> None:
    factors = {"proposed": {"d": True, "dd": False, "e": True}, "confirmed": None}
    head = records.person_form(
        snap("P009", "decided", "86", "B", leader_factors=factors), None, "Phạm Quốc Đạt"
    )
    values = sheet_values(export(head, "xlsx"))
    assert row_starting(values, "Đơn vị đúng kế hoạch (đ)")[1] == "1/2"
    assert row_starting(values, "Cấp dưới hoàn thành (d)")[1] == "1"
    percent = row_starting(values, "Kết quả thực hiện nhiệm vụ (%)")[1]
    assert percent == head["task_result"]["percent"] == "80.2"  # (305/132 + 1 + 1/2 + 1) / 6
    assert row_starting(values, "I")[2:5] == ["30", "30", "29.5"]  # totals without rows
    assert "Phạm Quốc Đạt" in pdf_text(export(head, "pdf"))


# --- `woms export` through the `woms` app -------------------------------------------------------


def test_woms_export_runs_through_the_woms_app(tmp_path: Path) -> None:
    from woms.cli import app

    source = tmp_path / "summary.json"
    summary = records.unit_summary("Phòng Văn hóa - Xã hội", "2026-06", month_snaps(), NAMES)
    source.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    xlsx, pdf = tmp_path / "ds.xlsx", tmp_path / "ds.pdf"
    result = CliRunner().invoke(app, ["export", str(source), "-o", str(xlsx), "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    values = sheet_values(xlsx.read_bytes())
    assert row_starting(values, "1", "P001")[2:3] == [NAMES["P001"]]
    assert row_starting(values, "Tổng số")[1] == "4"
    text = pdf_text(pdf.read_bytes())
    assert all(name in text for name in NAMES.values())

    # bad input: exit 2, file:line:column, nothing written
    bad = json.dumps({**summary, "total": "bốn"}, ensure_ascii=False, indent=1)
    source.write_text(bad, encoding="utf-8")
    line = next(n for n, t in enumerate(bad.splitlines(), 1) if t.startswith(' "total"'))
    column = bad.splitlines()[line - 1].index('"bốn"') + 1
    out = tmp_path / "again.pdf"
    result = CliRunner().invoke(app, ["export", str(source), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{source}:{line}:{column}: total:" in result.output
    result = CliRunner().invoke(app, ["export", str(source), "--out", str(tmp_path / "x.docx")])
    assert result.exit_code == 2 and "x.docx" in result.output
    assert not out.exists() and not (tmp_path / "x.docx").exists()


# --- the card from the read models (no a, b, c) and the download headers ----------------------


def test_card_without_abc_shows_the_read_model_figures() -> None:
    card = {
        key: value
        for key, value in PERSON_CARD.items()
        if key not in ("a", "b", "c", "task_percent", "general")
    }
    card["groups"] = [
        {**g, "tasks_done": done, "points_completed": completed}
        for g, done, completed in zip(
            PERSON_CARD["groups"], (3, 6, 1), ("57", "48.5", "11"), strict=True
        )
    ]
    card.update(points_completed="116.5", tasks_late=2, tasks_overdue=1, tasks_returned=0)
    values = sheet_values(export(card, "xlsx"))
    assert row_starting(values, "Nhóm nhiệm vụ thường xuyên")[1:5] == ["8", "64", "6", "48.5"]
    assert row_starting(values, "Tổng cộng")[1:5] == ["12", "132", "10", "116.5"]
    assert row_starting(values, "Điểm hoàn thành")[1] == "116.5/132 điểm"
    assert row_starting(values, "Nhiệm vụ hoàn thành trễ hạn (nhiệm vụ)")[1] == "2"
    assert not [row for row in values if row[0] == "Khối lượng (a)"]
    with pytest.raises(ValidationError, match="tasks_done"):
        export({**card, "tasks_done": 9}, "pdf")
    with pytest.raises(ValidationError, match="points_completed"):
        export({**card, "points_completed": "116"}, "pdf")


def test_content_disposition_keeps_the_vietnamese_name_and_an_ascii_fallback() -> None:
    from urllib.parse import unquote

    from services.common.exports.download import content_disposition

    name = "Danh sách đề nghị khen thưởng PA-VP 2026-06.pdf"
    header = content_disposition(name)
    assert header.startswith(
        'attachment; filename="Danh-sach-de-nghi-khen-thuong-PA-VP-2026-06.pdf";'
    )
    assert unquote(header.split("filename*=UTF-8''")[1]) == name
    hostile = content_disposition('Báo "cáo"/\r\nĐạt.xlsx')
    assert "\r" not in hostile and "\n" not in hostile
    assert hostile.split('filename="')[1].split('"')[0] == "Bao-cao-Dat.xlsx"
