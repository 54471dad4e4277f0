"""Fixtures of the evaluation service's tests: a freshly migrated evaluation database of the
tenant ``mini`` on each backend (SQLite under a temporary WOMS home, and the machine's
PostgreSQL with a throw-away database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.common.db import engine_for, migrate, transaction
from tests.integration.backends import BACKENDS, database_backend

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "evaluation" / "migrations"
TENANT = "mini"


@pytest.fixture(params=BACKENDS)
def session(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """A session on a freshly migrated evaluation database of ``mini``, on the param's backend;
    committed when the test ends."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend(request.param, monkeypatch):
        engine = engine_for(TENANT, "evaluation")
        migrate(engine, MIGRATIONS)
        migrate(engine, MIGRATIONS)  # idempotent
        with transaction(engine) as s:
            yield s
