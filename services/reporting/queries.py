"""Reporting queries for the HTTP API beyond :mod:`services.reporting.service`: a person's
months over a range (the competency profile, ``000 §IV.6``), the cycle per unit without
persons' details and the ranking of units for central bodies (``DOMAIN.md §8–§9``, issue 6).

Functions take an open connection to the reporting database, read only, never commit, and
answer for exactly the tenants they are given; every answer carries ``covers`` like the
queries of :mod:`services.reporting.service`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from services.reporting import repository as repo
from services.reporting import service
from services.reporting.models import LIVE, ProjectionTables
from services.reporting.repository import exact

#: Axes a ranking of units can be ordered by (all %, higher is better except ``late_people``).
AXES: dict[str, str] = {
    "done_percent": "tasks",
    "on_time_percent": "tasks",
    "points_completed_percent": "tasks",
    "a_percent": "grades",
    "published_percent": "cycle",
    "late_people": "cycle",
}


def person_history(
    conn: Connection,
    tenant: str,
    person: str,
    first: str,
    last: str,
    *,
    tables: ProjectionTables = LIVE,
) -> list[dict[str, Any]]:
    """A person's months from ``first`` to ``last`` (``YYYY-MM``, inclusive) that have an
    evaluation row: ``period``, ``unit``, ``status``, ``score`` (points, exact), ``grade``,
    ``final_grade``, ``flags``, and from the task figures ``late`` (tasks done after their due
    date, ``001 §III.2``) and ``done`` (counts). Ordered by period."""
    e = tables.evaluation_facts.c
    rows = conn.execute(
        select(tables.evaluation_facts)
        .where(e.tenant == tenant, e.person == person, e.period >= first, e.period <= last)
        .order_by(e.period)
    )
    c = tables.task_counts.c
    tasks = {
        r.period: (int(r.late or 0), int(r.done or 0))
        for r in conn.execute(
            select(c.period, func.sum(c.late).label("late"), func.sum(c.done).label("done"))
            .where(c.tenant == tenant, c.person == person, c.period >= first, c.period <= last)
            .group_by(c.period)
        )
    }
    out = []
    for row in rows:
        late, done = tasks.get(row.period, (0, 0))
        out.append(
            {
                "period": row.period,
                "unit": row.unit,
                "status": row.status,
                "score": exact(row.score).normalize() if row.score is not None else None,
                "grade": row.grade,
                "final_grade": row.final_grade,
                "flags": list(row.flags or []),
                "late": late,
                "done": done,
            }
        )
    return out


def cycle_by_unit(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    *,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """The cycle of ``period`` per unit as figures only (no person codes, for central bodies):
    people per step, the published share (%) and the number of people late at a step, read
    from the unit aggregates (``unit_evaluation_counts``, issue 6).

    Returns:
        ``{"period", "covers", "units": [{"tenant", "unit", "people", "by_step",
        "published_percent", "late_people"}]}``
    """
    steps: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    late: Counter[tuple[str, str]] = Counter()
    for tenant, unit, status, is_late, people in repo.evaluation_cube(
        conn, tables, tenants, period, ("status", "late")
    ):
        steps[(tenant, unit)][status] += people
        late[(tenant, unit)] += people if is_late else 0
    covers = service.covers(conn, tables, tenants, period, None)
    units = [
        {"tenant": tenant, "unit": unit, **_cycle_figures(counts, late[(tenant, unit)])}
        for (tenant, unit), counts in sorted(steps.items())
    ]
    return {"period": period, "covers": covers, "units": units}


def _cycle_figures(steps: Counter[str], late: int) -> dict[str, Any]:
    people = sum(steps.values())
    order = (*service.STEPS, *sorted(set(steps) - set(service.STEPS)))
    return {
        "people": people,
        "by_step": {s: steps[s] for s in order},
        "published_percent": service.percent(steps["published"], people),
        "late_people": late,
    }


def unit_ranking(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    axis: str,
    *,
    today: date | None = None,
    tables: ProjectionTables = LIVE,
) -> dict[str, Any]:
    """Units of ``tenants`` ranked by ``axis`` for ``period`` (see :data:`AXES`): percentages
    from high to low, ``late_people`` from low to high; units without a value on the axis
    (base 0) come last. Equal values share a rank (competition ranking: 1, 1, 3).

    Returns:
        ``{"period", "axis", "covers", "units": [{"rank", "tenant", "unit", "value",
        "tasks": {...}, "grades": {...}, "cycle": {...}}]}``

    Raises:
        ValueError: ``axis`` is not one of :data:`AXES`.
    """
    if axis not in AXES:
        raise ValueError(f"axis: {axis!r} is not one of {', '.join(AXES)}")
    # two GROUP BY queries over the unit aggregates (issue 6): the task sums per unit, and
    # the people per unit, step, final grade and late; the units covered are their keys
    figures: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tasks": None, "grades": None, "cycle": None}
    )
    for row in service.task_rows(conn, tables, tenants, period, today, by=("tenant", "unit")):
        tenant, unit = row.pop("tenant"), row.pop("unit")
        figures[(tenant, unit)]["tasks"] = service.with_rates(row)
    steps: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    finals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    late: Counter[tuple[str, str]] = Counter()
    for tenant, unit, status, grade, is_late, people in repo.evaluation_cube(
        conn, tables, tenants, period, ("status", "final_grade", "late")
    ):
        key = (tenant, unit)
        steps[key][status] += people
        finals[key][grade if grade in service.GRADES else "pending"] += people
        late[key] += people if is_late else 0
    for key, counts in steps.items():
        figures[key]["grades"] = service.grade_figures(finals[key])
        figures[key]["cycle"] = _cycle_figures(counts, late[key])
    covers = {
        "tenants": sorted(set(tenants)),
        "units": [{"tenant": tenant, "unit": unit} for tenant, unit in sorted(figures)],
    }
    source = AXES[axis]
    lower_is_better = axis == "late_people"
    items = []
    for (tenant, unit), f in figures.items():
        block = f[source]
        value = block.get(axis) if block else None
        items.append({"tenant": tenant, "unit": unit, "value": value, **f})

    def order(item: dict[str, Any]) -> tuple[bool, Decimal, str, str]:
        value = item["value"]
        known = value is not None
        key = Decimal(value) if known else Decimal(0)
        return (not known, key if lower_is_better else -key, item["tenant"], item["unit"])

    items.sort(key=order)
    previous: tuple[bool, Any] | None = None
    rank = 0
    for position, item in enumerate(items, start=1):
        current = (item["value"] is None, item["value"])
        if current != previous:
            rank = position
            previous = current
        item["rank"] = rank if item["value"] is not None else None
    return {"period": period, "axis": axis, "covers": covers, "units": items}
