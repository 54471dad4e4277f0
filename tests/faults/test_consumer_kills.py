"""Issue 9, faults: ``woms reporting consume`` SIGKILLed mid-stream 20 times (seeded random
points) and restarted each time — no event is applied twice or lost: every published event is
in the processed-ids table once, and the read models equal a direct computation from the tasks
service's database (`docs/faults.md`).

Counterpart of ``test_a_consumer_killed_mid_stream_and_restarted_counts_nothing_twice`` (one
kill) in ``tests/integration/test_reporting_pipeline.py``; both use ``tests/support/pipeline.py``.

Every kill must land before the stream ends, whatever the machine's speed: before each life the
test keeps a reserve of unread events of at least three times the most any life applied so far
(and at least ``RESERVE`` events), driving and relaying more tasks when the reserve runs low.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from services.common.db import create_engine_for_url
from services.reporting.consumer import tenants_pattern
from tests.support.pipeline import (
    ROOT,
    TenantDbs,
    consume_command,
    drive_tasks,
    expected_tasks,
    processed,
    projected_tasks,
    relay_all,
    tenant_dbs,
)

pytestmark = pytest.mark.integration

KILLS = int(os.environ.get("WOMS_FAULT_CONSUMER_KILLS", "20"))
#: tasks driven before the first life (≈ 3.3 events each), then per top-up
TASKS = int(os.environ.get("WOMS_FAULT_CONSUMER_TASKS", "3000"))
CHUNK = 1000
#: unread events kept before each life, at least
RESERVE = 3000
SEED = 909


def _seen(engine: object, tenant: str) -> int:
    try:
        return processed(engine, tenant)  # type: ignore[arg-type]
    except OperationalError:  # the reporting database is not migrated yet
        return 0


class Stream:
    """The tenant's tasks events on the broker: driven and relayed in chunks."""

    def __init__(self, dbs: TenantDbs, bootstrap: str) -> None:
        self.dbs, self.bootstrap = dbs, bootstrap
        self.tasks = self.published = 0

    def add(self, count: int) -> None:
        drive_tasks(self.dbs, seed=SEED + self.tasks, count=count, first=self.tasks + 1)
        self.tasks += count
        self.published += relay_all(self.dbs, self.bootstrap)


@pytest.mark.timeout(1800)
def test_a_consumer_killed_20_times_mid_stream_applies_every_event_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Each round starts the consumer, waits until it has applied at least one more event than
    before (so every kill lands mid-stream, after a commit), sleeps a seeded random 0–50 ms
    and SIGKILLs it; a final run ``--until-caught-up`` finishes the stream."""
    rng = random.Random(SEED)
    dbs = tenant_dbs(tmp_path, kafka_bootstrap, 9)
    stream = Stream(dbs, kafka_bootstrap)
    stream.add(TASKS)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "WOMS_HOME": str(home),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": "sqlite:///{home}/db/{tenant}/{service}.sqlite3",
    }
    command = consume_command(f"kills-{dbs.code}", tenants_pattern([dbs.code]))
    engine = create_engine_for_url(f"sqlite:///{home / 'db/platform/reporting.sqlite3'}")
    progress: list[int] = []
    lives: list[int] = []  # events applied by each life
    try:
        for _ in range(KILLS):
            before = _seen(engine, dbs.code)
            while stream.published - before < max(RESERVE, 3 * max(lives, default=0)):
                stream.add(CHUNK)  # no consumer runs now: the stream only grows
            victim = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            try:
                deadline = time.monotonic() + 120
                while _seen(engine, dbs.code) <= before:
                    assert victim.poll() is None, victim.stderr.read() if victim.stderr else ""
                    assert time.monotonic() < deadline, (
                        f"the consumer applied nothing in 120 s: {progress} of {stream.published}"
                    )
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.05))
            finally:
                victim.kill()
                victim.wait(timeout=30)
                if victim.stderr:
                    victim.stderr.close()
            progress.append(_seen(engine, dbs.code))
            lives.append(progress[-1] - before)
        published = stream.published
        print(f"{stream.tasks} tasks, {published} events; applied per life {lives}")
        assert len(progress) == KILLS
        assert all(n > 0 for n in lives)  # each kill after a commit
        assert progress == sorted(progress) and progress[-1] < published, (
            f"every kill mid-stream: {progress} of {published}"
        )

        finished = subprocess.run(
            [*command, "--until-caught-up"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert finished.returncode == 0, finished.stderr
        assert processed(engine, dbs.code) == published
        assert projected_tasks(engine, dbs) == expected_tasks(dbs)
    finally:
        engine.dispose()
