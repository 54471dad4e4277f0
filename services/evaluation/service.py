"""Evaluation use cases: one person's month from opening to publication and appeal
(``001 §IV.1`` steps 2–5, ``DOMAIN.md §5–§6``).

Functions take an open session inside the caller's transaction and plain data (the tasks
ledger lines, the planning evaluator relation), and never commit. Every change of an
evaluation writes an :class:`~services.evaluation.models.EvaluationEvent` (state before and
after) and a CloudEvent ``vn.woms.evaluation.<entity>.<action>.v1`` in the outbox, in the
same transaction.

Idempotency: the use cases the monthly-cycle workflow calls take its ``idempotency_key``; a
key already applied is a no-op that returns the stored result (the ``activities`` table), so
a retried activity never writes twice. ``None`` disables the check (API calls).

Scoring choices (documented here, see ``services.evaluation.scoring``):

* The tasks ledger carries no attendance, so the month is scored as fully worked
  (``working_days = days_worked = 1``); people under half the working days are recorded
  with :func:`record_not_evaluated` instead (``001 §I.6``).
* Leader factors d, đ, e (``001 §III.3``) are not applied yet: everyone is scored as staff.
* The *suggestion* computed at opening uses the general criteria at their maximum (30) as a
  placeholder, since the manager's general points (``001 §II.1``) are not known yet.
* At decision the general points are the manager's (``review_general``); when the review is
  missing, the person's own (``self_general``, flag ``general_from_self_assessment``); when
  both are missing, 30 (flag ``general_defaulted``).
* ``final_grade`` is set to the grade at decision; :func:`apply_quota` then lowers the unit's
  excess A grades to B (``001 §II.2.5``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from services.common.events import CloudEvent
from services.common.outbox import record
from services.evaluation import repository as repo
from services.evaluation.models import Evaluation, EvaluationEvent, outbox
from services.evaluation.scoring import (
    GENERAL_MAX,
    Grade,
    MonthlyResult,
    ScoringRules,
    Status,
    TaskRecord,
    score_month,
)
from services.evaluation.scoring import apply_quota as quota_of

SERVICE = "evaluation"
SYSTEM = "system:evaluation"
TENANT_ADMIN = "tenant_admin"
#: Fields of a tasks-ledger line the scoring engine reads (``TaskRecord``).
RECORD_FIELDS = (
    "points",
    "completed",
    "quality_failures",
    "delays",
    "days_late",
    "objective_cause",
    "exceeded",
    "group",
)
SNAPSHOT_FIELDS = (
    "person",
    "unit",
    "period",
    "status",
    "suggested_score",
    "suggested_grade",
    "suggested_a",
    "suggested_b",
    "suggested_c",
    "self_general",
    "review_general",
    "review_comment",
    "score",
    "grade",
    "final_grade",
    "flags",
    "appeal_reason",
    "appeal_answer",
    "appeal_status",
)


class EvaluationError(Exception):
    """A refused use case: ``field``, ``reason`` and the HTTP ``status`` to answer with."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status = field, reason, status


# --- helpers -------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):  # canonical text: 83.900000 (database) == 83.9 (computed)
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return list(value)
    return value


def snapshot(ev: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data (decimals as text)."""
    return {name: _json(getattr(ev, name)) for name in SNAPSHOT_FIELDS}


def _records(ledger: list[dict[str, Any]]) -> list[TaskRecord]:
    records = []
    for line in ledger:
        fields = {k: line[k] for k in RECORD_FIELDS if line.get(k) is not None}
        fields["points"] = Fraction(str(line.get("points", 0)))
        records.append(TaskRecord(**fields))
    return records


def _score(
    ledger: list[dict[str, Any]], general: Decimal, rules: ScoringRules | None
) -> MonthlyResult:
    return score_month(
        _records(ledger), general_score=general, working_days=1, days_worked=1, rules=rules
    )


def _general(value: Decimal | int | str, field: str) -> Decimal:
    general = Decimal(str(value))
    if not 0 <= general <= GENERAL_MAX:
        raise EvaluationError(field, f"{general} is outside 0–30 points (001 §II.1)")
    return general


def _flag(ev: Evaluation, flag: str) -> None:
    if flag not in ev.flags:
        ev.flags = [*ev.flags, flag]


def _once(session: Session, key: str | None, name: str, compute: Callable[[], Any]) -> Any:
    """Run ``compute`` unless ``key`` was applied; store and return its (JSON) result."""
    if key is not None:
        done = repo.activity(session, key)
        if done is not None:
            return done.result
    result = compute()
    if key is not None:
        repo.add_activity(session, key, name, result, _now())
    return result


def _change(
    session: Session,
    tenant: str,
    ev: Evaluation,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record one change: history entry (before/after) and outbox event; return the after."""
    now = _now()
    ev.updated_at = now
    session.flush()
    after = snapshot(ev)
    session.add(
        EvaluationEvent(
            evaluation_id=ev.id, action=action, actor=actor, at=now, before=before, after=after
        )
    )
    record(
        session,
        outbox,
        CloudEvent.of(
            tenant=tenant,
            service=SERVICE,
            entity="evaluation",
            action=action,
            subject=f"{ev.person}/{ev.period}",
            data={**after, "actor": actor, **(extra or {})},
        ),
    )
    return after


def _get(session: Session, person: str, period: str) -> Evaluation:
    ev = repo.evaluation_of(session, person, period)
    if ev is None:
        raise EvaluationError("evaluation", f"{person} has no evaluation for {period}", 404)
    return ev


def _require(ev: Evaluation, allowed: tuple[str, ...], what: str) -> None:
    if ev.status not in allowed:
        raise EvaluationError("status", f"cannot {what} an evaluation that is {ev.status}", 409)


# --- use cases -----------------------------------------------------------------------------


def open_evaluation(
    session: Session,
    tenant: str,
    person: str,
    unit: str,
    period: str,
    ledger_tasks: list[dict[str, Any]],
    idempotency_key: str | None,
    *,
    rules: ScoringRules | None = None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """Open ``person``'s month with the system's suggestion from the tasks ledger.

    The suggestion uses the general criteria at 30 (placeholder until reviewed). A month
    already open is left unchanged. Returns the evaluation's snapshot.
    """

    def run() -> dict[str, Any]:
        existing = repo.evaluation_of(session, person, period)
        if existing is not None:
            return snapshot(existing)
        ledger = [{k: _json(v) for k, v in line.items()} for line in ledger_tasks]
        now = _now()
        ev = Evaluation(
            person=person,
            unit=unit,
            period=period,
            status="opened",
            ledger=ledger,
            flags=[],
            created_at=now,
            updated_at=now,
        )
        result = _score(ledger, Decimal(GENERAL_MAX), rules)
        if result.status is Status.EVALUATED:
            ev.suggested_score = result.score
            ev.suggested_grade = result.grade.value if result.grade else None
            ev.suggested_a, ev.suggested_b, ev.suggested_c = (
                str(result.a),
                str(result.b),
                str(result.c),
            )
        else:
            ev.flags = [result.status.value]
        session.add(ev)
        return _change(session, tenant, ev, "opened", actor, None)

    return _once(session, idempotency_key, "open_evaluation", run)


def self_assess(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    general: Decimal | int | str,
    actor: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The person's self-assessment of the general criteria (step 2, before the 25th)."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed"), "self-assess")
        if "self_assessment_missed" in ev.flags:
            raise EvaluationError("status", "the self-assessment deadline passed (fallback)", 409)
        before = snapshot(ev)
        ev.self_general = _general(general, "general")
        ev.status = "self_assessed"
        return _change(session, tenant, ev, "self_assessed", actor, before)

    return _once(session, idempotency_key, "self_assess", run)


def review(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    general: Decimal | int | str,
    comment: str | None,
    actor: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The manager's general-criteria points and comment (step 3; the points that count,
    ``001 §II.1``)."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed", "reviewed"), "review")
        before = snapshot(ev)
        ev.review_general = _general(general, "general")
        ev.review_comment = comment
        ev.status = "reviewed"
        return _change(session, tenant, ev, "reviewed", actor, before)

    return _once(session, idempotency_key, "review", run)


def decide(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    actor: str,
    idempotency_key: str | None = None,
    *,
    rules: ScoringRules | None = None,
) -> dict[str, Any]:
    """The authority's decision (step 4): score = general points + task result × 70, grade;
    ``final_grade`` = grade until :func:`apply_quota`. See the module notes for the general
    points used when the review or the self-assessment is missing."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed", "reviewed", "decided"), "decide")
        before = snapshot(ev)
        if ev.review_general is not None:
            general = ev.review_general
        elif ev.self_general is not None:
            general = ev.self_general
            _flag(ev, "general_from_self_assessment")
        else:
            general = Decimal(GENERAL_MAX)
            _flag(ev, "general_defaulted")
        result = _score(ev.ledger, Decimal(general), rules)
        if result.status is Status.EVALUATED:
            ev.score = result.score
            ev.grade = ev.final_grade = result.grade.value if result.grade else None
        else:
            ev.score = ev.grade = ev.final_grade = None
            _flag(ev, result.status.value)
        ev.status = "decided"
        return _change(session, tenant, ev, "decided", actor, before)

    return _once(session, idempotency_key, "decide", run)


def apply_quota(
    session: Session,
    tenant: str,
    unit: str,
    period: str,
    ratio: Fraction | Decimal | float | str,
    actor: str = SYSTEM,
    idempotency_key: str | None = None,
) -> dict[str, str]:
    """Final grades of the unit's decided evaluations after the excellence quota
    (``001 §II.2.5``, :func:`services.evaluation.scoring.apply_quota`); each changed final grade
    is recorded. Returns person → final grade."""

    def run() -> dict[str, str]:
        decided = [
            ev
            for ev in repo.evaluations_of_unit(session, unit, period, status="decided")
            if ev.score is not None and ev.grade is not None
        ]
        try:
            final = quota_of({ev.person: (ev.score, Grade(ev.grade)) for ev in decided}, ratio)
        except ValueError as exc:
            raise EvaluationError("ratio", str(exc)) from exc
        for ev in decided:
            grade = final[ev.person].value
            if ev.final_grade != grade:
                before = snapshot(ev)
                ev.final_grade = grade
                _change(session, tenant, ev, "quota_applied", actor, before, {"ratio": str(ratio)})
        return {person: grade.value for person, grade in sorted(final.items())}

    return _once(session, idempotency_key, "apply_quota", run)


def publish(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    idempotency_key: str | None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """Publish the decided result inside the unit (step 4, before the 5th)."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        if ev.status == "published":
            return snapshot(ev)
        _require(ev, ("decided",), "publish")
        before = snapshot(ev)
        ev.status = "published"
        return _change(session, tenant, ev, "published", actor, before)

    return _once(session, idempotency_key, "publish", run)


def apply_fallback(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    idempotency_key: str | None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """The self-assessment deadline passed: the system's suggestion stands in for it, flagged
    ``self_assessment_missed``. No change when the person already self-assessed."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        if ev.status != "opened":
            return snapshot(ev)
        before = snapshot(ev)
        _flag(ev, "self_assessment_missed")
        ev.status = "self_assessed"
        return _change(session, tenant, ev, "fallback_applied", actor, before)

    return _once(session, idempotency_key, "apply_fallback", run)


def record_not_evaluated(
    session: Session,
    tenant: str,
    person: str,
    unit: str,
    period: str,
    idempotency_key: str | None,
    reason: str | None = None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """The person is outside the month's evaluation (e.g. under half the working days,
    ``001 §I.6``): recorded with status ``not_evaluated``."""

    def run() -> dict[str, Any]:
        ev = repo.evaluation_of(session, person, period)
        before = None
        if ev is None:
            now = _now()
            ev = Evaluation(
                person=person,
                unit=unit,
                period=period,
                status="not_evaluated",
                ledger=[],
                flags=[],
                created_at=now,
                updated_at=now,
            )
            session.add(ev)
        else:
            _require(ev, ("opened", "self_assessed", "reviewed", "not_evaluated"), "exclude")
            before = snapshot(ev)
            ev.status = "not_evaluated"
        return _change(session, tenant, ev, "not_evaluated", actor, before, {"reason": reason})

    return _once(session, idempotency_key, "record_not_evaluated", run)


def _first(values: Any) -> str | None:
    return values[0] if isinstance(values, list) and values else None


def owner_of(step: str, person: str, relation: Mapping[str, Any]) -> str:
    """Who owns ``step`` of ``person``'s month: the person (self-assessment), the evaluator
    (review), the decider (decision, publication); ``tenant_admin`` when unknown."""
    evaluators = relation.get("evaluator_of", {})
    deciders = relation.get("decider_of", {})
    if step == "self_assessment":
        return person
    if step == "review":
        return _first(evaluators.get(person)) or deciders.get(person) or TENANT_ADMIN
    return deciders.get(person) or TENANT_ADMIN


def escalation_target(person: str, relation: Mapping[str, Any]) -> str:
    """The next level: the evaluator of ``person``'s decider, or ``tenant_admin`` when there
    is none (an external decider, a top head, an unresolved relation)."""
    decider = relation.get("decider_of", {}).get(person)
    if decider is None:
        return TENANT_ADMIN
    return _first(relation.get("evaluator_of", {}).get(decider)) or TENANT_ADMIN


def send_reminder(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    step: str,
    relation: Mapping[str, Any],
    idempotency_key: str | None,
    deadline: datetime | None = None,
) -> str:
    """Remind whoever owns ``step`` (event ``evaluation.reminder.v1``); returns who."""

    def run() -> str:
        ev = _get(session, person, period)
        to = owner_of(step, person, relation)
        extra = {"step": step, "to": to, "deadline": deadline.isoformat() if deadline else None}
        _change(session, tenant, ev, "reminder", SYSTEM, snapshot(ev), extra)
        return to

    return str(_once(session, idempotency_key, "send_reminder", run))


def escalate(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    step: str,
    relation: Mapping[str, Any],
    idempotency_key: str | None,
    deadline: datetime | None = None,
) -> str:
    """Escalate a missed ``step`` to the next level (:func:`escalation_target`), flag
    ``<step>_escalated`` (event ``evaluation.escalated.v1``); returns who."""

    def run() -> str:
        ev = _get(session, person, period)
        before = snapshot(ev)
        to = escalation_target(person, relation)
        _flag(ev, f"{step}_escalated")
        extra = {"step": step, "to": to, "deadline": deadline.isoformat() if deadline else None}
        _change(session, tenant, ev, "escalated", SYSTEM, before, extra)
        return to

    return str(_once(session, idempotency_key, "escalate", run))


def appeal(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    reason: str,
    actor: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The person appeals the published result (step 5)."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("published",), "appeal")
        if ev.appeal_status is not None:
            raise EvaluationError("appeal", "already appealed", 409)
        before = snapshot(ev)
        ev.appeal_reason, ev.appeal_status = reason, "open"
        return _change(session, tenant, ev, "appealed", actor, before)

    return _once(session, idempotency_key, "appeal", run)


def answer_appeal(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    upheld: bool,
    answer: str | None,
    actor: str,
    idempotency_key: str | None = None,
    *,
    final_grade: str | None = None,
) -> dict[str, Any]:
    """The higher level's binding answer: the result is upheld, or changed to
    ``final_grade`` (``001 §IV.1`` step 5)."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        if ev.appeal_status != "open":
            raise EvaluationError("appeal", "no open appeal", 409)
        before = snapshot(ev)
        if not upheld:
            if final_grade is None:
                raise EvaluationError("final_grade", "a changed result needs the new grade")
            ev.final_grade = Grade(final_grade).value
        ev.appeal_answer = answer
        ev.appeal_status = "upheld" if upheld else "changed"
        return _change(session, tenant, ev, "appeal_answered", actor, before)

    return _once(session, idempotency_key, "answer_appeal", run)


def cycle_finished(
    session: Session, tenant: str, period: str, idempotency_key: str | None
) -> dict[str, int]:
    """Every person's month is closed: event ``cycle.finished.v1`` with counts by status."""

    def run() -> dict[str, int]:
        counts = dict(Counter(ev.status for ev in repo.evaluations_of_period(session, period)))
        record(
            session,
            outbox,
            CloudEvent.of(
                tenant=tenant,
                service=SERVICE,
                entity="cycle",
                action="finished",
                subject=period,
                data={"period": period, "by_status": counts},
            ),
        )
        return counts

    return _once(session, idempotency_key, "cycle_finished", run)


def history(session: Session, person: str, period: str) -> list[EvaluationEvent]:
    """The evaluation's changes, oldest first."""
    return repo.history(session, _get(session, person, period).id)
