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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import audit as audit_chain
from services.common.events import CloudEvent
from services.common.outbox import record
from services.tasks import access, lifecycle, workdays
from services.tasks import ledger as ledger_rules
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


Relation = Mapping[str, Any]
"""The org chart and evaluator relation of the request's day (planning's
``/evaluators/policy-data``, :meth:`PlanningDirectory.org`)."""

MIN_YEAR, MAX_YEAR = 2000, 2099
"""Years a task's start and due dates may fall in: the plan years whose periods ``YYYY-MM``
the APIs accept (``services.tasks.api.PERIOD``) from 2000 on. Outside them → 422 naming the
field (``9999-12-31`` has no period: its bounds would be in year 10000)."""

QUANTITY_DECIMALS = 3
"""At most this many decimals in a quantity (``4.25`` hội nghị of ``002``): ``1E-27`` is
refused, never rounded."""

POINTS_DECIMALS = 6
"""Points are stored and exported with at most 6 decimals (``Numeric(24, 6)``, ``TASKS.csv``);
a quantity × coefficient needing more is refused rather than rounded (exact arithmetic)."""

MAX_COLLABORATORS = 50
"""At most this many collaborating people, and as many units, on one task."""


@dataclass(frozen=True)
class TenantRules:
    """A tenant's settings used here (``calendar:`` and ``tasks:`` of the tenant's config):
    period start day, warning horizon and staleness (days), the evidence size limit (MB), how
    many uploads a person may keep unattached (``evidence_max_pending``), the work calendar,
    and the bounds on points (``DOMAIN.md §4`` "quantity is bounded by the catalog"; issue 15):

    * ``max_quantity_per_task`` — catalog units in one task (default 1000);
    * ``max_points_per_task`` — quantity × coefficient of one task (points, default 200);
    * ``max_points_per_person_month`` — Σ points of the tasks a person leads in one period
      once given (assigned or accepted; points, default 1000);
    * ``evidence_exempt_items`` — catalog codes whose submissions need no evidence (default
      none: evidence is required, ``000 §VI.4``); planning's ``evidence_required`` flag on the
      catalog item wins when planning sends one.
    """

    period_start_day: int = 1
    warn_days: int = 3
    stale_days: int = 7
    evidence_max_mb: int = 20
    evidence_max_pending: int = 50
    calendar: workdays.WorkCalendar = field(default_factory=workdays.WorkCalendar)
    max_quantity_per_task: Decimal = Decimal(1000)
    max_points_per_task: Decimal = Decimal(200)
    max_points_per_person_month: Decimal = Decimal(1000)
    evidence_exempt_items: frozenset[str] = frozenset()

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
            max_quantity_per_task=Decimal(str(tasks.get("max_quantity_per_task", 1000))),
            max_points_per_task=Decimal(str(tasks.get("max_points_per_task", 200))),
            max_points_per_person_month=Decimal(
                str(tasks.get("max_points_per_person_month", 1000))
            ),
            evidence_exempt_items=frozenset(
                str(code) for code in (tasks.get("evidence_exempt_items") or [])
            ),
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
    """The task's audited state: status, the editable fields, period, points, who proposed and
    who assigned it."""
    return {
        "status": task.status,
        **_fields(task),
        "period": task.period,
        "coefficient": task.coefficient,
        "points": task.points,
        "percent": task.percent,
        "assigner": task.assigner,
        "proposed_by": task.proposed_by,
    }


def get_task(session: Session, code: str) -> Task:
    """The task ``code``. Raises :class:`TaskError` (404) when absent."""
    task = repo.task_by_code(session, code)
    if task is None:
        raise TaskError("code", f"{code!r} không tồn tại / not found", 404)
    return task


def _fields(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in EDITABLE}


def changed_fields(task: Task, values: Mapping[str, Any]) -> list[str]:
    """The names in ``values`` whose value differs from ``task``'s (a ``null`` list counts as
    the empty list), sorted: what an edit changes, for the policy (``changes``)."""
    out = []
    for name, value in values.items():
        current = getattr(task, name, None)
        if name in ("collaborating_units", "collaborating_people"):
            value, current = list(value or []), list(current or [])
        if value != current:
            out.append(name)
    return sorted(out)


def _check_dates(task: Task) -> None:
    """Start and due dates within :data:`MIN_YEAR` – :data:`MAX_YEAR` (422 naming the field)."""
    for name in ("start_date", "due_date"):
        value = getattr(task, name)
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise TaskError(
                name,
                f"ngày phải trong các năm {MIN_YEAR}–{MAX_YEAR} / the date must be in the years "
                f"{MIN_YEAR}–{MAX_YEAR}",
            )


def _check_people(task: Task, org: Relation) -> None:
    """The lead person, lead unit and collaborators against the org chart of the request's day
    (``000 §V.2``: one lead person of the lead unit; issue 15 "hostile run").

    Raises:
        TaskError: 422 — ``lead_person`` not in the org chart; ``lead_unit`` unknown, or not one
            of the lead person's units (``unit_members``); a collaborating person or unit
            unknown; more than :data:`MAX_COLLABORATORS` of either.
    """
    members: Mapping[str, list[str]] = org.get("unit_members", {}) or {}
    heads: Mapping[str, str] = org.get("unit_heads", {}) or {}
    if task.lead_person and not access.known_person(org, task.lead_person):
        raise TaskError(
            "lead_person",
            f"{task.lead_person!r} không có trong sơ đồ tổ chức / not in the org chart",
        )
    if task.lead_unit and task.lead_unit not in members and task.lead_unit not in heads:
        raise TaskError("lead_unit", f"{task.lead_unit!r} không tồn tại / unknown unit")
    if (
        task.lead_person
        and task.lead_unit
        and task.lead_unit not in access.units_of(org, task.lead_person)
    ):
        raise TaskError(
            "lead_unit",
            f"{task.lead_person!r} không thuộc đơn vị {task.lead_unit!r} / the lead person is "
            "not a member of the lead unit",
        )
    for name, known in (
        ("collaborating_people", lambda p: access.known_person(org, p)),
        ("collaborating_units", lambda u: u in members or u in heads),
    ):
        values = list(getattr(task, name) or [])
        if len(values) > MAX_COLLABORATORS:
            raise TaskError(name, f"tối đa {MAX_COLLABORATORS} / at most {MAX_COLLABORATORS}")
        unknown = [v for v in values if not known(v)]
        if unknown:
            raise TaskError(
                name, f"không có trong sơ đồ tổ chức / not in the org chart: {unknown[0]!r}"
            )


def _check_quantity(task: Task, rules: TenantRules) -> None:
    """A positive, finite quantity with at most :data:`QUANTITY_DECIMALS` decimals, at most
    ``rules.max_quantity_per_task`` (422 ``quantity``)."""
    q = task.quantity
    if q is None:
        return
    q = Decimal(q)
    if not q.is_finite() or q <= 0:
        raise TaskError("quantity", "phải là số dương / must be a positive number")
    exponent = q.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_DECIMALS:
        raise TaskError(
            "quantity",
            f"tối đa {QUANTITY_DECIMALS} chữ số thập phân / at most {QUANTITY_DECIMALS} decimals",
        )
    if q > rules.max_quantity_per_task:
        limit = rules.max_quantity_per_task
        raise TaskError("quantity", f"tối đa {limit} / at most {limit} per task")


def _price(task: Task, tenant: str, directory: PlanningDirectory, rules: TenantRules) -> None:
    """Period from the due date; points = quantity × coefficient in force at the period's start
    (``001 §III.1``; a catalog change applies from the next period); whether a submission needs
    evidence (catalog ``evidence_required`` when planning sends it, else not in the tenant's
    ``evidence_exempt_items``; ``000 §VI.4``).

    Raises:
        TaskError: 422 — a date outside :data:`MIN_YEAR`–:data:`MAX_YEAR`; a bad quantity
            (:func:`_check_quantity`); a catalog item not in the catalog of the period, or of
            another unit than the lead unit (a tenant-wide item, ``unit`` null, fits every
            unit); points above ``rules.max_points_per_task`` or needing more than
            :data:`POINTS_DECIMALS` decimals.
    """
    _check_dates(task)
    _check_quantity(task, rules)
    task.period = (
        workdays.period_of(task.due_date, rules.period_start_day) if task.due_date else None
    )
    task.coefficient = task.points = None
    task.evidence_required = (task.catalog_item or "") not in rules.evidence_exempt_items
    if task.period and task.catalog_item:
        start, _ = workdays.period_bounds(task.period, rules.period_start_day)
        entry = directory.catalog_entry(tenant, task.catalog_item, start)
        if entry is None:
            raise TaskError(
                "catalog_item",
                f"{task.catalog_item!r} không có trong danh mục "
                f"kỳ {task.period} / not in the work catalog",
            )
        if entry.unit is not None and task.lead_unit and entry.unit != task.lead_unit:
            raise TaskError(
                "catalog_item",
                f"{task.catalog_item!r} thuộc danh mục của đơn vị {entry.unit}, không phải "
                f"{task.lead_unit} / belongs to another unit's catalog",
            )
        if entry.evidence_required is not None:
            task.evidence_required = entry.evidence_required
        if task.quantity is not None:
            points = Decimal(task.quantity) * entry.coefficient
            exponent = points.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -POINTS_DECIMALS:
                raise TaskError(
                    "quantity",
                    f"điểm quy đổi quá {POINTS_DECIMALS} chữ số thập phân / points would need "
                    f"more than {POINTS_DECIMALS} decimals",
                )
            if points > rules.max_points_per_task:
                limit = rules.max_points_per_task
                raise TaskError(
                    "quantity",
                    f"{points.normalize():f} điểm vượt mức tối đa {limit} điểm/nhiệm vụ / "
                    f"points above the maximum of {limit} per task",
                )
            task.coefficient = entry.coefficient
            task.points = points


def _check_month_points(session: Session, task: Task, rules: TenantRules) -> None:
    """Σ points of the lead's given tasks in the period, with this one, within
    ``rules.max_points_per_person_month`` (422 ``quantity``); checked when the task enters the
    ledger (assign, accept) and when a given task is edited."""
    if not task.lead_person or not task.period or task.points is None:
        return
    others = repo.given_points(session, task.lead_person, task.period, exclude=task.id)
    total = others + Decimal(task.points)
    if total > rules.max_points_per_person_month:
        limit = rules.max_points_per_person_month
        raise TaskError(
            "quantity",
            f"tổng điểm kỳ {task.period} của {task.lead_person} sẽ là {total.normalize():f}, "
            f"vượt {limit} / the person's points of the period would exceed {limit}",
        )


def create_task(
    session: Session,
    tenant: str,
    directory: PlanningDirectory,
    rules: TenantRules,
    actor: str,
    values: dict[str, Any],
    parent: str | None = None,
    org: Relation | None = None,
) -> Task:
    """A new task in ``draft`` with the given fields (any may be missing in a draft), created by
    ``actor`` (its ``proposed_by``; its ``assigner`` until an authority assigns or accepts it).

    The caller has checked that ``actor`` may create it (``task.create``). The fields are
    checked against ``org`` (:func:`_check_people`) when given and priced (:func:`_price`).

    Raises:
        TaskError: 422 naming the field (see :func:`_check_people`, :func:`_price`); 404 for an
            unknown ``parent``.
    """
    now = datetime.now(UTC)
    task = Task(
        code=f"new-{uuid.uuid4().hex}",  # replaced by CV-<id> once the database gave the id
        status=lifecycle.TaskStatus.DRAFT.value,
        assigner=actor,
        proposed_by=actor,
        created_at=now,
        last_update_at=now,
        percent=0,
        collaborating_units=[],
        collaborating_people=[],
        evidence_required=True,
    )
    if parent:
        task.parent_id = get_task(session, parent).id
    _apply(task, values)
    if org is not None:
        _check_people(task, org)
    _price(task, tenant, directory, rules)
    session.add(task)
    session.flush()
    task.code = f"CV-{task.id:06d}"  # from the row id: no race between concurrent creations
    session.flush()
    _audit(session, "task.created", "task", task.code, None, _state(task), actor, tenant)
    return task


def _apply(task: Task, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name not in EDITABLE:
            raise TaskError(name, "không sửa được / not editable")
        if value is None and name in ("collaborating_units", "collaborating_people"):
            value = []  # null clears the list (the column holds a list, never null)
        setattr(task, name, list(value) if isinstance(value, tuple | list) else value)


EDITABLE_STATUSES = frozenset({"draft", "proposed", "assigned"})
"""States in which a task's fields may still change (later, the work is under way)."""


def update_task(
    session: Session,
    tenant: str,
    directory: PlanningDirectory,
    rules: TenantRules,
    code: str,
    values: dict[str, Any],
    org: Relation | None = None,
) -> Task:
    """Edit a draft's, a proposal's or an assigned task's fields; 409 in any later state. The
    fields are checked as in :func:`create_task`; an assigned task's points stay within the
    person-month maximum.

    Raises:
        TaskError: 409 with the current state; 422 naming the field.
    """
    task = get_task(session, code)
    if task.status not in EDITABLE_STATUSES:
        raise TaskError(
            "status",
            f"không sửa được ở trạng thái {task.status} / not editable when {task.status}",
            409,
            {"current": task.status},
        )
    before = _state(task)
    _apply(task, values)
    if org is not None:
        _check_people(task, org)
    _price(task, tenant, directory, rules)
    if task.status == lifecycle.TaskStatus.ASSIGNED.value:
        _check_month_points(session, task, rules)
    task.last_update_at = datetime.now(UTC)
    _audit(session, "task.updated", "task", task.code, before, _state(task), tenant=tenant)
    return task


def _attach_evidence(
    session: Session,
    task: Task,
    submission: Submission,
    actor: str,
    evidence_ids: Iterable[int],
    links: Iterable[str] = (),
) -> None:
    """Attach the caller's unattached uploads and the evidence links to ``submission``; at
    least one file or link unless the task needs none (``000 §VI.4`` "không có sản phẩm hoặc
    minh chứng"; ``DOMAIN.md §4``).

    Raises:
        TaskError: 422 ``evidence_ids`` — an id that is not the caller's unattached upload, or
            neither a file nor a link given where evidence is required.
    """
    ids = list(dict.fromkeys(evidence_ids))
    submission.links = list(dict.fromkeys(str(link) for link in links))
    if not ids and not submission.links and task.evidence_required:
        raise TaskError(
            "evidence_ids",
            "phải kèm ít nhất một minh chứng, tệp hoặc liên kết (000 §VI.4) / at least one "
            "evidence file or link is required for this catalog item",
        )
    for evidence_id in ids:
        item = session.get(Evidence, evidence_id)
        if item is None or item.submission_id is not None or item.uploaded_by != actor:
            raise TaskError(
                "evidence_ids", f"minh chứng {evidence_id} không hợp lệ / invalid evidence"
            )
        item.submission_id = submission.id


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
    evidence_links: Iterable[str] = (),
    note: str | None = None,
    org: Relation | None = None,
) -> Task:
    """Move a task (the caller has checked ``task.<action>`` with the policy):

    * ``assign`` (draft) / ``accept`` (proposed) — only with every "6 rõ" field (``000 §V.2``);
      ``actor`` becomes the ``assigner``; the lead and unit are checked against ``org`` and the
      person's points of the period against ``max_points_per_person_month``;
    * ``propose`` (draft → proposed; the "6 rõ" fields; in no ledger until accepted,
      ``DOMAIN.md §4``);
    * ``start``; ``submit`` (records lateness in working days, ``001 §III.2``; evidence
      required unless the catalog item needs none); ``approve`` (never by the lead; refused
      when the submission approved carries no evidence where it is required); ``return``
      (reason required; a return for quality counts one quality failure); ``cancel`` (reason).

    Raises:
        TaskError: 409 with the current state for an invalid transition; 422 listing every
            missing field, a missing reason, missing evidence, a lead outside the org chart or
            points above the month's maximum; 403 when the lead approves their own task.
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
            f"không thể {action} khi đang {current.value} / cannot {action} when {current.value}",
            409,
            {"current": current.value},
        ) from exc
    except lifecycle.MissingFields as exc:
        raise TaskError(
            "fields",
            "thiếu thông tin bắt buộc (6 rõ): "
            + ", ".join(exc.fields)
            + " / missing required fields",
            422,
            {"missing": list(exc.fields)},
        ) from exc
    except lifecycle.ReasonRequired as exc:
        raise TaskError("reason", "phải nêu lý do / a reason is required") from exc
    now = datetime.now(UTC)
    data: dict[str, Any] = {"by": actor, "on": today.isoformat()}
    if action in {"assign", "accept"}:
        if org is not None:
            _check_people(task, org)
        _check_month_points(session, task, rules)
        task.assigner = actor
        data["assigner"] = actor
        if action == "accept":
            data["proposed_by"] = task.proposed_by
    elif action == "submit":
        assert task.due_date is not None
        late = rules.calendar.working_days_late(task.due_date, today)
        submission = Submission(
            task_id=task.id, on=today, at=now, by=actor, note=note, days_late=late
        )
        session.add(submission)
        session.flush()
        _attach_evidence(session, task, submission, actor, evidence_ids, evidence_links)
        data |= {"days_late": late, "late": late > 0, "submission": submission.id}
    elif action in {"approve", "return"}:
        last = task.submissions[-1] if task.submissions else None
        proven = last is not None and bool(last.evidence or last.links)
        if action == "approve" and task.evidence_required and not proven:
            raise TaskError(
                "evidence",
                "sản phẩm chưa có minh chứng, không phê duyệt được (000 §VI.4) / the submission "
                "carries no evidence: it cannot be approved",
                422,
            )
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
        "accept": "assigned",
        "propose": "proposed",
        "start": "started",
        "submit": "submitted",
        "approve": "approved",
        "return": "returned",
        "cancel": "cancelled",
    }[action]
    if action != "propose":  # a proposal is no assigned work: no event for the ledgers
        emit(session, tenant, event, task, data)
    after = {"status": task.status, **data}
    _audit(session, f"task.{event}", "task", code, {"status": current.value}, after, actor, tenant)
    return task


DECIDED_OR_LATE = frozenset({"submitted", "approved", "returned"})
"""States in which a product was submitted: an "exceeded" mark or an objective cause may be
recorded (``000 §II.2``, ``001 §III.2``); an open task only once it is overdue."""


def _check_markable(task: Task, today: date, what: str) -> None:
    """``exceeded`` and ``objective cause`` only on a submitted, returned or approved task, or
    an open one past its due date (issue 15).

    Raises:
        TaskError: 409 naming the current state.
    """
    if task.status in DECIDED_OR_LATE:
        return
    overdue = task.due_date is not None and task.due_date < today
    if task.status in {"assigned", "in_progress"} and overdue:
        return
    raise TaskError(
        "status",
        f"không ghi nhận {what} khi nhiệm vụ đang {task.status} (chưa nộp, chưa quá hạn) / "
        f"{what} only on a submitted, approved or late task, not when {task.status}",
        409,
        {"current": task.status},
    )


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
    (``001 §III.2``). Only on a submitted, returned or approved task, or an overdue one.

    Raises:
        TaskError: 403 when ``actor`` leads the task; 409 naming the state otherwise refused.
    """
    task = get_task(session, code)
    if task.lead_person == actor:
        raise TaskError("actor", "người chủ trì không tự xác nhận / not by the lead", 403)
    _check_markable(task, today, "nguyên nhân khách quan / an objective cause")
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
    """Work that exceeded expectations, confirmed by ``actor`` (``000 §II.2``). Only on a
    submitted, returned or approved task, or an overdue one.

    Raises:
        TaskError: 403 when ``actor`` leads the task; 409 naming the state otherwise refused.
    """
    task = get_task(session, code)
    if task.lead_person == actor:
        raise TaskError("actor", "người chủ trì không tự xác nhận / not by the lead", 403)
    _check_markable(task, today, "vượt mức / exceeded")
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
    filename = stored.filename  # normalised (services.tasks.evidence.safe_file_name)
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
