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

Publish verification (:class:`PublishVerifier`, issue 9, ``docs/faults.md``): a broker that
loses records it acknowledged (measured: Tansu 0.6 on S3, SIGKILLed and restarted, answers
some produce requests after its restart with no offset, ``-1``, and those records are missing
from its log or overwritten by later ones) would leave events marked published that no
consumer will ever see. With a verifier, :func:`relay_once` remembers where each acknowledged
event landed (topic, partition, offset, event id); an acknowledgement without an offset is not
a confirmation (the event stays unpublished and is sent again); and after a broker failure
(and every 30 s for what was acknowledged since) the relay reads the remembered offsets back
and marks every event whose offset no longer holds it as unpublished again, so it is re-sent
(consumers deduplicate by event id).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

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


def relay_once(
    engine: Engine,
    table: Table,
    producer: Producer,
    limit: int = 500,
    verifier: PublishVerifier | None = None,
) -> int:
    """Publish up to ``limit`` pending events to their tenant's topic and mark them published.

    At least once: if the process dies after sending and before marking, the events are sent
    again; consumers deduplicate by event id.

    With ``verifier`` (:class:`PublishVerifier`): first, when a verification is due (after a
    broker failure, or the periodic one), the recently acknowledged events are read back and
    the lost ones marked unpublished again; then an acknowledgement without an offset
    (``RecordMetadata.offset`` < 0) leaves its event unpublished (sent again next time) and
    schedules a verification, as does a :class:`kafka.errors.KafkaError`; the confirmed
    events are remembered.

    Returns:
        the number of events published (confirmed ones only, with ``verifier``).

    Raises:
        kafka.errors.KafkaError: the broker did not acknowledge (nothing is marked), or the
            verification could not read the broker (it is tried again on the next call).
    """
    if verifier is not None:
        verifier.verify_if_due()
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
    acknowledged: list[Sent] = []
    unconfirmed: set[str] = set()
    try:
        with spans:
            producer.flush(timeout=30)
            for event, future in zip(events, futures, strict=True):
                get = getattr(future, "get", None)
                if get is None:
                    continue
                metadata = get(timeout=30)  # raises when the broker refused
                offset = getattr(metadata, "offset", None)
                if verifier is None or not isinstance(offset, int):
                    continue
                if offset < 0:  # acknowledged without an offset: not a confirmation
                    unconfirmed.add(event.id)
                else:
                    acknowledged.append(Sent(metadata.topic, metadata.partition, offset, event.id))
    except Exception:
        if verifier is not None:
            verifier.broker_failed()
        raise
    published = [e.id for e in events if e.id not in unconfirmed]
    if published:
        with Session(engine) as session, session.begin():
            session.execute(
                update(table)
                .where(table.c.event_id.in_(published))
                .values(published_at=datetime.now(UTC))
            )
    if verifier is not None:
        verifier.acknowledged(engine, table, acknowledged)
        if unconfirmed:
            verifier.broker_failed()
    return len(published)


class Sent(NamedTuple):
    """Where the broker said an event landed: ``topic``, ``partition``, ``offset``
    (from the producer's ``RecordMetadata``) and the CloudEvent id ``event_id``."""

    topic: str
    partition: int
    offset: int
    event_id: str


def lost(sent: Iterable[Sent], found: Mapping[tuple[str, int, int], str]) -> list[Sent]:
    """The acknowledged records the broker no longer holds.

    Args:
        sent: records acknowledged at ``(topic, partition, offset)``.
        found: what reading the broker back gave, ``(topic, partition, offset)`` → event id
            (offsets absent from the log are absent from the mapping).

    Returns:
        the records of ``sent`` whose offset is missing from ``found`` or holds another event
        (overwritten: the broker reused the offset), in ``sent``'s order.
    """
    return [s for s in sent if found.get((s.topic, s.partition, s.offset)) != s.event_id]


@dataclass
class _Remembered:
    sent: Sent
    engine: Engine
    table: Table
    at: float


class PublishVerifier:
    """Read back what the broker acknowledged after a broker failure, re-queue what it lost.

    Kept in the relay's memory: the records acknowledged in the last ``window_s`` seconds,
    at most ``max_records`` (the oldest dropped first). A failure (:meth:`broker_failed`:
    a :class:`kafka.errors.KafkaError` while publishing, or an acknowledgement without an
    offset) schedules two verifications: at the next relay call (the broker answers again)
    and ``settle_s`` seconds later (a restarted broker may overwrite offsets it had already
    handed out with the next writes). A verification reads every remembered partition from
    its lowest remembered offset, with a consumer that has no group (``assign``/``seek``),
    and marks each record :func:`lost` as unpublished again (``published_at`` NULL) in its
    outbox. The producer does not always show a broker restart (it reconnects and retries by
    itself: in 4 of 20 measured restarts the relay saw neither an error nor an acknowledgement
    without offset), so every ``check_every_s`` seconds the records acknowledged since the
    previous verification are read back too (each record is read back at least once).

    Limit: the memory dies with the relay: a relay restarted at the same time as the broker
    does not verify what it sent before.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        window_s: float = 300.0,
        max_records: int = 100_000,
        settle_s: float = 5.0,
        read_timeout_s: float = 60.0,
        idle_polls: int = 4,
        check_every_s: float | None = 30.0,
        connect_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.window_s = window_s
        self.settle_s = settle_s
        self.read_timeout_s = read_timeout_s
        self.idle_polls = idle_polls
        self._clock = clock
        self._records: deque[_Remembered] = deque(maxlen=max_records)
        self._due: list[float] = []
        self.check_every_s = check_every_s
        self.connect_timeout_s = connect_timeout_s
        self._last_check = clock()
        #: every record acknowledged before this time was read back at least once
        self._checked_until = float("-inf")
        #: counters: ``verifications`` run, events ``requeued``
        self.stats = {"verifications": 0, "requeued": 0}

    def acknowledged(self, engine: Engine, table: Table, sent: Sequence[Sent]) -> None:
        """Remember ``sent``, just marked published in ``table`` of ``engine``."""
        now = self._clock()
        self._records.extend(_Remembered(s, engine, table, now) for s in sent)

    def broker_failed(self) -> None:
        """A broker failure: verify at the next call and again ``settle_s`` later."""
        now = self._clock()
        self._due = [now, now + self.settle_s]

    def scheduled(self) -> bool:
        """Whether a verification is still to run (due now or later)."""
        return bool(self._due)

    def verify_if_due(self) -> int:
        """Run :meth:`verify` when a scheduled verification is due (every remembered record),
        else when ``check_every_s`` passed since the last one (the records acknowledged since);
        the number of events re-queued."""
        now = self._clock()
        if self._due and now >= self._due[0]:
            requeued = self.verify()  # raises while the broker does not answer: stays due
            self._due.pop(0)
            return requeued
        if self.check_every_s is not None and now - self._last_check >= self.check_every_s:
            requeued = self.verify(since=self._checked_until)
            self._last_check = now
            return requeued
        return 0

    def verify(self, since: float | None = None) -> int:
        """Read the remembered records back (those acknowledged at or after ``since``, a
        ``clock`` time; all when None) and mark the lost ones unpublished.

        Returns:
            the number of events marked unpublished again.

        Raises:
            kafka.errors.KafkaError: the broker could not be read (nothing is changed).
        """
        from kafka import KafkaConsumer, TopicPartition

        started = self._clock()
        horizon = started - self.window_s
        while self._records and self._records[0].at < horizon:
            self._records.popleft()
        checked = [r for r in self._records if since is None or r.at >= since]
        if not checked:
            self._checked_until = started
            return 0
        self.stats["verifications"] += 1
        wanted: dict[tuple[str, int], tuple[int, int]] = {}
        for r in checked:
            key = (r.sent.topic, r.sent.partition)
            low, high = wanted.get(key, (r.sent.offset, r.sent.offset))
            wanted[key] = (min(low, r.sent.offset), max(high, r.sent.offset))
        reader = KafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            client_id="woms-relay-verify",
            bootstrap_timeout_ms=int(self.connect_timeout_s * 1000),  # else NoBrokersAvailable
        )
        found: dict[tuple[str, int, int], str] = {}
        try:
            parts = {TopicPartition(t, p): span for (t, p), span in wanted.items()}
            reader.assign(list(parts))
            for tp, (low, _) in parts.items():
                reader.seek(tp, low)
            deadline, idle = self._clock() + self.read_timeout_s, 0
            open_parts = set(parts)
            while open_parts and idle < self.idle_polls and self._clock() < deadline:
                batch = reader.poll(timeout_ms=500)
                idle = 0 if batch else idle + 1
                for tp, records in batch.items():
                    for record in records:
                        found[(tp.topic, tp.partition, record.offset)] = _event_id(record.value)
                    if records and records[-1].offset >= parts[tp][1]:
                        open_parts.discard(tp)
        finally:
            reader.close()
        self._checked_until = started
        gone = lost([r.sent for r in checked], found)
        if gone:
            ids = {s.event_id for s in gone}
            outboxes: dict[tuple[int, int], tuple[Engine, Table, list[str]]] = {}
            for r in checked:
                if r.sent.event_id in ids:
                    key = (id(r.engine), id(r.table))
                    outboxes.setdefault(key, (r.engine, r.table, []))[2].append(r.sent.event_id)
            for engine, table, event_ids in outboxes.values():
                with Session(engine) as session, session.begin():
                    session.execute(
                        update(table)
                        .where(table.c.event_id.in_(event_ids))
                        .values(published_at=None)
                    )
            self._records = deque(
                (r for r in self._records if r.sent.event_id not in ids),
                maxlen=self._records.maxlen,
            )
            self.stats["requeued"] += len(ids)
        return len(gone)


def _event_id(value: bytes | None) -> str:
    """The CloudEvent id of a record's value; ``""`` when it is not a CloudEvent."""
    try:
        return str(json.loads(value or b"")["id"])
    except (ValueError, KeyError, TypeError):
        return ""


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
