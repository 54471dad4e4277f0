"""Effective roles (issue 9, ``services/common/roles.py``) and the tenant file's
``role_grants:`` section (``docs/tenant-file.md``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.common.auth import Principal
from services.common.errors import InputError
from services.common.roles import effective_roles, resolve
from services.planning.tenant_file import parse_tenant_yaml

ROOT = Path(__file__).resolve().parents[2]
MINI = (ROOT / "tests" / "fixtures" / "tenant_mini.yaml").read_text(encoding="utf-8")
GRANTS = {"admin": frozenset({"tenant_admin"}), "C1": frozenset({"central", "bogus"})}


def test_a_person_has_staff_and_the_grants_never_the_claim() -> None:
    claimed = Principal("mini", "P03", frozenset({"tenant_admin", "central", "service"}))
    assert effective_roles(claimed, GRANTS) == {"staff"}
    admin = Principal("mini", "admin", frozenset())
    assert effective_roles(admin, GRANTS) == {"staff", "tenant_admin"}
    assert effective_roles(Principal("mini", "C1"), GRANTS) == {"staff", "central"}


def test_a_system_subject_keeps_only_its_service_and_system_roles() -> None:
    token = Principal("mini", "system:tasks", frozenset({"service", "tenant_admin", "staff"}))
    assert effective_roles(token, {"system:tasks": frozenset({"central"})}) == {"service"}


def test_the_platform_believes_no_claim_and_grants_central_only() -> None:
    platform = Principal("platform", "C0", frozenset({"central", "tenant_admin"}))
    assert effective_roles(platform, {}) == {"staff"}
    granted = {"C0": frozenset({"central", "tenant_admin"})}
    assert effective_roles(platform, granted) == {"staff", "central"}


class Counting:
    def __init__(self) -> None:
        self.asked: list[tuple[str, date]] = []

    def grants(self, tenant: str, day: date) -> dict[str, frozenset[str]]:
        self.asked.append((tenant, day))
        return GRANTS


def test_resolve_asks_the_source_for_people_only() -> None:
    source, day = Counting(), date(2026, 6, 1)
    assert resolve(Principal("mini", "admin"), source, day).roles == {"staff", "tenant_admin"}
    assert resolve(Principal("mini", "system:x", frozenset({"system"})), source, day).roles == {
        "system"
    }
    assert source.asked == [("mini", day)]


def _with(grants: str) -> str:
    return MINI.replace("role_grants:\n", "role_grants:\n" + grants)


def test_the_fixture_grants_are_read() -> None:
    tenant = parse_tenant_yaml(MINI, "mini.yaml")
    assert {(g.subject, g.role) for g in tenant.role_grants} == {
        ("admin", "tenant_admin"),
        ("A1", "tenant_admin"),
        ("C1", "central"),
    }


@pytest.mark.parametrize(
    ("grant", "field", "reason"),
    [
        ("  - {subject: P03, role: owner}\n", "role_grants[0].role", "Input should be"),
        (
            "  - {subject: P03, role: central, body: Ban Thường vụ}\n",
            "role_grants[0].body",
            "only an external_body grant names a body",
        ),
        (
            "  - {subject: P03, role: central, start: 2026-07-01, end: 2026-06-01}\n",
            "role_grants[0].end",
            "is before start",
        ),
        ("  - {subject: 'P 03', role: central}\n", "role_grants[0].subject", "should match"),
        (  # the fixture's later A1 grant is the second one, pointing back at this line
            "  - {subject: A1, role: tenant_admin, start: 2026-01-01}\n",
            "role_grants[2].role",
            "twice over overlapping dates (see line 54)",
        ),
    ],
)
def test_a_bad_grant_names_file_line_column_and_field(grant: str, field: str, reason: str) -> None:
    text = _with(grant)
    lines = text.splitlines()
    at = "  - {subject: A1, role: tenant_admin}" if field.startswith("role_grants[2]") else grant
    line = lines.index(at.rstrip("\n")) + 1
    with pytest.raises(InputError) as caught:
        parse_tenant_yaml(text, "mini.yaml")
    error = caught.value
    assert (error.source, error.field) == ("mini.yaml", field), error
    assert error.line == line and error.column is not None and error.column > 1
    assert reason in error.reason
