"""the authority's decision details on a person's month (issue 15): ``evaluations.decision``

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``decision`` (JSON, nullable): who decided, whether the authority entered the
    general-criteria points, the proposed and decided grade and the reason of a change."""
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``decision``."""
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("decision")
