"""Goal-tree and early-warning queries over the reporting read models (issue 6, ``DOMAIN.md
§8–§9``).

* :func:`goal_tree` — the plans of a tenant (or of one unit) whose period overlaps a month,
  each with its objectives and key results and, below each key result, the objectives of any
  plan serving it (the cascade of ``004 Phụ lục 4 §3.3``), rolled up by
  the shared roll-up (:mod:`services.common.goals.rollup`, through
  :mod:`services.reporting.goal_tree`): progress, traffic light, the evaluation figure without
  breakthrough items and the four perspectives.
* :func:`early_warnings` — the key results of those plans and the open tasks of the month at
  risk (:mod:`services.reporting.warnings`: overdue, due soon with low progress, no update,
  projected to miss the target by the linear trend of the progress log).

Functions take an open connection to the reporting database, read only and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import holidays
from sqlalchemy import Connection

from services.common.goals.okr import (
    Direction,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    StatusColour,
)
from services.common.goals.rollup import KeyResultProgress, ObjectiveProgress, PlanProgress
from services.common.overdue import WITH_THE_LEAD
from services.reporting import goal_tree as gt
from services.reporting import repository as repo
from services.reporting import warnings as rules
from services.reporting.models import LIVE, ProjectionTables

#: Task statuses whose work is handed over (submitted, waiting for review): no warning.
HANDED_OVER = frozenset({"submitted"})


def month_bounds(period: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``."""
    year, month = (int(x) for x in period.split("-"))
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), following - timedelta(days=1)


class WorkingDays:
    """Vietnamese working days (``holidays`` package: weekends, public holidays, make-up
    Saturdays) with a tenant's ``extra_days_off`` / ``extra_working_days``."""

    def __init__(self, days_off: Iterable[date] = (), working: Iterable[date] = ()) -> None:
        self._off, self._on = frozenset(days_off), frozenset(working)
        self._holidays = holidays.country_holidays("VN")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WorkingDays:
        """From the tenant's ``calendar.extra_days_off`` / ``extra_working_days`` (ISO dates)."""
        calendar = config.get("calendar", {}) or {}
        return cls(
            (date.fromisoformat(str(d)) for d in calendar.get("extra_days_off", ()) or ()),
            (date.fromisoformat(str(d)) for d in calendar.get("extra_working_days", ()) or ()),
        )

    def is_working_day(self, d: date) -> bool:
        """Tenant overrides first, then make-up Saturdays, then weekdays without a holiday."""
        if d in self._on:
            return True
        if d in self._off:
            return False
        holiday = d in self._holidays
        if d.weekday() >= 5:
            return d in self._holidays.weekend_workdays
        return not holiday


def warning_rules(config: dict[str, Any]) -> rules.WarningRules:
    """The tenant's thresholds: ``tasks.warn_days`` (due-soon horizon, working days, default
    3) and ``tasks.stale_days`` (default 7), as the tasks service reads them."""
    tasks = config.get("tasks", {}) or {}
    return rules.WarningRules(
        soon_working_days=int(tasks.get("warn_days", 3)),
        stale_days=int(tasks.get("stale_days", 7)),
    )


# --- loading the trees ---------------------------------------------------------------------


def _dec(row: dict[str, Any], name: str) -> Decimal | None:
    value = row[name]
    return None if value is None else repo.exact(value).normalize()


class _Forest:
    """The objectives reachable from some plans, loaded level by level (one query per level
    and table), then assembled into trees as planning assembles them: children of an
    objective are the objectives serving any of its key results, by code, an objective never
    appearing below itself. ``values`` holds every key result's current value, ``plan_of``
    every objective's plan."""

    def __init__(
        self, conn: Connection, t: ProjectionTables, tenant: str, plans: Sequence[str]
    ) -> None:
        self.objectives: dict[str, dict[str, Any]] = {}
        self.key_results: dict[str, list[dict[str, Any]]] = {}
        self.serving: dict[str, list[str]] = {}
        self.values: dict[str, Decimal | None] = {}
        frontier = repo.objectives_of_plans(conn, t, tenant, plans)
        while frontier:
            fresh = [o for o in frontier if o["objective"] not in self.objectives]
            for o in fresh:
                self.objectives[o["objective"]] = o
                self.key_results[o["objective"]] = []
            if not fresh:
                break
            krs = repo.key_results_of(conn, t, tenant, [o["objective"] for o in fresh])
            for k in krs:
                self.key_results[k["objective"]].append(k)
                self.values[k["key_result"]] = _dec(k, "value")
            codes = [k["key_result"] for k in krs]
            frontier = repo.objectives_serving(conn, t, tenant, codes)
            for o in frontier:
                self.serving.setdefault(o["parent_key_result"], []).append(o["objective"])
        self.plan_of = {code: row["plan"] for code, row in self.objectives.items()}

    def roots(self, plan: str) -> list[str]:
        """The objectives of ``plan`` by position."""
        own = [o for o in self.objectives.values() if o["plan"] == plan]
        return [o["objective"] for o in sorted(own, key=lambda o: o["position"])]

    def spec(self, code: str, seen: frozenset[str] = frozenset()) -> ObjectiveSpec:
        row = self.objectives[code]
        krs = sorted(self.key_results[code], key=lambda k: k["position"])
        children = sorted(
            {c for k in krs for c in self.serving.get(k["key_result"], []) if c not in seen}
        )
        return gt.objective_spec(
            row,
            _dec(row, "weight"),
            [gt.key_result_spec(k, lambda name, k=k: _dec(k, name)) for k in krs],
            [self.spec(c, seen | {code}) for c in children],
        )


# --- output --------------------------------------------------------------------------------


def percent(ratio: Fraction | None) -> Decimal | None:
    """A ratio as % rounded half-up to 0.1 (``Fraction(1, 3)`` → ``33.3``); None stays None."""
    if ratio is None:
        return None
    value = Decimal(ratio.numerator) * 100 / Decimal(ratio.denominator)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _light(value: StatusColour | None) -> dict[str, Any]:
    if value is None:
        return {"colour": None, "status": None, "label": None}
    return {"colour": value.value, "status": value.status, "label": value.label}


def _kr_out(spec: KeyResultSpec, k: KeyResultProgress, e: KeyResultProgress) -> dict[str, Any]:
    return {
        "code": spec.code,
        "title": spec.title,
        "kind": spec.kind.value,
        "unit_of_measure": spec.unit_of_measure,
        "direction": (spec.direction or Direction.HIGHER).value,
        "baseline": spec.baseline,
        "target": spec.target,
        "weight": spec.weight,
        "current": k.current,
        "progress": k.progress,
        "progress_percent": percent(k.progress),
        "source": k.source,
        "achievement": k.achievement,
        "counted_in_evaluation": e.counted,
        **_light(k.colour),
    }


def _objective_out(
    spec: ObjectiveSpec, r: ObjectiveProgress, e: ObjectiveProgress, plan_of: dict[str, str]
) -> dict[str, Any]:
    return {
        "code": spec.code,
        "title": spec.title,
        "plan": plan_of[spec.code],
        "perspective": spec.perspective.value,
        "breakthrough": spec.breakthrough,
        "weight": spec.weight,
        "progress_source": spec.progress_source.value,
        "parent_key_result": spec.parent_key_result,
        "progress": r.progress,
        "progress_percent": percent(r.progress),
        "evaluation_progress": e.progress if e.counted else None,
        "evaluation_progress_percent": percent(e.progress) if e.counted else None,
        "counted_in_evaluation": e.counted,
        **_light(r.colour),
        "missing_data": list(r.missing_data),
        "key_results": [
            _kr_out(s, k, ek)
            for s, k, ek in zip(spec.key_results, r.key_results, e.key_results, strict=True)
        ],
        "children": [
            _objective_out(s, c, ec, plan_of)
            for s, c, ec in zip(spec.children, r.children, e.children, strict=True)
        ],
    }


def _perspectives(reported: PlanProgress, evaluation: PlanProgress) -> list[dict[str, Any]]:
    return [
        {
            "perspective": p.value,
            "label": p.label,
            "progress": reported.by_perspective[p],
            "progress_percent": percent(reported.by_perspective[p]),
            "evaluation_progress": evaluation.by_perspective[p],
            "evaluation_progress_percent": percent(evaluation.by_perspective[p]),
        }
        for p in Perspective
    ]


def goal_tree(
    conn: Connection,
    tenant: str,
    period: str,
    today: date,
    *,
    unit: str | None = None,
    person: str | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """The goal tree of ``tenant`` (or of the plans ``unit`` or ``person`` owns) for the month
    ``period`` (``YYYY-MM``) on ``today``.

    Returns:
        ``{"tenant", "period", "today", "unit", "person", "covers": {"tenants", "units",
        "plans"},
        "plans": [{"plan", "owner_unit", "owner_person", "period": {"kind", "year", "number",
        "start", "end"}, "status", "expected", "progress", "evaluation_progress", "colour",
        "status_light", "label", "perspectives": [{"perspective", "label", "progress",
        "evaluation_progress"}], "objectives": [{"code", "title", "plan", "perspective",
        "breakthrough", "weight", "progress_source", "parent_key_result", "progress",
        "evaluation_progress", "counted_in_evaluation", "colour", "status", "label",
        "missing_data", "key_results": [...], "children": [...same shape]}]}]}`` — ratios are
        exact ``Fraction`` (1 = 100 %) with a ``…_percent`` beside each (%, half-up to 0.1),
        amounts ``Decimal`` in the key result's unit.
    """
    first, last = month_bounds(period)
    plans = repo.plans_in(conn, tables, tenant, first, last, unit=unit, person=person)
    forest = _Forest(conn, tables, tenant, [p["plan"] for p in plans])
    out = []
    for p in plans:
        specs = [forest.spec(code) for code in forest.roots(p["plan"])]
        start, end = p["period_start"], p["period_end"]
        reported = gt.plan_figures(specs, forest.values, start, end, today, evaluation=False)
        evaluation = gt.plan_figures(specs, forest.values, start, end, today, evaluation=True)
        light = _light(reported.colour)
        out.append(
            {
                "plan": p["plan"],
                "owner_unit": p["owner_unit"],
                "owner_person": p["owner_person"],
                "period": {
                    "kind": p["period_kind"],
                    "year": p["year"],
                    "number": p["number"],
                    "start": start,
                    "end": end,
                },
                "status": p["status"],
                "expected": reported.expected,
                "expected_percent": percent(reported.expected),
                "progress": reported.progress,
                "progress_percent": percent(reported.progress),
                "evaluation_progress": evaluation.progress,
                "evaluation_progress_percent": percent(evaluation.progress),
                "colour": light["colour"],
                "status_light": light["status"],
                "label": light["label"],
                "perspectives": _perspectives(reported, evaluation),
                "objectives": [
                    _objective_out(s, r, e, forest.plan_of)
                    for s, r, e in zip(
                        specs, reported.objectives, evaluation.objectives, strict=True
                    )
                ],
            }
        )
    units = sorted({p["owner_unit"] for p in plans if p["owner_unit"]})
    return {
        "tenant": tenant,
        "period": period,
        "today": today,
        "unit": unit,
        "person": person,
        "covers": {
            "tenants": [tenant],
            "units": [{"tenant": tenant, "unit": u} for u in units],
            "plans": [p["plan"] for p in plans],
        },
        "plans": out,
    }


# --- early warnings ------------------------------------------------------------------------


def _walk(objectives: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for o in objectives:
        yield o
        yield from _walk(o["children"])


def early_warnings(
    conn: Connection,
    tenant: str,
    period: str,
    today: date,
    calendar: rules.WorkingDays,
    *,
    unit: str | None = None,
    person: str | None = None,
    warning_rules: rules.WarningRules | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """Early warnings (``000 §IV.5``, ``000 §II.1(4)``) of ``period`` on ``today`` (of a unit or a
    person when given — the plans they own, the tasks of the unit or led by the person): the key
    results of the plans of :func:`goal_tree` (each once, due at the end of its plan's period,
    started at its start, its progress log from ``keyresult.progressed``; done when completed or
    exceeded) and the month's open tasks (due date, assignment and last event times from the
    tasks events; progress 0 — the tasks service does not publish progress notes yet; submitted
    tasks are handed over and raise none).

    Returns:
        ``{"tenant", "period", "today", "unit", "person", "covers", "rules",
        "counts": {kind: n}, "task_counts": {kind: n} (the tasks' warnings only: their
        ``overdue`` is the tasks' overdue figure, :func:`services.common.overdue.is_overdue`),
        "warnings": [{"kind", "item_kind", "code", "owner", "figures", "message"}]}``
    """
    tree = goal_tree(conn, tenant, period, today, unit=unit, person=person, tables=tables)
    plan_of: dict[str, str] = {}
    krs: dict[str, dict[str, Any]] = {}
    for plan in tree["plans"]:
        for objective in _walk(plan["objectives"]):
            for kr in objective["key_results"]:
                if kr["code"] not in krs:
                    krs[kr["code"]] = kr
                    plan_of[kr["code"]] = objective["plan"]
    bounds = {
        p["plan"]: (p["period_start"], p["period_end"], p["owner_unit"] or p["owner_person"])
        for p in repo.plans_named(conn, tables, tenant, sorted(set(plan_of.values())))
    }
    log = repo.updates_of(conn, tables, tenant, sorted(krs))
    items: list[rules.TrackedItem] = []
    for code, kr in krs.items():
        plan = plan_of[code]
        if plan not in bounds:
            continue
        start, due, owner = bounds[plan]
        points = tuple((at.date(), value) for at, value in log.get(code, []))
        measurable = kr["target"] is not None
        items.append(
            rules.TrackedItem(
                kind=rules.ItemKind.KEY_RESULT,
                code=code,
                title=kr["title"],
                owner=owner or "",
                start=start,
                due=due,
                progress=Fraction(kr["progress"]),
                target=kr["target"] if measurable else Decimal(100),
                lower_is_better=kr["direction"] == "lower",
                log=points if measurable else (),
                done=kr["achievement"] in ("completed", "exceeded"),
            )
        )
    for task in repo.open_tasks(conn, tables, tenant, period, unit=unit, person=person):
        if task["due_date"] is None or task["status"] not in WITH_THE_LEAD:
            continue  # handed over (submitted): no warning; overdue as is_overdue
        assigned = task["assigned_at"].date() if task["assigned_at"] else task["due_date"]
        last = task["last_event_at"].date() if task["last_event_at"] else None
        items.append(
            rules.TrackedItem(
                kind=rules.ItemKind.TASK,
                code=task["task"],
                title=task["task"],
                owner=task["person"],
                start=min(assigned, task["due_date"]),
                due=task["due_date"],
                progress=Fraction(0),
                log=((last, Decimal(0)),) if last and last > assigned else (),
            )
        )
    chosen = warning_rules or rules.WarningRules()
    found = rules.early_warnings(items, today, calendar, chosen)
    counts: dict[str, int] = {kind.value: 0 for kind in rules.WarningKind}
    task_counts = dict(counts)
    for w in found:
        counts[w.kind.value] += 1
        if w.item_kind is rules.ItemKind.TASK:
            task_counts[w.kind.value] += 1
    return {
        "tenant": tenant,
        "period": period,
        "today": today,
        "unit": unit,
        "person": person,
        "covers": tree["covers"],
        "rules": chosen,
        "counts": counts,
        "task_counts": task_counts,
        "warnings": found,
    }
