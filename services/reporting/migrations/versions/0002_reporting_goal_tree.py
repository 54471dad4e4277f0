"""reporting: the goal tree read models and the task facts the early warnings need

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 08:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXACT = sa.Numeric(precision=24, scale=6)
CODE = sa.String(length=64)
TENANT = sa.String(length=41)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("task_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "goal_plans",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("plan", CODE, nullable=False),
        sa.Column("owner_unit", CODE, nullable=True),
        sa.Column("owner_person", CODE, nullable=True),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("defined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "plan"),
    )
    op.create_table(
        "goal_objectives",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("objective", CODE, nullable=False),
        sa.Column("plan", CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("perspective", sa.String(length=16), nullable=False),
        sa.Column("breakthrough", sa.Integer(), nullable=False),
        sa.Column("weight", EXACT, nullable=True),
        sa.Column("progress_source", sa.String(length=16), nullable=False),
        sa.Column("parent_key_result", CODE, nullable=True),
        sa.PrimaryKeyConstraint("tenant", "objective"),
    )
    op.create_index("ix_goal_objectives_plan", "goal_objectives", ["tenant", "plan"])
    op.create_index("ix_goal_objectives_parent", "goal_objectives", ["tenant", "parent_key_result"])
    op.create_table(
        "goal_key_results",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("key_result", CODE, nullable=False),
        sa.Column("objective", CODE, nullable=False),
        sa.Column("plan", CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=50), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("baseline", EXACT, nullable=True),
        sa.Column("target", EXACT, nullable=True),
        sa.Column("complete_threshold", EXACT, nullable=True),
        sa.Column("exceed_threshold", EXACT, nullable=True),
        sa.Column("fail_threshold", EXACT, nullable=True),
        sa.Column("weight", EXACT, nullable=True),
        sa.Column("data_source", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "key_result"),
    )
    op.create_index("ix_goal_key_results_objective", "goal_key_results", ["tenant", "objective"])
    op.create_table(
        "key_result_values",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("key_result", CODE, nullable=False),
        sa.Column("value", EXACT, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "key_result"),
    )
    op.create_table(
        "key_result_updates",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("key_result", CODE, nullable=False),
        sa.Column("value", EXACT, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "event_id"),
    )
    op.create_index(
        "ix_key_result_updates_key_result", "key_result_updates", ["tenant", "key_result"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_key_result_updates_key_result", table_name="key_result_updates")
    op.drop_table("key_result_updates")
    op.drop_table("key_result_values")
    op.drop_index("ix_goal_key_results_objective", table_name="goal_key_results")
    op.drop_table("goal_key_results")
    op.drop_index("ix_goal_objectives_parent", table_name="goal_objectives")
    op.drop_index("ix_goal_objectives_plan", table_name="goal_objectives")
    op.drop_table("goal_objectives")
    op.drop_table("goal_plans")
    with op.batch_alter_table("task_facts", schema=None) as batch_op:
        batch_op.drop_column("last_event_at")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("due_date")
