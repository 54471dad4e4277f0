"""Transactional outbox: events are written in the same transaction as the change, then relayed
to Kafka in order, at least once.

Each service declares the table in its own metadata with :func:`outbox_table`; use cases call
:func:`record` inside their transaction; :func:`relay_once` (run by the relay process or a
test) publishes unpublished rows in sequence order, keyed by aggregate id so each aggregate's
events stay ordered in one partition, and marks them published only after the broker
acknowledged them.

Tracing (:mod:`services.common.telemetry`): :func:`record` stores the current trace context in
the event (``traceparent``); :func:`relay_once` sends each traced event in a producer span, a
child of that context, whose own context travels in the Kafka headers (``traceparent``,
``baggage`` with the tenant), so the consumer's span joins the same trace.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import baggage, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common import telemetry
from services.common.events import CloudEvent, topic_for

OUTBOX = "outbox"


def outbox_table(metadata: MetaData) -> Table:
    """The ``outbox`` table in ``metadata``: ``seq`` (order), ``event_id`` (CloudEvent id,
    unique), ``aggregate``, ``type``, ``body`` (the CloudEvent JSON), ``created_at``,
    ``published_at`` (null until relayed)."""
    return Table(
        OUTBOX,
        metadata,
        Column(
            "seq",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("aggregate", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
    )


def record(session: Session, table: Table, event: CloudEvent) -> None:
    """Add ``event`` to the outbox within ``session``'s current transaction; inside a trace,
    the stored event carries its ``traceparent`` (CloudEvents Distributed Tracing)."""
    if event.traceparent is None:
        traceparent, tracestate = telemetry.current_traceparent()
        if traceparent is not None:
            event = event.model_copy(update={"traceparent": traceparent, "tracestate": tracestate})
    session.execute(
        insert(table).values(
            event_id=event.id,
            aggregate=event.subject,
            type=event.type,
            body=event.model_dump_json(),
            created_at=event.time,
        )
    )


class Producer(Protocol):
    """The part of ``kafka.KafkaProducer`` the relay uses."""

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> object: ...

    def flush(self, timeout: float | None = None) -> None: ...


def pending(session: Session, table: Table, limit: int = 500) -> list[CloudEvent]:
    """Unpublished events, oldest first."""
    rows = session.execute(
        select(table.c.body)
        .where(table.c.published_at.is_(None))
        .order_by(table.c.seq)
        .limit(limit)
    ).scalars()
    return [CloudEvent.model_validate_json(body) for body in rows]


def backlog(session: Session, table: Table) -> int:
    """How many events are waiting to be relayed (the ``woms.outbox.backlog`` gauge)."""
    count = select(func.count()).select_from(table).where(table.c.published_at.is_(None))
    return int(session.execute(count).scalar_one())


def relay_once(engine: Engine, table: Table, producer: Producer, limit: int = 500) -> int:
    """Publish up to ``limit`` pending events to their tenant's topic and mark them published.

    At least once: if the process dies after sending and before marking, the events are sent
    again; consumers deduplicate by event id.

    Returns:
        the number of events published.

    Raises:
        kafka.errors.KafkaError: the broker did not acknowledge (nothing is marked).
    """
    with Session(engine) as session:
        events = pending(session, table, limit)
    if not events:
        return 0
    spans = _ProducerSpans()
    futures = [
        producer.send(
            topic_for(e.tenant, e.service),
            value=e.model_dump_json().encode(),
            key=e.subject.encode(),
            **spans.start(e),
        )
        for e in events
    ]
    with spans:
        producer.flush(timeout=30)
        for future in futures:
            get = getattr(future, "get", None)
            if get is not None:
                get(timeout=30)  # raises when the broker refused
    with Session(engine) as session, session.begin():
        session.execute(
            update(table)
            .where(table.c.event_id.in_([e.id for e in events]))
            .values(published_at=datetime.now(UTC))
        )
    return len(events)


def decode(message_value: bytes) -> CloudEvent:
    """A CloudEvent from a Kafka message value."""
    return CloudEvent.model_validate(json.loads(message_value))


class _ProducerSpans:
    """The relay's producer spans: one per traced event (``send <topic>``, kind PRODUCER, a
    child of the event's ``traceparent``), ended when the broker acknowledged (or refused:
    status ERROR). Events without ``traceparent`` are sent without span or headers."""

    def __init__(self) -> None:
        self._spans: list[Any] = []

    def start(self, event: CloudEvent) -> dict[str, Any]:
        """Start ``event``'s span; the ``send`` keyword arguments carrying its context."""
        if event.traceparent is None:
            return {}
        topic = topic_for(event.tenant, event.service)
        parent = telemetry.context_of_traceparent(event.traceparent, event.tracestate)
        span = telemetry.get_tracer(__name__).start_span(
            f"send {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.kafka.message.key": event.subject,
                "cloudevents.event_id": event.id,
                "cloudevents.event_type": event.type,
                telemetry.TENANT_ATTRIBUTE: event.tenant,
            },
        )
        self._spans.append(span)
        ctx = baggage.set_baggage(
            telemetry.TENANT_ATTRIBUTE, event.tenant, trace.set_span_in_context(span, parent)
        )
        return {"headers": telemetry.kafka_headers(ctx)}

    def __enter__(self) -> _ProducerSpans:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        for span in self._spans:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
