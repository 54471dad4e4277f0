"""reporting: per-unit aggregates for the unit-level queries (issue 6)

``unit_task_counts`` (``task_counts`` summed over the people of a unit) and
``unit_evaluation_counts`` (people per step / grade / final grade / late), filled here from the
existing rows and kept up to date by the projections afterwards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:45:00

"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXACT = sa.Numeric(precision=24, scale=6)
CODE = sa.String(length=64)
TENANT = sa.String(length=41)
PERIOD = sa.String(length=7)
#: Flags of a late step (``services.reporting.projections.LATE_FLAGS`` at this revision).
LATE_FLAGS = frozenset(
    {"self_assessment_missed", "review_missed", "review_escalated", "decision_escalated"}
)


def upgrade() -> None:
    """Upgrade schema: create the aggregates and fill them from the person rows."""
    unit_task_counts = op.create_table(
        "unit_task_counts",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("period", PERIOD, nullable=False),
        sa.Column("unit", CODE, nullable=False),
        sa.Column("task_group", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("points_assigned", EXACT, nullable=False),
        sa.Column("points_completed", EXACT, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "period", "unit", "task_group"),
    )
    unit_evaluation_counts = op.create_table(
        "unit_evaluation_counts",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("period", PERIOD, nullable=False),
        sa.Column("unit", CODE, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("final_grade", sa.String(length=1), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "period", "unit", "status", "grade", "final_grade", "late"
        ),
    )
    assert unit_task_counts is not None and unit_evaluation_counts is not None
    bind = op.get_bind()
    counters = ("total", "done", "on_time", "late", "overdue", "returned")
    amounts = ("points_assigned", "points_completed")
    keys = ("tenant", "period", "unit", "task_group")
    task_counts = sa.table("task_counts", *(sa.column(n) for n in (*keys, *counters, *amounts)))
    c = task_counts.c
    bind.execute(
        sa.insert(unit_task_counts).from_select(
            [*keys, *counters, *amounts],
            sa.select(
                *(c[n] for n in keys), *(sa.func.sum(c[n]) for n in (*counters, *amounts))
            ).group_by(*(c[n] for n in keys)),
        )
    )
    facts = sa.table(
        "evaluation_facts",
        *(sa.column(n) for n in ("tenant", "period", "unit", "status", "grade", "final_grade")),
        sa.column("flags", sa.JSON()),
    )
    people: Counter[tuple[str, str, str, str, str, str, int]] = Counter()
    for r in bind.execute(sa.select(facts)):
        late = int(bool(LATE_FLAGS.intersection(r.flags or [])))
        people[
            (r.tenant, r.period, r.unit, r.status, r.grade or "", r.final_grade or "", late)
        ] += 1
    names = ("tenant", "period", "unit", "status", "grade", "final_grade", "late")
    rows = [{**dict(zip(names, key, strict=True)), "people": n} for key, n in people.items()]
    if rows:
        bind.execute(sa.insert(unit_evaluation_counts), rows)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("unit_evaluation_counts")
    op.drop_table("unit_task_counts")
