"""The evaluation API's side of Temporal: signals to a person's month, the ``state`` and
``progress`` queries, and starting a tenant's month (DOMAIN.md §6, ``001 §IV.1``).

One Temporal client per tenant namespace (``woms-<tenant>``,
:func:`services.common.tenancy.namespace_of`) and per event loop, connected on first use to
``TEMPORAL_ADDRESS`` or, when none is set, to the embedded dev server recorded by
``woms dev up``.

Delivery of a step's signal (the API calls it after the step's transaction has committed):

* ``sent`` — the person's workflow (``{tenant}:evaluation:{person}:{period}``) received it;
* ``not_running`` — no workflow runs for that id (API-only use, the month not started, or
  already finished): not an error, the stored step is the record;
* ``pending`` — Temporal could not be reached (connection refused, timeout, unavailable):
  the stored step stands; the caller repeats the same request to re-send the signal (the
  workflow keeps the first payload of a step, so a repeat is harmless).

Errors: :class:`TemporalUnavailable` from the queries and :meth:`CycleGateway.start_cycle`
when Temporal cannot be reached (the API answers 503).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import asdict, dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from services.common import runtime
from services.common.settings import Settings, get_settings
from services.common.telemetry import temporal_interceptors
from services.common.tenancy import namespace_of
from workflows.monthly_cycle.inputs import (
    DEFAULT_SHARD_SIZE,
    CycleCalendar,
    CycleInput,
    CycleProgress,
    PersonState,
    cycle_workflow_id,
    person_workflow_id,
)
from workflows.monthly_cycle.worker import TASK_QUEUE, start_cycle

#: Signals of :class:`workflows.monthly_cycle.person.PersonEvaluationWorkflow`.
SELF_ASSESSED, REVIEWED, DECIDED = "self_assessed", "reviewed", "decided"
APPEALED, APPEAL_ANSWERED = "appealed", "appeal_answered"
#: Seconds allowed to connect and for one call (signal, query, start).
DEFAULT_TIMEOUT_S = 5.0


class Delivery(StrEnum):
    """What became of a signal (see the module notes)."""

    SENT = "sent"
    NOT_RUNNING = "not_running"
    PENDING = "pending"


class TemporalUnavailable(Exception):
    """Temporal could not be reached (or did not answer in time)."""


@dataclass(frozen=True)
class CycleRun:
    """A tenant's month on Temporal: workflow id, run id, status name (e.g. ``RUNNING``)."""

    workflow_id: str
    run_id: str | None
    status: str | None


def temporal_address(settings: Settings | None = None) -> str | None:
    """``TEMPORAL_ADDRESS``, else the embedded dev server's address recorded under
    ``WOMS_HOME`` (``woms dev up``), else ``None``."""
    settings = settings or get_settings()
    if settings.temporal_address:
        return settings.temporal_address
    try:
        state = runtime.read_state(settings.woms_home)
    except RuntimeError:
        return None
    if state is None or "temporal" not in state.components:
        return None
    return state.address("temporal")


def _not_found(exc: BaseException) -> bool:
    return isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND


class CycleGateway:
    """Signals, queries and cycle starts in the tenants' namespaces.

    Args:
        address: Temporal ``host:port``; ``None`` resolves :func:`temporal_address` at each
            connection (so an embedded server started later is found).
        task_queue: task queue of the monthly cycle (its worker's).
        timeout_s: seconds allowed to connect and for each call.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        task_queue: str = TASK_QUEUE,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._address = address
        self.task_queue = task_queue
        self._timeout = timedelta(seconds=timeout_s)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Client]] = (
            weakref.WeakKeyDictionary()
        )

    async def client(self, tenant: str) -> Client:
        """The client of ``tenant``'s namespace for the running event loop.

        Raises:
            TemporalUnavailable: no address is known, or the connection failed or timed out.
        """
        namespace = namespace_of(tenant)
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        if namespace in clients:
            return clients[namespace]
        address = self._address or temporal_address()
        if address is None:
            raise TemporalUnavailable("no Temporal address (TEMPORAL_ADDRESS or woms dev up)")
        try:
            client = await asyncio.wait_for(
                Client.connect(address, namespace=namespace, interceptors=temporal_interceptors()),
                self._timeout.total_seconds(),
            )
        except (TimeoutError, RuntimeError, RPCError) as exc:
            raise TemporalUnavailable(f"{address}: {exc}") from exc
        clients[namespace] = client
        return client

    async def signal(
        self, tenant: str, person: str, period: str, name: str, payload: Any
    ) -> Delivery:
        """Send signal ``name`` with ``payload`` to ``person``'s month; never raises for an
        absent workflow (``NOT_RUNNING``) or an unreachable Temporal (``PENDING``)."""
        try:
            client = await self.client(tenant)
            handle = client.get_workflow_handle(person_workflow_id(tenant, person, period))
            await handle.signal(name, payload, rpc_timeout=self._timeout)
        except TemporalUnavailable:
            return Delivery.PENDING
        except RPCError as exc:
            return Delivery.NOT_RUNNING if _not_found(exc) else Delivery.PENDING
        return Delivery.SENT

    async def _query(self, tenant: str, workflow_id: str, query: str, result_type: type) -> Any:
        client = await self.client(tenant)
        try:
            return await client.get_workflow_handle(workflow_id).query(
                query, result_type=result_type, rpc_timeout=self._timeout
            )
        except RPCError as exc:
            if _not_found(exc):
                return None
            raise TemporalUnavailable(f"{workflow_id}: {exc}") from exc

    async def person_state(self, tenant: str, person: str, period: str) -> dict[str, Any] | None:
        """The ``state`` query of ``person``'s month as a dict (``PersonState``), or ``None``
        when there is no such workflow.

        Raises:
            TemporalUnavailable: Temporal unreachable, or no worker answered in time.
        """
        wid = person_workflow_id(tenant, person, period)
        state = await self._query(tenant, wid, "state", PersonState)
        return None if state is None else asdict(state)

    async def progress(self, tenant: str, period: str) -> dict[str, Any] | None:
        """The ``progress`` query of the tenant's month (``CycleProgress``: total, started,
        by_step, late, not_evaluated), or ``None`` when no cycle exists for ``period``.

        Raises:
            TemporalUnavailable: Temporal unreachable, or no worker answered in time.
        """
        wid = cycle_workflow_id(tenant, period)
        progress = await self._query(tenant, wid, "progress", CycleProgress)
        return None if progress is None else asdict(progress)

    async def start_cycle(self, tenant: str, period: str, calendar: CycleCalendar) -> CycleRun:
        """Start the tenant's month once (:func:`workflows.monthly_cycle.worker.start_cycle`):
        a second call returns the same run.

        Raises:
            TemporalUnavailable: Temporal unreachable (or the namespace missing).
        """
        client = await self.client(tenant)
        wid = cycle_workflow_id(tenant, period)
        cycle = CycleInput(tenant, period, wid, calendar, shard_size=DEFAULT_SHARD_SIZE)
        try:
            handle = await asyncio.wait_for(
                start_cycle(client, cycle, self.task_queue), self._timeout.total_seconds()
            )
            described = await handle.describe(rpc_timeout=self._timeout)
        except (TimeoutError, RPCError) as exc:
            raise TemporalUnavailable(f"{wid}: {exc}") from exc
        status = described.status.name if described.status is not None else None
        return CycleRun(workflow_id=wid, run_id=described.run_id, status=status)
