"""Excel import/export of units, positions, people and catalog (services/planning/excel.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from services.common.errors import InputError
from services.planning import excel
from services.planning.excel import (
    CATALOG_SHEET,
    PEOPLE_SHEET,
    SHEETS,
    UNITS_SHEET,
    ImportedOrg,
    export_workbook,
    import_workbook,
    merge_into,
    write_template,
)
from services.planning.tenant_file import TenantFile

FIRST = excel.FIRST_DATA_ROW


def column_of(spec: excel.SheetSpec, code: str) -> int:
    return [c.code for c in spec.columns].index(code) + 1


def edit(path: Path, change: Callable[[Workbook], Any]) -> Path:
    wb = load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def import_error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        import_workbook(path)
    assert caught.value.source == str(path)
    return caught.value


@pytest.fixture
def hanoi_xlsx(hanoi: TenantFile, tmp_path: Path) -> Path:
    path = tmp_path / "hanoi.xlsx"
    export_workbook(hanoi, path)
    return path


# ------------------------------------------------------------------------------ template


def test_template_has_the_sheets_and_headers(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert wb.sheetnames == [
        "Hướng dẫn",
        "Đơn vị",
        "Vị trí việc làm",
        "Cán bộ",
        "Danh mục công việc",
    ]
    for spec in SHEETS:
        ws = wb[spec.name]
        titles = [c.value for c in ws[excel.TITLE_ROW]]
        codes = [c.value for c in ws[excel.CODE_ROW]]
        assert codes == [c.code for c in spec.columns]
        assert all(isinstance(t, str) and t for t in titles)
        assert ws.max_row == excel.CODE_ROW
    people = wb["Cán bộ"]
    lists = {dv.formula1 for dv in people.data_validations.dataValidation}
    assert '"head,deputy,staff"' in lists
    role_letter = "E"
    assert people[f"{role_letter}{excel.CODE_ROW}"].value == "role"
    assert any(
        role_letter + str(FIRST) in str(dv.sqref) for dv in people.data_validations.dataValidation
    )
    units = wb["Đơn vị"]
    assert '"party,council,committee,front,public_service"' in {
        dv.formula1 for dv in units.data_validations.dataValidation
    }
    guide = [c.value for row in wb["Hướng dẫn"].iter_rows() for c in row if c.value]
    assert len(guide) > 40 and any("dòng 2" in str(v) for v in guide)
    assert "head" in guide and "Cấp trưởng (người đứng đầu)" in guide


def test_empty_template_imports_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    assert import_workbook(path) == ImportedOrg((), (), (), ())


# ------------------------------------------------------------------------------ round trip


def test_round_trip(tenant: TenantFile, tmp_path: Path) -> None:
    path = tmp_path / f"{tenant.code}.xlsx"
    export_workbook(tenant, path)
    imported = import_workbook(path)
    assert imported.units == tenant.units
    assert imported.positions == tenant.positions
    assert imported.people == tenant.people
    assert imported.catalog == tenant.catalog
    assert merge_into(tenant, imported) == tenant
    rows = load_workbook(path)["Cán bộ"].max_row - excel.CODE_ROW
    assert rows == sum(len(p.memberships) for p in tenant.people)


def test_round_trip_keeps_exact_decimals(hanoi: TenantFile, tmp_path: Path) -> None:
    odd = hanoi.catalog[0].model_copy(update={"coefficient": Decimal("0.12345678901234567891")})
    tenant = TenantFile.model_validate({**dict(hanoi), "catalog": (odd, *hanoi.catalog[1:])})
    path = tmp_path / "odd.xlsx"
    export_workbook(tenant, path)
    assert import_workbook(path).catalog[0].coefficient == Decimal("0.12345678901234567891")


def test_text_dates_and_comma_decimals_are_read(hanoi_xlsx: Path) -> None:
    def change(wb: Workbook) -> None:
        ws = wb["Danh mục công việc"]
        ws.cell(FIRST, column_of(CATALOG_SHEET, "coefficient")).value = "0,75"
        ws.cell(FIRST, column_of(CATALOG_SHEET, "effective_from")).value = "15/02/2026"

    item = import_workbook(edit(hanoi_xlsx, change)).catalog[0]
    assert item.coefficient == Decimal("0.75") and item.effective_from == date(2026, 2, 15)


def test_continuation_rows_may_leave_name_empty(hanoi_xlsx: Path, hanoi: TenantFile) -> None:
    row = FIRST + 1  # second row: P001's second membership (kiêm nhiệm)

    def change(wb: Workbook) -> None:
        ws = wb["Cán bộ"]
        assert ws.cell(row, 1).value == ws.cell(FIRST, 1).value == "P001"
        ws.cell(row, column_of(PEOPLE_SHEET, "name")).value = None

    assert import_workbook(edit(hanoi_xlsx, change)).people == hanoi.people


# ------------------------------------------------------------------------------ bad cells


def test_bad_role_at_row_7(hanoi_xlsx: Path) -> None:
    col = column_of(PEOPLE_SHEET, "role")
    edit(hanoi_xlsx, lambda wb: setattr(wb["Cán bộ"].cell(7, col), "value", "boss"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column, error.field) == (7, col, "Cán bộ!role")
    assert "'boss'" in error.reason
    assert str(error).startswith(f"{hanoi_xlsx}:7:{col}: Cán bộ!role: ")


def test_missing_unit_code(hanoi_xlsx: Path) -> None:
    col = column_of(PEOPLE_SHEET, "unit")
    edit(hanoi_xlsx, lambda wb: setattr(wb["Cán bộ"].cell(12, col), "value", None))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column, error.field) == (12, col, "Cán bộ!unit")
    assert "missing" in error.reason


def test_unknown_unit_code(hanoi_xlsx: Path) -> None:
    col = column_of(PEOPLE_SHEET, "unit")
    edit(hanoi_xlsx, lambda wb: setattr(wb["Cán bộ"].cell(20, col), "value", "PL-KHONG-CO"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column, error.field) == (20, col, "Cán bộ!unit")
    assert "unknown unit 'PL-KHONG-CO'" in error.reason


def test_non_numeric_coefficient(hanoi_xlsx: Path) -> None:
    col = column_of(CATALOG_SHEET, "coefficient")
    edit(hanoi_xlsx, lambda wb: setattr(wb["Danh mục công việc"].cell(9, col), "value", "hai"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column, error.field) == (9, col, "Danh mục công việc!coefficient")
    assert "must be a number" in error.reason


def test_first_bad_row_is_reported(hanoi_xlsx: Path) -> None:
    role, start = column_of(PEOPLE_SHEET, "role"), column_of(PEOPLE_SHEET, "start")

    def change(wb: Workbook) -> None:
        ws = wb["Cán bộ"]
        ws.cell(30, role).value = "boss"
        ws.cell(11, start).value = "ngày mai"

    error = import_error(edit(hanoi_xlsx, change))
    assert (error.line, error.column) == (11, start)


@pytest.mark.parametrize("people_cell", [("role", "boss"), ("start", "hôm qua")])
def test_sheets_are_checked_in_order(hanoi_xlsx: Path, people_cell: tuple[str, str]) -> None:
    def change(wb: Workbook) -> None:
        wb["Cán bộ"].cell(FIRST, column_of(PEOPLE_SHEET, people_cell[0])).value = people_cell[1]
        wb["Đơn vị"].cell(15, column_of(UNITS_SHEET, "axis")).value = "army"

    error = import_error(edit(hanoi_xlsx, change))
    assert (error.field, error.line) == ("Đơn vị!axis", 15)


def test_duplicate_unit_code(hanoi_xlsx: Path) -> None:
    edit(hanoi_xlsx, lambda wb: setattr(wb["Đơn vị"].cell(10, 1), "value", "PL-DU"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column, error.field) == (10, 1, "Đơn vị!code")
    assert "duplicate code 'PL-DU'" in error.reason and "(see row 5)" in error.reason


def test_two_heads_at_once(hanoi_xlsx: Path) -> None:
    col = column_of(PEOPLE_SHEET, "role")

    def change(wb: Workbook) -> None:
        ws = wb["Cán bộ"]
        # row 10: P007 Chánh Văn phòng Đảng ủy (head); row 12: P009, staff of the same office
        assert [ws.cell(r, col).value for r in (10, 12)] == ["head", "staff"]
        ws.cell(12, col).value = "head"

    error = import_error(edit(hanoi_xlsx, change))
    assert (error.line, error.column) == (12, col)
    assert "two heads" in error.reason and "(see row 10)" in error.reason


def test_person_fields_must_agree(hanoi_xlsx: Path) -> None:
    col = column_of(PEOPLE_SHEET, "name")
    edit(hanoi_xlsx, lambda wb: setattr(wb["Cán bộ"].cell(FIRST + 1, col), "value", "Người khác"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column) == (FIRST + 1, col)
    assert f"differs from row {FIRST}" in error.reason


def test_header_problems(hanoi_xlsx: Path, tmp_path: Path) -> None:
    edit(hanoi_xlsx, lambda wb: setattr(wb["Cán bộ"].cell(excel.CODE_ROW, 5), "value", "vai_tro"))
    error = import_error(hanoi_xlsx)
    assert (error.line, error.column) == (excel.CODE_ROW, 5)
    assert "unknown field code 'vai_tro'" in error.reason
    path = tmp_path / "no-sheet.xlsx"
    write_template(path)
    edit(path, lambda wb: wb.remove(wb["Danh mục công việc"]))
    assert "missing sheet" in import_error(path).reason
    bad = tmp_path / "not.xlsx"
    bad.write_text("không phải Excel", encoding="utf-8")
    assert import_error(bad).field == "file"


def test_all_or_nothing(hanoi: TenantFile, hanoi_xlsx: Path) -> None:
    col = column_of(CATALOG_SHEET, "complexity_group")
    # the last row only is bad: every earlier row is fine, still nothing comes back
    last = FIRST + len(hanoi.catalog) - 1
    edit(hanoi_xlsx, lambda wb: setattr(wb["Danh mục công việc"].cell(last, col), "value", 9))
    result: list[ImportedOrg] = []
    with pytest.raises(InputError) as caught:
        result.append(import_workbook(hanoi_xlsx))
    assert result == []
    assert (caught.value.line, caught.value.column) == (last, col)


# ------------------------------------------------------------------------------ merge


def test_merge_into_replaces_and_rechecks(hanoi: TenantFile, hanoi_xlsx: Path) -> None:
    imported = import_workbook(hanoi_xlsx)
    fewer = ImportedOrg(imported.units, imported.positions, imported.people, imported.catalog[:5])
    merged = merge_into(hanoi, fewer)
    assert len(merged.catalog) == 5 and merged.plans == hanoi.plans
    # dropping the person of a plan and of an override breaks the tenant's cross-checks
    without = tuple(p for p in imported.people if p.code != "P002")
    with pytest.raises(InputError) as caught:
        merge_into(hanoi, ImportedOrg(imported.units, imported.positions, without, ()))
    assert caught.value.field == "evaluator_overrides[0].person"
    assert caught.value.line is None and "unknown person 'P002'" in caught.value.reason
