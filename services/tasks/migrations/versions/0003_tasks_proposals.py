"""separation of duties (issue 15): tasks.proposed_by, tasks.evidence_required,
submissions.links

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 01:30:00

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
    """Add ``proposed_by`` (who created the task, ``DOMAIN.md §4``; existing tasks: their
    assigner, who created them), ``evidence_required`` (default true, ``000 §VI.4``) and the
    evidence links of a submission."""
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("evidence_required", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute("UPDATE tasks SET proposed_by = assigner WHERE proposed_by IS NULL")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("links", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("links")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("evidence_required")
        batch_op.drop_column("proposed_by")
