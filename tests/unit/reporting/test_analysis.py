"""The unit's written monthly analysis: rules over figures, every number traceable."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.analysis import (
    GroupFigures,
    Sentence,
    UnitFigures,
    monthly_analysis,
)

D = Decimal
NUMBER = re.compile(r"\d+(?:\.\d+)?")

# The groups of the worked example of 002 (3 focus tasks = 57 points, 8 regular = 64,
# 1 arising = 11; 104 of 132 points completed).
JUNE = UnitFigures(
    unit="Phòng Văn hóa - Xã hội",
    period="2026-06",
    groups=(
        GroupFigures("Nhiệm vụ trọng tâm", D(57), D(45), on_time=2, overdue=1, returned=1),
        GroupFigures("Nhiệm vụ thường xuyên", D(64), D(48), on_time=6, late=1, overdue=1),
        GroupFigures("Nhiệm vụ phát sinh", D(11), D(11), on_time=1),
    ),
    late_people=("Nguyễn Văn An", "Trần Thị Bình"),
    grades={"A": 1, "B": 10, "C": 3, "D": 1, "not_evaluated": 1},
)
MAY = UnitFigures(
    unit="Phòng Văn hóa - Xã hội",
    period="2026-05",
    groups=(
        GroupFigures("Nhiệm vụ trọng tâm", D(60), D(57), on_time=3),
        GroupFigures("Nhiệm vụ thường xuyên", D(64), D(50), on_time=5, late=2),
        GroupFigures("Nhiệm vụ phát sinh", D(10), D(6), on_time=1),
    ),
    grades={"A": 2, "B": 10, "C": 3, "not_evaluated": 1},
)


def unstated_numbers(sentence: Sentence) -> set[str]:
    """Numbers written in the text that are not among the sentence's figures."""
    stated: set[str] = set()
    for value in sentence.figures.values():
        text = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        stated.update(NUMBER.findall(text))
    return set(NUMBER.findall(sentence.text)) - stated


def test_the_traceability_check_catches_an_unstated_number() -> None:
    assert unstated_numbers(Sentence("Có 3 nhiệm vụ quá hạn.", {"this.total.overdue": 2})) == {"3"}
    assert unstated_numbers(Sentence("Có 2 nhiệm vụ quá hạn.", {"this.total.overdue": 2})) == set()


def test_june_against_may_by_hand() -> None:
    texts = [s.text for s in monthly_analysis(JUNE, MAY)]
    assert texts == [
        # 104 / 132 = 78.787…% → 78.8; on time 2 + 6 + 1 = 9; overdue 1 + 1 = 2.
        "Tháng 6/2026, Phòng Văn hóa - Xã hội hoàn thành 104/132 điểm nhiệm vụ được giao "
        "(78.8%); 9 nhiệm vụ hoàn thành đúng hạn, 1 nhiệm vụ hoàn thành muộn, 2 nhiệm vụ quá "
        "hạn, 1 lượt trả lại sản phẩm.",
        # May: 113 / 134 = 84.328…% → 84.3; 84.3 − 78.8 = 5.5.
        "So với tháng 5/2026, tỷ lệ hoàn thành giảm 5.5 điểm phần trăm (từ 84.3% xuống 78.8%).",
        # Focus: 57/60 = 95% → 45/57 = 78.947…% → 78.9, a drop of 16.1 ≥ 5.
        "Nhóm «Nhiệm vụ trọng tâm» giảm tỷ lệ hoàn thành từ 95% xuống 78.9% (hoàn thành 45/57 "
        "điểm).",
        # Regular: 50/64 = 78.125 → 78.1 to 48/64 = 75: a drop of 3.1 < 5, not reported.
        # Arising: 6/10 = 60% → 11/11 = 100%.
        "Nhóm «Nhiệm vụ phát sinh» tăng tỷ lệ hoàn thành từ 60% lên 100%.",
        "Nhóm «Nhiệm vụ trọng tâm»: 1 nhiệm vụ quá hạn, 0 nhiệm vụ hoàn thành muộn, 1 lượt trả "
        "lại (tháng trước: 0 quá hạn, 0 muộn, 0 trả lại).",
        "Nhóm «Nhiệm vụ thường xuyên»: 1 nhiệm vụ quá hạn, 1 nhiệm vụ hoàn thành muộn, 0 lượt "
        "trả lại (tháng trước: 0 quá hạn, 2 muộn, 0 trả lại).",
        "2 người chậm thực hiện các bước đánh giá trong kỳ: Nguyễn Văn An, Trần Thị Bình.",
        "Kết quả xếp loại: 1 Hoàn thành xuất sắc nhiệm vụ, 10 Hoàn thành tốt nhiệm vụ, 3 Hoàn "
        "thành nhiệm vụ, 1 Không hoàn thành nhiệm vụ, 1 Không đánh giá.",
        "So với tháng 5/2026: Hoàn thành xuất sắc nhiệm vụ từ 2 xuống 1; Không hoàn thành nhiệm "
        "vụ từ 0 lên 1.",
    ]


def test_sentences_reference_the_figures_they_state() -> None:
    sentences = monthly_analysis(JUNE, MAY)
    assert sentences[1].figures == {
        "last.period.month": 5,
        "last.period.year": 2026,
        "last.total.completion_pct": D("84.3"),
        "this.total.completion_pct": D("78.8"),
        "change.total.completion_pct": D("5.5"),
    }
    assert sentences[2].figures["this.groups.Nhiệm vụ trọng tâm.completion_pct"] == D("78.9")
    for sentence in sentences:
        assert unstated_numbers(sentence) == set(), sentence.text


def test_first_month_without_comparison() -> None:
    march = UnitFigures(
        unit="Tổ 3",
        period="2026-03",
        groups=(GroupFigures("Nhiệm vụ thường xuyên", D("20.5"), D("20.5"), on_time=4),),
    )
    sentences = monthly_analysis(march)
    assert [s.text for s in sentences] == [
        "Tháng 3/2026, Tổ 3 hoàn thành 20.5/20.5 điểm nhiệm vụ được giao (100%); 4 nhiệm vụ "
        "hoàn thành đúng hạn, 0 nhiệm vụ hoàn thành muộn, 0 nhiệm vụ quá hạn, 0 lượt trả lại "
        "sản phẩm.",
        "Tất cả cán bộ thực hiện đúng hạn các bước đánh giá trong kỳ.",
    ]
    assert sentences[0].figures["this.unit"] == "Tổ 3"
    for sentence in sentences:
        assert unstated_numbers(sentence) == set()


def test_no_slip_is_said_and_the_threshold_is_a_setting() -> None:
    # Regular work went from 78.1% to 75% (−3.1) and focus from 95% to 78.9% (−16.1): with a
    # 20-point threshold neither counts as a slip; arising rose by 40.
    texts = [s.text for s in monthly_analysis(JUNE, MAY, slip_points=D(20))]
    assert (
        "Không nhóm nhiệm vụ nào giảm tỷ lệ hoàn thành từ 20 điểm phần trăm trở lên so với "
        "tháng trước." in texts
    )
    assert not any("giảm tỷ lệ hoàn thành từ 95%" in t for t in texts)
    # With a 3-point threshold regular work slips too.
    texts3 = [s.text for s in monthly_analysis(JUNE, MAY, slip_points=D(3))]
    assert (
        "Nhóm «Nhiệm vụ thường xuyên» giảm tỷ lệ hoàn thành từ 78.1% xuống 75% (hoàn thành "
        "48/64 điểm)." in texts3
    )


def test_unit_without_assigned_work() -> None:
    empty = UnitFigures(unit="Tổ 1", period="2026-06", groups=())
    assert monthly_analysis(empty)[0].text == (
        "Tháng 6/2026, Tổ 1 không có nhiệm vụ được giao; 0 nhiệm vụ hoàn thành đúng hạn, 0 nhiệm "
        "vụ hoàn thành muộn, 0 nhiệm vụ quá hạn, 0 lượt trả lại sản phẩm."
    )


def bad(**changes: object) -> UnitFigures:
    fields: dict[str, object] = {
        "unit": "U",
        "period": "2026-06",
        "groups": (GroupFigures("G", D(10), D(5)),),
    }
    fields.update(changes)
    return UnitFigures(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("this", "last", "field"),
    [
        (bad(period="2026-6"), None, "period"),
        (bad(groups=(GroupFigures("G", D(10), D(11)),)), None, "completed_points"),
        (bad(groups=(GroupFigures("G", D(-1), D(0)),)), None, "assigned_points"),
        (
            bad(groups=(GroupFigures("G", D(1), D(1)), GroupFigures("G", D(1), D(0)))),
            None,
            "groups",
        ),
        (bad(groups=(GroupFigures("G", D(1), D(1), late=-1),)), None, "late"),
        (bad(grades={"E": 1}), None, "grades"),
        (bad(), bad(period="2026-06"), "last"),
    ],
)
def test_bad_figures_name_the_field(
    this: UnitFigures, last: UnitFigures | None, field: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        monthly_analysis(this, last)


points = st.decimals(min_value=0, max_value=500, places=1, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=40)
names = st.sampled_from(["Nhóm 1", "Nhiệm vụ trọng tâm", "Nhiệm vụ thường xuyên", "Phát sinh 2"])


@st.composite
def unit_month(draw: st.DrawFn, period: str) -> UnitFigures:
    groups = []
    for name in draw(st.lists(names, unique=True, max_size=4)):
        assigned = draw(points)
        completed = draw(points.filter(lambda p, a=assigned: p <= a))
        groups.append(
            GroupFigures(
                name, assigned, completed, draw(counts), draw(counts), draw(counts), draw(counts)
            )
        )
    grades = draw(st.dictionaries(st.sampled_from(["A", "B", "C", "D", "not_evaluated"]), counts))
    people = tuple(draw(st.lists(st.sampled_from(["Lê Văn Cường", "Phạm Thị Dung"]), unique=True)))
    return UnitFigures("Phường 12", period, tuple(groups), people, grades)


@given(this=unit_month("2026-07"), last=st.none() | unit_month("2026-06"))
def test_every_number_of_every_sentence_is_a_stated_figure(
    this: UnitFigures, last: UnitFigures | None
) -> None:
    for sentence in monthly_analysis(this, last):
        assert unstated_numbers(sentence) == set(), sentence.text
