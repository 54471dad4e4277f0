"""The audit chain's tables in a service's Alembic migrations (issue 9, ``docs/audit.md``).

One statement of the schema for every service that keeps a chain (tasks ``0002``, evaluation
``0004``): ``audit_log`` (append-only — triggers refuse UPDATE and DELETE on PostgreSQL and
SQLite, :data:`services.common.audit.APPEND_ONLY_DDL`) and ``audit_head`` with its one row, the
empty chain (sequence 0, the genesis hash). Call these only inside a migration's ``upgrade`` /
``downgrade`` (they use Alembic's ``op`` proxy of the running migration).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.audit import (
    APPEND_ONLY_DDL,
    AUDIT_HEAD,
    AUDIT_LOG,
    DROP_APPEND_ONLY_DDL,
    GENESIS,
)


def create_chain() -> None:
    """Create ``audit_log`` and ``audit_head`` (one row: ``seq`` 0, the genesis hash) and the
    append-only triggers of the current dialect."""
    op.create_table(
        AUDIT_LOG,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant", sa.String(length=41), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_kind", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    head = op.create_table(
        AUDIT_HEAD,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS, "at": None}])
    for statement in APPEND_ONLY_DDL.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def drop_chain() -> None:
    """Drop the triggers and both tables (the chain's entries are lost)."""
    for statement in DROP_APPEND_ONLY_DDL.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table(AUDIT_HEAD)
    op.drop_table(AUDIT_LOG)
