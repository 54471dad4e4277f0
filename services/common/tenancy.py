"""The platform's tenant registry: which provinces are onboarded, with their settings.

A small table in the platform database (``DATABASE_URL`` with the reserved tenant
``platform`` and service ``registry``), created on first use. Each tenant's own data lives in
its per-service databases (:mod:`services.common.db`).

The same database holds the **platform's role grants** (``platform_grants``): the central
bodies whose tokens are issued for the reserved tenant ``platform`` and read across every
tenant (``policies/woms/reporting/authz.rego``). A tenant's own grants live in its planning
database (the tenant file's ``role_grants:``); the platform has no planning, so its grants are
kept here and managed with ``woms platform grant | revoke | grants`` (``docs/identity.md``).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

from services.common.db import engine_for, transaction
from services.common.settings import Settings, get_settings

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

PLATFORM_GRANTABLE = frozenset({"central"})
"""Roles the platform may grant (a central body reading across tenants)."""
platform_grants = Table(
    "platform_grants",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("role", String(40), primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, default=""),
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


_created: weakref.WeakSet[Engine] = weakref.WeakSet()
_created_lock = threading.Lock()


def registry_engine(settings: Settings | None = None) -> Engine:
    """The platform registry's engine, with its table created if missing.

    The table is checked (``create_all(checkfirst=True)``, one schema query) once per engine
    object, i.e. once per process and ``DATABASE_URL`` (:func:`services.common.db.engine_for`
    caches engines; a disposed and re-created engine is checked again), not on every call:
    the APIs call this on every request.
    """
    engine = engine_for(PLATFORM, "registry", settings)
    if engine in _created:
        return engine
    with _created_lock:
        if engine not in _created:
            metadata.create_all(engine, checkfirst=True)
            _created.add(engine)
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
    forget_cached(code)
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


_cache: TTLCache[tuple[str, str], Tenant] | None = None
_cache_ttl: float | None = None
_cache_lock = threading.Lock()


def cached_tenant(code: str, settings: Settings | None = None) -> Tenant | None:
    """The registered tenant ``code`` (None when not registered), read from the registry at
    most once every ``RELATION_CACHE_S`` seconds per process (``Settings.relation_cache_s``,
    default 30; 0 reads it on every call). For the APIs, which need it on every request
    (a read costs ≈ 0.4 ms, issue 9 "Load"); a tenant updated by another process (``woms
    tenant onboard``) is seen within that time, by this process at once (:func:`upsert`).
    Unknown tenants are not cached: an onboarded tenant is found on the next call.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the registry cannot be read.
    """
    current = settings or get_settings()
    ttl = current.relation_cache_s
    engine = registry_engine(current)
    key = (str(engine.url), code)
    global _cache, _cache_ttl
    with _cache_lock:
        if ttl != _cache_ttl:
            _cache, _cache_ttl = (TTLCache(maxsize=1024, ttl=ttl) if ttl > 0 else None), ttl
        found = _cache.get(key) if _cache is not None else None
    if found is not None:
        return found
    with transaction(engine) as session:
        found = get_tenant(session, code)
    if found is not None:
        with _cache_lock:
            if _cache is not None:
                _cache[key] = found
    return found


def forget_cached(code: str | None = None) -> None:
    """Drop ``code`` (every tenant when None) from :func:`cached_tenant`'s cache."""
    with _cache_lock:
        if _cache is None:
            return
        for key in [k for k in _cache if code is None or k[1] == code]:
            _cache.pop(key, None)


def grant_platform_role(session: Session, subject: str, role: str, note: str = "") -> bool:
    """Grant ``role`` to ``subject`` (a person or account of a central body) on the platform;
    returns False when it was granted already.

    Raises:
        ValueError: ``role`` is not in :data:`PLATFORM_GRANTABLE`, or ``subject`` is blank,
            longer than 200 characters or a ``system:`` subject (services carry their roles
            in their signed tokens).
    """
    if role not in PLATFORM_GRANTABLE:
        raise ValueError(f"role {role!r}: the platform grants only {sorted(PLATFORM_GRANTABLE)}")
    if not subject.strip() or len(subject) > 200 or subject.startswith("system:"):
        raise ValueError(f"subject {subject!r} must be a person or account code (1-200 chars)")
    found = session.execute(
        select(platform_grants.c.subject).where(
            platform_grants.c.subject == subject, platform_grants.c.role == role
        )
    ).first()
    if found is not None:
        return False
    session.execute(
        platform_grants.insert().values(
            subject=subject, role=role, granted_at=datetime.now(UTC), note=note
        )
    )
    return True


def revoke_platform_role(session: Session, subject: str, role: str) -> bool:
    """Withdraw ``role`` from ``subject``; returns False when it was not granted."""
    done = session.execute(
        platform_grants.delete().where(
            platform_grants.c.subject == subject, platform_grants.c.role == role
        )
    )
    return bool(done.rowcount)


def platform_role_grants(session: Session) -> dict[str, frozenset[str]]:
    """``{subject: roles}`` of every platform grant (read on each request of a platform
    caller: a revocation takes effect at once)."""
    out: dict[str, set[str]] = {}
    for row in session.execute(select(platform_grants.c.subject, platform_grants.c.role)):
        out.setdefault(row.subject, set()).add(row.role)
    return {subject: frozenset(roles) for subject, roles in out.items()}
