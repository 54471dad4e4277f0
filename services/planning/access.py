"""What planning's objects are to the policy ``woms.planning.authz`` (schema:
``policies/woms/planning/input.schema.json``): the resources of plans, their owners and the
heads' delegations, with the one relation traversal
(:func:`services.common.authorizer.superiors`; ``001 §II.3``, ``DOMAIN.md §2, §4``). The API
authorises with these through :class:`services.common.authorizer.Authorizer`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.common.authorizer import superiors
from services.planning import evaluators as ev
from services.planning import repository as repo
from services.planning import service
from services.planning.models import Delegation, Person, Plan, Unit


def plan_resource(session: Session, plan: Plan, as_of: date | None = None) -> dict[str, Any]:
    """What the access policy needs about a plan (see :func:`owner_resource`)."""
    return owner_resource(session, plan.owner_unit_id, plan.owner_person_id, as_of)


def owner_resource(
    session: Session, unit_id: int | None, person_id: int | None, as_of: date | None = None
) -> dict[str, Any]:
    """What the access policy needs about a plan's owner (``policies/woms/planning``):

    ``{"owner_person": code | None, "owner_unit_heads": [code], "owner_unit_members": [code],
    "approvers": [code], "superiors": [code]}`` — the owner person, the owning unit's heads
    and members on ``as_of`` (default today), who may approve (the heads of the parent unit
    for a unit plan, the person's evaluators for a personal plan; ``001 §II.3``), and everyone
    above the owner person or the owning unit's heads in the evaluator chain
    (:func:`services.common.authorizer.superiors`, nearest first) — with the owner and the
    heads, those the plan names for ``progress.record`` (issue 15)."""
    as_of = as_of or date.today()
    person = session.get(Person, person_id) if person_id else None
    heads: list[str] = []
    members: list[str] = []
    approvers: list[str] = []
    edges = service._edges(session, as_of)
    relation = ev.as_policy_data(edges)
    if unit_id:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        heads = service.heads_of(session, unit.id, as_of)
        members = [m.person.code for m in repo.members_on(session, unit.id, as_of)]
        if unit.parent_id:
            approvers = service.heads_of(session, unit.parent_id, as_of)
    if person is not None:
        approvers = [
            e.evaluator_person
            for e in edges
            if e.person == person.code and e.evaluator_person is not None
        ]
    named = [person.code] if person is not None else heads
    above: list[str] = []
    for code in named:
        above += [p for p in superiors(relation, code) if p not in above and p not in named]
    return {
        "owner_person": person.code if person else None,
        "owner_unit_heads": heads,
        "owner_unit_members": members,
        "approvers": sorted(set(approvers)),
        "superiors": above,
    }


def delegation_resource(session: Session, unit_code: str, day: date) -> dict[str, Any]:
    """What ``delegation.create`` needs (``policies/woms/planning/authz.rego``): the unit and
    its head on ``day`` (the delegation's start; ``None`` when vacant).

    Raises:
        PlanningError: 422 at ``unit`` when the unit does not exist.
    """
    unit = repo.by_code(session, Unit, unit_code)
    if unit is None:
        raise service.PlanningError("unit", f"{unit_code!r} không tồn tại / unknown unit")
    heads = service.heads_of(session, unit.id, day)
    return {"unit": unit.code, "unit_head": heads[0] if heads else None}


def end_resource(session: Session, row: Delegation, today: date) -> dict[str, Any]:
    """What ``delegation.end`` needs: the unit, its head ``today`` (``None``: vacant) and
    who delegated (``delegated_by``)."""
    heads = service.heads_of(session, row.unit_id, today)
    return {
        "unit": row.unit.code,
        "unit_head": heads[0] if heads else None,
        "delegated_by": row.delegated_by.code,
    }
