"""Traces and metrics of the reporting consumer (issue 8, ``docs/telemetry.md``).

A batch is applied in one transaction, so it gets one span, ``reporting.apply_batch`` (kind
CONSUMER, linked to every traced message's context); each message that arrived with a
``traceparent`` header (set by the outbox relay) also gets its own span ``apply <topic>``, a
child of that context, so the request that recorded the event, its database calls, the relay's
producer span and this span form one trace. Database statements of the batch are children of
the batch span. Nothing is recorded when telemetry is off.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from services.common import telemetry
from services.reporting.ingest import tenant_of_topic


@contextmanager
def apply_spans(records: Sequence[tuple[Any, Any]]) -> Iterator[None]:
    """Spans around applying ``records`` (``(TopicPartition, ConsumerRecord)`` pairs, records
    with ``topic``, ``partition``, ``offset``, ``headers``); the block runs inside the batch
    span. An exception leaving the block (a failed transaction, or a batch rolled back while
    a rebuild holds the consumer) marks the spans ERROR and is re-raised."""
    current = telemetry.active()
    if current is None or not current.enabled:
        yield
        return
    tracer = telemetry.get_tracer(__name__)
    traced = []
    for _, record in records:
        parent = telemetry.context_of_headers(getattr(record, "headers", None))
        if parent is not None:
            traced.append((record, parent))
    links = [Link(trace.get_current_span(ctx).get_span_context()) for _, ctx in traced]
    spans = [
        tracer.start_span(
            f"apply {record.topic}",
            context=ctx,
            kind=SpanKind.CONSUMER,
            attributes=_attributes(record),
        )
        for record, ctx in traced
    ]
    tenants = ",".join(sorted({t for _, r in records if (t := tenant_of_topic(r.topic))}))
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.batch.message_count": len(records),
    }
    if tenants:
        attributes[telemetry.TENANT_ATTRIBUTE] = tenants
    batch = tracer.start_span(
        "reporting.apply_batch", kind=SpanKind.CONSUMER, links=links, attributes=attributes
    )
    try:
        with trace.use_span(batch, end_on_exit=False, record_exception=False):
            yield
    except BaseException as error:
        for span in [batch, *spans]:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        for span in [batch, *spans]:
            span.end()


def _attributes(record: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
    }
    tenant = tenant_of_topic(record.topic)
    if tenant is not None:
        attributes[telemetry.TENANT_ATTRIBUTE] = tenant
    return attributes


def observe_lag(lag: Any) -> None:
    """Register the ``woms.reporting.consumer.lag`` gauge (records not yet applied, per topic
    and partition), read from ``lag()`` — a mapping ``(topic, partition) → records`` such as
    the last value of :meth:`ReportingConsumer.lag` kept by the consumer's loop (the Kafka
    client is not thread-safe: never call the consumer from the gauge's thread)."""
    telemetry.observe_gauge(
        "woms.reporting.consumer.lag",
        lambda: [
            (n, {"messaging.destination.name": topic, "messaging.destination.partition.id": str(p)})
            for (topic, p), n in lag().items()
        ],
        unit="{record}",
        description="Records of the tenants' topics not yet applied by the reporting consumer",
    )
