"""The rules of ``services/evaluation/scoring.py``, one by one, at their edges."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from services.evaluation.scoring import (
    DelayPenaltyUnit,
    Grade,
    LeaderFactors,
    ScoringRules,
    Status,
    TaskRecord,
    apply_quota,
    converted_points,
    grade_for,
    remaining_steps,
    round_half_up,
    score_month,
)


def month(tasks: list[TaskRecord], general: object = 30, **kwargs: object):
    return score_month(tasks, general_score=general, working_days=22, days_worked=22, **kwargs)


def test_converted_points_is_quantity_times_coefficient() -> None:
    """001 §III.1: points = quantity × conversion coefficient, exactly."""
    assert converted_points(3, "1.5") == Fraction(9, 2)
    assert converted_points("0.1", "3") == Fraction(3, 10)
    with pytest.raises(ValueError):
        converted_points(-1, 2)


@pytest.mark.parametrize(("failures", "left"), [(0, 4), (1, 3), (3, 1), (4, 0), (9, 0)])
def test_each_failure_takes_a_quarter_floor_zero(failures: int, left: int) -> None:
    assert remaining_steps(failures) == left


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(8325, 100), "83.3"),
        (Fraction(8324, 100), "83.2"),
        (Fraction(6995, 100), "70.0"),
        (Fraction(1, 20), "0.1"),
        (Fraction(100), "100.0"),
        (Fraction(0), "0.0"),
    ],
)
def test_round_half_up(value: Fraction, expected: str) -> None:
    """002: one decimal, halves up (never banker's rounding)."""
    assert str(round_half_up(value)) == expected


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("100", "A"),
        ("90.0", "A"),
        ("89.9", "B"),
        ("70.0", "B"),
        ("69.9", "C"),
        ("50.0", "C"),
        ("49.9", "D"),
        ("0", "D"),
    ],
)
def test_grade_boundaries(score: str, grade: str) -> None:
    """001 §II.2: A 90–100, B 70–<90, C 50–<70, D <50."""
    assert grade_for(Decimal(score)) is Grade(grade)


def test_grade_is_taken_after_rounding() -> None:
    """89.95 rounds to 90.0, which is A (the grade uses the rounded score)."""
    # general 20 + 70 × r = 89.95 → r = 6995/7000
    tasks = [
        TaskRecord(points=Fraction(6995), completed=True),
        TaskRecord(points=Fraction(5), completed=False),
    ]
    # a = 6995/7000, b = a, c = a → result = a
    result = month(tasks, general=20)
    assert result.task_result == Fraction(6995, 7000)
    assert str(result.score) == "90.0" and result.grade is Grade.A


def test_exactly_half_the_days_is_evaluated() -> None:
    """001 §I.6: under 50% is not evaluated; exactly 50% is."""
    tasks = [TaskRecord(points=Fraction(5), completed=True)]
    half = score_month(tasks, general_score=30, working_days=22, days_worked=11)
    under = score_month(tasks, general_score=30, working_days=21, days_worked=10)
    assert half.status is Status.EVALUATED
    assert under.status is Status.NOT_EVALUATED and under.score is None


def test_zero_points_of_tasks_is_no_tasks() -> None:
    result = month([TaskRecord(points=Fraction(0), completed=True)])
    assert result.status is Status.NO_TASKS and result.grade is None


def test_incomplete_task_earns_no_quality_or_timeliness() -> None:
    result = month([TaskRecord(points=Fraction(10), completed=False, quality_failures=0)])
    assert (result.a, result.b, result.c) == (0, 0, 0)
    assert str(result.score) == "30.0" and result.grade is Grade.D


def test_per_day_uses_days_late_and_per_delay_ignores_them() -> None:
    task = TaskRecord(points=Fraction(8), completed=True, delays=1, days_late=2)
    per_delay = month([task])
    per_day = month([task], rules=ScoringRules(delay_penalty_unit=DelayPenaltyUnit.PER_DAY))
    assert per_delay.c == Fraction(3, 4)
    assert per_day.c == Fraction(1, 2)


def test_objective_cause_waives_both_deductions() -> None:
    task = TaskRecord(
        points=Fraction(8), completed=True, delays=3, quality_failures=2, objective_cause=True
    )
    result = month([task])
    assert (result.b, result.c) == (1, 1)


def test_leader_factors_half_when_not_met() -> None:
    """001 §III.3–4: (a+b+c+d+đ+e)/6 with d, đ, e each 1 or 1/2."""
    tasks = [TaskRecord(points=Fraction(10), completed=True)]
    all_met = month(tasks, leader=LeaderFactors(True, True, True))
    none_met = month(tasks, leader=LeaderFactors(False, False, False))
    assert all_met.task_result == 1 and (all_met.d, all_met.dd, all_met.e) == (1, 1, 1)
    assert none_met.task_result == Fraction(3 + Fraction(3, 2), 6)
    assert str(none_met.score) == "82.5"


def test_excellent_requires_exceeding_at_30_percent_exactly() -> None:
    """000 §II.2: A needs every task done and ≥ 30% of the points exceeded."""
    rules = ScoringRules(excellent_requires_exceeding=True)
    at_30 = [
        TaskRecord(points=Fraction(3), completed=True, exceeded=True),
        TaskRecord(points=Fraction(7), completed=True),
    ]
    under = [
        TaskRecord(points=Fraction(29, 10), completed=True, exceeded=True),
        TaskRecord(points=Fraction(71, 10), completed=True),
    ]
    assert month(at_30, rules=rules).grade is Grade.A
    demoted = month(under, rules=rules)
    assert demoted.grade is Grade.B and demoted.notes
    assert month(under).grade is Grade.A  # the rule is off by default


def test_inputs_out_of_range_are_rejected() -> None:
    tasks = [TaskRecord(points=Fraction(1), completed=True)]
    with pytest.raises(ValueError, match="general_score"):
        month(tasks, general=Fraction(301, 10))
    with pytest.raises(ValueError, match="days_worked"):
        score_month(tasks, general_score=1, working_days=20, days_worked=21)
    with pytest.raises(ValueError, match="points"):
        TaskRecord(points=Fraction(-1), completed=True)
    with pytest.raises(ValueError, match="excellent_quota_ratio"):
        ScoringRules(excellent_quota_ratio=Fraction(3, 10))


def _graded(scores: dict[str, str]) -> dict[str, tuple[Decimal, Grade]]:
    return {p: (Decimal(s), grade_for(Decimal(s))) for p, s in scores.items()}


def test_quota_ties_keep_the_smaller_id_and_ignore_input_order() -> None:
    """001 §II.2.5 with 1 A allowed among 5 B: of two A on 95.0 the larger id moves to B."""
    scores = {"p2": "95.0", "p1": "95.0", **{f"b{i}": "80.0" for i in range(4)}}
    final = apply_quota(_graded(scores), "0.2")
    assert (final["p1"], final["p2"]) == (Grade.A, Grade.B)
    reordered = dict(reversed(list(scores.items())))
    assert apply_quota(_graded(reordered), "0.2") == final


def test_quota_never_touches_c_and_d() -> None:
    final = apply_quota(_graded({"a": "99", "c": "60", "d": "10"}), "0.25")
    assert final == {"a": Grade.B, "c": Grade.C, "d": Grade.D}
