"""Reporting queries over the read models (``DOMAIN.md §8–§9``; ``000 §IV.5–6``, ``002``).

Functions take an open connection to the reporting database (``engine_for("platform",
"reporting")``) and plain arguments, read only, and never commit. Every answer says what it
covers: ``covers = {"tenants": [...], "units": [{"tenant", "unit"}, ...]}`` — the tenants
asked for and the units that have figures in the scope. Access control (who may ask for which
tenants and units, central bodies) is the caller's: these functions answer for exactly the
tenants they are given.

Percentages are exact decimals rounded half-up to 0.1 (``None`` when the base is 0).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection

from services.reporting import repository as repo
from services.reporting.models import LIVE, ProjectionTables
from services.reporting.projections import is_late

GRADES = ("A", "B", "C", "D")
#: Steps of a person's month in order (``001 §IV.1``), then outside the flow.
STEPS = ("opened", "self_assessed", "reviewed", "decided", "published", "not_evaluated")


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole × 100`` rounded half-up to 0.1 (%); None when ``whole`` is 0."""
    if not whole:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def covers(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    unit: str | None,
    person: str | None = None,
) -> dict[str, Any]:
    units = repo.covered_units(conn, t, tenants, period, unit=unit, person=person)
    return {
        "tenants": sorted(set(tenants)),
        "units": [{"tenant": tenant, "unit": u} for tenant, u in units],
    }


def with_rates(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (task sums) with ``done_percent``, ``on_time_percent`` and
    ``points_completed_percent`` (%, see :func:`percent`)."""
    return {
        **row,
        "done_percent": percent(row["done"], row["total"]),
        "on_time_percent": percent(row["on_time"], row["done"]),
        "points_completed_percent": percent(row["points_completed"], row["points_assigned"]),
    }


def with_overdue(
    rows: list[dict[str, Any]], counts: dict[tuple[Any, ...], int], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """``rows`` (task sums keyed by ``keys``) with ``overdue`` replaced by ``counts`` (from
    :func:`services.reporting.repository.overdue_counts` over the same ``keys``)."""
    return [{**r, "overdue": counts.get(tuple(r[k] for k in keys), 0)} for r in rows]


def task_rows(
    conn: Connection,
    tables: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    today: date | None,
    *,
    unit: str | None = None,
    person: str | None = None,
    by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The task sums of the scope grouped by ``by`` (:func:`repository.task_totals`) with
    ``overdue`` counted on ``today`` by the one rule
    :func:`~services.common.overdue.is_overdue` — the figure the dashboard, the cards, the
    exports, the rankings and the early warnings share (the HTTP API always gives a day: the
    one asked for, else the server's date). Without a day,
    ``overdue`` is as the events flagged it (``task.overdue``, the tasks service's daily
    sweep, which applies the same rule on the day it runs)."""
    scope = {"unit": unit, "person": person}
    rows = repo.task_totals(conn, tables, tenants, period, **scope, by=by)
    if today is None:
        return rows
    counts = repo.overdue_counts(conn, tables, tenants, period, today, **scope, by=by)
    return with_overdue(rows, counts, by)


def task_summary(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
    by: str | None = None,
    today: date | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """Tasks of ``period`` (``YYYY-MM``) in ``tenants`` (optionally one unit / person): total,
    done, on time, late, overdue, returned (counts of tasks), points assigned vs completed
    (points), with the done / on-time / points-completed percentages (%).

    Args:
        by: also break the figures down by ``tenant``, ``unit`` or ``person``.
        today: the day ``overdue`` is counted on
            (:func:`~services.common.overdue.is_overdue`); ``None``: as the events flagged it
            (see :func:`task_rows`).

    Returns:
        ``{"period", "covers", "totals": {...}, "by_group": [{"task_group", ...}],
        "rows": [{<by>..., ...}]}`` (``rows`` empty without ``by``); ``task_group`` ``""``
        means the events did not carry the group.

    Raises:
        ValueError: ``by`` is not one of tenant, unit, person; no tenant given.
    """
    if not tenants:
        raise ValueError("tenants: at least one tenant is required")
    levels = {
        "tenant": ("tenant",),
        "unit": ("tenant", "unit"),
        "person": ("tenant", "unit", "person"),
    }
    if by is not None and by not in levels:
        raise ValueError(f"by: {by!r} is not one of tenant, unit, person")
    day = today
    scope = {"unit": unit, "person": person}
    totals = task_rows(conn, tables, tenants, period, day, **scope)
    groups = task_rows(conn, tables, tenants, period, day, **scope, by=("task_group",))
    rows = task_rows(conn, tables, tenants, period, day, **scope, by=levels[by]) if by else []
    return {
        "period": period,
        "covers": covers(conn, tables, tenants, period, unit, person),
        "totals": with_rates(totals[0]),
        "by_group": [with_rates(g) for g in groups],
        "rows": [with_rates(r) for r in rows],
    }


def person_month(
    conn: Connection,
    tenant: str,
    person: str,
    period: str,
    *,
    today: date | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """One person's month: their tasks (as :func:`task_summary`, by group, overdue on
    ``today``) and their evaluation row (step, suggested score, score, grade, final grade,
    general points, task result, flags) or ``None``."""
    tasks = task_summary(conn, [tenant], period, person=person, today=today, tables=tables)
    rows = repo.evaluations(conn, tables, [tenant], period, person=person)
    return {
        "period": period,
        "covers": tasks["covers"],
        "person": person,
        "tasks": tasks["totals"],
        "by_group": tasks["by_group"],
        "evaluation": rows[0] if rows else None,
    }


def evaluation_rows(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    tables: ProjectionTables = LIVE,
) -> list[dict[str, Any]]:
    """Each person's month of ``period`` in the scope, by tenant, unit, person: ``status`` (the
    step), ``suggested_score``, ``score`` (points, exact), ``grade``, ``final_grade`` (after the
    quota), ``flags``, ``appeal_status``, ``last_action``, ``updated_at`` (time of the event).
    Persons' details: the caller decides who may see them (central bodies get figures)."""
    return repo.evaluations(conn, tables, tenants, period, unit=unit)


def grade_distribution(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """Final grades (after the unit quota, ``001 §II.2.5``) of ``period``: people per grade A–D
    overall and per unit, with the share of A (%, the quota use) among the people graded.
    People without a final grade yet are counted as ``pending``.

    Returns:
        ``{"period", "covers", "totals": {"A", "B", "C", "D", "pending", "graded",
        "a_percent"}, "units": [{"tenant", "unit", ...same keys}]}``
    """
    per_unit: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for tenant, u, grade, n in repo.evaluation_counts(
        conn, tables, tenants, period, "final_grade", unit=unit
    ):
        per_unit[(tenant, u)][grade if grade in GRADES else "pending"] += n

    total: Counter[str] = Counter()
    for counts in per_unit.values():
        total.update(counts)
    return {
        "period": period,
        "covers": covers(conn, tables, tenants, period, unit),
        "totals": grade_figures(total),
        "units": [
            {"tenant": tenant, "unit": u, **grade_figures(counts)}
            for (tenant, u), counts in sorted(per_unit.items())
        ],
    }


def grade_figures(counts: Counter[str]) -> dict[str, Any]:
    """People per final grade A–D and ``pending`` from ``counts`` (grade → people), with
    ``graded`` (people with a final grade) and ``a_percent`` (% of A among them)."""
    graded = sum(counts[g] for g in GRADES)
    return {
        **{g: counts[g] for g in GRADES},
        "pending": counts["pending"],
        "graded": graded,
        "a_percent": percent(counts["A"], graded),
    }


def cycle_progress(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """Who is at which step of ``period``'s cycle (``001 §IV.1``) and who is late (a step past
    its deadline: self-assessment missed, review missed or escalated, decision escalated).

    Returns:
        ``{"period", "covers", "by_step": {step: people}, "published_percent",
        "late": [{"tenant", "unit", "person", "status", "flags"}]}``
    """
    rows = repo.evaluations(conn, tables, tenants, period, unit=unit)
    steps = Counter(r["status"] for r in rows)
    return {
        "period": period,
        "covers": covers(conn, tables, tenants, period, unit),
        "by_step": {step: steps[step] for step in (*STEPS, *sorted(set(steps) - set(STEPS)))},
        "published_percent": percent(steps["published"], len(rows)),
        "late": [
            {k: r[k] for k in ("tenant", "unit", "person", "status", "flags")}
            for r in rows
            if is_late(r["flags"])
        ],
    }


def dead_letters(
    conn: Connection, tenants: Sequence[str] | None = None, *, tables: ProjectionTables = LIVE
) -> list[dict[str, Any]]:
    """The parked events (of ``tenants`` when given) with their reasons, oldest first."""
    return repo.dead_letters(conn, tables, tenants)
