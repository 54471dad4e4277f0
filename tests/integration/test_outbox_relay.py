"""The transactional outbox relayed to the real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import MetaData, func, select

from services.common.db import create_engine_for_url, transaction
from services.common.events import CloudEvent, topic_for
from services.common.outbox import decode, outbox_table, record, relay_once

pytestmark = pytest.mark.integration


def test_events_written_in_a_transaction_are_relayed_once_in_order(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    engine = create_engine_for_url(f"sqlite:///{tmp_path / 'svc.sqlite3'}")
    table = outbox_table(MetaData())
    table.metadata.create_all(engine)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    events = [
        CloudEvent.of(
            tenant=tenant,
            service="planning",
            entity="keyresult",
            action="progressed",
            subject="KR1",
            data={"new": str(i)},
        )
        for i in range(5)
    ]
    with transaction(engine) as session:
        for event in events:
            record(session, table, event)
    with pytest.raises(RuntimeError), transaction(engine) as session:  # rolled back: not sent
        record(
            session,
            table,
            CloudEvent.of(
                tenant=tenant,
                service="planning",
                entity="keyresult",
                action="progressed",
                subject="KR1",
                data={"new": "lost"},
            ),
        )
        raise RuntimeError("the change failed")

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        assert relay_once(engine, table, producer) == 5
        assert relay_once(engine, table, producer) == 0  # already published
    finally:
        producer.close()
    with transaction(engine) as session:
        unpublished = session.execute(
            select(func.count()).select_from(table).where(table.c.published_at.is_(None))
        ).scalar_one()
    assert unpublished == 0

    consumer = KafkaConsumer(
        topic_for(tenant, "planning"),
        bootstrap_servers=kafka_bootstrap,
        group_id=f"test-{tenant}",
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        consumer_timeout_ms=1000,
    )
    received: list[CloudEvent] = []
    try:
        for _ in range(30):
            received += [decode(m.value) for m in consumer]
            if len(received) >= 5:
                break
    finally:
        consumer.close()
    assert [e.id for e in received] == [e.id for e in events]  # same key → one partition, order
    assert all(
        e.tenant == tenant and e.type == "vn.woms.planning.keyresult.progressed.v1"
        for e in received
    )
