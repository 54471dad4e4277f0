"""The goal tree's pure rules (``services.reporting.goal_tree``) and the planning projections
(``services.reporting.projections.plan_snapshot`` / ``progress_value``).

Expected figures are worked out by hand from the rules of ``004 Phụ lục 4 §3–§4`` in each
test, not by calling the code under test twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from services.reporting.goal_tree import (
    KeyResultNode,
    ObjectiveNode,
    achievement,
    colour,
    expected_progress,
    key_result_progress,
    plan_figures,
)
from services.reporting.goals import percent
from services.reporting.projections import (
    Malformed,
    apply_task,
    period_bounds,
    plan_snapshot,
    progress_value,
)

D = Decimal
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def kr(code: str, value: str | None, target: str = "100", **extra: Any) -> KeyResultNode:
    return KeyResultNode(
        code=code,
        target=D(target),
        value=None if value is None else D(value),
        weight=extra.pop("weight", D(50)),
        **extra,
    )


# --- key results ---------------------------------------------------------------------------


def test_key_result_progress_higher_lower_and_baseline() -> None:
    assert key_result_progress(kr("a", None), D(40)) == Fraction(2, 5)
    # from the baseline: GRDP 6.5 → 8.0, now 6.9 → 0.4 / 1.5
    grdp = kr("g", None, "8.0", baseline=D("6.5"))
    assert key_result_progress(grdp, D("6.9")) == Fraction(4, 15)
    # lower is better (chỉ số nghịch): CPI target 4.0, actual 3.2 → 4 / 3.2 = 125 %
    cpi = kr("c", None, "4.0", direction="lower")
    assert key_result_progress(cpi, D("3.2")) == Fraction(5, 4)
    assert key_result_progress(cpi, D(0)) == Fraction(3, 2)  # the cap
    assert key_result_progress(kr("x", None), D(500)) == Fraction(3, 2)
    assert key_result_progress(kr("y", None), D(-5)) == 0
    with pytest.raises(ValueError, match="no target"):
        key_result_progress(KeyResultNode(code="n"), D(1))
    with pytest.raises(ValueError, match="baseline"):
        key_result_progress(kr("b", None, "5", baseline=D(5)), D(6))


def test_achievement_levels_both_directions() -> None:
    spec = KeyResultNode(
        code="k",
        target=D(100),
        complete_threshold=D(90),
        exceed_threshold=D(110),
        fail_threshold=D(50),
    )
    assert [achievement(spec, D(v)) for v in ("120", "95", "60", "50")] == [
        "exceeded",
        "completed",
        "in_progress",
        "failed",
    ]
    cpi = KeyResultNode(
        code="cpi",
        direction="lower",
        target=D(4),
        complete_threshold=D(4),
        exceed_threshold=D("3.5"),
        fail_threshold=D("4.5"),
    )
    assert [achievement(cpi, D(v)) for v in ("3.2", "4", "4.2", "4.6")] == [
        "exceeded",
        "completed",
        "in_progress",
        "failed",
    ]
    with pytest.raises(ValueError, match="contradict"):
        achievement(KeyResultNode(code="z", target=D(10), exceed_threshold=D(5)), D(1))


def test_expected_progress_and_traffic_light() -> None:
    assert expected_progress(date(2026, 5, 1), date(2026, 5, 31), date(2026, 5, 20)) == Fraction(
        20, 31
    )
    assert expected_progress(*YEAR, date(2025, 12, 31)) == 0
    assert expected_progress(*YEAR, date(2027, 1, 1)) == 1
    half = Fraction(1, 2)
    assert colour(Fraction(40, 100), half) == "green"  # exactly 10 points behind
    assert colour(Fraction(39, 100), half) == "amber"
    assert colour(Fraction(25, 100), half) == "amber"  # exactly 25 points behind
    assert colour(Fraction(24, 100), half) == "red"


# --- roll-up -------------------------------------------------------------------------------


def _tree() -> list[ObjectiveNode]:
    """A parent objective whose KR "P-KR2" has no value and is served by a child objective of
    another plan (cascade), a breakthrough objective with an okr key result, and a learning
    objective with progress from its children."""
    child = ObjectiveNode(
        code="C-O1",
        plan="C",
        perspective="citizens",
        weight=D(100),
        parent_key_result="P-KR2",
        key_results=(kr("C-KR1", "30", weight=D(100)),),
    )
    parent = ObjectiveNode(
        code="P-O1",
        plan="P",
        perspective="citizens",
        weight=D(60),
        key_results=(kr("P-KR1", "80", weight=D(75)), kr("P-KR2", None, weight=D(25))),
        children=(child,),
    )
    breakthrough = ObjectiveNode(
        code="P-O2",
        plan="P",
        perspective="process",
        breakthrough=True,
        weight=D(20),
        key_results=(kr("P-KR3", "10", kind="okr", weight=D(100)),),
    )
    grandchild = ObjectiveNode(
        code="L-O1",
        plan="L",
        perspective="learning",
        weight=D(1),
        parent_key_result="P-KR4",
        key_results=(kr("L-KR1", "50", weight=D(100)),),
    )
    learning = ObjectiveNode(
        code="P-O3",
        plan="P",
        perspective="learning",
        weight=D(20),
        progress_source="children",
        key_results=(kr("P-KR4", "100", weight=D(100)),),
        children=(grandchild,),
    )
    return [parent, breakthrough, learning]


def test_reported_roll_up_follows_the_cascade() -> None:
    figures = plan_figures(_tree(), *YEAR, date(2026, 7, 2), evaluation=False)
    parent, breakthrough, learning = figures.objectives
    # P-KR2 has no value: the child objective serving it gives 30 %
    kr2 = parent.key_results[1]
    assert (kr2.source, kr2.progress) == ("children", Fraction(3, 10))
    # P-O1 = (80 × 75 + 30 × 25) / 100 = 67.5 %
    assert parent.progress == Fraction(675, 1000)
    # P-O3 from its children only: L-O1 = 50 %
    assert learning.progress == Fraction(1, 2)
    # plan = (67.5 × 60 + 10 × 20 + 50 × 20) / 100 = 52.5 %
    assert figures.progress == Fraction(525, 1000)
    assert figures.by_perspective == {
        "citizens": Fraction(675, 1000),
        "finance": None,
        "process": Fraction(1, 10),
        "learning": Fraction(1, 2),
    }
    # 2 July: 183 of 365 days elapsed
    assert figures.expected == Fraction(183, 365)
    assert figures.colour == "green" and breakthrough.colour == "red"
    assert percent(figures.progress) == D("52.5")


def test_evaluation_roll_up_leaves_breakthrough_items_out() -> None:
    figures = plan_figures(_tree(), *YEAR, date(2026, 7, 2), evaluation=True)
    parent, breakthrough, learning = figures.objectives
    assert not breakthrough.counted and breakthrough.progress == Fraction(1, 10)
    # weights re-normalised over P-O1 (60) and P-O3 (20): (67.5 × 60 + 50 × 20) / 80
    assert figures.progress == Fraction(675 * 60 + 500 * 20, 80 * 1000)
    assert figures.by_perspective["process"] is None
    assert parent.counted and learning.counted


def test_missing_data_and_unusable_weights() -> None:
    node = ObjectiveNode(
        code="O",
        key_results=(kr("A", "60", weight=None), kr("B", None, weight=D(10))),
    )
    figures = plan_figures([node], *YEAR, date(2026, 12, 31), evaluation=False)
    objective = figures.objectives[0]
    assert objective.missing_data == ("B",)
    # a missing weight: equal weights → (60 + 0) / 2
    assert objective.progress == Fraction(3, 10)
    assert objective.colour == "red"  # the year is over: expected 100 %


def test_only_okr_key_results_leave_nothing_to_evaluate() -> None:
    node = ObjectiveNode(code="O", key_results=(kr("A", "60", kind="okr"),))
    figures = plan_figures([node], *YEAR, date(2026, 3, 1), evaluation=True)
    assert figures.objectives[0].progress is None and figures.progress is None


# --- projections of planning events ---------------------------------------------------------


def snapshot_data(**extra: Any) -> dict[str, Any]:
    return {
        "plan": "PL-2026",
        "owner_unit": "PL",
        "owner_person": None,
        "period": {"kind": "quarter", "year": 2026, "number": 2},
        "status": "approved",
        "objectives": [
            {
                "code": "PL-O1",
                "title": "Phát triển kinh tế",
                "perspective": "citizens",
                "breakthrough": False,
                "weight": "40",
                "progress_source": "key_results",
                "parent_key_result": "HN-O1-KR3",
                "key_results": [
                    {
                        "code": "PL-O1-KR1",
                        "title": "Doanh nghiệp mới",
                        "kind": "kpi",
                        "unit_of_measure": "doanh nghiệp",
                        "direction": "higher",
                        "target": "150",
                        "weight": "60",
                        "current": "64",
                    }
                ],
            }
        ],
    } | extra


def test_plan_snapshot_rows() -> None:
    snap = plan_snapshot("hanoi", snapshot_data())
    assert snap.plan["period_start"] == date(2026, 4, 1)
    assert snap.plan["period_end"] == date(2026, 6, 30)
    assert snap.objectives[0]["parent_key_result"] == "HN-O1-KR3"
    assert snap.objectives[0]["weight"] == D(40)
    assert snap.key_results[0]["objective"] == "PL-O1"
    assert snap.key_results[0]["baseline"] is None
    assert snap.values == {"PL-O1-KR1": D(64)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"period": {"kind": "decade", "year": 2026}}, "data.period.kind"),
        ({"period": {"kind": "month", "year": 2026, "number": 13}}, "data.period"),
        ({"objectives": "x"}, "data.objectives must be a list"),
        ({"status": ""}, "data.status"),
    ],
)
def test_malformed_plan_snapshots_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(Malformed, match=message):
        plan_snapshot("hanoi", snapshot_data(**change))


def test_malformed_objective_and_key_result_fields() -> None:
    data = snapshot_data()
    data["objectives"][0]["perspective"] = "people"
    with pytest.raises(Malformed, match=r"data.objectives\[0\].perspective"):
        plan_snapshot("hanoi", data)
    data = snapshot_data()
    data["objectives"][0]["key_results"][0]["target"] = "lots"
    with pytest.raises(Malformed, match=r"key_results\[0\].target must be a number"):
        plan_snapshot("hanoi", data)


def test_period_bounds_of_every_kind() -> None:
    assert period_bounds("year", 2026, None) == YEAR
    assert period_bounds("month", 2026, 2) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_bounds("quarter", 2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds("week", 2026, 1) == (date(2025, 12, 29), date(2026, 1, 4))


def test_progress_value() -> None:
    assert progress_value({"key_result": "K", "new": "7.5"}) == ("K", D("7.5"), None)
    at = "2026-05-04T08:00:00+00:00"
    assert progress_value({"key_result": "K", "new": "1", "at": at})[2] == datetime(
        2026, 5, 4, 8, tzinfo=UTC
    )
    with pytest.raises(Malformed, match=r"data\.new"):
        progress_value({"key_result": "K", "new": None})


def test_task_keeps_due_date_and_event_times() -> None:
    base = {"task": "CV-1", "lead_person": "P1", "lead_unit": "U1", "period": "2026-06"}
    t1 = datetime(2026, 6, 1, 8, tzinfo=UTC)
    t2 = datetime(2026, 6, 3, 9, tzinfo=UTC)
    state = apply_task(None, "hanoi", "assigned", base | {"due_date": "2026-06-19"}, t1)
    state = apply_task(state, "hanoi", "started", base, t2)
    assert (state.due, state.assigned_at, state.last_event_at) == (date(2026, 6, 19), t1, t2)
    with pytest.raises(Malformed, match=r"data\.due_date"):
        apply_task(None, "hanoi", "assigned", base | {"due_date": "19/06/2026"}, t1)
