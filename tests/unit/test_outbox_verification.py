"""Publish verification of the outbox relay (issue 9, ``docs/faults.md``): the decision which
acknowledged records a broker lost (:func:`services.common.outbox.lost`), the verifier's
schedule and what :func:`~services.common.outbox.relay_once` does with an acknowledgement
without an offset — and, on the session's real broker, a verification that reads the
remembered offsets back and re-queues the event an offset no longer holds.

A real broker cannot be made to lose a record on demand; the read-back test therefore tells
the verifier that an event landed at an offset that holds another one (as after the
overwrite measured with Tansu 0.6), and the broker-restart scenario
(``tests/faults/test_broker_restart.py``) covers the real loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Engine, MetaData, Table, create_engine, select, update
from sqlalchemy.orm import Session

from services.common.events import CloudEvent, topic_for
from services.common.outbox import PublishVerifier, Sent, lost, outbox_table, record, relay_once
from woms.onboarding import ensure_topics

T = "woms.hanoi.tasks.events"


def test_a_record_is_lost_when_its_offset_is_missing_or_holds_another_event() -> None:
    sent = [
        Sent(T, 0, 10, "a"),  # still there
        Sent(T, 0, 11, "b"),  # overwritten by "x"
        Sent(T, 1, 10, "c"),  # offset gone (same offset, another partition holds "c")
        Sent(T, 2, 5, "d"),  # still there
        Sent("other", 0, 10, "e"),  # another topic: its offset was not read back
    ]
    found = {(T, 0, 10): "a", (T, 0, 11): "x", (T, 2, 5): "d", (T, 2, 10): "c"}
    assert lost(sent, found) == [sent[1], sent[2], sent[4]]
    assert lost(sent[:1] + sent[3:4], found) == []
    assert lost([], found) == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_broker_failure_schedules_a_verification_now_and_one_after_settling() -> None:
    clock = Clock()
    verifier = PublishVerifier("127.0.0.1:1", settle_s=5.0, clock=clock)
    assert not verifier.scheduled()
    assert verifier.verify_if_due() == 0
    verifier.broker_failed()
    assert verifier.scheduled()
    # nothing remembered: the verification has nothing to read and never calls the broker
    assert verifier.verify_if_due() == 0
    assert verifier.scheduled()  # the second one, settle_s later
    clock.now += 4.9
    assert verifier.verify_if_due() == 0 and verifier.scheduled()
    clock.now += 0.1
    assert verifier.verify_if_due() == 0
    assert not verifier.scheduled()
    assert verifier.stats == {"verifications": 0, "requeued": 0}


def test_records_acknowledged_since_the_last_check_are_read_back_every_check_every_s() -> None:
    clock = Clock()
    engine, table = _outbox()
    verifier = PublishVerifier(
        "127.0.0.1:1", check_every_s=30.0, connect_timeout_s=0.5, clock=clock
    )
    verifier.acknowledged(engine, table, [Sent(T, 0, 1, "a")])
    clock.now += 29.9
    assert verifier.verify_if_due() == 0  # not yet: the broker is not asked
    clock.now += 0.1
    with pytest.raises(KafkaError):  # now it reads back (and nothing answers on port 1)
        verifier.verify_if_due()
    quiet = PublishVerifier("127.0.0.1:1", check_every_s=None, clock=clock)
    quiet.acknowledged(engine, table, [Sent(T, 0, 1, "a")])
    clock.now += 3600
    assert quiet.verify_if_due() == 0  # routine checks off, no failure: nothing read


def test_records_older_than_the_window_are_forgotten_before_reading() -> None:
    clock = Clock()
    engine, table = _outbox()
    verifier = PublishVerifier("127.0.0.1:1", window_s=60.0, clock=clock)
    verifier.acknowledged(engine, table, [Sent(T, 0, 1, "a")])
    clock.now += 60.5
    assert verifier.verify() == 0  # forgotten: no broker was needed
    assert verifier.stats["verifications"] == 0


# --- relay_once with a producer that answers as the restarted broker did ---------------------


@dataclass
class Metadata:
    topic: str
    partition: int
    offset: int


@dataclass
class Future:
    metadata: Metadata

    def get(self, timeout: float | None = None) -> Metadata:
        return self.metadata


@dataclass
class Producer:
    """Acknowledges every send at the next offset of partition 0, or without an offset (-1)
    for the subjects in ``no_offset``."""

    no_offset: set[str] = field(default_factory=set)
    next_offset: int = 0

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> Future:
        if key.decode() in self.no_offset:
            return Future(Metadata(topic, 0, -1))
        self.next_offset += 1
        return Future(Metadata(topic, 0, self.next_offset - 1))

    def flush(self, timeout: float | None = None) -> None:
        pass


def _outbox() -> tuple[Engine, Table]:
    engine = create_engine("sqlite://")
    table = outbox_table(MetaData())
    table.metadata.create_all(engine)
    return engine, table


def _event(subject: str, tenant: str = "hanoi") -> CloudEvent:
    return CloudEvent.of(
        tenant=tenant,
        service="tasks",
        entity="task",
        action="assigned",
        subject=subject,
        data={"task": subject},
    )


def _unpublished(engine: Engine, table: Table) -> set[str]:
    with Session(engine) as s:
        return set(
            s.execute(select(table.c.aggregate).where(table.c.published_at.is_(None))).scalars()
        )


def test_an_acknowledgement_without_offset_leaves_the_event_pending_and_schedules_a_check() -> None:
    engine, table = _outbox()
    with Session(engine) as s, s.begin():
        for subject in ("CV-1", "CV-2", "CV-3"):
            record(s, table, _event(subject))
    verifier = PublishVerifier("127.0.0.1:1")
    producer = Producer(no_offset={"CV-2"})
    assert relay_once(engine, table, producer, verifier=verifier) == 2
    assert _unpublished(engine, table) == {"CV-2"}
    assert verifier.scheduled()
    # without a verifier, the same acknowledgement counts (the behaviour the test of the
    # broker restart shows to lose events)
    engine2, table2 = _outbox()
    with Session(engine2) as s, s.begin():
        record(s, table2, _event("CV-2"))
    assert relay_once(engine2, table2, Producer(no_offset={"CV-2"})) == 1
    assert _unpublished(engine2, table2) == set()


def test_a_refused_send_schedules_a_verification() -> None:
    engine, table = _outbox()
    with Session(engine) as s, s.begin():
        record(s, table, _event("CV-1"))

    class Refused(Exception):
        pass

    class Refusing(Producer):
        def flush(self, timeout: float | None = None) -> None:
            raise Refused("broker down")

    verifier = PublishVerifier("127.0.0.1:1")
    with pytest.raises(Refused):
        relay_once(engine, table, Refusing(), verifier=verifier)
    assert verifier.scheduled()
    assert _unpublished(engine, table) == {"CV-1"}


# --- the read-back on the session's real broker ----------------------------------------------


@pytest.fixture
def outbox_on_broker(kafka_bootstrap: str) -> Iterator[tuple[Engine, Table, str]]:
    tenant = "verify"
    ensure_topics(kafka_bootstrap, tenant)
    engine, table = _outbox()
    yield engine, table, tenant
    engine.dispose()


def _published_already(engine: Engine, table: Table, event: CloudEvent) -> None:
    """``event`` in the outbox, marked published (as the relay would after an acknowledgement)."""
    with Session(engine) as s, s.begin():
        record(s, table, event)
        s.execute(update(table).where(table.c.event_id == event.id).values(published_at=event.time))


@pytest.mark.integration
def test_a_verification_reads_the_offsets_back_and_requeues_what_they_no_longer_hold(
    kafka_bootstrap: str, outbox_on_broker: tuple[Engine, Table, str]
) -> None:
    engine, table, tenant = outbox_on_broker
    with Session(engine) as s, s.begin():
        for n in range(6):
            record(s, table, _event(f"CV-{n}", tenant))
    verifier = PublishVerifier(kafka_bootstrap, idle_polls=6)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        assert relay_once(engine, table, producer, verifier=verifier) == 6
        assert verifier.verify() == 0  # every acknowledged offset holds its event
        assert verifier.stats["verifications"] == 1

        # Another event at an offset the broker gave to someone else (as after the overwrite
        # measured on Tansu 0.6), and one at an offset the log does not reach (a lost tail).
        topic = topic_for(tenant, "tasks")
        other = _event("CV-other", tenant)
        at = producer.send(topic, value=other.model_dump_json().encode(), key=b"CV-other")
        taken = at.get(timeout=30)
        overwritten, beyond = _event("CV-overwritten", tenant), _event("CV-beyond", tenant)
        _published_already(engine, table, overwritten)
        _published_already(engine, table, beyond)
        verifier.acknowledged(
            engine,
            table,
            [
                Sent(topic, taken.partition, taken.offset, overwritten.id),
                Sent(topic, taken.partition, taken.offset + 1_000, beyond.id),
            ],
        )
        assert verifier.verify() == 2
        assert _unpublished(engine, table) == {"CV-overwritten", "CV-beyond"}
        assert verifier.stats == {"verifications": 2, "requeued": 2}
        assert verifier.verify() == 0  # re-queued events are forgotten until sent again
        assert relay_once(engine, table, producer, verifier=verifier) == 2
        assert verifier.verify() == 0
        assert _unpublished(engine, table) == set()
    finally:
        producer.close(timeout=5)
