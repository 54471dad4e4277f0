"""Rebuild the read models from the beginning of the topics, then swap them in.

1. hold the live consumer (a row in ``consumer_pause``): while it is there, ``woms reporting
   consume`` applies nothing — it rewinds each batch and waits;
2. create the ``_new`` tables (dropped first if a previous rebuild was interrupted);
3. a fresh consumer group (``woms-reporting-rebuild-<id>``) reads every matching topic from
   the earliest offset into them, until every partition reached its high watermark and a poll
   came back empty;
4. in one transaction, every live table's rows are replaced by the ``_new`` rows and the live
   consumer is released (readers see the old figures or the new ones, never a mix); the
   ``_new`` tables are dropped.

Why this is exact with the live consumer running: everything the live consumer applied before
it was held was already on the topics, so the rebuild (which reads to the end) has it too; after
the swap the live consumer resumes from its committed offsets, skips what the rebuild already
processed (``processed_events``) and applies the rest. A failed or timed-out rebuild releases
the consumer and leaves the live tables untouched; a killed one holds it until ``timeout_s`` +
:data:`PAUSE_MARGIN_S` seconds after it started.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from services.reporting import repository as repo
from services.reporting.consumer import TOPIC_PATTERN, ReportingConsumer, tenants_pattern
from services.reporting.models import LIVE, ProjectionTables, rebuild_tables

#: A killed rebuild stops holding the live consumer this long after its own timeout (s).
PAUSE_MARGIN_S = 60.0


class RebuildTimeout(RuntimeError):
    """The topics were not read to their end in time; the live tables are unchanged."""


@dataclass
class RebuildReport:
    """What a rebuild did: its group id, records read, and rows swapped in per table."""

    group_id: str
    records: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def rebuild(
    engine: Engine,
    bootstrap: str,
    *,
    tenants: Sequence[str] | None = None,
    live: ProjectionTables = LIVE,
    timeout_s: float = 600.0,
    idle_polls: int = 2,
) -> RebuildReport:
    """Rebuild every projection of ``live`` from the topics of ``tenants`` (every tenant's
    topics and every row when None; else only those tenants' rows are replaced).

    Raises:
        RebuildTimeout: not caught up within ``timeout_s`` seconds (the ``_new`` tables are
            dropped, the live ones untouched).
    """
    new = rebuild_tables()
    metadata = new.processed.metadata
    metadata.drop_all(engine, checkfirst=True)
    metadata.create_all(engine)
    report = RebuildReport(group_id=f"woms-reporting-rebuild-{uuid.uuid4().hex[:12]}")
    with engine.begin() as conn:
        until = datetime.now(UTC) + timedelta(seconds=timeout_s + PAUSE_MARGIN_S)
        repo.set_pause(conn, report.group_id, until)
    pattern = TOPIC_PATTERN if tenants is None else tenants_pattern(list(tenants))
    consumer = ReportingConsumer(
        engine, bootstrap, group_id=report.group_id, pattern=pattern, tables=new
    )
    try:
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < idle_polls:
            if time.monotonic() > deadline:
                raise RebuildTimeout(
                    f"rebuild not caught up after {timeout_s:.0f} s ({report.records} records)"
                )
            n = consumer.poll_once(timeout_ms=1000)
            report.records += n
            quiet = quiet + 1 if n == 0 and consumer.caught_up() else 0
        with engine.begin() as conn:
            report.rows = repo.copy_into(conn, new, live, tenants)
            repo.clear_pause(conn)
    except BaseException:
        consumer.close()
        with engine.begin() as conn:
            repo.clear_pause(conn)
        metadata.drop_all(engine, checkfirst=True)
        raise
    consumer.close()
    metadata.drop_all(engine, checkfirst=True)
    return report
