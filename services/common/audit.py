"""The audit chain: a per-tenant, per-service append-only log of every change (and every read of
another person's evaluation), each entry carrying the hash of the previous one (issue 9,
``004 Phụ lục 3 §2.4``: an information system of security level 3 keeps audit logs).

Each service declares the two tables in its own metadata with :func:`audit_tables` (its
migrations create them, with triggers refusing ``UPDATE``/``DELETE``/``TRUNCATE``):

* ``audit_log`` — ``seq`` (1, 2, …, no gaps), ``at`` (UTC), ``tenant``, ``actor`` (the
  principal's subject, or ``system:<service>``), ``action``, ``object_kind`` + ``object_id``,
  ``before`` / ``after`` (canonical JSON text or null), ``prev_hash`` and ``hash``;
* ``audit_head`` — one row: the chain's last ``seq`` and ``hash`` (``0`` and :data:`GENESIS`
  when empty). Appends lock it, so two writers never fork the chain.

``hash`` = SHA-256 (hex) of the canonical JSON (``sort_keys``, ``(",", ":")`` separators, UTF-8
without escapes) of the entry's fields :data:`HASHED`, which include ``seq`` and ``prev_hash``:
editing any field, removing an entry or swapping two entries' ``seq`` breaks the chain.

Use cases call :func:`record` inside their transaction. The entries are staged on the session
and written when it commits (a ``before_commit`` hook), in the same transaction as the change:
the head row is locked last, once every row lock the transaction needs is held, so the lock is
held only for the few inserts before the commit and cannot take part in a deadlock; the chain
order is the commit order. A rolled-back transaction writes nothing.

:func:`verify` walks a chain and reports the first broken entry; :func:`head` is what
``woms audit export-head`` writes outside the database (:func:`write_head_file`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

AUDIT_LOG = "audit_log"
AUDIT_HEAD = "audit_head"
GENESIS = "0" * 64
"""``prev_hash`` of the first entry (and the head's hash of an empty chain)."""
HASHED = (
    "seq",
    "at",
    "tenant",
    "actor",
    "action",
    "object_kind",
    "object_id",
    "before",
    "after",
    "prev_hash",
)
"""The fields an entry's hash covers (``before``/``after`` as JSON values, ``at`` as ISO text)."""

#: ``session.info`` keys: the request's tenant and actor (set by ``services.common.web``), and
#: the entries staged for the commit.
TENANT_KEY = "audit_tenant"
ACTOR_KEY = "audit_actor"
_PENDING = "audit_pending"
_HOOKED = "audit_hooked"

APPEND_ONLY_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
    "sqlite": (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ),
}
"""Triggers refusing any change to written entries, per dialect (run by the migrations).
A database owner can still drop them: the hash chain and the exported heads are what detect
tampering."""

DROP_APPEND_ONLY_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
        "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
        "DROP FUNCTION IF EXISTS audit_log_append_only()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS audit_log_no_update",
        "DROP TRIGGER IF EXISTS audit_log_no_delete",
    ),
}


@dataclass(frozen=True)
class AuditTables:
    """A service's ``audit_log`` and ``audit_head`` tables."""

    log: Table
    head: Table


def audit_tables(metadata: MetaData) -> AuditTables:
    """Declare ``audit_log`` and ``audit_head`` (see the module notes) in ``metadata``."""
    log = Table(
        AUDIT_LOG,
        metadata,
        Column(
            "seq",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("tenant", String(41), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(100), nullable=False),
        Column("object_kind", String(64), nullable=False),
        Column("object_id", String(200), nullable=False),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
    )
    head = Table(
        AUDIT_HEAD,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("at", DateTime(timezone=True), nullable=True),
    )
    return AuditTables(log, head)


# --- canonical encoding and hashes ---------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value``: keys sorted, no spaces, UTF-8 kept; decimals as
    exact text (``83.900000`` → ``"83.9"``), dates ISO, datetimes ISO in UTC.

    Raises:
        TypeError: a value that is not JSON data nor one of those types.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def _iso(at: datetime) -> str:
    """UTC ISO text with microseconds; a naive time (SQLite gives them back) is UTC."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``entry``'s :data:`HASHED` fields, ``before`` and
    ``after`` given as their stored JSON text (or None)."""
    doc = {name: entry[name] for name in HASHED}
    doc["at"] = _iso(entry["at"])
    for name in ("before", "after"):
        doc[name] = None if entry[name] is None else json.loads(entry[name])
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


# --- appending -----------------------------------------------------------------------------


def record(
    session: Session,
    tables: AuditTables,
    *,
    action: str,
    object_kind: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    actor: str | None = None,
    tenant: str | None = None,
) -> None:
    """Stage an audit entry; it is appended to the chain when ``session``'s transaction commits
    (nothing when it rolls back).

    ``before``/``after`` are JSON data (decimals, dates, enums allowed, see
    :func:`canonical`) or None. ``actor`` and ``tenant`` default to the request's
    (``session.info``, set by ``services.common.web.Context.session``); the actor falls back
    to ``system``.

    Raises:
        ValueError: no tenant given nor known from the session.
        TypeError: ``before``/``after`` are not JSON data.
    """
    tenant = tenant or session.info.get(TENANT_KEY)
    if not tenant:
        raise ValueError("audit entry without a tenant (pass tenant= or use a request session)")
    entry = {
        "at": datetime.now(UTC),
        "tenant": tenant,
        "actor": actor or session.info.get(ACTOR_KEY) or "system",
        "action": action,
        "object_kind": object_kind,
        "object_id": str(object_id),
        "before": None if before is None else canonical(before),
        "after": None if after is None else canonical(after),
    }
    session.info.setdefault(_PENDING, []).append((tables, entry))
    if not session.info.get(_HOOKED):
        event.listen(session, "before_commit", _write_pending)
        event.listen(session, "after_rollback", _discard_pending)
        session.info[_HOOKED] = True


def _discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    by_table: dict[int, tuple[AuditTables, list[dict[str, Any]]]] = {}
    for tables, entry in pending:
        by_table.setdefault(id(tables), (tables, []))[1].append(entry)
    for tables, entries in by_table.values():
        append(session, tables, entries)


def _lock_head(session: Session, tables: AuditTables) -> tuple[int, str]:
    """Lock the head row (an ``UPDATE``: a row lock on PostgreSQL, the write lock on SQLite)
    and read it; created from the log when missing (tables made without the migration)."""
    head = tables.head
    locked = session.execute(update(head).where(head.c.id == 1).values(seq=head.c.seq))
    if locked.rowcount == 0:  # type: ignore[attr-defined]
        last = session.execute(
            select(tables.log.c.seq, tables.log.c.hash).order_by(tables.log.c.seq.desc()).limit(1)
        ).first()
        seq, hash_ = (int(last.seq), str(last.hash)) if last else (0, GENESIS)
        session.execute(insert(head).values(id=1, seq=seq, hash=hash_, at=None))
        return seq, hash_
    row = session.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)).one()
    return int(row.seq), str(row.hash)


def append(session: Session, tables: AuditTables, entries: Iterable[Mapping[str, Any]]) -> int:
    """Append ``entries`` (fields of :data:`HASHED` but ``seq`` and ``prev_hash``) to the chain
    now, inside ``session``'s transaction, under the head lock. :func:`record` calls it at
    commit; call it directly only at the end of a transaction.

    Returns:
        the new head's ``seq``.
    """
    rows = []
    seq, prev = _lock_head(session, tables)
    for entry in entries:
        seq += 1
        row = {**entry, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    if not rows:
        return seq
    session.execute(insert(tables.log), rows)
    session.execute(
        update(tables.head)
        .where(tables.head.c.id == 1)
        .values(seq=seq, hash=prev, at=rows[-1]["at"])
    )
    return seq


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """A chain head: the last entry's ``seq``, ``hash`` and time (None for an empty chain)."""

    seq: int
    hash: str
    at: datetime | None


@dataclass(frozen=True)
class Break:
    """The first broken entry of a chain: its ``seq`` and what is wrong (Vietnamese / English)."""

    seq: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify`: entries walked, the chain's last entry, the first break
    (None when intact)."""

    entries: int
    last: Head
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _rows(session: Session, tables: AuditTables) -> Iterator[Mapping[str, Any]]:
    result = session.execute(
        select(tables.log).order_by(tables.log.c.seq).execution_options(yield_per=1000)
    )
    for row in result:
        yield row._mapping


def _seq_with_hash(session: Session, tables: AuditTables, hash_: str) -> int | None:
    found = session.execute(
        select(tables.log.c.seq).where(tables.log.c.hash == hash_)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def check_entries(
    rows: Iterable[Mapping[str, Any]],
    tenant: str,
    seq_of_hash: Any = None,
) -> tuple[int, Head, Break | None]:
    """Walk ``rows`` (ordered by ``seq``) and find the first broken entry.

    Checks, in order, for each entry: ``seq`` follows the previous one (else entries were
    removed); ``prev_hash`` is the previous entry's hash (else entries were reordered —
    named when ``seq_of_hash(hash) -> seq | None`` finds the entry it links to — or one was
    rewritten); the tenant; the hash of its contents (else it was edited).

    Returns:
        ``(entries walked, last good head, first break or None)``.
    """
    count, seq, prev, at = 0, 0, GENESIS, None
    for row in rows:
        expected = seq + 1
        if row["seq"] != expected:
            if row["seq"] > expected:
                gap = (
                    f"{expected}" if row["seq"] == expected + 1 else f"{expected}–{row['seq'] - 1}"
                )
                problem = (
                    f"thiếu mục {gap} (đã bị xóa) / entry {gap} missing: seq {row['seq']} "
                    f"follows seq {seq} (removed)"
                )
            else:
                problem = f"seq {row['seq']} after seq {seq}: duplicate or out of order"
            return count, Head(seq, prev, at), Break(expected, problem)
        if row["prev_hash"] != prev:
            links_to = seq_of_hash(row["prev_hash"]) if seq_of_hash else None
            if links_to is not None:
                problem = (
                    f"sai thứ tự / out of order: it links to the entry stored at seq {links_to}, "
                    f"not to seq {seq} (reordered)"
                )
            else:
                problem = (
                    f"prev_hash does not match the hash of seq {seq} (one of them was rewritten "
                    "or an entry replaced)"
                )
            return count, Head(seq, prev, at), Break(row["seq"], problem)
        if row["tenant"] != tenant:
            problem = f"belongs to tenant {row['tenant']!r}, not {tenant!r} (copied in)"
            return count, Head(seq, prev, at), Break(row["seq"], problem)
        if entry_hash(row) != row["hash"]:
            problem = (
                "nội dung bị sửa / edited: its contents do not match its hash "
                f"(action {row['action']}, {row['object_kind']} {row['object_id']})"
            )
            return count, Head(seq, prev, at), Break(row["seq"], problem)
        count, seq, prev, at = count + 1, row["seq"], row["hash"], row["at"]
    return count, Head(seq, prev, at), None


def head(session: Session, tables: AuditTables) -> Head:
    """The chain's last entry as stored (not verified): ``seq`` 0 and :data:`GENESIS` when
    empty."""
    row = session.execute(
        select(tables.log.c.seq, tables.log.c.hash, tables.log.c.at)
        .order_by(tables.log.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return Head(0, GENESIS, None)
    return Head(int(row.seq), str(row.hash), row.at)


def verify(
    session: Session, tables: AuditTables, tenant: str, exported: Iterable[Head] = ()
) -> ChainReport:
    """Verify ``tenant``'s chain in ``tables``: every entry (:func:`check_entries`), then the
    head row (it must name the last entry: else entries were cut off the end), then each
    ``exported`` head (the chain must still hold that ``seq`` with that hash: else it was
    truncated or rewritten after the export).

    Returns:
        a :class:`ChainReport`; ``broken`` names the first problem found.
    """
    count, last, broken = check_entries(
        _rows(session, tables), tenant, lambda h: _seq_with_hash(session, tables, h)
    )
    if broken is not None:
        return ChainReport(count, last, broken)
    stored = session.execute(
        select(tables.head.c.seq, tables.head.c.hash).where(tables.head.c.id == 1)
    ).first()
    if stored is not None and (int(stored.seq), str(stored.hash)) != (last.seq, last.hash):
        if int(stored.seq) > last.seq:
            problem = (
                f"bị cắt cụt / truncated: the head row names seq {stored.seq}, the chain ends "
                f"at seq {last.seq}"
            )
        else:
            problem = f"the head row names seq {stored.seq} with another hash than the chain's"
        return ChainReport(count, last, Break(last.seq + 1, problem))
    for known in exported:
        if known.seq > last.seq:
            problem = (
                f"bị cắt cụt / truncated after export: the exported head is seq {known.seq}, "
                f"the chain ends at seq {last.seq}"
            )
            return ChainReport(count, last, Break(known.seq, problem))
        if known.seq == 0:
            continue
        found = session.execute(
            select(tables.log.c.hash).where(tables.log.c.seq == known.seq)
        ).scalar_one()
        if found != known.hash:
            problem = "viết lại / rewritten after export: its hash differs from the exported head"
            return ChainReport(count, last, Break(known.seq, problem))
    return ChainReport(count, last, None)


# --- the head outside the database --------------------------------------------------------


def head_document(tenant: str, service: str, last: Head, exported_at: datetime) -> dict[str, Any]:
    """What an exported head file holds: ``tenant``, ``service``, ``seq``, ``hash``, ``time``
    (the last entry's, ISO UTC, null when empty) and ``exported_at``."""
    return {
        "tenant": tenant,
        "service": service,
        "seq": last.seq,
        "hash": last.hash,
        "time": None if last.at is None else _iso(last.at),
        "exported_at": _iso(exported_at),
    }


def write_head_file(out: Path, document: Mapping[str, Any], day: date) -> Path:
    """Write ``document`` to ``out/{tenant}-{service}-{day}.json`` atomically (a temporary
    file in ``out``, flushed to disk, then renamed over the target).

    Returns:
        the file written.

    Raises:
        OSError: ``out`` cannot be created or written.
    """
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{document['tenant']}-{document['service']}-{day.isoformat()}.json"
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def head_from_document(document: Mapping[str, Any]) -> Head:
    """The :class:`Head` of an exported head file's data.

    Raises:
        ValueError: ``seq`` is not a non-negative integer or ``hash`` not 64 hex digits.
    """
    seq, hash_ = document.get("seq"), document.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq: must be a non-negative integer")
    if (
        not isinstance(hash_, str)
        or len(hash_) != 64
        or not all(c in "0123456789abcdef" for c in hash_)
    ):
        raise ValueError("hash: must be 64 lowercase hex digits")
    time = document.get("time")
    return Head(seq, hash_, datetime.fromisoformat(time) if isinstance(time, str) else None)
