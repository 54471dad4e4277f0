"""``woms worker TENANT`` on the real Temporal dev server: it polls the tenant's namespace on
the monthly-cycle task queue until interrupted; bad tenants exit 2."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from typer.testing import CliRunner

from services.common.db import dispose_engines
from services.common.settings import Settings, get_settings
from woms.cli import app
from woms.onboarding import namespace_of, onboard

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
QUEUE = "monthly-cycle"


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str, kafka_bootstrap: str
) -> Iterator[Path]:
    """``mini`` onboarded (databases, namespace ``woms-mini``) under a fresh ``WOMS_HOME``."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    settings = Settings(
        woms_home=tmp_path,
        temporal_address=temporal_address,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    onboard(ROOT / "tests" / "fixtures" / "tenant_mini.yaml", settings)
    try:
        yield tmp_path
    finally:
        dispose_engines()
        get_settings.cache_clear()


async def _pollers(address: str, tenant: str) -> int:
    client = await Client.connect(address, namespace=namespace_of(tenant))
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace_of(tenant),
            task_queue=TaskQueue(name=QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(answer.pollers)


def test_worker_polls_the_tenant_namespace_until_interrupted(
    home: Path, temporal_address: str
) -> None:
    assert asyncio.run(_pollers(temporal_address, "mini")) == 0
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(WOMS_HOME=str(home), TEMPORAL_ADDRESS=temporal_address)
    proc = subprocess.Popen(
        [sys.executable, "-m", "woms.cli", "worker", "mini"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(120):  # the worker's first poll reaches the server within seconds
            if asyncio.run(_pollers(temporal_address, "mini")) > 0 or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        assert asyncio.run(_pollers(temporal_address, "mini")) >= 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "woms-mini" in out


@pytest.mark.parametrize(
    ("tenant", "message"),
    [("khong-co", "is not onboarded"), ("Bad Code", "tenant:")],
)
def test_unknown_or_invalid_tenant_exits_2(home: Path, tenant: str, message: str) -> None:
    result = CliRunner().invoke(app, ["worker", tenant])
    assert result.exit_code == 2, result.output
    assert message in result.output
