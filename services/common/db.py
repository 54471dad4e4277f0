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

SQLite allows one writer at a time; a writer that finds the database locked sleeps and polls
(``busy_timeout``, 5 s), so under load the writers of one API process formed a convoy: the
lock sat free while they slept, new arrivals barged in, and some waited past 5 s ("database is
locked", HTTP 503 — issue 9, "Load"). The writers of one process now queue on a
:class:`WriteGate` first (a lock per database, taken before a transaction's first write
statement, released when its transaction commits, rolls back or its connection closes), and
wake as soon as the writer before them is done. Readers never wait on it; writers of other
processes still meet SQLite's own lock and busy timeout.
"""

from __future__ import annotations

import sqlite3
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
_by_name: dict[tuple[str, Path, str, str], Engine] = {}
"""``(DATABASE_URL template, WOMS_HOME, tenant, service)`` → engine: the per-request path
skips formatting the URL and ``mkdir`` of its SQLite folder (``Settings.database_url``)."""
_lock = threading.Lock()


BUSY_TIMEOUT_S = 5.0
"""How long a SQLite writer waits for the database (``PRAGMA busy_timeout``), and for the
:class:`WriteGate` before going on without it."""

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "SAVEPOINT")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


class WriteGate:
    """One writing transaction at a time on one SQLite database, within this process.

    :meth:`enter` waits (at most :data:`BUSY_TIMEOUT_S`; then it goes on without the gate and
    SQLite's busy timeout applies as before) unless the calling thread already holds it;
    :meth:`leave` releases it. Held per DBAPI connection (:class:`GatedConnection`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def enter(self) -> bool:
        """Take the gate; True when taken (the caller must :meth:`leave`), False when the
        calling thread holds it already or the wait timed out."""
        if self._owner == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=BUSY_TIMEOUT_S):
            return False
        self._owner = threading.get_ident()
        return True

    def leave(self) -> None:
        """Release the gate (taken by :meth:`enter`)."""
        self._owner = None
        self._lock.release()


class GatedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that holds its database's :class:`WriteGate` from its
    transaction's first write statement (:func:`_gate_writes`) to the end of that transaction
    (``commit``, ``rollback`` — the pool's reset on return included — or ``close``)."""

    gate: WriteGate  # set on the per-engine subclass made by create_engine_for_url
    _holds_gate = False

    def enter_gate(self) -> None:
        if not self._holds_gate and self.gate.enter():
            self._holds_gate = True

    def _leave_gate(self) -> None:
        if self._holds_gate:
            self._holds_gate = False
            self.gate.leave()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_gate()


def _gate_writes(
    conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool
) -> None:
    """Before a write statement: take the connection's :class:`WriteGate` (once per
    transaction)."""
    dbapi = conn.connection.dbapi_connection
    if (
        isinstance(dbapi, GatedConnection)
        and not dbapi._holds_gate
        and statement.lstrip()[:9].upper().startswith(_WRITES)
    ):
        dbapi.enter_gate()


def create_engine_for_url(url: str) -> Engine:
    """A new engine for ``url``: SQLite with foreign keys, WAL, a busy timeout and the
    process's :class:`WriteGate` for its writers; other backends with pre-ping. The PostgreSQL
    database is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        factory = type("GatedConnection", (GatedConnection,), {"gate": WriteGate()})
        engine = create_engine(url, connect_args={"check_same_thread": False, "factory": factory})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _gate_writes)
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

    The first call for a ``(DATABASE_URL, WOMS_HOME, tenant, service)`` builds the URL
    (``Settings.database_url``: names checked, SQLite folder created); later calls are one
    dictionary look-up (the APIs call this on every request).

    Raises:
        ValueError: invalid tenant or service name (see ``Settings.database_url``).
    """
    current = settings or get_settings()
    key = (current.database_url_template, current.woms_home, tenant, service)
    engine = _by_name.get(key)
    if engine is not None:
        return engine
    url = current.database_url(tenant, service)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine_for_url(url)
        _by_name[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _by_name.clear()


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
