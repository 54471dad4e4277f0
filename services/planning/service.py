"""Planning use cases: onboarding sync, org chart and evaluator relation, work catalog, plans with
objectives and key results, progress, ingestion from external systems.

Functions take an open :class:`~sqlalchemy.orm.Session` inside the caller's transaction and
never commit. Changes are recorded in the outbox in the same transaction
(:mod:`services.common.outbox`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from services.common.events import CloudEvent
from services.common.goals import okr, rollup
from services.common.outbox import record
from services.planning import evaluators as ev
from services.planning import repository as repo
from services.planning import validation
from services.planning.models import (
    CatalogItem,
    Delegation,
    EvaluatorOverride,
    KeyResult,
    Membership,
    Objective,
    Person,
    Plan,
    Position,
    ProgressUpdate,
    RoleGrant,
    Unit,
    outbox,
)

SERVICE = "planning"


class PlanningError(Exception):
    """A use case refused: ``field`` names what is wrong, ``status`` the HTTP status to use."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status = field, reason, status


class NotFound(PlanningError):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(field, f"{code!r} không tồn tại / not found", 404)


@dataclass
class SyncReport:
    """What an onboarding sync changed, per kind: ``created``/``updated``/``unchanged``."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, outcome: str) -> None:
        self.counts[f"{kind}.{outcome}"] += 1

    @property
    def changed(self) -> bool:
        return any(n for key, n in self.counts.items() if not key.endswith(".unchanged"))


def emit(
    session: Session, tenant: str, entity: str, action: str, subject: str, data: dict[str, Any]
) -> None:
    """Record a planning event in the outbox (same transaction as the change)."""
    record(
        session,
        outbox,
        CloudEvent.of(
            tenant=tenant,
            service=SERVICE,
            entity=entity,
            action=action,
            subject=subject,
            data=data,
        ),
    )


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``row``; True when any differed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _upsert(
    session: Session, report: SyncReport, kind: str, row: Any, model: type, values: dict[str, Any]
) -> tuple[Any, str]:
    if row is None:
        row = model(**values)
        session.add(row)
        session.flush()
        outcome = "created"
    else:
        outcome = "updated" if _apply(row, values) else "unchanged"
        if outcome == "updated":
            session.flush()
    report.add(kind, outcome)
    return row, outcome


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def sync_tenant(session: Session, tenant: str, tf: Any) -> SyncReport:
    """Create or update the tenant's org chart, catalog and plans from its tenant file
    (:class:`services.planning.tenant_file.TenantFile`).

    Idempotent: a second run with the same file changes nothing and emits no event. Items
    absent from the file are kept (history is never deleted by a sync).
    """
    report = SyncReport()
    units: dict[str, Unit] = {}
    for u in tf.units:
        parent = units[u.parent] if u.parent else None
        units[u.code], _ = _upsert(
            session,
            report,
            "unit",
            repo.by_code(session, Unit, u.code),
            Unit,
            {
                "code": u.code,
                "name": u.name,
                "axis": u.axis,
                "type": u.type,
                "parent_id": parent.id if parent else None,
                "head_evaluated_by": u.head_evaluated_by,
            },
        )
    positions: dict[str, Position] = {}
    for p in tf.positions:
        positions[p.code], _ = _upsert(
            session,
            report,
            "position",
            repo.by_code(session, Position, p.code),
            Position,
            {"code": p.code, "name": p.name, "unit_id": units[p.unit].id},
        )
    people: dict[str, Person] = {}
    for person in tf.people:
        people[person.code], _ = _upsert(
            session,
            report,
            "person",
            repo.by_code(session, Person, person.code),
            Person,
            {"code": person.code, "name": person.name, "email": person.email},
        )
    for person in tf.people:
        pid = people[person.code].id
        for m in person.memberships:
            unit = units[m.unit]
            _, outcome = _upsert(
                session,
                report,
                "membership",
                repo.membership(session, pid, unit.id, m.start),
                Membership,
                {
                    "person_id": pid,
                    "unit_id": unit.id,
                    "role": m.role,
                    "title": m.title,
                    "position_id": positions[m.position].id if m.position else None,
                    "start": m.start,
                    "end": m.end,
                    "in_charge_of": list(m.in_charge_of) if m.in_charge_of else None,
                },
            )
            if outcome != "unchanged":
                emit(
                    session,
                    tenant,
                    "membership",
                    "changed",
                    f"{person.code}@{unit.code}",
                    {
                        "person": person.code,
                        "unit": unit.code,
                        "role": m.role,
                        "title": m.title,
                        "start": m.start.isoformat(),
                        "end": m.end.isoformat() if m.end else None,
                        "in_charge_of": list(m.in_charge_of or ()),
                    },
                )
    for o in tf.evaluator_overrides:
        _upsert(
            session,
            report,
            "override",
            repo.override_of(session, people[o.person].id),
            EvaluatorOverride,
            {
                "person_id": people[o.person].id,
                "evaluator_id": people[o.evaluator].id if o.evaluator else None,
                "external": o.external,
                "reason": o.reason,
            },
        )
    for g in tf.role_grants:
        _upsert(
            session,
            report,
            "role_grant",
            repo.role_grant(session, g.subject, g.role, g.start),
            RoleGrant,
            {"subject": g.subject, "role": g.role, "body": g.body, "start": g.start, "end": g.end},
        )
    for d in getattr(tf, "delegations", ()):
        _sync_delegation(session, tenant, tf, d, units, people, report)
    for c in tf.catalog:
        _upsert(
            session,
            report,
            "catalog",
            repo.catalog_version(session, c.code, c.effective_from),
            CatalogItem,
            {
                "code": c.code,
                "unit_id": units[c.unit].id,
                "name": c.name,
                "complexity_group": c.complexity_group,
                "standard_unit": c.standard_unit,
                "coefficient": Decimal(c.coefficient),
                "effective_from": c.effective_from,
            },
        )
    _sync_plans(session, tenant, tf, units, people, report)
    return report


def _sync_delegation(
    session: Session,
    tenant: str,
    tf: Any,
    d: Any,
    units: dict[str, Unit],
    people: dict[str, Person],
    report: SyncReport,
) -> None:
    """Create or update one delegation of the tenant file (by unit, delegate and start);
    recorded by ``onboarding``; an outbox event when it changed."""
    from services.planning.tenant_file import head_on

    head = head_on(tf.people, d.unit, d.start)
    assert head is not None  # the tenant file's cross-checks guarantee a head on start
    row = repo.delegation_at(session, units[d.unit].id, people[d.delegate].id, d.start)
    values: dict[str, Any] = {
        "unit_id": units[d.unit].id,
        "delegate_id": people[d.delegate].id,
        "delegated_by_id": people[head].id,
        "start": d.start,
        "end": d.end,
        "basis": d.basis,
    }
    if row is None:
        values.update(recorded_by="onboarding", recorded_at=datetime.now(UTC))
    row, outcome = _upsert(session, report, "delegation", row, Delegation, values)
    if outcome != "unchanged":
        emit(
            session,
            tenant,
            "delegation",
            "created" if outcome == "created" else "changed",
            str(row.id),
            delegation_out(row),
        )


def _sync_plans(
    session: Session,
    tenant: str,
    tf: Any,
    units: dict[str, Unit],
    people: dict[str, Person],
    report: SyncReport,
) -> None:
    links: list[tuple[Objective, str]] = []
    touched: dict[str, Plan] = {}  # plans whose structure or values changed: plan.defined
    for p in tf.plans:
        plan, plan_outcome = _upsert(
            session,
            report,
            "plan",
            repo.by_code(session, Plan, p.code),
            Plan,
            {
                "code": p.code,
                "owner_unit_id": units[p.owner_unit].id if p.owner_unit else None,
                "owner_person_id": people[p.owner_person].id if p.owner_person else None,
                "period_kind": p.period.kind,
                "year": p.period.year,
                "number": getattr(p.period, "number", None),
                "status": p.status,
            },
        )
        if plan_outcome != "unchanged":
            touched[p.code] = plan
        for position, o in enumerate(p.objectives):
            objective, objective_outcome = _upsert(
                session,
                report,
                "objective",
                repo.by_code(session, Objective, o.code),
                Objective,
                {
                    "code": o.code,
                    "plan_id": plan.id,
                    "position": position,
                    "title": o.title,
                    "perspective": o.perspective,
                    "breakthrough": o.breakthrough,
                    "weight": Decimal(o.weight),
                    "progress_source": o.progress_source,
                },
            )
            if objective_outcome != "unchanged":
                touched[p.code] = plan
            if o.parent_key_result:
                links.append((objective, o.parent_key_result))
            for kr_position, k in enumerate(o.key_results):
                _, outcome = _upsert(
                    session,
                    report,
                    "key_result",
                    repo.by_code(session, KeyResult, k.code),
                    KeyResult,
                    {
                        "code": k.code,
                        "objective_id": objective.id,
                        "position": kr_position,
                        "title": k.title,
                        "kind": k.kind,
                        "unit_of_measure": k.unit_of_measure,
                        "direction": k.direction,
                        "baseline": _dec(k.baseline),
                        "target": _dec(k.target),
                        "complete_threshold": _dec(k.complete_threshold),
                        "exceed_threshold": _dec(k.exceed_threshold),
                        "fail_threshold": _dec(k.fail_threshold),
                        "weight": Decimal(k.weight),
                        "data_source": k.data_source,
                        "evidence_required": k.evidence_required,
                        "current": _dec(k.current),
                    },
                )
                if outcome != "unchanged":
                    touched[p.code] = plan
                    emit(
                        session,
                        tenant,
                        "keyresult",
                        "defined",
                        k.code,
                        {
                            "plan": p.code,
                            "objective": o.code,
                            "key_result": k.code,
                            "current": str(k.current) if k.current is not None else None,
                        },
                    )
        if p.status == "approved" and plan_outcome == "created":
            emit(session, tenant, "plan", "approved", p.code, {"plan": p.code, "by": "onboarding"})
    for objective, kr_code in links:
        parent = repo.by_code(session, KeyResult, kr_code)
        if parent is None:
            raise PlanningError("parent_key_result", f"{kr_code!r} not found")
        if objective.parent_key_result_id != parent.id:
            objective.parent_key_result_id = parent.id
            report.add("link", "updated")
            touched[objective.plan.code] = objective.plan
    session.flush()
    for code, changed in touched.items():
        emit(session, tenant, "plan", "defined", code, plan_snapshot(session, changed))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def plan_snapshot(session: Session, plan: Plan) -> dict[str, Any]:
    """The data of ``vn.woms.planning.plan.defined.v1``: the plan with its period, owner,
    status and every objective (with the code of the parent key result it serves) and key
    result (spec and current value), for reporting's goal-tree read model. Decimals are exact
    text (``"7.5"``), ``None`` when not declared."""
    owner_unit = session.get(Unit, plan.owner_unit_id) if plan.owner_unit_id else None
    owner_person = session.get(Person, plan.owner_person_id) if plan.owner_person_id else None
    objectives = []
    for o in repo.objectives_of_plan(session, plan.id):
        parent = session.get(KeyResult, o.parent_key_result_id) if o.parent_key_result_id else None
        objectives.append(
            {
                "code": o.code,
                "title": o.title,
                "perspective": o.perspective,
                "breakthrough": o.breakthrough,
                "weight": _text(o.weight),
                "progress_source": o.progress_source,
                "parent_key_result": parent.code if parent else None,
                "key_results": [
                    {
                        "code": k.code,
                        "title": k.title,
                        "kind": k.kind,
                        "unit_of_measure": k.unit_of_measure,
                        "direction": k.direction,
                        **{
                            name: _text(getattr(k, name))
                            for name in (
                                "baseline",
                                "target",
                                "complete_threshold",
                                "exceed_threshold",
                                "fail_threshold",
                                "weight",
                                "current",
                            )
                        },
                        "data_source": k.data_source,
                    }
                    for k in repo.key_results_of(session, o.id)
                ],
            }
        )
    return {
        "plan": plan.code,
        "owner_unit": owner_unit.code if owner_unit else None,
        "owner_person": owner_person.code if owner_person else None,
        "period": {"kind": plan.period_kind, "year": plan.year, "number": plan.number},
        "status": plan.status,
        "objectives": objectives,
    }


# --- plans: submit → approve | return (004 Part A §II) -----------------------------------

TRANSITIONS = {
    "submit": ({"draft", "returned"}, "submitted"),
    "approve": ({"submitted"}, "approved"),
    "return": ({"submitted"}, "returned"),
}


def decide_plan(
    session: Session, tenant: str, code: str, action: str, actor: str, reason: str | None = None
) -> Plan:
    """Move a plan through draft → submitted → approved | returned (reason required).

    Raises:
        NotFound: no such plan.
        PlanningError: the transition is not allowed from the current status, or a return
            without a reason (status 409 / 422).
    """
    plan = repo.by_code(session, Plan, code)
    if plan is None:
        raise NotFound("plan", code)
    allowed, target = TRANSITIONS[action]
    if plan.status not in allowed:
        raise PlanningError(
            "status", f"không thể {action} kế hoạch ở trạng thái {plan.status}", 409
        )
    if action == "return" and not (reason and reason.strip()):
        raise PlanningError("reason", "trả lại kế hoạch phải nêu lý do / a reason is required")
    now = datetime.now(UTC)
    plan.status = target
    if action == "submit":
        plan.submitted_at, plan.return_reason = now, None
    else:
        plan.decided_at, plan.decided_by = now, actor
        plan.return_reason = reason if action == "return" else None
    emit(
        session,
        tenant,
        "plan",
        {"submit": "submitted", "approve": "approved", "return": "returned"}[action],
        code,
        {"plan": code, "by": actor, "reason": plan.return_reason},
    )
    if action == "approve":
        for objective in plan.objectives:
            emit(
                session,
                tenant,
                "objective",
                "approved",
                objective.code,
                {"plan": code, "objective": objective.code, "by": actor},
            )
    return plan


# --- progress ------------------------------------------------------------------------------


PROGRESS_BOUND_FACTOR = Decimal(10)
"""A key result's value may be at most this many times its scale (the largest of its target,
baseline and thresholds in absolute value, at least 1): 10× leaves room for a real "exceeded"
(004 Phụ lục 4 §3.4 counts achievement above 100%) while refusing absurd values (1e12 on a
target of 100)."""


def progress_bound(kr: KeyResult) -> Decimal:
    """The largest value :func:`record_progress` accepts for ``kr``:
    ``PROGRESS_BOUND_FACTOR × max(|target|, |baseline|, |thresholds|, 1)``."""
    figures = [
        abs(v)
        for v in (
            kr.target,
            kr.baseline,
            kr.complete_threshold,
            kr.exceed_threshold,
            kr.fail_threshold,
        )
        if v is not None
    ]
    return PROGRESS_BOUND_FACTOR * max([Decimal(1), *figures])


def closes_on(plan: Plan, publication_day: int) -> date:
    """The last day progress may be recorded on ``plan``: the publication day (tenant
    calendar ``publication_day``, 1–28; ``001 §IV.1`` step 5 publishes the month's results by
    then) of the month after the plan period's end. A June plan closes on 5 July, a plan of
    2026 on 5 January 2027, a week plan on the 5th of the month after its Sunday."""
    _, end = period_bounds(plan.period_kind, plan.year, plan.number)
    return date(end.year + (end.month == 12), end.month % 12 + 1, publication_day)


def record_progress(
    session: Session,
    tenant: str,
    kr_code: str,
    value: Decimal,
    *,
    actor: str,
    source: str = "manual",
    evidence: str | None = None,
    note: str | None = None,
    external_id: str | None = None,
    at: datetime | None = None,
    today: date | None = None,
    publication_day: int = 5,
) -> tuple[ProgressUpdate, bool]:
    """Log a new value of a key result (old, new, evidence, note, who, when) and set it current.

    With ``external_id`` the update is idempotent per ``source``: the same record again returns
    the logged update and changes nothing. Who may record is the policy's
    (``progress.record`` / ``progress.ingest``); this checks the value and the period:
    ``0 <= value <= progress_bound(kr)`` (a finite number, in the key result's unit), and the
    plan's period is not closed on ``today`` (default: the real date) — see :func:`closes_on`
    with the tenant's ``publication_day``.

    Returns:
        (the update, True when it was new).

    Raises:
        NotFound: no such key result.
        PlanningError: 403 at ``source`` for a system feeding a key result whose data source
            is another system; 422 at ``value`` (negative, not finite, above the bound), at
            ``evidence`` (required but missing); 409 at ``period`` when the plan's period is
            closed.
    """
    kr = repo.by_code(session, KeyResult, kr_code)
    if kr is None:
        raise NotFound("key_result", kr_code)
    if source != "manual" and kr.data_source != source:
        raise PlanningError("source", f"{kr_code} nhận dữ liệu từ {kr.data_source}", 403)
    if external_id is not None:
        existing = repo.ingested(session, source, external_id)
        if existing is not None:
            return existing, False
    if not value.is_finite():
        raise PlanningError("value", "giá trị phải là số hữu hạn / the value must be finite")
    if value < 0:
        raise PlanningError("value", f"giá trị âm {value} / the value must not be negative")
    bound = progress_bound(kr)
    if value > bound:
        raise PlanningError(
            "value",
            f"giá trị {value} vượt {format(bound.normalize(), 'f')} "
            f"({PROGRESS_BOUND_FACTOR}× chỉ tiêu) / above the bound of {PROGRESS_BOUND_FACTOR}× "
            "the key result's target",
        )
    plan = kr.objective.plan
    last = closes_on(plan, publication_day)
    if (today or date.today()) > last:
        raise PlanningError(
            "period",
            f"kỳ kế hoạch {plan.code} đã khóa từ {last + timedelta(days=1)} / the plan's period "
            f"closed after {last}",
            409,
        )
    if kr.evidence_required and source == "manual" and not (evidence and evidence.strip()):
        raise PlanningError("evidence", "chỉ tiêu này yêu cầu minh chứng / evidence required")
    update = ProgressUpdate(
        key_result_id=kr.id,
        old_value=kr.current,
        new_value=value,
        evidence=evidence,
        note=note,
        actor=actor,
        source=source,
        external_id=external_id,
        at=at or datetime.now(UTC),
    )
    session.add(update)
    kr.current = value
    session.flush()
    emit(
        session,
        tenant,
        "keyresult",
        "progressed",
        kr_code,
        {
            "key_result": kr_code,
            "old": None if update.old_value is None else str(update.old_value),
            "new": str(value),
            "actor": actor,
            "source": source,
            "at": update.at.isoformat(),
        },
    )
    return update, True


def late_plans(session: Session, calendar: Any, today: date) -> list[dict[str, Any]]:
    """Plans not yet submitted (draft/returned) after their deadline, per the tenant's plan
    calendar (``004 Part A §II``: annual by 30/11 of the previous year, monthly by the 5th,
    quarterly by the 10th of the first month of the quarter)."""
    late = []
    for plan in repo.all_rows(session, Plan):
        if plan.status not in {"draft", "returned"}:
            continue
        due = plan_deadline(plan.period_kind, plan.year, plan.number, calendar)
        if due is not None and today > due:
            late.append(
                {
                    "plan": plan.code,
                    "status": plan.status,
                    "due": due.isoformat(),
                    "days_late": (today - due).days,
                }
            )
    return late


def plan_deadline(kind: str, year: int, number: int | None, calendar: Any) -> date | None:
    """The submission deadline of a plan period (``004 Part A §II``); None for weeks."""
    if kind == "year":
        month, day = (int(x) for x in str(calendar.annual_plan_submit).split("-"))
        return date(year - 1, month, day)
    if kind == "month" and number:
        return date(year, number, calendar.monthly_plan_day)
    if kind == "quarter" and number:
        return date(year, 3 * (number - 1) + 1, calendar.quarterly_plan_day)
    return None


# --- read models for the API ---------------------------------------------------------------


def calendar_of(config: dict[str, Any]) -> Any:
    """The tenant's calendar settings (registry config), validated
    (:class:`services.planning.tenant_file.Calendar`)."""
    from services.planning.tenant_file import Calendar

    return Calendar.model_validate(config.get("calendar", {}))


def heads_of(session: Session, unit_id: int, as_of: date) -> list[str]:
    """Codes of the people heading ``unit_id`` on ``as_of``."""
    return [m.person.code for m in repo.members_on(session, unit_id, as_of) if m.role == "head"]


def plan_out(session: Session, plan: Plan) -> dict[str, Any]:
    """The list view of a plan."""
    unit = session.get(Unit, plan.owner_unit_id) if plan.owner_unit_id else None
    person = session.get(Person, plan.owner_person_id) if plan.owner_person_id else None
    return {
        "code": plan.code,
        "owner_unit": unit.code if unit else None,
        "owner_person": person.code if person else None,
        "period_kind": plan.period_kind,
        "year": plan.year,
        "number": plan.number,
        "status": plan.status,
        "return_reason": plan.return_reason,
    }


def save_plan(session: Session, tenant: str, plan: Any, *, create: bool) -> Plan:
    """Create a plan, or amend a draft/returned one, from a
    :class:`services.planning.tenant_file.Plan` (its own checks already ran: 1–5 key results,
    weights summing to 100, KPI fields, thresholds; ``004 Part A §II``, ``000 §V.1``).

    Amending updates and adds objectives and key results by code; ones left out are kept.
    A new plan starts as ``draft`` whatever the body says. The whole plan is then validated
    with :func:`services.planning.validation.validate_plan`; any error refuses the change.

    Raises:
        PlanningError: the code exists (409, on create) or not (404, on amend); the plan is
            not draft/returned (409); an unknown owner or parent key result; a validation
            error (422, naming the field).
    """
    existing = repo.by_code(session, Plan, plan.code)
    if create and existing is not None:
        raise PlanningError("code", f"{plan.code!r} đã tồn tại / exists", 409)
    if not create:
        if existing is None:
            raise NotFound("code", plan.code)
        if existing.status not in {"draft", "returned"}:
            raise PlanningError(
                "status", f"chỉ sửa kế hoạch nháp/bị trả lại ({existing.status})", 409
            )
    units = {u.code: u for u in repo.all_rows(session, Unit)}
    people = {p.code: p for p in repo.all_rows(session, Person)}
    if plan.owner_unit and plan.owner_unit not in units:
        raise PlanningError("owner_unit", f"{plan.owner_unit!r} không tồn tại")
    if plan.owner_person and plan.owner_person not in people:
        raise PlanningError("owner_person", f"{plan.owner_person!r} không tồn tại")
    status = "draft" if create else existing.status  # type: ignore[union-attr]
    body = plan.model_copy(update={"status": status})
    _sync_plans(session, tenant, SimpleNamespace(plans=[body]), units, people, SyncReport())
    saved = repo.by_code(session, Plan, plan.code)
    assert saved is not None
    specs = [_spec(session, o, frozenset()) for o in repo.objectives_of_plan(session, saved.id)]
    errors = [i for i in validation.validate_plan(specs) if i.severity == "error"]
    if errors:
        raise PlanningError(errors[0].field, errors[0].message)
    emit(
        session,
        tenant,
        "plan",
        "created" if create else "amended",
        plan.code,
        {"plan": plan.code, "objectives": [o.code for o in plan.objectives]},
    )
    return saved


def _org_inputs(session: Session) -> tuple[list[Any], list[Any], list[Any]]:
    """The org chart, memberships and overrides as the inputs of
    :mod:`services.planning.evaluators`."""
    units = repo.all_rows(session, Unit)
    codes = {u.id: u.code for u in units}
    people = {p.id: p.code for p in repo.all_rows(session, Person)}
    chart = [
        ev.OrgUnit(
            code=u.code,
            axis=u.axis,
            type=u.type,
            parent=codes.get(u.parent_id) if u.parent_id else None,
            head_evaluated_by=u.head_evaluated_by,
            name=u.name,
        )
        for u in units
    ]
    positions = {p.id: p.code for p in repo.all_rows(session, Position)}
    memberships = [
        ev.UnitMembership(
            person=people[m.person_id],
            unit=codes[m.unit_id],
            role=m.role,
            start=m.start,
            end=m.end,
            title=m.title,
            position=positions.get(m.position_id) if m.position_id else None,
            in_charge_of=tuple(m.in_charge_of or ()) if m.role == "deputy" else (),
        )
        for m in repo.all_rows(session, Membership)
    ]
    overrides = [
        ev.EvaluatorOverride(
            person=people[o.person_id],
            evaluator=people[o.evaluator_id] if o.evaluator_id else None,
            external=o.external,
            reason=o.reason,
        )
        for o in repo.all_rows(session, EvaluatorOverride)
    ]
    return chart, memberships, overrides


def _edges(session: Session, as_of: date) -> list[Any]:
    chart, memberships, overrides = _org_inputs(session)
    return ev.derive_evaluator_edges(chart, memberships, overrides, as_of=as_of)


def evaluator_edges(session: Session, as_of: date) -> list[dict[str, Any]]:
    """The evaluator relation on ``as_of`` (``001 §II.3`` plus the tenant's overrides), from
    :func:`services.planning.evaluators.derive_evaluator_edges`."""
    return [
        {
            "person": e.person,
            "evaluator": e.evaluator_person,
            "external": e.evaluator_external,
            "unit": e.unit,
            "basis": e.basis,
        }
        for e in _edges(session, as_of)
    ]


def period_bounds(kind: str, year: int, number: int | None) -> tuple[date, date]:
    """First and last day of a plan period (year, quarter n, month n, ISO week n)."""
    if kind == "quarter" and number:
        start = date(year, 3 * number - 2, 1)
        end_month = 3 * number
    elif kind == "month" and number:
        start, end_month = date(year, number, 1), number
    elif kind == "week" and number:
        start = date.fromisocalendar(year, number, 1)
        return start, date.fromisocalendar(year, number, 7)
    else:
        return date(year, 1, 1), date(year, 12, 31)
    following = date(year + (end_month == 12), end_month % 12 + 1, 1)
    return start, date.fromordinal(following.toordinal() - 1)


def _spec(session: Session, objective: Objective, seen: frozenset[int]) -> okr.ObjectiveSpec:
    """An objective with its key results and, below them, the objectives serving them."""
    key_results = repo.key_results_of(session, objective.id)
    children = [
        child
        for child in repo.objectives_serving(session, [k.id for k in key_results])
        if child.id not in seen
    ]
    parent = (
        session.get(KeyResult, objective.parent_key_result_id)
        if objective.parent_key_result_id
        else None
    )
    return okr.ObjectiveSpec(
        code=objective.code,
        title=objective.title,
        perspective=okr.Perspective(objective.perspective),
        breakthrough=objective.breakthrough,
        weight=objective.weight,
        progress_source=okr.ProgressSource(objective.progress_source),
        parent_key_result=parent.code if parent else None,
        key_results=tuple(
            okr.KeyResultSpec(
                code=k.code,
                title=k.title,
                kind=okr.KeyResultKind(k.kind),
                unit_of_measure=k.unit_of_measure,
                direction=okr.Direction(k.direction),
                baseline=k.baseline,
                target=k.target,
                complete_threshold=k.complete_threshold,
                exceed_threshold=k.exceed_threshold,
                fail_threshold=k.fail_threshold,
                weight=k.weight,
                data_source=k.data_source,
                evidence_required=k.evidence_required,
            )
            for k in key_results
        ),
        children=tuple(_spec(session, c, seen | {objective.id}) for c in children),
    )


def _values(session: Session, spec: okr.ObjectiveSpec) -> dict[str, Decimal | None]:
    values: dict[str, Decimal | None] = {}
    for k in spec.key_results:
        row = repo.by_code(session, KeyResult, k.code)
        values[k.code] = row.current if row else None
    for child in spec.children:
        values.update(_values(session, child))
    return values


def _ratio(value: Any) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"))


def plan_detail(session: Session, plan: Plan, today: date) -> dict[str, Any]:
    """A plan's objectives and key results with progress rolled up the cascade (objectives of
    other plans serving its key results count below them), status colours against the time
    elapsed, and the evaluation figure without breakthrough items
    (:mod:`services.common.goals.rollup`; ``004 Phụ lục 4 §3–§4``)."""
    objectives = list(repo.objectives_of_plan(session, plan.id))
    specs = [_spec(session, o, frozenset()) for o in objectives]
    values: dict[str, Decimal | None] = {}
    for spec in specs:
        values.update(_values(session, spec))
    start, end = period_bounds(plan.period_kind, plan.year, plan.number)
    dates = rollup.DateContext(start, end, min(max(today, start), end))
    reported = rollup.reported_progress(specs, values, dates=dates)
    evaluation = rollup.evaluation_progress(specs, values, dates=dates)
    parents = {o.id: o.parent_key_result_id for o in objectives}
    out = plan_out(session, plan)
    out["progress"] = _ratio(reported.progress)
    out["evaluation_progress"] = _ratio(evaluation.progress)
    out["issues"] = [
        {"severity": i.severity, "field": i.field, "message": i.message}
        for i in validation.validate_plan(specs)
    ]
    out["objectives"] = []
    for objective, figures in zip(objectives, reported.objectives, strict=True):
        parent = session.get(KeyResult, parents[objective.id]) if parents[objective.id] else None
        rows = {k.code: k for k in repo.key_results_of(session, objective.id)}
        out["objectives"].append(
            {
                "code": objective.code,
                "title": objective.title,
                "perspective": objective.perspective,
                "breakthrough": objective.breakthrough,
                "weight": objective.weight,
                "progress_source": objective.progress_source,
                "parent_key_result": parent.code if parent else None,
                "progress": _ratio(figures.progress),
                "status_colour": figures.colour.value if figures.colour else None,
                "key_results": [
                    {
                        **{
                            c: getattr(rows[k.code], c)
                            for c in (
                                "code",
                                "title",
                                "kind",
                                "unit_of_measure",
                                "direction",
                                "baseline",
                                "target",
                                "complete_threshold",
                                "exceed_threshold",
                                "fail_threshold",
                                "weight",
                                "data_source",
                                "evidence_required",
                                "current",
                            )
                        },
                        "progress": _ratio(k.progress),
                        "achievement": k.achievement,
                    }
                    for k in figures.key_results
                ],
            }
        )
    return out


# --- org snapshot and Excel import ---------------------------------------------------------


def org_snapshot(session: Session, code: str, name: str) -> Any:
    """The tenant's org chart and catalog as a :class:`~services.planning.tenant_file.TenantFile`
    (no plans): what Excel export writes and what an import is merged into."""
    from services.planning import tenant_file as tfm

    units = repo.all_rows(session, Unit)
    ucode = {u.id: u.code for u in units}
    pcode = {p.id: p.code for p in repo.all_rows(session, Person)}
    positions = repo.all_rows(session, Position)
    poscode = {p.id: p.code for p in positions}
    memberships: dict[int, list[Any]] = {}
    for m in repo.all_rows(session, Membership):
        memberships.setdefault(m.person_id, []).append(
            tfm.Membership(
                unit=ucode[m.unit_id],
                role=m.role,
                title=m.title,
                position=poscode.get(m.position_id) if m.position_id else None,
                start=m.start,
                end=m.end,
                in_charge_of=tuple(m.in_charge_of)
                if m.in_charge_of and m.role == "deputy"
                else None,
            )
        )
    return tfm.TenantFile(
        code=code,
        name=name,
        units=tuple(
            tfm.Unit(
                code=u.code,
                name=u.name,
                axis=u.axis,
                type=u.type,
                parent=ucode.get(u.parent_id) if u.parent_id else None,
                head_evaluated_by=u.head_evaluated_by,
            )
            for u in units
        ),
        positions=tuple(
            tfm.Position(code=p.code, name=p.name, unit=ucode[p.unit_id]) for p in positions
        ),
        people=tuple(
            tfm.Person(
                code=p.code,
                name=p.name,
                email=p.email,
                memberships=tuple(memberships.get(p.id, ())),
            )
            for p in repo.all_rows(session, Person)
            if p.id in memberships
        ),
        evaluator_overrides=tuple(
            tfm.EvaluatorOverride(
                person=pcode[o.person_id],
                evaluator=pcode.get(o.evaluator_id) if o.evaluator_id else None,
                external=o.external,
                reason=o.reason,
            )
            for o in repo.all_rows(session, EvaluatorOverride)
        ),
        role_grants=tuple(
            tfm.RoleGrant(subject=g.subject, role=g.role, body=g.body, start=g.start, end=g.end)
            for g in repo.all_rows(session, RoleGrant)
        ),
        catalog=tuple(
            tfm.CatalogItem(
                code=c.code,
                unit=ucode[c.unit_id],
                name=c.name,
                complexity_group=c.complexity_group,
                standard_unit=c.standard_unit,
                coefficient=c.coefficient.normalize(),
                effective_from=c.effective_from,
            )
            for c in repo.all_rows(session, CatalogItem)
        ),
    )


def import_org(session: Session, tenant: str, name: str, imported: Any) -> SyncReport:
    """Apply an imported workbook (units, positions, people, catalog) to the tenant: merged
    into the current org chart, cross-checked as a whole, then synced — all or nothing.

    Raises:
        services.common.errors.InputError: the merged org chart fails a cross-check.
    """
    from services.planning.excel import merge_into

    merged = merge_into(org_snapshot(session, tenant, name), imported, source="import")
    return sync_tenant(session, tenant, merged)


def role_grants(session: Session, as_of: date) -> dict[str, list[str]]:
    """``{subject: [role, …]}`` of the grants holding on ``as_of`` (roles sorted, subjects
    without a grant absent): the tenant's only source of ``tenant_admin``, ``central`` and
    ``external_body`` (issue 9, ``services/common/roles.py``)."""
    found: dict[str, set[str]] = {}
    for grant in repo.grants_on(session, as_of):
        found.setdefault(grant.subject, set()).add(grant.role)
    return {subject: sorted(roles) for subject, roles in sorted(found.items())}


# --- delegations by a unit's head (issue 15, DOMAIN.md §4) ---------------------------------


def _utc(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset (SQLite gives back naive datetimes: they were stored in UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def delegation_out(row: Delegation) -> dict[str, Any]:
    """The API view (and outbox data) of a delegation: codes, ISO dates and UTC times, who
    recorded and who ended it."""
    return {
        "id": row.id,
        "unit": row.unit.code,
        "delegate": row.delegate.code,
        "delegated_by": row.delegated_by.code,
        "start": row.start.isoformat(),
        "end": row.end.isoformat(),
        "basis": row.basis,
        "recorded_by": row.recorded_by,
        "recorded_at": _utc(row.recorded_at),
        "ended_on": row.ended_on.isoformat() if row.ended_on else None,
        "ended_by": row.ended_by,
        "ended_at": _utc(row.ended_at),
        "end_reason": row.end_reason,
    }


def delegations_on(session: Session, day: date) -> dict[str, list[str]]:
    """``{unit code: [delegate person code, ...]}`` of the delegations holding on ``day``
    (``start <= day <= end`` and not ended before ``day``), delegates in recording order."""
    out: dict[str, list[str]] = {}
    for row in repo.delegations_on(session, day):
        if row.holds_on(day):
            people = out.setdefault(row.unit.code, [])
            if row.delegate.code not in people:
                people.append(row.delegate.code)
    return out


def create_delegation(
    session: Session,
    tenant: str,
    *,
    unit: str,
    delegate: str,
    start: date,
    end: date,
    basis: str,
    actor: str,
) -> Delegation:
    """Record a delegation by the head of ``unit`` (on ``start``) to ``delegate`` from
    ``start`` to ``end`` inclusive, for ``basis``; recorded by ``actor`` now; outbox event
    ``delegation.created``. The caller has checked ``delegation.create`` (the head or a tenant
    administrator).

    Raises:
        PlanningError: 422 at ``unit`` (unknown, or no head on ``start``), at ``delegate``
            (unknown person, no post on ``start``, or the head themselves), at ``end``
            (before ``start``), at ``basis`` (blank); 409 at ``start`` when a delegation of
            the unit to the same person overlaps the period.
    """
    if end < start:
        raise PlanningError(
            "end", f"ngày kết thúc {end} trước ngày bắt đầu {start} / end is before start"
        )
    if not basis.strip():
        raise PlanningError("basis", "cần nêu căn cứ ủy quyền / the basis is required")
    row_unit = repo.by_code(session, Unit, unit)
    if row_unit is None:
        raise PlanningError("unit", f"{unit!r} không tồn tại / unknown unit")
    heads = [m.person for m in repo.members_on(session, row_unit.id, start) if m.role == "head"]
    if not heads:
        raise PlanningError(
            "unit", f"{unit} không có cấp trưởng ngày {start} / the unit has no head on start"
        )
    head = heads[0]
    person = repo.by_code(session, Person, delegate)
    if person is None:
        raise PlanningError("delegate", f"{delegate!r} không tồn tại / unknown person")
    if person.id == head.id:
        raise PlanningError(
            "delegate", "cấp trưởng không ủy quyền cho chính mình / the head is not a delegate"
        )
    if not repo.has_membership_on(session, person.id, start):
        raise PlanningError(
            "delegate",
            f"{delegate} không giữ chức vụ nào ngày {start} / not a member of the tenant then",
        )
    clash = [
        d
        for d in repo.delegations_overlapping(session, row_unit.id, person.id, start, end)
        if d.start <= d.last_day() and start <= d.last_day()  # not cancelled, still meets
    ]
    if clash:
        raise PlanningError(
            "start",
            f"đã có ủy quyền {clash[0].start}–{clash[0].last_day()} cho {delegate} / "
            "overlaps another delegation to the same person",
            409,
        )
    row = Delegation(
        unit_id=row_unit.id,
        delegate_id=person.id,
        delegated_by_id=head.id,
        start=start,
        end=end,
        basis=basis,
        recorded_by=actor,
        recorded_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    emit(session, tenant, "delegation", "created", str(row.id), delegation_out(row))
    return row


def end_delegation(
    session: Session,
    tenant: str,
    delegation_id: int,
    *,
    on: date | None,
    reason: str | None,
    actor: str,
    today: date,
) -> Delegation:
    """End a delegation early: ``on`` is the last day it holds (default ``today - 1``: it no
    longer holds from today; a day before its start cancels it). Outbox event
    ``delegation.ended``.

    Raises:
        NotFound: no such delegation (404).
        PlanningError: 409 at ``id`` when it was already ended or is over; 422 at ``on`` when
            it is before yesterday (history is not rewritten) or after the delegation's end.
    """
    row = repo.delegation_by_id(session, delegation_id)
    if row is None:
        raise NotFound("id", str(delegation_id))
    if row.ended_on is not None:
        raise PlanningError("id", "ủy quyền đã kết thúc / already ended", 409)
    yesterday = date.fromordinal(today.toordinal() - 1)
    if row.end < today:
        raise PlanningError("id", f"ủy quyền đã hết hạn ngày {row.end} / already over", 409)
    last = yesterday if on is None else on
    if last < yesterday:
        raise PlanningError(
            "on", f"không kết thúc lùi ngày trước {yesterday} / cannot end in the past"
        )
    if last > row.end:
        raise PlanningError(
            "on", f"sau ngày kết thúc {row.end} / after the delegation's end (not an extension)"
        )
    row.ended_on, row.ended_by, row.ended_at = last, actor, datetime.now(UTC)
    row.end_reason = reason
    session.flush()
    emit(session, tenant, "delegation", "ended", str(row.id), delegation_out(row))
    return row


def policy_data(session: Session, as_of: date) -> dict[str, Any]:
    """The evaluator relation as data for the Rego policies
    (:func:`services.planning.evaluators.as_policy_data`, with the deputies' fields
    ``in_charge_of``, the people's ``positions_of`` and the heads' ``delegations`` holding on
    ``as_of``: ``{unit: [delegate, ...]}``), plus ``acting_for``:
    ``{subject: body}`` of the ``external_body`` grants holding on ``as_of`` — which body
    outside the tenant (``relation.external`` / ``decider_external``, e.g. "Ban Thường vụ
    Thành ủy") an account acts for (``001 §II.3``; the evaluation service puts it in the
    policy input as ``principal.body``)."""
    data = ev.as_policy_data(_edges(session, as_of), delegations_on(session, as_of))
    data["acting_for"] = {
        g.subject: g.body
        for g in repo.grants_on(session, as_of)
        if g.role == "external_body" and g.body is not None
    }
    return data


# --- push a key result down the cascade (004 Phụ lục 4 §3.3) ------------------------------


def push_down(
    session: Session, tenant: str, kr_code: str, unit_codes: list[str], mode: str, actor: str
) -> list[str]:
    """Push a parent key result down to child units as ``mandatory`` or ``suggested``: each
    child unit gets, in its plan for the same period (a draft plan is created if it has none),
    an objective serving the key result with a copy of it. Returns the new objective codes;
    a unit that already serves the key result is left as it is.

    Raises:
        NotFound: unknown key result or unit.
        PlanningError: a unit that is not a child of the plan's owner unit; a bad mode.
    """
    if mode not in {"mandatory", "suggested"}:
        raise PlanningError("mode", "mandatory | suggested")
    kr = repo.by_code(session, KeyResult, kr_code)
    if kr is None:
        raise NotFound("key_result", kr_code)
    plan = kr.objective.plan
    created = []
    for code in unit_codes:
        unit = repo.by_code(session, Unit, code)
        if unit is None:
            raise NotFound("units", code)
        if plan.owner_unit_id is None or unit.parent_id != plan.owner_unit_id:
            raise PlanningError("units", f"{code} không phải đơn vị trực thuộc của chủ kế hoạch")
        child_plan = (
            session.execute(repo.plans_query(unit.id, None, plan.period_kind, plan.year))
            .scalars()
            .first()
        )
        if child_plan is None:
            child_plan = Plan(
                code=f"{code}-{plan.year}-{plan.period_kind}{plan.number or ''}",
                owner_unit_id=unit.id,
                period_kind=plan.period_kind,
                year=plan.year,
                number=plan.number,
                status="draft",
            )
            session.add(child_plan)
            session.flush()
        if any(o.parent_key_result_id == kr.id for o in child_plan.objectives):
            continue
        objective = Objective(
            code=f"{code}-{kr.code}",
            plan_id=child_plan.id,
            position=len(child_plan.objectives),
            title=kr.title,
            perspective=kr.objective.perspective,
            breakthrough=kr.objective.breakthrough,
            weight=Decimal(0),
            progress_source="key_results",
            parent_key_result_id=kr.id,
        )
        session.add(objective)
        session.flush()
        session.add(
            KeyResult(
                code=f"{code}-{kr.code}-KR",
                objective_id=objective.id,
                position=0,
                title=kr.title,
                kind=kr.kind,
                unit_of_measure=kr.unit_of_measure,
                direction=kr.direction,
                baseline=kr.baseline,
                target=kr.target,
                complete_threshold=kr.complete_threshold,
                exceed_threshold=kr.exceed_threshold,
                fail_threshold=kr.fail_threshold,
                weight=Decimal(100),
                data_source="manual",
                evidence_required=kr.evidence_required,
                current=None,
                pushed_from_id=kr.id,
                pushdown=mode,
            )
        )
        session.flush()
        emit(
            session,
            tenant,
            "keyresult",
            "pushed_down",
            kr.code,
            {
                "key_result": kr.code,
                "unit": code,
                "objective": objective.code,
                "mode": mode,
                "by": actor,
            },
        )
        snapshot = plan_snapshot(session, child_plan)
        emit(session, tenant, "plan", "defined", child_plan.code, snapshot)
        created.append(objective.code)
    return created
