"""The object-level access matrix (issue 9): every operation of a service's OpenAPI is either
bound here to the Rego decision that governs it, or excluded with the reason; a new endpoint
fails :func:`unclassified` until it is classified.

A bound operation is called by every caller of :data:`tests.access.world.ROLES` with its
parameters filled from the world by name (``{person}``, ``{unit}``, ``{code}`` …; required
query parameters alike; ``variants`` call it on several objects). Just before each call the
expected decision is computed by evaluating the SAME Rego package
(``policies/woms/<service>/authz.rego``) with this module's own regorus engine
(:func:`policy_allows`) on the input document the services send: ``tenant``, ``action``,
``principal``, ``resource`` (+ ``relation`` for the evaluation policy). The resource is read
from the service's own store and built by the service's resource helpers
(``task_resource``, ``person_resource``, ``plan_resource``, ``superiors``, the evaluator
relation read from planning's ``/evaluators/policy-data`` as the services read it), so a
state changed by an earlier write is taken into account. Expected answers:

* allowed → the operation's ``ok`` statuses (reads: 200; writes: 200/201, or 409/422 when
  the use case refuses after the access check, e.g. an invalid transition);
* refused, caller of another tenant on ``/tenants/{tenant}/…`` → 404 (the services answer as if
  nothing were there); refused otherwise → 403.

List operations also check each returned item against the policy (``items``: nothing the
caller may not read) and, where the service filters by the policy, that no readable item is
missing (``missing``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.common.auth import Principal
from services.common.db import engine_for, transaction
from services.common.policy import PolicyEngine
from services.evaluation import access as evaluation_access
from services.evaluation import repository as evaluation_repo
from services.planning import access as planning_access
from services.planning import repository as planning_repo
from services.planning.models import Delegation, KeyResult, Plan
from services.reporting import access as reporting_access
from services.tasks import access as tasks_access
from services.tasks import repository as tasks_repo
from services.tasks import service as tasks_service
from services.tasks.models import Evidence
from tests.access.world import (
    COLLEAGUE,
    MANAGER,
    OWNER,
    PERIOD,
    PLAN,
    ROLES,
    TENANT,
    UNIT,
    World,
    headers,
    plan_body,
)

Decision = Callable[[World, Principal, dict[str, Any]], bool]
"""``(world, caller, params)`` → whether the policy allows the call (params: path + query)."""

READ_OK = frozenset({200})
WRITE_OK = frozenset({200, 201, 409, 422})


@dataclass(frozen=True)
class Bound:
    """An operation in the matrix: the Rego decision, the body, the statuses of "let through",
    parameter values that differ from the world's defaults, variants of a parameter."""

    decide: Decision
    body: Any = None
    ok: frozenset[int] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    variants: tuple[dict[str, Any], ...] = ({},)
    """Parameter values per call (a callable gets the world), e.g. two tasks."""
    items: Callable[[World, Principal, dict[str, Any], Any], list[str]] | None = None
    """For lists: the items the caller received but may not read (must be empty)."""
    missing: Callable[[World, Principal, dict[str, Any], Any], list[str]] | None = None
    """For lists filtered by the policy: readable items the caller did not receive."""


@dataclass(frozen=True)
class Excluded:
    reason: str


# --- the policy input, as the services build it --------------------------------------------


_engines = threading.local()


def policy_allows(
    service: str,
    action: str,
    caller: Principal,
    resource: dict[str, Any] | None,
    relation: dict[str, Any] | None = None,
    *,
    tenant: str = TENANT,
) -> bool:
    """``data.woms.<service>.authz.allow`` for the input document the services send
    (``{"tenant", "action", "principal": {"tenant", "subject", "roles"}, "resource"}``, plus
    ``"relation"`` for the evaluation policy), built here and evaluated by this test's own
    regorus engine over ``policies/`` — not through the services' helpers."""
    engine = getattr(_engines, "engine", None)
    if engine is None:
        engine = _engines.engine = PolicyEngine()
    document: dict[str, Any] = {
        "tenant": tenant,
        "action": action,
        "principal": {
            "tenant": caller.tenant,
            "subject": caller.subject,
            "roles": sorted(caller.roles),
        },
        "resource": resource or {},
    }
    if relation is not None:
        document["relation"] = relation
    return engine.evaluate(f"data.woms.{service}.authz.allow", document) is True


@dataclass(frozen=True)
class _Asker:
    """``policy_allows`` bound to a service and a caller."""

    service: str
    caller: Principal

    def allowed(self, action: str, resource: dict[str, Any] | None) -> bool:
        return policy_allows(self.service, action, self.caller, resource)


def _ctx(service: str, caller: Principal) -> _Asker:
    return _Asker(service, caller)


def planning(action: str) -> Decision:
    """``woms.planning.authz`` for ``action`` without a resource (reads of the tenant)."""
    return lambda w, p, q: _ctx("planning", p).allowed(action, None)


def _plan_resource(code: str, *, key_result: bool = False) -> dict[str, Any]:
    with transaction(engine_for(TENANT, "planning")) as s:
        if key_result:
            kr = planning_repo.by_code(s, KeyResult, code)
            assert kr is not None
            plan = kr.objective.plan
        else:
            plan = planning_repo.by_code(s, Plan, code)
            assert plan is not None
        return planning_access.plan_resource(s, plan)


def plan(action: str | None = None, *, key_result: bool = False) -> Decision:
    """``woms.planning.authz`` on the plan ``{code}`` (or the plan of key result ``{code}``)
    with ``services.planning.access.plan_resource``; ``action`` None: ``plan.{action}``."""

    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        name = action or f"plan.{q['action']}"
        return _ctx("planning", p).allowed(name, _plan_resource(q["code"], key_result=key_result))

    return decide


DELEGATION = {
    "unit": UNIT,
    "delegate": "P020",
    "start": "2026-08-03",
    "end": "2026-08-07",
    "basis": "Chánh Văn phòng nghỉ phép năm; ủy quyền Phó Chánh Văn phòng",
}


def delegation_create(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """``delegation.create`` with ``services.planning.access.delegation_resource`` (the unit
    and its head on the delegation's start)."""
    with transaction(engine_for(TENANT, "planning")) as s:
        start = date.fromisoformat(DELEGATION["start"])
        resource = planning_access.delegation_resource(s, DELEGATION["unit"], start)
    return _ctx("planning", p).allowed("delegation.create", resource)


def delegation_end(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """``delegation.end`` with ``services.planning.access.end_resource`` (today's head)."""
    with transaction(engine_for(TENANT, "planning")) as s:
        row = s.get(Delegation, int(q["delegation_id"]))
        assert row is not None
        resource = planning_access.end_resource(s, row, date.today())
    return _ctx("planning", p).allowed("delegation.end", resource)


def tasks(action: str) -> Decision:
    return lambda w, p, q: _ctx("tasks", p).allowed(action, None)


def task_create(body: dict[str, Any]) -> Decision:
    """``task.create`` on the draft the caller would create with ``body``
    (``services.tasks.access.proposal_resource``, the caller its proposer)."""

    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        resource = tasks_access.proposal_resource(
            w.org(),
            proposed_by=p.subject,
            lead_person=body.get("lead_person"),
            lead_unit=body.get("lead_unit"),
            collaborating_people=body.get("collaborating_people") or [],
            collaborating_units=body.get("collaborating_units") or [],
            changes=[f for f in ("collaborating_people", "collaborating_units") if body.get(f)],
        )
        return _ctx("tasks", p).allowed("task.create", resource)

    return decide


def _task_resource(w: World, code: str) -> dict[str, Any]:
    with transaction(engine_for(TENANT, "tasks")) as s:
        return tasks_access.task_resource(w.org(), tasks_service.get_task(s, code))


def task(action: str | None = None) -> Decision:
    """``woms.tasks.authz`` on task ``{code}`` with ``services.tasks.access.task_resource``."""

    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        name = action or f"task.{q['action']}"
        return _ctx("tasks", p).allowed(name, _task_resource(w, q["code"]))

    return decide


def task_person(action: str, param: str = "person") -> Decision:
    """``woms.tasks.authz`` on a person (``person_resource``: the person and superiors)."""
    return lambda w, p, q: _ctx("tasks", p).allowed(
        action, tasks_access.person_resource(w.org(), q[param])
    )


def task_unit(action: str) -> Decision:
    """A unit's ledger: ``services.tasks.access.unit_resource`` (the unit head's person
    resource)."""

    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        return _ctx("tasks", p).allowed(action, tasks_access.unit_resource(w.org(), q["unit"]))

    return decide


def task_warnings(w: World, p: Principal, q: dict[str, Any]) -> bool:
    org = w.org()
    person = q.get("person")
    resource = (
        tasks_access.person_resource(org, person)
        if person
        else tasks_access.unit_resource(org, q.get("unit") or "")
    )
    return _ctx("tasks", p).allowed("warnings.read", resource)


def evidence(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """An attached evidence file: ``task.read`` on the task of its submission."""
    with transaction(engine_for(TENANT, "tasks")) as s:
        item = s.get(Evidence, int(q["evidence_id"]))
        assert item is not None and item.submission_id is not None
        found = tasks_repo.task_of_submission(s, item.submission_id)
        assert found is not None
        resource = tasks_access.task_resource(w.org(), found)
    return _ctx("tasks", p).allowed("task.read", resource)


def _ev(w: World, p: Principal, action: str, resource: dict[str, Any], period: str) -> bool:
    return policy_allows("evaluation", action, p, resource, w.relation(period))


def month(action: str) -> Decision:
    """``woms.evaluation.authz`` on ``{person}``'s month ``{period}`` (person, unit, period of
    the stored month) with the period's evaluator relation read from planning."""

    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        with transaction(engine_for(TENANT, "evaluation")) as s:
            ev = evaluation_repo.evaluation_of(s, q["person"], q["period"])
            assert ev is not None
            resource = {"person": ev.person, "unit": ev.unit, "period": ev.period}
        return _ev(w, p, action, resource, q["period"])

    return decide


def unit_month(action: str) -> Decision:
    def decide(w: World, p: Principal, q: dict[str, Any]) -> bool:
        return _ev(w, p, action, {"unit": q["unit"], "period": q["period"]}, q["period"])

    return decide


def unit_list(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """The unit's published list: ``evaluation.unit_list`` on the unit's month with
    ``published`` (``services.evaluation.access.unit_resource`` over the stored months)."""
    with transaction(engine_for(TENANT, "evaluation")) as s:
        months = list(evaluation_repo.evaluations_of_unit(s, q["unit"], q["period"]))
        relation = w.relation(q["period"])
        resource = evaluation_access.unit_resource(q["unit"], q["period"], months, relation)
    return _ev(w, p, "evaluation.unit_list", resource, q["period"])


def unit_decision(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """Deciding a unit: allowed when the caller may decide at least one month of it."""
    with transaction(engine_for(TENANT, "evaluation")) as s:
        months = [
            {"person": ev.person, "unit": ev.unit, "period": ev.period}
            for ev in evaluation_repo.evaluations_of_unit(s, q["unit"], q["period"])
        ]
    return any(_ev(w, p, "evaluation.decide", m, q["period"]) for m in months)


def _head_month(w: World, unit: str, period: str) -> tuple[dict[str, Any], str]:
    month_ = f"{period[:4]}-{int(period[-1]) * 3:02d}" if "Q" in period else f"{period}-12"
    head = w.relation(month_).get("unit_heads", {}).get(unit)
    return {"person": head, "unit": unit, "period": month_}, month_


def collective_put(w: World, p: Principal, q: dict[str, Any]) -> bool:
    resource, month_ = _head_month(w, q["unit"], q["period"])
    return _ev(w, p, "evaluation.decide", resource, month_)


def collective_get(w: World, p: Principal, q: dict[str, Any]) -> bool:
    resource, month_ = _head_month(w, q["unit"], q["period"])
    return _ev(w, p, "evaluation.read", resource, month_) or _ev(
        w, p, "evaluation.publish", {"unit": q["unit"], "period": month_}, month_
    )


def report(w: World, p: Principal, q: dict[str, Any]) -> bool:
    """``woms.reporting.authz`` as ``services.reporting.api._check`` asks it: a person's
    figures, else a unit's, else the tenant's; the relation's readers from planning."""
    person, unit = q.get("person"), q.get("unit")
    period = q.get("period") or q.get("to") or PERIOD
    ctx = _ctx("reporting", p)
    if not person and not unit:
        return ctx.allowed("reporting.tenant", None)
    action = "reporting.person" if person else "reporting.unit"
    if ctx.allowed(action, {"person": person, "unit": unit}):
        return True
    relation = w.reporting_relation(period[:7] if "Q" not in period else period)
    if person:
        return ctx.allowed(action, reporting_access.person_resource(relation, person))
    return ctx.allowed(action, reporting_access.unit_resource(relation, unit or ""))


def allocation(w: World, p: Principal, q: dict[str, Any]) -> bool:
    ctx = _ctx("reporting", p)
    if ctx.allowed("reporting.allocate", {"unit": q["unit"]}):
        return True
    resource = reporting_access.unit_resource(w.reporting_relation(PERIOD), q["unit"])
    return ctx.allowed("reporting.allocate", resource)


def central(w: World, p: Principal, q: dict[str, Any]) -> bool:
    resource = reporting_access.central_resource(q["tenants"])
    return policy_allows("reporting", "reporting.central", p, resource, tenant=p.tenant)


# --- list checks ---------------------------------------------------------------------------


def _readable_tasks(w: World, p: Principal, codes: list[str]) -> set[str]:
    ctx = _ctx("tasks", p)
    return {c for c in codes if ctx.allowed("task.read", _task_resource(w, c))}


def _all_tasks() -> list[str]:
    with transaction(engine_for(TENANT, "tasks")) as s:
        return [t.code for t in tasks_repo.tasks(s)]


def task_items(w: World, p: Principal, q: dict[str, Any], body: Any) -> list[str]:
    got = [i["code"] for i in body["items"]]
    return sorted(set(got) - _readable_tasks(w, p, got))


def task_missing(w: World, p: Principal, q: dict[str, Any], body: Any) -> list[str]:
    got = {i["code"] for i in body["items"]}
    return sorted(_readable_tasks(w, p, _all_tasks()) - got)


def _readable_months(w: World, p: Principal, unit: str, period: str) -> set[str]:
    people = [person for person, u in w.ids["months"].items() if u == unit]
    return {
        person
        for person in people
        if _ev(w, p, "evaluation.read", {"person": person, "unit": unit, "period": period}, period)
    }


def month_items(w: World, p: Principal, q: dict[str, Any], body: Any) -> list[str]:
    got = {i["person"] for i in body["items"]}
    return sorted(got - _readable_months(w, p, q["unit"], q["period"]))


def month_missing(w: World, p: Principal, q: dict[str, Any], body: Any) -> list[str]:
    got = {i["person"] for i in body["items"]}
    return sorted(_readable_months(w, p, q["unit"], q["period"]) - got)


def planning_items(action: str) -> Callable[[World, Principal, dict[str, Any], Any], list[str]]:
    """Planning lists (units, people, plans) hold tenant-wide data: every item must be
    readable by ``action`` (the policy takes no per-item resource)."""

    def check(w: World, p: Principal, q: dict[str, Any], body: Any) -> list[str]:
        allowed = _ctx("planning", p).allowed(action, None)
        return [] if allowed else [str(i.get("code")) for i in body["items"]]

    return check


# --- the operations ------------------------------------------------------------------------


PEOPLE = ({"person": OWNER}, {"person": MANAGER})
"""Person-scoped reads are called on the owner's and on the manager's (a unit head's)
objects: the callers' positions differ (the owner is then a subordinate)."""

CENTRAL_ASKS = ({"tenants": [TENANT]}, {"tenants": [TENANT, "thanhhoa"]})
"""Central queries of the caller's tenant, and of two tenants (a tenant's central body
covers its own tenant only)."""

HEALTH = Excluded("sức khỏe tiến trình / liveness probe: no caller, no object")
JWKS = Excluded("public signing keys (RFC 7517): public by design, no caller")
DRAFT_FOR_OWNER = {"name": "Nháp", "lead_person": OWNER, "lead_unit": UNIT}
"""A draft led by the owner: allowed to an authority over the owner and to the owner (a
proposal), refused to the others (``DOMAIN.md §4``)."""


def cycle(action: str) -> Decision:
    """``cycle.start`` / ``cycle.read`` on the tenant's month ``{period}``."""
    return lambda w, p, q: policy_allows("evaluation", action, p, {"period": q["period"]})


OPERATIONS: dict[str, dict[tuple[str, str], Bound | Excluded]] = {
    "planning": {
        ("GET", "/tenants/{tenant}/units"): Bound(
            planning("unit.read"), items=planning_items("unit.read")
        ),
        ("GET", "/tenants/{tenant}/units/{code}"): Bound(planning("unit.read")),
        ("GET", "/tenants/{tenant}/people"): Bound(
            planning("person.read"), items=planning_items("person.read")
        ),
        ("GET", "/tenants/{tenant}/people/{code}"): Bound(planning("person.read")),
        ("GET", "/tenants/{tenant}/evaluators"): Bound(planning("evaluator.read")),
        ("GET", "/tenants/{tenant}/catalog"): Bound(planning("catalog.read")),
        ("GET", "/tenants/{tenant}/plans"): Bound(
            planning("plan.read"), items=planning_items("plan.read")
        ),
        ("POST", "/tenants/{tenant}/plans"): Excluded(
            "creates an object (no object id yet); plan.edit on the owner named in the body is "
            "exercised by PUT /plans/{code} on the same resource builder"
        ),
        ("PUT", "/tenants/{tenant}/plans/{code}"): Bound(plan("plan.edit"), body=plan_body(PLAN)),
        ("GET", "/tenants/{tenant}/plans/{code}"): Bound(planning("plan.read")),
        ("GET", "/tenants/{tenant}/plans/late"): Bound(planning("plan.read")),
        ("POST", "/tenants/{tenant}/plans/{code}/{action}"): Bound(
            plan(),
            body={"reason": "Chưa đủ chỉ tiêu"},
            variants=({"action": "submit"}, {"action": "return"}, {"action": "approve"}),
        ),
        ("POST", "/tenants/{tenant}/key-results/{code}/progress"): Bound(
            plan("progress.record", key_result=True), body={"value": "5", "note": "tuần 2"}
        ),
        ("GET", "/tenants/{tenant}/key-results/{code}/progress"): Bound(planning("progress.read")),
        ("POST", "/tenants/{tenant}/ingest/{system}"): Bound(
            lambda w, p, q: _ctx("planning", p).allowed("progress.ingest", {"system": q["system"]}),
            body={"records": [{"external_id": "x-1", "key_result": "KH-P021-KR1", "value": 1}]},
        ),
        ("GET", "/tenants/{tenant}/org/template.xlsx"): Bound(planning("org.template")),
        ("GET", "/tenants/{tenant}/org/export.xlsx"): Bound(planning("org.export")),
        ("POST", "/tenants/{tenant}/org/import"): Bound(planning("org.import"), body=b"not xlsx"),
        ("GET", "/tenants/{tenant}/evaluators/policy-data"): Bound(planning("evaluator.read")),
        ("GET", "/tenants/{tenant}/roles"): Bound(planning("role.read")),
        ("GET", "/tenants/{tenant}/delegations"): Bound(planning("delegation.read")),
        ("POST", "/tenants/{tenant}/delegations"): Bound(delegation_create, body=DELEGATION),
        ("POST", "/tenants/{tenant}/delegations/{delegation_id}/end"): Bound(
            delegation_end, body={"reason": "Trưởng phòng đã trở lại làm việc"}
        ),
        ("POST", "/tenants/{tenant}/key-results/{code}/push-down"): Bound(
            plan("plan.submit", key_result=True), body={"units": ["PL-VP"]}
        ),
        ("GET", "/.well-known/jwks.json"): JWKS,
        ("GET", "/health"): HEALTH,
    },
    "tasks": {
        ("POST", "/tenants/{tenant}/tasks"): Bound(
            task_create(DRAFT_FOR_OWNER), body=DRAFT_FOR_OWNER
        ),
        ("GET", "/tenants/{tenant}/tasks"): Bound(
            lambda w, p, q: p.tenant == TENANT, items=task_items, missing=task_missing
        ),
        ("GET", "/tenants/{tenant}/tasks/{code}"): Bound(
            task("task.read"),
            variants=({"code": lambda w: w.ids["task"]}, {"code": lambda w: w.ids["other_task"]}),
        ),
        ("GET", "/tenants/{tenant}/tasks/{code}/history"): Bound(
            task("task.read"),
            variants=({"code": lambda w: w.ids["task"]}, {"code": lambda w: w.ids["other_task"]}),
        ),
        ("PATCH", "/tenants/{tenant}/tasks/{code}"): Bound(task("task.edit"), body={}),
        ("POST", "/tenants/{tenant}/tasks/{code}/progress"): Bound(
            task("task.progress"), body={"percent": 50}
        ),
        ("POST", "/tenants/{tenant}/tasks/{code}/pushbacks"): Bound(
            task("pushback.create"), body={"topic": "scope", "text": "Phạm vi chưa rõ"}
        ),
        ("POST", "/tenants/{tenant}/tasks/{code}/pushbacks/{pushback_id}/answer"): Bound(
            task("pushback.answer"), body={"answer": "Đã bổ sung số liệu"}
        ),
        ("POST", "/tenants/{tenant}/tasks/{code}/objective-causes"): Bound(
            task("cause.confirm"), body={"kind": "delay", "why": "Mất điện diện rộng"}
        ),
        ("POST", "/tenants/{tenant}/tasks/{code}/exceeded"): Bound(
            task("exceeded.mark"), body={"kind": "innovation"}
        ),
        ("PUT", "/tenants/{tenant}/tasks/{code}/ratings/{ratee}"): Bound(
            task("rating.write"), body={"score": 4}
        ),
        ("GET", "/tenants/{tenant}/ratings/{person}/{period}"): Bound(task_person("rating.read")),
        ("POST", "/tenants/{tenant}/evidence"): Bound(tasks("evidence.upload"), body=b"%PDF-1.4\n"),
        ("GET", "/tenants/{tenant}/evidence/{evidence_id}"): Bound(evidence),
        ("GET", "/tenants/{tenant}/ledger/{person}/{period}"): Bound(
            task_person("ledger.read"), variants=PEOPLE
        ),
        ("GET", "/tenants/{tenant}/ledger-unit/{unit}/{period}"): Bound(task_unit("ledger.read")),
        ("GET", "/tenants/{tenant}/ledger-unit/{unit}/{period}/tasks.csv"): Bound(
            task_unit("ledger.read")
        ),
        ("GET", "/tenants/{tenant}/warnings"): Bound(
            task_warnings, variants=({"person": OWNER}, {"unit": UNIT})
        ),
        ("POST", "/tenants/{tenant}/overdue-sweep"): Bound(tasks("overdue.sweep")),
        ("POST", "/tenants/{tenant}/periods/{period}/close"): Bound(tasks("overdue.sweep")),
        ("GET", "/tenants/{tenant}/calendar/{person}"): Bound(task_person("calendar.read")),
        ("POST", "/tenants/{tenant}/calendar/{person}"): Bound(
            task_person("calendar.write"), body={"day": "2026-06-16", "title": "Họp giao ban"}
        ),
        ("POST", "/tenants/{tenant}/tasks/{code}/{action}"): Bound(
            task(),
            body={"reason": "Thiếu số liệu"},
            variants=tuple(
                {"action": a}
                for a in (
                    "start",
                    "submit",
                    "return",
                    "approve",
                    "propose",
                    "accept",
                    "assign",
                    "cancel",
                )
            ),
        ),
        ("GET", "/health"): HEALTH,
    },
    "evaluation": {
        ("GET", "/tenants/{tenant}/evaluations"): Bound(
            lambda w, p, q: p.tenant == TENANT, items=month_items, missing=month_missing
        ),
        ("GET", "/tenants/{tenant}/evaluations/{person}/{period}"): Bound(
            month("evaluation.read"), variants=PEOPLE
        ),
        ("GET", "/tenants/{tenant}/evaluations/{person}/{period}/history"): Bound(
            month("evaluation.read"), variants=PEOPLE
        ),
        ("GET", "/tenants/{tenant}/evaluations/{person}/{period}/form"): Bound(
            month("evaluation.read"), variants=PEOPLE
        ),
        ("GET", "/tenants/{tenant}/evaluations/{person}/{period}/record"): Bound(
            month("evaluation.read"), variants=PEOPLE
        ),
        ("GET", "/tenants/{tenant}/evaluations/{person}/{period}/workflow"): Bound(
            month("evaluation.read"),
            # allowed: the state of a workflow that does not run here (Temporal unreachable)
            ok=frozenset({503}),
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/refresh"): Bound(
            month("evaluation.read")
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/self-assessment"): Bound(
            month("evaluation.self_assess"), body={"general": 25}
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/review"): Bound(
            month("evaluation.review"), body={"general": 24, "comment": "Hoàn thành tốt"}
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/decision"): Bound(
            month("evaluation.decide")
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/publication"): Bound(
            month("evaluation.publish")
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/appeal"): Bound(
            month("evaluation.appeal"), body={"reason": "Đề nghị xem xét lại điểm tiêu chí chung"}
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/appeal/answer"): Bound(
            month("evaluation.answer_appeal"), body={"upheld": True, "answer": "Giữ nguyên"}
        ),
        ("POST", "/tenants/{tenant}/evaluations/{person}/{period}/leader-factors/proposal"): Bound(
            month("evaluation.decide"), body={}
        ),
        ("PUT", "/tenants/{tenant}/evaluations/{person}/{period}/leader-factors"): Bound(
            month("evaluation.decide"), body={"unit_on_plan": True, "unit_united": True}
        ),
        ("GET", "/tenants/{tenant}/units/{unit}/records/{period}"): Bound(
            unit_month("evaluation.publish")
        ),
        ("POST", "/tenants/{tenant}/units/{unit}/quota/{period}"): Bound(
            unit_month("evaluation.quota")
        ),
        ("POST", "/tenants/{tenant}/units/{unit}/decision/{period}"): Bound(
            unit_decision, body={}, ok=WRITE_OK | {503}
        ),
        ("PUT", "/tenants/{tenant}/units/{unit}/collective/{period}"): Bound(
            collective_put,
            body={"comment": "Hoàn thành tốt nhiệm vụ"},
            params={"period": "2026-Q2"},
        ),
        ("GET", "/tenants/{tenant}/units/{unit}/collective/{period}"): Bound(
            collective_get, params={"period": "2026-Q2"}, ok=frozenset({200, 404})
        ),
        ("GET", "/tenants/{tenant}/units/{unit}/results/{period}"): Bound(unit_list),
        # allowed: Temporal is unreachable here (a closed port), so 503 after the access check
        ("POST", "/tenants/{tenant}/cycles/{period}"): Bound(
            cycle("cycle.start"), ok=frozenset({503})
        ),
        ("GET", "/tenants/{tenant}/cycles/{period}"): Bound(
            cycle("cycle.read"), ok=frozenset({503})
        ),
        ("GET", "/health"): HEALTH,
    },
    "reporting": {
        ("GET", "/tenants/{tenant}/reports/tasks"): Bound(
            report, variants=({}, {"unit": UNIT}, {"person": OWNER})
        ),
        ("GET", "/tenants/{tenant}/reports/grades"): Bound(report, variants=({}, {"unit": UNIT})),
        ("GET", "/tenants/{tenant}/reports/cycle"): Bound(report, variants=({}, {"unit": UNIT})),
        ("GET", "/tenants/{tenant}/reports/people/{person}/card"): Bound(report, variants=PEOPLE),
        ("GET", "/tenants/{tenant}/reports/people/{person}/profile"): Bound(report),
        ("GET", "/tenants/{tenant}/reports/units/{unit}/analysis"): Bound(report),
        ("POST", "/tenants/{tenant}/reports/units/{unit}/allocation"): Bound(
            allocation, body={"period": PERIOD, "pool": 10_000_000}
        ),
        ("GET", "/tenants/{tenant}/reports/goal-tree"): Bound(
            report, variants=({}, {"unit": UNIT}, {"person": OWNER})
        ),
        ("GET", "/tenants/{tenant}/reports/warnings"): Bound(
            report, variants=({}, {"unit": UNIT}, {"person": OWNER})
        ),
        ("GET", "/tenants/{tenant}/reports/units/{unit}/summary/export"): Bound(report),
        ("GET", "/tenants/{tenant}/reports/units/{unit}/commendation/export"): Bound(report),
        ("GET", "/tenants/{tenant}/reports/people/{person}/card/export"): Bound(report),
        ("GET", "/tenants/{tenant}/reports/provincial/export"): Bound(report),
        ("GET", "/central/tasks"): Bound(central, variants=CENTRAL_ASKS),
        ("GET", "/central/grades"): Bound(central, variants=CENTRAL_ASKS),
        ("GET", "/central/cycle"): Bound(central, variants=CENTRAL_ASKS),
        ("GET", "/central/rankings"): Bound(central, variants=CENTRAL_ASKS),
        ("GET", "/central/rankings/export"): Bound(central, variants=CENTRAL_ASKS),
        ("GET", "/central/tenants"): Excluded(
            "the caller's own central grants, each tenant decided by reporting.central; "
            "answers every caller (an empty list without a grant)"
        ),
        ("GET", "/health"): HEALTH,
    },
}

DEFAULTS: dict[str, Any] = {
    "tenant": TENANT,
    "period": PERIOD,
    "person": OWNER,
    "unit": UNIT,
    "ratee": COLLEAGUE,
    "system": "hanoiwork",
    "week": "2026-06-15",
    "filename": "bien-ban.pdf",
    "tenants": [TENANT],
    "from": "2026-01",
    "to": PERIOD,
    "format": "xlsx",
}
CODE_OF = {
    "units": lambda w: UNIT,
    "people": lambda w: OWNER,
    "plans": lambda w: w.ids["plan"],
    "key-results": lambda w: w.ids["key_result"],
    "tasks": lambda w: w.ids["task"],
}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` of every operation in an OpenAPI document."""
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def unclassified(service: str, spec: dict[str, Any]) -> list[str]:
    """Operations of the spec that are neither bound nor excluded (must be empty), and
    classified operations the spec no longer has."""
    table = OPERATIONS[service]
    have = {(m, p) for m, p, _ in operations(spec)}
    return [f"{m} {p}: not classified" for m, p in sorted(have - set(table))] + [
        f"{m} {p}: classified but not in the OpenAPI" for m, p in sorted(set(table) - have)
    ]


def _value(w: World, name: str, path: str) -> Any:
    if name == "code":
        segments = path.split("/")
        return CODE_OF[segments[segments.index("{code}") - 1]](w)
    if name == "pushback_id":
        return w.ids["pushback"]
    if name == "evidence_id":
        return w.ids["evidence"]
    if name == "delegation_id":
        return w.ids["delegation"]
    return DEFAULTS[name]


@dataclass
class Outcome:
    """A service's matrix: cases run, answers by status, mismatches."""

    service: str
    endpoints: int = 0
    cases: int = 0
    allowed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    grid: dict[str, dict[str, tuple[bool, int]]] = field(default_factory=dict)
    """``"METHOD url query"`` → caller → (policy allows, status answered)."""

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.service}: {self.endpoints} endpoint calls × {len(ROLES)} callers = "
            f"{self.cases} cases, {self.allowed} allowed by the policy, "
            f"{self.cases - self.allowed} refused; statuses {codes}; "
            f"{len(self.mismatches)} mismatches; {len(self.excluded)} operations excluded"
        )


def run(service: str, w: World, spec: dict[str, Any]) -> Outcome:
    """Call every bound operation of ``service`` (each variant) as every caller; compare each
    answer with the policy's decision (see the module docstring)."""
    client = w.clients[service]
    outcome = Outcome(service)
    for method, path, op in operations(spec):
        entry = OPERATIONS[service][(method, path)]
        if isinstance(entry, Excluded):
            outcome.excluded[f"{method} {path}"] = entry.reason
            continue
        for variant in entry.variants:
            outcome.endpoints += 1
            _run_endpoint(outcome, client, w, method, path, op, entry, variant)
    return outcome


def _run_endpoint(
    outcome: Outcome,
    client: Any,
    w: World,
    method: str,
    path: str,
    op: dict[str, Any],
    entry: Bound,
    variant: dict[str, Any],
) -> None:
    values: dict[str, Any] = {}
    query: dict[str, Any] = {}
    given = {k: v(w) if callable(v) else v for k, v in {**variant, **entry.params}.items()}
    for param in op.get("parameters", []):
        name, where = param["name"], param["in"]
        if where == "path":
            values[name] = given[name] if name in given else _value(w, name, path)
        elif where == "query" and (param.get("required") or name in given):
            query[name] = given[name] if name in given else _value(w, name, path)
    url = path.format(**values)
    q = {**values, **query}
    for role, caller in ROLES.items():
        allowed = entry.decide(w, caller, q)
        kwargs: dict[str, Any] = {"headers": headers(caller), "params": query}
        if isinstance(entry.body, bytes):
            kwargs["content"] = entry.body
        elif entry.body is not None:
            kwargs["json"] = entry.body
        answer = client.request(method, url, **kwargs)
        outcome.cases += 1
        outcome.allowed += allowed
        outcome.statuses[answer.status_code] = outcome.statuses.get(answer.status_code, 0) + 1
        call = f"{method} {url}" + (f" {query}" if query else "")
        outcome.grid.setdefault(call, {})[role] = (bool(allowed), answer.status_code)
        label = f"{call} as {role} ({caller.subject})"
        if allowed:
            ok = entry.ok or (READ_OK if method == "GET" else WRITE_OK)
            if method == "GET" and entry.ok:
                ok = ok | READ_OK
        elif path.startswith("/tenants/{tenant}") and caller.tenant != TENANT:
            ok = frozenset({404})
        else:
            ok = frozenset({403})
        if answer.status_code not in ok:
            verdict = "allows" if allowed else "refuses"
            outcome.mismatches.append(
                f"{label}: policy {verdict}, answered {answer.status_code} "
                f"(expected {sorted(ok)}): {answer.text[:300]}"
            )
            continue
        if answer.status_code == 200 and entry.items is not None:
            body = answer.json()
            leaked = entry.items(w, caller, q, body)
            if leaked:
                outcome.mismatches.append(f"{label}: list leaks unreadable items {leaked}")
            hidden = entry.missing(w, caller, q, body) if entry.missing else []
            if hidden:
                outcome.mismatches.append(f"{label}: list hides readable items {hidden}")


def markdown(outcome: Outcome) -> str:
    """The service's grid as a Markdown table: one row per call, one column per caller,
    ``✓200`` allowed by the policy and answered 200, ``✗403`` refused and answered 403."""
    head = "| call | " + " | ".join(ROLES) + " |"
    rule = "|---|" + "---|" * len(ROLES)
    rows = [
        f"| `{call}` | "
        + " | ".join(f"{'✓' if cells[r][0] else '✗'}{cells[r][1]}" for r in ROLES)
        + " |"
        for call, cells in outcome.grid.items()
    ]
    return "\n".join([head, rule, *rows])
