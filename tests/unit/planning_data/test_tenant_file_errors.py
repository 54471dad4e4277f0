"""Bad tenant files raise InputError naming file, line and column of the node at fault."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.errors import InputError
from services.planning.tenant_file import (
    CatalogItem,
    KeyResult,
    Membership,
    TenantFile,
    load_tenant_file,
    parse_tenant_yaml,
)

BASE = """\
code: demo
name: Tỉnh Thử nghiệm
units:
  - code: TN
    name: Tỉnh Thử nghiệm
    axis: committee
    type: province
  - code: W1
    name: Phường Một
    axis: committee
    type: ward
    parent: TN
  - code: W1-VP
    name: Văn phòng HĐND và UBND phường
    axis: committee
    type: office
    parent: W1
positions:
  - {code: CV, name: Chuyên viên, unit: W1-VP}
people:
  - code: P1
    name: Nguyễn Văn An
    memberships:
      - {unit: W1-VP, role: head, title: Chánh Văn phòng, start: 2026-01-01}
  - code: P2
    name: Trần Thị Bình
    memberships:
      - {unit: W1-VP, role: staff, title: Chuyên viên, position: CV, start: 2026-01-01}
evaluator_overrides:
  - {person: P2, evaluator: P1, reason: Chánh Văn phòng đánh giá}
catalog:
  - code: VB-01
    unit: W1-VP
    name: Soạn thảo văn bản
    complexity_group: 1
    standard_unit: văn bản
    coefficient: 1.0
    effective_from: 2026-01-01
plans:
  - code: TN-2026
    owner_unit: TN
    period: {kind: year, year: 2026}
    objectives:
      - code: TN-O1
        title: Cải cách hành chính
        perspective: process
        weight: 100
        key_results:
          - code: TN-O1-KR1
            title: Tỷ lệ hồ sơ quá hạn
            kind: kpi
            unit_of_measure: "%"
            direction: lower
            target: 2
            complete_threshold: 2
            exceed_threshold: 1
            fail_threshold: 5
            weight: 100
  - code: W1-2026
    owner_unit: W1
    period: {kind: year, year: 2026}
    objectives:
      - code: W1-O1
        title: Giảm hồ sơ quá hạn
        perspective: process
        weight: 100
        parent_key_result: TN-O1-KR1
        key_results:
          - code: W1-O1-KR1
            title: Tỷ lệ hồ sơ quá hạn của phường
            kind: kpi
            unit_of_measure: "%"
            direction: lower
            target: 1.5
            complete_threshold: 1.5
            exceed_threshold: 0.5
            fail_threshold: 3
            weight: 100
"""


def position(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def replace(old: str, new: str, nth: int = 1) -> str:
    """BASE with the ``nth`` occurrence of ``old`` replaced by ``new``."""
    at = -1
    for _ in range(nth):
        at = BASE.index(old, at + 1)
    return BASE[:at] + new + BASE[at + len(old) :]


def load_error(tmp_path: Path, text: str) -> InputError:
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_tenant_file(path)
    assert caught.value.source == str(path)
    return caught.value


def assert_at(error: InputError, text: str, needle: str, nth: int = 1) -> None:
    assert (error.line, error.column) == position(text, needle, nth), str(error)


def test_base_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(BASE, encoding="utf-8")
    tenant = load_tenant_file(path)
    assert [u.code for u in tenant.units] == ["TN", "W1", "W1-VP"]
    assert tenant.plans[1].objectives[0].parent_key_result == "TN-O1-KR1"


def test_message_format(tmp_path: Path) -> None:
    text = replace("role: staff", "role: boss")
    error = load_error(tmp_path, text)
    line, column = position(text, "boss")
    assert str(error) == (
        f"{tmp_path / 'tenant.yaml'}:{line}:{column}: people[1].memberships[0].role: "
        "Input should be 'head', 'deputy' or 'staff' (got 'boss')"
    )


def test_unknown_key(tmp_path: Path) -> None:
    text = replace("    type: ward\n", "    type: ward\n    colour: red\n")
    error = load_error(tmp_path, text)
    assert_at(error, text, "colour")
    assert error.field == "units[1].colour" and "unknown key 'colour'" in error.reason


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = BASE + "extra_section: []\n"
    error = load_error(tmp_path, text)
    assert_at(error, text, "extra_section")


def test_bad_enum(tmp_path: Path) -> None:
    text = replace("perspective: process", "perspective: customers", nth=2)
    error = load_error(tmp_path, text)
    assert_at(error, text, "customers")
    assert error.field == "plans[1].objectives[0].perspective"


def test_bad_enum_in_flow_mapping(tmp_path: Path) -> None:
    text = replace("kind: year", "kind: yearly", nth=1)
    error = load_error(tmp_path, text)
    assert_at(error, text, "yearly")
    assert error.field == "plans[0].period.kind"


def test_missing_key_points_at_the_mapping(tmp_path: Path) -> None:
    text = replace("    name: Phường Một\n", "")
    error = load_error(tmp_path, text)
    assert_at(error, text, "code: W1")
    assert error.field == "units[1].name" and "missing" in error.reason


@pytest.mark.parametrize(
    ("old", "new", "nth", "needle", "field"),
    [
        ("code: W1-VP\n", "code: W1\n", 1, "code: W1\n", "units[2].code"),
        ("code: P2", "code: P1", 1, "code: P1", "people[1].code"),
        ("{code: CV,", "{code: CV2,", 1, None, None),  # control: no duplicate
        ("code: W1-2026", "code: TN-2026", 1, "code: TN-2026", "plans[1].code"),
        ("code: W1-O1\n", "code: TN-O1\n", 1, "code: TN-O1\n", "plans[1].objectives[0].code"),
        (
            "code: W1-O1-KR1",
            "code: TN-O1-KR1",
            1,
            "code: TN-O1-KR1",
            "plans[1].objectives[0].key_results[0].code",
        ),
    ],
)
def test_duplicate_codes(
    tmp_path: Path, old: str, new: str, nth: int, needle: str | None, field: str | None
) -> None:
    text = replace(old, new, nth)
    if needle is None:
        path = tmp_path / "tenant.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="unknown position 'CV'"):
            load_tenant_file(path)
        return
    error = load_error(tmp_path, text)
    line, column = position(text, needle, 2)
    assert (error.line, error.column) == (line, column + len("code: "))  # the second value
    assert error.field == field and "duplicate" in error.reason
    assert f"(see line {position(text, needle, 1)[0]})" in error.reason


def test_duplicate_catalog_version(tmp_path: Path) -> None:
    item = BASE[BASE.index("  - code: VB-01") : BASE.index("plans:")]
    text = BASE.replace(item, item + item.replace("coefficient: 1.0", "coefficient: 2.0"))
    error = load_error(tmp_path, text)
    assert_at(error, text, "2026-01-01", 4)  # memberships ×2, first item, second item
    assert error.field == "catalog[1].effective_from" and "duplicate" in error.reason
    later = text.replace("effective_from: 2026-01-01", "effective_from: 2026-07-01")
    later = later.replace("effective_from: 2026-07-01", "effective_from: 2026-01-01", 1)
    path = tmp_path / "ok.yaml"
    path.write_text(later, encoding="utf-8")
    versions = load_tenant_file(path).catalog
    assert [v.coefficient for v in versions] == [Decimal("1.0"), Decimal("2.0")]


def test_dangling_parent(tmp_path: Path) -> None:
    text = replace("parent: W1\n", "parent: W9\n")
    error = load_error(tmp_path, text)
    assert_at(error, text, "W9")
    assert error.field == "units[2].parent" and "unknown parent unit 'W9'" in error.reason


def test_parent_cycle(tmp_path: Path) -> None:
    text = replace("    type: province\n", "    type: province\n    parent: W1-VP\n")
    error = load_error(tmp_path, text)
    assert_at(error, text, "W1-VP", 1)
    assert error.field == "units[0].parent"
    assert "cycle" in error.reason and "TN → W1-VP → W1 → TN" in error.reason


def test_self_parent(tmp_path: Path) -> None:
    text = replace("parent: TN\n", "parent: W1\n")
    error = load_error(tmp_path, text)
    line, column = position(text, "parent: W1\n")
    assert (error.line, error.column) == (line, column + len("parent: "))
    assert "cycle" in error.reason


def test_parent_after_child(tmp_path: Path) -> None:
    units = BASE[BASE.index("  - code: W1\n") : BASE.index("positions:")]
    w1, vp = units.split("  - code: W1-VP\n")
    text = BASE.replace(units, "  - code: W1-VP\n" + vp + w1)
    error = load_error(tmp_path, text)
    assert_at(error, text, "W1\n", 1)
    assert error.field == "units[1].parent" and "must come before" in error.reason


def test_two_heads_at_once(tmp_path: Path) -> None:
    text = replace("role: staff", "role: head")
    error = load_error(tmp_path, text)
    assert_at(error, text, "head", 2)
    assert error.field == "people[1].memberships[0].role"
    assert "two heads" in error.reason and "P1 and P2" in error.reason


def test_successive_heads_are_fine(tmp_path: Path) -> None:
    text = replace(
        "role: head, title: Chánh Văn phòng, start: 2026-01-01",
        ("role: head, title: Chánh Văn phòng, start: 2026-01-01, end: 2026-03-31"),
    )
    text = text.replace(
        "role: staff, title: Chuyên viên, position: CV, start: 2026-01-01",
        "role: head, title: Chánh Văn phòng, start: 2026-04-01",
    )
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    tenant = load_tenant_file(path)
    assert [p.memberships[0].role for p in tenant.people] == ["head", "head"]
    overlapping = text.replace("start: 2026-04-01", "start: 2026-03-31")
    error = load_error(tmp_path, overlapping)
    assert "two heads" in error.reason


def test_membership_end_before_start(tmp_path: Path) -> None:
    text = replace(
        "position: CV, start: 2026-01-01}", "position: CV, start: 2026-01-01, end: 2025-12-31}"
    )
    error = load_error(tmp_path, text)
    assert_at(error, text, "2025-12-31")
    assert error.field == "people[1].memberships[0].end" and "before start" in error.reason


def test_override_unknown_person(tmp_path: Path) -> None:
    text = replace("{person: P2, evaluator: P1", "{person: P7, evaluator: P1")
    error = load_error(tmp_path, text)
    assert_at(error, text, "P7")
    assert error.field == "evaluator_overrides[0].person" and "unknown person" in error.reason


def test_override_self(tmp_path: Path) -> None:
    text = replace("{person: P2, evaluator: P1", "{person: P2, evaluator: P2")
    error = load_error(tmp_path, text)
    assert_at(error, text, "P2, reason")
    assert "themselves" in error.reason


def test_unknown_parent_key_result(tmp_path: Path) -> None:
    text = replace("parent_key_result: TN-O1-KR1", "parent_key_result: TN-O1-KR9")
    error = load_error(tmp_path, text)
    assert_at(error, text, "TN-O1-KR9")
    assert error.field == "plans[1].objectives[0].parent_key_result"


def test_unknown_membership_unit_and_position_of_other_unit(tmp_path: Path) -> None:
    text = replace("{unit: W1-VP, role: staff", "{unit: W1, role: staff")
    error = load_error(tmp_path, text)
    assert_at(error, text, "CV, start")
    assert "belongs to unit 'W1-VP'" in error.reason
    text = replace("{unit: W1-VP, role: head", "{unit: W2-VP, role: head")
    error = load_error(tmp_path, text)
    assert_at(error, text, "W2-VP")


def test_parent_key_result_in_same_plan_or_cycle(tmp_path: Path) -> None:
    text = replace("parent_key_result: TN-O1-KR1", "parent_key_result: W1-O1-KR1")
    error = load_error(tmp_path, text)
    assert_at(error, text, "W1-O1-KR1")
    assert "same plan" in error.reason
    text = replace(
        "        weight: 100\n        key_results:",
        "        weight: 100\n        parent_key_result: W1-O1-KR1\n        key_results:",
    )
    error = load_error(tmp_path, text)
    assert_at(error, text, "TN-O1-KR1", 2)  # the link that closes the cycle
    assert "cycle" in error.reason


def test_weights_must_sum_to_100(tmp_path: Path) -> None:
    text = replace(
        "weight: 100\n        parent_key_result", "weight: 90\n        parent_key_result"
    )
    error = load_error(tmp_path, text)
    assert_at(error, text, "objectives:", 2)
    assert error.field == "plans[1].objectives" and "sum to 90" in error.reason


def _three_key_results(weights: tuple[str, str, str]) -> str:
    kr = BASE[BASE.index("          - code: W1-O1-KR1") :]
    parts = [
        kr.replace("W1-O1-KR1", f"W1-O1-KR{i}").replace("weight: 100", f"weight: {w}")
        for i, w in enumerate(weights, start=1)
    ]
    return BASE.replace(kr, "".join(parts))


def test_decimal_weights_sum_exactly(tmp_path: Path) -> None:
    text = _three_key_results(("0.1", "0.2", "99.7"))
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    weights = [k.weight for k in load_tenant_file(path).plans[1].objectives[0].key_results]
    assert weights == [Decimal("0.1"), Decimal("0.2"), Decimal("99.7")]
    # three thirds written to 17 decimals: floats would round the sum to 100, decimals do not
    third = "33.33333333333333333"
    assert sum([float(third)] * 3) == 100
    text = _three_key_results((third, third, third))
    error = load_error(tmp_path, text)
    assert "sum to 99.99999999999999999" in error.reason
    assert_at(error, text, "key_results:", 2)


def test_float_exactness(tmp_path: Path) -> None:
    text = replace("coefficient: 1.0", "coefficient: 0.1")
    path = tmp_path / "tenant.yaml"
    path.write_text(text, encoding="utf-8")
    item = load_tenant_file(path).catalog[0]
    assert isinstance(item.coefficient, Decimal)
    assert item.coefficient == Decimal("0.1") and str(item.coefficient) == "0.1"
    assert item.coefficient * 3 == Decimal("0.3")


def test_kpi_needs_thresholds_in_order(tmp_path: Path) -> None:
    text = replace("            exceed_threshold: 0.5\n", "")
    error = load_error(tmp_path, text)
    assert_at(error, text, "code: W1-O1-KR1")  # the key result lacking it
    assert error.field.endswith("key_results[0].exceed_threshold")
    text = replace("exceed_threshold: 0.5", "exceed_threshold: 2.5")
    error = load_error(tmp_path, text)
    assert_at(error, text, "2.5")
    assert "above complete_threshold" in error.reason


def test_malformed_number(tmp_path: Path) -> None:
    text = replace("coefficient: 1.0", "coefficient: 1.0.0")
    error = load_error(tmp_path, text)
    assert_at(error, text, "1.0.0")
    assert error.field == "catalog[0].coefficient" and "decimal" in error.reason
    text = replace("coefficient: 1.0", "coefficient: !!float một")
    error = load_error(tmp_path, text)
    assert_at(error, text, "!!float")
    assert error.field == "yaml" and "invalid number" in error.reason


def test_boolean_is_not_a_number(tmp_path: Path) -> None:
    text = replace("coefficient: 1.0", "coefficient: true")
    error = load_error(tmp_path, text)
    assert_at(error, text, "true")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = replace("name: Phường Một", "name: [Phường Một")
    error = load_error(tmp_path, text)
    assert error.field == "yaml" and error.line is not None
    assert error.line >= position(text, "[Phường")[0]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = replace("    name: Phường Một\n", "    name: Phường Một\n    name: Phường Hai\n")
    error = load_error(tmp_path, text)
    assert_at(error, text, "name: Phường Hai")
    assert "duplicate key 'name'" in error.reason


def test_invalid_date(tmp_path: Path) -> None:
    text = replace("effective_from: 2026-01-01", "effective_from: 2026-02-30")
    error = load_error(tmp_path, text)
    assert_at(error, text, "2026-02-30")


def test_plan_owner_and_period(tmp_path: Path) -> None:
    text = replace("period: {kind: year, year: 2026}", "period: {kind: month, year: 2026}")
    error = load_error(tmp_path, text)
    assert_at(error, text, "period: {kind: month")  # 'number' is missing: its mapping's key
    assert error.field == "plans[0].period.number"
    text = replace("owner_unit: TN", "owner_unit: XX")
    error = load_error(tmp_path, text)
    assert_at(error, text, "XX")


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    error = load_error(tmp_path, "")
    assert (error.line, error.column) == (1, 1)
    with pytest.raises(InputError) as caught:
        load_tenant_file(tmp_path / "absent.yaml")
    assert caught.value.field == "file"
    with pytest.raises(InputError, match="must be a mapping"):
        parse_tenant_yaml("- a\n- b\n", "list.yaml")


def test_first_error_in_file_order(tmp_path: Path) -> None:
    text = replace("parent: W1\n", "parent: W9\n").replace("role: staff", "role: boss")
    # both a field error (boss) and a cross-check error (W9) exist: field errors come first
    error = load_error(tmp_path, text)
    assert_at(error, text, "boss")
    text = replace("parent: W1\n", "parent: W9\n").replace("owner_unit: W1", "owner_unit: ZZ")
    error = load_error(tmp_path, text)
    assert_at(error, text, "W9")  # the earlier of two cross-check problems


def test_models_are_frozen_and_strict() -> None:
    item = CatalogItem(
        code="X",
        unit="U",
        name="  Văn bản ",
        complexity_group=1,
        standard_unit="văn bản",
        coefficient=0.1,  # type: ignore[arg-type]
        effective_from="2026-01-01",  # type: ignore[arg-type]
    )
    assert item.coefficient == Decimal("0.1") and item.name == "Văn bản"
    with pytest.raises(ValidationError):
        item.coefficient = Decimal(2)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Membership.model_validate(
            {"unit": "U", "role": "head", "title": "T", "start": "2026-01-01", "boss": True}
        )
    decomposed = "Nguye\u0302\u0303n"  # "Nguyễn" written with combining marks
    renamed = CatalogItem.model_validate({**item.model_dump(), "name": decomposed})
    assert renamed.name == "Nguyễn" and len(renamed.name) == 6
    with pytest.raises(ValidationError):
        KeyResult(
            code="K",
            title="t",
            kind="kpi",
            unit_of_measure="%",
            target=1,  # type: ignore[arg-type]
            weight=100,  # type: ignore[arg-type]
        )


def test_tenant_file_construction_runs_cross_checks(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(BASE, encoding="utf-8")
    tenant = load_tenant_file(path)
    data = tenant.model_dump()
    data["units"][2]["parent"] = "NOPE"
    with pytest.raises(ValidationError, match="unknown parent unit 'NOPE'"):
        TenantFile.model_validate(data)
