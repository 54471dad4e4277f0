"""the audit chain of the tasks service (issue 9): audit_log and audit_head

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 08:45:00

"""

from collections.abc import Sequence

from services.common.audit_migration import create_chain, drop_chain

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``audit_log`` (append-only: triggers refuse UPDATE/DELETE) and ``audit_head``
    with its one row (an empty chain)."""
    create_chain()


def downgrade() -> None:
    """Drop the audit chain."""
    drop_chain()
