"""Plan and objective checks (validation.py)."""

from __future__ import annotations

from decimal import Decimal

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    ProgressSource,
)
from services.planning.validation import Issue, validate_objective, validate_plan

D = Decimal


def kpi(code: str = "K", weight: int | None = 100, **kw: object) -> KeyResultSpec:
    fields: dict[str, object] = {
        "code": code,
        "title": f"Chỉ số {code}",
        "kind": KeyResultKind.KPI,
        "unit_of_measure": "%",
        "direction": Direction.HIGHER,
        "target": D(95),
        "complete_threshold": D(90),
        "exceed_threshold": D(95),
        "fail_threshold": D(80),
        "weight": None if weight is None else D(weight),
        "data_source": "manual",
    }
    fields.update(kw)
    return KeyResultSpec(**fields)  # type: ignore[arg-type]


def objective(code: str = "O", weight: int | None = 100, **kw: object) -> ObjectiveSpec:
    fields: dict[str, object] = {
        "code": code,
        "title": f"Nhiệm vụ {code}",
        "weight": None if weight is None else D(weight),
        "key_results": (kpi(f"{code}-K1"),),
    }
    fields.update(kw)
    return ObjectiveSpec(**fields)  # type: ignore[arg-type]


def by_rule(issues: list[Issue], rule: str) -> list[Issue]:
    return [i for i in issues if i.rule == rule]


def test_a_well_formed_objective_has_no_issues() -> None:
    assert validate_objective(objective()) == []


def test_key_result_count_1_to_5() -> None:
    none = validate_objective(objective(key_results=()))
    assert [(i.severity, i.field) for i in by_rule(none, "kr_count")] == [("error", "key_results")]
    six = tuple(kpi(f"K{i}", weight=None) for i in range(6))
    issues = validate_objective(objective(key_results=six))
    assert by_rule(issues, "kr_count")[0].severity == "error"
    five = tuple(kpi(f"K{i}", weight=20) for i in range(5))
    assert by_rule(validate_objective(objective(key_results=five)), "kr_count") == []
    from_children = validate_objective(
        objective(
            key_results=(),
            progress_source=ProgressSource.CHILDREN,
            children=(objective("C"),),
        )
    )
    assert [i.severity for i in by_rule(from_children, "kr_count")] == ["warning"]


def test_key_result_weights_sum_to_100() -> None:
    issues = validate_objective(objective(key_results=(kpi("A", 60), kpi("B", 30))))
    [issue] = by_rule(issues, "kr_weights_sum")
    assert issue.severity == "error" and issue.field == "key_results"
    assert "90" in issue.message


def test_weight_range_and_missing() -> None:
    issues = validate_objective(objective(key_results=(kpi("A", 0), kpi("B", 100))))
    assert [i.field for i in by_rule(issues, "weight_range")] == ["key_results[0].weight"]
    missing = validate_objective(objective(weight=None))
    assert [i.field for i in by_rule(missing, "weight_missing")] == ["weight"]


def test_kpi_must_declare_its_fields() -> None:
    bare = KeyResultSpec(code="K", title="Chỉ số", direction=None)
    issues = validate_objective(objective(key_results=(bare,)))
    fields = [i.field for i in by_rule(issues, "kpi_field_missing")]
    assert fields == [
        "key_results[0].unit_of_measure",
        "key_results[0].direction",
        "key_results[0].target",
        "key_results[0].complete_threshold",
        "key_results[0].exceed_threshold",
        "key_results[0].fail_threshold",
        "key_results[0].weight",
        "key_results[0].data_source",
    ]
    assert all(i.severity == "error" for i in by_rule(issues, "kpi_field_missing"))
    assert by_rule(issues, "weight_missing") == []  # reported once, as a KPI field


def test_okr_needs_a_target_but_not_all_kpi_fields() -> None:
    okr = KeyResultSpec(
        code="K", title="Đột phá", kind=KeyResultKind.OKR, weight=D(100), direction=None
    )
    issues = validate_objective(objective(key_results=(okr,)))
    assert by_rule(issues, "kpi_field_missing") == []
    assert [i.field for i in by_rule(issues, "kr_target_missing")] == ["key_results[0].target"]
    assert [i.severity for i in by_rule(issues, "direction_assumed")] == ["warning"]


def test_thresholds_consistent_with_higher_direction() -> None:
    bad = kpi(complete_threshold=D(90), exceed_threshold=D(85), fail_threshold=D(92))
    issues = by_rule(validate_objective(objective(key_results=(bad,))), "thresholds_direction")
    assert [i.field for i in issues] == [
        "key_results[0].fail_threshold",
        "key_results[0].exceed_threshold",
    ]
    equal = kpi(complete_threshold=D(90), exceed_threshold=D(90), fail_threshold=D(90))
    issues = by_rule(validate_objective(objective(key_results=(equal,))), "thresholds_direction")
    assert [i.field for i in issues] == ["key_results[0].fail_threshold"]  # fail < complete


def test_thresholds_consistent_with_lower_direction() -> None:
    good = kpi(
        direction=Direction.LOWER,
        target=D(2),
        complete_threshold=D(2),
        exceed_threshold=D(1),
        fail_threshold=D(5),
    )
    assert validate_objective(objective(key_results=(good,))) == []
    # higher-is-better ordering under a lower-is-better indicator: both relations wrong
    bad = kpi(direction=Direction.LOWER, target=D(2))
    issues = by_rule(validate_objective(objective(key_results=(bad,))), "thresholds_direction")
    assert len(issues) == 2 and all(i.severity == "error" for i in issues)


def test_target_against_baseline() -> None:
    flat = kpi(baseline=D(95))
    [issue] = by_rule(validate_objective(objective(key_results=(flat,))), "target_baseline")
    assert issue.severity == "error" and issue.field == "key_results[0].target"
    rising = kpi(
        direction=Direction.LOWER,
        baseline=D(1),
        target=D(2),
        complete_threshold=D(2),
        exceed_threshold=D(1),
        fail_threshold=D(5),
    )
    [issue] = by_rule(validate_objective(objective(key_results=(rising,))), "target_baseline")
    assert issue.severity == "warning"


def test_equal_weights_warning_three_items() -> None:
    krs = (kpi("A", 25), kpi("B", 25), kpi("C", 25), kpi("D", 25))
    [issue] = by_rule(validate_objective(objective(key_results=krs)), "equal_weights")
    assert issue.severity == "warning" and issue.field == "key_results"
    assert "quy mô" in issue.message


def test_equal_weights_two_items() -> None:
    same = (kpi("A", 50), kpi("B", 50))
    assert by_rule(validate_objective(objective(key_results=same)), "equal_weights") == []
    mixed_units = (kpi("A", 50), kpi("B", 50, unit_of_measure="hồ sơ"))
    assert by_rule(validate_objective(objective(key_results=mixed_units)), "equal_weights")
    mixed_kind = (kpi("A", 50), kpi("B", 50, kind=KeyResultKind.OKR))
    assert by_rule(validate_objective(objective(key_results=mixed_kind)), "equal_weights")
    unequal = (kpi("A", 40), kpi("B", 30), kpi("C", 30))
    assert by_rule(validate_objective(objective(key_results=unequal)), "equal_weights") == []


def test_children_paths_links_and_weights() -> None:
    child_ok = objective("C1", 60, parent_key_result="O-K1")
    child_bad = objective("C2", 30, parent_key_result="NOPE", key_results=(kpi("C2-K1", 90),))
    parent = objective(progress_source=ProgressSource.BOTH, children=(child_ok, child_bad))
    issues = validate_objective(parent)
    assert [i.field for i in by_rule(issues, "parent_key_result_unknown")] == [
        "children[1].parent_key_result"
    ]
    assert [i.field for i in by_rule(issues, "kr_weights_sum")] == ["children[1].key_results"]
    assert [i.field for i in by_rule(issues, "objective_weights_sum")] == ["children"]


def test_children_weights_not_summed_under_key_results_source() -> None:
    children = (
        objective("C1", 60, parent_key_result="O-K1"),
        objective("C2", 10, parent_key_result="O-K1"),
    )
    issues = validate_objective(objective(children=children))
    assert by_rule(issues, "objective_weights_sum") == []


def test_unlinked_child_and_missing_children() -> None:
    issues = validate_objective(objective(children=(objective("C1"),)))
    [issue] = by_rule(issues, "child_not_linked")
    assert issue.severity == "warning" and issue.field == "children[0].parent_key_result"
    no_children = validate_objective(objective(progress_source=ProgressSource.CHILDREN))
    assert [i.severity for i in by_rule(no_children, "children_missing")] == ["error"]
    both = validate_objective(objective(progress_source=ProgressSource.BOTH))
    assert [i.severity for i in by_rule(both, "children_missing")] == ["warning"]


def test_duplicate_key_result_codes_in_objective() -> None:
    issues = validate_objective(objective(key_results=(kpi("A", 50), kpi("A", 50))))
    assert [i.field for i in by_rule(issues, "code_duplicate")] == ["key_results[1].code"]
    # reported once, not again by validate_plan
    plan = validate_plan([objective(key_results=(kpi("A", 50), kpi("A", 50)))])
    assert len(by_rule(plan, "code_duplicate")) == 1


def test_empty_titles() -> None:
    issues = validate_objective(objective(title=" ", key_results=(kpi(title=""),)))
    assert [i.field for i in by_rule(issues, "title_missing")] == ["title", "key_results[0].title"]


def test_plan_objective_weights_and_prefixes() -> None:
    plan = [objective("A", 50), objective("B", 40, key_results=(kpi("B-K1", 80),))]
    issues = validate_plan(plan)
    [total] = by_rule(issues, "objective_weights_sum")
    assert total.field == "objectives" and total.severity == "error"
    assert [i.field for i in by_rule(issues, "kr_weights_sum")] == ["objectives[1].key_results"]
    assert validate_plan([objective("A", 60), objective("B", 40)]) == []


def test_plan_equal_weights_and_differing_perspectives() -> None:
    three = [objective(c, 25) for c in "ABCD"]
    assert by_rule(validate_plan(three), "equal_weights")
    two_same = [objective("A", 50), objective("B", 50)]
    assert by_rule(validate_plan(two_same), "equal_weights") == []
    two_diff = [objective("A", 50), objective("B", 50, perspective=Perspective.FINANCE)]
    assert by_rule(validate_plan(two_diff), "equal_weights")


def test_plan_breakthrough_share_over_40_percent() -> None:
    plan = [objective("A", 55), objective("B", 45, breakthrough=True)]
    [issue] = by_rule(validate_plan(plan), "breakthrough_share")
    assert issue.severity == "warning" and "45.0%" in issue.message
    ok = [objective("A", 60), objective("B", 40, breakthrough=True)]
    assert by_rule(validate_plan(ok), "breakthrough_share") == []


def test_plan_codes_unique_across_tree() -> None:
    child = objective("A", 100, parent_key_result="B-K1", key_results=(kpi("A-K1"),))
    plan = [objective("A", 50), objective("B", 50, children=(child,))]
    issues = by_rule(validate_plan(plan), "code_duplicate")
    assert {i.field for i in issues} == {
        "objectives[1].children[0].code",
        "objectives[1].children[0].key_results[0].code",
    }
