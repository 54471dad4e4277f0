"""Reporting's database: one, shared by all tenants, in the platform's place.

``engine_for("platform", "reporting")`` — with the default ``DATABASE_URL`` template the file
``<WOMS_HOME>/db/platform/reporting.sqlite3``; in production a PostgreSQL database named by
the template. Every row carries its tenant (:mod:`services.reporting.models`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from services.common.db import engine_for, migrate
from services.common.settings import Settings
from services.common.tenancy import PLATFORM

SERVICE = "reporting"
MIGRATIONS = Path(__file__).parent / "migrations"


def reporting_engine(settings: Settings | None = None) -> Engine:
    """The reporting database's engine, migrated to the latest schema."""
    engine = engine_for(PLATFORM, SERVICE, settings)
    migrate(engine, MIGRATIONS)
    return engine
