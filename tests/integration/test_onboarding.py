"""``woms tenant onboard``: both shipped tenants in one command each, idempotent, with their
Temporal namespace and Kafka topics on the real runtime."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from services.common.db import dispose_engines
from services.common.settings import Settings
from woms.onboarding import namespace_of, onboard

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.mark.parametrize("tenant", ["hanoi", "thanhhoa"])
def test_shipped_tenant_onboards_once_and_again_changes_nothing(
    tenant: str, tmp_path: Path, temporal_address: str, kafka_bootstrap: str
) -> None:
    settings = Settings(
        woms_home=tmp_path,
        temporal_address=temporal_address,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    path = ROOT / "data" / "tenants" / tenant / "tenant.yaml"
    first = onboard(path, settings)
    second = onboard(path, settings)
    dispose_engines()
    assert first.changed and first.planning["person.created"] >= 30
    assert not second.changed, second
    assert all(k.endswith(".unchanged") for k in second.planning)
    assert len(first.databases) == 4 and all(tenant in url for url in first.databases)

    async def describe() -> str:
        client = await Client.connect(temporal_address)
        info = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace_of(tenant))
        )
        return info.namespace_info.name

    assert asyncio.run(describe()) == f"woms-{tenant}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    assert {
        f"woms.{tenant}.{s}.events" for s in ("planning", "tasks", "evaluation", "reporting")
    } <= topics


def test_bad_tenant_file_exits_2_with_its_position(tmp_path: Path) -> None:
    bad = tmp_path / "tenant.yaml"
    text = (ROOT / "tests" / "fixtures" / "tenant_mini.yaml").read_text(encoding="utf-8")
    bad.write_text(
        text.replace("role: head, title: Bí thư", "role: boss, title: Bí thư"), encoding="utf-8"
    )
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if "boss" in row)
    woms = Path(sys.executable).with_name("woms")
    done = subprocess.run(
        [str(woms), "tenant", "onboard", str(bad), "--no-infrastructure"],
        capture_output=True,
        text=True,
        env={"WOMS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    assert f"{bad}:{line}:" in done.stderr and "role" in done.stderr
    assert not (tmp_path / "db").exists()  # nothing written
