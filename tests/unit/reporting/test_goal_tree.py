"""The goal tree's figures in reporting (``services.reporting.goal_tree``: read-model trees
rolled up by the shared ``services.common.goals.rollup``) and the planning projections
(``services.reporting.projections.plan_snapshot`` / ``progress_value``).

Expected figures are worked out by hand from the rules of ``004 Phụ lục 4 §3–§4`` in each
test, not by calling the code under test twice. The single rules (a key result's progress,
achievement, the traffic light) are tested in ``tests/unit/planning/test_okr_progress.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    ProgressSource,
)
from services.reporting.goal_tree import plan_figures
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
VALUES: dict[str, Decimal | None] = {}


def kr(code: str, value: str | None, target: str = "100", **extra: Any) -> KeyResultSpec:
    """A key result with ``value`` recorded in :data:`VALUES` (the read model's current value)."""
    VALUES[code] = None if value is None else D(value)
    return KeyResultSpec(
        code=code, title=code, target=D(target), weight=extra.pop("weight", D(50)), **extra
    )


def objective(code: str, **extra: Any) -> ObjectiveSpec:
    return ObjectiveSpec(code=code, title=code, **extra)


# --- roll-up (the shared rules of services.common.goals.rollup, through the adapter) --------


def _tree() -> list[ObjectiveSpec]:
    """A parent objective whose KR "P-KR2" has no value and is served by a child objective of
    another plan (cascade), a breakthrough objective with an okr key result, and a learning
    objective with progress from its children."""
    child = objective(
        "C-O1",
        perspective=Perspective.CITIZENS,
        weight=D(100),
        parent_key_result="P-KR2",
        key_results=(kr("C-KR1", "30", weight=D(100)),),
    )
    parent = objective(
        "P-O1",
        perspective=Perspective.CITIZENS,
        weight=D(60),
        key_results=(kr("P-KR1", "80", weight=D(75)), kr("P-KR2", None, weight=D(25))),
        children=(child,),
    )
    breakthrough = objective(
        "P-O2",
        perspective=Perspective.PROCESS,
        breakthrough=True,
        weight=D(20),
        key_results=(kr("P-KR3", "10", kind=KeyResultKind.OKR, weight=D(100)),),
    )
    grandchild = objective(
        "L-O1",
        perspective=Perspective.LEARNING,
        weight=D(1),
        parent_key_result="P-KR4",
        key_results=(kr("L-KR1", "50", weight=D(100)),),
    )
    learning = objective(
        "P-O3",
        perspective=Perspective.LEARNING,
        weight=D(20),
        progress_source=ProgressSource.CHILDREN,
        key_results=(kr("P-KR4", "100", weight=D(100)),),
        children=(grandchild,),
    )
    return [parent, breakthrough, learning]


def test_reported_roll_up_follows_the_cascade() -> None:
    figures = plan_figures(_tree(), VALUES, *YEAR, date(2026, 7, 2), evaluation=False)
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


def test_the_day_is_clamped_into_the_plan_period() -> None:
    after = plan_figures(_tree(), VALUES, *YEAR, date(2027, 3, 1), evaluation=False)
    before = plan_figures(_tree(), VALUES, *YEAR, date(2025, 3, 1), evaluation=False)
    assert after.expected == 1  # 31 December: the whole year elapsed
    assert before.expected == Fraction(1, 365)  # 1 January, days inclusive


def test_evaluation_roll_up_leaves_breakthrough_items_out() -> None:
    figures = plan_figures(_tree(), VALUES, *YEAR, date(2026, 7, 2), evaluation=True)
    parent, breakthrough, learning = figures.objectives
    assert not breakthrough.counted and breakthrough.progress == Fraction(1, 10)
    # weights re-normalised over P-O1 (60) and P-O3 (20): (67.5 × 60 + 50 × 20) / 80
    assert figures.progress == Fraction(675 * 60 + 500 * 20, 80 * 1000)
    assert figures.by_perspective["process"] is None
    assert parent.counted and learning.counted


def test_missing_data_and_unusable_weights() -> None:
    node = objective(
        "O",
        key_results=(kr("A", "60", weight=None), kr("B", None, weight=D(10))),
    )
    figures = plan_figures([node], VALUES, *YEAR, date(2026, 12, 31), evaluation=False)
    found = figures.objectives[0]
    assert found.missing_data == ("B",)
    # a missing weight: equal weights → (60 + 0) / 2
    assert found.progress == Fraction(3, 10)
    assert found.colour == "red"  # the year is over: expected 100 %


def test_lower_is_better_key_result_in_a_tree() -> None:
    """CPI target 4.0, actual 3.2 → 4 / 3.2 = 125 % (``004 Phụ lục 4 §4.3``)."""
    cpi = kr("CPI", "3.2", "4.0", direction=Direction.LOWER, weight=D(100))
    figures = plan_figures([objective("O", key_results=(cpi,))], VALUES, *YEAR, date(2026, 6, 1),
                           evaluation=False)  # fmt: skip
    assert figures.objectives[0].key_results[0].progress == Fraction(5, 4)


def test_only_okr_key_results_leave_nothing_to_evaluate() -> None:
    node = objective("O", key_results=(kr("A", "60", kind=KeyResultKind.OKR),))
    figures = plan_figures([node], VALUES, *YEAR, date(2026, 3, 1), evaluation=True)
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
