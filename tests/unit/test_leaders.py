"""Leaders' d, đ, e (001 §III.3): d from the subordinates' scores, đ and e proposed from the
plan and conflict reports, and the factors that count once the authority confirms; checked
against the golden leader case (leader_subordinate_failed)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from services.evaluation import leaders
from services.evaluation.scoring import LeaderFactors, TaskRecord, score_month

GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "golden" / "scoring"


def test_d_is_met_only_when_every_evaluated_subordinate_has_50_points() -> None:
    met, reason = leaders.factor_d({"A": Decimal("50.0"), "B": Decimal("88.1"), "C": None})
    assert met and "2 CBCCVC" in reason
    met, reason = leaders.factor_d({"A": Decimal("49.9"), "B": Decimal("88.1")})
    assert not met and "A" in reason and "50%" in reason


def test_dd_is_not_met_when_a_counted_objective_is_off_track() -> None:
    on_track = leaders.ObjectiveStanding("O1", "citizens", colour="green")
    late = leaders.ObjectiveStanding("O2", "finance", colour="red")
    late_breakthrough = leaders.ObjectiveStanding("O3", "process", breakthrough=True, colour="red")
    assert leaders.propose_dd([on_track, late_breakthrough])[0] is True
    met, reason = leaders.propose_dd([on_track, late])
    assert not met and "O2" in reason
    met, reason = leaders.propose_dd(None)
    assert met and "chưa có dữ liệu" in reason


def test_e_follows_the_conflict_reports() -> None:
    assert leaders.propose_e([])[0] is True
    assert leaders.propose_e(["  "])[0] is True
    met, reason = leaders.propose_e(["Phản ánh mất đoàn kết tổ 2"])
    assert not met and "1 phản ánh" in reason


def test_confirmed_factors_override_the_proposal_and_staff_have_none() -> None:
    proposal = leaders.propose({"A": Decimal(40)}, None, []).as_json()
    assert (proposal["d"], proposal["dd"], proposal["e"]) == (False, True, True)
    assert leaders.factors_of(None) is None
    assert leaders.factors_of({"proposed": proposal, "confirmed": None}) == LeaderFactors(
        False, True, True
    )
    confirmed = {"proposed": proposal, "confirmed": {"dd": False, "e": True}}
    assert leaders.factors_of(confirmed) == LeaderFactors(False, False, True)


def test_golden_leader_case_scores_with_the_proposed_factors() -> None:
    case = json.loads((GOLDEN / "leader_subordinate_failed.json").read_text("utf-8"))
    wanted = case["leader_factors"]
    subordinates = {"S1": Decimal(80), "S2": Decimal(45)}  # one below 50 → d = 50%
    proposal = leaders.propose(subordinates, None, [])
    factors = leaders.factors_of(
        {
            "proposed": proposal.as_json(),
            "confirmed": {"dd": wanted["unit_on_plan"], "e": wanted["unit_united"]},
        }
    )
    assert factors == LeaderFactors(**wanted)
    result = score_month(
        [TaskRecord(**t) for t in case["tasks"]],
        general_score=case["general_score"],
        working_days=case["working_days"],
        days_worked=case["days_worked"],
        leader=factors,
    )
    assert result.score == Decimal(str(case["expect"]["score"]))
    assert result.grade is not None and result.grade.value == case["expect"]["grade"]
    assert result.d == Fraction(1, 2)


def test_objective_standing_reads_planning_detail() -> None:
    standing = leaders.ObjectiveStanding.of(
        {
            "code": "O1",
            "perspective": "citizens",
            "breakthrough": False,
            "progress": "0.7500",
            "status_colour": "amber",
            "weight": "40",
        }
    )
    assert standing.progress == Fraction(3, 4) and standing.weight == 40
    assert standing.colour == "amber"
    assert leaders.ObjectiveStanding.of({"code": "O2"}).weight == 1
