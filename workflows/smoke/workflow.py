"""Smoke workflows: a long durable sleep and a trivial ping.

Like Temporal's samples-python, this module imports only ``temporalio`` and the
dataclass inputs; it touches no repository, model or I/O, so it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow


@dataclass(frozen=True)
class SleepInput:
    """Input of :class:`LongSleepWorkflow`.

    Attributes:
        tenant_id: tenant (unit) identifier, e.g. ``"ubnd-hanoi"``.
        idempotency_key: caller-chosen key, echoed in the result.
        days: how long to sleep, in whole days (>= 0).
    """

    tenant_id: str
    idempotency_key: str
    days: int


@workflow.defn
class LongSleepWorkflow:
    """Sleep ``input.days`` days on a durable timer, then report it."""

    @workflow.run
    async def run(self, input: SleepInput) -> str:
        """Return ``"<tenant_id>/<idempotency_key> slept <days> days"`` after the timer fires."""
        await workflow.sleep(timedelta(days=input.days))
        return f"{input.tenant_id}/{input.idempotency_key} slept {input.days} days"


@workflow.defn
class PingWorkflow:
    """Answer at once; proves a worker and a namespace are reachable."""

    @workflow.run
    async def run(self, input: SleepInput) -> str:
        """Return ``"pong <tenant_id>/<idempotency_key>"`` without any timer."""
        return f"pong {input.tenant_id}/{input.idempotency_key}"
