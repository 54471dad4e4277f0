"""The code the manifests run, against the real embedded Temporal and Tansu: the onboarding
Job's wait for its KafkaTopics, and the readiness probe with Temporal and Kafka configured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from k8s_support import ROOT, find

from services.common.db import dispose_engines
from services.common.events import topic_for
from services.common.health import readiness_router
from services.common.settings import get_settings
from woms.onboarding import ensure_topics

pytestmark = pytest.mark.integration


def _wait_script(rendered: dict[str, list[dict[str, Any]]]) -> str:
    job = find(rendered["tenants/hanoi"], "Job", "onboard")
    (init,) = [
        c
        for c in job["spec"]["template"]["spec"]["initContainers"]
        if c["name"] == "wait-for-topics"
    ]
    assert init["command"] == ["python", "-c"]
    return init["args"][0]


def _run(
    script: str, tenant: str, bootstrap: str, timeout_s: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "WOMS_TENANT": tenant,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TOPICS_TIMEOUT_S": timeout_s,
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_onboard_job_waits_for_its_topics(
    rendered: dict[str, list[dict[str, Any]]], kafka_bootstrap: str
) -> None:
    script = _wait_script(rendered)
    tenant = "k8swait"
    missing = _run(script, tenant, kafka_bootstrap, "1")
    assert missing.returncode == 1
    assert topic_for(tenant, "planning") in missing.stderr
    ensure_topics(kafka_bootstrap, tenant)
    present = _run(script, tenant, kafka_bootstrap, "30")
    assert present.returncode == 0, present.stderr


@pytest.fixture
def ready_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str, kafka_bootstrap: str
) -> Iterator[TestClient]:
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.setenv("WOMS_TENANT", "hanoi")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    get_settings.cache_clear()
    app = FastAPI()
    app.include_router(readiness_router("evaluation"))
    try:
        yield TestClient(app)
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_ready_when_temporal_and_kafka_answer(ready_client: TestClient) -> None:
    answer = ready_client.get("/ready")
    assert (answer.status_code, answer.json()) == (
        200,
        {"status": "ready", "checks": {"database": True, "temporal": True, "kafka": True}},
    )
