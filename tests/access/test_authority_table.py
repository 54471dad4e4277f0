"""The authority table (issue 15, "How it is checked"): every row of ``docs/authority.md`` —
action × relation to the owner P022 → allowed / refused, each with its source in the
regulations — is called on the real endpoints of the running stack (``tests/access/world.py``)
as the relation's caller, on an object built through the APIs by the people with authority.
The expected values are the document's, written from ``001 §II.3``, ``§IV.1``, ``000 §V.2``,
``§VI``, ``DOMAIN.md §4, §7`` — not from ``policies/woms/**`` (the access matrix,
``test_access_matrix.py``, compares the answers with the services' own Rego)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access import authority
from tests.access.world import World, access_world

pytestmark = pytest.mark.integration

ROWS = authority.table()
CALLERS = authority.callers()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with access_world(tmp_path_factory.mktemp("authority")) as built:
        yield built


def test_the_table_has_every_action_for_every_relation_with_a_source() -> None:
    actions = list(dict.fromkeys(r.action for r in ROWS))
    relations = list(CALLERS)
    assert sorted(actions) == sorted(authority.ACTIONS), "actions of the table vs the test's"
    have = {(r.action, r.relation) for r in ROWS}
    missing = [(a, rel) for a in actions for rel in relations if (a, rel) not in have]
    assert missing == []
    assert {r.relation for r in ROWS} <= set(relations)
    assert all(r.source for r in ROWS)


def test_the_callers_hold_the_relations_the_table_names(world: World) -> None:
    """The rows mean something only if the callers are what the callers table says they are,
    in the org chart planning serves (not a check of the rules: of the test's world)."""
    org = world.org()
    members = org.get("unit_members", {})
    evaluator_of = org.get("evaluator_of", {})
    owner, unit = authority.OWNER, authority.UNIT
    c = {rel: p.subject for rel, p in CALLERS.items()}
    assert c["self"] == owner
    assert org["unit_heads"][unit] == c["head"]
    assert c["head"] in evaluator_of[owner], evaluator_of.get(owner)
    assert c["superior"] in evaluator_of[c["head"]], evaluator_of.get(c["head"])
    for rel in ("peer", "collaborator", "assigner-peer"):
        assert c[rel] in members[unit] and c[rel] != c["head"], rel
    assert c["other-unit"] not in members[unit]
    assert c["collaborator"] == authority.COLLABORATOR
    assert c["assigner-peer"] == authority.LEGACY_ASSIGNER
    fields = org.get("in_charge_of", {})
    wanted = {unit, *org.get("positions_of", {}).get(owner, [])}
    assert wanted & set(fields.get(c["deputy-in-charge"], [])), (
        f"{c['deputy-in-charge']} is not in charge of {sorted(wanted)} in planning's relation "
        f"(in_charge_of: {fields})"
    )
    assert not wanted & set(fields.get(c["deputy-other-field"], [])), (
        f"{c['deputy-other-field']} is in charge of P022's field"
    )
    assert c["deputy-other-field"] in fields, f"{c['deputy-other-field']} has no field at all"


def test_every_row_answers_as_the_table_says(world: World) -> None:
    outcome = authority.run(world, ROWS, CALLERS)
    print(outcome.summary())
    for result in outcome.mismatches:
        print("  DISAGREES:", result.line())
    out = os.environ.get("WOMS_AUTHORITY_OUT")
    if out:
        Path(out).write_text(
            f"{outcome.summary()}\n\n{outcome.markdown()}\n\n"
            + "\n".join(f"- {r.line()}" for r in outcome.mismatches)
            + "\n",
            encoding="utf-8",
        )
    assert outcome.calls > 0
    assert not outcome.mismatches, f"{outcome.summary()}\n" + "\n".join(
        r.line() for r in outcome.mismatches
    )


# --- rules of the same rows that are about *how*, not *who* (issue 15, "Evaluation") ---------


def _above(relation: dict[str, object], person: str) -> list[str]:
    """Everyone above ``person`` along ``evaluator_of`` — this test's own traversal, not the
    services' (``001 §II.3``: the evaluator, the evaluator's evaluator, …)."""
    evaluator_of: dict[str, list[str]] = relation.get("evaluator_of", {})  # type: ignore[assignment]
    seen: list[str] = []
    todo = list(evaluator_of.get(person, []))
    while todo:
        current = todo.pop(0)
        if current not in seen and current != person:
            seen.append(current)
            todo.extend(evaluator_of.get(current, []))
    return seen


def test_a_persons_decider_is_never_below_their_reviewer(world: World) -> None:
    """``001 §II.3`` lists who "đánh giá, xếp loại" (reviews *and* grades) whom, and ``§I.6``
    gives the decision to the head: the decider is the reviewer or above the reviewer — e.g.
    P054 (Phó Chủ tịch Hội LHPN) is reviewed by P049 (Chủ tịch Ủy ban MTTQ, ``001 §II.3.a``
    "Chủ tịch Ủy ban Mặt trận Tổ quốc đánh giá, xếp loại đối với: Cấp phó các tổ chức chính trị
    - xã hội") and so decided by P049, not by P053, the head of the body under him."""
    relation = world.relation("2026-06")
    evaluator_of: dict[str, list[str]] = relation["evaluator_of"]
    below = []
    for person, decider in sorted((relation.get("decider_of") or {}).items()):
        reviewers = evaluator_of.get(person) or []
        if not decider or not reviewers:
            continue  # decided outside the tenant, or unresolved
        if not any(decider == r or decider in _above(relation, r) for r in reviewers):
            below.append(f"{person}: reviewed by {reviewers}, decided by {decider}")
    assert relation["decider_of"].get("P054") == "P049"
    assert below == []


def test_a_changed_grade_needs_the_authoritys_written_reason(world: World) -> None:
    """The authority may decide a grade other than the proposed one only with a written reason
    (``001 §I.6`` "phải chịu trách nhiệm về quyết định của mình"; issue 15): without one the
    decision is refused (422 naming ``reason``) and the month is left as it was."""
    period = "2026-11"
    authority.month_ready(world, period, to="reviewed")
    head = CALLERS["head"]
    url = authority.E(authority.OWNER, period, "decision")
    answer = authority.send(world, head, authority.Call("evaluation", "POST", url, {"grade": "A"}))
    assert answer.status_code == 422, answer.text
    assert "reason" in answer.text
    month = authority.send(
        world, head, authority.Call("evaluation", "GET", authority.E(authority.OWNER, period))
    ).json()
    assert month["status"] == "reviewed" and month.get("grade") is None, month


def test_a_unit_is_not_decided_before_every_member_is_reviewed(world: World) -> None:
    """``001 §IV.1``: the decision (Bước 4) follows the self-assessment (Bước 2) and the review
    (Bước 3) of each person; the head deciding the unit while a member is only self-assessed
    (review deadline not passed) is refused with 409 naming that member, and nobody's grade
    changes (issue 15: "a unit was decided with 5 of 7 members not self-assessed")."""
    period, late = "2026-12", "P024"
    for person in authority.UNIT_PEOPLE:
        authority.open_month(person, period)
        authority.self_assessed(world, person, period)
        if person != late:
            by = authority.SUPERIOR if person == authority.HEAD else authority.HEAD
            authority.reviewed(world, person, period, by=by)
    head = CALLERS["head"]
    call = authority.Call("evaluation", "POST", f"{authority.T}/units/PL-VP/decision/{period}", {})
    answer = authority.send(world, head, call)
    assert answer.status_code == 409, answer.text
    assert late in answer.text
    for person in authority.UNIT_PEOPLE:
        got = authority.send(
            world, head, authority.Call("evaluation", "GET", authority.E(person, period))
        ).json()
        assert got.get("grade") is None and got["status"] != "decided", got


def test_a_delegation_by_the_head_counts_as_the_heads_for_its_period_only(world: World) -> None:
    """The delegation rows of ``docs/authority.md`` (``DOMAIN.md §4``)."""
    rows = authority.delegation_rows()
    disagreements = authority.run_delegation(world, rows)
    print(f"delegation: {len(rows)} calls, {len(disagreements)} disagree")
    assert disagreements == [], "\n".join(disagreements)


def test_no_result_without_evidence_and_no_mark_on_work_not_submitted(world: World) -> None:
    """``000 §VI.4`` "không hợp thức hóa kết quả khi nhiệm vụ chưa hoàn thành, không có sản phẩm
    hoặc minh chứng": a submission without evidence is refused (422) and the task stays as it
    was; ``001 §III.2`` and ``000 §II.2``: an objective cause excuses a failure or a delay and
    "exceeded" qualifies a result — on a task only assigned (nothing submitted, not yet due:
    the tasks service's clock is set to 2026-06-10, the task is due on the 19th) the head's
    mark and confirmation are refused (409), after the access check."""
    a = authority
    owner, head = CALLERS["self"], CALLERS["head"]
    restore = a._on_day(world, "2026-06-10")
    try:
        code = a.assigned(world)
        answer = a.send(world, owner, a.Call("tasks", "POST", f"{a.T}/tasks/{code}/submit", {}))
        assert answer.status_code == 422, answer.text
        task = a.send(world, head, a.Call("tasks", "GET", f"{a.T}/tasks/{code}")).json()
        assert task["status"] == "assigned", task
        for path, body in (
            ("exceeded", {"kind": "innovation"}),
            ("objective-causes", {"kind": "delay", "why": "Mất điện diện rộng"}),
        ):
            url = f"{a.T}/tasks/{code}/{path}"
            answer = a.send(world, head, a.Call("tasks", "POST", url, body))
            assert answer.status_code == 409, (path, answer.text)
    finally:
        restore()
