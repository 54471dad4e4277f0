"""``GET /ready`` (the readiness probe of infra/k8s): 200 when the database answers, 503 naming
the check when a configured Temporal or Kafka does not."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.db import dispose_engines
from services.common.health import readiness_router
from services.common.settings import get_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.setenv("WOMS_TENANT", "hanoi")
    for name in ("TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    app = FastAPI()
    app.include_router(readiness_router("planning"))
    try:
        yield TestClient(app)
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_ready_when_the_databases_answer(client: TestClient) -> None:
    answer = client.get("/ready")
    assert (answer.status_code, answer.json()) == (
        200,
        {"status": "ready", "checks": {"database": True}},
    )


def test_not_ready_when_temporal_and_kafka_do_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{_closed_port()}")
    get_settings.cache_clear()
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "not_ready",
        "checks": {"database": True, "temporal": False, "kafka": False},
    }


def test_not_ready_when_the_database_does_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/{{service}}"
    )
    get_settings.cache_clear()
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": False}


@pytest.mark.parametrize("service", ["planning", "tasks", "evaluation", "reporting"])
def test_every_api_serves_the_probes_the_manifests_use(client: TestClient, service: str) -> None:
    import importlib

    app = importlib.import_module(f"services.{service}.api").create_app()
    with TestClient(app) as api:
        assert api.get("/health").status_code == 200
        answer = api.get("/ready")
    assert (answer.status_code, answer.json()["checks"]) == (200, {"database": True})
