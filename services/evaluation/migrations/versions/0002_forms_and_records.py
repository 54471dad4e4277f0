"""forms and records (issue 5: general-criteria form templates, per-row points, 001 §V.2 records)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: the ``form_templates`` table and the per-row points of an evaluation."""
    op.create_table(
        "form_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("installed_by", sa.String(length=200), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "effective_from", name="uq_form_template_kind_effective"),
    )
    with op.batch_alter_table("form_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_templates_code"), ["code"], unique=False)
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_rows", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("review_rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("review_rows")
        batch_op.drop_column("self_rows")
    with op.batch_alter_table("form_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_templates_code"))
    op.drop_table("form_templates")
