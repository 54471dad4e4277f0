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
* ``vn.woms.planning.plan.defined.v1`` (:func:`plan_snapshot`): the plan with its objectives
  and key results (the goal tree's structure and the key results' current values);
  ``vn.woms.planning.plan.<submitted|approved|returned>.v1`` change its status;
  ``vn.woms.planning.keyresult.progressed.v1`` (:func:`progress_value`) sets a key result's
  value and adds a point to its progress log.
* Known but not projected (recorded as ``ignored``): the other ``vn.woms.planning.*.v1``
  (``plan.created`` / ``plan.amended`` are followed by a ``plan.defined``; memberships,
  ``keyresult.defined``, ``keyresult.pushed_down``, ``objective.approved``),
  ``vn.woms.tasks.objective_cause.confirmed.v1``, ``vn.woms.evaluation.cycle.finished.v1``,
  ``vn.woms.evaluation.unit.decided.v1``, ``vn.woms.evaluation.collective.recorded.v1``.

Anything else raises :class:`Unsupported` (unknown type, or a known type in an unknown
version) and bad data raises :class:`Malformed`; both end in the dead-letter table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
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
Kind = Literal["task", "evaluation", "plan", "plan_status", "progress", "ignored"]
#: Plan status events and the status they set (``004 Part A §II``: submit → approve | return).
PLAN_STATUS = {"submitted": "submitted", "approved": "approved", "returned": "returned"}


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
    elif service == "planning" and entity == "plan" and action == "defined":
        kind = "plan"
    elif service == "planning" and entity == "plan" and action in PLAN_STATUS:
        kind = "plan_status"
    elif service == "planning" and entity == "keyresult" and action == "progressed":
        kind = "progress"
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

    ``late``: the last submission was after the due date (from ``submitted``, and from the
    ``approved`` / ``returned`` decision on it, which carries the same flag); ``overdue``: the
    due date passed while the task was open (flagged by ``vn.woms.tasks.task.overdue.v1``);
    ``returns``: how many times it was returned; ``points``: ``None`` when no event carried
    them; ``due``: the due date when an event carried it; ``assigned_at`` / ``last_event_at``:
    the times of its first and latest events (for the early warnings), ``None`` when not
    known.
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
    due: date | None = None
    assigned_at: datetime | None = None
    last_event_at: datetime | None = None


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


def _due(data: dict[str, Any], state: TaskState | None) -> date | None:
    value = data.get("due_date")
    if value is None:
        return state.due if state else None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"data.due_date must be an ISO date, got {value!r}") from exc


def apply_task(
    state: TaskState | None,
    tenant: str,
    action: str,
    data: dict[str, Any],
    at: datetime | None = None,
) -> TaskState:
    """The task's state after ``vn.woms.tasks.task.<action>.v1`` with ``data`` at ``at`` (the
    event's time).

    The task's period, unit and person are taken from every event (an assigned task's due date
    may still change); ``group``, ``points`` and ``due_date`` when present, else kept.

    Order: an event older than the state (``at`` before ``last_event_at`` — one the outbox
    relay re-sent after the broker lost it while later events of the task got through,
    ``docs/faults.md``) changes only what does not depend on order: ``returned`` still counts a
    return and ``overdue`` still flags the task; the status, lateness, fields and times of the
    newer events stand. Events at the same time apply in arrival order.

    Raises:
        Malformed: a required field (task, lead_person, lead_unit, period) is missing or bad,
            a ``due_date`` that is not an ISO date, or ``submitted`` has no boolean ``late``.
        KeyError: ``action`` is not one of :data:`TASK_ACTIONS` (use :func:`classify` first).
    """
    status = TASK_ACTIONS[action]
    if state is not None and _older(at, state.last_event_at):
        _text(data, "task")  # still a well-formed event
        if action == "returned":
            return replace(state, returns=state.returns + 1)
        return replace(state, overdue=True) if action == "overdue" else state
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
        due=_due(data, state),
        assigned_at=(state.assigned_at if state and state.assigned_at else at),
        last_event_at=at if at is not None else (state.last_event_at if state else None),
    )
    if action == "overdue":
        return replace(base, overdue=True)
    assert status is not None
    if action == "submitted":
        late = data.get("late")
        if not isinstance(late, bool):
            raise Malformed(f"data.late must be true or false, got {late!r}")
        return replace(base, status=status, late=late)
    decided_late = data.get("late")  # approved / returned carry the decided submission's
    if action in ("approved", "returned") and isinstance(decided_late, bool):
        base = replace(base, late=decided_late)
    if action == "returned":
        return replace(base, status=status, returns=base.returns + 1)
    return replace(base, status=status)


def _older(at: datetime | None, than: datetime | None) -> bool:
    """Whether an event at ``at`` is older than the state's latest event at ``than``."""
    return at is not None and than is not None and at < than


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


# --- planning: the goal tree -----------------------------------------------------------------

PERIOD_KINDS = frozenset({"year", "quarter", "month", "week"})
PERSPECTIVES = frozenset({"citizens", "finance", "process", "learning"})
SOURCES = frozenset({"key_results", "children", "both"})


def period_bounds(kind: str, year: int, number: int | None) -> tuple[date, date]:
    """First and last day of a plan period (``year``, ``quarter`` n, ``month`` n, ISO ``week``
    n), as planning defines them.

    Raises:
        Malformed: an unknown kind, or a number out of range for it.
    """
    try:
        if kind == "year":
            return date(year, 1, 1), date(year, 12, 31)
        if kind == "week" and number:
            start = date.fromisocalendar(year, number, 1)
            return start, date.fromisocalendar(year, number, 7)
        if kind in ("quarter", "month") and number:
            first = 3 * number - 2 if kind == "quarter" else number
            last = 3 * number if kind == "quarter" else number
            following = date(year + (last == 12), last % 12 + 1, 1)
            return date(year, first, 1), following - timedelta(days=1)
    except ValueError as exc:
        raise Malformed(f"data.period: {kind} {number} of {year}: {exc}") from exc
    raise Malformed(f"data.period: kind {kind!r} with number {number!r} is not a plan period")


def _exact_or_none(data: dict[str, Any], name: str, where: str) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise Malformed(f"{where}.{name} must be a number, got {value!r}") from exc
    if not number.is_finite():
        raise Malformed(f"{where}.{name} must be finite, got {value!r}")
    return number


def _optional_text(data: dict[str, Any], name: str, where: str) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise Malformed(f"{where}.{name} must be a non-empty string or null, got {value!r}")
    return value


def _choice(data: dict[str, Any], name: str, where: str, allowed: frozenset[str]) -> str:
    value = data.get(name)
    if value not in allowed:
        raise Malformed(
            f"{where}.{name} must be one of {', '.join(sorted(allowed))}, got {value!r}"
        )
    return str(value)


@dataclass(frozen=True)
class PlanSnapshot:
    """The rows of one ``plan.defined`` event: ``plan`` (a ``goal_plans`` row without
    ``defined_at``), ``objectives`` and ``key_results`` (rows of ``goal_objectives`` /
    ``goal_key_results``) and ``values`` (key result code → current value or ``None``)."""

    plan: dict[str, Any]
    objectives: list[dict[str, Any]]
    key_results: list[dict[str, Any]]
    values: dict[str, Decimal | None]


def plan_snapshot(tenant: str, data: dict[str, Any]) -> PlanSnapshot:
    """Read the data of ``vn.woms.planning.plan.defined.v1`` (``services.planning.service.
    plan_snapshot``): ``{plan, owner_unit, owner_person, period: {kind, year, number}, status,
    objectives: [{code, title, perspective, breakthrough, weight, progress_source,
    parent_key_result, key_results: [{code, title, kind, unit_of_measure, direction, baseline,
    target, complete_threshold, exceed_threshold, fail_threshold, weight, data_source,
    current}]}]}``; decimals as text.

    Raises:
        Malformed: a missing or bad field (the message names it, e.g.
            ``data.objectives[1].perspective must be one of …``).
    """
    plan = _text(data, "plan")
    period = data.get("period")
    if not isinstance(period, dict):
        raise Malformed(f"data.period must be an object, got {period!r}")
    kind = _choice(period, "kind", "data.period", PERIOD_KINDS)
    year, number = period.get("year"), period.get("number")
    if not isinstance(year, int) or (number is not None and not isinstance(number, int)):
        raise Malformed(f"data.period year/number must be integers, got {year!r}/{number!r}")
    start, end = period_bounds(kind, year, number)
    objectives_in = data.get("objectives")
    if not isinstance(objectives_in, list):
        raise Malformed(f"data.objectives must be a list, got {objectives_in!r}")
    objectives, key_results, values = [], [], {}
    for position, o in enumerate(objectives_in):
        where = f"data.objectives[{position}]"
        if not isinstance(o, dict):
            raise Malformed(f"{where} must be an object")
        code = _text(o, "code")
        breakthrough = o.get("breakthrough", False)
        if not isinstance(breakthrough, bool):
            raise Malformed(f"{where}.breakthrough must be true or false, got {breakthrough!r}")
        objectives.append(
            {
                "tenant": tenant,
                "objective": code,
                "plan": plan,
                "position": position,
                "title": str(o.get("title") or ""),
                "perspective": _choice(o, "perspective", where, PERSPECTIVES),
                "breakthrough": int(breakthrough),
                "weight": _exact_or_none(o, "weight", where),
                "progress_source": _choice(o, "progress_source", where, SOURCES),
                "parent_key_result": _optional_text(o, "parent_key_result", where),
            }
        )
        krs = o.get("key_results") or []
        if not isinstance(krs, list):
            raise Malformed(f"{where}.key_results must be a list, got {krs!r}")
        for kr_position, k in enumerate(krs):
            kr_where = f"{where}.key_results[{kr_position}]"
            if not isinstance(k, dict):
                raise Malformed(f"{kr_where} must be an object")
            kr_code = _text(k, "code")
            direction = k.get("direction")
            if direction not in (None, "higher", "lower"):
                raise Malformed(f"{kr_where}.direction must be higher, lower or null")
            key_results.append(
                {
                    "tenant": tenant,
                    "key_result": kr_code,
                    "objective": code,
                    "plan": plan,
                    "position": kr_position,
                    "title": str(k.get("title") or ""),
                    "kind": _choice(k, "kind", kr_where, frozenset({"kpi", "okr"})),
                    "unit_of_measure": k.get("unit_of_measure"),
                    "direction": direction,
                    **{
                        name: _exact_or_none(k, name, kr_where)
                        for name in (
                            "baseline",
                            "target",
                            "complete_threshold",
                            "exceed_threshold",
                            "fail_threshold",
                            "weight",
                        )
                    },
                    "data_source": k.get("data_source"),
                }
            )
            values[kr_code] = _exact_or_none(k, "current", kr_where)
    return PlanSnapshot(
        plan={
            "tenant": tenant,
            "plan": plan,
            "owner_unit": _optional_text(data, "owner_unit", "data"),
            "owner_person": _optional_text(data, "owner_person", "data"),
            "period_kind": kind,
            "year": year,
            "number": number,
            "period_start": start,
            "period_end": end,
            "status": _text(data, "status"),
        },
        objectives=objectives,
        key_results=key_results,
        values=values,
    )


def progress_value(data: dict[str, Any]) -> tuple[str, Decimal, datetime | None]:
    """``(key result code, new value, time of the update)`` of
    ``vn.woms.planning.keyresult.progressed.v1`` (data ``{key_result, old, new, actor, source,
    at}``, values as decimal text, ``at`` ISO; ``None`` when absent).

    Raises:
        Malformed: no key result code, ``new`` missing or not a number, or a bad ``at``.
    """
    value = _exact_or_none(data, "new", "data")
    if value is None:
        raise Malformed("data.new must be a number, got None")
    at = data.get("at")
    if at is None:
        return _text(data, "key_result"), value, None
    try:
        when = datetime.fromisoformat(str(at))
    except ValueError as exc:
        raise Malformed(f"data.at must be an ISO date-time, got {at!r}") from exc
    return _text(data, "key_result"), value, when
