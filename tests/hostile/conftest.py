"""The hostile-input tests' stack: Hà Nội onboarded on SQLite under a temporary WOMS home,
the planning and tasks APIs served for real by uvicorn on free local ports (the services call
each other over HTTP, as in production); for the evaluation service also the session's
Temporal dev server and Tansu broker, with the tenant's namespace and topics created."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import get_settings
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from tests.evaluation_service.evaluation_api_stack import served
from tests.integration.backends import database_backend
from woms.onboarding import onboard

HANOI = Path(__file__).resolve().parents[2] / "data" / "tenants" / "hanoi" / "tenant.yaml"


def _stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, infrastructure: bool
) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    tasks_api._directory.clear()
    try:
        with database_backend("sqlite", monkeypatch):
            onboard(HANOI, infrastructure=infrastructure)
            with served(planning_app()) as planning:
                monkeypatch.setenv("PLANNING_URL", planning)
                get_settings.cache_clear()
                with served(tasks_api.create_app()) as tasks:
                    monkeypatch.setenv("TASKS_URL", tasks)
                    yield {"planning": planning, "tasks": tasks}
    finally:
        tasks_api._directory.clear()
        get_settings.cache_clear()


@pytest.fixture
def hanoi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Hà Nội onboarded; yields ``{"planning": url, "tasks": url}`` of the served APIs."""
    yield from _stack(tmp_path, monkeypatch, infrastructure=False)


@pytest.fixture
def hanoi_on_temporal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str, kafka_bootstrap: str
) -> Iterator[dict[str, str]]:
    """As :func:`hanoi`, onboarded with its namespace and topics on the session's Temporal
    and Tansu; the dict also holds ``"temporal"`` (``host:port``)."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    for urls in _stack(tmp_path, monkeypatch, infrastructure=True):
        yield {**urls, "temporal": temporal_address}
