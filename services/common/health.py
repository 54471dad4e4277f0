"""Readiness of an API process: ``GET /ready`` answers 200 only when its dependencies answer.

Kubernetes sends traffic to a pod while ``/ready`` answers 200 (``infra/k8s``); ``/health`` (the
liveness probe) only says the process runs. Checked with a real round-trip each:

* the database: the tenant registry every request reads (``SELECT 1``), and, when ``WOMS_TENANT``
  is set (one tenant per namespace), that tenant's database of the service (reporting: its
  shared database);
* Temporal, when ``TEMPORAL_ADDRESS`` is set (:func:`services.common.probes.temporal_answers`);
* Kafka, when ``KAFKA_BOOTSTRAP_SERVERS`` is set (:func:`services.common.probes.kafka_answers`).

The embedded components (no address set) are not checked: ``woms dev up`` owns them.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.common import probes
from services.common.db import engine_for
from services.common.settings import get_settings
from services.common.tenancy import PLATFORM

TIMEOUT_S = 2.0


def _database_answers(tenant: str, service: str) -> bool:
    try:
        with engine_for(tenant, service).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def readiness(service: str) -> dict[str, bool]:
    """``{check: answered}`` for ``service`` (``"planning"``…) in this process's settings.

    Keys: ``database`` always; ``temporal`` / ``kafka`` when their address is configured.
    Never raises: a failed or slow (> 2 s) check is ``False``.
    """
    settings = get_settings()
    targets = [(PLATFORM, "registry")]
    tenant = os.environ.get("WOMS_TENANT", "").strip()
    if tenant:
        targets.append((tenant, service))
    elif service == "reporting":  # shared by every tenant (services/reporting/database.py)
        targets.append((PLATFORM, service))
    checks: dict[str, bool] = {}
    answers = [await asyncio.to_thread(_database_answers, t, s) for t, s in targets]
    checks["database"] = all(answers)
    if settings.temporal_address:
        checks["temporal"] = await probes.temporal_answers_async(
            settings.temporal_address, TIMEOUT_S
        )
    if settings.kafka_bootstrap_servers:
        checks["kafka"] = await asyncio.to_thread(
            probes.kafka_answers, settings.kafka_bootstrap_servers, TIMEOUT_S
        )
    return checks


def readiness_router(service: str) -> APIRouter:
    """A router with ``GET /ready``: 200 ``{"status": "ready", "checks": {...}}`` when every
    check answered, else 503 ``{"status": "not_ready", "checks": {...}}``."""
    router = APIRouter()

    @router.get("/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        checks = await readiness(service)
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    return router
