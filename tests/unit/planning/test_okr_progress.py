"""Domain types (okr.py) and key-result progress rules (progress.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    Perspective,
    StatusColour,
)
from services.common.goals.progress import (
    PROGRESS_CAP,
    achievement,
    expected_progress,
    key_result_progress,
    status_colour,
)

D = Decimal


def kr(**kw: object) -> KeyResultSpec:
    base: dict[str, object] = {"code": "KR", "title": "Chỉ số"}
    base.update(kw)
    return KeyResultSpec(**base)  # type: ignore[arg-type]


# --- okr.py ---------------------------------------------------------------------------------


def test_perspectives_in_domain_order_with_vietnamese_labels() -> None:
    assert [p.value for p in Perspective] == ["citizens", "finance", "process", "learning"]
    assert [p.order for p in Perspective] == [1, 2, 3, 4]
    assert Perspective.FINANCE.label == "Ngân sách và hiệu quả sử dụng nguồn lực"
    assert Perspective.LEARNING.label == "Học hỏi và phát triển"


def test_status_colour_names() -> None:
    assert [(c.value, c.status) for c in StatusColour] == [
        ("green", "on_track"),
        ("amber", "at_risk"),
        ("red", "off_track"),
    ]
    assert StatusColour.RED.label == "Chậm tiến độ"


def test_specs_are_frozen() -> None:
    spec = kr(target=D(1))
    with pytest.raises(AttributeError):
        spec.target = D(2)  # type: ignore[misc]


# --- key_result_progress ---------------------------------------------------------------------


def test_lower_is_better_overdue_dossiers_target_2_actual_4_is_half() -> None:
    spec = kr(direction=Direction.LOWER, target=D(2), unit_of_measure="hồ sơ")
    assert key_result_progress(spec, D(4)) == Fraction(1, 2)


def test_lower_is_better_ignores_baseline_and_uses_target_over_actual() -> None:
    spec = kr(direction=Direction.LOWER, baseline=D(10), target=D(5))
    assert key_result_progress(spec, D(8)) == Fraction(5, 8)


def test_lower_is_better_better_than_target_exceeds_up_to_cap() -> None:
    spec = kr(direction=Direction.LOWER, target=D(4))
    assert key_result_progress(spec, D(3)) == Fraction(4, 3)
    assert key_result_progress(spec, D(1)) == PROGRESS_CAP
    assert key_result_progress(spec, D(1), cap=Fraction(1)) == 1


def test_lower_is_better_actual_zero_is_fully_achieved() -> None:
    assert key_result_progress(kr(direction=Direction.LOWER, target=D(2)), D(0)) == PROGRESS_CAP
    zero_target = kr(direction=Direction.LOWER, target=D(0))
    assert key_result_progress(zero_target, D(0)) == 1
    assert key_result_progress(zero_target, D(1)) == 0


def test_higher_is_better_without_baseline_is_current_over_target() -> None:
    assert key_result_progress(kr(target=D(90)), D(45)) == Fraction(1, 2)


def test_higher_is_better_with_baseline_is_relative_to_baseline() -> None:
    # GRDP growth: baseline 6.5, target 8.0, current 6.9 → 0.4 / 1.5 = 4/15
    spec = kr(baseline=D("6.5"), target=D("8.0"))
    assert key_result_progress(spec, D("6.9")) == Fraction(4, 15)
    assert key_result_progress(spec, D("6.0")) == 0  # below the baseline: clamped to 0
    assert key_result_progress(spec, D("8.0")) == 1


def test_progress_is_exact_not_float() -> None:
    result = key_result_progress(kr(target=D("0.3")), D("0.1"))
    assert result == Fraction(1, 3)
    assert isinstance(result, Fraction)


def test_higher_is_better_capped() -> None:
    assert key_result_progress(kr(target=D(10)), D(100)) == PROGRESS_CAP


def test_direction_none_is_higher() -> None:
    assert key_result_progress(kr(direction=None, target=D(4)), D(1)) == Fraction(1, 4)


@pytest.mark.parametrize(
    "spec,current",
    [
        (kr(target=None), D(1)),
        (kr(target=D(0)), D(1)),
        (kr(baseline=D(5), target=D(5)), D(6)),
        (kr(baseline=D(5), target=D(4)), D(6)),
        (kr(direction=Direction.LOWER, target=D(-1)), D(1)),
        (kr(direction=Direction.LOWER, target=D(1)), D(-1)),
    ],
)
def test_unmeasurable_specs_raise(spec: KeyResultSpec, current: Decimal) -> None:
    with pytest.raises(ValueError):
        key_result_progress(spec, current)


def test_cap_below_one_rejected() -> None:
    with pytest.raises(ValueError):
        key_result_progress(kr(target=D(1)), D(1), cap=Fraction(9, 10))


# --- achievement -----------------------------------------------------------------------------

HIGHER = kr(
    target=D(95),
    complete_threshold=D(90),
    exceed_threshold=D(95),
    fail_threshold=D(80),
)
LOWER = kr(
    direction=Direction.LOWER,
    target=D(2),
    complete_threshold=D(2),
    exceed_threshold=D(1),
    fail_threshold=D(5),
)


@pytest.mark.parametrize(
    "current,expected",
    [
        (D(96), "exceeded"),
        (D(95), "exceeded"),
        (D("94.9"), "completed"),
        (D(90), "completed"),
        (D(85), "in_progress"),
        (D(80), "failed"),
        (D(70), "failed"),
    ],
)
def test_achievement_higher(current: Decimal, expected: str) -> None:
    assert achievement(HIGHER, current) == expected


@pytest.mark.parametrize(
    "current,expected",
    [
        (D(0), "exceeded"),
        (D(1), "exceeded"),
        (D(2), "completed"),
        (D(3), "in_progress"),
        (D(5), "failed"),
        (D(9), "failed"),
    ],
)
def test_achievement_lower(current: Decimal, expected: str) -> None:
    assert achievement(LOWER, current) == expected


def test_achievement_exceed_equal_to_complete_needs_strictly_better() -> None:
    spec = kr(target=D(10), complete_threshold=D(10), exceed_threshold=D(10))
    assert achievement(spec, D(10)) == "completed"
    assert achievement(spec, D(11)) == "exceeded"


def test_achievement_falls_back_to_target_and_missing_levels() -> None:
    spec = kr(target=D(10))
    assert achievement(spec, D(10)) == "completed"
    assert achievement(spec, D(100)) == "completed"  # no exceed threshold
    assert achievement(spec, D(0)) == "in_progress"  # no fail threshold


def test_achievement_rejects_thresholds_against_direction() -> None:
    with pytest.raises(ValueError):
        achievement(kr(target=D(10), complete_threshold=D(10), fail_threshold=D(12)), D(5))
    with pytest.raises(ValueError):
        achievement(
            kr(direction=Direction.LOWER, target=D(2), exceed_threshold=D(3)),
            D(1),
        )
    with pytest.raises(ValueError):
        achievement(kr(kind=KeyResultKind.OKR), D(1))


# --- expected_progress / status_colour -------------------------------------------------------


def test_expected_progress_linear_inclusive_days() -> None:
    start, end = date(2026, 1, 1), date(2026, 1, 10)
    assert expected_progress(start, end, date(2025, 12, 31)) == 0
    assert expected_progress(start, end, start) == Fraction(1, 10)
    assert expected_progress(start, end, date(2026, 1, 5)) == Fraction(1, 2)
    assert expected_progress(start, end, end) == 1
    assert expected_progress(start, end, date(2026, 3, 1)) == 1
    with pytest.raises(ValueError):
        expected_progress(end, start, start)


@pytest.mark.parametrize(
    "progress,expected,colour",
    [
        (Fraction(1, 2), Fraction(1, 2), StatusColour.GREEN),
        (Fraction(2, 5), Fraction(1, 2), StatusColour.GREEN),  # exactly 10 points behind
        (Fraction(39, 100), Fraction(1, 2), StatusColour.AMBER),
        (Fraction(1, 4), Fraction(1, 2), StatusColour.AMBER),  # exactly 25 points behind
        (Fraction(24, 100), Fraction(1, 2), StatusColour.RED),
        (Fraction(0), Fraction(0), StatusColour.GREEN),
    ],
)
def test_status_colour_boundaries(
    progress: Fraction, expected: Fraction, colour: StatusColour
) -> None:
    assert status_colour(progress, expected) == colour


def test_status_colour_tenant_gaps() -> None:
    assert (
        status_colour(Fraction(2, 5), Fraction(1, 2), at_risk_gap=Fraction(0)) == StatusColour.AMBER
    )
    assert (
        status_colour(
            Fraction(2, 5), Fraction(1, 2), at_risk_gap=Fraction(0), off_track_gap=Fraction(0)
        )
        == StatusColour.RED
    )
    with pytest.raises(ValueError):
        status_colour(Fraction(0), Fraction(0), at_risk_gap=Fraction(1, 2))
    with pytest.raises(ValueError):
        status_colour(Fraction(0), Fraction(0), at_risk_gap=Fraction(-1))


def test_float_values_rejected() -> None:
    with pytest.raises(TypeError):
        key_result_progress(kr(target=D(1)), 0.5)  # type: ignore[arg-type]
