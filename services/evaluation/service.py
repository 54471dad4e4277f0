"""Evaluation use cases: one person's month from opening to publication and appeal
(``001 §IV.1`` steps 2–5, ``DOMAIN.md §5–§6``).

Functions take an open session inside the caller's transaction and plain data (the tasks
ledger lines, the planning evaluator relation), and never commit. Every change of an
evaluation writes an :class:`~services.evaluation.models.EvaluationEvent` (state before and
after) and a CloudEvent ``vn.woms.evaluation.<entity>.<action>.v1`` in the outbox, and
appends it to the tenant's audit chain (:mod:`services.common.audit`), in the same transaction.

Idempotency: the use cases the monthly-cycle workflow calls take its ``idempotency_key``; a
key already applied is a no-op that returns the stored result (the ``activities`` table), so
a retried activity never writes twice. ``None`` disables the check (API calls).

Scoring choices (documented here, see ``services.evaluation.scoring``):

* The tasks ledger carries no attendance, so the month is scored as fully worked
  (``working_days = days_worked = 1``); people under half the working days are recorded
  with :func:`record_not_evaluated` instead (``001 §I.6``).
* Leader factors d, đ, e (``001 §III.3``): an evaluation carrying ``leader_factors`` (set by
  :mod:`services.evaluation.unit_service` for unit heads) is scored (a+b+c+d+đ+e)/6 at
  decision with d as computed and đ, e as confirmed by the authority (else as proposed, flag
  ``leader_factors_unconfirmed``); everyone else is scored as staff.
* Late data (:func:`refresh_ledger`): a task approved after opening re-scores the suggestion
  until the decision; after publication the result changes only via appeal.
* The *suggestion* computed at opening uses the general criteria at their maximum (30) as a
  placeholder, since the manager's general points (``001 §II.1``) are not known yet.
* At decision the general points are the manager's (``review_general``, ``001 §II.1``). A
  month without a review cannot be decided until the authority enters them (:func:`decide`,
  flag ``general_by_authority``); neither the person's own points nor the maximum stand in
  (issue 15). When its decision escalates such a month is flagged ``general_missing``
  (:func:`escalate`).
* ``final_grade`` is set to the grade at decision; the unit's quota
  (:func:`services.evaluation.unit_service.apply_quota`, ``decide_unit``) then lowers the
  unit's excess A grades to B (``001 §II.2.5``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from services.common import audit as audit_chain
from services.common.events import CloudEvent
from services.common.outbox import record
from services.evaluation import forms
from services.evaluation import records as unit_records
from services.evaluation import repository as repo
from services.evaluation.leaders import factors_of
from services.evaluation.metrics import scoring_timer
from services.evaluation.models import Evaluation, EvaluationEvent, FormTemplate, audit, outbox
from services.evaluation.scoring import (
    GENERAL_MAX,
    Grade,
    LeaderFactors,
    MonthlyResult,
    ScoringRules,
    Status,
    TaskRecord,
    score_month,
)

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
    """The evaluation as JSON-ready data (decimals as text); a head's month adds its
    ``leader_factors`` (``001 §III.3``), a decided month its ``decision`` (who, general points
    entered by the authority, proposed and decided grade, reason), general points given by
    rows add ``self_rows`` / ``review_rows`` (``001 §II.1``, :func:`general_points`)."""
    data = {name: _json(getattr(ev, name)) for name in SNAPSHOT_FIELDS}
    if ev.leader_factors is not None:
        data["leader_factors"] = ev.leader_factors
    if ev.decision is not None:  # the authority's decision (issue 15, :func:`decide`)
        data["decision"] = ev.decision
    for name in ("self_rows", "review_rows"):  # general points given row by row (forms.py)
        if getattr(ev, name) is not None:
            data[name] = getattr(ev, name)
    return data


def list_line(ev: Evaluation) -> dict[str, Any]:
    """A month's line of its unit's published list (``001 §IV.1`` step 5): ``{"person",
    "score", "grade", "final_grade"}`` (score as decimal text) — nothing of the form."""
    return {
        "person": ev.person,
        "score": _json(ev.score),
        "grade": ev.grade,
        "final_grade": ev.final_grade,
    }


def _records(ledger: list[dict[str, Any]]) -> list[TaskRecord]:
    records = []
    for line in ledger:
        fields = {k: line[k] for k in RECORD_FIELDS if line.get(k) is not None}
        fields["points"] = Fraction(str(line.get("points", 0)))
        records.append(TaskRecord(**fields))
    return records


def _score(
    ledger: list[dict[str, Any]],
    general: Decimal,
    rules: ScoringRules | None,
    leader: LeaderFactors | None = None,
) -> MonthlyResult:
    with scoring_timer():  # woms.scoring.duration (metrics.py)
        return score_month(
            _records(ledger),
            general_score=general,
            working_days=1,
            days_worked=1,
            leader=leader,
            rules=rules,
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


def audit_change(
    session: Session,
    tenant: str,
    action: str,
    kind: str,
    object_id: str,
    actor: str,
    before: Any,
    after: Any,
) -> None:
    """Append a change (``<entity>.<action>``) to the tenant's audit chain at commit
    (:func:`services.common.audit.record`)."""
    audit_chain.record(
        session,
        audit,
        action=action,
        object_kind=kind,
        object_id=object_id,
        before=before,
        after=after,
        actor=actor,
        tenant=tenant,
    )


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
    audited = {**after, "details": extra} if extra else after
    subject = f"{ev.person}/{ev.period}"
    audit_change(
        session, tenant, f"evaluation.{action}", "evaluation", subject, actor, before, audited
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
    general: Decimal | int | str | None,
    actor: str,
    idempotency_key: str | None = None,
    *,
    rows: Mapping[str, Any] | None = None,
    relation: Mapping[str, Any] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """The person's self-assessment of the general criteria (step 2, before the 25th).

    Either ``general`` (total points, 0–30) or ``rows`` (``{row code: points}`` on the
    person's form, see :func:`general_points`; general = their exact sum), not both.

    Raises:
        EvaluationError: 404 no evaluation; 409 wrong status or deadline passed; 422 bad
            points (field ``general`` or ``rows.<code>``); nothing is changed.
    """

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed"), "self-assess")
        if "self_assessment_missed" in ev.flags:
            raise EvaluationError("status", "the self-assessment deadline passed (fallback)", 409)
        points, filled = general_points(session, ev, general, rows, relation, kind)
        before = snapshot(ev)
        ev.self_general, ev.self_rows = points, filled
        ev.status = "self_assessed"
        return _change(session, tenant, ev, "self_assessed", actor, before)

    return _once(session, idempotency_key, "self_assess", run)


def review(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    general: Decimal | int | str | None,
    comment: str | None,
    actor: str,
    idempotency_key: str | None = None,
    *,
    rows: Mapping[str, Any] | None = None,
    relation: Mapping[str, Any] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """The manager's general-criteria points and comment (step 3; the points that count,
    ``001 §II.1``): ``general`` (0–30) or ``rows`` on the person's form, as
    :func:`self_assess`; errors as there."""

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed", "reviewed"), "review")
        points, filled = general_points(session, ev, general, rows, relation, kind)
        before = snapshot(ev)
        ev.review_general, ev.review_rows = points, filled
        ev.review_comment = comment
        ev.status = "reviewed"
        return _change(session, tenant, ev, "reviewed", actor, before)

    return _once(session, idempotency_key, "review", run)


#: Flag of a month whose general-criteria points the authority entered (no review).
GENERAL_BY_AUTHORITY = "general_by_authority"
#: Flag of a month without the manager's general-criteria points when its decision escalates.
GENERAL_MISSING = "general_missing"
#: Flag of a decided grade other than the proposed one (with the authority's reason).
GRADE_CHANGED = "grade_changed_by_authority"


def needs_general(ev: Evaluation, rules: ScoringRules | None = None) -> bool:
    """Whether deciding ``ev`` needs general-criteria points that are missing: no manager's
    points (``review_general``) on a month whose tasks give a result (``001 §II.1``: the
    manager's score counts; a ``no_tasks`` month has no score to count them in)."""
    if ev.review_general is not None:
        return False
    leader = factors_of(ev.leader_factors)
    return _score(ev.ledger, Decimal(GENERAL_MAX), rules, leader).status is Status.EVALUATED


def decide(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    actor: str,
    idempotency_key: str | None = None,
    *,
    rules: ScoringRules | None = None,
    general: Decimal | int | str | None = None,
    rows: Mapping[str, Any] | None = None,
    relation: Mapping[str, Any] | None = None,
    kind: str | None = None,
    grade: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The authority's decision (step 4, ``001 §IV.1``): score = the manager's general points
    + task result × 70 (rounded half-up to 0.1), grade; ``final_grade`` = grade until the
    quota (:func:`apply_quota`, ``services.evaluation.unit_service.decide_unit``). Leaders:
    task result (a+b+c+d+đ+e)/6 with the stored factors (``001 §III.3–4``).

    General points (``001 §II.1``: the manager's score is the one that counts; issue 15):
    the reviewer's ``review_general``. A month without a review is decided only when the
    authority enters them here — ``general`` (0–30) or ``rows`` on the person's form, as
    :func:`general_points` — stored as the manager's points (``review_general`` /
    ``review_rows``), flagged ``general_by_authority``. The person's own points and the
    maximum never stand in for them. A ``no_tasks`` month has no score and needs none.

    Grade: the one the score gives is the *proposed* grade; the authority may decide another
    ``grade`` (A–D) only with a written ``reason``, recorded in ``decision`` (history and
    audit chain), flagged ``grade_changed_by_authority``.

    Args:
        general, rows: the authority's general-criteria points (only without a review).
        grade, reason: the authority's grade when it differs from the proposed one, and why.

    Returns:
        The snapshot after, with ``decision`` = ``{"by", "general_entered", "proposed_grade",
        "grade", "reason"}``.

    Raises:
        EvaluationError: 404 no month; 409 wrong status, no manager's points and none given
            (field ``general``), points given although the reviewer's stand or while the
            review is still open to an evaluator other than the actor (``general``,
            :func:`_require_review_closed`);
            422 bad points (``general`` / ``rows.<code>``), a grade that is not A–D
            (``grade``), a changed grade without a reason (``reason``). Nothing is changed.
    """

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        _require(ev, ("opened", "self_assessed", "reviewed", "decided"), "decide")
        before = snapshot(ev)
        given = general is not None or rows is not None
        entered_before = GENERAL_BY_AUTHORITY in ev.flags
        if given and ev.review_general is not None and not entered_before:
            raise EvaluationError(
                "general",
                "đã có điểm tiêu chí chung của người nhận xét, người xếp loại không nhập lại / "
                "the reviewer's general-criteria points stand; the authority enters them only "
                "for a month without a review (001 §II.1)",
                409,
            )
        if given and not entered_before:
            _require_review_closed(ev, actor, relation)
        if given:
            ev.review_general, ev.review_rows = general_points(
                session, ev, general, rows, relation, kind
            )
            _flag(ev, GENERAL_BY_AUTHORITY)
        elif needs_general(ev, rules):
            raise EvaluationError(
                "general",
                "chưa có điểm tiêu chí chung của cấp quản lý: người xếp loại nhập điểm (general "
                "hoặc rows) / no manager's general-criteria points: the authority enters them "
                "(general or rows) to decide (001 §II.1)",
                409,
            )
        leader = factors_of(ev.leader_factors)
        if leader is not None and not (ev.leader_factors or {}).get("confirmed"):
            _flag(ev, "leader_factors_unconfirmed")
        elif "leader_factors_unconfirmed" in ev.flags:
            ev.flags = [f for f in ev.flags if f != "leader_factors_unconfirmed"]
        placeholder = Decimal(0) if ev.review_general is None else Decimal(ev.review_general)
        result = _score(ev.ledger, placeholder, rules, leader)
        evaluated = result.status is Status.EVALUATED and result.grade is not None
        proposed = result.grade.value if evaluated and result.grade else None
        chosen = _chosen_grade(grade, reason, proposed)
        if result.status is Status.EVALUATED:
            ev.score = result.score
        else:
            ev.score = None
            _flag(ev, result.status.value)
        ev.grade = ev.final_grade = chosen
        ev.flags = [f for f in ev.flags if f not in (GENERAL_MISSING, GRADE_CHANGED)]
        if chosen != proposed:
            _flag(ev, GRADE_CHANGED)
        ev.decision = {
            "by": actor,
            "general_entered": given or (entered_before and ev.review_general is not None),
            "proposed_grade": proposed,
            "grade": chosen,
            "reason": reason.strip() if chosen != proposed and reason else None,
        }
        ev.status = "decided"
        return _change(session, tenant, ev, "decided", actor, before)

    return _once(session, idempotency_key, "decide", run)


#: Flags the cycle sets once a month's review deadline passed (the review escalated, skipped).
REVIEW_CLOSED = ("review_escalated", "review_missed")


def _require_review_closed(ev: Evaluation, actor: str, relation: Mapping[str, Any] | None) -> None:
    """The authority enters the general points of a month nobody reviewed only once its review
    deadline passed (:data:`REVIEW_CLOSED`), unless the authority is the person's evaluator in
    ``relation`` (then it is their review); review by the evaluator relation only (``001
    §II.3``, issue 15). Without a relation (the use cases' own callers) nothing is checked.

    Raises:
        EvaluationError: 409 ``general`` while the review is still the evaluator's.
    """
    if relation is None or set(REVIEW_CLOSED) & set(ev.flags):
        return
    if actor in (relation.get("evaluator_of") or {}).get(ev.person, []):
        return
    raise EvaluationError(
        "general",
        "chưa hết hạn nhận xét: điểm tiêu chí chung do người đánh giá nhập / the review is still "
        "open: the evaluator gives the general-criteria points until the review deadline",
        409,
    )


def _chosen_grade(grade: str | None, reason: str | None, proposed: str | None) -> str | None:
    """The decided grade: ``proposed`` unless the authority chose ``grade``; a grade other than
    the proposed one needs a written ``reason`` (issue 15).

    Raises:
        EvaluationError: 422 ``grade`` not A–D; 422 ``reason`` missing for a change.
    """
    if grade is None:
        return proposed
    try:
        chosen = Grade(grade).value
    except ValueError:
        raise EvaluationError("grade", f"{grade!r} không phải A–D / is not one of A–D") from None
    if chosen != proposed and not (reason and reason.strip()):
        raise EvaluationError(
            "reason",
            f"đổi loại đề xuất {proposed or '—'} thành {chosen} cần nêu lý do / changing the "
            f"proposed grade {proposed or '—'} to {chosen} needs a written reason",
        )
    return chosen


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
    ``<step>_escalated`` (event ``evaluation.escalated.v1``); returns who.

    A missed decision of a month without the manager's general-criteria points (no review,
    :func:`needs_general`) is also flagged ``general_missing`` and the event says ``"needs":
    "general"``: the month waits for the authority to enter them (:func:`decide`); nothing is
    invented and it is not published before (issue 15)."""

    def run() -> str:
        ev = _get(session, person, period)
        before = snapshot(ev)
        to = escalation_target(person, relation)
        _flag(ev, f"{step}_escalated")
        extra = {"step": step, "to": to, "deadline": deadline.isoformat() if deadline else None}
        if step == "decision" and ev.status != "decided" and needs_general(ev):
            _flag(ev, GENERAL_MISSING)  # the authority must enter the manager's points
            extra["needs"] = "general"
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


# --- late data (issue 5: a task approved after the self-assessment) ------------------------

#: Statuses whose suggestion follows the tasks ledger (``DOMAIN.md §6`` steps 2–4).
REFRESHABLE = ("opened", "self_assessed", "reviewed", "decided")


def _suggest(ev: Evaluation, rules: ScoringRules | None) -> None:
    """Re-score ``ev.suggested_*`` from its ledger (general criteria at 30, as at opening)."""
    result = _score(ev.ledger, Decimal(GENERAL_MAX), rules, factors_of(ev.leader_factors))
    outcomes = {s.value for s in Status} - {Status.EVALUATED.value}
    ev.flags = [f for f in ev.flags if f not in outcomes]
    if result.status is Status.EVALUATED:
        ev.suggested_score = result.score
        ev.suggested_grade = result.grade.value if result.grade else None
        ev.suggested_a, ev.suggested_b, ev.suggested_c = (
            str(result.a),
            str(result.b),
            str(result.c),
        )
    else:
        ev.suggested_score = ev.suggested_grade = None
        ev.suggested_a = ev.suggested_b = ev.suggested_c = None
        _flag(ev, result.status.value)


def refresh_ledger(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    ledger_tasks: list[dict[str, Any]],
    idempotency_key: str | None = None,
    *,
    rules: ScoringRules | None = None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """Late data: the tasks ledger changed after opening (e.g. a task approved after the
    self-assessment, ``DOMAIN.md §6``).

    * Before the decision (``opened``, ``self_assessed``, ``reviewed``): the stored ledger and
      the suggestion (``suggested_*``) are replaced, history ``ledger_refreshed`` with the
      state before and after; the decision will score the new ledger.
    * ``decided`` (not yet published): the same, flagged ``ledger_changed_after_decision`` —
      the decided score stands until the authority decides again.
    * ``published``: nothing changes ("sau khi công bố chỉ thay đổi qua khiếu nại",
      ``001 §IV.1`` step 5); the refusal is recorded (history ``late_data_refused``, flag
      ``late_data_after_publication``) so the person can appeal with it.
    * Same ledger, or ``not_evaluated``: no change, nothing recorded.

    Returns ``{"outcome": "refreshed" | "refused" | "unchanged", "evaluation": snapshot}``.

    Raises:
        EvaluationError: 404 when the month was not opened.
    """

    def run() -> dict[str, Any]:
        ev = _get(session, person, period)
        ledger = [{k: _json(v) for k, v in line.items()} for line in ledger_tasks]
        if ledger == ev.ledger or ev.status == "not_evaluated":
            return {"outcome": "unchanged", "evaluation": snapshot(ev)}
        before = snapshot(ev)
        if ev.status not in REFRESHABLE:
            _flag(ev, "late_data_after_publication")
            after = _change(
                session,
                tenant,
                ev,
                "late_data_refused",
                actor,
                before,
                {"reason": "đã công bố: chỉ thay đổi qua khiếu nại / published: only via appeal"},
            )
            return {"outcome": "refused", "evaluation": after}
        ev.ledger = ledger
        _suggest(ev, rules)
        if ev.status == "decided":
            _flag(ev, "ledger_changed_after_decision")
        after = _change(session, tenant, ev, "ledger_refreshed", actor, before)
        return {"outcome": "refreshed", "evaluation": after}

    return dict(_once(session, idempotency_key, "refresh_ledger", run))


# --- general-criteria forms and the records of 001 §V.2 (issue 5) ---------------------------


def _first_day(period: str) -> date:
    """``"2026-06"`` → 2026-06-01 (the day a period's form is looked up on)."""
    try:
        year, month = (int(part) for part in period.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise EvaluationError("period", f"{period!r} is not a month YYYY-MM") from None


def _kind(person: str, relation: Mapping[str, Any] | None, kind: str | None) -> str:
    if kind is not None:
        if kind not in forms.KINDS:
            raise EvaluationError("kind", "phải là leader hoặc staff / must be leader or staff")
        return kind
    if relation is None:
        raise EvaluationError(
            "relation",
            "cần quan hệ đánh giá để chọn mẫu phiếu / the evaluator relation (or kind) is "
            "needed to choose the person's form",
        )
    return forms.kind_of(person, relation)


def _template(session: Session, kind: str, period: str) -> forms.FormTemplate:
    row = repo.form_template_in_force(session, kind, _first_day(period))
    if row is None:
        raise EvaluationError(
            "form",
            f"chưa có mẫu phiếu {kind} cho kỳ {period} / no {kind} form in force for {period}: "
            "install the tenant's templates",
            409,
        )
    return forms.template_from_data(row.content)


def general_points(
    session: Session,
    ev: Evaluation,
    general: Decimal | int | str | None,
    rows: Mapping[str, Any] | None,
    relation: Mapping[str, Any] | None,
    kind: str | None,
) -> tuple[Decimal, dict[str, Any] | None]:
    """The general-criteria points given either as a total or row by row (``001 §II.1``).

    With ``rows`` the person's form is the template of their kind in force on the period's
    first day; the kind is ``kind``, else :func:`forms.kind_of` on planning's ``relation``,
    else the kind of the form the person's own rows were given on. Every row of the form must
    be given, each within 0..its maximum (:func:`forms.validate_points`).

    Returns:
        ``(general points, rows JSON or None)``; the rows JSON is ``{"form", "kind",
        "effective_from", "points": {row: text}}`` and the points are its exact sum.

    Raises:
        EvaluationError: both or neither of ``general`` and ``rows`` (422); no way to tell
            the kind (422, field ``relation``); no template in force (409, field ``form``);
            a bad row (422, field ``rows.<code>``) or total (422, field ``general``).
    """
    if general is not None and rows is not None:
        raise EvaluationError(
            "rows", "chỉ nhập tổng điểm hoặc điểm từng tiêu chí / give general or rows, not both"
        )
    if rows is None:
        if general is None:
            raise EvaluationError(
                "general", "thiếu điểm tiêu chí chung / general points or rows are required"
            )
        return _general(general, "general"), None
    if kind is None and relation is None and ev.self_rows:
        kind = str(ev.self_rows["kind"])
    template = _template(session, _kind(ev.person, relation, kind), ev.period)
    try:
        points = forms.validate_points(template, rows)
    except forms.FormError as exc:
        raise EvaluationError(exc.field, exc.reason) from exc
    filled = {
        "form": template.code,
        "kind": template.kind,
        "effective_from": template.effective_from.isoformat(),
        "points": forms.points_as_data(points),
    }
    return _general(forms.total(points), "general"), filled


def install_templates(
    session: Session,
    tenant: str,
    templates: Sequence[forms.FormTemplate],
    actor: str = TENANT_ADMIN,
) -> dict[str, int]:
    """Install or replace the tenant's general-criteria form templates (checked
    :class:`forms.FormTemplate`, e.g. from :func:`forms.load_template`).

    A version is identified by (kind, ``effective_from``): a new one is created, a changed one
    replaced (rows already given keep their points; they name the form they were given on),
    an identical one left alone. Each change writes the event
    ``vn.woms.evaluation.form_template.<created|replaced>.v1``.

    Returns:
        ``{"form.created": n, "form.replaced": n, "form.unchanged": n}``.

    Raises:
        EvaluationError: two templates of the same kind and date in ``templates`` (422).
    """
    seen: set[tuple[str, date]] = set()
    for i, template in enumerate(templates):
        key = (template.kind, template.effective_from)
        if key in seen:
            raise EvaluationError(
                f"templates[{i}]",
                f"two {template.kind} templates from {template.effective_from.isoformat()}",
            )
        seen.add(key)
    counts = {"form.created": 0, "form.replaced": 0, "form.unchanged": 0}
    for template in templates:
        data = forms.template_as_data(template)
        row = repo.form_template(session, template.kind, template.effective_from)
        if row is not None and row.content == data:
            counts["form.unchanged"] += 1
            continue
        action = "created" if row is None else "replaced"
        previous = None if row is None else row.content
        if row is None:
            row = FormTemplate(kind=template.kind, effective_from=template.effective_from)
            session.add(row)
        row.code, row.title, row.content = template.code, template.title, data
        row.installed_by, row.installed_at = actor, _now()
        session.flush()
        counts[f"form.{action}"] += 1
        record(
            session,
            outbox,
            CloudEvent.of(
                tenant=tenant,
                service=SERVICE,
                entity="form_template",
                action=action,
                subject=f"{template.kind}/{template.effective_from.isoformat()}",
                data={**data, "actor": actor},
            ),
        )
        subject = f"{template.kind}/{template.effective_from.isoformat()}"
        audit_change(
            session,
            tenant,
            f"form_template.{action}",
            "form_template",
            subject,
            actor,
            previous,
            data,
        )
    return counts


def form_for(
    session: Session,
    person: str,
    period: str,
    relation: Mapping[str, Any] | None = None,
    *,
    kind: str | None = None,
) -> dict[str, Any]:
    """The general-criteria form ``person`` fills for ``period`` (leader: Phụ lục 1, staff:
    Phụ lục 2 / Mẫu số 03, ``001 §II.1``), as :func:`forms.template_as_data`.

    Raises:
        EvaluationError: no kind and no relation (422); no template in force (409).
    """
    return forms.template_as_data(_template(session, _kind(person, relation, kind), period))


def _form_of(
    session: Session, snap: Mapping[str, Any], relation: Mapping[str, Any] | None
) -> forms.FormTemplate | None:
    """The template a snapshot's rows were given on; else the person's form in force (when the
    relation tells the kind); else none."""
    for key in ("review_rows", "self_rows"):
        given = snap.get(key)
        if given:
            row = repo.form_template(
                session, given["kind"], date.fromisoformat(given["effective_from"])
            )
            if row is not None:
                return forms.template_from_data(row.content)
    if relation is None:
        return None
    found = repo.form_template_in_force(
        session, forms.kind_of(snap["person"], relation), _first_day(snap["period"])
    )
    return forms.template_from_data(found.content) if found is not None else None


def person_record(
    session: Session,
    person: str,
    period: str,
    relation: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Record 1 of ``001 §V.2``: the person's self-assessment form
    (:func:`services.evaluation.records.person_form`).

    Raises:
        EvaluationError: 404 when the month was not opened.
    """
    snap = snapshot(_get(session, person, period))
    return unit_records.person_form(snap, _form_of(session, snap, relation), name)


def unit_records_of(
    session: Session,
    unit: str,
    period: str,
    relation: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The three records of ``001 §V.2`` for ``unit``'s month: every person's form, the
    unit's summary list and the list proposed for commendation
    (:mod:`services.evaluation.records`). ``names`` maps person codes to names (planning's).

    Returns:
        ``{"person_forms": [...], "summary": {...}, "commendation": {...}}`` (plain data).
    """
    names = names or {}
    snaps = [snapshot(ev) for ev in repo.evaluations_of_unit(session, unit, period)]
    person_forms = [
        unit_records.person_form(s, _form_of(session, s, relation), names.get(s["person"]))
        for s in snaps
    ]
    return {
        "person_forms": person_forms,
        "summary": unit_records.unit_summary(unit, period, snaps, names),
        "commendation": unit_records.commendation_list(unit, period, snaps, names),
    }
