"""Databases: one per tenant per service (SQLite files embedded, PostgreSQL in production).

* :func:`engine_for` — the (cached) SQLAlchemy engine of ``(tenant, service)``, from the
  ``DATABASE_URL`` template of :mod:`services.common.settings`;
* :func:`ensure_database` — create a PostgreSQL database when it does not exist yet;
* :func:`transaction` — a session inside one transaction: committed when the block ends,
  rolled back on any exception. Use cases (``service.py``) never commit; the caller that owns
  the unit of work (an API request, a CLI command, an activity) opens the transaction;
* :func:`migrate` — run a service's Alembic migrations up to ``head``;
* :func:`unavailable` — whether an error means the database cannot be reached right now (the
  APIs answer 503 with ``Retry-After``, :mod:`services.common.web`; ``docs/faults.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from services.common.settings import Settings, get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine_for_url(url: str) -> Engine:
    """A new engine for ``url``: SQLite with foreign keys, WAL and a busy timeout; other
    backends with pre-ping. The PostgreSQL database is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    ensure_database(url)
    return create_engine(url, pool_pre_ping=True)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database named in ``url`` when missing.

    Returns:
        True when it was created, False when it existed (or the backend is not PostgreSQL).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).scalar()
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
            return True
    finally:
        admin.dispose()


def engine_for(tenant: str, service: str, settings: Settings | None = None) -> Engine:
    """The process-wide engine of ``service``'s database for ``tenant`` (cached by URL).

    Raises:
        ValueError: invalid tenant or service name (see ``Settings.database_url``).
    """
    url = (settings or get_settings()).database_url(tenant, service)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine_for_url(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: commit at the end of the block, rollback on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def migrate(engine: Engine, migrations: Path, revision: str = "head") -> None:
    """Upgrade ``engine``'s database with the Alembic scripts in ``migrations``.

    Idempotent: an up-to-date database is left unchanged.
    """
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached *now* (retrying later may work).

    True for: a connection found dead or lost mid-statement (``connection_invalidated``), a
    PostgreSQL ``OperationalError`` (server down, refusing connections, shutting down,
    cancelled), an exhausted connection pool (``sqlalchemy.exc.TimeoutError``), and SQLite's
    "database is locked" after the busy timeout. False for everything else (constraint
    violations, bad SQL, missing tables: those are bugs or bad input, not outages).
    """
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    origin = type(error.orig).__module__
    return origin.startswith("psycopg") or "database is locked" in str(error.orig)
