"""Deputies' fields (``in_charge_of``) and heads' delegations in the tenant file (issue 15,
DOMAIN.md §4): accepted when right, refused with file, line and column otherwise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.planning.excel import export_workbook, import_workbook, merge_into
from services.planning.tenant_file import TenantFile, load_tenant_file
from tests.unit.planning_data.test_tenant_file_errors import (
    assert_at,
    load_error,
    replace,
)

DEPUTY = "      - {unit: W1-VP, role: staff, title: Chuyên viên, position: CV, start: 2026-01-01}\n"
WITH_DEPUTY = replace(
    DEPUTY,
    DEPUTY
    + "  - code: P3\n    name: Lê Văn Cường\n    memberships:\n"
    + "      - {unit: W1-VP, role: deputy, title: Phó Chánh Văn phòng, start: 2026-01-01, "
    + "in_charge_of: [CV]}\n",
)
DELEGATION = (
    "delegations:\n"
    "  - {unit: W1-VP, delegate: P3, start: 2026-07-01, end: 2026-07-15, "
    "basis: Chánh Văn phòng nghỉ phép}\n"
)


def _load(tmp_path: Path, text: str) -> TenantFile:
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    return load_tenant_file(path)


def test_deputy_field_and_delegation_are_read(tmp_path: Path) -> None:
    tenant = _load(tmp_path, WITH_DEPUTY + DELEGATION)
    assert tenant.person("P3").memberships[0].in_charge_of == ("CV",)
    (d,) = tenant.delegations
    assert (d.unit, d.delegate, d.start, d.end) == (
        "W1-VP",
        "P3",
        date(2026, 7, 1),
        date(2026, 7, 15),
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "reason"),
    [
        ("in_charge_of: [CV]", "in_charge_of: [XX]", "XX", "in_charge_of[0]", "neither a unit"),
        ("in_charge_of: [CV]", "in_charge_of: [CV, CV]", "CV, CV", "in_charge_of[1]", "twice"),
        ("in_charge_of: [CV]", "in_charge_of: []", "[]", "in_charge_of", "at least 1"),
        ("role: deputy", "role: staff", "in_charge_of", "in_charge_of", "only a deputy"),
    ],
)
def test_bad_deputy_field(
    tmp_path: Path, old: str, new: str, needle: str, field: str, reason: str
) -> None:
    text = WITH_DEPUTY.replace(old, new)
    error = load_error(tmp_path, text)
    assert error.field == f"people[2].memberships[0].{field}", str(error)
    assert reason in error.reason
    line, _ = error.line, error.column
    assert line == text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "reason"),
    [
        ("delegate: P3", "delegate: P9", "P9", "delegate", "unknown person 'P9'"),
        ("delegate: P3", "delegate: P1", "P1,", "delegate", "is the head"),
        ("unit: W1-VP, delegate", "unit: W1, delegate", "W1,", "unit", "has no head"),
        ("unit: W1-VP, delegate", "unit: ZZ, delegate", "ZZ", "unit", "unknown unit"),
        ("end: 2026-07-15", "end: 2026-06-15", "2026-06-15", "end", "before start"),
        (
            "Phó Chánh Văn phòng, start: 2026-01-01",
            "Phó Chánh Văn phòng, start: 2026-08-01",
            "P3,",
            "delegate",
            "holds no post",
        ),
    ],
)
def test_bad_delegation(
    tmp_path: Path, old: str, new: str, needle: str, field: str, reason: str
) -> None:
    text = (WITH_DEPUTY + DELEGATION).replace(old, new)
    error = load_error(tmp_path, text)
    assert error.field == f"delegations[0].{field}", str(error)
    assert reason in error.reason
    start = text.index("delegations:")
    assert_at(error, text, needle, nth=text[:start].count(needle) + 1)


def test_overlapping_delegations_are_refused(tmp_path: Path) -> None:
    second = "  - {unit: W1-VP, delegate: P3, start: 2026-07-10, end: 2026-07-20, basis: Lần hai}\n"
    text = WITH_DEPUTY + DELEGATION + second
    error = load_error(tmp_path, text)
    assert error.field == "delegations[1].start" and "overlaps" in error.reason
    later = second.replace("2026-07-10", "2026-07-16")
    assert len(_load(tmp_path, WITH_DEPUTY + DELEGATION + later).delegations) == 2


def test_fields_round_trip_through_excel(hanoi: TenantFile, tmp_path: Path) -> None:
    path = tmp_path / "hanoi.xlsx"
    export_workbook(hanoi, path)
    imported = import_workbook(path)
    deputy = next(p for p in imported.people if p.code == "P020")
    assert deputy.memberships[0].in_charge_of == ("VP-VT", "VP-KT")
    assert imported.has_fields and merge_into(hanoi, imported) == hanoi


def test_a_workbook_without_the_column_keeps_the_fields(hanoi: TenantFile, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "old.xlsx"
    export_workbook(hanoi, path)
    wb = load_workbook(path)
    ws = wb["Cán bộ"]
    column = next(c.column for c in ws[2] if c.value == "in_charge_of")
    ws.delete_cols(column)
    wb.save(path)
    imported = import_workbook(path)
    assert not imported.has_fields
    assert all(m.in_charge_of is None for p in imported.people for m in p.memberships)
    merged = merge_into(hanoi, imported)
    assert merged.person("P020").memberships[0].in_charge_of == ("VP-VT", "VP-KT")
