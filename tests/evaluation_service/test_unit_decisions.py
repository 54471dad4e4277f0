"""Unit-level use cases on SQLite and PostgreSQL (``conftest.session``): the authority decides
a whole unit with the excellence quota across the unit and groups with similar work (golden
quota cases, 001 §II.2.5), leaders' d, đ, e (001 §III.3), late data (refresh of the ledger)
and the collective evaluation of a quarter (004 Part B §I)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evaluation import service, unit_service
from services.evaluation.collective import UnplannedWork
from services.evaluation.leaders import ObjectiveStanding
from services.evaluation.models import CollectiveEvaluation, Evaluation, UnitDecision, outbox
from services.evaluation.scoring import Grade, LeaderFactors, TaskRecord, grade_for, score_month

GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "golden" / "quota"
TENANT, PERIOD, UNIT = "mini", "2026-06", "U1"


def ledger_for(score: Decimal | float | str) -> list[dict[str, Any]]:
    """A ledger scoring exactly ``score`` with general 30: a = b = c = (score − 30) / 70,
    i.e. (10·score − 300) of 700 points completed without deduction."""
    done = int(Decimal(str(score)) * 10) - 300
    lines = [{"points": done, "completed": True}]
    if done < 700:
        lines.append({"points": 700 - done, "completed": False})
    return lines


def reviewed(
    session: Session, person: str, score: Any, unit: str = UNIT, period: str = PERIOD
) -> None:
    service.open_evaluation(session, TENANT, person, unit, period, ledger_for(score), None)
    service.review(session, TENANT, person, period, 30, None, actor="M")


def month(session: Session, person: str) -> Evaluation:
    ev = session.execute(
        select(Evaluation).where(Evaluation.person == person, Evaluation.period == PERIOD)
    ).scalar_one()
    return ev


def outbox_types(session: Session) -> list[str]:
    return list(session.execute(select(outbox.c.type).order_by(outbox.c.seq)).scalars())


@pytest.mark.parametrize(
    "case", ["quota_20pct_of_b", "quota_25pct_outstanding_unit", "quota_no_b_no_a"]
)
def test_decide_unit_applies_the_golden_quota(session: Session, case: str) -> None:
    golden = json.loads((GOLDEN / f"{case}.json").read_text("utf-8"))
    for person, score in golden["scores"].items():
        reviewed(session, person, score)
    ratio = str(golden["ratio"])
    reason = "Đơn vị hoàn thành vượt kế hoạch quý" if Fraction(ratio) > Fraction(1, 5) else None
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation={}, ratio=ratio, reason=reason
    )
    assert result["final"] == golden["expect"]
    assert result["decided"] == sorted(golden["scores"])
    for person, score in golden["scores"].items():
        ev = month(session, person)
        assert (ev.status, ev.score, ev.final_grade) == (
            "decided",
            Decimal(str(score)),
            golden["expect"][person],
        )
    demoted = sorted(p for p, g in golden["expect"].items() if g != month(session, p).grade)
    assert sorted(result["demoted"]) == demoted and demoted
    for person in demoted:
        actions = [h.action for h in service.history(session, person, PERIOD)]
        assert actions[-2:] == ["decided", "quota_applied"]
        last = service.history(session, person, PERIOD)[-1]
        assert (last.before["final_grade"], last.after["final_grade"]) == ("A", "B")
    row = session.execute(select(UnitDecision)).scalar_one()
    assert (row.ratio, row.reason, row.decided_by) == (str(Fraction(ratio)), reason, "H")
    assert outbox_types(session)[-1] == "vn.woms.evaluation.unit.decided.v1"


def test_a_ratio_above_20_percent_needs_a_reason_and_25_is_the_cap(session: Session) -> None:
    reviewed(session, "P1", 95)
    with pytest.raises(service.EvaluationError) as refused:
        unit_service.decide_unit(session, TENANT, UNIT, PERIOD, "H", relation={}, ratio="0.25")
    assert refused.value.field == "reason"
    with pytest.raises(service.EvaluationError) as capped:
        unit_service.decide_unit(
            session, TENANT, UNIT, PERIOD, "H", relation={}, ratio="0.3", reason="x"
        )
    assert capped.value.field == "ratio"
    assert month(session, "P1").status == "reviewed"  # nothing decided


def test_quota_in_a_group_with_similar_work(session: Session) -> None:
    scores = {"G1": 95, "G2": 80, "G3": 78, "O1": 93, "O2": 85, "O3": 84, "O4": 83, "O5": 82}
    scores |= {"O6": 81, "O7": 75}
    for person, score in scores.items():
        reviewed(session, person, score)
    reviewed(session, "N1", 80)
    service.record_not_evaluated(session, TENANT, "N1", UNIT, PERIOD, None, "nghỉ dài ngày")
    with pytest.raises(service.EvaluationError) as stranger:
        unit_service.decide_unit(
            session, TENANT, UNIT, PERIOD, "H", relation={}, groups={"kế toán": ["G1", "Z9"]}
        )
    assert stranger.value.field == "groups"
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation={}, groups={"kế toán": ["G1", "G2", "G3"]}
    )
    # unit: 2 A for 8 B → 1.6 allowed → O1 (lower) moves; group: 1 A for 2 B → G1 moves
    assert result["demoted"] == {"G1": "group:kế toán", "O1": "unit"}
    assert result["not_ready"] == ["N1"]
    assert all(g == "B" for p, g in result["final"].items())


def test_head_factors_d_dd_e_at_decision(session: Session) -> None:
    relation = {"unit_heads": {UNIT: "H"}, "evaluatees_of": {"H": ["S1", "S2"]}}
    reviewed(session, "S1", 85)
    reviewed(session, "S2", "45.5")  # grade D: d = 50%
    reviewed(session, "H", 90)
    plan = {UNIT: [ObjectiveStanding("O1", "citizens", colour="green")]}
    unit_service.decide_unit(
        session,
        TENANT,
        UNIT,
        PERIOD,
        "CT",
        relation=relation,
        objectives_of=plan,
        conflict_reports={"H": ["Phản ánh mất đoàn kết tổ 1"]},
    )
    head = month(session, "H")
    tasks = [TaskRecord(**line) for line in ledger_for(90)]
    expected = score_month(
        tasks,
        general_score=30,
        working_days=1,
        days_worked=1,
        leader=LeaderFactors(False, True, False),
    )
    assert head.score == expected.score and "leader_factors_unconfirmed" in head.flags
    assert head.leader_factors["proposed"]["d"] is False
    assert "S2" in head.leader_factors["proposed"]["reasons"]["d"]

    with pytest.raises(service.EvaluationError) as no_reason:
        unit_service.confirm_leader_factors(
            session, TENANT, "H", PERIOD, unit_on_plan=True, unit_united=True, actor="CT"
        )
    assert no_reason.value.field == "reason"
    unit_service.confirm_leader_factors(
        session,
        TENANT,
        "H",
        PERIOD,
        unit_on_plan=True,
        unit_united=True,
        actor="CT",
        reason="Phản ánh đã được giải quyết trong tháng",
    )
    unit_service.decide_unit(session, TENANT, UNIT, PERIOD, "CT", relation=relation)
    head = month(session, "H")
    again = score_month(
        tasks,
        general_score=30,
        working_days=1,
        days_worked=1,
        leader=LeaderFactors(False, True, True),
    )
    assert head.score == again.score > expected.score
    assert "leader_factors_unconfirmed" not in head.flags
    actions = [h.action for h in service.history(session, "H", PERIOD)]
    assert "leader_factors_proposed" in actions and "leader_factors_confirmed" in actions


def test_confirm_without_a_proposal_is_refused(session: Session) -> None:
    reviewed(session, "H", 90)
    with pytest.raises(service.EvaluationError) as refused:
        unit_service.confirm_leader_factors(
            session, TENANT, "H", PERIOD, unit_on_plan=True, unit_united=True, actor="CT"
        )
    assert refused.value.status == 409


def test_late_data_updates_the_suggestion_until_publication(session: Session) -> None:
    first = ledger_for(80)
    service.open_evaluation(session, TENANT, "A", UNIT, PERIOD, first, None)
    service.self_assess(session, TENANT, "A", PERIOD, 28, actor="A")
    approved = [{**first[0]}, {**first[1], "completed": True}]  # approved after the 25th
    out = service.refresh_ledger(session, TENANT, "A", PERIOD, approved)
    assert out["outcome"] == "refreshed"
    assert (out["evaluation"]["suggested_score"], out["evaluation"]["status"]) == (
        "100",
        "self_assessed",
    )
    assert service.refresh_ledger(session, TENANT, "A", PERIOD, approved)["outcome"] == "unchanged"
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H", general=28)
    assert decided["score"] == "98"  # the authority's 28 + 70: the late task counted
    service.publish(session, TENANT, "A", PERIOD, None)
    refused = service.refresh_ledger(session, TENANT, "A", PERIOD, first)
    assert refused["outcome"] == "refused"
    ev = month(session, "A")
    assert (ev.score, ev.status) == (Decimal(98), "published")
    assert "late_data_after_publication" in ev.flags
    actions = [h.action for h in service.history(session, "A", PERIOD)]
    assert actions.count("ledger_refreshed") == 1 and actions[-1] == "late_data_refused"


def test_collective_evaluation_of_a_quarter_links_the_head(session: Session) -> None:
    for period, score in (("2026-04", 92), ("2026-05", 88), ("2026-06", 90)):
        reviewed(session, "H", score, period=period)
        service.decide(session, TENANT, "H", period, actor="CT")
    objectives = [
        ObjectiveStanding("C1", "citizens", progress=Fraction(9, 10)),
        ObjectiveStanding("C2", "citizens", breakthrough=True, progress=Fraction(1, 10)),
        ObjectiveStanding("F1", "finance", progress=Fraction(7, 10)),
    ]
    work = [UnplannedWork("Ứng phó bão số 3", "citizens", "hoàn thành")]
    out = unit_service.record_collective(
        session,
        TENANT,
        UNIT,
        "2026-Q2",
        objectives=objectives,
        unplanned=work,
        head="H",
        actor="CT",
    )
    assert out["perspectives"]["citizens"]["completion"] == "90.0"
    assert out["perspectives"]["citizens"]["excluded"] == ["C2"]
    assert out["completion"] == "80.0" and out["proposed_level"] == "B"
    assert out["head_result"] == {
        "person": "H",
        "average": "90.0",
        "grade": "A",
        "months_evaluated": 3,
        "months_total": 3,
        "above_collective": True,
    }
    again = unit_service.record_collective(
        session, TENANT, UNIT, "2026-Q2", objectives=objectives, head="H", level="A", actor="CT"
    )
    assert again["level"] == "A" and again["head_result"]["above_collective"] is False
    row = session.execute(select(CollectiveEvaluation)).scalar_one()
    assert (row.level, row.completion, row.unplanned) == ("A", Decimal("80.0"), [])
    assert outbox_types(session)[-1] == "vn.woms.evaluation.collective.recorded.v1"
    with pytest.raises(service.EvaluationError) as bad:
        unit_service.record_collective(session, TENANT, UNIT, "2026-06", objectives=[], actor="CT")
    assert bad.value.field == "period"
    with pytest.raises(service.EvaluationError) as level:
        unit_service.record_collective(
            session, TENANT, UNIT, "2026", objectives=[], level="E", actor="CT"
        )
    assert level.value.field == "level"


def test_decide_unit_takes_late_data_first(session: Session) -> None:
    reviewed(session, "A", 80)
    reviewed(session, "B", 75)
    late = {"A": ledger_for(95), "B": ledger_for(75)}  # A's last task approved on the 27th
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation={}, ledger_of=late.__getitem__
    )
    assert result["final"] == {"A": "B", "B": "B"}  # 95 → A, then the quota (1 B) → B
    assert month(session, "A").score == Decimal(95)
    actions = [h.action for h in service.history(session, "A", PERIOD)]
    assert actions[-4:] == ["reviewed", "ledger_refreshed", "decided", "quota_applied"]
    assert "ledger_refreshed" not in [h.action for h in service.history(session, "B", PERIOD)]


def test_decide_unit_never_decides_the_actor_and_keeps_to_only(session: Session) -> None:
    for person, score in (("H", 95), ("A", 80), ("B", 75)):
        reviewed(session, person, score)
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation={}, only={"A", "H"}
    )
    assert result["decided"] == ["A"] and result["not_ready"] == []
    assert (month(session, "H").status, month(session, "B").status) == ("reviewed", "reviewed")


@given(
    st.dictionaries(
        st.sampled_from([f"p{i:02d}" for i in range(14)]),
        st.tuples(st.integers(400, 1000), st.integers(0, 2)),
        min_size=1,
    ),
    st.sampled_from([Fraction(1, 5), Fraction(1, 4), Fraction(0)]),
)
def test_quota_with_groups_holds_in_every_scope(
    people: dict[str, tuple[int, int]], ratio: Fraction
) -> None:
    """Property: after the quota every scope (unit, each group) has A ≤ ratio × B; only A
    became B; and everyone demoted scored no more than every A kept in their scope."""
    grades = {p: (Decimal(t) / 10, grade_for(Decimal(t) / 10)) for p, (t, _) in people.items()}
    groups = {f"g{g}": [p for p, (_, n) in people.items() if n == g] for g in (1, 2)}
    final, by = unit_service.quota_with_groups(grades, ratio, groups)
    scopes = {"unit": list(grades), **{f"group:{g}": m for g, m in groups.items()}}
    for members in scopes.values():
        kept = [final[p] for p in members]
        assert kept.count(Grade.A) <= ratio * kept.count(Grade.B)
    for person, grade in final.items():
        assert grade is grades[person][1] or (grades[person][1], grade) == (Grade.A, Grade.B)
        assert (grade is not grades[person][1]) == (person in by)
    for person, scope in by.items():
        kept_a = [grades[p][0] for p in scopes[scope] if final[p] is Grade.A]
        assert all(grades[person][0] <= score for score in kept_a)
