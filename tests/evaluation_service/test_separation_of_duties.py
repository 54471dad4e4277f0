"""Issue 15, separation of duties, on evaluation's use cases (real database, both backends).

Expected values come from the rules, not from the code under test:

* ``001 §II.1``: the general criteria count the *manager's* points; a month nobody reviewed is
  decided only once the authority enters them (never the person's own points, never 30).
* 002's worked example: task result (104 + 97 + 104) / (3 × 132) = 305/396, × 70 = 53.91…;
  with general points g the score is g + 53.9 rounded half-up to 0.1 (g = 26 → 79.9, B).
* ``001 §II.2.5``: at most 20 % as many A as B; the system proposes who keeps A by score and
  the authority may choose differently among the candidates, with a reason, within the quota.
* ``001 §IV.1`` steps 2–4: a unit is decided once each month is reviewed or past its review
  deadline (the cycle's flag ``review_escalated``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.evaluation import repository as repo
from services.evaluation import service, unit_service
from services.evaluation.service import EvaluationError

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads(
    (ROOT.parent / "shared" / "golden" / "scoring" / "seed002_nguyen_van_a.json").read_text()
)
TENANT, PERIOD, UNIT = "mini", "2026-06", "U1"
#: One completed task, on time, no failed review: a = b = c = 100 %, score = general + 70.
PERFECT = [{"points": 10, "completed": True, "group": "regular"}]
RELATION: dict[str, Any] = {"unit_heads": {UNIT: "H"}, "evaluatees_of": {}}


def _open(session: Session, person: str, ledger: list[dict[str, Any]] | None = None) -> None:
    tasks = SEED["tasks"] if ledger is None else ledger
    service.open_evaluation(session, TENANT, person, UNIT, PERIOD, tasks, None)


def _flag(session: Session, person: str, *flags: str) -> None:
    """What the cycle leaves on a month whose review deadline passed (``review_escalated``)."""
    ev = repo.evaluation_of(session, person, PERIOD)
    assert ev is not None
    ev.flags = [*ev.flags, *flags]
    session.flush()


# --- 3. the general criteria are the manager's ---------------------------------------------


def test_a_month_nobody_reviewed_is_not_decided_at_the_maximum(session: Session) -> None:
    _open(session, "A")
    with pytest.raises(EvaluationError) as refused:
        service.decide(session, TENANT, "A", PERIOD, actor="H")
    assert (refused.value.field, refused.value.status) == ("general", 409)
    assert "general" in refused.value.reason and " / " in refused.value.reason  # vi / en
    ev = repo.evaluation_of(session, "A", PERIOD)
    assert ev is not None and ev.status == "opened" and ev.score is None


def test_the_persons_own_points_do_not_stand_in_for_the_managers(session: Session) -> None:
    _open(session, "A")
    service.self_assess(session, TENANT, "A", PERIOD, 30, actor="A")
    with pytest.raises(EvaluationError) as refused:
        service.decide(session, TENANT, "A", PERIOD, actor="H")
    assert (refused.value.field, refused.value.status) == ("general", 409)


def test_the_authority_enters_the_general_points_of_a_month_nobody_reviewed(
    session: Session,
) -> None:
    _open(session, "A")
    service.apply_fallback(session, TENANT, "A", PERIOD, None)
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H", general=26)
    assert Decimal(decided["score"]) == Decimal("79.9") and decided["grade"] == "B"  # 26 + 53.9
    assert decided["review_general"] == "26"
    assert "general_by_authority" in decided["flags"]
    assert decided["decision"]["general_entered"] is True and decided["decision"]["by"] == "H"
    assert not {"general_defaulted", "general_from_self_assessment"} & set(decided["flags"])


def test_the_reviewers_points_stand_against_the_authority(session: Session) -> None:
    _open(session, "A")
    service.review(session, TENANT, "A", PERIOD, 25, "Tốt", actor="M")
    with pytest.raises(EvaluationError) as refused:
        service.decide(session, TENANT, "A", PERIOD, actor="H", general=30)
    assert (refused.value.field, refused.value.status) == ("general", 409)
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H")
    assert Decimal(decided["score"]) == Decimal("78.9")  # 25 + 53.9: the reviewer's points


def test_a_month_without_tasks_is_decided_without_general_points(session: Session) -> None:
    _open(session, "N", ledger=[])
    decided = service.decide(session, TENANT, "N", PERIOD, actor="H")
    assert decided["score"] is None and "no_tasks" in decided["flags"]


def test_a_missed_decision_without_review_is_flagged_for_the_authority(session: Session) -> None:
    _open(session, "A")
    service.apply_fallback(session, TENANT, "A", PERIOD, None)
    relation = {"decider_of": {"A": "H"}, "evaluator_of": {"H": ["B"]}}
    service.escalate(session, TENANT, "A", PERIOD, "review", relation, None)
    ev = repo.evaluation_of(session, "A", PERIOD)
    assert ev is not None and ev.review_general is None  # the review's fallback invents nothing
    assert "general_missing" not in ev.flags
    service.escalate(session, TENANT, "A", PERIOD, "decision", relation, None)
    assert {"decision_escalated", "general_missing"} <= set(ev.flags)
    assert ev.status == "self_assessed"  # left for the authority: nothing published
    with pytest.raises(EvaluationError):
        service.publish(session, TENANT, "A", PERIOD, None)
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H", general=26)
    assert "general_missing" not in decided["flags"]


# --- 4. a changed grade needs a written reason ---------------------------------------------


def test_changing_the_proposed_grade_needs_a_reason(session: Session) -> None:
    _open(session, "A")
    service.review(session, TENANT, "A", PERIOD, 30, None, actor="M")  # 83.9 → B proposed
    for reason in (None, "   "):
        with pytest.raises(EvaluationError) as refused:
            service.decide(session, TENANT, "A", PERIOD, actor="H", grade="A", reason=reason)
        assert (refused.value.field, refused.value.status) == ("reason", 422)
    ev = repo.evaluation_of(session, "A", PERIOD)
    assert ev is not None and ev.status == "reviewed" and ev.grade is None


def test_a_changed_grade_is_recorded_with_its_reason_in_the_history(
    session: Session,
) -> None:
    _open(session, "A")
    service.review(session, TENANT, "A", PERIOD, 30, None, actor="M")
    why = "Có sáng kiến được Thành ủy công nhận"
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H", grade="A", reason=why)
    assert (decided["score"], decided["grade"], decided["final_grade"]) == ("83.9", "A", "A")
    assert decided["decision"] == {
        "by": "H",
        "general_entered": False,
        "proposed_grade": "B",
        "grade": "A",
        "reason": why,
    }
    assert "grade_changed_by_authority" in decided["flags"]
    last = service.history(session, "A", PERIOD)[-1]
    assert last.action == "decided" and last.after["decision"]["reason"] == why


def test_the_proposed_grade_needs_no_reason(session: Session) -> None:
    _open(session, "A")
    service.review(session, TENANT, "A", PERIOD, 30, None, actor="M")
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H", grade="B")
    assert decided["grade"] == "B" and decided["decision"]["reason"] is None
    assert "grade_changed_by_authority" not in decided["flags"]


# --- 5. a unit is decided once every month is ready -----------------------------------------


def _unit(session: Session) -> None:
    """U1: R reviewed; F fell back, review deadline passed; O still opened; the head H."""
    for person in ("F", "H", "O", "R"):
        _open(session, person)
    service.review(session, TENANT, "R", PERIOD, 28, None, actor="H")
    service.apply_fallback(session, TENANT, "F", PERIOD, None)
    _flag(session, "F", "review_escalated")


def test_a_unit_with_a_month_neither_reviewed_nor_past_its_deadline_is_not_decided(
    session: Session,
) -> None:
    _unit(session)
    service.self_assess(session, TENANT, "O", PERIOD, 27, actor="O")  # self-assessed only
    with pytest.raises(EvaluationError) as refused:
        unit_service.decide_unit(
            session, TENANT, UNIT, PERIOD, "H", relation=RELATION, general_of={"F": 25}
        )
    assert (refused.value.field, refused.value.status) == ("not_ready", 409)
    assert "O (review)" in refused.value.reason and "F" not in refused.value.reason.split("/")[0]
    assert [ev.status for ev in repo.evaluations_of_unit(session, UNIT, PERIOD)] == [
        "self_assessed",
        "opened",
        "self_assessed",
        "reviewed",
    ]  # nothing decided


def test_a_unit_waits_for_the_general_points_of_those_nobody_reviewed(session: Session) -> None:
    _unit(session)
    service.review(session, TENANT, "O", PERIOD, 27, None, actor="H")
    with pytest.raises(EvaluationError) as refused:
        unit_service.decide_unit(session, TENANT, UNIT, PERIOD, "H", relation=RELATION)
    assert (refused.value.field, refused.value.status) == ("general", 409)
    assert "F" in refused.value.reason and "R" not in refused.value.reason.split(":")[1]
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation=RELATION, general_of={"F": 26}
    )
    assert result["decided"] == ["F", "O", "R"]  # never the head's own month
    f = repo.evaluation_of(session, "F", PERIOD)
    assert f is not None and f.score == Decimal("79.9")  # 26 + 53.9


def test_the_quota_endpoint_use_case_also_waits_for_the_unit(session: Session) -> None:
    _unit(session)
    with pytest.raises(EvaluationError) as refused:
        unit_service.apply_quota(session, TENANT, UNIT, PERIOD, "0.2", "H")
    assert (refused.value.field, refused.value.status) == ("not_ready", 409)
    assert "O (self_assessment)" in refused.value.reason


# --- 6. the authority's choice of who keeps A ------------------------------------------------


def _graded(session: Session) -> None:
    """Eight reviewed months, every task done on time (score = general + 70): A1 95, A2 92,
    A3 91 (A) and B1–B5 85 (B); 20 % of 5 B's keeps one A (``001 §II.2.5``)."""
    points = {"A1": 25, "A2": 22, "A3": 21, "B1": 15, "B2": 15, "B3": 15, "B4": 15, "B5": 15}
    for person, general in points.items():
        _open(session, person, ledger=PERFECT)
        service.review(session, TENANT, person, PERIOD, general, None, actor="H")


def test_the_system_proposes_the_highest_score_to_keep_a(session: Session) -> None:
    _graded(session)
    result = unit_service.decide_unit(session, TENANT, UNIT, PERIOD, "H", relation=RELATION)
    assert result["proposed_a"] == ["A1"]  # 8 people: 3 A, 5 B → A ≤ 1 (20 % of 5 B's)
    assert {p: g for p, g in result["final"].items() if g == "A"} == {"A1": "A"}


def test_the_authority_chooses_another_candidate_with_a_reason(session: Session) -> None:
    _graded(session)
    why = "A3 chủ trì nhiệm vụ đột xuất của Thành ủy"
    result = unit_service.decide_unit(
        session, TENANT, UNIT, PERIOD, "H", relation=RELATION, keep_a=["A3"], keep_a_reason=why
    )
    assert {p for p, g in result["final"].items() if g == "A"} == {"A3"}
    assert result["final"]["A1"] == "B" and result["demoted"]["A1"] == "authority"
    assert result["proposed_a"] == ["A1"] and result["keep_a_reason"] == why
    a1 = service.history(session, "A1", PERIOD)[-1]
    assert a1.action == "quota_applied" and a1.after["final_grade"] == "B"


@pytest.mark.parametrize(
    ("keep_a", "reason", "field"),
    [
        (["A3"], None, "keep_a_reason"),  # a different choice without a reason
        (["B1"], "x", "keep_a"),  # not a candidate
        (["A1", "A2"], "x", "keep_a"),  # over the quota (1 A for 5 B's)
        (["A1", "A1"], "x", "keep_a"),  # the same person twice
    ],
)
def test_a_choice_outside_the_rules_is_refused(
    session: Session, keep_a: list[str], reason: str | None, field: str
) -> None:
    _graded(session)
    with pytest.raises(EvaluationError) as refused:
        unit_service.decide_unit(
            session,
            TENANT,
            UNIT,
            PERIOD,
            "H",
            relation=RELATION,
            keep_a=keep_a,
            keep_a_reason=reason,
        )
    assert (refused.value.field, refused.value.status) == (field, 422)


def test_the_authority_never_chooses_its_own_grade(session: Session) -> None:
    """A1 decides the unit's quota while its own month (95, A) is among the decided ones:
    the system proposes A1 (highest score); A1 may not give the A to itself against the
    proposal nor away from itself to change its own result (``DOMAIN.md §7``)."""
    _graded(session)
    for person in ("A1", "A2", "A3", "B1", "B2", "B3", "B4", "B5"):
        service.decide(session, TENANT, person, PERIOD, actor="H")
    with pytest.raises(EvaluationError) as refused:
        unit_service.apply_quota(
            session, TENANT, UNIT, PERIOD, "0.2", "A1", keep_a=["A2"], reason="x"
        )
    assert (refused.value.field, refused.value.status) == ("keep_a", 422)
    assert "nobody chooses their own grade" in refused.value.reason
    final = unit_service.apply_quota(
        session, TENANT, UNIT, PERIOD, "0.2", "H", keep_a=["A2"], reason="x"
    )
    assert {p for p, g in final.items() if g == "A"} == {"A2"}


def test_the_authority_does_not_take_the_review_from_the_evaluator(session: Session) -> None:
    """D decides A's month but M reviews it (``001 §II.3``): D enters the general points only
    once the review deadline passed; the evaluator M deciding may enter them at once."""
    relation = {"evaluator_of": {"A": ["M"]}, "decider_of": {"A": "D"}}
    _open(session, "A")
    with pytest.raises(EvaluationError) as refused:
        service.decide(session, TENANT, "A", PERIOD, actor="D", general=26, relation=relation)
    assert (refused.value.field, refused.value.status) == ("general", 409)
    _flag(session, "A", "review_escalated")
    decided = service.decide(session, TENANT, "A", PERIOD, actor="D", general=26, relation=relation)
    assert decided["score"] == "79.9"
    _open(session, "B")
    by_evaluator = service.decide(
        session, TENANT, "B", PERIOD, actor="M", general=26, relation={"evaluator_of": {"B": ["M"]}}
    )
    assert by_evaluator["status"] == "decided"
