"""All SQL of the reporting service. Functions take a connection inside the caller's
transaction (and a :class:`~services.reporting.models.ProjectionTables` set) and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
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

from services.common.overdue import WITH_THE_LEAD, is_overdue
from services.reporting.models import ProjectionTables, pause
from services.reporting.projections import CountKey, Counts, PlanSnapshot, TaskState, is_late

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
                    due=row.due_date,
                    assigned_at=_utc(row.assigned_at),
                    last_event_at=_utc(row.last_event_at),
                )
    return out


def _utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives naive ones back)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


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
        "due_date": state.due,
        "assigned_at": state.assigned_at,
        "last_event_at": state.last_event_at,
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
    left under their key) and, summed over the people, to the ``unit_task_counts`` rows of
    their tenant / period / unit / group (the unit aggregates, issue 6)."""
    if not deltas:
        return
    _merge_counts(conn, t.task_counts, _COUNT_KEY, _stored_counts(conn, t, deltas), deltas)
    unit_deltas: dict[UnitCountKey, Counts] = {}
    for (tenant, period, unit, _, group), delta in deltas.items():
        key = (tenant, period, unit, group)
        unit_deltas[key] = unit_deltas.get(key, Counts()) + delta
    unit_deltas = {k: d for k, d in unit_deltas.items() if not d.is_zero()}
    if unit_deltas:
        stored = _stored_unit_counts(conn, t, unit_deltas)
        _merge_counts(conn, t.unit_task_counts, _UNIT_COUNT_KEY, stored, unit_deltas)


UnitCountKey = tuple[str, str, str, str]  # tenant, period, unit, group
_UNIT_COUNT_KEY = ("tenant", "period", "unit", "task_group")


def _stored_unit_counts(
    conn: Connection, t: ProjectionTables, keys: Iterable[UnitCountKey]
) -> dict[UnitCountKey, Counts]:
    c = t.unit_task_counts.c
    wanted = set(keys)
    out: dict[UnitCountKey, Counts] = {}
    units: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tenant, period, unit, _ in wanted:
        units[(tenant, period)].add(unit)
    for (tenant, period), names in units.items():
        for chunk in _chunks(sorted(names)):
            query = select(t.unit_task_counts).where(
                c.tenant == tenant, c.period == period, c.unit.in_(chunk)
            )
            for row in conn.execute(query):
                key = (row.tenant, row.period, row.unit, row.task_group)
                if key in wanted:
                    out[key] = Counts(
                        *(getattr(row, n) for n in _COUNTERS),
                        *(exact(getattr(row, n)) for n in _AMOUNTS),
                    )
    return out


def _merge_counts(
    conn: Connection,
    table: Any,
    key_names: Sequence[str],
    stored: dict[Any, Counts],
    deltas: dict[Any, Counts],
) -> None:
    """Add ``deltas`` to the rows of ``table`` keyed by ``key_names`` (``stored``: their current
    values): insert the new keys, update the others, delete those left at zero."""
    inserts, updates, deletes = [], [], []
    for key, delta in deltas.items():
        merged = stored.get(key, Counts()) + delta
        keys = dict(zip(key_names, key, strict=True))
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
    c = table.c
    where = and_(*(c[name] == bindparam(f"k_{name}") for name in key_names))
    if inserts:
        conn.execute(insert(table), inserts)
    if updates:
        names = (*_COUNTERS, *_AMOUNTS)
        statement = update(table).where(where).values({n: bindparam(f"v_{n}") for n in names})
        conn.execute(statement, updates)
    if deletes:
        conn.execute(delete(table).where(where), deletes)


# --- evaluations -----------------------------------------------------------------------------


EvaluationCountKey = tuple[str, str, str, str, str, str, int]
_EVALUATION_COUNT_KEY = ("tenant", "period", "unit", "status", "grade", "final_grade", "late")


def evaluation_count_key(row: dict[str, Any]) -> EvaluationCountKey:
    """Where a person's month counts in ``unit_evaluation_counts``: tenant, period, unit,
    status, grade and final grade (``""`` when none) and late (1 when a step ran past its
    deadline, :func:`~services.reporting.projections.is_late`)."""
    return (
        row["tenant"],
        row["period"],
        row["unit"],
        row["status"],
        row["grade"] or "",
        row["final_grade"] or "",
        int(is_late(list(row["flags"] or []))),
    )


def save_evaluations(conn: Connection, t: ProjectionTables, rows: list[dict[str, Any]]) -> None:
    """Insert or replace each person's month ``rows`` (keyed by tenant, period, person; a row
    older by ``updated_at`` — the event's time — than the stored one is left out) and
    move the person in ``unit_evaluation_counts`` from the stored row's key to the new one
    (−1 / +1, the unit aggregates of issue 6)."""
    if not rows:
        return
    c = t.evaluation_facts.c
    stored: dict[tuple[str, str, str], EvaluationCountKey] = {}
    newer: set[tuple[str, str, str]] = set()
    arriving = {(r["tenant"], r["period"], r["person"]): r["updated_at"] for r in rows}
    for (tenant, period), group in _by_tenant_period(rows).items():
        for chunk in _chunks(group):
            query = select(
                c.tenant,
                c.period,
                c.person,
                c.unit,
                c.status,
                c.grade,
                c.final_grade,
                c.flags,
                c.updated_at,
            ).where(c.tenant == tenant, c.period == period, c.person.in_(chunk))
            for r in conn.execute(query):
                key = (r.tenant, r.period, r.person)
                stored[key] = evaluation_count_key(dict(r._mapping))
                stored_at = _utc(r.updated_at)
                if stored_at is not None and stored_at > arriving[key]:
                    newer.add(key)
    # an event older than the stored row (re-sent after a broker lost it) changes nothing
    rows = [r for r in rows if (r["tenant"], r["period"], r["person"]) not in newer]
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
    deltas: dict[EvaluationCountKey, int] = defaultdict(int)
    for row in rows:
        before = stored.get((row["tenant"], row["period"], row["person"]))
        if before is not None:
            deltas[before] -= 1
        deltas[evaluation_count_key(row)] += 1
    add_evaluation_counts(conn, t, {k: n for k, n in deltas.items() if n})


def add_evaluation_counts(
    conn: Connection, t: ProjectionTables, deltas: dict[EvaluationCountKey, int]
) -> None:
    """Add ``deltas`` (people) to the ``unit_evaluation_counts`` rows: created when missing,
    deleted when no person is left under their key."""
    if not deltas:
        return
    c = t.unit_evaluation_counts.c
    stored: dict[EvaluationCountKey, int] = {}
    units: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key in deltas:
        units[(key[0], key[1])].add(key[2])
    for (tenant, period), names in units.items():
        for chunk in _chunks(sorted(names)):
            query = select(t.unit_evaluation_counts).where(
                c.tenant == tenant, c.period == period, c.unit.in_(chunk)
            )
            for r in conn.execute(query):
                key = tuple(getattr(r, n) for n in _EVALUATION_COUNT_KEY)
                if key in deltas:
                    stored[key] = int(r.people)  # type: ignore[index]
    inserts, updates, deletes = [], [], []
    for key, delta in deltas.items():
        people = stored.get(key, 0) + delta
        keys = dict(zip(_EVALUATION_COUNT_KEY, key, strict=True))
        if people < 0 or (key not in stored and people == 0):
            raise ValueError(f"unit_evaluation_counts {key}: {people} people")
        if key not in stored:
            inserts.append({**keys, "people": people})
        elif people == 0:
            deletes.append({f"k_{k}": v for k, v in keys.items()})
        else:
            updates.append({**{f"k_{k}": v for k, v in keys.items()}, "v_people": people})
    where = and_(*(c[name] == bindparam(f"k_{name}") for name in _EVALUATION_COUNT_KEY))
    if inserts:
        conn.execute(insert(t.unit_evaluation_counts), inserts)
    if updates:
        statement = (
            update(t.unit_evaluation_counts).where(where).values(people=bindparam("v_people"))
        )
        conn.execute(statement, updates)
    if deletes:
        conn.execute(delete(t.unit_evaluation_counts).where(where), deletes)


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
    (``tenant``, ``unit``, ``person``, ``task_group``). Without a person in the scope or in
    ``by`` the sums are read from the unit aggregates (``unit_task_counts``, issue 6)."""
    per_unit = person is None and "person" not in by
    c = (t.unit_task_counts if per_unit else t.task_counts).c
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


#: Task statuses whose work is still with the lead (not handed over, not decided): past the
#: due date such a task is overdue (:func:`is_overdue`).
def overdue_counts(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    today: date,
    *,
    unit: str | None = None,
    person: str | None = None,
    by: Sequence[str] = (),
) -> dict[tuple[Any, ...], int]:
    """Tasks of the scope overdue on ``today`` (:func:`is_overdue`) counted per value of the
    ``task_facts`` columns named in ``by`` (``tenant``, ``unit``, ``person``, ``task_group``;
    the key ``()`` without ``by``)."""
    c = t.task_facts.c
    keys = [getattr(c, name) for name in by]
    query = select(*keys, c.status, c.due_date, c.overdue).where(
        *_scope(c, tenants, period, unit, person), c.status.in_(sorted(WITH_THE_LEAD))
    )
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in conn.execute(query):
        if is_overdue(row.status, row.due_date, bool(row.overdue), today):
            counts[tuple(row[: len(keys)])] += 1
    return dict(counts)


def covered_units(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> list[tuple[str, str]]:
    """The (tenant, unit) pairs with any task or evaluation row in the scope (read from the
    unit aggregates when no person is given: they have a row exactly when a person has)."""
    pairs: set[tuple[str, str]] = set()
    tables = (
        (t.task_counts, t.evaluation_facts)
        if person is not None
        else (t.unit_task_counts, t.unit_evaluation_counts)
    )
    for table in tables:
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
    result = conn.execute(query)
    keys = list(result.keys())  # once: ``row._mapping`` per row costs more than the row
    out = []
    for values in result.all():
        item = dict(zip(keys, values, strict=True))
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
) -> list[tuple[str, str, Any, int]]:
    """(tenant, unit, value of ``column``, people) in the scope, from the unit aggregates
    (``unit_evaluation_counts``): ``column`` is ``status``, ``grade``, ``final_grade`` (``None``
    when not graded yet) or ``late`` (0 / 1)."""
    c = t.unit_evaluation_counts.c
    value = getattr(c, column)
    query = (
        select(c.tenant, c.unit, value, func.sum(c.people))
        .where(*_scope(c, tenants, period, unit, None))
        .group_by(c.tenant, c.unit, value)
        .order_by(c.tenant, c.unit, value)
    )
    grades = column in ("grade", "final_grade")
    return [
        (r[0], r[1], (r[2] or None) if grades else r[2], int(r[3] or 0))
        for r in conn.execute(query)
    ]


def evaluation_cube(
    conn: Connection,
    t: ProjectionTables,
    tenants: Sequence[str],
    period: str,
    columns: Sequence[str],
) -> list[tuple[Any, ...]]:
    """(tenant, unit, *values of ``columns``, people) in the scope from
    ``unit_evaluation_counts``, grouped by tenant, unit and ``columns`` (among ``status``,
    ``grade``, ``final_grade`` — ``None`` when not graded yet — and ``late``, 0 / 1)."""
    c = t.unit_evaluation_counts.c
    values = [getattr(c, name) for name in columns]
    grades = [name in ("grade", "final_grade") for name in columns]
    query = (
        select(c.tenant, c.unit, *values, func.sum(c.people))
        .where(*_scope(c, tenants, period, None, None))
        .group_by(c.tenant, c.unit, *values)
    )
    out = []
    for r in conn.execute(query).all():
        picked = tuple((v or None) if g else v for v, g in zip(r[2:-1], grades, strict=True))
        out.append((r[0], r[1], *picked, int(r[-1] or 0)))
    return out


# --- the goal tree -------------------------------------------------------------------------


def save_plan(conn: Connection, t: ProjectionTables, snapshot: PlanSnapshot, at: datetime) -> None:
    """Replace the plan of ``snapshot`` with its objectives and key results (objectives and
    key results that moved from another plan move with it) and set the key results' values
    whose time is not older than the stored one (``at`` = the event's time)."""
    tenant, plan = snapshot.plan["tenant"], snapshot.plan["plan"]
    o, k = t.goal_objectives.c, t.goal_key_results.c
    conn.execute(
        delete(t.goal_plans).where(t.goal_plans.c.tenant == tenant, t.goal_plans.c.plan == plan)
    )
    conn.execute(insert(t.goal_plans).values(**snapshot.plan, defined_at=at))
    objective_codes = [r["objective"] for r in snapshot.objectives]
    kr_codes = [r["key_result"] for r in snapshot.key_results]
    conn.execute(delete(t.goal_objectives).where(o.tenant == tenant, o.plan == plan))
    conn.execute(delete(t.goal_key_results).where(k.tenant == tenant, k.plan == plan))
    for chunk in _chunks(objective_codes):
        conn.execute(delete(t.goal_objectives).where(o.tenant == tenant, o.objective.in_(chunk)))
    for chunk in _chunks(kr_codes):
        conn.execute(delete(t.goal_key_results).where(k.tenant == tenant, k.key_result.in_(chunk)))
    if snapshot.objectives:
        conn.execute(insert(t.goal_objectives), snapshot.objectives)
    if snapshot.key_results:
        conn.execute(insert(t.goal_key_results), snapshot.key_results)
    for code, value in snapshot.values.items():
        set_value(conn, t, tenant, code, value, at)


def set_plan_status(
    conn: Connection, t: ProjectionTables, tenant: str, plan: str, status: str
) -> bool:
    """Set a known plan's status; False when the plan is not in the read model."""
    c = t.goal_plans.c
    done = conn.execute(
        update(t.goal_plans).where(c.tenant == tenant, c.plan == plan).values(status=status)
    )
    return bool(done.rowcount)


def set_value(
    conn: Connection,
    t: ProjectionTables,
    tenant: str,
    key_result: str,
    value: Decimal | None,
    at: datetime,
) -> None:
    """Set a key result's current value unless a newer one (by event time) is stored: the
    plan snapshots and the progress events travel on different partitions."""
    c = t.key_result_values.c
    row = conn.execute(select(c.at).where(c.tenant == tenant, c.key_result == key_result)).first()
    if row is None:
        conn.execute(
            insert(t.key_result_values).values(
                tenant=tenant, key_result=key_result, value=value, at=at
            )
        )
    elif _utc(row.at) <= at:  # type: ignore[operator]
        conn.execute(
            update(t.key_result_values)
            .where(c.tenant == tenant, c.key_result == key_result)
            .values(value=value, at=at)
        )


def add_update(
    conn: Connection,
    t: ProjectionTables,
    tenant: str,
    event_id: str,
    key_result: str,
    value: Decimal,
    logged_at: datetime,
    event_at: datetime,
) -> None:
    """One point of a key result's progress log (its value at ``logged_at``, the update's own
    time) and its current value (ordered by ``event_at``, the event's time)."""
    conn.execute(
        insert(t.key_result_updates).values(
            tenant=tenant, event_id=event_id, key_result=key_result, value=value, at=logged_at
        )
    )
    set_value(conn, t, tenant, key_result, value, event_at)


def plans_in(
    conn: Connection,
    t: ProjectionTables,
    tenant: str,
    first: date,
    last: date,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> list[dict[str, Any]]:
    """The plans of ``tenant`` whose period overlaps ``first``…``last`` (owned by ``unit`` /
    ``person`` when given), by period start, period kind and code."""
    c = t.goal_plans.c
    query = select(t.goal_plans).where(
        c.tenant == tenant, c.period_start <= last, c.period_end >= first
    )
    if unit is not None:
        query = query.where(c.owner_unit == unit)
    if person is not None:
        query = query.where(c.owner_person == person)
    query = query.order_by(c.period_start, c.period_kind, c.plan)
    return [dict(r._mapping) for r in conn.execute(query)]


def plans_named(
    conn: Connection, t: ProjectionTables, tenant: str, plans: Sequence[str]
) -> list[dict[str, Any]]:
    """The ``goal_plans`` rows of the ``plans`` codes that are known."""
    c = t.goal_plans.c
    out: list[dict[str, Any]] = []
    for chunk in _chunks(plans):
        query = select(t.goal_plans).where(c.tenant == tenant, c.plan.in_(chunk))
        out.extend(dict(r._mapping) for r in conn.execute(query))
    return out


def objectives_of_plans(
    conn: Connection, t: ProjectionTables, tenant: str, plans: Sequence[str]
) -> list[dict[str, Any]]:
    """The objectives of ``plans`` (``goal_objectives`` rows), by plan and position."""
    c = t.goal_objectives.c
    out: list[dict[str, Any]] = []
    for chunk in _chunks(plans):
        query = select(t.goal_objectives).where(c.tenant == tenant, c.plan.in_(chunk))
        out.extend(dict(r._mapping) for r in conn.execute(query))
    return out


def objectives_serving(
    conn: Connection, t: ProjectionTables, tenant: str, key_results: Sequence[str]
) -> list[dict[str, Any]]:
    """The objectives whose parent key result is one of ``key_results``."""
    c = t.goal_objectives.c
    out: list[dict[str, Any]] = []
    for chunk in _chunks(key_results):
        query = select(t.goal_objectives).where(c.tenant == tenant, c.parent_key_result.in_(chunk))
        out.extend(dict(r._mapping) for r in conn.execute(query))
    return out


def key_results_of(
    conn: Connection, t: ProjectionTables, tenant: str, objectives: Sequence[str]
) -> list[dict[str, Any]]:
    """The key results of ``objectives`` with their current ``value`` (``None`` without
    one)."""
    k, v = t.goal_key_results.c, t.key_result_values.c
    out: list[dict[str, Any]] = []
    for chunk in _chunks(objectives):
        query = (
            select(t.goal_key_results, v.value)
            .select_from(
                t.goal_key_results.outerjoin(
                    t.key_result_values,
                    and_(v.tenant == k.tenant, v.key_result == k.key_result),
                )
            )
            .where(k.tenant == tenant, k.objective.in_(chunk))
        )
        out.extend(dict(r._mapping) for r in conn.execute(query))
    return out


def updates_of(
    conn: Connection, t: ProjectionTables, tenant: str, key_results: Sequence[str]
) -> dict[str, list[tuple[datetime, Decimal]]]:
    """The progress log of ``key_results``: code → ``[(time, value)]`` in time order."""
    c = t.key_result_updates.c
    out: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for chunk in _chunks(key_results):
        query = (
            select(c.key_result, c.value, c.at)
            .where(c.tenant == tenant, c.key_result.in_(chunk))
            .order_by(c.at, c.event_id)
        )
        for row in conn.execute(query):
            at = _utc(row.at)
            assert at is not None
            out[row.key_result].append((at, exact(row.value).normalize()))
    return dict(out)


def open_tasks(
    conn: Connection,
    t: ProjectionTables,
    tenant: str,
    period: str,
    *,
    unit: str | None = None,
    person: str | None = None,
) -> list[dict[str, Any]]:
    """The ``task_facts`` rows of ``period`` not approved nor cancelled (of ``unit`` / led by
    ``person`` when given), by task code."""
    c = t.task_facts.c
    query = select(t.task_facts).where(
        c.tenant == tenant, c.period == period, c.status.not_in(["approved", "cancelled"])
    )
    if unit is not None:
        query = query.where(c.unit == unit)
    if person is not None:
        query = query.where(c.person == person)
    out = []
    for row in conn.execute(query.order_by(c.task)):
        item = dict(row._mapping)
        item["assigned_at"] = _utc(item["assigned_at"])
        item["last_event_at"] = _utc(item["last_event_at"])
        out.append(item)
    return out


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
