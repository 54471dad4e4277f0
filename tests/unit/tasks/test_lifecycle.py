"""Task lifecycle: every transition, the "6 rõ" required fields, who may approve
(services/tasks/lifecycle.py; 000 §V.2, §VI.1–2)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from itertools import product
from typing import Any

import pytest

from services.tasks.lifecycle import (
    REQUIRED_FIELDS,
    TRANSITIONS,
    Action,
    InvalidTransition,
    MissingFields,
    ReasonRequired,
    TaskStatus,
    allowed_actions,
    may_approve,
    missing_fields,
    transition,
)

S, A = TaskStatus, Action


def complete_task(**overrides: Any) -> dict[str, Any]:
    """A task with every required field valid (optional fields left out on purpose)."""
    fields: dict[str, Any] = {
        "name": "Báo cáo kết quả cải cách hành chính quý II",
        "basis": "Kế hoạch 12/KH-UBND",
        "group": "focus",
        "lead_unit": "vp-ubnd",
        "lead_person": "nguyen-van-a",
        "start_date": date(2026, 5, 4),
        "due_date": date(2026, 5, 15),
        "output_product": "Báo cáo trình UBND phường",
        "quality_criteria": "Đúng mẫu, số liệu khớp hệ thống",
        "catalog_item": "BC-01",
        "quantity": Decimal("2"),
    }
    fields.update(overrides)
    return fields


#: The expected machine, written out independently of TRANSITIONS.
EXPECTED = {
    (S.DRAFT, A.ASSIGN): S.ASSIGNED,
    # DOMAIN.md §4: anyone proposes for themselves or their unit; an authority accepts
    (S.DRAFT, A.PROPOSE): S.PROPOSED,
    (S.PROPOSED, A.ACCEPT): S.ASSIGNED,
    (S.ASSIGNED, A.START): S.IN_PROGRESS,
    (S.ASSIGNED, A.SUBMIT): S.SUBMITTED,
    (S.IN_PROGRESS, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.APPROVE): S.APPROVED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.PROPOSED, A.CANCEL): S.CANCELLED,
    (S.ASSIGNED, A.CANCEL): S.CANCELLED,
    (S.IN_PROGRESS, A.CANCEL): S.CANCELLED,
    (S.SUBMITTED, A.CANCEL): S.CANCELLED,
    (S.RETURNED, A.CANCEL): S.CANCELLED,
}
VALID = sorted(EXPECTED.items())
INVALID = sorted(pair for pair in product(S, A) if pair not in EXPECTED)


def test_the_table_is_the_expected_machine() -> None:
    assert dict(TRANSITIONS) == EXPECTED
    assert len(VALID) + len(INVALID) == len(S) * len(A) == 8 * 8


@pytest.mark.parametrize(("pair", "target"), VALID, ids=lambda v: str(v))
def test_valid_transition(pair: tuple[TaskStatus, Action], target: TaskStatus) -> None:
    status, action = pair
    got = transition(status, action, reason="lý do cụ thể", fields=complete_task())
    assert got is target


@pytest.mark.parametrize("pair", INVALID, ids=lambda v: f"{v[0]}-{v[1]}")
def test_invalid_transition_names_the_current_state(pair: tuple[TaskStatus, Action]) -> None:
    status, action = pair
    with pytest.raises(InvalidTransition) as caught:
        transition(status, action, reason="lý do cụ thể", fields=complete_task())
    assert caught.value.current is status
    assert caught.value.action is action
    assert f"'{status}'" in str(caught.value)


def test_transition_accepts_plain_strings() -> None:
    assert transition("submitted", "return", reason="Sai số liệu") is S.RETURNED


def test_unknown_state_or_action_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        transition("done", "approve")
    with pytest.raises(ValueError):
        transition("submitted", "reopen")


@pytest.mark.parametrize("action", [A.RETURN, A.CANCEL])
@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_return_and_cancel_need_a_reason(action: Action, reason: str | None) -> None:
    with pytest.raises(ReasonRequired) as caught:
        transition(S.SUBMITTED, action, reason=reason)
    assert caught.value.action is action


def test_invalid_transition_is_reported_before_a_missing_reason() -> None:
    with pytest.raises(InvalidTransition):
        transition(S.APPROVED, A.CANCEL)


def test_allowed_actions() -> None:
    assert allowed_actions("submitted") == (A.APPROVE, A.RETURN, A.CANCEL)
    assert allowed_actions(S.APPROVED) == ()
    assert allowed_actions(S.CANCELLED) == ()


# --- "6 rõ": required fields (000 §V.2) -------------------------------------------------


def test_assign_with_every_field() -> None:
    assert missing_fields(complete_task()) == []
    assert transition(S.DRAFT, A.ASSIGN, fields=complete_task()) is S.ASSIGNED


@pytest.mark.parametrize(("status", "action"), [(S.DRAFT, A.PROPOSE), (S.PROPOSED, A.ACCEPT)])
def test_propose_and_accept_need_the_six_clear_fields(status: TaskStatus, action: Action) -> None:
    """A proposal is judged on the same "6 rõ" fields as an assignment (000 §V.2)."""
    with pytest.raises(MissingFields) as caught:
        transition(status, action, fields=complete_task(quantity=None, output_product=""))
    assert caught.value.fields == ("output_product", "quantity")


def test_allowed_actions_of_draft_and_proposed() -> None:
    assert allowed_actions(S.DRAFT) == (A.ASSIGN, A.PROPOSE, A.CANCEL)
    assert allowed_actions(S.PROPOSED) == (A.ACCEPT, A.CANCEL)


def test_empty_task_lists_every_required_field() -> None:
    assert missing_fields({}) == list(REQUIRED_FIELDS)
    assert len(REQUIRED_FIELDS) == 11
    with pytest.raises(MissingFields) as caught:
        transition(S.DRAFT, A.ASSIGN)
    assert caught.value.fields == REQUIRED_FIELDS
    assert "Cá nhân chịu trách nhiệm chính" in str(caught.value)


BAD_VALUES = [
    ("name", "  "),
    ("basis", None),
    ("group", "urgent"),
    ("group", ""),
    ("lead_unit", ""),
    ("lead_person", ["a", "b"]),
    ("lead_person", []),
    ("lead_person", " "),
    ("start_date", "04/05/2026"),
    ("due_date", "not a date"),
    ("output_product", ""),
    ("quality_criteria", None),
    ("catalog_item", None),
    ("quantity", 0),
    ("quantity", Decimal("-1")),
    ("quantity", 1.5),
    ("quantity", "abc"),
    ("quantity", Decimal("NaN")),
    ("quantity", True),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_one_bad_field_is_named(name: str, value: object) -> None:
    assert missing_fields(complete_task(**{name: value})) == [name]


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_one_absent_field_is_named(name: str) -> None:
    task = complete_task()
    del task[name]
    assert missing_fields(task) == [name]


def test_several_problems_are_all_listed_in_order() -> None:
    task = complete_task(
        quantity=0, name="", lead_person=("x", "y"), due_date=date(2026, 5, 1), catalog_item=""
    )
    assert missing_fields(task) == ["name", "lead_person", "due_date", "catalog_item", "quantity"]


def test_due_before_start_is_an_invalid_due_date() -> None:
    task = complete_task(start_date=date(2026, 5, 10), due_date=date(2026, 5, 9))
    assert missing_fields(task) == ["due_date"]
    with pytest.raises(MissingFields) as caught:
        transition(S.DRAFT, A.ASSIGN, fields=task)
    assert caught.value.fields == ("due_date",)


def test_due_on_the_start_day_is_valid() -> None:
    assert missing_fields(complete_task(start_date=date(2026, 5, 10), due_date="2026-05-10")) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("quantity", 3),
        ("quantity", "1.5"),
        ("quantity", Fraction(1, 2)),
        ("lead_person", ["only-one"]),
        ("lead_person", uuid.UUID(int=7)),
        ("lead_unit", 42),
        ("start_date", datetime(2026, 5, 4, 8, 30)),
        ("group", "arising"),
        ("group", "regular"),
    ],
)
def test_accepted_value_forms(name: str, value: object) -> None:
    assert missing_fields(complete_task(**{name: value})) == []


def test_optional_fields_are_not_required() -> None:
    task = complete_task(collaborating_units=[], collaborating_people=None, key_result=None)
    assert missing_fields(task) == []


# --- who approves (DOMAIN.md §7) ------------------------------------------------------------


def test_nobody_approves_a_task_they_lead() -> None:
    assert may_approve("truong-phong", "nguyen-van-a") is True
    assert may_approve("nguyen-van-a", "nguyen-van-a") is False


def test_may_approve_compares_ids_by_text() -> None:
    person = uuid.uuid4()
    assert may_approve(str(person), person) is False
    assert may_approve(person, str(person)) is False
    assert may_approve(uuid.uuid4(), person) is True


@pytest.mark.parametrize(("approver", "lead"), [(None, "a"), ("", "a"), ("  ", "a"), ("b", None)])
def test_missing_approver_or_lead_may_not_approve(approver: object, lead: object) -> None:
    assert may_approve(approver, lead) is False
