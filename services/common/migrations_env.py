"""The body of every service's Alembic ``env.py``: migrate on the connection handed over by
:func:`services.common.db.migrate` (or on ``sqlalchemy.url`` when run by ``alembic``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, create_engine


def run_migrations(context: Any, target_metadata: MetaData) -> None:
    """Run ``context``'s migrations for ``target_metadata`` (batch mode, for SQLite)."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(context, conn, target_metadata)
        return
    _run(context, connection, target_metadata)


def _run(context: Any, connection: Any, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
