"""The platform's tenant registry: which provinces are onboarded, with their settings.

A small table in the platform database (``DATABASE_URL`` with the reserved tenant
``platform`` and service ``registry``), created on first use. Each tenant's own data lives in
its per-service databases (:mod:`services.common.db`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

from services.common.db import engine_for
from services.common.settings import Settings

PLATFORM = "platform"  # reserved: no tenant may use this code
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")

metadata = MetaData()
tenants = Table(
    "tenants",
    metadata,
    Column("code", String(41), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("config", Text, nullable=False),
    Column("source_hash", String(64), nullable=False),
    Column("onboarded_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A registered tenant: ``config`` holds its calendar and scoring settings."""

    code: str
    name: str
    time_zone: str
    config: dict[str, Any]
    source_hash: str
    onboarded_at: datetime
    updated_at: datetime


def validate_code(code: str) -> str:
    """Return ``code`` if it is a valid tenant code (``[a-z][a-z0-9-]{1,40}``).

    Raises:
        ValueError: otherwise, or when it is the reserved ``platform``.
    """
    if not CODE_PATTERN.fullmatch(code) or code == PLATFORM:
        raise ValueError(f"tenant code {code!r} must match {CODE_PATTERN.pattern}")
    return code


def namespace_of(tenant: str) -> str:
    """The tenant's Temporal namespace: ``woms-<tenant>`` (the one place it is named)."""
    return f"woms-{tenant}"


def registry_engine(settings: Settings | None = None) -> Engine:
    """The platform registry's engine, with its table created if missing."""
    engine = engine_for(PLATFORM, "registry", settings)
    metadata.create_all(engine, checkfirst=True)
    return engine


def _row(row: Any) -> Tenant:
    return Tenant(
        code=row.code,
        name=row.name,
        time_zone=row.time_zone,
        config=json.loads(row.config),
        source_hash=row.source_hash,
        onboarded_at=row.onboarded_at,
        updated_at=row.updated_at,
    )


def upsert(
    session: Session,
    *,
    code: str,
    name: str,
    time_zone: str,
    config: dict[str, Any],
    source_hash: str,
) -> bool:
    """Register or update a tenant; returns True when anything changed."""
    validate_code(code)
    now = datetime.now(UTC)
    current = session.execute(select(tenants).where(tenants.c.code == code)).first()
    encoded = json.dumps(config, sort_keys=True, ensure_ascii=False)
    if current is None:
        session.execute(
            tenants.insert().values(
                code=code,
                name=name,
                time_zone=time_zone,
                config=encoded,
                source_hash=source_hash,
                onboarded_at=now,
                updated_at=now,
            )
        )
        return True
    if (current.name, current.time_zone, current.config, current.source_hash) == (
        name,
        time_zone,
        encoded,
        source_hash,
    ):
        return False
    session.execute(
        tenants.update()
        .where(tenants.c.code == code)
        .values(
            name=name,
            time_zone=time_zone,
            config=encoded,
            source_hash=source_hash,
            updated_at=now,
        )
    )
    return True


def list_tenants(session: Session) -> list[Tenant]:
    """All registered tenants, by code."""
    return [_row(r) for r in session.execute(select(tenants).order_by(tenants.c.code))]


def get_tenant(session: Session, code: str) -> Tenant | None:
    """The tenant ``code``, or None."""
    row = session.execute(select(tenants).where(tenants.c.code == code)).first()
    return None if row is None else _row(row)
