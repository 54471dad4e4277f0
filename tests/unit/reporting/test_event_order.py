"""Task events arriving out of order (``services.reporting.projections.apply_task``): an event
the outbox relay re-sent after the broker lost it comes after newer events of the same task
(``docs/faults.md``); it must not roll the task back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.reporting.projections import TaskState, apply_task

BASE = {"task": "CV-1", "lead_person": "P1", "lead_unit": "U1", "period": "2026-06"}
T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fold(events: list[tuple[str, dict[str, Any], datetime]]) -> TaskState:
    state: TaskState | None = None
    for action, data, when in events:
        state = apply_task(state, "hanoi", action, BASE | data, when)
    assert state is not None
    return state


ASSIGNED = ("assigned", {"due_date": "2026-06-19", "points": "10"}, at(0))
STARTED = ("started", {}, at(1))
SUBMITTED = ("submitted", {"late": True}, at(2))
RETURNED = ("returned", {"late": True}, at(3))
RESUBMITTED = ("submitted", {"late": False}, at(4))
APPROVED = ("approved", {"late": False}, at(5))


def test_in_order_the_last_event_decides() -> None:
    state = fold([ASSIGNED, STARTED, SUBMITTED, RETURNED, RESUBMITTED, APPROVED])
    assert (state.status, state.late, state.returns) == ("approved", False, 1)
    assert state.last_event_at == at(5)


def test_an_older_event_arriving_last_does_not_roll_the_task_back() -> None:
    in_order = fold([ASSIGNED, STARTED, SUBMITTED, RETURNED, RESUBMITTED, APPROVED])
    for lost in (STARTED, SUBMITTED, RESUBMITTED):  # re-sent after every later event
        rest = [e for e in (ASSIGNED, STARTED, SUBMITTED, RETURNED, RESUBMITTED, APPROVED)]
        rest.remove(lost)
        assert fold([*rest, lost]) == in_order, lost


def test_an_older_return_still_counts_and_an_older_overdue_still_flags() -> None:
    in_order = fold([ASSIGNED, STARTED, SUBMITTED, RETURNED, RESUBMITTED, APPROVED])
    late_return = fold([ASSIGNED, STARTED, SUBMITTED, RESUBMITTED, APPROVED, RETURNED])
    assert late_return == in_order  # the return counted, the approval stands
    overdue = ("overdue", {}, at(3))
    state = fold([ASSIGNED, STARTED, SUBMITTED, APPROVED, overdue])
    assert (state.status, state.overdue, state.last_event_at) == ("approved", True, at(5))


def test_the_decision_carries_the_lateness_of_the_submission_it_decides() -> None:
    """The submission was lost and never re-sent before the approval: the approval's flag."""
    state = fold([ASSIGNED, STARTED, ("approved", {"late": True}, at(5))])
    assert (state.status, state.late) == ("approved", True)
    # an event without the flag (an older producer) keeps what the state had
    state = fold([ASSIGNED, SUBMITTED, ("approved", {}, at(5))])
    assert state.late is True


def test_events_at_the_same_time_apply_in_arrival_order() -> None:
    same = at(2)
    state = fold([ASSIGNED, ("started", {}, same), ("submitted", {"late": False}, same)])
    assert state.status == "submitted"
