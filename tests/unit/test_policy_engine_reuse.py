"""The embedded policy engine reuses one regorus clone between decisions (issue 9, "Load"):
its answers must be exactly those of a fresh clone per decision, whatever came before.

Random but seeded documents over every service's ``allow`` and ``reasons`` rules: actions,
subjects, roles, resources and relations drawn from the names the policies use, evaluated in
sequence on one :class:`PolicyEngine` and, one by one, on a fresh regorus clone.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.common.policy import PolicyEngine

PACKAGES = ("tasks", "evaluation", "planning", "reporting")
ACTIONS = [
    "task.read",
    "task.create",
    "task.assign",
    "task.start",
    "task.submit",
    "task.approve",
    "task.return",
    "task.edit",
    "task.cancel",
    "cause.confirm",
    "exceeded.mark",
    "ledger.read",
    "rating.read",
    "rating.write",
    "rating.raters",
    "warnings.read",
    "calendar.read",
    "evaluation.read",
    "evaluation.self_assess",
    "evaluation.review",
    "evaluation.decide",
    "evaluation.publish",
    "evaluation.appeal",
    "evaluation.answer_appeal",
    "plan.read",
    "plan.edit",
    "plan.submit",
    "plan.approve",
    "plan.return",
    "person.read",
    "unit.read",
    "evaluator.read",
    "role.read",
    "reporting.tenant",
    "reporting.unit",
    "reporting.person",
    "reporting.central",
    "reporting.allocate",
    "overdue.sweep",
    "progress.record",
]
PEOPLE = ["P001", "P002", "P019", "P020", "P021", "system:tasks"]
ROLES = ["staff", "tenant_admin", "central", "service", "external_body"]
UNITS = ["PL-VP", "PL-KT"]


def _some(rnd: random.Random, pool: list[str]) -> list[str]:
    return sorted(rnd.sample(pool, rnd.randint(0, len(pool))))


def _document(rnd: random.Random) -> dict[str, Any]:
    subject = rnd.choice(PEOPLE)
    people = PEOPLE[:-1]
    resource: dict[str, Any] = {
        key: rnd.choice(people)
        for key in ("assigner", "lead_person", "person", "owner_person")
        if rnd.random() < 0.6
    }
    for key in (
        "viewers",
        "authorities",
        "superiors",
        "collaborating_people",
        "approvers",
        "owner_unit_heads",
        "owner_unit_members",
    ):
        if rnd.random() < 0.6:
            resource[key] = _some(rnd, people)
    if rnd.random() < 0.6:
        resource["unit"] = rnd.choice(UNITS)
    document: dict[str, Any] = {
        "tenant": rnd.choice(["hanoi", "hanoi", "thanhhoa"]),
        "action": rnd.choice(ACTIONS),
        "principal": {
            "tenant": rnd.choice(["hanoi", "hanoi", "thanhhoa"]),
            "subject": subject,
            "roles": _some(rnd, ROLES),
        },
        "resource": resource,
    }
    if rnd.random() < 0.7:
        document["relation"] = {
            "evaluator_of": {p: _some(rnd, people) for p in people if rnd.random() < 0.5},
            "decider_of": {p: rnd.choice(people) for p in people if rnd.random() < 0.5},
            "unit_heads": {u: rnd.choice(people) for u in UNITS if rnd.random() < 0.7},
            "unit_members": {u: _some(rnd, people) for u in UNITS},
        }
    return document


@pytest.fixture(scope="module")
def reused() -> PolicyEngine:
    return PolicyEngine()


def test_a_reused_engine_decides_as_a_fresh_clone(reused: PolicyEngine) -> None:
    rnd = random.Random(2026)
    fresh_source = PolicyEngine()
    allowed = denied = 0
    for _ in range(600):
        document = _document(rnd)
        package = rnd.choice(PACKAGES)
        for rule in (f"data.woms.{package}.authz.allow", f"data.woms.{package}.authz.reasons"):
            fresh = fresh_source._engine.clone()
            fresh.set_input(document)
            expected = fresh.eval_rule(rule)
            assert reused.evaluate(rule, document) == expected, (rule, document)
            if rule.endswith("allow"):
                allowed += expected is True
                denied += expected is not True
    # the documents exercise both answers, or the comparison would prove little
    assert allowed > 30 and denied > 30


def test_a_decision_does_not_see_the_previous_input(reused: PolicyEngine) -> None:
    rule = "data.woms.tasks.authz.allow"
    reader = {
        "tenant": "hanoi",
        "action": "task.read",
        "principal": {"tenant": "hanoi", "subject": "P020", "roles": ["staff"]},
        "resource": {"viewers": ["P020"]},
    }
    assert reused.evaluate(rule, reader) is True
    assert reused.evaluate(rule, {**reader, "resource": {}}) is False
    assert reused.evaluate(rule, reader) is True


def test_an_error_drops_the_clone_and_the_next_decision_works(reused: PolicyEngine) -> None:
    document = {
        "tenant": "hanoi",
        "action": "task.create",
        "principal": {"tenant": "hanoi", "subject": "P020", "roles": ["staff"]},
    }
    with pytest.raises(RuntimeError):
        reused.evaluate("data.woms.tasks.authz.no_such_rule", document)
    assert reused.evaluate("data.woms.tasks.authz.allow", document) is True
