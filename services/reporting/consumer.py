"""The reporting consumer group: the tenants' event topics → the read models.

Delivery is at least once (offsets are committed to Kafka only after the database
transaction of the batch committed) and applying is idempotent (processed event ids in the
same transaction, :mod:`services.reporting.ingest`): the effect is exactly once, across
duplicates, crashes and restarts. A failed transaction rewinds the batch's partitions, so
nothing is skipped.

Lag (:meth:`ReportingConsumer.lag`) is per partition: end offset − committed offset. The end
offset is the high watermark returned by the last fetch, which is exact; the ``ListOffsets``
answer (``end_offsets``) is used only for partitions not fetched yet, because the embedded
Tansu broker answers it with the base offset of the last record batch + 1 (a partition
holding 7 records written in one batch reported 1).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine

from services.reporting import repository as repo
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE, ProjectionTables
from services.reporting.tracing import apply_spans

GROUP_ID = "woms-reporting"


class _Paused(Exception):
    """A rebuild holds the live consumer: roll back, rewind, wait."""


TOPIC_PATTERN = r"^woms\..*\.events$"


def tenants_pattern(tenants: list[str]) -> str:
    """A topic pattern limited to ``tenants`` (``^woms\\.(a|b)\\.[a-z]+\\.events$``)."""
    return r"^woms\.(" + "|".join(tenants) + r")\.[a-z]+\.events$"


class ReportingConsumer:
    """A member of the consumer group ``group_id`` over the topics matching ``pattern``,
    applying their events to ``tables`` in ``engine``'s database.

    Args:
        engine: the reporting database (``engine_for("platform", "reporting")``).
        bootstrap: Kafka bootstrap ``host:port`` list.
        group_id: the consumer group (a rebuild uses a fresh one).
        pattern: topics to follow (new matching topics are picked up at each metadata refresh,
            every ``metadata_max_age_ms``).
        tables: the live tables, or a rebuild's ``_new`` set. A consumer of the live tables
            applies nothing while a rebuild holds it (``consumer_pause``): it rewinds and
            waits, so nothing it applies can be lost in the swap.
        kafka_config: other ``KafkaConsumer`` settings (override the defaults here).

    A group without committed offsets starts at the earliest record: a new group (a rebuild,
    a fresh installation) sees the whole history. Offsets are committed by :meth:`poll_once`
    only (no auto-commit).
    """

    def __init__(
        self,
        engine: Engine,
        bootstrap: str,
        *,
        group_id: str = GROUP_ID,
        pattern: str = TOPIC_PATTERN,
        tables: ProjectionTables = LIVE,
        metadata_max_age_ms: int = 5000,
        **kafka_config: Any,
    ) -> None:
        self.engine, self.tables = engine, tables
        self.outcomes: Counter[str] = Counter()
        config: dict[str, Any] = {
            "client_id": f"{group_id}-consumer",
            "metadata_max_age_ms": metadata_max_age_ms,
            # Tansu lets a new member in after about half the session timeout: 6 s → ~3 s
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
        }
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **(config | kafka_config),
        )
        self._consumer.subscribe(pattern=pattern)

    def poll_once(self, timeout_ms: int = 500, max_records: int = 500, linger_ms: int = 100) -> int:
        """Fetch one batch, apply it in one transaction, then commit its offsets.

        A batch is filled up to ``max_records``: after the first records arrive, it keeps
        polling for up to ``linger_ms`` more while records keep coming (a live stream arrives
        a few records per partition per fetch; one transaction and one offset commit per few
        records cost more than the records themselves).

        Returns:
            the number of records handled (applied, ignored, parked or duplicate); 0 while a
            rebuild holds the live consumer (the batch is rewound, after a pause).

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the transaction failed; the batch's partitions were
                rewound to its first record, nothing was committed.
            kafka.errors.KafkaError: the offsets could not be committed; the batch is applied
                and will be redelivered (and skipped as duplicates).
        """
        batch = self._fill(timeout_ms, max_records, linger_ms)
        records = [(tp, r) for tp, rs in batch.items() for r in rs]
        if not records:
            return 0
        outcomes: Counter[str] = Counter()
        try:
            messages = [Message(r.topic, r.partition, r.offset, r.value) for _, r in records]
            with apply_spans(records), self.engine.begin() as conn:  # tracing.py
                if self.tables is LIVE and repo.paused_by(conn, datetime.now(UTC)):
                    raise _Paused
                outcomes.update(apply_batch(conn, self.tables, messages))
        except BaseException as exc:
            for tp, rs in batch.items():
                if rs:
                    self._consumer.seek(tp, rs[0].offset)
            if isinstance(exc, _Paused):
                time.sleep(timeout_ms / 1000)
                return 0
            raise
        self._consumer.commit()
        self.outcomes.update(outcomes)
        return len(records)

    def _fill(
        self, timeout_ms: int, max_records: int, linger_ms: int
    ) -> dict[TopicPartition, list[Any]]:
        """Records by partition, in offset order: one poll, then more polls within
        ``linger_ms`` until ``max_records`` or a poll that brings nothing."""
        batch = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        count = sum(len(rs) for rs in batch.values())
        deadline = time.monotonic() + linger_ms / 1000
        while 0 < count < max_records:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            more = self._consumer.poll(timeout_ms=left_ms, max_records=max_records - count)
            if not more:
                break
            for tp, rs in more.items():
                batch.setdefault(tp, []).extend(rs)
                count += len(rs)
        return batch

    def run(
        self,
        stop: threading.Event,
        on_batch: Callable[[int], None] | None = None,
        timeout_ms: int = 500,
    ) -> None:
        """Poll until ``stop`` is set; ``on_batch(n)`` after each non-empty batch."""
        while not stop.is_set():
            n = self.poll_once(timeout_ms=timeout_ms)
            if n and on_batch is not None:
                on_batch(n)

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member holds now."""
        return set(self._consumer.assignment())

    def lag(self) -> dict[tuple[str, int], int]:
        """Per assigned partition ``(topic, partition)``: end offset − committed offset (a
        partition never committed counts from 0)."""
        parts = sorted(self._consumer.assignment())
        if not parts:
            return {}
        ends: dict[TopicPartition, int] = {}
        unknown = []
        for tp in parts:
            high = self._consumer.highwater(tp)
            if high is None:
                unknown.append(tp)
            else:
                ends[tp] = high
        if unknown:
            ends.update(self._consumer.end_offsets(unknown))
        lags = {}
        for tp in parts:
            committed = self._consumer.committed(tp) or 0
            lags[(tp.topic, tp.partition)] = max(ends[tp] - committed, 0)
        return lags

    def caught_up(self) -> bool:
        """True when every assigned partition was fetched and its position reached the high
        watermark of that fetch."""
        parts = self._consumer.assignment()
        if not parts:
            return False
        for tp in parts:
            high = self._consumer.highwater(tp)
            if high is None or self._consumer.position(tp) < high:
                return False
        return True

    def close(self) -> None:
        """Leave the group (offsets were committed batch by batch)."""
        self._consumer.close(autocommit=False)
