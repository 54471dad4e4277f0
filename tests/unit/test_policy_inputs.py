"""The policy input documents (``services/common/authorizer.py``) against the JSON schema of
each package's ``input`` (``policies/woms/<area>/input.schema.json``): every authorization
package has one, the schemas are valid and resolve the shared parts, and a document that
breaks them is refused with the path at fault. The test suite validates every document the
services send (``POLICY_INPUT_CHECK``, ``tests/conftest.py``)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from services.common.auth import Principal
from services.common.authorizer import (
    Authorizer,
    PolicyInputInvalid,
    authorities_over,
    check_input,
    input_schema_path,
    superiors,
)
from services.common.policy import POLICIES_DIR, PolicyEngine
from services.reporting import access as reporting_access

AREAS = sorted(p.parent.name for p in (POLICIES_DIR / "woms").glob("*/authz.rego"))

RELATION: dict[str, Any] = {
    # P3 heads U1's parent body and evaluates the head P2; P2 evaluates P1 and the deputy P4,
    # who is in charge of position POS-A; P5 is the head's delegate; P6 a peer of P1.
    "evaluator_of": {"P1": ["P2"], "P2": ["P3"], "P3": [], "P4": ["P2"], "P6": ["P2"]},
    "unit_heads": {"U1": "P2", "U0": "P3"},
    "unit_members": {"U1": ["P2", "P1", "P4", "P5", "P6"], "U0": ["P3"]},
    "in_charge_of": {"P4": ["POS-A"], "P7": ["U1"], "P8": ["U9"]},
    "positions_of": {"P1": ["POS-A"], "P6": ["POS-B"]},
    "delegations": {"U1": ["P5"]},
}


def test_every_authorization_package_has_an_input_schema() -> None:
    assert AREAS == ["evaluation", "planning", "reporting", "tasks"]
    missing = [a for a in AREAS if not input_schema_path(a).is_file()]
    assert not missing, f"no input.schema.json for {missing}"


@pytest.mark.parametrize("area", [*AREAS, "lib"])
def test_schemas_are_valid_draft_2020_12(area: str) -> None:
    path = input_schema_path(area)
    if not path.is_file():
        pytest.skip(f"{area} has no schema yet (the test above fails)")
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:woms:policy:{area}"


def _authorizer(subject: str = "P1", roles: frozenset[str] = frozenset({"staff"})) -> Authorizer:
    engine = PolicyEngine()
    return Authorizer("reporting", "hanoi", Principal("hanoi", subject, roles), lambda: engine)


def test_reporting_documents_match_their_schema() -> None:
    auth = _authorizer()
    for resource in (
        reporting_access.person_resource(RELATION, "P1"),
        reporting_access.unit_resource(RELATION, "U1"),
        reporting_access.central_resource(["hanoi", "hanoi", "thanhhoa"]),
        {},
    ):
        check_input("reporting", auth.document("reporting.person", resource))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"action": "reporting.everything"}, "action"),
        ({"resource": {"person": "P1", "readers": ["P2"]}}, "resource"),
        (
            {"principal": {"tenant": "hanoi", "subject": "P1", "roles": ["root"]}},
            "principal/roles/0",
        ),
        ({"principal": {"tenant": "hanoi", "roles": ["staff"]}}, "principal"),
        ({"tenant": ""}, "tenant"),
    ],
)
def test_a_document_outside_the_schema_is_refused_naming_the_path(
    change: dict[str, Any], where: str
) -> None:
    document = {**_authorizer().document("reporting.person", {"person": "P1"}), **change}
    with pytest.raises(PolicyInputInvalid, match=f"at {where}:"):
        check_input("reporting", document)


def test_external_body_gets_its_body_from_the_relation_only_with_the_role() -> None:
    relation = {"acting_for": {"BTV": "Ban Thường vụ Thành ủy", "P1": "Ban Thường vụ Thành ủy"}}
    body = _authorizer("BTV", frozenset({"staff", "external_body"})).document(
        "reporting.unit", {}, relation
    )
    assert body["principal"]["body"] == "Ban Thường vụ Thành ủy"
    assert "body" not in _authorizer("P1").document("reporting.unit", {}, relation)["principal"]


def test_superiors_follow_the_evaluator_chain_nearest_first() -> None:
    assert superiors(RELATION, "P1") == ["P2", "P3"]
    assert superiors(RELATION, "P3") == []
    assert superiors(RELATION, None) == []
    cyclic = {"evaluator_of": {"A": ["B"], "B": ["A"]}}
    assert superiors(cyclic, "A") == ["B"]


def test_authorities_over_work_follow_001_II_3_and_000_V_2() -> None:
    # head, the chain above the lead, the deputy in charge of the lead's position, the
    # deputy in charge of the unit, the head's delegate; not the peer P6, not the deputy of
    # another field P8, never the lead
    assert authorities_over(RELATION, "P1", "U1") == ["P2", "P3", "P4", "P7", "P5"]
    assert "P4" not in authorities_over(RELATION, "P6", "U1")  # P4's field is POS-A only
    assert "P1" not in authorities_over(RELATION, "P1", "U1")
    assert "P2" not in authorities_over(RELATION, "P2", "U1")  # the head's own work: above him
    assert authorities_over(RELATION, "P2", "U1")[:1] == ["P3"]
    assert authorities_over(RELATION, None, "U1") == ["P2", "P3", "P7", "P5"]
