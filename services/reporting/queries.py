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
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from services.reporting import service
from services.reporting.models import LIVE, ProjectionTables
from services.reporting.projections import is_late
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
    people per step, the published share (%) and the number of people late at a step.

    Returns:
        ``{"period", "covers", "units": [{"tenant", "unit", "people", "by_step",
        "published_percent", "late_people"}]}``
    """
    rows = service.evaluation_rows(conn, tenants, period, tables=tables)
    steps: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    late: Counter[tuple[str, str]] = Counter()
    for r in rows:
        key = (r["tenant"], r["unit"])
        steps[key][r["status"]] += 1
        late[key] += is_late(r["flags"])
    covers = service.grade_distribution(conn, tenants, period, tables=tables)["covers"]
    units = []
    for (tenant, unit), counts in sorted(steps.items()):
        people = sum(counts.values())
        units.append(
            {
                "tenant": tenant,
                "unit": unit,
                "people": people,
                "by_step": {
                    s: counts[s]
                    for s in (*service.STEPS, *sorted(set(counts) - set(service.STEPS)))
                },
                "published_percent": service.percent(counts["published"], people),
                "late_people": late[(tenant, unit)],
            }
        )
    return {"period": period, "covers": covers, "units": units}


def unit_ranking(
    conn: Connection,
    tenants: Sequence[str],
    period: str,
    axis: str,
    *,
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
    tasks = service.task_summary(conn, tenants, period, by="unit", tables=tables)
    grades = service.grade_distribution(conn, tenants, period, tables=tables)
    cycle = cycle_by_unit(conn, tenants, period, tables=tables)
    figures: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tasks": None, "grades": None, "cycle": None}
    )
    for row in tasks["rows"]:
        figures[(row["tenant"], row["unit"])]["tasks"] = {
            k: v for k, v in row.items() if k not in ("tenant", "unit")
        }
    for row in grades["units"]:
        figures[(row["tenant"], row["unit"])]["grades"] = {
            k: v for k, v in row.items() if k not in ("tenant", "unit")
        }
    for row in cycle["units"]:
        figures[(row["tenant"], row["unit"])]["cycle"] = {
            k: v for k, v in row.items() if k not in ("tenant", "unit")
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
    return {"period": period, "axis": axis, "covers": tasks["covers"], "units": items}
