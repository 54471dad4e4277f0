"""Task states, the actions that move a task between them, and the "6 rõ" field check.

Pure rules, no I/O. Sources (``shared/seeds/``):

* ``000 §V.2`` — the fields declared when a task is opened; "Nhiệm vụ chưa đủ thông tin cơ bản
  không đủ điều kiện phê duyệt để theo dõi, đánh giá" (a task missing them cannot be approved for
  tracking) → :data:`REQUIRED_FIELDS`, :func:`missing_fields`, the ``assign`` action.
* ``000 §I.2`` "6 rõ - 1 xuyên suốt": "một việc chỉ giao một đầu mối chủ trì" (one lead
  person per task) → ``lead_person`` must be exactly one person.
* ``000 §VI.1–2`` — assign, follow progress, submit the product, approve it or return it "nêu rõ
  lý do" (with a reason); every return and delay is recorded → :func:`transition`.
* ``DOMAIN.md §7`` — nobody approves themselves → :func:`may_approve`.
* ``DOMAIN.md §4`` "Who assigns and who decides" (``001 §II.3``): anyone may *propose* a task
  for themselves or their unit; it counts in no ledger until a person with authority over the
  lead *accepts* it ("giao" is an act of authority) → ``propose`` / ``accept``. Who may take
  each action is the policy's (``policies/woms/tasks/authz.rego``), not this module's.

State machine (:data:`TRANSITIONS`; ``approved`` and ``cancelled`` are final)::

    state         action    next state
    draft         assign    assigned       (every REQUIRED_FIELDS present, 000 §V.2)
    draft         propose   proposed       (every REQUIRED_FIELDS present; DOMAIN.md §4)
    proposed      accept    assigned       (every REQUIRED_FIELDS present; the acceptor
                                            becomes the assigner)
    assigned      start     in_progress
    assigned      submit    submitted      (work done without a separate start)
    in_progress   submit    submitted
    returned      submit    submitted      (resubmission after a return)
    submitted     approve   approved
    submitted     return    returned       (reason required; for_quality, default True)
    any non-final cancel    cancelled      (reason required)

Error messages are Vietnamese followed by English (`` / ``); the exceptions also carry the
machine-readable parts (current state, action, field names) so the API can answer 409 / 422.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

__all__ = [
    "FIELD_ACTIONS",
    "FIELD_LABELS",
    "FINAL_STATUSES",
    "OPTIONAL_FIELDS",
    "REASON_ACTIONS",
    "REQUIRED_FIELDS",
    "TRANSITIONS",
    "Action",
    "InvalidTransition",
    "LifecycleError",
    "MissingFields",
    "ReasonRequired",
    "TaskGroup",
    "TaskStatus",
    "allowed_actions",
    "may_approve",
    "missing_fields",
    "transition",
]


class TaskStatus(StrEnum):
    """Where a task is in its lifecycle (``000 §VI.1–2``, ``DOMAIN.md §4``)."""

    DRAFT = "draft"
    PROPOSED = "proposed"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What a user does to a task.

    * ``assign`` — the authority assigns it (draft → assigned); needs every
      :data:`REQUIRED_FIELDS` (``000 §V.2``).
    * ``propose`` — its creator proposes it for themselves or their unit (draft → proposed;
      every :data:`REQUIRED_FIELDS`, ``DOMAIN.md §4``); a proposed task is in no ledger.
    * ``accept`` — an authority over the lead accepts the proposal (proposed → assigned;
      every :data:`REQUIRED_FIELDS`); from then on it counts like an assigned task.
    * ``start`` — the assignee starts work (assigned → in_progress).
    * ``submit`` — the assignee sends the product (in_progress | returned | assigned →
      submitted). A submission after the due date is a delay (``001 §III.2``).
    * ``approve`` — the authority accepts the product (submitted → approved, final).
    * ``return`` — the authority sends it back with a reason (submitted → returned,
      ``000 §VI.2``); ``for_quality`` (default ``True``) says whether it counts as a failed
      quality review (``001 §III.2``).
    * ``cancel`` — withdraw the task with a reason (any non-final state → cancelled, final).
    """

    ASSIGN = "assign"
    PROPOSE = "propose"
    ACCEPT = "accept"
    START = "start"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    CANCEL = "cancel"


class TaskGroup(StrEnum):
    """The three task groups (``000 §V.2`` "nhóm nhiệm vụ"; ``000 §VI.1``)."""

    FOCUS = "focus"  # trọng tâm (OKR/KPI)
    REGULAR = "regular"  # thường xuyên
    ARISING = "arising"  # phát sinh, đột xuất


_GROUPS = frozenset(g.value for g in TaskGroup)

#: States that accept no action.
FINAL_STATUSES: frozenset[TaskStatus] = frozenset({TaskStatus.APPROVED, TaskStatus.CANCELLED})

_NON_FINAL = tuple(s for s in TaskStatus if s not in FINAL_STATUSES)

#: (current state, action) → next state. Anything not listed is an :class:`InvalidTransition`.
TRANSITIONS: Mapping[tuple[TaskStatus, Action], TaskStatus] = {
    (TaskStatus.DRAFT, Action.ASSIGN): TaskStatus.ASSIGNED,
    (TaskStatus.DRAFT, Action.PROPOSE): TaskStatus.PROPOSED,
    (TaskStatus.PROPOSED, Action.ACCEPT): TaskStatus.ASSIGNED,
    (TaskStatus.ASSIGNED, Action.START): TaskStatus.IN_PROGRESS,
    (TaskStatus.ASSIGNED, Action.SUBMIT): TaskStatus.SUBMITTED,
    (TaskStatus.IN_PROGRESS, Action.SUBMIT): TaskStatus.SUBMITTED,
    (TaskStatus.RETURNED, Action.SUBMIT): TaskStatus.SUBMITTED,
    (TaskStatus.SUBMITTED, Action.APPROVE): TaskStatus.APPROVED,
    (TaskStatus.SUBMITTED, Action.RETURN): TaskStatus.RETURNED,
    **{(s, Action.CANCEL): TaskStatus.CANCELLED for s in _NON_FINAL},
}

#: Actions that need every :data:`REQUIRED_FIELDS` ("6 rõ", ``000 §V.2``).
FIELD_ACTIONS: frozenset[Action] = frozenset({Action.ASSIGN, Action.PROPOSE, Action.ACCEPT})

#: Actions that need a non-blank reason (``000 §VI.2`` "nêu rõ lý do").
REASON_ACTIONS: frozenset[Action] = frozenset({Action.RETURN, Action.CANCEL})

#: Fields a task must declare before it is assigned (``000 §V.2``, ``DOMAIN.md §4``), in the
#: order :func:`missing_fields` reports them. ``catalog_item`` + ``quantity`` give the points
#: (``001 §III.1``: points = quantity × conversion coefficient).
REQUIRED_FIELDS: tuple[str, ...] = (
    "name",
    "basis",
    "group",
    "lead_unit",
    "lead_person",
    "start_date",
    "due_date",
    "output_product",
    "quality_criteria",
    "catalog_item",
    "quantity",
)

#: Declared when known but not required (``000 §V.2`` lists them; DOMAIN.md §4 / the brief make
#: them optional: many tasks have no collaborator or key result).
OPTIONAL_FIELDS: tuple[str, ...] = (
    "collaborating_units",
    "collaborating_people",
    "key_result",
)

#: Vietnamese label of each required field, for messages (``000 §V.2`` wording).
FIELD_LABELS: Mapping[str, str] = {
    "name": "Tên nhiệm vụ",
    "basis": "Căn cứ giao nhiệm vụ",
    "group": "Nhóm nhiệm vụ",
    "lead_unit": "Đơn vị chủ trì",
    "lead_person": "Cá nhân chịu trách nhiệm chính",
    "start_date": "Thời hạn bắt đầu",
    "due_date": "Thời hạn hoàn thành",
    "output_product": "Sản phẩm đầu ra",
    "quality_criteria": "Tiêu chí đánh giá chất lượng",
    "catalog_item": "Danh mục sản phẩm/công việc quy đổi",
    "quantity": "Số lượng (khối lượng quy đổi)",
}


class LifecycleError(Exception):
    """Base of the errors raised by :func:`transition`."""


class InvalidTransition(LifecycleError):
    """``action`` is not allowed in state ``current`` (the API answers 409 with ``current``).

    Attributes:
        current: the task's state when the action was tried.
        action: the action tried.
    """

    def __init__(self, current: TaskStatus | str, action: Action | str) -> None:
        self.current = current
        self.action = action
        super().__init__(
            f"Không thể thực hiện thao tác '{action}' khi nhiệm vụ đang ở trạng thái "
            f"'{current}' / action '{action}' is not allowed in state '{current}'"
        )


class MissingFields(LifecycleError):
    """The task lacks required fields (``000 §V.2``); the API answers 422 with ``fields``.

    Attributes:
        fields: every missing or invalid field, in :data:`REQUIRED_FIELDS` order.
    """

    def __init__(self, fields: Collection[str]) -> None:
        self.fields: tuple[str, ...] = tuple(fields)
        labels = ", ".join(FIELD_LABELS.get(f, f) for f in self.fields)
        super().__init__(
            f"Nhiệm vụ chưa đủ thông tin bắt buộc (000 §V.2): {labels} / "
            f"missing or invalid required fields: {', '.join(self.fields)}"
        )


class ReasonRequired(LifecycleError):
    """``action`` (return or cancel) was tried without a reason (``000 §VI.2``).

    Attributes:
        action: the action tried.
    """

    def __init__(self, action: Action | str) -> None:
        self.action = action
        super().__init__(
            f"Thao tác '{action}' phải nêu rõ lý do / action '{action}' requires a reason"
        )


def _present_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _present_id(value: Any) -> bool:
    """An identifier: a non-blank string or any other non-collection value except bool."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return not isinstance(value, Collection)


def _one_person(value: Any) -> bool:
    """Exactly one lead person ("một việc chỉ giao một đầu mối", ``000 §I.2``): a single id, or
    a list/tuple/set holding exactly one id."""
    if isinstance(value, Collection) and not isinstance(value, str):
        return len(value) == 1 and _present_id(next(iter(value)))
    return _present_id(value)


def _as_date(value: Any) -> date | None:
    """A ``date`` (a ``datetime`` counts by its date) or ISO ``YYYY-MM-DD`` text, else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _positive_quantity(value: Any) -> bool:
    """``quantity > 0`` as an exact number: ``int``, ``Decimal``, ``Fraction`` or decimal text.

    ``float`` and ``bool`` are refused: quantities feed points, which are exact (scoring.py).
    """
    if isinstance(value, bool | float) or value is None:
        return False
    if isinstance(value, int | Fraction):
        return value > 0
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return False
    if isinstance(value, Decimal):
        return value.is_finite() and value > 0
    return False


def missing_fields(task_fields: Mapping[str, Any]) -> list[str]:
    """Every required field that is missing or invalid (``000 §V.2``; ``DOMAIN.md §4``).

    Args:
        task_fields: field name → value, e.g. a request body as a dict. Values: text fields
            non-blank ``str``; ``group`` one of ``focus | regular | arising``; ``lead_unit`` and
            ``catalog_item`` an id (non-blank ``str``, ``int``, ``UUID`` …); ``lead_person``
            exactly one id (a single id, or a collection of exactly one); ``start_date`` and
            ``due_date`` a ``date`` or ISO text; ``quantity`` an exact number > 0 (``int``,
            ``Decimal``, ``Fraction`` or decimal text; ``float`` is refused).

    Returns:
        The names of the failing fields in :data:`REQUIRED_FIELDS` order; empty when the task
        may be assigned. A due date before the start date reports ``due_date``.
    """
    checks = {
        "name": _present_text,
        "basis": _present_text,
        "group": lambda v: isinstance(v, str) and v in _GROUPS,
        "lead_unit": _present_id,
        "lead_person": _one_person,
        "start_date": lambda v: _as_date(v) is not None,
        "due_date": lambda v: _as_date(v) is not None,
        "output_product": _present_text,
        "quality_criteria": _present_text,
        "catalog_item": _present_id,
        "quantity": _positive_quantity,
    }
    missing = [name for name in REQUIRED_FIELDS if not checks[name](task_fields.get(name))]
    start, due = _as_date(task_fields.get("start_date")), _as_date(task_fields.get("due_date"))
    if start is not None and due is not None and due < start and "due_date" not in missing:
        missing.append("due_date")
        missing.sort(key=REQUIRED_FIELDS.index)
    return missing


def allowed_actions(status: TaskStatus | str) -> tuple[Action, ...]:
    """The actions valid in ``status`` (for UI buttons), in :class:`Action` order.

    Raises:
        ValueError: ``status`` is not a :class:`TaskStatus` value.
    """
    current = TaskStatus(status)
    return tuple(a for a in Action if (current, a) in TRANSITIONS)


def transition(
    status: TaskStatus | str,
    action: Action | str,
    *,
    reason: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> TaskStatus:
    """The state after ``action`` on a task in ``status``.

    Checks, in order: the action is allowed in the state (:data:`TRANSITIONS`); ``return`` and
    ``cancel`` carry a non-blank ``reason`` (``000 §VI.2``); ``assign``, ``propose`` and
    ``accept`` have every required field in ``fields`` (``000 §V.2``; ``None`` counts as no
    field at all).

    The ``for_quality`` flag of a return does not change the state; the caller records it
    with the return (``services.tasks.ledger.ReturnFact.for_quality``, default ``True``).

    Raises:
        ValueError: ``status`` or ``action`` is not a known value.
        InvalidTransition: the action is not allowed in the state (``.current`` is the state).
        ReasonRequired: ``return`` / ``cancel`` without a reason.
        MissingFields: ``assign`` / ``propose`` / ``accept`` with missing or invalid fields
            (``.fields`` lists them all).
    """
    current, act = TaskStatus(status), Action(action)
    target = TRANSITIONS.get((current, act))
    if target is None:
        raise InvalidTransition(current, act)
    if act in REASON_ACTIONS and not _present_text(reason):
        raise ReasonRequired(act)
    if act in FIELD_ACTIONS:
        missing = missing_fields(fields or {})
        if missing:
            raise MissingFields(missing)
    return target


def may_approve(approver: object, lead_person: object) -> bool:
    """Whether ``approver`` may approve (or return) a task led by ``lead_person``.

    Nobody approves a task they lead (``DOMAIN.md §7``: "Nobody evaluates or approves
    themselves"; ``001 §II.3``). Ids are compared by their text, so ``UUID`` and ``str`` forms
    of one id match. A missing (``None`` or blank) approver or lead person gives ``False``: a
    task without its one lead person is not approvable (``000 §V.2``).
    """
    if approver is None or lead_person is None:
        return False
    who, lead = str(approver).strip(), str(lead_person).strip()
    return who != "" and lead != "" and who != lead
