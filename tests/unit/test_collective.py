"""Collective evaluation of a unit (004 Part B §I): completion per perspective without
breakthrough items, weighted by objective weights, the unplanned work listed, the proposed
level, and the head linked to it."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from services.evaluation import collective
from services.evaluation.leaders import ObjectiveStanding as O
from services.evaluation.scoring import Grade, round_half_up


def test_breakthrough_and_unmeasured_objectives_are_left_out() -> None:
    objectives = [
        O("C1", "citizens", progress=Fraction(1), weight=Fraction(60)),
        O("C2", "citizens", progress=Fraction(1, 2), weight=Fraction(40)),
        O("C3", "citizens", breakthrough=True, progress=Fraction(0), weight=Fraction(50)),
        O("F1", "finance", progress=Fraction(9, 10)),
        O("P1", "process", progress=None),
    ]
    work = [collective.UnplannedWork("Chống bão số 3", "citizens", "hoàn thành")]
    result = collective.evaluate(objectives, work)
    by = {p.perspective: p for p in result.perspectives}
    assert by["citizens"].completion == Decimal("80.0")  # (60·1 + 40·0.5) / 100
    assert by["citizens"].excluded == ("C3",)
    assert by["citizens"].unplanned == tuple(work)
    assert by["finance"].completion == Decimal("90.0")
    assert by["process"].completion is None and by["process"].excluded == ("P1",)
    assert by["learning"].completion is None
    # overall: weights 60, 40, 1 over the counted objectives
    expected = (Fraction(60) + Fraction(20) + Fraction(9, 10)) / 101 * 100
    assert result.completion == round_half_up(expected) == Decimal("80.1")
    assert result.proposed_level is Grade.B
    data = result.as_json()
    assert data["perspectives"]["citizens"]["unplanned"] == ["Chống bão số 3"]
    assert data["completion"] == str(result.completion)


def test_zero_weights_count_equally_and_over_completion_caps_the_level() -> None:
    objectives = [
        O("C1", "citizens", progress=Fraction(6, 5), weight=Fraction(0)),
        O("C2", "citizens", progress=Fraction(1), weight=Fraction(0)),
    ]
    result = collective.evaluate(objectives)
    assert result.completion == Decimal("110.0")
    assert result.proposed_level is Grade.A
    assert collective.evaluate([]).proposed_level is None


def test_periods_and_bad_input() -> None:
    assert collective.months_of("2026-Q2") == ["2026-04", "2026-05", "2026-06"]
    assert len(collective.months_of("2026")) == 12
    for bad in ("2026-Q5", "2026-06", "26"):
        with pytest.raises(ValueError, match="period"):
            collective.check_period(bad)
    with pytest.raises(ValueError, match="perspective"):
        collective.evaluate([O("X", "sales", progress=Fraction(1))])
    with pytest.raises(ValueError, match="perspective"):
        collective.UnplannedWork("Việc", "sales", "xong")
    with pytest.raises(ValueError, match="title"):
        collective.UnplannedWork(" ", "citizens", "xong")


def test_head_linked_flags_a_head_graded_above_the_unit() -> None:
    head = {"person": "H", "average": "91.0", "grade": "A"}
    assert collective.head_linked(head, Grade.B)["above_collective"] is True
    assert collective.head_linked(head, Grade.A)["above_collective"] is False
    assert collective.head_linked(None, Grade.A) is None
