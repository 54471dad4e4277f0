"""The cycle's worker process for the fault tests: the real workflows
(:mod:`workflows.monthly_cycle`) and the evaluation service's real activities on the tenant's
SQLite database under ``HOME``, fed by in-process people/ledger/relation sources generated as
``bench/cycle.py`` does (seeded).

Usage: ``python -m tests.faults.cycle_worker ADDRESS HOME QUEUE PEOPLE SEED``. Prints
``ready`` once polling; SIGTERM stops it cleanly, SIGKILL (the test's fault) anywhere.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client

from bench.cycle import ledger, people, relation, settings_for
from services.common.db import dispose_engines
from services.evaluation.activities import EvaluationActivities
from workflows.monthly_cycle.worker import build_worker

THREADS = 8


async def main(address: str, home: Path, queue: str, n: int, seed: int) -> None:
    refs, rel = people(n), relation(n)
    acts = EvaluationActivities(
        people_of=lambda tenant, period: refs,
        ledger_of=lambda tenant, person, period: ledger(seed, person),
        relation_of=lambda tenant, period: rel,
        settings=settings_for(home),
    )
    client = await Client.connect(address)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with ThreadPoolExecutor(THREADS) as pool:
        worker = build_worker(
            client,
            acts.all(),
            task_queue=queue,
            activity_executor=pool,
            max_concurrent_activities=THREADS,
        )
        async with worker:
            print("ready", flush=True)
            await stop.wait()
    dispose_engines()


if __name__ == "__main__":
    address, home, queue, n, seed = sys.argv[1:6]
    asyncio.run(main(address, Path(home), queue, int(n), int(seed)))
