"""Roll-up of progress over objective trees (rollup.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    ProgressSource,
    StatusColour,
)
from services.common.goals.rollup import (
    DateContext,
    ObjectiveProgress,
    evaluation_progress,
    objective_progress,
    reported_progress,
)

D = Decimal
KR_SRC = ProgressSource.KEY_RESULTS
CH_SRC = ProgressSource.CHILDREN
BOTH = ProgressSource.BOTH


def kr(code: str, weight: int | None = 100, target: int | None = 10, **kw: object) -> KeyResultSpec:
    return KeyResultSpec(
        code=code,
        title=code,
        weight=None if weight is None else D(weight),
        target=None if target is None else D(target),
        **kw,  # type: ignore[arg-type]
    )


def obj(code: str, weight: int | None = 100, **kw: object) -> ObjectiveSpec:
    return ObjectiveSpec(
        code=code,
        title=code,
        weight=None if weight is None else D(weight),
        **kw,  # type: ignore[arg-type]
    )


def find(result: ObjectiveProgress, code: str) -> ObjectiveProgress:
    if result.code == code:
        return result
    for child in result.children:
        try:
            return find(child, code)
        except KeyError:
            pass
    raise KeyError(code)


# A three-level cascade: city → ward → office, mixing progress sources.
O1 = obj("O1", 70, parent_key_result=None, key_results=(kr("O1-KR1"),))
O2 = obj("O2", 30, key_results=(kr("O2-KR1", target=4),))
O3 = obj("O3", 100, key_results=(kr("O3-KR1"),))
W1 = obj(
    "W1",
    50,
    progress_source=CH_SRC,
    parent_key_result="C-KR1",
    key_results=(kr("W1-KR1"),),
    children=(O1, O2),
)
W2 = obj(
    "W2",
    50,
    progress_source=BOTH,
    parent_key_result="C-KR1",
    key_results=(kr("W2-KR1"),),
    children=(O3,),
)
CITY = obj(
    "C",
    100,
    progress_source=KR_SRC,
    key_results=(kr("C-KR1", 60), kr("C-KR2", 40, target=100)),
    children=(W1, W2),
)
VALUES: dict[str, Decimal | None] = {
    "O1-KR1": D(5),  # 1/2
    "O2-KR1": D(4),  # 1
    "O3-KR1": D(4),  # 2/5
    "W1-KR1": D(10),  # 1, reported but not counted (W1 measured from children)
    "W2-KR1": D(8),  # 4/5
    "C-KR2": D(80),  # 4/5
}


def test_three_level_cascade_with_mixed_sources() -> None:
    result = objective_progress(CITY, VALUES)
    w1, w2 = find(result, "W1"), find(result, "W2")
    assert w1.progress == Fraction(7, 10) * Fraction(1, 2) + Fraction(3, 10) * 1  # 13/20
    assert w1.key_results_part is None and w1.key_results[0].progress == 1
    assert w2.key_results_part == Fraction(4, 5)
    assert w2.children_part == Fraction(2, 5)
    assert w2.progress == Fraction(3, 5)  # mean of the two weighted parts
    kr1, kr2 = result.key_results
    assert kr1.source == "children"
    assert kr1.progress == (Fraction(13, 20) + Fraction(3, 5)) / 2  # 5/8
    assert kr2.source == "measured" and kr2.progress == Fraction(4, 5)
    assert result.progress == Fraction(6, 10) * Fraction(5, 8) + Fraction(4, 10) * Fraction(4, 5)
    assert result.progress == Fraction(139, 200)
    assert result.children_part is None  # key_results source: children counted via KR1 only


def test_direct_measurement_of_parent_key_result_wins_over_children() -> None:
    values = {**VALUES, "C-KR1": D(10)}
    result = objective_progress(CITY, values)
    kr1 = result.key_results[0]
    assert kr1.source == "measured" and kr1.progress == 1
    assert any("chỉ để theo dõi" in n for n in kr1.notes)
    assert result.progress == Fraction(6, 10) + Fraction(4, 10) * Fraction(4, 5)


def test_both_does_not_count_a_child_twice() -> None:
    x = obj("X", 50, parent_key_result="B-KR1", key_results=(kr("X-KR1"),))
    y = obj("Y", 50, key_results=(kr("Y-KR1"),))
    b = obj("B", progress_source=BOTH, key_results=(kr("B-KR1"),), children=(x, y))
    result = objective_progress(b, {"X-KR1": D(4), "Y-KR1": D(10)})
    assert result.key_results[0].source == "children"
    assert result.key_results_part == Fraction(2, 5)
    assert result.children_part == 1  # only Y: X already measured B-KR1
    assert result.progress == Fraction(7, 10)


def test_both_with_measured_key_results_counts_all_children() -> None:
    x = obj("X", 50, parent_key_result="B-KR1", key_results=(kr("X-KR1"),))
    y = obj("Y", 50, key_results=(kr("Y-KR1"),))
    b = obj("B", progress_source=BOTH, key_results=(kr("B-KR1"),), children=(x, y))
    result = objective_progress(b, {"B-KR1": D(0), "X-KR1": D(4), "Y-KR1": D(10)})
    assert result.children_part == Fraction(7, 10)
    assert result.progress == Fraction(7, 20)


def test_unlinked_child_under_key_results_source_is_noted_not_counted() -> None:
    y = obj("Y", 100, key_results=(kr("Y-KR1"),))
    a = obj("A", key_results=(kr("A-KR1"),), children=(y,))
    result = objective_progress(a, {"A-KR1": D(5), "Y-KR1": D(10)})
    assert result.progress == Fraction(1, 2)
    assert any("Y" in n and "không tính" in n for n in result.notes)


def test_missing_data_counts_zero_and_is_flagged() -> None:
    a = obj("A", key_results=(kr("A-KR1", 50), kr("A-KR2", 50)))
    result = objective_progress(a, {"A-KR1": D(10), "A-KR2": None})
    assert result.progress == Fraction(1, 2)
    assert result.missing_data == ("A-KR2",)
    missing = result.key_results[1]
    assert missing.source == "missing" and missing.progress == 0 and missing.current is None
    assert missing.notes


def test_unmeasurable_key_result_is_flagged_not_raised() -> None:
    a = obj("A", key_results=(kr("A-KR1", target=None),))
    result = objective_progress(a, {"A-KR1": D(3)})
    assert result.key_results[0].source == "invalid"
    assert result.progress == 0
    assert result.key_results[0].notes


def test_achievement_reported_per_key_result() -> None:
    spec = kr(
        "A-KR1",
        target=2,
        direction=Direction.LOWER,
        complete_threshold=D(2),
        fail_threshold=D(4),
    )
    result = objective_progress(obj("A", key_results=(spec,)), {"A-KR1": D(4)})
    assert result.key_results[0].progress == Fraction(1, 2)
    assert result.key_results[0].achievement == "failed"


def test_missing_weights_fall_back_to_equal_weights_with_note() -> None:
    a = obj("A", key_results=(kr("K1", None), kr("K2", 30)))
    result = objective_progress(a, {"K1": D(10), "K2": D(0)})
    assert result.progress == Fraction(1, 2)
    assert any("trọng số bằng nhau" in n for n in result.notes)


def test_objective_without_anything_to_measure_is_zero_with_note() -> None:
    result = objective_progress(obj("A", progress_source=CH_SRC, key_results=(kr("K"),)), {})
    assert result.progress == 0
    assert result.notes


# --- breakthrough items ----------------------------------------------------------------------

A = obj("A", 60, key_results=(kr("A-KR1"),))
B = obj("B", 40, breakthrough=True, perspective=Perspective.LEARNING, key_results=(kr("B-KR1"),))
PLAN_VALUES = {"A-KR1": D(5), "B-KR1": D(10)}


def test_breakthrough_objective_reported_but_excluded_from_evaluation() -> None:
    reported = reported_progress([A, B], PLAN_VALUES)
    assert reported.mode == "reported"
    assert reported.progress == Fraction(6, 10) * Fraction(1, 2) + Fraction(4, 10)
    evaluated = evaluation_progress([A, B], PLAN_VALUES)
    assert evaluated.mode == "evaluation"
    assert evaluated.progress == Fraction(1, 2)  # A alone, weight re-normalised 60 → 100 %
    b = evaluated.objectives[1]
    assert b.code == "B" and b.counted is False and b.progress == 1
    assert any("đột phá" in n for n in b.notes)
    assert evaluated.by_perspective[Perspective.LEARNING] is None
    assert reported.by_perspective[Perspective.LEARNING] == 1
    assert evaluated.by_perspective[Perspective.CITIZENS] == Fraction(1, 2)


def test_okr_key_results_excluded_from_evaluation_and_weights_renormalised() -> None:
    a = obj(
        "A",
        key_results=(kr("K1", 70), kr("K2", 30, kind=KeyResultKind.OKR)),
    )
    values = {"K1": D(5), "K2": D(0)}
    assert reported_progress([a], values).progress == Fraction(7, 20)
    evaluated = evaluation_progress([a], values)
    assert evaluated.progress == Fraction(1, 2)
    assert [k.counted for k in evaluated.objectives[0].key_results] == [True, False]
    only_flagged = evaluation_progress([a], values, okr_key_results_are_breakthrough=False)
    assert only_flagged.progress == Fraction(7, 20)


def test_objective_with_only_breakthrough_content_has_no_evaluation_figure() -> None:
    a = obj("A", 50, key_results=(kr("K1", kind=KeyResultKind.OKR),))
    c = obj("C", 50, key_results=(kr("K2"),))
    evaluated = evaluation_progress([a, c], {"K1": D(10), "K2": D(2)})
    first = evaluated.objectives[0]
    assert first.progress is None and first.counted is False
    assert evaluated.progress == Fraction(1, 5)
    assert reported_progress([a, c], {"K1": D(10), "K2": D(2)}).progress == Fraction(3, 5)


def test_breakthrough_child_not_used_for_parent_key_result_in_evaluation() -> None:
    w2 = obj(
        "W2",
        50,
        breakthrough=True,
        parent_key_result="C-KR1",
        key_results=(kr("W2-KR1"),),
    )
    w1 = obj("W1", 50, parent_key_result="C-KR1", key_results=(kr("W1-KR1"),))
    city = obj("C", key_results=(kr("C-KR1"),), children=(w1, w2))
    values = {"W1-KR1": D(2), "W2-KR1": D(10)}
    assert reported_progress([city], values).progress == Fraction(3, 5)
    evaluated = evaluation_progress([city], values)
    assert evaluated.progress == Fraction(1, 5)
    assert find(evaluated.objectives[0], "W2").counted is False


# --- dates and colours -----------------------------------------------------------------------


def test_colours_with_a_date_context() -> None:
    year = DateContext(date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31))
    result = objective_progress(CITY, VALUES, dates=year)
    assert result.expected == 1
    assert result.colour == StatusColour.RED  # 69.5 % at the end of the period
    assert result.key_results[1].colour == StatusColour.AMBER  # 80 %
    assert find(result, "O2").colour == StatusColour.GREEN
    mid = DateContext(date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 5))
    assert objective_progress(CITY, VALUES, dates=mid).colour == StatusColour.GREEN
    plan = reported_progress([CITY], VALUES, dates=year)
    assert plan.colour == StatusColour.RED and plan.expected == 1
    assert objective_progress(CITY, VALUES).colour is None


def test_cap_below_one_rejected() -> None:
    with pytest.raises(ValueError):
        reported_progress([A], PLAN_VALUES, cap=Fraction(1, 2))
