"""Tasks use cases: assignment by the "6 rõ" rule, the lifecycle, evidence, the facts scoring
needs (returns for quality, late submissions, objective causes, exceeded marks), coordination
ratings, the month's ledger, reminders and warnings.

Functions take an open session inside the caller's transaction and never commit; every change
is recorded in the outbox and appended to the tenant's audit chain (state before and after,
:mod:`services.common.audit`) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import audit as audit_chain
from services.common.events import CloudEvent
from services.common.outbox import record
from services.tasks import ledger as ledger_rules
from services.tasks import lifecycle, workdays
from services.tasks import repository as repo
from services.tasks.evidence import EvidenceRejected, EvidenceStore, check_upload
from services.tasks.models import (
    CalendarEntry,
    ClosedPeriod,
    Evidence,
    ExceededMark,
    ObjectiveCause,
    ProgressNote,
    Pushback,
    Rating,
    Review,
    Submission,
    Task,
    audit,
    outbox,
)
from services.tasks.planning_client import PlanningDirectory

SERVICE = "tasks"
EDITABLE = (
    "name",
    "basis",
    "group",
    "key_result",
    "lead_unit",
    "lead_person",
    "collaborating_units",
    "collaborating_people",
    "start_date",
    "due_date",
    "output_product",
    "quality_criteria",
    "catalog_item",
    "quantity",
)


class TaskError(Exception):
    """A refused use case: ``field``, ``reason`` and the HTTP ``status`` to answer with."""

    def __init__(
        self, field: str, reason: str, status: int = 422, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status, self.extra = field, reason, status, extra or {}


@dataclass(frozen=True)
class TenantRules:
    """A tenant's settings used here: period start day, warning horizon (days), the evidence
    size limit (MB), how many uploads a person may keep unattached (``evidence_max_pending``)
    and the work calendar."""

    period_start_day: int = 1
    warn_days: int = 3
    stale_days: int = 7
    evidence_max_mb: int = 20
    evidence_max_pending: int = 50
    calendar: workdays.WorkCalendar = field(default_factory=workdays.WorkCalendar)

    @classmethod
    def from_config(cls, config: dict[str, Any], evidence_max_mb: int) -> TenantRules:
        cal = config.get("calendar", {})
        tasks = config.get("tasks", {})
        return cls(
            period_start_day=int(cal.get("period_start_day", 1)),
            warn_days=int(tasks.get("warn_days", 3)),
            stale_days=int(tasks.get("stale_days", 7)),
            evidence_max_mb=int(tasks.get("evidence_max_mb", evidence_max_mb)),
            evidence_max_pending=int(tasks.get("evidence_max_pending", 50)),
        )


def emit(
    session: Session,
    tenant: str,
    action: str,
    task: Task,
    data: dict[str, Any],
    entity: str = "task",
) -> None:
    """Record a tasks event (``vn.woms.tasks.<entity>.<action>.v1``) in the outbox.

    Every event carries the task's code, lead person and unit, period and, once set, its group,
    points (exact decimal text) and due date (ISO), so reporting can keep points by group."""
    facts: dict[str, Any] = {
        "task": task.code,
        "lead_person": task.lead_person,
        "lead_unit": task.lead_unit,
        "period": task.period,
    }
    if task.group is not None:
        facts["group"] = task.group
    if task.points is not None:
        facts["points"] = format(Decimal(task.points).normalize(), "f")
    if task.due_date is not None:
        facts["due_date"] = task.due_date.isoformat()
    record(
        session,
        outbox,
        CloudEvent.of(
            tenant=tenant,
            service=SERVICE,
            entity=entity,
            action=action,
            subject=task.code,
            data={**facts, **data},
        ),
    )


def _audit(
    session: Session,
    action: str,
    kind: str,
    object_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: str | None = None,
    tenant: str | None = None,
) -> None:
    """Append the change to the audit chain at commit (actor and tenant default to the
    request's, :func:`services.common.audit.record`)."""
    audit_chain.record(
        session,
        audit,
        action=action,
        object_kind=kind,
        object_id=object_id,
        before=before,
        after=after,
        actor=actor or session.info.get(audit_chain.ACTOR_KEY) or f"system:{SERVICE}",
        tenant=tenant,
    )


def _state(task: Task) -> dict[str, Any]:
    """The task's audited state: status, the editable fields, period and points."""
    return {
        "status": task.status,
        **_fields(task),
        "period": task.period,
        "coefficient": task.coefficient,
        "points": task.points,
        "percent": task.percent,
    }


def get_task(session: Session, code: str) -> Task:
    """The task ``code``. Raises :class:`TaskError` (404) when absent."""
    task = repo.task_by_code(session, code)
    if task is None:
        raise TaskError("code", f"{code!r} không tồn tại / not found", 404)
    return task


def _fields(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in EDITABLE}


def _price(task: Task, tenant: str, directory: PlanningDirectory, rules: TenantRules) -> None:
    """Period from the due date; points = quantity × coefficient in force at the period's start
    (``001 §III.1``; a catalog change applies from the next period)."""
    task.period = (
        workdays.period_of(task.due_date, rules.period_start_day) if task.due_date else None
    )
    task.coefficient = task.points = None
    if task.period and task.catalog_item and task.quantity is not None:
        start, _ = workdays.period_bounds(task.period, rules.period_start_day)
        coefficient = directory.coefficient(tenant, task.catalog_item, start)
        if coefficient is None:
            raise TaskError(
                "catalog_item",
                f"{task.catalog_item!r} không có trong danh mục "
                f"kỳ {task.period} / not in the work catalog",
            )
        task.coefficient = coefficient
        task.points = Decimal(task.quantity) * coefficient


def create_task(
    session: Session,
    tenant: str,
    directory: PlanningDirectory,
    rules: TenantRules,
    actor: str,
    values: dict[str, Any],
    parent: str | None = None,
) -> Task:
    """A new task in ``draft`` with the given fields (any may be missing in a draft)."""
    now = datetime.now(UTC)
    task = Task(
        code=f"new-{uuid.uuid4().hex}",  # replaced by CV-<id> once the database gave the id
        status=lifecycle.TaskStatus.DRAFT.value,
        assigner=actor,
        created_at=now,
        last_update_at=now,
        percent=0,
        collaborating_units=[],
        collaborating_people=[],
    )
    if parent:
        task.parent_id = get_task(session, parent).id
    _apply(task, values)
    _price(task, tenant, directory, rules)
    session.add(task)
    session.flush()
    task.code = f"CV-{task.id:06d}"  # from the row id: no race between concurrent creations
    session.flush()
    _audit(session, "task.created", "task", task.code, None, _state(task), actor, tenant)
    return task


def _apply(task: Task, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if name not in EDITABLE:
            raise TaskError(name, "không sửa được / not editable")
        if value is None and name in ("collaborating_units", "collaborating_people"):
            value = []  # null clears the list (the column holds a list, never null)
        setattr(task, name, list(value) if isinstance(value, tuple) else value)


def update_task(
    session: Session,
    tenant: str,
    directory: PlanningDirectory,
    rules: TenantRules,
    code: str,
    values: dict[str, Any],
) -> Task:
    """Edit a draft's (or an assigned task's) fields; 409 in any later state."""
    task = get_task(session, code)
    if task.status not in {"draft", "assigned"}:
        raise TaskError(
            "status", f"không sửa được ở trạng thái {task.status}", 409, {"current": task.status}
        )
    before = _state(task)
    _apply(task, values)
    _price(task, tenant, directory, rules)
    task.last_update_at = datetime.now(UTC)
    _audit(session, "task.updated", "task", task.code, before, _state(task), tenant=tenant)
    return task


def act(
    session: Session,
    tenant: str,
    rules: TenantRules,
    code: str,
    action: str,
    actor: str,
    today: date,
    *,
    reason: str | None = None,
    for_quality: bool = True,
    evidence_ids: Iterable[int] = (),
    note: str | None = None,
) -> Task:
    """Move a task: ``assign`` (only with every "6 rõ" field), ``start``, ``submit`` (records
    lateness in working days, ``001 §III.2``), ``approve`` (never by the lead), ``return``
    (reason required; a return for quality counts one quality failure), ``cancel`` (reason).

    Raises:
        TaskError: 409 with the current state for an invalid transition; 422 listing every
            missing field, or a missing reason; 403 when the lead approves their own task.
    """
    task = get_task(session, code)
    current = lifecycle.TaskStatus(task.status)
    if action == "approve" and not lifecycle.may_approve(actor, task.lead_person):
        raise TaskError(
            "actor",
            "không ai tự duyệt nhiệm vụ mình chủ trì / nobody approves a task they lead",
            403,
        )
    try:
        target = lifecycle.transition(current, action, reason=reason, fields=_fields(task))
    except lifecycle.InvalidTransition as exc:
        raise TaskError(
            "status",
            f"không thể {action} khi đang {current.value}",
            409,
            {"current": current.value},
        ) from exc
    except lifecycle.MissingFields as exc:
        raise TaskError(
            "fields",
            "thiếu thông tin bắt buộc (6 rõ): " + ", ".join(exc.fields),
            422,
            {"missing": list(exc.fields)},
        ) from exc
    except lifecycle.ReasonRequired as exc:
        raise TaskError("reason", "phải nêu lý do / a reason is required") from exc
    now = datetime.now(UTC)
    data: dict[str, Any] = {"by": actor, "on": today.isoformat()}
    if action == "submit":
        assert task.due_date is not None
        late = rules.calendar.working_days_late(task.due_date, today)
        submission = Submission(
            task_id=task.id, on=today, at=now, by=actor, note=note, days_late=late
        )
        session.add(submission)
        session.flush()
        for evidence_id in evidence_ids:
            item = session.get(Evidence, evidence_id)
            if item is None or item.submission_id is not None or item.uploaded_by != actor:
                raise TaskError("evidence_ids", f"minh chứng {evidence_id} không hợp lệ")
            item.submission_id = submission.id
        data |= {"days_late": late, "late": late > 0, "submission": submission.id}
    elif action in {"approve", "return"}:
        last = task.submissions[-1] if task.submissions else None
        session.add(
            Review(
                task_id=task.id,
                submission_id=last.id if last else None,
                decision="approved" if action == "approve" else "returned",
                for_quality=for_quality if action == "return" else False,
                reason=reason,
                by=actor,
                on=today,
                at=now,
            )
        )
        if action == "approve":
            task.approved_on, task.percent = today, 100
        data |= {"reason": reason, "for_quality": for_quality if action == "return" else None}
        if last is not None:  # the decided submission's lateness travels with the decision
            data["late"] = last.days_late > 0
    elif action == "cancel":
        task.cancel_reason = reason
        data |= {"reason": reason}
    task.status = target.value
    task.last_update_at = now
    session.flush()
    event = {
        "assign": "assigned",
        "start": "started",
        "submit": "submitted",
        "approve": "approved",
        "return": "returned",
        "cancel": "cancelled",
    }[action]
    emit(session, tenant, event, task, data)
    after = {"status": task.status, **data}
    _audit(session, f"task.{event}", "task", code, {"status": current.value}, after, actor, tenant)
    return task


def add_progress(
    session: Session,
    code: str,
    actor: str,
    percent: int,
    difficulties: str | None,
    note: str | None,
) -> ProgressNote:
    """A progress update (0–100%) with difficulties (khó khăn, vướng mắc)."""
    task = get_task(session, code)
    if task.status not in {"assigned", "in_progress", "returned"}:
        raise TaskError(
            "status", f"không cập nhật tiến độ khi {task.status}", 409, {"current": task.status}
        )
    item = ProgressNote(
        task_id=task.id,
        percent=percent,
        difficulties=difficulties,
        note=note,
        by=actor,
        at=datetime.now(UTC),
    )
    before = {"percent": task.percent}
    task.percent, task.last_update_at = percent, item.at
    session.add(item)
    session.flush()
    after = {"percent": percent, "difficulties": difficulties, "note": note}
    _audit(session, "task.progress", "task", code, before, after, actor)
    return item


def push_back(session: Session, code: str, actor: str, topic: str, text: str) -> Pushback:
    """The assignee questions an unclear task (scope, authority or resources)."""
    task = get_task(session, code)
    item = Pushback(task_id=task.id, topic=topic, text=text, by=actor, at=datetime.now(UTC))
    session.add(item)
    session.flush()
    after = {"topic": topic, "text": text}
    _audit(session, "pushback.created", "pushback", f"{code}/{item.id}", None, after, actor)
    return item


def answer_push_back(
    session: Session, code: str, pushback_id: int, actor: str, answer: str
) -> Pushback:
    """The assigner answers a push-back."""
    task = get_task(session, code)
    item = session.get(Pushback, pushback_id)
    if item is None or item.task_id != task.id:
        raise TaskError("pushback", "không tồn tại / not found", 404)
    before = {"answer": item.answer, "answered_by": item.answered_by}
    item.answer, item.answered_by, item.answered_at = answer, actor, datetime.now(UTC)
    after = {"answer": answer, "answered_by": actor}
    _audit(session, "pushback.answered", "pushback", f"{code}/{item.id}", before, after, actor)
    return item


def confirm_cause(
    session: Session, tenant: str, code: str, actor: str, kind: str, why: str, today: date
) -> ObjectiveCause:
    """An authority confirms an objective cause on a quality failure or a delay: no deduction
    (``001 §III.2``)."""
    task = get_task(session, code)
    if task.lead_person == actor:
        raise TaskError("actor", "người chủ trì không tự xác nhận / not by the lead", 403)
    item = ObjectiveCause(task_id=task.id, kind=kind, why=why, by=actor, on=today)
    session.add(item)
    session.flush()
    emit(
        session,
        tenant,
        "confirmed",
        task,
        {"kind": kind, "why": why, "by": actor},
        entity="objective_cause",
    )
    after = {"kind": kind, "why": why, "on": today}
    object_id = f"{code}/{item.id}"
    _audit(
        session,
        "objective_cause.confirmed",
        "objective_cause",
        object_id,
        None,
        after,
        actor,
        tenant,
    )
    return item


def mark_exceeded(
    session: Session, code: str, actor: str, kind: str, note: str | None, today: date
) -> ExceededMark:
    """Work that exceeded expectations, confirmed by ``actor`` (``000 §II.2``)."""
    task = get_task(session, code)
    if task.lead_person == actor:
        raise TaskError("actor", "người chủ trì không tự xác nhận / not by the lead", 403)
    item = ExceededMark(task_id=task.id, kind=kind, note=note, by=actor, on=today)
    session.add(item)
    session.flush()
    after = {"kind": kind, "note": note, "on": today}
    _audit(
        session, "exceeded_mark.confirmed", "exceeded_mark", f"{code}/{item.id}", None, after, actor
    )
    return item


def store_evidence(
    session: Session,
    store: EvidenceStore,
    rules: TenantRules,
    actor: str,
    data: bytes,
    filename: str,
) -> Evidence:
    """Check (type by content, size within the tenant limit) and store an evidence file.

    Raises:
        services.tasks.evidence.EvidenceRejected: executable, unknown type, empty, too large, or
            ``actor`` already holds ``rules.evidence_max_pending`` uploads not yet attached to a
            submission (a count limit: unattached uploads cannot pile up without bound).
    """
    pending = session.scalar(
        select(func.count())
        .select_from(Evidence)
        .where(Evidence.submission_id.is_(None), Evidence.uploaded_by == actor)
    )
    if (pending or 0) >= rules.evidence_max_pending:
        limit = rules.evidence_max_pending
        raise EvidenceRejected(
            f"Đã có {pending} minh chứng chưa đính kèm (tối đa {limit}) / {pending} uploads are "
            f"not attached to a submission yet (at most {limit})"
        )
    check_upload(data, filename, max_bytes=rules.evidence_max_mb * 1024 * 1024)
    stored = store.put(data, filename)
    item = Evidence(
        submission_id=None,
        uploaded_by=actor,
        key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        content_type=stored.content_type,
        filename=filename,
    )
    session.add(item)
    session.flush()
    after = {
        "sha256": stored.sha256,
        "size": stored.size,
        "content_type": stored.content_type,
        "filename": filename,
    }
    _audit(session, "evidence.stored", "evidence", str(item.id), None, after, actor)
    return item


# --- coordination ratings (360°, 000 §IV.4) -------------------------------------------------


def rate(
    session: Session, code: str, rater: str, ratee: str, score: int, comment: str | None
) -> Rating:
    """The lead rates a collaborator (person or unit) or a collaborator rates the lead, once the
    task is approved; editable until the period closes."""
    task = get_task(session, code)
    if task.status != "approved":
        raise TaskError(
            "status", "chỉ đánh giá phối hợp khi nhiệm vụ đã duyệt", 409, {"current": task.status}
        )
    if task.period and session.get(ClosedPeriod, task.period) is not None:
        raise TaskError("period", f"kỳ {task.period} đã khóa / period closed", 409)
    collaborators = set(task.collaborating_people) | set(task.collaborating_units)
    if rater == task.lead_person and ratee in collaborators:
        kind = "unit" if ratee in task.collaborating_units else "person"
    elif rater in task.collaborating_people and ratee == task.lead_person:
        kind = "person"
    else:
        raise TaskError("ratee", "chỉ chủ trì ↔ phối hợp / only lead ↔ collaborators", 403)
    item = repo.rating(session, task.id, rater, ratee)
    before = None if item is None else {"score": item.score, "comment": item.comment}
    now = datetime.now(UTC)
    if item is None:
        item = Rating(
            task_id=task.id,
            period=task.period or "",
            rater=rater,
            ratee=ratee,
            ratee_kind=kind,
            score=score,
            comment=comment,
            updated_at=now,
        )
        session.add(item)
    else:
        item.score, item.comment, item.updated_at = score, comment, now
    session.flush()
    after = {"score": score, "comment": comment, "period": item.period}
    _audit(session, "rating.set", "rating", f"{code}/{rater}/{ratee}", before, after, rater)
    return item


def close_period(session: Session, period: str) -> bool:
    """Close ``period`` for rating edits (done when the cycle publishes); True if newly closed."""
    if session.get(ClosedPeriod, period) is not None:
        return False
    session.add(ClosedPeriod(period=period, closed_at=datetime.now(UTC)))
    session.flush()
    _audit(session, "period.closed", "period", period, {"closed": False}, {"closed": True})
    return True


def rating_summary(
    session: Session, ratee: str, period: str, *, with_raters: bool
) -> dict[str, Any]:
    """Average coordination rating of ``ratee`` in ``period``; individual ratings show who gave
    them only ``with_raters`` (the authority)."""
    rows = repo.ratings_of(session, ratee, period)
    average = (
        (Decimal(sum(r.score for r in rows)) / len(rows)).quantize(Decimal("0.01"))
        if rows
        else None
    )
    return {
        "ratee": ratee,
        "period": period,
        "count": len(rows),
        "average": average,
        "ratings": [
            {"score": r.score, "comment": r.comment, **({"rater": r.rater} if with_raters else {})}
            for r in rows
        ],
    }


# --- the month's ledger ----------------------------------------------------------------------


def _facts(task: Task) -> ledger_rules.TaskFacts:
    return ledger_rules.TaskFacts(
        task_code=task.code,
        name=task.name or "",
        group=task.group or "regular",
        points=task.points or Decimal(0),
        status=task.status,
        due_date=task.due_date,
        submissions=tuple(
            ledger_rules.SubmissionFact(
                id=f"submission:{s.id}",
                at=s.on,
                evidence_ids=tuple(f"evidence:{e.id}" for e in s.evidence),
            )
            for s in task.submissions
        ),
        returns=tuple(
            ledger_rules.ReturnFact(
                id=f"review:{r.id}", at=r.on, for_quality=r.for_quality, reason=r.reason or ""
            )
            for r in task.reviews
            if r.decision == "returned"
        ),
        objective_causes=tuple(
            ledger_rules.CauseFact(id=f"cause:{c.id}", kind=c.kind, by=c.by, at=c.on, why=c.why)
            for c in task.causes
        ),
        exceeded_marks=tuple(
            ledger_rules.ExceededFact(id=f"exceeded:{m.id}", kind=m.kind, by=m.by, at=m.on)
            for m in task.exceeded_marks
        ),
        approved_at=task.approved_on,
    )


def ledger(
    session: Session,
    rules: TenantRules,
    period: str,
    *,
    person: str | None = None,
    unit: str | None = None,
) -> list[tuple[Task, Any]]:
    """Per task, exactly the inputs of the scoring engine (``services.tasks.ledger``)."""
    return [
        (t, ledger_rules.ledger_line(_facts(t), rules.calendar))
        for t in repo.ledger_tasks(session, period, person=person, unit=unit)
    ]


# --- reminders and warnings ----------------------------------------------------------------


def warnings(
    session: Session,
    rules: TenantRules,
    today: date,
    *,
    person: str | None = None,
    unit: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Tasks due within ``warn_days``, overdue tasks, and tasks without an update for
    ``stale_days`` — per person and unit, as data for reminders and dashboards."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    horizon = today + timedelta(days=rules.warn_days)
    stale_before = datetime.combine(
        today - timedelta(days=rules.stale_days), datetime.min.time(), tzinfo=UTC
    )
    for task in repo.open_tasks(session, person=person, unit=unit):
        item = {
            "task": task.code,
            "name": task.name,
            "lead_person": task.lead_person,
            "lead_unit": task.lead_unit,
            "due_date": task.due_date,
            "percent": task.percent,
        }
        if task.due_date and task.due_date < today:
            out["overdue"].append({**item, "days_overdue": (today - task.due_date).days})
        elif task.due_date and task.due_date <= horizon:
            out["due_soon"].append(item)
        last = task.last_update_at
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last < stale_before:
            out["no_update"].append(item)
    return {key: out.get(key, []) for key in ("due_soon", "overdue", "no_update")}


def flag_overdue(session: Session, tenant: str, today: date) -> list[str]:
    """Emit ``vn.woms.tasks.task.overdue.v1`` once for each open task whose due date has passed
    (run daily by the cycle); returns the codes flagged now."""
    flagged = []
    for task in repo.overdue_unflagged(session, today):
        task.overdue_notified = True
        assert task.due_date is not None
        emit(
            session,
            tenant,
            "overdue",
            task,
            {"due_date": task.due_date.isoformat(), "days_overdue": (today - task.due_date).days},
        )
        before, after = {"overdue_notified": False}, {"overdue_notified": True, "on": today}
        _audit(session, "task.overdue", "task", task.code, before, after, tenant=tenant)
        flagged.append(task.code)
    return flagged


def calendar_entries(session: Session, person: str, week_start: date) -> list[CalendarEntry]:
    """A person's weekly work calendar (Monday ``week_start`` … Sunday)."""
    return repo.calendar_week(session, person, week_start)


def add_calendar_entry(
    session: Session, person: str, day: date, title: str, task: str | None, note: str | None
) -> CalendarEntry:
    item = CalendarEntry(
        person=person,
        day=day,
        title=title,
        task_id=get_task(session, task).id if task else None,
        note=note,
    )
    session.add(item)
    session.flush()
    after = {"person": person, "day": day, "title": title, "task": task, "note": note}
    _audit(session, "calendar_entry.created", "calendar_entry", str(item.id), None, after)
    return item
