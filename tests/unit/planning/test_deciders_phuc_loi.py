"""Who decides in phường Phúc Lợi (data/tenants/hanoi/tenant.yaml): the decider is never
below the reviewer (issue 15; 001 §II.3 lists who "đánh giá, xếp loại" — evaluates *and*
grades — whom; 001 §I.6 the head decides)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from services.common.authorizer import superiors
from services.planning import evaluators as ev
from services.planning.tenant_file import TenantFile, load_tenant_file

ROOT = Path(__file__).resolve().parents[3]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
SEEDS = ROOT.parent / "shared" / "seeds"
JUNE = date(2026, 6, 15)


@pytest.fixture(scope="module")
def hanoi() -> TenantFile:
    return load_tenant_file(HANOI)


def _edges(tf: TenantFile, day: date) -> list[ev.EvaluatorEdge]:
    units = [
        ev.OrgUnit(u.code, u.axis, u.type, u.parent, u.head_evaluated_by, u.name) for u in tf.units
    ]
    memberships = [
        ev.UnitMembership(
            p.code,
            m.unit,
            ev.Role(m.role),
            m.start,
            m.end,
            m.title,
            m.position,
            m.in_charge_of or (),
        )
        for p in tf.people
        for m in p.memberships
    ]
    overrides = [
        ev.EvaluatorOverride(o.person, o.evaluator, o.external, o.reason)
        for o in tf.evaluator_overrides
    ]
    return ev.derive_evaluator_edges(units, memberships, overrides, as_of=day)


@pytest.mark.parametrize("day", [date(2026, 3, 1), JUNE, date(2026, 9, 1)])
def test_every_decider_is_the_reviewer_or_above_them(hanoi: TenantFile, day: date) -> None:
    edges = _edges(hanoi, day)
    relation = ev.as_policy_data(edges)
    checked = 0
    for edge in edges:
        decided = ev.decider_of(edge.person, edges, unit=edge.unit)
        assert decided is not None
        if edge.evaluator_external is not None:  # reviewed outside the tenant
            assert decided.decider_external == edge.evaluator_external, edge
            continue
        reviewer = edge.evaluator_person
        assert reviewer is not None, f"{edge.person} has no reviewer"
        allowed = {reviewer, *superiors(relation, reviewer)}
        assert decided.decider_person in allowed, (
            f"{edge.person}@{edge.unit}: reviewed by {reviewer}, decided by "
            f"{decided.decider_person} (not the reviewer nor above)"
        )
        assert decided.decider_person != edge.person
        checked += 1
    assert checked >= 55  # the whole chart, not a sample


def test_deputy_of_a_mass_organisation_is_graded_by_the_mttq_chairman(hanoi: TenantFile) -> None:
    """001 §II.3.a: "Đồng chí Chủ tịch Ủy ban Mặt trận Tổ quốc đánh giá, xếp loại đối với: Cấp
    phó các tổ chức chính trị - xã hội" — P054 (Phó Chủ tịch Hội LHPN) is reviewed and decided
    by P049 (Chủ tịch Ủy ban MTTQ), not by P053 (Chủ tịch Hội LHPN)."""
    (source,) = SEEDS.glob("001_*.txt")
    text = re.sub(r"\s+", " ", source.read_text(encoding="utf-8"))
    assert re.search(
        r"Chủ tịch Ủy ban Mặt trận Tổ quốc đánh giá, xếp loại đối với: Cấp phó các tổ chức "
        r"chính trị - xã hội",
        text,
    ), "001 §II.3.a no longer reads as this test assumes"
    edges = _edges(hanoi, JUNE)
    (edge,) = [e for e in edges if e.person == "P054"]
    assert (edge.unit, edge.evaluator_person, edge.unit_head) == ("PL-HLHPN", "P049", "P053")
    decided = ev.decider_of("P054", edges)
    assert decided is not None and decided.decider_person == "P049"
    assert decided.basis == ev.BASIS_DECIDER_EVALUATOR
    assert ev.as_policy_data(edges)["decider_of"]["P054"] == "P049"
    # the mass organisation's own staff and head are unchanged
    assert ev.decider_of("P053", edges).decider_person == "P001"  # type: ignore[union-attr]


def test_deputies_fields_and_the_delegation_of_hanoi(hanoi: TenantFile) -> None:
    data = ev.as_policy_data(_edges(hanoi, JUNE))
    assert data["in_charge_of"]["P020"] == ["VP-VT", "VP-KT"]
    assert data["in_charge_of"]["P005"] == ["PL-VHXH", "PL-THPL"]
    assert set(data["in_charge_of"]) == {"P005", "P006", "P020", "P027", "P032"}
    assert data["positions_of"]["P022"] == ["VP-VT"]
    (delegation,) = hanoi.delegations
    assert (delegation.unit, delegation.delegate) == ("PL-VHXH", "P027")
