"""Real round-trips to Temporal (gRPC) and Kafka (protocol), and tenant namespaces.

The synchronous probes call :func:`asyncio.run`; do not call them from a running loop.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


def release_clients() -> None:
    """Free dropped Temporal clients while the event loop still runs: a client collected at
    interpreter exit can abort a short-lived process ("PyGILState_Release",
    temporalio/sdk-python#300). Call it after ``del client`` inside the coroutine."""
    gc.collect()


async def temporal_answers_async(address: str, timeout_s: float = 3.0) -> bool:
    """True when the Temporal frontend at ``host:port`` connects and reports healthy.

    Never raises: any failure or a round-trip slower than ``timeout_s`` gives False.
    """
    client: Client | None = None
    try:
        async with asyncio.timeout(timeout_s):
            client = await Client.connect(address)
            return await client.service_client.check_health()
    except Exception:
        return False
    finally:
        del client
        release_clients()


def temporal_answers(address: str, timeout_s: float = 3.0) -> bool:
    """Synchronous :func:`temporal_answers_async`."""
    return asyncio.run(temporal_answers_async(address, timeout_s))


def kafka_answers(bootstrap_servers: str, timeout_s: float = 3.0) -> bool:
    """True when a Kafka broker at ``bootstrap_servers`` (``"h:p[,h:p]"``) answers metadata.

    Never raises: a failed bootstrap or request within ``timeout_s`` seconds gives False.
    """
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers.split(","),
            client_id="woms-probe",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


async def ensure_namespace(
    address: str, namespace: str, retention: timedelta = timedelta(days=30)
) -> bool:
    """Create Temporal ``namespace`` at ``address`` unless it exists (idempotent).

    Args:
        address: frontend ``host:port``.
        namespace: namespace name, one per tenant (e.g. ``"woms-ubnd-hanoi"``).
        retention: how long closed workflow histories are kept (>= 1 day on servers).

    Returns:
        True when created now, False when it already existed. On a multi-node cluster
        a new namespace may need a few seconds before workers can poll it.

    Raises:
        RuntimeError: when the server cannot be reached.
        temporalio.service.RPCError: on any refusal other than "already exists".
    """
    client = await Client.connect(address)
    request = RegisterNamespaceRequest(
        namespace=namespace,
        workflow_execution_retention_period=Duration(seconds=int(retention.total_seconds())),
    )
    try:
        await client.workflow_service.register_namespace(request)
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return False
        raise
    finally:
        del client
        release_clients()
    return True
