"""All SQL of the reporting service. Functions take a connection inside the caller's
transaction (and a :class:`~services.reporting.models.ProjectionTables` set) and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from services.reporting.models import ProjectionTables, pause
from services.reporting.projections import CountKey, Counts, TaskState

SIX = Decimal("0.000001")


def exact(value: Any) -> Decimal:
    """A stored or summed amount as an exact decimal with 6 places (SQLite sums floats)."""
    return Decimal(str(value if value is not None else 0)).quantize(SIX)


# --- bookkeeping -----------------------------------------------------------------------------

CHUNK = 400  # values per IN (...) list


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def processed_among(conn: Connection, t: ProjectionTables, event_ids: Iterable[str]) -> set[str]:
    """The ids among ``event_ids`` already applied, ignored or dead-lettered."""
    c = t.processed.c
    found: set[str] = set()
    for chunk in _chunks(event_ids):
        found.update(conn.execute(select(c.event_id).where(c.event_id.in_(chunk))).scalars())
    return found


def insert_processed(conn: Connection, t: ProjectionTables, rows: list[dict[str, Any]]) -> None:
    """Record events (``event_id, tenant, type, outcome, applied_at``) as processed."""
    if rows:
        conn.execute(insert(t.processed), rows)


def dead_letter_keys_among(conn: Connection, t: ProjectionTables, keys: Iterable[str]) -> set[str]:
    """The dead-letter keys among ``keys`` already parked."""
    c = t.dead_letters.c
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(conn.execute(select(c.key).where(c.key.in_(chunk))).scalars())
    return found


def insert_dead_letters(conn: Connection, t: ProjectionTables, rows: list[dict[str, Any]]) -> None:
    """Park events (``key, event_id, tenant, type, reason, body, topic, partition, offset,
    at``); the caller checked the keys are new (:func:`dead_letter_keys_among`)."""
    if rows:
        conn.execute(insert(t.dead_letters), rows)


def dead_letters(
    conn: Connection, t: ProjectionTables, tenants: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Parked events, oldest first (of ``tenants`` when given)."""
    query = select(t.dead_letters).order_by(t.dead_letters.c.at, t.dead_letters.c.key)
    if tenants is not None:
        query = query.where(t.dead_letters.c.tenant.in_(list(tenants)))
    return [dict(r._mapping) for r in conn.execute(query)]


# --- tasks -----------------------------------------------------------------------------------


def _by_tenant(keys: Iterable[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for key in keys:
        out[key[0]].append(key)
    return out


def task_states(
    conn: Connection, t: ProjectionTables, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], TaskState]:
    """The stored states of the ``(tenant, task)`` keys that have one."""
    c = t.task_facts.c
    out: dict[tuple[str, str], TaskState] = {}
    for tenant, tenant_keys in _by_tenant(keys).items():
        for chunk in _chunks(task for _, task in tenant_keys):
            rows = conn.execute(select(t.task_facts).where(c.tenant == tenant, c.task.in_(chunk)))
            for row in rows:
                out[(row.tenant, row.task)] = TaskState(
                    tenant=row.tenant,
                    task=row.task,
                    period=row.period,
                    unit=row.unit,
                    person=row.person,
                    group=row.task_group,
                    points=None if row.points is None else exact(row.points),
                    status=row.status,
                    late=bool(row.late),
                    overdue=bool(row.overdue),
                    returns=row.returns,
                )
    return out


def _task_values(state: TaskState, at: datetime) -> dict[str, Any]:
    return {
        "period": state.period,
        "unit": state.unit,
        "person": state.person,
        "task_group": state.group,
        "points": state.points,
        "status": state.status,
        "late": int(state.late),
        "overdue": int(state.overdue),
        "returns": state.returns,
        "updated_at": at,
    }


def save_task_states(
    conn: Connection,
    t: ProjectionTables,
    stored: list[TaskState],
    new: list[TaskState],
    at: datetime,
) -> None:
    """Replace the rows of the ``stored`` tasks and insert the ``new`` ones."""
    c = t.task_facts.c
    if stored:
        values = _task_values(stored[0], at)
        statement = (
            update(t.task_facts)
            .where(c.tenant == bindparam("k_tenant"), c.task == bindparam("k_task"))
            .values({name: bindparam(f"v_{name}") for name in values})
        )
        conn.execute(
            statement,
            [
                {
                    "k_tenant": s.tenant,
                    "k_task": s.task,
                    **{f"v_{k}": v for k, v in _task_values(s, at).items()},
                }
                for s in stored
            ],
        )
    if new:
        conn.execute(
            insert(t.task_facts),
            [{"tenant": s.tenant, "task": s.task, **_task_values(s, at)} for s in new],
        )


_COUNTERS = ("total", "done", "on_time", "late", "overdue", "returned")
_AMOUNTS = ("points_assigned", "points_completed")
_COUNT_KEY = ("tenant", "period", "unit", "person", "task_group")


def _stored_counts(
    conn: Connection, t: ProjectionTables, keys: Iterable[CountKey]
) -> dict[CountKey, Counts]:
    c = t.task_counts.c
    out: dict[CountKey, Counts] = {}
    wanted = set(keys)
    by_tenant_period: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tenant, period, _, person, _ in wanted:
        by_tenant_period[(tenant, period)].add(person)
    for (tenant, period), people in by_tenant_period.items():
        for chunk in _chunks(sorted(people)):
            query = select(t.task_counts).where(
                c.tenant == tenant, c.period == period, c.person.in_(chunk)
            )
            for row in conn.execute(query):
                key = (row.tenant, row.period, row.unit, row.person, row.task_group)
                if key in wanted:
                    out[key] = Counts(
                        *(getattr(row, n) for n in _COUNTERS),
                        *(exact(getattr(row, n)) for n in _AMOUNTS),
                    )
    return out


def add_counts(conn: Connection, t: ProjectionTables, deltas: dict[CountKey, Counts]) -> None:
    """Add ``deltas`` to the ``task_counts`` rows (created when missing, deleted when no task is
    left under their key)."""
    if not deltas:
        return
    stored = _stored_counts(conn, t, deltas)
    inserts, updates, deletes = [], [], []
    for key, delta in deltas.items():
        merged = stored.get(key, Counts()) + delta
        keys = dict(zip(_COUNT_KEY, key, strict=True))
        values = {n: getattr(merged, n) for n in (*_COUNTERS, *_AMOUNTS)}
        if key not in stored:
            inserts.append({**keys, **values})
        elif merged.is_zero():
            deletes.append({f"k_{k}": v for k, v in keys.items()})
        else:
            updates.append(
                {
                    **{f"k_{k}": v for k, v in keys.items()},
                    **{f"v_{k}": v for k, v in values.items()},
                }
            )
    c = t.task_counts.c
    where = and_(*(c[name] == bindparam(f"k_{name}") for name in _COUNT_KEY))
    if inserts:
        conn.execute(insert(t.task_counts), inserts)
    if updates:
        names = (*_COUNTERS, *_AMOUNTS)
        statement = (
            update(t.task_counts).where(where).values({n: bindparam(f"v_{n}") for n in names})
        )
        conn.execute(statement, updates)
    if deletes:
        conn.execute(delete(t.task_counts).where(where), deletes)


# --- evaluations -----------------------------------------------------------------------------


def save_evaluations(conn: Connection, t: ProjectionTables, rows: list[dict[str, Any]]) -> None:
    """Insert or replace each person's month ``rows`` (keyed by tenant, period, person)."""
    if not rows:
        return
    c = t.evaluation_facts.c
    stored: set[tuple[str, str, str]] = set()
    for (tenant, period), group in _by_tenant_period(rows).items():
        for chunk in _chunks(group):
            query = select(c.tenant, c.period, c.person).where(
                c.tenant == tenant, c.period == period, c.person.in_(chunk)
            )
            stored.update((r.tenant, r.period, r.person) for r in conn.execute(query))
    new = [r for r in rows if (r["tenant"], r["period"], r["person"]) not in stored]
    old = [r for r in rows if (r["tenant"], r["period"], r["person"]) in stored]
    if new:
        conn.execute(insert(t.evaluation_facts), new)
    if old:
        keys = ("tenant", "period", "person")
        names = [n for n in old[0] if n not in keys]
        statement = (
            update(t.evaluation_facts)
            .where(*(c[k] == bindparam(f"k_{k}") for k in keys))
            .values({n: bindparam(f"v_{n}") for n in names})
        )
        conn.execute(
            statement,
            [{**{f"k_{k}": r[k] for k in keys}, **{f"v_{n}": r[n] for n in names}} for r in old],
        )


def _by_tenant_period(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        out[(row["tenant"], row["period"])].append(row["person"])
    return out


# --- queries ---------------------------------------------------------------------------------


def _scope(
    columns: Any, tenants: Sequence[str], period: str, unit: str | None, person: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        columns.tenant.in_(list(tenants)),
        columns.period == period,
    ]
    if unit is not None:
        conditions.append(columns.unit == unit)
    if person is not None:
        conditions.append(columns.person == person)
    return conditions


def task_totals(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
    by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Sums of ``task_counts`` in the scope, grouped by the columns named in ``by``
    (``tenant``, ``unit``, ``person``, ``task_group``)."""
    c = t.task_counts.c
    keys = [getattr(c, name) for name in by]
    sums = [func.sum(getattr(c, name)).label(name) for name in _COUNTERS]
    points = [
        func.sum(c.points_assigned).label("points_assigned"),
        func.sum(c.points_completed).label("points_completed"),
    ]
    query = select(*keys, *sums, *points).where(*_scope(c, tenants, period, unit, person))
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    out = []
    for row in conn.execute(query):
        item = dict(row._mapping)
        for name in _COUNTERS:
            item[name] = int(item[name] or 0)
        item["points_assigned"] = exact(item["points_assigned"])
        item["points_completed"] = exact(item["points_completed"])
        out.append(item)
    return out


def covered_units(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> list[tuple[str, str]]:
    """The (tenant, unit) pairs with any task or evaluation row in the scope."""
    pairs: set[tuple[str, str]] = set()
    for table in (t.task_counts, t.evaluation_facts):
        c = table.c
        query = select(c.tenant, c.unit).distinct().where(*_scope(c, tenants, period, unit, person))
        pairs.update((r.tenant, r.unit) for r in conn.execute(query))
    return sorted(pairs)


def evaluations(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> list[dict[str, Any]]:
    """The ``evaluation_facts`` rows in the scope, by tenant, unit, person."""
    c = t.evaluation_facts.c
    query = (
        select(t.evaluation_facts)
        .where(*_scope(c, tenants, period, unit, person))
        .order_by(c.tenant, c.unit, c.person)
    )
    out = []
    for row in conn.execute(query):
        item = dict(row._mapping)
        for name in ("suggested_score", "score"):
            if item[name] is not None:
                item[name] = exact(item[name]).normalize()
        out.append(item)
    return out


def evaluation_counts(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    column: str,
    *,
    unit: str | None = None,
) -> list[tuple[str, str, str | None, int]]:
    """(tenant, unit, value of ``column``, people) in the scope — e.g. ``final_grade`` or
    ``status``."""
    c = t.evaluation_facts.c
    value = getattr(c, column)
    query = (
        select(c.tenant, c.unit, value, func.count())
        .where(*_scope(c, tenants, period, unit, None))
        .group_by(c.tenant, c.unit, value)
        .order_by(c.tenant, c.unit, value)
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in conn.execute(query)]


# --- rebuild ---------------------------------------------------------------------------------

REBUILD = "rebuild"


def set_pause(conn: Connection, group_id: str, until: datetime) -> None:
    """Hold the live consumer for the rebuild ``group_id`` until ``until`` at the latest."""
    conn.execute(delete(pause).where(pause.c.name == REBUILD))
    conn.execute(insert(pause).values(name=REBUILD, group_id=group_id, until=until))


def clear_pause(conn: Connection) -> None:
    """Release the live consumer."""
    conn.execute(delete(pause).where(pause.c.name == REBUILD))


def paused_by(conn: Connection, now: datetime) -> str | None:
    """The group id of the rebuild holding the live consumer at ``now`` (UTC), or None."""
    row = conn.execute(select(pause).where(pause.c.name == REBUILD)).first()
    if row is None:
        return None
    until = row.until if row.until.tzinfo else row.until.replace(tzinfo=UTC)
    return row.group_id if now < until else None


def copy_into(
    conn: Connection,
    source: ProjectionTables,
    target: ProjectionTables,
    tenants: Sequence[str] | None = None,
) -> dict[str, int]:
    """Replace the rows of ``target`` by the rows of ``source`` (same columns), table by table:
    every row, or only the rows of ``tenants``. Returns the rows copied per target table."""
    copied = {}
    for src, dst in zip(source.all(), target.all(), strict=True):
        names = [col.name for col in src.columns]
        rows = select(*[src.c[n] for n in names])
        if tenants is None:
            conn.execute(delete(dst))
        else:
            conn.execute(delete(dst).where(dst.c.tenant.in_(list(tenants))))
            rows = rows.where(src.c.tenant.in_(list(tenants)))
        copied[dst.name] = conn.execute(insert(dst).from_select(names, rows)).rowcount
    return copied
