"""``services/tasks/access.py``: the tasks policy's resources (``DOMAIN.md §4``, ``001 §II.3``)
and their JSON schema (``policies/woms/tasks/input.schema.json``); the evidence download name;
the tenant's bounds on points. Expected values are written from the rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.common.auth import Principal
from services.common.authorizer import Authorizer, PolicyInputInvalid, check_input
from services.common.policy import PolicyEngine
from services.tasks import access
from services.tasks.evidence import content_disposition, safe_file_name
from services.tasks.models import Task
from services.tasks.service import TenantRules

# U1's head P2 evaluates P1 (lead), the peer P6 and the deputy P4 (in charge of P1's position
# POS-A); P3 heads U0 and evaluates P2; P5 is the head's delegate; P8 a deputy of another
# field; P9 heads U2, a collaborating unit, and is evaluated by P3.
RELATION: dict[str, Any] = {
    "evaluator_of": {
        "P1": ["P2"],
        "P2": ["P3"],
        "P3": [],
        "P4": ["P2"],
        "P6": ["P2"],
        "P9": ["P3"],
    },
    "unit_heads": {"U1": "P2", "U0": "P3", "U2": "P9"},
    "unit_members": {"U1": ["P2", "P1", "P4", "P5", "P6"], "U0": ["P3"], "U2": ["P9"]},
    "in_charge_of": {"P4": ["POS-A"], "P8": ["U9"]},
    "positions_of": {"P1": ["POS-A"]},
    "delegations": {"U1": ["P5"]},
}


def task(**over: Any) -> Task:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "code": "CV-000001",
        "status": "assigned",
        "assigner": "P2",
        "proposed_by": "P6",
        "lead_person": "P1",
        "lead_unit": "U1",
        "collaborating_people": ["P6"],
        "collaborating_units": ["U2"],
        "created_at": now,
        "last_update_at": now,
    }
    fields.update(over)
    return Task(**fields)


def test_task_resource_names_the_authorities_over_the_lead() -> None:
    resource = access.task_resource(RELATION, task())
    # the head, the chain above the lead and the head, the deputy in charge, the delegate;
    # not the peer P6, not P8 (another field), never the lead P1
    assert resource["authorities"] == ["P2", "P3", "P4", "P5"]
    assert resource["proposed_by"] == "P6" and resource["proposer_units"] == ["U1"]
    assert resource["status"] == "assigned" and resource["changes"] == []
    # viewers: assigner, proposer, lead, collaborators, authorities, the collaborating unit's
    # head and those above him
    assert resource["viewers"] == ["P1", "P2", "P3", "P4", "P5", "P6", "P9"]


def test_a_task_without_proposer_counts_its_assigner_as_creator() -> None:
    assert access.task_resource(RELATION, task(proposed_by=None))["proposed_by"] == "P2"


def test_a_unit_proposal_has_the_unit_authorities() -> None:
    resource = access.proposal_resource(
        RELATION, proposed_by="P6", lead_person=None, lead_unit="U1"
    )
    assert resource["authorities"] == ["P2", "P3", "P5"]
    assert resource["status"] == "draft" and resource["code"] is None


def test_people_and_units_of_the_org_chart() -> None:
    assert access.units_of(RELATION, "P2") == ["U1"]
    assert access.units_of(RELATION, None) == []
    assert access.known_person(RELATION, "P9") and not access.known_person(RELATION, "P999")
    assert access.person_resource(RELATION, "P1") == {"person": "P1", "superiors": ["P2", "P3"]}
    assert access.unit_resource(RELATION, "U2") == {"person": "P9", "superiors": ["P3"]}
    assert access.unit_resource(RELATION, "NONE") == {"person": "", "superiors": []}


def _authorizer(subject: str = "P2") -> Authorizer:
    engine = PolicyEngine()
    principal = Principal("hanoi", subject, frozenset({"staff"}))
    return Authorizer("tasks", "hanoi", principal, lambda: engine)


@pytest.mark.parametrize(
    "resource",
    [
        access.task_resource(RELATION, task()),
        access.task_resource(RELATION, task(status="draft"), ["collaborating_people", "name"]),
        access.proposal_resource(RELATION, proposed_by="P1", lead_person=None, lead_unit=None),
        access.person_resource(RELATION, "P1"),
        access.unit_resource(RELATION, "NONE"),
        {},
    ],
)
def test_documents_of_access_match_the_tasks_input_schema(resource: dict[str, Any]) -> None:
    check_input("tasks", _authorizer().document("task.approve", resource))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"action": "task.everything"}, "action"),
        ({"resource": {**access.task_resource(RELATION, task()), "status": "done"}}, "resource"),
        ({"resource": {**access.task_resource(RELATION, task()), "extra": 1}}, "resource"),
        ({"resource": {"person": "P1"}}, "resource"),
    ],
)
def test_a_document_outside_the_tasks_schema_is_refused(change: dict[str, Any], where: str) -> None:
    document = {**_authorizer().document("task.read", {}), **change}
    with pytest.raises(PolicyInputInvalid, match=f"at {where}"):
        check_input("tasks", document)


def test_the_policy_decides_on_the_documents_of_access() -> None:
    """The real engine with the real resource: the head approves, the peer does not (even as
    the recorded assigner), the lead does not."""
    engine = PolicyEngine()

    def allowed(subject: str, resource: dict[str, Any]) -> bool:
        principal = Principal("hanoi", subject, frozenset({"staff"}))
        return Authorizer("tasks", "hanoi", principal, lambda: engine).allowed(
            "task.approve", resource
        )

    resource = access.task_resource(RELATION, task(assigner="P6"))
    assert allowed("P2", resource) and allowed("P4", resource) and allowed("P5", resource)
    assert not allowed("P6", resource) and not allowed("P1", resource)
    assert not allowed("P8", resource)  # a deputy of another field


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\r\nSet-Cookie: x.pdf", "aSet-Cookie_ x.pdf"),  # no CR LF; ":" is not portable
        ("nul\x00.pdf", "_nul.pdf"),  # no NUL; "NUL" is a Windows device name
        ("C:\\Users\\x\\bao-cao.pdf", "bao-cao.pdf"),
        ("e\u0301.pdf", "\u00e9.pdf"),  # NFC
        ("evil\u202egpj.exe", "evilgpj.exe"),  # no bidi override
        ("...", "minh-chung-7"),
        ("", "minh-chung-7"),
    ],
)
def test_download_name_is_normalised(raw: str, safe: str) -> None:
    assert safe_file_name(raw, default="minh-chung-7") == safe


def test_content_disposition_is_an_attachment_with_utf8_name() -> None:
    assert content_disposition('báo "cáo".pdf') == (
        "attachment; filename=\"bao-_cao_.pdf\"; filename*=UTF-8''b%C3%A1o%20_c%C3%A1o_.pdf"
    )


def test_tenant_bounds_on_points_have_defaults_and_settings() -> None:
    default = TenantRules.from_config({}, 20)
    assert (
        default.max_quantity_per_task,
        default.max_points_per_task,
        default.max_points_per_person_month,
    ) == (Decimal(1000), Decimal(200), Decimal(1000))
    assert default.evidence_exempt_items == frozenset()
    rules = TenantRules.from_config(
        {
            "tasks": {
                "max_points_per_task": "12.5",
                "max_points_per_person_month": 300,
                "evidence_exempt_items": ["VP-VT-01"],
            }
        },
        20,
    )
    assert rules.max_points_per_task == Decimal("12.5")
    assert rules.max_points_per_person_month == Decimal(300)
    assert rules.evidence_exempt_items == frozenset({"VP-VT-01"})
