"""The one place where the tasks service maps its objects to policy resources.

Every decision is the Rego package ``woms.tasks.authz`` (``policies/woms/tasks/authz.rego``);
the input document is built by :class:`services.common.authorizer.Authorizer`, whose
``resource`` is what this module returns. Its JSON schema is
``policies/woms/tasks/input.schema.json``. The traversals of the evaluator relation
(``001 §II.3``) are :func:`services.common.authorizer.superiors` and
:func:`services.common.authorizer.authorities_over` — never re-written here.

Shapes (all person and unit values are planning codes, lists without duplicates):

* task (:func:`task_resource`, :func:`proposal_resource`)::

    {"code": str | None, "status": str, "assigner": str | None, "proposed_by": str | None,
     "proposer_units": [unit], "lead_person": str | None, "lead_unit": str | None,
     "collaborating_people": [person], "collaborating_units": [unit],
     "viewers": [person], "authorities": [person], "changes": [field name]}

  ``authorities`` = ``authorities_over(relation, lead_person, lead_unit)`` (the head of the lead
  unit and everyone above the head, everyone above the lead, the deputies in charge of the
  field, the head's delegates; never the lead — ``DOMAIN.md §4``); ``proposer_units`` = the
  units the creator belongs to that day (``relation.unit_members``); ``changes`` = the fields
  an edit changes (empty otherwise).
* person (:func:`person_resource`): ``{"person": str, "superiors": [person]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.common.authorizer import Relation, authorities_over, superiors
from services.tasks.models import Task

__all__ = [
    "known_person",
    "person_resource",
    "proposal_resource",
    "task_resource",
    "unit_resource",
    "units_of",
]


def units_of(relation: Relation, person: str | None) -> list[str]:
    """The units ``person`` belongs to in ``relation`` (``unit_members``; a head is a member
    of the unit they head), in the relation's order; ``[]`` for ``None`` or an unknown
    person."""
    if not person:
        return []
    members: Mapping[str, list[str]] = relation.get("unit_members", {}) or {}
    return [unit for unit, people in members.items() if person in people]


def known_person(relation: Relation, person: str) -> bool:
    """Whether ``person`` is in the org chart of the relation's day: a member of some unit, or
    a person the evaluator relation lists (``evaluator_of`` has every person)."""
    return bool(units_of(relation, person)) or person in (relation.get("evaluator_of") or {})


def _unique(people: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for p in people:
        if p and p not in out:
            out.append(p)
    return out


def proposal_resource(
    relation: Relation,
    *,
    proposed_by: str | None,
    lead_person: str | None,
    lead_unit: str | None,
    collaborating_people: Iterable[str] = (),
    collaborating_units: Iterable[str] = (),
    status: str = "draft",
    assigner: str | None = None,
    code: str | None = None,
    changes: Iterable[str] = (),
) -> dict[str, Any]:
    """The task resource (module docstring) of a task with these values — a task about to be
    created (``task.create``: ``proposed_by`` is the caller), or a task as an edit would leave
    it (``task.edit``)."""
    heads: Mapping[str, str] = relation.get("unit_heads", {}) or {}
    authorities = authorities_over(relation, lead_person, lead_unit)
    people = list(collaborating_people)
    units = list(collaborating_units)
    viewers = [assigner, proposed_by, lead_person, *people, *authorities]
    for unit in units:
        head = heads.get(unit)
        viewers += [head, *superiors(relation, head)]
    return {
        "code": code,
        "status": status,
        "assigner": assigner,
        "proposed_by": proposed_by,
        "proposer_units": units_of(relation, proposed_by),
        "lead_person": lead_person,
        "lead_unit": lead_unit,
        "collaborating_people": people,
        "collaborating_units": units,
        "viewers": sorted(_unique(viewers)),
        "authorities": authorities,
        "changes": sorted(set(changes)),
    }


def task_resource(relation: Relation, task: Task, changes: Iterable[str] = ()) -> dict[str, Any]:
    """The resource of a stored ``task`` (module docstring) for the relation of the request's
    day. Tasks created before ``proposed_by`` existed count their assigner as the creator."""
    return proposal_resource(
        relation,
        proposed_by=task.proposed_by or task.assigner,
        lead_person=task.lead_person,
        lead_unit=task.lead_unit,
        collaborating_people=task.collaborating_people or [],
        collaborating_units=task.collaborating_units or [],
        status=task.status,
        assigner=task.assigner,
        code=task.code,
        changes=changes,
    )


def person_resource(relation: Relation, person: str) -> dict[str, Any]:
    """A person's ledger, calendar, warnings and ratings: ``{"person", "superiors"}`` (everyone
    above the person in the evaluator chain, ``001 §II.3``)."""
    return {"person": person, "superiors": superiors(relation, person)}


def unit_resource(relation: Relation, unit: str) -> dict[str, Any]:
    """A unit's ledger or warnings: the person resource of the unit's head (``""`` when the
    unit has no head that day — then only the roles of the policy read it)."""
    head = (relation.get("unit_heads", {}) or {}).get(unit) or ""
    return person_resource(relation, head)
