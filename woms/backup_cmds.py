"""``woms tenant backup | restore`` — one tenant's data in one file, and back (issue 9, faults).

A backup is a zip archive:

* ``manifest.json`` — format version, tenant, when, the Alembic revision of each service's
  database, and the tables with their row counts;
* ``registry.json`` — the tenant's row of the platform registry (:mod:`services.common.tenancy`);
* ``db/<service>/<table>.jsonl`` — every row of every table of the tenant's database of each
  service (:data:`woms.onboarding.SERVICES`), one JSON object per line, in primary-key order,
  values exactly as the database driver returns them (decimals, timestamps, dates, bytes and
  JSON documents tagged so they come back with their type: ``{"$dec": "83.9"}``…);
* ``evidence/…`` — the tenant's evidence files (``$WOMS_HOME/evidence/<tenant>``), by hash.

Restore goes into **fresh** databases only: each service's database is migrated to the
backup's revision and the rows are inserted in foreign-key order. Nothing of the append-only
audit log (:mod:`services.common.audit`, its triggers refuse UPDATE/DELETE) is updated or
deleted: its entries are inserted as they were, hashes included, so ``woms audit verify`` holds;
only rows a migration seeded (the chain's genesis ``audit_head``) are replaced by the backup's.
PostgreSQL sequences are moved past the restored ids. A database that already holds rows, or
a tenant already in the registry, is a conflict: exit 2, nothing written. The reporting read
models are not in the backup: they are rebuilt from the Kafka topics
(``woms reporting rebuild``).
"""

from __future__ import annotations

import base64
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from sqlalchemy import Engine, MetaData, Table, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

FORMAT = 1
ALEMBIC = "alembic_version"


class BackupError(Exception):
    """A backup cannot be made or restored; the message says which tenant, table or file."""


# --- values ------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A driver value as JSON, tagged when JSON alone would lose its type.

    Raises:
        BackupError: a value of a type no WOMS table uses.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"$float": value.hex()}  # exact, NaN and infinities included
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dict | list):  # PostgreSQL JSON / JSONB / arrays
        return {"$json": value}
    raise BackupError(f"unsupported value type {type(value).__name__}")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if not isinstance(value, dict):
        return value
    ((tag, raw),) = value.items()
    return {
        "$float": float.fromhex,
        "$dec": Decimal,
        "$dt": datetime.fromisoformat,
        "$date": date.fromisoformat,
        "$time": time.fromisoformat,
        "$b64": base64.b64decode,
        "$uuid": UUID,
        "$json": lambda v: v,
    }[tag](raw)


# --- reading -----------------------------------------------------------------------------


def _tables(conn: Connection) -> list[Table]:
    """The database's tables in foreign-key order (parents first) where there is one (planning's
    objectives and key results refer to each other: the restore defers the checks)."""
    metadata = MetaData()
    metadata.reflect(conn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # "Cannot correctly sort tables" (cycles)
        return list(metadata.sorted_tables)


@contextmanager
def _foreign_keys_at_the_end(engine: Engine) -> Iterator[Connection]:
    """A transaction whose inserts are not held to foreign-key order (planning's objectives and
    key results refer to each other); the keys are checked before it commits.

    SQLite: ``foreign_keys`` off for the connection (it cannot change inside a transaction),
    ``PRAGMA foreign_key_check`` at the end, back on after. PostgreSQL:
    ``session_replication_role = replica`` for the transaction (needs a superuser; the rows come
    from a database where they held, and no WOMS trigger fires on ``INSERT``).

    Raises:
        BackupError: a row refers to a missing parent (the transaction is rolled back).
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            conn.commit()  # ends the autobegun transaction: the pragma applies from here
        try:
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise BackupError(f"rows without their parent: {broken[:5]}")
        finally:
            if sqlite:
                conn.rollback()  # nothing open after the block; ends the autobegun one if any
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.commit()


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def rows_of(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` as the driver returns it (no type processing), in primary-key
    order (all columns when there is no primary key)."""
    keys = list(table.primary_key.columns) or list(table.columns)
    order = ", ".join(_quoted(conn, c.name) for c in keys)
    names = [c.name for c in table.columns]
    columns = ", ".join(_quoted(conn, n) for n in names)
    result = conn.exec_driver_sql(
        f"SELECT {columns} FROM {_quoted(conn, table.name)} ORDER BY {order}"
    )
    for row in result:
        yield dict(zip(names, row, strict=True))


def dump_database(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """``{table: [encoded row, …]}`` of every table (the comparison form of a database)."""
    with engine.connect() as conn:
        return {
            t.name: [{k: encode(v) for k, v in row.items()} for row in rows_of(conn, t)]
            for t in _tables(conn)
        }


# --- backup ------------------------------------------------------------------------------


def backup(tenant: str, out: Path) -> dict[str, Any]:
    """Write ``tenant``'s backup to ``out`` (written to ``out.partial``, then renamed).

    Returns:
        the manifest.

    Raises:
        BackupError: the tenant is not onboarded.
    """
    from services.common import tenancy
    from services.common.db import engine_for, transaction
    from services.common.settings import get_settings
    from woms.onboarding import SERVICES

    with transaction(tenancy.registry_engine()) as session:
        registry = session.execute(
            select(tenancy.tenants).where(tenancy.tenants.c.code == tenant)
        ).first()
    if registry is None:
        raise BackupError(f"tenant {tenant!r} is not onboarded (woms tenant list)")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "tenant": tenant,
        "created_at": datetime.now(UTC).isoformat(),
        "services": {},
    }
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "registry.json", json.dumps({k: encode(v) for k, v in registry._mapping.items()})
        )
        for service in SERVICES:
            entry: dict[str, Any] = {"revision": None, "tables": {}}
            with engine_for(tenant, service).connect() as conn:  # one read transaction
                for table in _tables(conn):
                    lines = [
                        json.dumps({k: encode(v) for k, v in row.items()}, ensure_ascii=False)
                        for row in rows_of(conn, table)
                    ]
                    if table.name == ALEMBIC:
                        entry["revision"] = conn.execute(
                            text(f"SELECT version_num FROM {ALEMBIC}")
                        ).scalar()
                        continue
                    entry["tables"][table.name] = len(lines)
                    body = "".join(line + "\n" for line in lines)
                    archive.writestr(f"db/{service}/{table.name}.jsonl", body)
            manifest["services"][service] = entry
        evidence = get_settings().woms_home / "evidence" / tenant
        files = sorted(p for p in evidence.rglob("*") if p.is_file()) if evidence.is_dir() else []
        for path in files:
            archive.write(path, f"evidence/{path.relative_to(evidence).as_posix()}")
        manifest["evidence_files"] = len(files)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    partial.replace(out)
    return manifest


# --- restore -----------------------------------------------------------------------------


def _insert_all(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":  # raw values, exactly as they were stored
        names = list(rows[0])
        sql = (
            f"INSERT INTO {_quoted(conn, table.name)} "
            f"({', '.join(_quoted(conn, n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        conn.exec_driver_sql(sql, [tuple(r[n] for n in names) for r in rows])
        return
    conn.execute(insert(table), rows)  # typed columns adapt JSON documents and arrays
    for column in table.primary_key.columns:  # move serial/identity sequences past the ids
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        ).scalar()
        if sequence:
            column_sql, table_sql = _quoted(conn, column.name), _quoted(conn, table.name)
            conn.execute(
                text(f"SELECT setval(:s, (SELECT max({column_sql}) FROM {table_sql}))"),
                {"s": sequence},
            )


def restore(archive_path: Path) -> dict[str, Any]:
    """Restore the backup at ``archive_path`` into the tenant's (fresh) databases.

    Returns:
        the backup's manifest.

    Raises:
        BackupError: not a WOMS backup, another format version, the tenant already in the
            registry, or a target database that already holds rows (nothing is written then).
    """
    from services.common import tenancy
    from services.common.db import engine_for, migrate, transaction
    from services.common.settings import get_settings
    from woms.onboarding import MIGRATIONS, SERVICES

    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{archive_path}: not a WOMS backup ({exc})") from None
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
            registry = {k: decode(v) for k, v in json.loads(archive.read("registry.json")).items()}
        except (KeyError, ValueError) as exc:
            raise BackupError(f"{archive_path}: not a WOMS backup ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive_path}: backup format {manifest.get('format')!r}")
        tenant = manifest["tenant"]
        registry_engine = tenancy.registry_engine()
        with transaction(registry_engine) as session:
            if tenancy.get_tenant(session, tenant) is not None:
                raise BackupError(f"tenant {tenant!r} already exists: restore into a fresh home")
        # every target must be empty before anything is written
        for service in SERVICES:
            with engine_for(tenant, service).connect() as conn:
                for table in _tables(conn):
                    if table.name == ALEMBIC:
                        continue
                    if conn.execute(select(func.count()).select_from(table)).scalar():
                        raise BackupError(
                            f"the {service} database of {tenant!r} is not empty "
                            f"(table {table.name}): restore needs a fresh database"
                        )
        for service in SERVICES:
            entry = manifest["services"][service]
            engine = engine_for(tenant, service)
            if entry["revision"] is not None and service in MIGRATIONS:
                migrate(engine, MIGRATIONS[service], entry["revision"])
            with _foreign_keys_at_the_end(engine) as conn:
                by_name = {t.name: t for t in _tables(conn)}
                for table_name in [t for t in by_name if t in entry["tables"]]:
                    table = by_name[table_name]
                    if conn.execute(select(func.count()).select_from(table)).scalar():
                        # rows the migration seeded (the audit chain's genesis head): the
                        # backup holds their current state (never the append-only log)
                        conn.execute(table.delete())
                    body = archive.read(f"db/{service}/{table_name}.jsonl").decode()
                    rows = [
                        {k: decode(v) for k, v in json.loads(line).items()}
                        for line in body.splitlines()
                    ]
                    _insert_all(conn, table, rows)
                missing = set(entry["tables"]) - set(by_name)
                if missing:
                    raise BackupError(f"{service}: tables {sorted(missing)} not in the schema")
        evidence = get_settings().woms_home / "evidence" / tenant
        for name in archive.namelist():
            if name.startswith("evidence/") and not name.endswith("/"):
                target = evidence / name.removeprefix("evidence/")
                if ".." in Path(name).parts:
                    raise BackupError(f"{archive_path}: unsafe path {name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
        with registry_engine.begin() as conn:
            conn.execute(insert(tenancy.tenants), [registry])
    return manifest


# --- commands ----------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``woms tenant`` group."""

    @app.command("backup")
    def backup_cmd(
        tenant: Annotated[str, typer.Argument(help="Tenant code, e.g. hanoi")],
        out: Annotated[Path, typer.Argument(help="The backup file to write (.zip)")],
    ) -> None:
        """Sao lưu / write one tenant's databases and evidence files to one file."""
        try:
            manifest = backup(tenant, out)
        except BackupError as error:
            typer.echo(f"lỗi / error: {error}", err=True)
            raise typer.Exit(2) from None
        rows = sum(n for s in manifest["services"].values() for n in s["tables"].values())
        typer.echo(f"{out}: {tenant}, {rows} rows, {manifest['evidence_files']} evidence files")

    @app.command("restore")
    def restore_cmd(
        path: Annotated[Path, typer.Argument(help="A file written by woms tenant backup")],
    ) -> None:
        """Khôi phục / restore a tenant's backup into fresh databases (never over data)."""
        try:
            manifest = restore(path)
        except BackupError as error:
            typer.echo(f"lỗi / error: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"{path}: {manifest['tenant']} restored")
