"""Reporting's tables: the event bookkeeping and the read models fed by the tenants' events.

Reporting is shared across tenants: its database is the platform's
(``engine_for("platform", "reporting")``) and every row carries its ``tenant``.

The tables come in *sets* (:class:`ProjectionTables`): the live set (``processed_events``,
``dead_letters``, ``task_facts``, ``task_counts``, ``evaluation_facts``), migrated by Alembic,
and a rebuild set with the same columns and the suffix ``_new``, created by
``woms reporting rebuild``, filled from the beginning of the topics and swapped in
(:mod:`services.reporting.rebuild`); ``consumer_pause`` holds the live consumer while a rebuild
runs. Kafka offsets are committed to the broker (consumer group), not kept here.

Points are exact (``Numeric(24, 6)``). A task group of ``""`` means the event did not carry
the task's group.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

Exact = Numeric(24, 6, asdecimal=True)
Code = String(64)
Tenant = String(41)
Period = String(7)
NEW = "_new"


@dataclass(frozen=True)
class ProjectionTables:
    """One set of reporting tables (live, or ``_new`` during a rebuild).

    Attributes:
        processed: ``processed_events`` — every event id applied, ignored or dead-lettered,
            with its ``outcome`` (``applied`` / ``ignored`` / ``dead_letter``); the primary key
            makes a redelivered event a no-op.
        dead_letters: events that could not be applied (unknown type or version, malformed
            body, tenant not matching the topic), with the reason and the raw body.
        task_facts: the latest state of each task (one row per tenant and task).
        task_counts: tasks per tenant / period / unit / person / task group: total, done,
            on time, late, overdue, returned (counts of tasks) and points assigned / completed.
        evaluation_facts: the latest snapshot of each person's month (step, scores, grades,
            flags).
    """

    processed: Table
    dead_letters: Table
    task_facts: Table
    task_counts: Table
    evaluation_facts: Table

    def all(self) -> tuple[Table, ...]:
        """Every table of the set, in creation order."""
        return (
            self.processed,
            self.dead_letters,
            self.task_facts,
            self.task_counts,
            self.evaluation_facts,
        )


def build_tables(metadata: MetaData, suffix: str = "", *, indexes: bool = True) -> ProjectionTables:
    """Declare one set of tables named ``<name><suffix>`` in ``metadata``.

    Args:
        suffix: ``""`` for the live tables, ``"_new"`` for a rebuild.
        indexes: secondary indexes for the queries (the live set); a rebuild set only needs
            its primary keys while it is filled.
    """
    processed = Table(
        f"processed_events{suffix}",
        metadata,
        Column("event_id", String(200), primary_key=True),
        Column("tenant", Tenant, nullable=True),
        Column("type", String(200), nullable=True),
        Column("outcome", String(16), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
    )
    dead_letters = Table(
        f"dead_letters{suffix}",
        metadata,
        # the event id, or "<topic>/<partition>/<offset>" when the body has no readable id
        Column("key", String(300), primary_key=True),
        Column("event_id", String(200), nullable=True),
        Column("tenant", Tenant, nullable=True),
        Column("type", String(200), nullable=True),
        Column("reason", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("topic", String(300), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    task_facts = Table(
        f"task_facts{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("task", Code, primary_key=True),
        Column("period", Period, nullable=False),
        Column("unit", Code, nullable=False),
        Column("person", Code, nullable=False),
        Column("task_group", String(16), nullable=False),
        Column("points", Exact, nullable=True),
        Column("status", String(16), nullable=False),
        Column("late", Integer, nullable=False),
        Column("overdue", Integer, nullable=False),
        Column("returns", Integer, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    task_counts = Table(
        f"task_counts{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("period", Period, primary_key=True),
        Column("unit", Code, primary_key=True),
        Column("person", Code, primary_key=True),
        Column("task_group", String(16), primary_key=True),
        Column("total", Integer, nullable=False),
        Column("done", Integer, nullable=False),
        Column("on_time", Integer, nullable=False),
        Column("late", Integer, nullable=False),
        Column("overdue", Integer, nullable=False),
        Column("returned", Integer, nullable=False),
        Column("points_assigned", Exact, nullable=False),
        Column("points_completed", Exact, nullable=False),
    )
    evaluation_facts = Table(
        f"evaluation_facts{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("period", Period, primary_key=True),
        Column("person", Code, primary_key=True),
        Column("unit", Code, nullable=False),
        Column("status", String(16), nullable=False),
        Column("suggested_score", Exact, nullable=True),
        Column("suggested_grade", String(1), nullable=True),
        Column("score", Exact, nullable=True),
        Column("grade", String(1), nullable=True),
        Column("final_grade", String(1), nullable=True),
        Column("flags", JSON, nullable=False),
        Column("appeal_status", String(16), nullable=True),
        Column("last_action", String(32), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    if indexes:
        Index(
            "ix_task_facts_period_unit", task_facts.c.tenant, task_facts.c.period, task_facts.c.unit
        )
        Index(
            "ix_evaluation_facts_unit",
            evaluation_facts.c.tenant,
            evaluation_facts.c.period,
            evaluation_facts.c.unit,
        )
    return ProjectionTables(processed, dead_letters, task_facts, task_counts, evaluation_facts)


metadata = MetaData()
#: The live tables (migrated by ``services/reporting/migrations``).
LIVE = build_tables(metadata)
#: Set by a running rebuild (one row, ``name = "rebuild"``): the live consumer applies nothing
#: until the rebuild swapped its tables in and removed the row, or ``until`` passed (a rebuild
#: that was killed).
pause = Table(
    "consumer_pause",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("group_id", String(200), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
)


def rebuild_tables() -> ProjectionTables:
    """A fresh ``_new`` set in its own metadata (created, filled and dropped by a rebuild)."""
    return build_tables(MetaData(), NEW, indexes=False)
