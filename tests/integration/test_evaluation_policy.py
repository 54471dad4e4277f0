"""``woms.evaluation.authz`` on the real Phúc Lợi chart (``data/tenants/hanoi/tenant.yaml``).

The evaluator relation is derived by :mod:`services.planning.evaluators` as of 2026-06-15 and
passed in the input, as the evaluation service does; every person of the ward is checked
against every other person as principal (001 §II.3, DOMAIN.md §7).
"""

from __future__ import annotations

from typing import Any

import pytest

from services.common.policy import PolicyEngine
from tests.integration.evaluation_chart import (
    ACTIONS,
    ALLOW,
    AS_OF,
    CITY_BODIES,
    PERIOD,
    REASONS,
    body,
    people,
    posts,
    relation,
    request,
    staff,
    tenant,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def engine() -> PolicyEngine:
    """A fresh engine in the test's thread (regorus engines are bound to their thread)."""
    return PolicyEngine()


def decide(engine: PolicyEngine, inp: dict[str, Any]) -> tuple[bool, set[str]]:
    """``(allow, reasons)``; every deny must give a reason and an allow none."""
    allowed = engine.evaluate(ALLOW, inp)
    reasons = engine.evaluate(REASONS, inp)
    assert allowed is (not reasons), (inp["action"], inp["principal"], inp["resource"], reasons)
    return allowed, reasons


def allowed_subjects(engine: PolicyEngine, action: str, person: str) -> set[str]:
    """Which people of the ward (as plain staff principals) may do ``action`` on ``person``."""
    return {s for s in people() if decide(engine, request(staff(s), action, person))[0]}


def test_relation_covers_the_whole_ward() -> None:
    rel = relation()
    assert len(people()) == 60
    assert set(rel["evaluator_of"]) == set(people())
    assert rel["unresolved"] == []


@pytest.mark.parametrize("person", people())
def test_only_the_person_self_assesses_and_appeals(engine: PolicyEngine, person: str) -> None:
    assert allowed_subjects(engine, "evaluation.self_assess", person) == {person}
    assert allowed_subjects(engine, "evaluation.appeal", person) == {person}


@pytest.mark.parametrize("person", people())
def test_exactly_the_evaluators_review(engine: PolicyEngine, person: str) -> None:
    evaluators = set(relation()["evaluator_of"][person])
    assert person not in evaluators
    assert allowed_subjects(engine, "evaluation.review", person) == evaluators
    if not evaluators:  # evaluated outside the ward: only through the external body
        assert person in relation()["external"]


@pytest.mark.parametrize("person", people())
def test_only_the_decider_decides(engine: PolicyEngine, person: str) -> None:
    decider = relation()["decider_of"].get(person)
    expected = {decider} if decider else set()
    assert person not in expected
    assert allowed_subjects(engine, "evaluation.decide", person) == expected
    if decider is None:
        assert person in relation()["decider_external"]


@pytest.mark.parametrize("person", people())
def test_nobody_reviews_or_decides_for_themselves(engine: PolicyEngine, person: str) -> None:
    for unit in posts(person):  # every post, e.g. the Bí thư also as Chủ tịch HĐND
        for action in ("evaluation.review", "evaluation.decide", "evaluation.answer_appeal"):
            allowed, reasons = decide(engine, request(staff(person), action, person, unit))
            assert not allowed
            assert reasons


def test_secretary_who_chairs_the_council_never_evaluates_himself(engine: PolicyEngine) -> None:
    [secretary] = [
        p.code
        for p in tenant().people
        if {m.title for m in p.memberships_on(AS_OF)}
        >= {"Bí thư Đảng ủy phường", "Chủ tịch HĐND phường"}
    ]
    for unit in posts(secretary):
        for action in ("evaluation.review", "evaluation.decide"):
            allowed, reasons = decide(engine, request(staff(secretary), action, secretary, unit))
            assert not allowed
            assert any("themselves" in r or "own grade" in r for r in reasons)
    # he still evaluates his deputy in the HĐND
    [vice] = [
        p.code
        for p in tenant().people
        if p.memberships_on(AS_OF)[0].title == "Phó Chủ tịch HĐND phường"
    ]
    assert decide(engine, request(staff(secretary), "evaluation.review", vice))[0]
    assert decide(engine, request(staff(secretary), "evaluation.decide", vice))[0]


@pytest.mark.parametrize(("title", "body_name"), CITY_BODIES.items())
def test_city_level_evaluates_the_ward_leaders(
    engine: PolicyEngine, title: str, body_name: str
) -> None:
    [leader] = [
        p.code for p in tenant().people if title in {m.title for m in p.memberships_on(AS_OF)}
    ]
    assert relation()["external"][leader] == body_name
    for action in ("evaluation.review", "evaluation.decide", "evaluation.read"):
        assert decide(engine, request(body(body_name), action, leader))[0], action
    # nobody of the ward reviews or decides them, not even a staff member holding the body name
    assert allowed_subjects(engine, "evaluation.review", leader) == set()
    assert allowed_subjects(engine, "evaluation.decide", leader) == set()
    clerk = {**staff("P009"), "body": body_name}
    allowed, reasons = decide(engine, request(clerk, "evaluation.review", leader))
    assert not allowed
    assert "chỉ người đánh giá của người này / only the person's evaluator" in reasons
    for other in set(CITY_BODIES.values()) - {body_name}:
        assert not decide(engine, request(body(other), "evaluation.review", leader))[0]
        assert not decide(engine, request(body(other), "evaluation.decide", leader))[0]


def test_heads_review_and_decide_for_their_deputies_and_staff(engine: PolicyEngine) -> None:
    """001 §II.3: the head evaluates the deputies and staff of the unit and decides their grade
    (checked from the tenant file, independently of the relation); deputies of mass
    organisations are reviewed by the MTTQ Chairman instead — and decided by him too, since a
    person's decider is never below their reviewer (issue 15: P054 is decided by P049, not by
    P053, the head of PL-HLHPN) —; overridden people are skipped."""
    tf = tenant()
    heads = {m.unit: p.code for p in tf.people for m in p.memberships_on(AS_OF) if m.role == "head"}
    overridden = {o.person for o in tf.evaluator_overrides}
    checked = 0
    for p in tf.people:
        first = p.memberships_on(AS_OF)[0]
        head = heads.get(first.unit)
        if first.role == "head" or head in (None, p.code) or p.code in overridden:
            continue
        decides = decide(engine, request(staff(head), "evaluation.decide", p.code))[0]
        reviews = decide(engine, request(staff(head), "evaluation.review", p.code))[0]
        mass_org_deputy = first.role == "deputy" and tf.unit(first.unit).type == "mass_org"
        assert reviews is not mass_org_deputy, p.code
        assert decides is not mass_org_deputy, p.code
        checked += 1
    assert checked >= 40


def test_mttq_chair_reviews_deputies_of_mass_organisations(engine: PolicyEngine) -> None:
    """001 §II.3.a: the MTTQ Chairman evaluates deputies of socio-political organisations."""
    [chair] = [
        p.code
        for p in tenant().people
        if p.memberships_on(AS_OF)[0].title == "Chủ tịch Ủy ban MTTQ Việt Nam phường"
    ]
    [deputy] = [
        p.code
        for p in tenant().people
        if p.memberships_on(AS_OF)[0].title == "Phó Chủ tịch Hội Liên hiệp Phụ nữ phường"
    ]
    assert allowed_subjects(engine, "evaluation.review", deputy) == {chair}
    # the decider is never below the reviewer: the chairman decides too (issue 15)
    assert allowed_subjects(engine, "evaluation.decide", deputy) == {chair}


@pytest.mark.parametrize("person", people())
def test_readers_are_the_person_their_evaluators_and_superiors(
    engine: PolicyEngine, person: str
) -> None:
    rel = relation()
    decider = rel["decider_of"].get(person)
    expected = {person, *rel["evaluator_of"][person]}
    if decider:
        expected |= {decider, *rel["evaluator_of"][decider]}
    assert allowed_subjects(engine, "evaluation.read", person) == expected
    assert decide(
        engine, request({**staff("A"), "roles": ["tenant_admin"]}, "evaluation.read", person)
    )[0]
    assert decide(engine, request({**staff("C"), "roles": ["central"]}, "evaluation.read", person))[
        0
    ]


@pytest.mark.parametrize("person", people())
def test_appeals_are_answered_one_level_above_the_decider(
    engine: PolicyEngine, person: str
) -> None:
    rel = relation()
    decider = rel["decider_of"].get(person)
    expected = set(rel["evaluator_of"][decider]) if decider else set()
    assert allowed_subjects(engine, "evaluation.answer_appeal", person) == expected
    if decider and decider in rel["external"]:
        answering = rel["external"][decider]
    elif decider is None:
        answering = rel["decider_external"][person]
    else:
        return
    assert decide(engine, request(body(answering), "evaluation.answer_appeal", person))[0]


def test_unit_heads_publish_their_unit(engine: PolicyEngine) -> None:
    admin = {**staff("A"), "roles": ["tenant_admin"]}
    for unit, head in relation()["unit_heads"].items():
        publishers = {
            s
            for s in people()
            if decide(engine, request(staff(s), "evaluation.publish", head, unit))[0]
        }
        assert publishers == {head}, unit
        assert decide(engine, request(admin, "evaluation.publish", head, unit))[0]


@pytest.mark.parametrize("person", people())
def test_another_tenant_is_denied_everything(engine: PolicyEngine, person: str) -> None:
    rel = relation()
    subjects = {person, *rel["evaluator_of"][person], rel["decider_of"].get(person, person)}
    for subject in subjects:
        for roles in (["staff"], ["tenant_admin", "central"]):
            principal = {"tenant": "thanhhoa", "subject": subject, "roles": roles}
            for action in ACTIONS:
                allowed, reasons = decide(engine, request(principal, action, person))
                assert not allowed
                assert "khác đơn vị thuê bao / another tenant" in reasons
    for name in CITY_BODIES.values():
        principal = {**body(name), "tenant": "thanhhoa"}
        for action in ACTIONS:
            assert not decide(engine, request(principal, action, person))[0]


def _unit_list(principal: dict[str, Any], unit: str, publication: str) -> dict[str, Any]:
    return {
        "tenant": "hanoi",
        "action": "evaluation.unit_list",
        "principal": principal,
        "resource": {"unit": unit, "period": PERIOD, "publication": publication},
        "relation": relation(),
    }


def test_a_units_published_list_is_for_its_members(engine: PolicyEngine) -> None:
    """``001 §IV.1`` step 5 "công khai trong đơn vị": once published, every person holding a
    post in the unit on the day (the tenant file's memberships, not the derived relation)
    sees its list; nobody outside it (the head is a member); nobody before publication."""
    units = {u for s in people() for u in posts(s)}
    for unit in sorted(units):
        members = {s for s in people() if unit in posts(s)}
        readers = {
            s for s in people() if decide(engine, _unit_list(staff(s), unit, "published"))[0]
        }
        assert readers == members, unit
        assert not any(decide(engine, _unit_list(staff(s), unit, "pending"))[0] for s in members), (
            unit
        )
    admin = {**staff("A"), "roles": ["tenant_admin"]}
    assert decide(engine, _unit_list(admin, "PL-VP", "published"))[0]
    assert not decide(engine, _unit_list(admin, "PL-VP", "pending"))[0]
