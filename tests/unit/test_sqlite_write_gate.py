"""The writers of one process queue on a gate per SQLite database (``services/common/db.py``,
issue 9 "Load"): taken before a transaction's first write, released when it ends; readers
never wait on it. Real SQLite files under a temporary directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.common.db import GatedConnection, WriteGate, create_engine_for_url, transaction


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for_url(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield engine
    engine.dispose()


def _gate(engine: Engine) -> threading.Lock:
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert isinstance(dbapi, GatedConnection)
        return dbapi.gate._lock


def test_a_second_writer_waits_for_the_first_to_commit(engine: Engine) -> None:
    gate = _gate(engine)
    first_wrote, first_may_commit = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with transaction(engine) as s:
            s.execute(text("INSERT INTO t (v) VALUES ('first')"))
            first_wrote.set()
            first_may_commit.wait(10)
            order.append("first commits")

    def second() -> None:
        with transaction(engine) as s:
            order.append("second reads")
            s.execute(text("SELECT count(*) FROM t")).scalar()
            s.execute(text("INSERT INTO t (v) VALUES ('second')"))
            order.append("second wrote")

    one = threading.Thread(target=first)
    one.start()
    assert first_wrote.wait(10)
    assert gate.locked()
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)  # it reads, then queues on the gate (not on SQLite's busy timeout)
    assert two.is_alive() and order == ["second reads"]
    first_may_commit.set()
    one.join(10)
    two.join(10)
    assert order == ["second reads", "first commits", "second wrote"]
    assert not gate.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == [
            "first",
            "second",
        ]


def test_readers_do_not_take_the_gate(engine: Engine) -> None:
    gate = _gate(engine)
    with transaction(engine) as s:
        s.execute(text("SELECT * FROM t")).all()
        assert not gate.locked()
        s.execute(text("UPDATE t SET v = 'x' WHERE id = 0"))
        assert gate.locked()
    assert not gate.locked()


def test_a_rollback_or_a_connection_returned_without_commit_releases_it(engine: Engine) -> None:
    gate = _gate(engine)
    with pytest.raises(RuntimeError), transaction(engine) as s:
        s.execute(text("INSERT INTO t (v) VALUES ('lost')"))
        assert gate.locked()
        raise RuntimeError("the request failed")
    assert not gate.locked()
    conn = engine.connect()
    conn.execute(text("INSERT INTO t (v) VALUES ('lost too')"))
    assert gate.locked()
    conn.close()  # the pool's reset on return rolls back
    assert not gate.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_the_thread_holding_the_gate_does_not_wait_for_itself() -> None:
    gate = WriteGate()
    assert gate.enter() is True
    assert gate.enter() is False  # a second connection of the same thread goes on to SQLite
    taken: list[bool] = []
    other = threading.Thread(target=lambda: taken.append(gate.enter()))
    other.start()
    other.join(0.3)
    assert other.is_alive() and taken == []  # another thread waits
    gate.leave()
    other.join(10)
    assert taken == [True]
    gate.leave()
