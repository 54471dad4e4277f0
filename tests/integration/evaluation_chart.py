"""The Phúc Lợi evaluation chart as policy inputs: cases for ``woms.evaluation.authz``.

Built from the real tenant file (``data/tenants/hanoi/tenant.yaml``); the evaluator relation is
derived by :mod:`services.planning.evaluators` as of 2026-06-15 and passed in the input, as the
evaluation service does (001 §II.3, DOMAIN.md §7). Shared by ``test_evaluation_policy`` (the
chart's expected decisions) and ``test_opa_engine`` (both engines decide alike).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from services.planning import evaluators as ev
from services.planning.tenant_file import TenantFile, load_tenant_file

TENANT_FILE = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"
AS_OF = date(2026, 6, 15)
PERIOD = "2026-06"
ALLOW = "data.woms.evaluation.authz.allow"
REASONS = "data.woms.evaluation.authz.reasons"
ACTIONS = (
    "evaluation.self_assess",
    "evaluation.review",
    "evaluation.decide",
    "evaluation.publish",
    "evaluation.appeal",
    "evaluation.read",
    "evaluation.answer_appeal",
)
CITY_BODIES = {
    "Bí thư Đảng ủy phường": "Ban Thường vụ Thành ủy",
    "Phó Bí thư thường trực Đảng ủy phường": "Thường trực Thành ủy",
    "Phó Bí thư Đảng ủy, Chủ tịch UBND phường": "Ban Thường vụ Đảng ủy UBND Thành phố",
}
"""Title of the ward post -> the city-level body evaluating it (001 §II.3)."""


@cache
def tenant() -> TenantFile:
    return load_tenant_file(TENANT_FILE)


@cache
def relation() -> dict[str, Any]:
    tf = tenant()
    units = [
        ev.OrgUnit(
            code=u.code,
            axis=u.axis,
            type=u.type,
            parent=u.parent,
            head_evaluated_by=u.head_evaluated_by,
            name=u.name,
        )
        for u in tf.units
    ]
    memberships = [
        ev.UnitMembership(
            person=p.code,
            unit=m.unit,
            role=m.role,
            start=m.start,
            end=m.end,
            title=m.title,
        )
        for p in tf.people
        for m in p.memberships
    ]
    overrides = [
        ev.EvaluatorOverride(
            person=o.person, evaluator=o.evaluator, external=o.external, reason=o.reason
        )
        for o in tf.evaluator_overrides
    ]
    edges = ev.derive_evaluator_edges(units, memberships, overrides, as_of=AS_OF)
    return ev.as_policy_data(edges)


def people() -> list[str]:
    return [p.code for p in tenant().people if p.memberships_on(AS_OF)]


def primary_unit(person: str) -> str:
    [p] = [p for p in tenant().people if p.code == person]
    return p.memberships_on(AS_OF)[0].unit


def staff(subject: str, *, tenant_code: str = "hanoi") -> dict[str, Any]:
    return {"tenant": tenant_code, "subject": subject, "roles": ["staff"]}


def body(name: str) -> dict[str, Any]:
    return {"tenant": "hanoi", "subject": f"ext:{name}", "roles": ["external_body"], "body": name}


def request(
    principal: dict[str, Any], action: str, person: str, unit: str | None = None
) -> dict[str, Any]:
    return {
        "tenant": "hanoi",
        "action": action,
        "principal": principal,
        "resource": {"person": person, "unit": unit or primary_unit(person), "period": PERIOD},
        "relation": relation(),
    }


def posts(person: str) -> Iterable[str]:
    """Every unit ``person`` holds a post in on :data:`AS_OF`, primary first."""
    [p] = [p for p in tenant().people if p.code == person]
    return [m.unit for m in p.memberships_on(AS_OF)]
