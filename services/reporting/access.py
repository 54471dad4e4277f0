"""What the reporting policy (``woms.reporting.authz``) needs about a person, a unit or a
central query: the readers along the evaluator relation (``001 §II.3``: a person's figures are
read by the person and everyone above them; a unit's by its head and everyone above the head),
built with the one relation traversal, :func:`services.common.authorizer.superiors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common.authorizer import Relation, superiors


def person_resource(relation: Relation, person: str) -> dict[str, Any]:
    """``{"person", "person_readers": superiors of the person, nearest first}``."""
    return {"person": person, "person_readers": superiors(relation, person)}


def unit_resource(relation: Relation, unit: str) -> dict[str, Any]:
    """``{"unit", "unit_readers": [head, *superiors of the head]}`` (``[]`` without a head)."""
    head = (relation.get("unit_heads", {}) or {}).get(unit)
    readers = [head, *superiors(relation, head)] if head else []
    return {"unit": unit, "unit_readers": readers}


def central_resource(tenants: Sequence[str]) -> dict[str, Any]:
    """``{"tenants": the tenants of a central query, sorted, without duplicates}``."""
    return {"tenants": sorted(set(tenants))}
