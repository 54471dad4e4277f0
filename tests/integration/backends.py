"""Database backends for integration tests: SQLite files, or the machine's PostgreSQL
(127.0.0.1:5432, trust auth) with one throw-away database per tenant and service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from services.common.db import dispose_engines
from services.common.settings import get_settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def database_backend(kind: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point ``DATABASE_URL`` at ``kind`` for the block; drop the PostgreSQL databases after.

    Fails (never skips) when PostgreSQL is asked for and is not reachable.
    """
    run = uuid.uuid4().hex[:8]
    if kind == "postgresql":
        admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the machine's PostgreSQL is part of the environment
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
        monkeypatch.setenv("DATABASE_URL", f"{PG}/woms_t{run}_{{tenant}}_{{service}}")
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield
    finally:
        dispose_engines()
        if kind == "postgresql":
            with admin.connect() as conn:
                names = (
                    conn.execute(
                        text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                        {"p": f"woms_t{run}_%"},
                    )
                    .scalars()
                    .all()
                )
                for name in names:
                    conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
        get_settings.cache_clear()
