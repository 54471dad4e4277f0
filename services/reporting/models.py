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
    Date,
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
        goal_plans: each plan (``vn.woms.planning.plan.defined.v1`` and its status events):
            owner unit / person, period kind / year / number and its first and last day,
            status.
        goal_objectives: the plans' objectives (perspective, breakthrough, weight, progress
            source, the parent key result they serve — the goal tree's edges).
        goal_key_results: the objectives' key results (kind, direction, baseline, target,
            thresholds, weight).
        key_result_values: the latest value of each key result by event time (from the plan
            snapshots and ``vn.woms.planning.keyresult.progressed.v1``).
        key_result_updates: the progress log (one row per ``progressed`` event: value, time),
            for the trend of the early warnings.
        unit_task_counts: ``task_counts`` summed over the people of each tenant / period /
            unit / task group (the aggregate read model of the unit-level queries, issue 6).
        unit_evaluation_counts: people of each tenant / period / unit per combination of
            ``status`` (step), ``grade``, ``final_grade`` (``""`` when none yet) and ``late``
            (1 when a step ran past its deadline); rows with no people are deleted.
    """

    processed: Table
    dead_letters: Table
    task_facts: Table
    task_counts: Table
    evaluation_facts: Table
    goal_plans: Table
    goal_objectives: Table
    goal_key_results: Table
    key_result_values: Table
    key_result_updates: Table
    unit_task_counts: Table
    unit_evaluation_counts: Table

    def all(self) -> tuple[Table, ...]:
        """Every table of the set, in creation order."""
        return (
            self.processed,
            self.dead_letters,
            self.task_facts,
            self.task_counts,
            self.evaluation_facts,
            self.goal_plans,
            self.goal_objectives,
            self.goal_key_results,
            self.key_result_values,
            self.key_result_updates,
            self.unit_task_counts,
            self.unit_evaluation_counts,
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
        # for the early warnings: due date, first event (assignment) and last event times
        Column("due_date", Date, nullable=True),
        Column("assigned_at", DateTime(timezone=True), nullable=True),
        Column("last_event_at", DateTime(timezone=True), nullable=True),
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
    goal_plans = Table(
        f"goal_plans{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("plan", Code, primary_key=True),
        Column("owner_unit", Code, nullable=True),
        Column("owner_person", Code, nullable=True),
        Column("period_kind", String(8), nullable=False),
        Column("year", Integer, nullable=False),
        Column("number", Integer, nullable=True),
        Column("period_start", Date, nullable=False),
        Column("period_end", Date, nullable=False),
        Column("status", String(16), nullable=False),
        Column("defined_at", DateTime(timezone=True), nullable=False),
    )
    goal_objectives = Table(
        f"goal_objectives{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("objective", Code, primary_key=True),
        Column("plan", Code, nullable=False),
        Column("position", Integer, nullable=False),
        Column("title", Text, nullable=False),
        Column("perspective", String(16), nullable=False),
        Column("breakthrough", Integer, nullable=False),
        Column("weight", Exact, nullable=True),
        Column("progress_source", String(16), nullable=False),
        Column("parent_key_result", Code, nullable=True),
    )
    goal_key_results = Table(
        f"goal_key_results{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("key_result", Code, primary_key=True),
        Column("objective", Code, nullable=False),
        Column("plan", Code, nullable=False),
        Column("position", Integer, nullable=False),
        Column("title", Text, nullable=False),
        Column("kind", String(8), nullable=False),
        Column("unit_of_measure", String(50), nullable=True),
        Column("direction", String(8), nullable=True),
        Column("baseline", Exact, nullable=True),
        Column("target", Exact, nullable=True),
        Column("complete_threshold", Exact, nullable=True),
        Column("exceed_threshold", Exact, nullable=True),
        Column("fail_threshold", Exact, nullable=True),
        Column("weight", Exact, nullable=True),
        Column("data_source", String(100), nullable=True),
    )
    key_result_values = Table(
        f"key_result_values{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("key_result", Code, primary_key=True),
        Column("value", Exact, nullable=True),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    key_result_updates = Table(
        f"key_result_updates{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("key_result", Code, nullable=False),
        Column("value", Exact, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    unit_task_counts = Table(
        f"unit_task_counts{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("period", Period, primary_key=True),
        Column("unit", Code, primary_key=True),
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
    unit_evaluation_counts = Table(
        f"unit_evaluation_counts{suffix}",
        metadata,
        Column("tenant", Tenant, primary_key=True),
        Column("period", Period, primary_key=True),
        Column("unit", Code, primary_key=True),
        Column("status", String(16), primary_key=True),
        Column("grade", String(1), primary_key=True),
        Column("final_grade", String(1), primary_key=True),
        Column("late", Integer, primary_key=True),
        Column("people", Integer, nullable=False),
    )
    if indexes:
        Index("ix_goal_objectives_plan", goal_objectives.c.tenant, goal_objectives.c.plan)
        Index(
            "ix_goal_objectives_parent",
            goal_objectives.c.tenant,
            goal_objectives.c.parent_key_result,
        )
        Index(
            "ix_goal_key_results_objective", goal_key_results.c.tenant, goal_key_results.c.objective
        )
        Index(
            "ix_key_result_updates_key_result",
            key_result_updates.c.tenant,
            key_result_updates.c.key_result,
        )
        Index(
            "ix_task_facts_period_unit", task_facts.c.tenant, task_facts.c.period, task_facts.c.unit
        )
        Index(
            "ix_evaluation_facts_unit",
            evaluation_facts.c.tenant,
            evaluation_facts.c.period,
            evaluation_facts.c.unit,
        )
    return ProjectionTables(
        processed,
        dead_letters,
        task_facts,
        task_counts,
        evaluation_facts,
        goal_plans,
        goal_objectives,
        goal_key_results,
        key_result_values,
        key_result_updates,
        unit_task_counts,
        unit_evaluation_counts,
    )


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
