"""Pure projections: from one event's type and data to the read-model rows it changes.

No I/O: :mod:`services.reporting.ingest` reads the current rows, calls these functions and
writes what they return, in one transaction.

Event types handled (schemas versioned; only ``v1`` is known):

* ``vn.woms.tasks.task.<assigned|started|submitted|approved|returned|cancelled|overdue>.v1``
  (:func:`apply_task`), data ``{task, lead_person, lead_unit, period, ...}``; ``submitted``
  carries ``late`` (working days late > 0, ``001 §III.2``); ``returned`` ``for_quality``;
  ``group`` and ``points`` are read when the event carries them.
* ``vn.woms.evaluation.evaluation.<action>.v1`` (:func:`evaluation_row`): data is the
  evaluation's snapshot (``person, unit, period, status, score, grade, final_grade, flags…``).
* Known but not projected yet (recorded as ``ignored``): every ``vn.woms.planning.*.v1``,
  ``vn.woms.tasks.objective_cause.confirmed.v1``, ``vn.woms.evaluation.cycle.finished.v1``,
  ``vn.woms.evaluation.unit.decided.v1``, ``vn.woms.evaluation.collective.recorded.v1``.

Anything else raises :class:`Unsupported` (unknown type, or a known type in an unknown
version) and bad data raises :class:`Malformed`; both end in the dead-letter table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

TASK_ACTIONS = {
    "assigned": "assigned",
    "started": "in_progress",
    "submitted": "submitted",
    "approved": "approved",
    "returned": "returned",
    "cancelled": "cancelled",
    "overdue": None,  # a flag: the status does not change
}
EVALUATION_ACTIONS = frozenset(
    {
        "opened",
        "self_assessed",
        "reviewed",
        "decided",
        "quota_applied",
        "published",
        "fallback_applied",
        "not_evaluated",
        "reminder",
        "escalated",
        "appealed",
        "appeal_answered",
        "late_data_refused",
        "ledger_refreshed",
    }
)
IGNORED = frozenset(
    {
        ("tasks", "objective_cause", "confirmed"),
        ("evaluation", "cycle", "finished"),
        ("evaluation", "unit", "decided"),
        ("evaluation", "collective", "recorded"),
    }
)
KNOWN_VERSION = 1
#: Flags of an evaluation showing its step was late (``workflows/monthly_cycle``).
LATE_FLAGS = frozenset(
    {"self_assessment_missed", "review_missed", "review_escalated", "decision_escalated"}
)
_TYPE = re.compile(r"^vn\.woms\.([a-z]+)\.([a-z_]+)\.([a-z_]+)\.v([0-9]+)$")
Kind = Literal["task", "evaluation", "ignored"]


class Unsupported(Exception):
    """An event type (or version) this projection does not know; the message is the reason."""


class Malformed(Exception):
    """An event whose data lacks a required field or holds a bad value; the message says which."""


@dataclass(frozen=True)
class EventKind:
    """What a type is: ``kind`` and its parts (``service``, ``entity``, ``action``)."""

    kind: Kind
    service: str
    entity: str
    action: str


def classify(event_type: str) -> EventKind:
    """The kind of ``event_type`` (``vn.woms.<service>.<entity>.<action>.v<n>``).

    Raises:
        Unsupported: not of that form, an unknown service/entity/action, or a version other
            than ``v1`` of a known type.
    """
    match = _TYPE.fullmatch(event_type)
    if match is None:
        raise Unsupported(f"type {event_type!r} is not vn.woms.<service>.<entity>.<action>.v<n>")
    service, entity, action, version = match.groups()
    if service == "tasks" and entity == "task" and action in TASK_ACTIONS:
        kind: Kind = "task"
    elif service == "evaluation" and entity == "evaluation" and action in EVALUATION_ACTIONS:
        kind = "evaluation"
    elif service == "planning" or (service, entity, action) in IGNORED:
        kind = "ignored"
    else:
        raise Unsupported(f"unknown event type {event_type!r}")
    if int(version) != KNOWN_VERSION:
        raise Unsupported(f"unknown version v{version} of {event_type.rsplit('.', 1)[0]}")
    return EventKind(kind, service, entity, action)


# --- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    """The latest state of one task as the events told it.

    ``late``: the last submission was after the due date; ``overdue``: the due date passed
    while the task was open (flagged by ``vn.woms.tasks.task.overdue.v1``); ``returns``: how
    many times it was returned; ``points``: ``None`` when no event carried them.
    """

    tenant: str
    task: str
    period: str
    unit: str
    person: str
    group: str
    points: Decimal | None
    status: str
    late: bool = False
    overdue: bool = False
    returns: int = 0


CountKey = tuple[str, str, str, str, str]  # tenant, period, unit, person, group


@dataclass(frozen=True)
class Counts:
    """Tasks of one tenant / period / unit / person / group (counts of tasks; points).

    ``total``: assigned and not cancelled; ``done``: approved; ``on_time`` / ``late``: done with
    the last submission on / after the due date (``on_time + late == done``); ``overdue``: open
    past the due date; ``returned``: returned at least once; ``points_assigned``: points of the
    total; ``points_completed``: points of the done.
    """

    total: int = 0
    done: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    returned: int = 0
    points_assigned: Decimal = Decimal(0)
    points_completed: Decimal = Decimal(0)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.total + other.total,
            self.done + other.done,
            self.on_time + other.on_time,
            self.late + other.late,
            self.overdue + other.overdue,
            self.returned + other.returned,
            self.points_assigned + other.points_assigned,
            self.points_completed + other.points_completed,
        )

    def __neg__(self) -> Counts:
        return Counts(
            -self.total,
            -self.done,
            -self.on_time,
            -self.late,
            -self.overdue,
            -self.returned,
            -self.points_assigned,
            -self.points_completed,
        )

    def is_zero(self) -> bool:
        """True when adding it changes nothing."""
        return self == Counts()


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"data.{name} must be a non-empty string, got {value!r}")
    return value


def _points(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        points = Decimal(str(value))
    except InvalidOperation as exc:
        raise Malformed(f"data.points must be a number, got {value!r}") from exc
    if not points.is_finite() or points < 0:
        raise Malformed(f"data.points must be ≥ 0, got {value!r}")
    return points


def apply_task(
    state: TaskState | None, tenant: str, action: str, data: dict[str, Any]
) -> TaskState:
    """The task's state after ``vn.woms.tasks.task.<action>.v1`` with ``data``.

    The task's period, unit and person are taken from every event (an assigned task's due date
    may still change); ``group`` and ``points`` when present, else kept.

    Raises:
        Malformed: a required field (task, lead_person, lead_unit, period) is missing or bad,
            or ``submitted`` has no boolean ``late``.
        KeyError: ``action`` is not one of :data:`TASK_ACTIONS` (use :func:`classify` first).
    """
    status = TASK_ACTIONS[action]
    group = data.get("group")
    if group is not None and not isinstance(group, str):
        raise Malformed(f"data.group must be a string, got {group!r}")
    base = TaskState(
        tenant=tenant,
        task=_text(data, "task"),
        period=_text(data, "period"),
        unit=_text(data, "lead_unit"),
        person=_text(data, "lead_person"),
        group=group if group is not None else (state.group if state else ""),
        points=_points(data["points"]) if "points" in data else (state.points if state else None),
        status=state.status if state else "assigned",
        late=state.late if state else False,
        overdue=state.overdue if state else False,
        returns=state.returns if state else 0,
    )
    if action == "overdue":
        return replace(base, overdue=True)
    assert status is not None
    if action == "submitted":
        late = data.get("late")
        if not isinstance(late, bool):
            raise Malformed(f"data.late must be true or false, got {late!r}")
        return replace(base, status=status, late=late)
    if action == "returned":
        return replace(base, status=status, returns=base.returns + 1)
    return replace(base, status=status)


def contribution(state: TaskState | None) -> dict[CountKey, Counts]:
    """What one task adds to the counts (nothing when absent or cancelled)."""
    if state is None or state.status == "cancelled":
        return {}
    points = state.points or Decimal(0)
    done = state.status == "approved"
    counts = Counts(
        total=1,
        done=int(done),
        on_time=int(done and not state.late),
        late=int(done and state.late),
        overdue=int(state.overdue and not done),
        returned=int(state.returns > 0),
        points_assigned=points,
        points_completed=points if done else Decimal(0),
    )
    return {(state.tenant, state.period, state.unit, state.person, state.group): counts}


def count_deltas(before: TaskState | None, after: TaskState | None) -> dict[CountKey, Counts]:
    """The changes to add to the counts when a task goes from ``before`` to ``after`` (only the
    keys that change; a task moving period, unit or group leaves one key and enters another)."""
    deltas: dict[CountKey, Counts] = {}
    for key, counts in contribution(before).items():
        deltas[key] = deltas.get(key, Counts()) + (-counts)
    for key, counts in contribution(after).items():
        deltas[key] = deltas.get(key, Counts()) + counts
    return {key: delta for key, delta in deltas.items() if not delta.is_zero()}


# --- evaluations ---------------------------------------------------------------------------

_GRADES = {"A", "B", "C", "D"}


def _decimal(data: dict[str, Any], name: str) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise Malformed(f"data.{name} must be a number, got {value!r}") from exc
    if not number.is_finite():
        raise Malformed(f"data.{name} must be finite, got {value!r}")
    return number


def _grade(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and value not in _GRADES:
        raise Malformed(f"data.{name} must be one of A, B, C, D, got {value!r}")
    return value


def evaluation_row(tenant: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
    """The ``evaluation_facts`` row of the snapshot in ``vn.woms.evaluation.evaluation.*.v1``
    (the latest event of a person's month replaces the row; ``updated_at`` is added by the
    caller).

    Raises:
        Malformed: person, unit, period or status missing; a score that is not a number; a
            grade outside A–D; flags not a list of strings.
    """
    flags = data.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise Malformed(f"data.flags must be a list of strings, got {flags!r}")
    return {
        "tenant": tenant,
        "period": _text(data, "period"),
        "person": _text(data, "person"),
        "unit": _text(data, "unit"),
        "status": _text(data, "status"),
        "suggested_score": _decimal(data, "suggested_score"),
        "suggested_grade": _grade(data, "suggested_grade"),
        "score": _decimal(data, "score"),
        "grade": _grade(data, "grade"),
        "final_grade": _grade(data, "final_grade"),
        "flags": sorted(flags),
        "appeal_status": data.get("appeal_status"),
        "last_action": action,
    }


def is_late(flags: list[str]) -> bool:
    """True when a step of the person's month ran past its deadline (see :data:`LATE_FLAGS`)."""
    return bool(LATE_FLAGS.intersection(flags))
