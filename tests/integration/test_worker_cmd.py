"""``woms worker TENANT`` on the real Temporal dev server: it polls the tenant's namespace on
the monthly-cycle task queue until interrupted; bad tenants exit 2."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from typer.testing import CliRunner

from tests.support.processes import mini_home, running_woms, woms_env
from woms.cli import app
from woms.onboarding import namespace_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
QUEUE = "monthly-cycle"


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str, kafka_bootstrap: str
) -> Iterator[Path]:
    """``mini`` onboarded (databases, namespace ``woms-mini``) under a fresh ``WOMS_HOME``."""
    env = {"TEMPORAL_ADDRESS": temporal_address}
    with mini_home(tmp_path, monkeypatch, temporal_address, kafka_bootstrap, env) as path:
        yield path


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
    env = woms_env(home, TEMPORAL_ADDRESS=temporal_address)
    with running_woms(["worker", "mini"], env) as worker:
        for _ in range(120):  # the worker's first poll reaches the server within seconds
            if (
                asyncio.run(_pollers(temporal_address, "mini")) > 0
                or worker.proc.poll() is not None
            ):
                break
            time.sleep(0.5)
        assert worker.proc.poll() is None, worker.proc.communicate()
        assert asyncio.run(_pollers(temporal_address, "mini")) >= 1
    assert worker.returncode == 0, worker.err
    assert "woms-mini" in worker.out


@pytest.mark.parametrize(
    ("tenant", "message"),
    [("khong-co", "is not onboarded"), ("Bad Code", "tenant:")],
)
def test_unknown_or_invalid_tenant_exits_2(home: Path, tenant: str, message: str) -> None:
    result = CliRunner().invoke(app, ["worker", tenant])
    assert result.exit_code == 2, result.output
    assert message in result.output
