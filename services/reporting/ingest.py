"""Apply a batch of Kafka messages to the read models, inside the caller's transaction.

Exactly-once effect: each event id goes into ``processed_events`` in the same transaction as
the read-model change, so a redelivered event (a relay that published twice, a consumer that
died before committing its offsets) changes nothing. Nothing is dropped silently: a body that
is not a CloudEvent, a tenant that does not match the topic, an unknown type or version, or
data the projection cannot read is parked in ``dead_letters`` with the reason.

A batch is read with a few queries (which ids are done, the current state of its tasks and
counts), applied in memory in message order by the pure projections, and written back with
one statement per table and kind of change — the same result as applying the messages one by
one, with far fewer round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Connection

from services.common.events import CloudEvent
from services.reporting import projections
from services.reporting import repository as repo
from services.reporting.models import ProjectionTables
from services.reporting.projections import CountKey, Counts, TaskState

Outcome = Literal["applied", "ignored", "dead_letter", "duplicate"]
TaskKey = tuple[str, str]  # tenant, task
EvaluationKey = tuple[str, str, str]  # tenant, period, person


@dataclass(frozen=True)
class Message:
    """The parts of a Kafka record the consumer uses."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


def tenant_of_topic(topic: str) -> str | None:
    """``hanoi`` for ``woms.hanoi.tasks.events``; None for a topic not of that form."""
    parts = topic.split(".")
    if len(parts) != 4 or parts[0] != "woms" or parts[3] != "events":
        return None
    return parts[1]


def _decode(value: bytes | None) -> CloudEvent:
    if value is None:
        raise ValueError("empty message (no value)")
    return CloudEvent.model_validate_json(value)  # one pass of pydantic-core JSON parsing


@dataclass
class _Batch:
    """What a batch changes, accumulated in memory before one write per table."""

    now: datetime
    seen: set[str]
    parked_keys: set[str]
    tasks: dict[TaskKey, TaskState | None]
    stored_tasks: set[TaskKey]
    changed_tasks: set[TaskKey] = field(default_factory=set)
    deltas: dict[CountKey, Counts] = field(default_factory=dict)
    evaluations: dict[EvaluationKey, dict[str, Any]] = field(default_factory=dict)
    #: goal-tree changes in message order: ("plan", event, snapshot) / ("status", event,
    #: (plan, status)) / ("progress", event, (key result, value))
    goals: list[tuple[str, CloudEvent, Any]] = field(default_factory=list)
    processed: list[dict[str, Any]] = field(default_factory=list)
    parked: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, event: CloudEvent, outcome: str) -> None:
        self.seen.add(event.id)
        self.processed.append(
            {
                "event_id": event.id,
                "tenant": event.tenant,
                "type": event.type,
                "outcome": outcome,
                "applied_at": self.now,
            }
        )

    def park(self, message: Message, reason: str, event: CloudEvent | None) -> Outcome:
        key = event.id if event else f"{message.topic}/{message.partition}/{message.offset}"
        if key not in self.parked_keys:
            self.parked_keys.add(key)
            self.parked.append(
                {
                    "key": key,
                    "event_id": event.id if event else None,
                    "tenant": event.tenant if event else tenant_of_topic(message.topic),
                    "type": event.type if event else None,
                    "reason": reason[:2000],
                    "body": (message.value or b"").decode("utf-8", errors="replace"),
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "at": self.now,
                }
            )
        if event is not None:
            self.mark(event, "dead_letter")
        return "dead_letter"

    def apply(self, message: Message, event: CloudEvent | None, error: str | None) -> Outcome:
        if event is None:
            return self.park(message, f"malformed body: {error}", None)
        if event.id in self.seen:
            return "duplicate"
        if event.tenant != tenant_of_topic(message.topic):
            reason = f"tenant {event.tenant!r} does not match topic {message.topic!r}"
            return self.park(message, reason, event)
        try:
            kind = projections.classify(event.type)
            if kind.kind == "task":
                key = (event.tenant, event.subject)
                before = self.tasks.get(key)
                after = projections.apply_task(
                    before, event.tenant, kind.action, event.data, _aware(event.time)
                )
                if after.task != event.subject:
                    raise projections.Malformed(
                        f"data.task {after.task!r} differs from subject {event.subject!r}"
                    )
                for count_key, delta in projections.count_deltas(before, after).items():
                    self.deltas[count_key] = self.deltas.get(count_key, Counts()) + delta
                self.tasks[key] = after
                self.changed_tasks.add(key)
            elif kind.kind == "evaluation":
                row = projections.evaluation_row(event.tenant, kind.action, event.data)
                key = (row["tenant"], row["period"], row["person"])
                earlier = self.evaluations.get(key)
                if earlier is None or earlier["updated_at"] <= _aware(event.time):
                    self.evaluations[key] = {**row, "updated_at": _aware(event.time)}
            elif kind.kind == "plan":
                snapshot = projections.plan_snapshot(event.tenant, event.data)
                if snapshot.plan["plan"] != event.subject:
                    raise projections.Malformed(
                        f"data.plan {snapshot.plan['plan']!r} differs from subject "
                        f"{event.subject!r}"
                    )
                self.goals.append(("plan", event, snapshot))
            elif kind.kind == "plan_status":
                self.goals.append(("status", event, projections.PLAN_STATUS[kind.action]))
            elif kind.kind == "progress":
                self.goals.append(("progress", event, projections.progress_value(event.data)))
        except (projections.Unsupported, projections.Malformed) as exc:
            return self.park(message, str(exc), event)
        outcome: Outcome = "ignored" if kind.kind == "ignored" else "applied"
        self.mark(event, outcome)
        return outcome


def apply_batch(
    conn: Connection, t: ProjectionTables, messages: Sequence[Message]
) -> list[Outcome]:
    """Apply ``messages`` (in order) to the tables ``t`` within ``conn``'s transaction.

    Returns:
        per message: ``applied`` (read model changed), ``ignored`` (known type without a read
        model yet), ``dead_letter`` (parked with its reason) or ``duplicate`` (already
        processed, in an earlier batch or earlier in this one).
    """
    decoded: list[tuple[Message, CloudEvent | None, str | None]] = []
    for message in messages:
        try:
            decoded.append((message, _decode(message.value), None))
        except (ValueError, ValidationError) as exc:
            decoded.append((message, None, str(exc)))
    events = [e for _, e, _ in decoded if e is not None]
    task_keys = {(e.tenant, e.subject) for e in events if e.type.startswith("vn.woms.tasks.task.")}
    stored = repo.task_states(conn, t, task_keys)
    unreadable = {f"{m.topic}/{m.partition}/{m.offset}" for m, e, _ in decoded if e is None}
    batch = _Batch(
        now=datetime.now(UTC),
        seen=repo.processed_among(conn, t, {e.id for e in events}),
        parked_keys=repo.dead_letter_keys_among(conn, t, unreadable),
        tasks=dict(stored),
        stored_tasks=set(stored),
    )
    outcomes = [batch.apply(message, event, error) for message, event, error in decoded]
    repo.insert_processed(conn, t, batch.processed)
    repo.insert_dead_letters(conn, t, batch.parked)
    changed = [batch.tasks[k] for k in sorted(batch.changed_tasks)]
    repo.save_task_states(
        conn,
        t,
        [s for s in changed if s and (s.tenant, s.task) in batch.stored_tasks],
        [s for s in changed if s and (s.tenant, s.task) not in batch.stored_tasks],
        batch.now,
    )
    repo.add_counts(conn, t, {k: d for k, d in batch.deltas.items() if not d.is_zero()})
    repo.save_evaluations(conn, t, list(batch.evaluations.values()))
    _apply_goals(conn, t, batch.goals)
    return outcomes


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _apply_goals(
    conn: Connection, t: ProjectionTables, goals: list[tuple[str, CloudEvent, Any]]
) -> None:
    """Write the goal-tree changes of a batch in message order (planning events are few:
    one statement or two each)."""
    for what, event, change in goals:
        at = _aware(event.time)
        if what == "plan":
            repo.save_plan(conn, t, change, at)
        elif what == "status":
            # a status event of a plan defined before plan.defined existed changes nothing
            repo.set_plan_status(conn, t, event.tenant, event.subject, change)
        else:
            code, value, logged = change
            repo.add_update(
                conn, t, event.tenant, event.id, code, value, _aware(logged) if logged else at, at
            )


def apply_message(conn: Connection, t: ProjectionTables, message: Message) -> Outcome:
    """Apply one message (see :func:`apply_batch`)."""
    return apply_batch(conn, t, [message])[0]
