"""Collusion property (issue 15, "How it is checked"): random sequences of calls on the running
services (``tests/access/world.py``: planning and tasks over HTTP, the apps in-process) by
people who hold **no** authority over a person — peers of the same unit, the collaborator on
the person's task, a peer recorded as the assigner of an old task, a deputy of another field,
people of another unit, the tenant administrator, a central body, another tenant, and the
person themselves for every decision — never change that person's ledger (``GET
/ledger/{person}/{period}`` read by the head), suggested score or grade; the same kinds of
sequences by an authority over the person (the head of the unit, the deputy in charge of the
field, the superior in the evaluator chain) do change them, so the observation can see a
change.

Who has authority comes from ``docs/authority.md`` (the callers table, written from ``001
§II.3``, ``DOMAIN.md §4``), not from the policy under test. The world is built once for the
module; each example builds its own tasks (by the head, as the org chart allows) and observes
before and after. A failing example is printed by hypothesis with the sequence of calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.auth import Principal
from tests.access import authority as a
from tests.access.world import TENANT, World, access_world, headers

pytestmark = pytest.mark.integration

CALLERS = a.callers()
TARGETS = ("P021", "P022", "P023", "P024")
"""Staff of ``PL-VP``: the person whose ledger and month the sequence attacks (drawn)."""
LEDGER, REVIEW_MONTH, DECISION_MONTH = "2026-06", "2026-06", "2026-11"
"""Tasks are due in June (the ledger of 2026-06); the month of June is self-assessed and waits
for the review; the month of November is reviewed and waits for the decision."""

OUTSIDERS = (
    *(
        CALLERS[r]
        for r in ("deputy-other-field", "other-unit", "tenant-admin", "central", "other-tenant")
    ),
    Principal(TENANT, "P032", frozenset({"staff"})),
)
"""Callers with no authority over any staff member of ``PL-VP``."""
AUTHORITIES = (CALLERS["head"], CALLERS["superior"])
"""Authorities over every staff member of ``PL-VP``: its head and the head's evaluator."""
DEPUTY = CALLERS["deputy-in-charge"]
IN_DEPUTY_FIELD = ("P022", "P023")
"""The deputy P020 is in charge of the positions ``VP-VT`` (P022) and ``VP-KT`` (P023) — the
tenant file's ``in_charge_of`` (docs/authority.md, callers): an authority over their work, and
a deputy of another field for P021 (``VP-TH``) and P024 (``VP-KSTT``)."""


def authorities(target: str) -> tuple[Principal, ...]:
    return (*AUTHORITIES, DEPUTY) if target in IN_DEPUTY_FIELD else AUTHORITIES


def outsiders(target: str) -> tuple[Principal, ...]:
    return OUTSIDERS if target in IN_DEPUTY_FIELD else (*OUTSIDERS, DEPUTY)


TASK_OPS = ("create_assign", "propose_accept", "approve", "return", "exceeded", "cause", "cancel")
TASK_OPS += ("edit",)
MONTH_OPS = ("self_assess", "review", "decide", "change_grade")
OBSERVED = ("status", "suggested_score", "suggested_grade", "self_general", "review_general")
OBSERVED += ("score", "grade", "final_grade")


def _staff(person: str) -> Principal:
    return Principal(TENANT, person, frozenset({"staff"}))


def _peers(target: str) -> list[str]:
    return [p for p in TARGETS if p != target]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with access_world(tmp_path_factory.mktemp("collusion")) as built:
        for person in TARGETS:
            a.open_month(person, REVIEW_MONTH)  # P021, P022: already open (the world's)
            a.self_assessed(built, person, REVIEW_MONTH)
            a.open_month(person, DECISION_MONTH)
            a.self_assessed(built, person, DECISION_MONTH)
            a.reviewed(built, person, DECISION_MONTH)
        yield built


# --- the pool of objects of one example, built by the authority -------------------------------


def _pool(world: World, target: str) -> dict[str, str]:
    """A task led by ``target`` submitted with evidence (the collaborator named on it), one
    only assigned, and one submitted whose recorded assigner is a peer (an old task)."""
    collaborator = (_peers(target)[0],)
    legacy = a.submitted(world, target, collaborator)
    a.legacy_assigner(legacy, _peers(target)[-1])
    return {
        "submitted": a.submitted(world, target, collaborator),
        "assigned": a.assigned(world, target, collaborator),
        "legacy": legacy,
    }


def _send(
    world: World, caller: Principal, service: str, method: str, url: str, body: Any = None
) -> Any:
    kwargs: dict[str, Any] = {"headers": headers(caller)}
    if body is not None:
        kwargs["json"] = body
    return world.clients[service].request(method, url, **kwargs)


def _apply(
    world: World, target: str, pool: dict[str, str], op: str, which: str, caller: Principal
) -> int:
    """One call (or two: create then assign, propose then accept) of ``op`` by ``caller`` on
    ``target``'s objects; the status of the call that needs authority."""
    t = f"/tenants/{TENANT}"
    task = pool.get("legacy" if which == "legacy" else "submitted")
    if op == "create_assign":
        made = _send(
            world, caller, "tasks", "POST", f"{t}/tasks", a.task_body(target, collaborators=())
        )
        if made.status_code != 201:
            return int(made.status_code)
        code = made.json()["code"]
        return int(_send(world, caller, "tasks", "POST", f"{t}/tasks/{code}/assign").status_code)
    if op == "propose_accept":
        code = a.proposed(world, target)  # the target's own proposal: counts in no ledger
        return int(_send(world, caller, "tasks", "POST", f"{t}/tasks/{code}/accept").status_code)
    if op in {"approve", "return"}:
        body = a.REASON if op == "return" else None
        return int(
            _send(world, caller, "tasks", "POST", f"{t}/tasks/{task}/{op}", body).status_code
        )
    if op == "exceeded":
        body = {"kind": "innovation"}
        return int(
            _send(world, caller, "tasks", "POST", f"{t}/tasks/{task}/exceeded", body).status_code
        )
    if op == "cause":
        body = {"kind": "delay", "why": "Mất điện diện rộng"}
        return int(
            _send(
                world, caller, "tasks", "POST", f"{t}/tasks/{task}/objective-causes", body
            ).status_code
        )
    if op == "cancel":
        body = {"reason": "Không còn cần thiết"}
        return int(
            _send(
                world, caller, "tasks", "POST", f"{t}/tasks/{pool['assigned']}/cancel", body
            ).status_code
        )
    if op == "edit":  # the points the ledger counts (quantity × coefficient)
        url = f"{t}/tasks/{pool['assigned']}"
        return int(_send(world, caller, "tasks", "PATCH", url, {"quantity": "3"}).status_code)
    if op == "self_assess":
        url = a.E(target, REVIEW_MONTH, "self-assessment")
        return int(_send(world, caller, "evaluation", "POST", url, {"general": 30}).status_code)
    if op == "review":
        url = a.E(target, REVIEW_MONTH, "review")
        return int(
            _send(
                world, caller, "evaluation", "POST", url, {"general": 30, "comment": "Xuất sắc"}
            ).status_code
        )
    if op == "decide":
        return int(
            _send(
                world, caller, "evaluation", "POST", a.E(target, DECISION_MONTH, "decision"), {}
            ).status_code
        )
    if op == "change_grade":
        body = {"grade": "A", "reason": "Đề nghị nâng loại"}
        url = a.E(target, DECISION_MONTH, "decision")
        return int(_send(world, caller, "evaluation", "POST", url, body).status_code)
    raise AssertionError(op)


def observe(world: World, target: str) -> dict[str, Any]:
    """What the sequence must not change: the ledger of June as the head reads it, and the two
    months' suggestion, general points, score and grades (June refreshed from the ledger
    first, as the head may)."""
    head = _staff(a.HEAD)
    t = f"/tenants/{TENANT}"
    ledger = _send(world, head, "tasks", "GET", f"{t}/ledger/{target}/{LEDGER}")
    assert ledger.status_code == 200, ledger.text
    _send(world, head, "evaluation", "POST", a.E(target, REVIEW_MONTH, "refresh"))
    months = {}
    for period in (REVIEW_MONTH, DECISION_MONTH):
        got = _send(world, head, "evaluation", "GET", a.E(target, period))
        assert got.status_code == 200, got.text
        months[period] = {k: got.json().get(k) for k in OBSERVED}
    lines = sorted(ledger.json()["tasks"], key=lambda line: line["task_id"])
    return {"ledger": lines, "months": months}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    old = {line["task_id"]: line for line in before["ledger"]}
    new = {line["task_id"]: line for line in after["ledger"]}
    for code in sorted(set(old) | set(new)):
        if old.get(code) != new.get(code):
            out.append(f"ledger {code}: {old.get(code)} → {new.get(code)}")
    for period, fields in before["months"].items():
        for name, value in fields.items():
            if after["months"][period][name] != value:
                out.append(f"month {period} {name}: {value} → {after['months'][period][name]}")
    return out


# --- the properties -------------------------------------------------------------------------

_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    print_blob=True,
)


@st.composite
def _attack(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, Principal]]]:
    target = draw(st.sampled_from(TARGETS))
    peers = [_staff(p) for p in _peers(target)]
    itself = _staff(target)
    month_outsiders = [*OUTSIDERS, DEPUTY, CALLERS["superior"]]
    step = st.one_of(
        # task decisions and assignment: peers (one of them the collaborator, one the recorded
        # assigner of the legacy task), outsiders, and the target themselves
        st.tuples(
            st.sampled_from(TASK_OPS),
            st.sampled_from(["fresh", "legacy"]),
            st.sampled_from([*peers, itself, *outsiders(target)]),
        ),
        # the month: review and decision by anyone but the head — the target, the deputy in
        # charge of the field and the superior included (001 §II.3.b(2): the office head
        # reviews and grades its staff); self-assessment by anyone but the target
        st.tuples(
            st.sampled_from([m for m in MONTH_OPS if m != "self_assess"]),
            st.just("-"),
            st.sampled_from([*peers, itself, *month_outsiders]),
        ),
        st.tuples(
            st.just("self_assess"),
            st.just("-"),
            st.sampled_from([*peers, *month_outsiders, CALLERS["head"]]),
        ),
    )
    return target, draw(st.lists(step, min_size=1, max_size=6))


@_SETTINGS
@given(attack=_attack())
def test_no_sequence_by_people_without_authority_changes_ledger_score_or_grade(
    world: World, attack: tuple[str, list[tuple[str, str, Principal]]]
) -> None:
    target, steps = attack
    pool = _pool(world, target)
    before = observe(world, target)
    answered = [
        (op, which, caller.subject, _apply(world, target, pool, op, which, caller))
        for op, which, caller in steps
    ]
    changed = _diff(before, observe(world, target))
    assert not changed, f"{target} changed by {answered}:\n" + "\n".join(changed)


@st.composite
def _by_authority(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, Principal]]]:
    target = draw(st.sampled_from(TARGETS))
    step = st.tuples(
        st.sampled_from(TASK_OPS), st.just("fresh"), st.sampled_from(authorities(target))
    )
    return target, draw(st.lists(step, min_size=1, max_size=4))


@settings(_SETTINGS, max_examples=25)
@given(attack=_by_authority())
def test_the_same_sequences_by_an_authority_change_the_ledger(
    world: World, attack: tuple[str, list[tuple[str, str, Principal]]]
) -> None:
    """The observation sees a change: every task call of the attack, made by an authority over
    the target on a fresh object, changes the target's ledger."""
    target, steps = attack
    pool = _pool(world, target)
    before = observe(world, target)
    answered = [
        (op, caller.subject, _apply(world, target, pool, op, which, caller))
        for op, which, caller in steps
    ]
    assert _diff(before, observe(world, target)), f"{target}: nothing changed by {answered}"
    first = answered[0]
    assert 200 <= first[2] < 300, f"the authority was refused: {answered}"


def test_the_authority_changes_the_reviewed_and_decided_month(world: World) -> None:
    """Last in the module: after every attack above, the head's review of June and decision
    of November do change the months (the grade the attacks could not set)."""
    head = CALLERS["head"]
    for target in TARGETS:
        before = observe(world, target)
        for op in ("review", "decide"):
            status = _apply(world, target, {}, op, "-", head)
            assert 200 <= status < 300, (target, op, status)
        changed = _diff(before, observe(world, target))
        assert any("review_general" in c for c in changed), changed
        assert any(f"month {DECISION_MONTH} grade" in c for c in changed), changed
