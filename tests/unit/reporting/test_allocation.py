"""Additional income split in proportion to score (``001 §V.1``, ``000 §III.5``)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.allocation import (
    NO_TASKS,
    NOT_EVALUATED,
    PublishedResult,
    allocate_income,
)


def amounts(pool: int, rows: list[PublishedResult], **kwargs: object) -> dict[str, int]:
    return {s.person: s.amount for s in allocate_income(pool, rows, **kwargs)}  # type: ignore[arg-type]


def test_hand_computed_split_with_grade_d_excluded() -> None:
    rows = [
        PublishedResult("P1", Decimal("90.0"), "A"),
        PublishedResult("P2", Decimal("80.0"), "B"),
        PublishedResult("P3", Decimal("70.0"), "B"),
        PublishedResult("P4", Decimal("40.0"), "D"),
    ]
    # Eligible total 90 + 80 + 70 = 240; pool 10,000,000 đ.
    # P1: 10,000,000 × 90/240 = 3,750,000; P2: × 80/240 = 3,333,333 1/3;
    # P3: × 70/240 = 2,916,666 2/3. Floors sum to 9,999,999 → 1 đồng left, to the largest
    # remainder (P3, 2/3). P4 (grade D) gets nothing.
    shares = allocate_income(10_000_000, rows)
    assert [(s.person, s.amount, s.eligible) for s in shares] == [
        ("P1", 3_750_000, True),
        ("P2", 3_333_333, True),
        ("P3", 2_916_667, True),
        ("P4", 0, False),
    ]
    assert shares[1].quota == Fraction(10_000_000 * 80, 240)


def test_equal_remainders_and_scores_go_by_person_code() -> None:
    # Pool 10 over scores 1, 1, 1 (equal remainders 1/3): floors 3+3+3 = 9, 1 đồng left →
    # equal remainders and equal scores → the lowest person code, "A1".
    rows = [PublishedResult(p, Decimal(1), "C") for p in ("C1", "A1", "B1")]
    assert amounts(10, rows) == {"A1": 4, "B1": 3, "C1": 3}
    # Pool 1 over 49.5 and 50.5 (total 100) → quotas 0.495 and 0.505: the larger remainder.
    rows2 = [PublishedResult("X", Decimal("49.5"), "C"), PublishedResult("Y", Decimal("50.5"), "B")]
    assert amounts(1, rows2) == {"X": 0, "Y": 1}


def test_leftover_dong_go_to_the_largest_remainders() -> None:
    rows = [
        PublishedResult("Z", Decimal(1), "C"),
        PublishedResult("M", Decimal(5), "C"),
        PublishedResult("N", Decimal(6), "C"),
    ]
    # Total 12. Pool 3: quotas 3/12 = 1/4, 15/12 = 5/4, 18/12 = 3/2 → floors 0, 1, 1 (sum 2),
    # 1 đồng left → largest remainder 1/2 (N).
    assert amounts(3, rows) == {"Z": 0, "M": 1, "N": 2}
    # Pool 2: quotas 1/6, 5/6, 1 → floors 0, 0, 1, 1 left → largest remainder 5/6 (M).
    assert amounts(2, rows) == {"Z": 0, "M": 1, "N": 1}


def test_equal_remainders_go_to_the_higher_score_first() -> None:
    # Pool 3 over scores 1 and 5 (total 6): quotas 1/2 and 5/2 → floors 0 and 2, 1 đồng left,
    # remainders both 1/2 → the higher score (J) takes it although "H" sorts first.
    rows = [PublishedResult("H", Decimal(1), "C"), PublishedResult("J", Decimal(5), "B")]
    assert amounts(3, rows) == {"H": 0, "J": 3}


def test_scoreless_outcomes_are_excluded_by_default() -> None:
    rows = [
        PublishedResult("P1", Decimal("85.5"), "B"),
        PublishedResult("P2", None, NOT_EVALUATED),
        PublishedResult("P3", None, NO_TASKS),
    ]
    assert amounts(1_000_001, rows) == {"P1": 1_000_001, "P2": 0, "P3": 0}


def test_tenant_rule_may_include_grade_d() -> None:
    rows = [PublishedResult("P1", Decimal(60), "C"), PublishedResult("P2", Decimal(40), "D")]
    # Pool 1,000,000 over 60 + 40 = 100 → 600,000 and 400,000 exactly.
    got = amounts(1_000_000, rows, excluded_grades={NOT_EVALUATED, NO_TASKS})
    assert got == {"P1": 600_000, "P2": 400_000}


def test_zero_pool_pays_nothing_even_without_eligible_people() -> None:
    assert amounts(0, [PublishedResult("P1", Decimal(10), "D")]) == {"P1": 0}
    assert allocate_income(0, []) == []


@pytest.mark.parametrize(
    ("pool", "rows", "field"),
    [
        (-1, [PublishedResult("P1", Decimal(80), "B")], "pool"),
        (
            100,
            [PublishedResult("P1", Decimal(80), "B"), PublishedResult("P1", Decimal(70), "B")],
            "person",
        ),
        (100, [PublishedResult("P1", Decimal(30), "D")], "results"),
        (100, [], "results"),
        (
            100,
            [PublishedResult("P1", Decimal(0), "D"), PublishedResult("P2", Decimal(0), "C")],
            "score",
        ),
        (100, [PublishedResult("P1", None, "B")], "score"),
        (100, [PublishedResult("P1", Decimal(-5), "B")], "score"),
        (100, [PublishedResult("P1", 80.0, "B")], "score"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_names_the_field(pool: int, rows: list[PublishedResult], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        allocate_income(pool, rows)


def test_pool_must_be_whole_dong() -> None:
    with pytest.raises(TypeError, match=r"^pool:"):
        allocate_income(Decimal("10.5"), [])  # type: ignore[arg-type]


scores = st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False)
grades = st.sampled_from(["A", "B", "C", "D"])


@st.composite
def unit_results(draw: st.DrawFn) -> list[PublishedResult]:
    n = draw(st.integers(min_value=1, max_value=25))
    codes = draw(
        st.lists(st.from_regex(r"P[0-9]{3}", fullmatch=True), min_size=n, max_size=n, unique=True)
    )
    rows = [PublishedResult(c, draw(scores), draw(grades)) for c in codes]
    # At least one eligible person with a positive score, so any pool can be split.
    rows.append(PublishedResult("Z999", draw(scores.filter(lambda s: s > 0)), "B"))
    return rows


pools = st.integers(min_value=0, max_value=10**10)


@given(pool=pools, rows=unit_results())
def test_sum_equals_pool(pool: int, rows: list[PublishedResult]) -> None:
    assert sum(s.amount for s in allocate_income(pool, rows)) == pool


@given(pool=pools, rows=unit_results())
def test_each_share_within_one_dong_of_its_quota(pool: int, rows: list[PublishedResult]) -> None:
    eligible = [r for r in rows if r.grade != "D"]
    total = sum(Fraction(r.score) for r in eligible)  # type: ignore[arg-type]
    by_person = {s.person: s for s in allocate_income(pool, rows)}
    for r in rows:
        share = by_person[r.person]
        expected = pool * Fraction(r.score) / total if r.grade != "D" else Fraction(0)  # type: ignore[arg-type]
        assert share.quota == expected
        assert abs(share.amount - expected) < 1


@given(pool=pools, rows=unit_results())
def test_higher_score_never_gets_less(pool: int, rows: list[PublishedResult]) -> None:
    shares = {s.person: s.amount for s in allocate_income(pool, rows)}
    eligible = [r for r in rows if r.grade != "D"]
    for hi in eligible:
        for lo in eligible:
            if hi.score > lo.score:  # type: ignore[operator]
                assert shares[hi.person] >= shares[lo.person]


@given(pool=pools, rows=unit_results(), data=st.data())
def test_permutation_invariant(pool: int, rows: list[PublishedResult], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(rows))
    assert amounts(pool, rows) == amounts(pool, list(shuffled))
    # The output keeps the input order.
    assert [s.person for s in allocate_income(pool, shuffled)] == [r.person for r in shuffled]


@given(pool=st.integers(min_value=1, max_value=10**9), rows=unit_results())
def test_not_an_even_split_unless_scores_are_equal(pool: int, rows: list[PublishedResult]) -> None:
    # Shares of equal-score people differ by at most 1 đồng (rounding); a person with twice the
    # score of another gets at least twice the other's share minus 2 đồng of rounding.
    shares = {s.person: s.amount for s in allocate_income(pool, rows)}
    eligible = [r for r in rows if r.grade != "D"]
    for x in eligible:
        for y in eligible:
            if x.score == y.score:
                assert abs(shares[x.person] - shares[y.person]) <= 1
            elif y.score > 0 and x.score >= 2 * y.score:  # type: ignore[operator]
                assert shares[x.person] >= 2 * shares[y.person] - 2
