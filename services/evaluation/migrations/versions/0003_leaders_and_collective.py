"""leaders and collective evaluation (issue 5: leader factors d, đ, e; unit decision; unit
evaluation)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader_factors", sa.JSON(), nullable=True))

    op.create_table(
        "unit_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("ratio", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit", "period", name="uq_unit_decision_unit_period"),
    )
    with op.batch_alter_table("unit_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_decisions_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_decisions_unit"), ["unit"], unique=False)

    op.create_table(
        "collective_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("perspectives", sa.JSON(), nullable=False),
        sa.Column("completion", sa.Numeric(precision=24, scale=6), nullable=True),
        sa.Column("unplanned", sa.JSON(), nullable=False),
        sa.Column("proposed_level", sa.String(length=1), nullable=True),
        sa.Column("level", sa.String(length=1), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("head", sa.String(length=64), nullable=True),
        sa.Column("head_result", sa.JSON(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit", "period", name="uq_collective_evaluation_unit_period"),
    )
    with op.batch_alter_table("collective_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collective_evaluations_period"), ["period"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_collective_evaluations_unit"), ["unit"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("collective_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collective_evaluations_unit"))
        batch_op.drop_index(batch_op.f("ix_collective_evaluations_period"))
    op.drop_table("collective_evaluations")
    with op.batch_alter_table("unit_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_decisions_unit"))
        batch_op.drop_index(batch_op.f("ix_unit_decisions_period"))
    op.drop_table("unit_decisions")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("leader_factors")
