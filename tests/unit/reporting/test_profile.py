"""The competency profile across months (``000 §III.5``, ``§IV.6``, ``§IX.1``)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.profile import (
    LowStreak,
    MonthRecord,
    ProfileRules,
    TalentYear,
    competency_profile,
)

D = Decimal
F = Fraction

HALF_YEAR = [
    MonthRecord("2026-04", D("78.0"), "B", D("0.10"), innovations=1),
    MonthRecord("2026-01", D("92.0"), "A", F(2, 5)),
    MonthRecord("2026-02", D("85.5"), "B", F(3, 10)),
    MonthRecord("2026-03", None, "not_evaluated"),
    MonthRecord("2026-05", D("74.0"), "B", F(1, 5), delays=2),
    MonthRecord("2026-06", D("88.3"), "B", None, violations=1),
]


def test_half_year_profile_by_hand() -> None:
    profile = competency_profile(HALF_YEAR)
    assert [m.record.period for m in profile.months] == [f"2026-0{i}" for i in range(1, 7)]
    # Evaluated: 01, 02, 04, 05, 06 → 5. Mean (92.0 + 85.5 + 78.0 + 74.0 + 88.3) / 5
    # = 417.8 / 5 = 83.56 → 83.6.
    assert profile.months_evaluated == 5
    assert profile.average_score == F(41780, 500)
    assert profile.average_score_rounded == D("83.6")
    # Exceeded shares known: 0.4, 0.3, 0.1, 0.2 → 1.0 / 4 = 0.25.
    assert profile.average_exceeded_share == F(1, 4)
    assert profile.grade_counts == {"A": 1, "B": 4, "not_evaluated": 1}
    assert (profile.delays, profile.innovations, profile.violations) == (2, 1, 1)
    # Qualifying: 01 (40 % ≥ 30 %), 02 (exactly 30 %), 04 (an innovation) → 3 of 5, 6 > 5.
    assert [m.talent_month for m in profile.months] == [True, True, False, True, False, False]
    assert profile.talent_years == (TalentYear(2026, 5, 3, True),)
    assert profile.talent_pool is True
    assert profile.low_streaks == ()
    assert profile.persistently_low is False
    assert profile.messages == (
        "Năm 2026: 3/5 tháng có từ 30% công việc hoàn thành vượt mức hoặc có sản phẩm đổi mới "
        "sáng tạo — đề xuất đưa vào diện quy hoạch (000 §III.5).",
    )


def test_innovation_does_not_count_when_the_tenant_says_so() -> None:
    # Only 01 and 02 qualify → 2 of 5, 4 > 5 is false.
    profile = competency_profile(HALF_YEAR, ProfileRules(innovation_qualifies=False))
    assert profile.talent_years == (TalentYear(2026, 5, 2, False),)
    assert profile.talent_pool is False
    assert profile.messages == ()


def test_exactly_half_is_not_most() -> None:
    records = [
        MonthRecord("2026-01", D(80), "B", F(1, 2)),
        MonthRecord("2026-02", D(80), "B", F(1, 2)),
        MonthRecord("2026-03", D(80), "B", F(0)),
        MonthRecord("2026-04", D(80), "B", F(0)),
    ]
    # 2 of 4 evaluated months: 2 × 2 > 4 is false.
    assert competency_profile(records).talent_years == (TalentYear(2026, 4, 2, False),)


def test_talent_is_counted_per_calendar_year_with_a_minimum_of_months() -> None:
    records = [
        MonthRecord("2025-11", D(91), "A", F(1, 2)),
        MonthRecord("2025-12", D(93), "A", F(1, 2)),
        MonthRecord("2026-01", D(80), "B", F(1, 10)),
    ]
    # 2025: 2 of 2 qualify but only 2 evaluated months < 3 (default minimum); 2026: 0 of 1.
    profile = competency_profile(records)
    assert profile.talent_years == (TalentYear(2025, 2, 2, False), TalentYear(2026, 1, 0, False))
    relaxed = competency_profile(records, ProfileRules(talent_min_months=2))
    assert relaxed.talent_years[0] == TalentYear(2025, 2, 2, True)
    assert relaxed.talent_pool is True


LOW_RUN = [
    MonthRecord("2026-01", D("65.0"), "C"),
    MonthRecord("2026-02", D("72.0"), "B"),
    MonthRecord("2026-03", D("60.0"), "C"),
    MonthRecord("2026-04", None, "no_tasks"),
    MonthRecord("2026-05", D("45.0"), "D"),
    MonthRecord("2026-06", D("68.0"), "C"),
    MonthRecord("2026-07", D("75.0"), "B"),
]


def test_persistently_low_skips_months_without_a_score() -> None:
    profile = competency_profile(LOW_RUN)
    # Low: 01, 03, 05, 06; 04 has no score and is skipped, so 03-05-06 is one run of 3.
    assert [m.low_month for m in profile.months] == [True, False, True, False, True, True, False]
    assert profile.low_streaks == (
        LowStreak("2026-01", "2026-01", 1),
        LowStreak("2026-03", "2026-06", 3),
    )
    assert profile.persistently_low is True
    assert profile.messages == (
        "Kết quả thấp 3 tháng liên tiếp (2026-03 đến 2026-06) — cần xem xét nhắc nhở, chấn "
        "chỉnh (000 §IX.1).",
    )
    assert competency_profile(LOW_RUN, ProfileRules(low_streak=4)).persistently_low is False


def test_low_by_score_threshold() -> None:
    # No low grades, low below 73 points: 65, 72, 60, 45, 68 are low; 75 is not → one run
    # 01..06 of 5 evaluated months (04 skipped).
    rules = ProfileRules(low_grades=frozenset(), low_score=D(73))
    assert competency_profile(LOW_RUN, rules).low_streaks == (LowStreak("2026-01", "2026-06", 5),)


def test_empty_history() -> None:
    profile = competency_profile([])
    assert profile.months == ()
    assert profile.average_score is None
    assert profile.average_score_rounded is None
    assert profile.talent_pool is False
    assert profile.persistently_low is False


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([MonthRecord("2026-13", D(80), "B")], "period"),
        ([MonthRecord("2026-01", D(80), "B"), MonthRecord("2026-01", D(70), "B")], "period"),
        ([MonthRecord("2026-01", D(80), "E")], "grade"),
        ([MonthRecord("2026-01", None, "B")], "score"),
        ([MonthRecord("2026-01", D(101), "A")], "score"),
        ([MonthRecord("2026-01", D(40), "not_evaluated")], "score"),
        ([MonthRecord("2026-01", D(80), "B", F(3, 2))], "exceeded_share"),
        ([MonthRecord("2026-01", D(80), "B", 0.3)], "exceeded_share"),  # type: ignore[arg-type]
        ([MonthRecord("2026-01", D(80), "B", delays=-1)], "delays"),
        ([MonthRecord("2026-01", D(80), "B", violations=True)], "violations"),
    ],
)
def test_bad_records_name_the_field(records: list[MonthRecord], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        competency_profile(records)


def test_bad_rules_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^low_streak:"):
        competency_profile([], ProfileRules(low_streak=0))
    with pytest.raises(ValueError, match=r"^talent_share:"):
        competency_profile([], ProfileRules(talent_share=F(0)))


@st.composite
def histories(draw: st.DrawFn) -> list[MonthRecord]:
    periods = draw(
        st.lists(st.tuples(st.integers(2025, 2027), st.integers(1, 12)), unique=True, max_size=30)
    )
    out = []
    for year, month in periods:
        score = draw(st.none() | st.decimals(0, 100, places=1))
        grade = (
            draw(st.sampled_from(["not_evaluated", "no_tasks"]))
            if score is None
            else "A"
            if score >= 90
            else "B"
            if score >= 70
            else "C"
            if score >= 50
            else "D"
        )
        share = draw(st.none() | st.fractions(0, 1, max_denominator=20))
        out.append(MonthRecord(f"{year}-{month:02d}", score, grade, share))
    return out


@given(records=histories(), data=st.data())
def test_profile_does_not_depend_on_input_order(
    records: list[MonthRecord], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(records))
    assert competency_profile(shuffled) == competency_profile(records)


@given(records=histories())
def test_runs_cover_every_low_month_once(records: list[MonthRecord]) -> None:
    profile = competency_profile(records)
    assert sum(s.length for s in profile.low_streaks) == sum(m.low_month for m in profile.months)
    assert sum(y.months_evaluated for y in profile.talent_years) == profile.months_evaluated


def test_talent_message_follows_the_tenant_rules() -> None:
    records = [
        MonthRecord("2025-11", D(91), "A", F(2, 5)),
        MonthRecord("2025-12", D(93), "A", F(1, 2)),
    ]
    rules = ProfileRules(talent_min_months=2, innovation_qualifies=False, talent_share=F(2, 5))
    # Both months reach 40 % → 2 of 2.
    assert competency_profile(records, rules).messages == (
        "Năm 2025: 2/2 tháng có từ 40% công việc hoàn thành vượt mức — đề xuất đưa vào diện "
        "quy hoạch (000 §III.5).",
    )
