"""The evaluation service's use cases on SQLite and PostgreSQL (``conftest.session``): the
002 worked example from opening to publication, idempotency, the unit quota at decision,
fallback, not-evaluated, history and outbox events."""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evaluation import service, unit_service
from services.evaluation.models import Evaluation, EvaluationEvent, outbox
from services.evaluation.scoring import grade_for

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT.parent / "shared" / "golden"
MIGRATIONS = ROOT / "services" / "evaluation" / "migrations"
TENANT = "mini"
PERIOD = "2026-06"
SEED = json.loads((GOLDEN / "scoring" / "seed002_nguyen_van_a.json").read_text("utf-8"))
QUOTA = json.loads((GOLDEN / "quota" / "quota_20pct_of_b.json").read_text("utf-8"))


def events(session: Session) -> list[str]:
    return list(session.execute(select(outbox.c.type).order_by(outbox.c.seq)).scalars())


def history(session: Session, person: str) -> list[EvaluationEvent]:
    return service.history(session, person, PERIOD)


def test_worked_example_from_opening_to_publication(session: Session) -> None:
    opened = service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], "k:A:open")
    assert opened["status"] == "opened"
    assert opened["suggested_score"] == "83.9"
    assert opened["suggested_grade"] == "B"
    assert (opened["suggested_a"], opened["suggested_b"], opened["suggested_c"]) == (
        "26/33",  # 104/132
        "97/132",
        "26/33",
    )
    service.self_assess(session, TENANT, "A", PERIOD, Decimal(30), actor="A")
    service.review(session, TENANT, "A", PERIOD, 30, "Tốt", actor="M")
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H")
    assert Decimal(decided["score"]) == Decimal("83.9") and decided["grade"] == "B"
    assert decided["final_grade"] == "B" and decided["flags"] == []
    published = service.publish(session, TENANT, "A", PERIOD, "k:A:publish")
    assert published["status"] == "published"

    steps = history(session, "A")
    assert [(h.action, h.actor) for h in steps] == [
        ("opened", "system:evaluation"),
        ("self_assessed", "A"),
        ("reviewed", "M"),
        ("decided", "H"),
        ("published", "system:evaluation"),
    ]
    assert steps[0].before is None and steps[0].after["status"] == "opened"
    for prev, step in pairwise(steps):
        assert step.before == prev.after  # each change chains on the previous state
    assert steps[1].before["self_general"] is None and steps[1].after["self_general"] == "30"
    assert steps[2].after["review_comment"] == "Tốt"
    assert steps[3].before["score"] is None and Decimal(steps[3].after["score"]) == Decimal("83.9")
    assert events(session) == [
        f"vn.woms.evaluation.evaluation.{a}.v1"
        for a in ("opened", "self_assessed", "reviewed", "decided", "published")
    ]


def test_review_general_counts_and_lowers_the_score(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    service.self_assess(session, TENANT, "A", PERIOD, 30, actor="A")
    service.review(session, TENANT, "A", PERIOD, Decimal("25"), None, actor="M")
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H")
    assert Decimal(decided["score"]) == Decimal("78.9") and decided["grade"] == "B"


def test_open_is_idempotent_on_its_key(session: Session) -> None:
    first = service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], "k1")
    again = service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], "k1")
    assert again == first
    assert len(session.execute(select(Evaluation)).scalars().all()) == 1
    assert len(history(session, "A")) == 1
    assert len(events(session)) == 1
    # publishing twice with the same key is one publication
    service.decide(session, TENANT, "A", PERIOD, actor="H", general=30)
    service.publish(session, TENANT, "A", PERIOD, "k1:publish")
    service.publish(session, TENANT, "A", PERIOD, "k1:publish")
    assert [h.action for h in history(session, "A")].count("published") == 1


def test_invalid_general_and_out_of_order_steps_are_refused(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    with pytest.raises(service.EvaluationError, match="outside 0–30"):
        service.self_assess(session, TENANT, "A", PERIOD, 31, actor="A")
    with pytest.raises(service.EvaluationError, match="cannot publish"):
        service.publish(session, TENANT, "A", PERIOD, None)
    with pytest.raises(service.EvaluationError, match="no evaluation"):
        service.review(session, TENANT, "nobody", PERIOD, 30, None, actor="M")


def _decided_with_score(session: Session, person: str, unit: str, score: Decimal) -> None:
    """A decided evaluation, then its score set to ``score`` (the golden quota scores are not
    all reachable from a small ledger) with the grade of that score."""
    service.open_evaluation(
        session, TENANT, person, unit, PERIOD, [{"points": 1, "completed": True}], None
    )
    service.decide(session, TENANT, person, PERIOD, actor="H", general=30)
    ev = session.execute(select(Evaluation).where(Evaluation.person == person)).scalar_one()
    ev.score = score
    ev.grade = ev.final_grade = grade_for(score).value


def test_quota_at_decision_gives_the_golden_final_grades(session: Session) -> None:
    for person, score in QUOTA["scores"].items():
        _decided_with_score(session, person, "U1", Decimal(str(score)))
    _decided_with_score(session, "other-unit", "U2", Decimal("99"))
    final = unit_service.apply_quota(session, TENANT, "U1", PERIOD, QUOTA["ratio"])
    assert final == QUOTA["expect"]
    stored = {
        ev.person: ev.final_grade
        for ev in session.execute(select(Evaluation).where(Evaluation.unit == "U1")).scalars()
    }
    assert stored == QUOTA["expect"]
    changed = [
        p for p, g in QUOTA["expect"].items() if g == "B" and float(QUOTA["scores"][p]) >= 90
    ]
    assert sorted(changed) == ["p03", "p04"]
    for person in changed:
        last = history(session, person)[-1]
        assert last.action == "quota_applied"
        assert (last.before["final_grade"], last.after["final_grade"]) == ("A", "B")
    other = session.execute(select(Evaluation).where(Evaluation.unit == "U2")).scalar_one()
    assert other.final_grade == "A"
    assert events(session).count("vn.woms.evaluation.evaluation.quota_applied.v1") == 2


def test_fallback_flags_the_missed_self_assessment(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    after = service.apply_fallback(session, TENANT, "A", PERIOD, "k:A:fallback")
    assert after["flags"] == ["self_assessment_missed"] and after["status"] == "self_assessed"
    assert service.apply_fallback(session, TENANT, "A", PERIOD, "k:A:fallback") == after
    with pytest.raises(service.EvaluationError, match="deadline passed"):
        service.self_assess(session, TENANT, "A", PERIOD, 30, actor="A")
    # a person who self-assessed in time is not flagged
    service.open_evaluation(session, TENANT, "B", "U1", PERIOD, SEED["tasks"], None)
    service.self_assess(session, TENANT, "B", PERIOD, 30, actor="B")
    assert service.apply_fallback(session, TENANT, "B", PERIOD, "k:B:fallback")["flags"] == []
    assert "vn.woms.evaluation.evaluation.fallback_applied.v1" in events(session)


def test_not_evaluated_is_recorded_once(session: Session) -> None:
    first = service.record_not_evaluated(session, TENANT, "C", "U1", PERIOD, "k:C:ne")
    again = service.record_not_evaluated(session, TENANT, "C", "U1", PERIOD, "k:C:ne")
    assert first == again and first["status"] == "not_evaluated"
    assert [h.action for h in history(session, "C")] == ["not_evaluated"]
    assert events(session) == ["vn.woms.evaluation.evaluation.not_evaluated.v1"]
    with pytest.raises(service.EvaluationError):
        service.decide(session, TENANT, "C", PERIOD, actor="H")


def test_no_tasks_month_is_flagged_without_score(session: Session) -> None:
    opened = service.open_evaluation(session, TENANT, "E", "U1", PERIOD, [], None)
    assert opened["suggested_score"] is None and opened["flags"] == ["no_tasks"]
    decided = service.decide(session, TENANT, "E", PERIOD, actor="H")
    assert decided["score"] is None and "no_tasks" in decided["flags"]


RELATION = {
    "evaluator_of": {"A": ["M"], "M": ["H"], "H": ["TOP"], "TOP": []},
    "decider_of": {"A": "H", "M": "H", "H": "TOP"},
}


def test_reminders_and_escalations_go_to_the_relation(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    assert service.send_reminder(session, TENANT, "A", PERIOD, "review", RELATION, "r1") == "M"
    assert service.send_reminder(session, TENANT, "A", PERIOD, "review", RELATION, "r1") == "M"
    assert service.send_reminder(session, TENANT, "A", PERIOD, "decision", RELATION, "r2") == "H"
    to = service.escalate(session, TENANT, "A", PERIOD, "decision", RELATION, "e1")
    assert to == "TOP"  # the decider's evaluator
    assert service.escalate(session, TENANT, "A", PERIOD, "decision", RELATION, "e1") == "TOP"
    service.open_evaluation(session, TENANT, "H", "U1", PERIOD, SEED["tasks"], None)
    assert service.escalate(session, TENANT, "H", PERIOD, "review", RELATION, "e2") == (
        "tenant_admin"
    )
    ev = service.history(session, "A", PERIOD)[-1]
    # nobody reviewed A: the escalated decision waits for the authority's general points
    assert ev.action == "escalated"
    assert ev.after["flags"] == ["decision_escalated", "general_missing"]
    kinds = events(session)
    assert kinds.count("vn.woms.evaluation.evaluation.reminder.v1") == 2
    assert kinds.count("vn.woms.evaluation.evaluation.escalated.v1") == 2


def test_appeal_and_answer(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    service.decide(session, TENANT, "A", PERIOD, actor="H", general=30)
    with pytest.raises(service.EvaluationError):
        service.appeal(session, TENANT, "A", PERIOD, "sớm quá", actor="A")
    service.publish(session, TENANT, "A", PERIOD, None)
    service.appeal(session, TENANT, "A", PERIOD, "Nhiệm vụ 3 đã hoàn thành", actor="A")
    answered = service.answer_appeal(
        session, TENANT, "A", PERIOD, False, "Chấp nhận", actor="TOP", final_grade="A"
    )
    assert answered["appeal_status"] == "changed" and answered["final_grade"] == "A"
    assert [h.action for h in history(session, "A")][-2:] == ["appealed", "appeal_answered"]
    with pytest.raises(service.EvaluationError, match="no open appeal"):
        service.answer_appeal(session, TENANT, "A", PERIOD, True, None, actor="TOP")
