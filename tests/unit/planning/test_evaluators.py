"""Who evaluates whom on a small ward (evaluators.py, 001 §II.3)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.planning.evaluators import (
    BASIS_MTTQ_DEPUTY,
    BASIS_OWN_HEAD,
    BASIS_PARTY_SECRETARY,
    BASIS_SELF,
    BASIS_VACANT,
    EvaluatorEdge,
    EvaluatorOverride,
    OrgUnit,
    Role,
    UnitMembership,
    UnitType,
    as_policy_data,
    decider_of,
    derive_evaluator_edges,
)

BTV_TU = "Ban Thường vụ Thành ủy"
TT_TU = "Thường trực Thành ủy"
BTV_DU_UBND = "Ban Thường vụ Đảng ủy UBND Thành phố"
Y = date(2026, 1, 1)
MARCH = date(2026, 3, 1)
SEPTEMBER = date(2026, 9, 1)

UNITS = (
    OrgUnit("PL", "committee", "ward"),
    OrgUnit("DU", "party", "party_committee", "PL", head_evaluated_by=BTV_TU),
    OrgUnit("DU-VP", "party", "party_advisory", "DU"),
    OrgUnit("HDND", "council", "council", "PL"),
    OrgUnit("UBND", "committee", "people_committee", "PL", head_evaluated_by=BTV_DU_UBND),
    OrgUnit("UBND-VP", "committee", "office", "UBND"),
    OrgUnit("UBND-KT", "committee", "office", "UBND"),
    OrgUnit("THCS", "public_service", "school", "UBND"),
    OrgUnit("MTTQ", "front", "fatherland_front", "PL"),
    OrgUnit("HPN", "front", "mass_org", "MTTQ"),
)


def m(
    person: str, unit: str, role: str, start: date = Y, end: date | None = None
) -> UnitMembership:
    return UnitMembership(person, unit, Role(role), start, end)


MEMBERSHIPS = (
    m("BT", "DU", "head"),  # Bí thư …
    m("BT", "HDND", "head"),  # … concurrently Chủ tịch HĐND
    m("PBT", "DU", "deputy"),  # Phó Bí thư thường trực (override)
    m("CT", "UBND", "head"),  # Chủ tịch UBND …
    m("CT", "DU", "deputy"),  # … and Phó Bí thư
    m("PCT", "UBND", "deputy"),
    m("CVP", "UBND-VP", "head"),
    m("NV", "UBND-VP", "staff"),
    m("TPKT", "UBND-KT", "head"),
    m("MOVER", "UBND-KT", "staff", Y, date(2026, 6, 30)),
    m("MOVER", "UBND-VP", "staff", date(2026, 7, 1)),
    m("HT", "THCS", "head"),
    m("GV", "THCS", "staff"),
    m("CTMT", "MTTQ", "head"),
    m("NVMT", "MTTQ", "staff"),
    m("CTPN", "HPN", "head"),
    m("PCTPN", "HPN", "deputy"),
    m("PCTHD", "HDND", "deputy"),
    m("CVPDU", "DU-VP", "head"),
)

OVERRIDES = (
    EvaluatorOverride(
        "PBT",
        external=TT_TU,
        reason="Phó Bí thư thường trực do Thường trực Thành ủy đánh giá (001 §II.3)",
    ),
)


def edges_on(day: date) -> list[EvaluatorEdge]:
    return derive_evaluator_edges(UNITS, MEMBERSHIPS, OVERRIDES, as_of=day)


def evaluators(edges: list[EvaluatorEdge], person: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.unit, e.evaluator_person, e.evaluator_external) for e in edges if e.person == person]


@pytest.mark.parametrize(
    "person,expected",
    [
        ("PCT", [("UBND", "CT", None)]),  # Chủ tịch UBND → Phó Chủ tịch UBND
        ("CVP", [("UBND-VP", "CT", None)]),  # Chủ tịch UBND → heads of UBND offices
        ("NV", [("UBND-VP", "CVP", None)]),  # office head → staff
        ("HT", [("THCS", "CT", None)]),  # Chủ tịch UBND → school principal
        ("GV", [("THCS", "HT", None)]),  # principal → teacher
        ("CTMT", [("MTTQ", "BT", None)]),  # Bí thư → Chủ tịch MTTQ
        ("NVMT", [("MTTQ", "CTMT", None)]),  # Chủ tịch MTTQ → MTTQ staff
        ("CTPN", [("HPN", "BT", None)]),  # Bí thư → head of a mass organisation
        ("PCTPN", [("HPN", "CTMT", None)]),  # Chủ tịch MTTQ → deputy of a mass organisation
        ("PCTHD", [("HDND", "BT", None)]),  # Chủ tịch HĐND → Phó Chủ tịch HĐND
        ("CVPDU", [("DU-VP", "BT", None)]),  # Bí thư → heads of Party advisory bodies
        ("PBT", [("DU", None, TT_TU)]),  # override to an external body
        ("CT", [("UBND", None, BTV_DU_UBND), ("DU", "BT", None)]),
        ("BT", [("DU", None, BTV_TU), ("HDND", None, BTV_TU)]),
    ],
)
def test_ward_relation(person: str, expected: list[tuple[str, str | None, str | None]]) -> None:
    assert evaluators(edges_on(MARCH), person) == expected


def test_bases_name_the_rule() -> None:
    edges = {(e.person, e.unit): e for e in edges_on(MARCH)}
    assert edges["NV", "UBND-VP"].basis == BASIS_OWN_HEAD
    assert edges["PCTPN", "HPN"].basis == BASIS_MTTQ_DEPUTY
    assert edges["CTPN", "HPN"].basis == BASIS_PARTY_SECRETARY
    assert edges["CTMT", "MTTQ"].basis == BASIS_PARTY_SECRETARY
    assert BTV_TU in edges["BT", "DU"].basis
    assert "Thường trực Thành ủy" in edges["PBT", "DU"].basis and edges["PBT", "DU"].overridden
    assert all(e.basis for e in edges.values())


def test_nobody_evaluates_themselves_concurrent_post_escalates() -> None:
    edges = edges_on(MARCH)
    assert all(e.person != e.evaluator_person for e in edges)
    hdnd = next(e for e in edges if e.person == "BT" and e.unit == "HDND")
    assert hdnd.evaluator_external == BTV_TU
    assert BASIS_SELF in hdnd.basis


def test_primary_is_first_current_membership() -> None:
    edges = edges_on(MARCH)
    ct = [(e.unit, e.primary, e.role) for e in edges if e.person == "CT"]
    assert ct == [("UBND", True, Role.HEAD), ("DU", False, Role.DEPUTY)]
    assert sum(e.primary for e in edges) == len({e.person for e in edges})


def test_person_who_moved_mid_year() -> None:
    assert evaluators(edges_on(MARCH), "MOVER") == [("UBND-KT", "TPKT", None)]
    assert evaluators(edges_on(SEPTEMBER), "MOVER") == [("UBND-VP", "CVP", None)]
    assert evaluators(edges_on(date(2026, 6, 30)), "MOVER") == [("UBND-KT", "TPKT", None)]
    assert evaluators(edges_on(date(2025, 12, 31)), "MOVER") == []


def test_vacant_head_escalates_to_head_above() -> None:
    memberships = (m("CT", "UBND", "head"), m("NV", "UBND-KT", "staff"))
    [_, edge] = derive_evaluator_edges(UNITS, memberships, as_of=MARCH)
    assert (edge.evaluator_person, edge.basis, edge.unit_head) == ("CT", BASIS_VACANT, None)


def test_unresolved_when_no_rule_applies() -> None:
    units = (OrgUnit("X", "committee", "department"),)
    [edge] = derive_evaluator_edges(units, (m("A", "X", "head"),), as_of=MARCH)
    assert not edge.resolved and "evaluator_overrides" in edge.basis
    assert as_policy_data([edge])["unresolved"] == ["A"]


def test_override_to_a_person_and_per_unit() -> None:
    overrides = (
        EvaluatorOverride("NV", evaluator="PCT", reason="Phó Chủ tịch phụ trách"),
        EvaluatorOverride("CT", evaluator="BT", unit="UBND", reason="thử"),
    )
    edges = derive_evaluator_edges(UNITS, MEMBERSHIPS, overrides, as_of=MARCH)
    assert evaluators(edges, "NV") == [("UBND-VP", "PCT", None)]
    assert evaluators(edges, "CT") == [("UBND", "BT", None), ("DU", "BT", None)]
    assert [e.overridden for e in edges if e.person == "CT"] == [True, False]


def test_override_validation() -> None:
    with pytest.raises(ValueError):
        EvaluatorOverride("A", evaluator="A", reason="x")
    with pytest.raises(ValueError):
        EvaluatorOverride("A", reason="x")
    with pytest.raises(ValueError):
        EvaluatorOverride("A", evaluator="B", external="C", reason="x")


def test_chart_errors() -> None:
    with pytest.raises(ValueError):
        OrgUnit("X", "committee", "kingdom")
    with pytest.raises(ValueError):
        derive_evaluator_edges((OrgUnit("X", "committee", "ward", "NOPE"),), (), as_of=MARCH)
    with pytest.raises(ValueError):
        derive_evaluator_edges(
            (OrgUnit("X", "committee", "ward", "Y"), OrgUnit("Y", "committee", "ward", "X")),
            (),
            as_of=MARCH,
        )
    with pytest.raises(ValueError):
        derive_evaluator_edges(UNITS, (m("A", "NOPE", "staff"),), as_of=MARCH)
    with pytest.raises(ValueError):
        m("A", "PL", "staff", date(2026, 2, 1), date(2026, 1, 1))


def test_unit_types_by_code_not_name() -> None:
    # Same chart, different names: the mass-org rule follows the type.
    renamed = tuple(
        OrgUnit(u.code, u.axis, u.type, u.parent, u.head_evaluated_by, name="Tên khác")
        for u in UNITS
    )
    edges = derive_evaluator_edges(renamed, MEMBERSHIPS, OVERRIDES, as_of=MARCH)
    assert evaluators(edges, "PCTPN") == [("HPN", "CTMT", None)]
    as_office = tuple(
        OrgUnit(u.code, u.axis, UnitType.OFFICE if u.code == "HPN" else u.type, u.parent)
        for u in UNITS
    )
    edges = derive_evaluator_edges(as_office, MEMBERSHIPS, OVERRIDES, as_of=MARCH)
    assert evaluators(edges, "PCTPN") == [("HPN", "CTPN", None)]


def test_decider_of() -> None:
    edges = edges_on(MARCH)

    def who(person: str, unit: str | None = None) -> tuple[str | None, str | None]:
        d = decider_of(person, edges, unit=unit)
        assert d is not None
        return d.decider_person, d.decider_external

    assert who("NV") == ("CVP", None)  # staff: the unit head decides
    assert who("CVP") == ("CT", None)  # head of an office: his evaluator decides
    assert who("BT") == (None, BTV_TU)
    assert who("PBT") == (None, TT_TU)  # external override evaluates and grades
    # 001 §II.3.a "Chủ tịch Ủy ban MTTQ đánh giá, xếp loại … Cấp phó các tổ chức chính trị -
    # xã hội": reviewed and decided by the MTTQ Chairman, not by the mass organisation's head
    assert who("PCTPN") == ("CTMT", None)
    assert who("CT", "DU") == ("BT", None)
    assert who("CT") == (None, BTV_DU_UBND)
    assert decider_of("NOBODY", edges) is None


def test_policy_data_shape() -> None:
    data = as_policy_data(edges_on(MARCH))
    json.dumps(data)  # JSON-ready
    assert set(data) == {
        "evaluator_of",
        "evaluatees_of",
        "unit_heads",
        "unit_members",
        "external",
        "decider_of",
        "decider_external",
        "unresolved",
        "in_charge_of",
        "positions_of",
        "delegations",
    }
    assert data["evaluator_of"]["NV"] == ["CVP"]
    assert data["evaluator_of"]["BT"] == []
    assert data["evaluator_of"]["CT"] == ["BT"]
    assert data["evaluatees_of"]["BT"] == ["CTMT", "CTPN", "PCTHD", "CVPDU", "CT"]
    assert data["evaluatees_of"]["CT"] == ["PCT", "CVP", "TPKT", "HT"]
    assert data["unit_heads"] == {
        "DU": "BT",
        "HDND": "BT",
        "UBND": "CT",
        "UBND-VP": "CVP",
        "UBND-KT": "TPKT",
        "THCS": "HT",
        "MTTQ": "CTMT",
        "HPN": "CTPN",
        "DU-VP": "CVPDU",
    }
    assert data["unit_members"]["DU"] == ["BT", "PBT", "CT"]
    assert data["external"] == {"BT": BTV_TU, "PBT": TT_TU, "CT": BTV_DU_UBND}
    assert data["decider_of"]["PCTPN"] == "CTMT"
    assert data["decider_external"]["PBT"] == TT_TU
    assert data["unresolved"] == []


def test_decider_is_the_evaluator_when_the_evaluator_is_not_the_unit_head() -> None:
    """An override giving a staff member's review to someone other than the unit head gives
    him the decision too (the decider is never below the reviewer)."""
    override = EvaluatorOverride("NV", evaluator="CT", reason="Chủ tịch trực tiếp giao việc")
    edges = derive_evaluator_edges(UNITS, MEMBERSHIPS, (*OVERRIDES, override), as_of=MARCH)
    decided = decider_of("NV", edges)
    assert decided is not None and decided.decider_person == "CT"
    assert decider_of("GV", edges).decider_person == "HT"  # type: ignore[union-attr]


def test_fields_and_positions_reach_the_policy_data() -> None:
    memberships = (
        *MEMBERSHIPS,
        UnitMembership("PCVP", "UBND-VP", Role.DEPUTY, Y, in_charge_of=("VT", "KT")),
        UnitMembership("VT1", "UBND-VP", Role.STAFF, Y, position="VT"),
        UnitMembership("OLD", "UBND-VP", Role.DEPUTY, Y, date(2026, 2, 1), in_charge_of=("VT",)),
    )
    edges = derive_evaluator_edges(UNITS, memberships, OVERRIDES, as_of=MARCH)
    data = as_policy_data(edges, {"UBND-VP": ["NV", "NV"]})
    assert data["in_charge_of"] == {"PCVP": ["VT", "KT"]}  # OLD's post ended in February
    assert data["positions_of"] == {"VT1": ["VT"]}
    assert data["delegations"] == {"UBND-VP": ["NV"]}
    with pytest.raises(ValueError, match="only a deputy"):
        UnitMembership("NV", "UBND-VP", Role.STAFF, Y, in_charge_of=("VT",))
