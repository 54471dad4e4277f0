"""Pure projections of the reporting read models (``services.reporting.projections``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.projections import (
    Counts,
    Malformed,
    TaskState,
    Unsupported,
    apply_task,
    classify,
    contribution,
    count_deltas,
    evaluation_row,
    is_late,
)


def task_data(**extra: Any) -> dict[str, Any]:
    """The data of a ``vn.woms.tasks.task.*.v1`` event as ``services.tasks.service.emit`` builds
    it (task, lead person/unit, period), plus ``extra``."""
    return {
        "task": "CV-000001",
        "lead_person": "P1",
        "lead_unit": "U1",
        "period": "2026-06",
    } | extra


def run(actions: list[tuple[str, dict[str, Any]]]) -> TaskState:
    state: TaskState | None = None
    for action, extra in actions:
        state = apply_task(state, "hanoi", action, task_data(**extra))
    assert state is not None
    return state


# --- classify ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("vn.woms.tasks.task.approved.v1", "task"),
        ("vn.woms.tasks.task.overdue.v1", "task"),
        ("vn.woms.evaluation.evaluation.published.v1", "evaluation"),
        ("vn.woms.evaluation.evaluation.quota_applied.v1", "evaluation"),
        ("vn.woms.planning.keyresult.progressed.v1", "progress"),
        ("vn.woms.planning.plan.defined.v1", "plan"),
        ("vn.woms.planning.plan.approved.v1", "plan_status"),
        ("vn.woms.planning.keyresult.defined.v1", "ignored"),
        ("vn.woms.evaluation.cycle.finished.v1", "ignored"),
        ("vn.woms.tasks.objective_cause.confirmed.v1", "ignored"),
    ],
)
def test_known_types_are_classified(event_type: str, kind: str) -> None:
    assert classify(event_type).kind == kind


@pytest.mark.parametrize(
    ("event_type", "reason"),
    [
        ("vn.woms.tasks.task.approved.v2", "unknown version v2 of vn.woms.tasks.task.approved"),
        ("vn.woms.planning.plan.approved.v3", "unknown version v3"),
        ("vn.woms.tasks.task.teleported.v1", "unknown event type"),
        ("vn.woms.payroll.salary.paid.v1", "unknown event type"),
        ("com.example.thing", "is not vn.woms"),
    ],
)
def test_unknown_types_and_versions_are_refused_with_the_reason(
    event_type: str, reason: str
) -> None:
    with pytest.raises(Unsupported, match=reason):
        classify(event_type)


# --- tasks ---------------------------------------------------------------------------------


def test_a_task_approved_on_time_counts_done_and_on_time_with_its_points() -> None:
    state = run(
        [
            ("assigned", {"group": "regular", "points": "12.5"}),
            ("started", {}),
            ("submitted", {"late": False, "days_late": 0}),
            ("approved", {}),
        ]
    )
    assert contribution(state) == {
        ("hanoi", "2026-06", "U1", "P1", "regular"): Counts(
            total=1,
            done=1,
            on_time=1,
            points_assigned=Decimal("12.5"),
            points_completed=Decimal("12.5"),
        )
    }


def test_a_task_returned_then_approved_late_counts_returned_and_late() -> None:
    state = run(
        [
            ("assigned", {"group": "arising", "points": "3"}),
            ("submitted", {"late": False}),
            ("returned", {"for_quality": True}),
            ("submitted", {"late": True, "days_late": 2}),
            ("approved", {}),
        ]
    )
    (counts,) = contribution(state).values()
    assert (counts.done, counts.on_time, counts.late, counts.returned) == (1, 0, 1, 1)
    assert state.returns == 1


def test_an_overdue_task_counts_overdue_until_it_is_done() -> None:
    open_overdue = run([("assigned", {}), ("overdue", {"days_overdue": 3})])
    (counts,) = contribution(open_overdue).values()
    assert (counts.total, counts.overdue, counts.done) == (1, 1, 0)
    assert open_overdue.status == "assigned"  # the flag does not change the step
    done = apply_task(open_overdue, "hanoi", "approved", task_data())
    (counts,) = contribution(done).values()
    assert (counts.overdue, counts.done) == (0, 1)


def test_a_cancelled_task_counts_nothing() -> None:
    assert contribution(run([("assigned", {"points": "4"}), ("cancelled", {})])) == {}


def test_points_and_group_are_kept_when_a_later_event_does_not_carry_them() -> None:
    state = run([("assigned", {"group": "regular", "points": "7"}), ("started", {})])
    assert (state.group, state.points) == ("regular", Decimal("7"))
    bare = run([("assigned", {})])
    assert (bare.group, bare.points) == ("", None)


def test_a_task_moving_to_another_period_leaves_one_key_and_enters_the_other() -> None:
    before = run([("assigned", {"points": "2"})])
    after = apply_task(before, "hanoi", "started", task_data(period="2026-07"))
    deltas = count_deltas(before, after)
    assert deltas[("hanoi", "2026-06", "U1", "P1", "")] == -Counts(
        total=1, points_assigned=Decimal(2)
    )
    assert deltas[("hanoi", "2026-07", "U1", "P1", "")] == Counts(
        total=1, points_assigned=Decimal(2)
    )


def test_an_event_that_changes_no_figure_yields_no_delta() -> None:
    before = run([("assigned", {"points": "2"})])
    assert count_deltas(before, apply_task(before, "hanoi", "started", task_data())) == {}


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("assigned", task_data(lead_unit=None), "data.lead_unit"),
        ("assigned", task_data(period=""), "data.period"),
        ("assigned", task_data(points="many"), "data.points must be a number"),
        ("assigned", task_data(points="-1"), "data.points must be ≥ 0"),
        ("assigned", task_data(group=3), "data.group"),
        ("submitted", task_data(), "data.late"),
    ],
)
def test_malformed_task_data_is_refused_naming_the_field(
    action: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(Malformed, match=message):
        apply_task(None, "hanoi", action, data)


ACTIONS = st.sampled_from(
    ["assigned", "started", "submitted", "approved", "returned", "cancelled", "overdue"]
)
STEP = st.tuples(
    ACTIONS,
    st.fixed_dictionaries(
        {
            "late": st.booleans(),
            "period": st.sampled_from(["2026-06", "2026-07"]),
            "lead_unit": st.sampled_from(["U1", "U2"]),
            "group": st.sampled_from(["regular", "arising"]),
            "points": st.decimals(min_value=0, max_value=500, places=2),
        }
    ),
)


@given(st.lists(STEP, min_size=1, max_size=12))
def test_summed_deltas_equal_the_final_contribution(steps: list[Any]) -> None:
    """Incremental counts (what the consumer adds event by event) equal the counts computed
    directly from the task's final state."""
    total: dict[Any, Counts] = {}
    state: TaskState | None = None
    for action, extra in steps:
        after = apply_task(state, "hanoi", action, task_data(**extra))
        for key, delta in count_deltas(state, after).items():
            total[key] = total.get(key, Counts()) + delta
        state = after
    assert {k: v for k, v in total.items() if not v.is_zero()} == contribution(state)


# --- evaluations ---------------------------------------------------------------------------


SNAPSHOT = {
    "person": "P1",
    "unit": "U1",
    "period": "2026-06",
    "status": "published",
    "suggested_score": "83.9",
    "suggested_grade": "B",
    "score": "83.9",
    "grade": "B",
    "final_grade": "B",
    "flags": ["review_escalated"],
    "appeal_status": None,
    "actor": "system:evaluation",
}


def test_an_evaluation_snapshot_becomes_its_row_with_exact_scores() -> None:
    row = evaluation_row("hanoi", "published", SNAPSHOT)
    assert row["score"] == Decimal("83.9")
    assert (row["status"], row["final_grade"], row["last_action"]) == (
        "published",
        "B",
        "published",
    )
    assert row["flags"] == ["review_escalated"] and is_late(row["flags"])
    assert not is_late(["general_defaulted"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"person": None}, "data.person"),
        ({"score": "high"}, "data.score must be a number"),
        ({"final_grade": "E"}, "data.final_grade must be one of A, B, C, D"),
        ({"flags": "late"}, "data.flags"),
    ],
)
def test_malformed_evaluation_data_is_refused_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(Malformed, match=message):
        evaluation_row("hanoi", "published", SNAPSHOT | change)
