"""Early warnings: overdue, due soon with low progress, no update, projected miss by trend."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.warnings import (
    ItemKind,
    TrackedItem,
    WarningKind,
    WarningRules,
    early_warnings,
    least_squares,
)
from services.tasks.workdays import WorkCalendar

D = Decimal
F = Fraction
TODAY = date(2026, 6, 24)  # a Wednesday


class Weekdays:
    """Monday–Friday, no holidays: enough for June 2026 (no public holiday in it)."""

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5


def task(code: str, due: date, progress: Fraction, **kw: object) -> TrackedItem:
    fields: dict[str, object] = {
        "kind": ItemKind.TASK,
        "code": code,
        "title": f"Việc {code}",
        "owner": "P001",
        "start": date(2026, 6, 1),
        "due": due,
        "progress": progress,
        "log": ((date(2026, 6, 22), progress * 100),),
    }
    fields.update(kw)
    return TrackedItem(**fields)  # type: ignore[arg-type]


def kinds(items: list[TrackedItem], **kw: object) -> list[tuple[str, WarningKind]]:
    return [(w.code, w.kind) for w in early_warnings(items, TODAY, Weekdays(), **kw)]  # type: ignore[arg-type]


def test_due_soon_counts_working_days() -> None:
    items = [
        task("T1", date(2026, 6, 26), F(2, 5)),  # Thu 25, Fri 26 → 2 working days left
        task("T2", date(2026, 6, 29), F(1, 5)),  # Thu, Fri, (weekend), Mon 29 → 3
        task("T3", date(2026, 6, 30), F(1, 5)),  # … Tue 30 → 4 > 3: not yet
        task("T4", date(2026, 6, 26), F(1, 2)),  # 2 days left but 50 % is not below 50 %
    ]
    warnings = early_warnings(items, TODAY, Weekdays())
    assert [(w.code, w.kind) for w in warnings] == [
        ("T1", WarningKind.DUE_SOON),
        ("T2", WarningKind.DUE_SOON),
    ]
    first = warnings[0]
    assert first.figures == {
        "due": date(2026, 6, 26),
        "working_days_left": 2,
        "progress": F(2, 5),
        "low_progress": F(1, 2),
    }
    assert first.message == (
        "Nhiệm vụ T1 «Việc T1» còn 2 ngày làm việc đến hạn 26/06/2026 nhưng mới đạt 40% "
        "(dưới ngưỡng 50%)."
    )
    assert warnings[1].figures["working_days_left"] == 3
    # A wider horizon catches T3.
    assert ("T3", WarningKind.DUE_SOON) in kinds(items, rules=WarningRules(soon_working_days=4))


def test_due_soon_skips_public_holidays() -> None:
    # Friday 13/02/2026 before Tết (16–20/02 off): due Monday 23/02 is 1 working day away.
    item = task("T9", date(2026, 2, 23), F(1, 10), start=date(2026, 2, 9), log=())
    [warning] = early_warnings([item], date(2026, 2, 13), WorkCalendar())
    assert warning.kind is WarningKind.DUE_SOON
    assert warning.figures["working_days_left"] == 1


def test_overdue_counts_working_days_late() -> None:
    item = task("T5", date(2026, 6, 19), F(9, 10))
    [warning] = early_warnings([item], TODAY, Weekdays())
    # After Fri 19: Mon 22, Tue 23, Wed 24 → 3 working days late.
    assert warning.kind is WarningKind.OVERDUE
    assert warning.figures["working_days_late"] == 3
    assert warning.message == (
        "Nhiệm vụ T5 «Việc T5» đã quá hạn 3 ngày làm việc (hạn 19/06/2026), mới đạt 90%."
    )


def test_no_update_since_start_or_last_log() -> None:
    never = task("T6", date(2026, 7, 31), F(0), start=date(2026, 6, 10), log=())
    old = task("T7", date(2026, 7, 31), F(1, 4), log=((date(2026, 6, 17), D(25)),))
    fresh = task("T8", date(2026, 7, 31), F(1, 4), log=((date(2026, 6, 18), D(25)),))
    warnings = early_warnings([never, old, fresh], TODAY, Weekdays())
    # T6: 24 − 10 = 14 days > 7; T7: 24 − 17 = 7 days, not more than 7; T8: 6 days.
    assert [(w.code, w.kind) for w in warnings] == [("T6", WarningKind.NO_UPDATE)]
    assert warnings[0].figures == {
        "last_update": date(2026, 6, 10),
        "days_without_update": 14,
        "stale_days": 7,
    }
    assert warnings[0].message == (
        "Nhiệm vụ T6 «Việc T6» chưa cập nhật tiến độ 14 ngày (lần cuối 10/06/2026)."
    )
    assert kinds([old], rules=WarningRules(stale_days=6)) == [("T7", WarningKind.NO_UPDATE)]


def key_result(code: str, log: list[tuple[date, Decimal]], **kw: object) -> TrackedItem:
    fields: dict[str, object] = {
        "kind": ItemKind.KEY_RESULT,
        "code": code,
        "title": f"Chỉ tiêu {code}",
        "owner": "U01",
        "start": date(2026, 6, 1),
        "due": date(2026, 6, 30),
        "progress": F(1, 2),
        "log": tuple(log),
    }
    fields.update(kw)
    return TrackedItem(**fields)  # type: ignore[arg-type]


def test_projected_miss_higher_is_better() -> None:
    # x = 0, 10, 20 days; y = 10, 30, 50 → slope 2 per day, intercept 10;
    # at the due date (x = 29): 10 + 2 × 29 = 68 < 100.
    kr = key_result(
        "K1", [(date(2026, 6, 1), D(10)), (date(2026, 6, 11), D(30)), (date(2026, 6, 21), D(50))]
    )
    [warning] = early_warnings([kr], TODAY, Weekdays())
    assert warning.kind is WarningKind.PROJECTED_MISS
    assert warning.figures["projected"] == F(68)
    assert warning.figures["slope_per_day"] == F(2)
    assert warning.message == (
        "Kết quả then chốt K1 «Chỉ tiêu K1»: theo xu hướng 3 lần cập nhật, dự kiến đạt 68 vào "
        "hạn 30/06/2026, không đạt mục tiêu 100."
    )


def test_on_track_trend_raises_nothing() -> None:
    # x = 0, 14, 21; y = 0, 60, 90: n = 3, Σx = 35, Σy = 150, Σx² = 637, Σxy = 2730;
    # slope = (3·2730 − 35·150) / (3·637 − 35²) = 2940 / 686 = 30/7; intercept = (150 − 150)/3
    # = 0; at x = 29: 870/7 ≈ 124.3 ≥ 100.
    log = [(date(2026, 6, 1), D(0)), (date(2026, 6, 15), D(60)), (date(2026, 6, 22), D(90))]
    trend = least_squares(log)
    assert trend is not None
    assert (trend.slope, trend.intercept, trend.at(date(2026, 6, 30))) == (F(30, 7), 0, F(870, 7))
    assert early_warnings([key_result("K3", log)], TODAY, Weekdays()) == []


def test_projected_miss_lower_is_better() -> None:
    # x = 0, 10, 20; y = 2, 4, 5: Σx = 30, Σy = 11, Σx² = 500, Σxy = 140;
    # slope = (420 − 330) / (1500 − 900) = 3/20; intercept = (11 − 4.5) / 3 = 13/6;
    # at x = 29: 13/6 + 87/20 = 391/60 ≈ 6.5 > ceiling 5.
    log = [(date(2026, 6, 1), D(2)), (date(2026, 6, 11), D(4)), (date(2026, 6, 21), D(5))]
    kr = key_result("K2", log, target=D(5), lower_is_better=True, progress=F(1))
    [warning] = early_warnings([kr], TODAY, Weekdays())
    assert warning.figures["projected"] == F(391, 60)
    assert warning.figures["lower_is_better"] is True
    assert warning.message.endswith("dự kiến đạt 6.5 vào hạn 30/06/2026, vượt ngưỡng tối đa 5.")
    # The same line against a higher-is-better target of 5 is fine (6.5 ≥ 5).
    assert early_warnings([key_result("K2", log, target=D(5))], TODAY, Weekdays()) == []


def test_trend_needs_enough_points_on_different_days() -> None:
    two = key_result("K4", [(date(2026, 6, 1), D(0)), (date(2026, 6, 21), D(10))])
    assert early_warnings([two], TODAY, Weekdays()) == []
    assert kinds([two], rules=WarningRules(min_trend_points=2)) == [
        ("K4", WarningKind.PROJECTED_MISS)
    ]
    same_day = [(date(2026, 6, 21), D(v)) for v in (1, 2, 3)]
    assert least_squares(same_day) is None
    assert early_warnings([key_result("K5", same_day)], TODAY, Weekdays()) == []


def test_done_items_raise_nothing() -> None:
    item = task("T0", date(2026, 6, 1), F(0), log=(), done=True)
    assert early_warnings([item], TODAY, Weekdays()) == []


@pytest.mark.parametrize(
    ("item", "rules", "field"),
    [
        (task("X", date(2026, 5, 1), F(0)), WarningRules(), "due"),
        (task("X", date(2026, 7, 1), F(-1, 2)), WarningRules(), "progress"),
        (task("X", date(2026, 7, 1), F(0), log=((TODAY, 0.5),)), WarningRules(), "log"),
        (task("X", date(2026, 7, 1), F(0)), WarningRules(stale_days=0), "stale_days"),
        (task("X", date(2026, 7, 1), F(0)), WarningRules(min_trend_points=1), "min_trend_points"),
    ],
)
def test_bad_input_names_the_field(item: TrackedItem, rules: WarningRules, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        early_warnings([item], TODAY, Weekdays(), rules)


@given(
    a=st.fractions(-100, 100, max_denominator=10),
    b=st.fractions(-10, 10, max_denominator=10),
    days=st.lists(st.integers(0, 365), min_size=2, max_size=12, unique=True),
)
def test_least_squares_recovers_an_exact_line(a: Fraction, b: Fraction, days: list[int]) -> None:
    origin = date(2026, 1, 1)
    points = [(origin + timedelta(days=x), a + b * x) for x in days]
    trend = least_squares(points)
    assert trend is not None
    start = min(days)
    assert trend.slope == b
    assert trend.at(origin + timedelta(days=start)) == a + b * start


@given(
    values=st.lists(st.integers(0, 1000), min_size=3, max_size=10),
    target=st.integers(0, 1000),
)
def test_reversing_direction_flips_the_verdict(values: list[int], target: int) -> None:
    log = [(date(2026, 6, 1) + timedelta(days=3 * i), D(v)) for i, v in enumerate(values)]
    higher = early_warnings([key_result("K", log, target=D(target))], TODAY, Weekdays())
    lower = early_warnings(
        [key_result("K", log, target=D(target), lower_is_better=True)], TODAY, Weekdays()
    )
    trend = least_squares(log)
    assert trend is not None
    projected = trend.at(date(2026, 6, 30))
    higher_miss = [w for w in higher if w.kind is WarningKind.PROJECTED_MISS]
    lower_miss = [w for w in lower if w.kind is WarningKind.PROJECTED_MISS]
    assert bool(higher_miss) == (projected < target)
    assert bool(lower_miss) == (projected > target)
