"""What evaluation's objects are to the policy ``woms.evaluation.authz``: the ``resource`` of
the input document :class:`services.common.authorizer.Authorizer` builds (schema:
``policies/woms/evaluation/input.schema.json``; rules: ``001 §II.3``, ``§IV.1``,
``DOMAIN.md §6–§7``).

Three kinds of resource, all plain JSON:

* a person's month ``{"person", "unit", "period"}`` (:func:`month_resource`) — the steps,
  reads, appeals of one person;
* a unit's month ``{"unit", "period", "publication"?}`` (:func:`unit_resource`) —
  publication, records, quota, the unit's list of grades (``publication``: ``"published"``
  when every evaluated month of the unit is published, else ``"pending"``; read by
  ``evaluation.unit_list``; a string, not a boolean: the regorus binding turns Python
  booleans into numbers);
* the tenant's month ``{"period"}`` (:func:`cycle_resource`) — starting and following the
  cycle (``cycle.start``, ``cycle.read``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.common.authorizer import superiors
from services.evaluation.models import Evaluation

#: Statuses of a month outside the published list (``not_evaluated``, ``001 §I.6``).
UNLISTED = ("not_evaluated",)


def month_resource(ev: Evaluation) -> dict[str, Any]:
    """A person's month as the policy's resource: ``{"person", "unit", "period"}``."""
    return {"person": ev.person, "unit": ev.unit, "period": ev.period}


def head_month_resource(head: str | None, unit: str, period: str) -> dict[str, Any]:
    """The month ``period`` of ``unit``'s head (the collective evaluation is authorised on it,
    ``004`` Part B §II.1); a unit without a head gives the unit's month."""
    if head is None:
        return unit_resource(unit, period)
    return {"person": head, "unit": unit, "period": period}


def unit_resource(
    unit: str,
    period: str,
    months: Iterable[Evaluation] | None = None,
    relation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A unit's month: ``{"unit", "period"}``; with ``months`` (the unit's evaluations of the
    period) also ``publication``: ``"published"`` when there is at least one evaluated month
    and every evaluated month is published (``001 §IV.1`` step 5), else ``"pending"``; with
    ``relation`` also ``unit_readers``: the unit's head and everyone above the head
    (:func:`services.common.authorizer.superiors`; ``001 §II.3``, ``§VI``: the leaders answer
    for the results of the staff they manage)."""
    resource: dict[str, Any] = {"unit": unit, "period": period}
    if months is not None:
        statuses = [ev.status for ev in months if ev.status not in UNLISTED]
        done = bool(statuses) and all(s == "published" for s in statuses)
        resource["publication"] = "published" if done else "pending"
    if relation is not None:
        head = (relation.get("unit_heads") or {}).get(unit)
        resource["unit_readers"] = [head, *superiors(relation, head)] if head else []
    return resource


def cycle_resource(period: str) -> dict[str, Any]:
    """The tenant's month (the cycle workflow): ``{"period"}``."""
    return {"period": period}


def headed_unit(person: str, relation: Mapping[str, Any]) -> str | None:
    """The unit ``person`` heads in ``relation`` (first by code), ``None`` when none."""
    for unit, head in sorted((relation.get("unit_heads") or {}).items()):
        if head == person:
            return str(unit)
    return None
