"""CloudEvents 1.0 envelopes for WOMS domain events.

Every event carries its tenant (extension attribute ``tenant``) and a type of the form
``vn.woms.<service>.<entity>.<action>.v<version>``, e.g. ``vn.woms.planning.objective.approved.v1``.
The payload (``data``) is JSON. Consumers apply each event id once.

An event recorded inside a trace also carries ``traceparent`` (and ``tracestate`` when there
is one): the CloudEvents Distributed Tracing extension, W3C Trace Context values; both are left
out of the JSON when absent (:mod:`services.common.telemetry`).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TYPE_PATTERN = re.compile(r"^vn\.woms\.[a-z]+\.[a-z_]+\.[a-z_]+\.v[1-9][0-9]*$")


def event_type(service: str, entity: str, action: str, version: int = 1) -> str:
    """``vn.woms.<service>.<entity>.<action>.v<version>``.

    Raises:
        ValueError: a part is not lowercase letters/underscores, or version < 1.
    """
    value = f"vn.woms.{service}.{entity}.{action}.v{version}"
    if not TYPE_PATTERN.fullmatch(value):
        raise ValueError(f"invalid event type {value!r}")
    return value


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 JSON envelope (structured mode)."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str = Field(pattern=TYPE_PATTERN.pattern)
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    tenant: str
    data: dict[str, Any]
    #: CloudEvents Distributed Tracing extension (W3C ``traceparent`` / ``tracestate``)
    traceparent: str | None = Field(default=None, exclude_if=lambda v: v is None)
    tracestate: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @classmethod
    def of(
        cls,
        *,
        tenant: str,
        service: str,
        entity: str,
        action: str,
        subject: str,
        data: dict[str, Any],
        version: int = 1,
    ) -> CloudEvent:
        """Build an event of ``service`` about ``entity`` ``subject`` (its id)."""
        return cls(
            source=f"/woms/{tenant}/{service}",
            type=event_type(service, entity, action, version),
            subject=subject,
            tenant=tenant,
            data=data,
        )

    @property
    def service(self) -> str:
        """The emitting service (third part of the type)."""
        return self.type.split(".")[2]


def topic_for(tenant: str, service: str) -> str:
    """The Kafka topic of a tenant's service events: ``woms.<tenant>.<service>.events``."""
    return f"woms.{tenant}.{service}.events"
