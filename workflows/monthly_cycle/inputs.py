"""Inputs, signal payloads and query results of the monthly cycle (DOMAIN.md §6, 001 §IV.1).

Every type is a plain dataclass of JSON-friendly fields (``str``, ``int``, ``bool``, ``list``,
``dict``, timezone-aware ``datetime``) so Temporal's default data converter round-trips it.
Every workflow input carries ``tenant_id`` and an ``idempotency_key``; activity inputs carry a
key derived from it (``"<key>:<what>"``) so the evaluation service can deduplicate retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Steps of one person's month, in order (001 §IV.1 steps 2–5).
SELF_ASSESSMENT = "self_assessment"
REVIEW = "review"
DECISION = "decision"
PUBLICATION = "publication"
STEPS: tuple[str, ...] = (SELF_ASSESSMENT, REVIEW, DECISION, PUBLICATION)


@dataclass(frozen=True)
class CycleCalendar:
    """A tenant's monthly calendar (DOMAIN.md §6; 001 §IV.1, the "Lưu ý" for December).

    Attributes:
        time_zone: IANA zone the named days are read in (Việt Nam: UTC+7).
        period_start_day: day of the month the evaluation period ``YYYY-MM`` begins (1–28).
        self_assessment_day: self-assessment is due *before* this day (25).
        review_day: the manager's comments are due *before* this day (26).
        approval_day: the authority's decision is due *before* this day (28).
        publication_day: publication is due *before* this day of the next month (5).
        december_deadline_day: December's evaluation is completed *before* this day (15/12).
        reminder_days_before: reminders are sent this many days before each deadline.
        seconds_per_day: compress the calendar for demos and tests: a "day" lasts this many
            seconds from the cycle start (``None``: real days in ``time_zone``).
    """

    time_zone: str = "Asia/Ho_Chi_Minh"
    period_start_day: int = 1
    self_assessment_day: int = 25
    review_day: int = 26
    approval_day: int = 28
    publication_day: int = 5
    december_deadline_day: int = 15
    reminder_days_before: list[int] = field(default_factory=lambda: [2, 1])
    seconds_per_day: int | None = None


@dataclass(frozen=True)
class Deadlines:
    """The four deadline instants of a period, timezone-aware UTC.

    Each is the first instant at which the step is late (00:00 local of the named day).
    """

    self_assessment: datetime
    review: datetime
    decision: datetime
    publication: datetime


#: People per shard of the months started by the schedule, the API and ``woms cycle start``:
#: below Temporal's 2,000 open children per workflow with room to spare (docs/bench-cycle.md).
DEFAULT_SHARD_SIZE = 1_000


@dataclass(frozen=True)
class CycleInput:
    """Input of :class:`~workflows.monthly_cycle.cycle.MonthlyCycleWorkflow`.

    Attributes:
        tenant_id: tenant (unit) identifier.
        period: evaluated month, ``"YYYY-MM"``.
        idempotency_key: caller-chosen key; derived keys are passed to every activity.
        calendar: the tenant's calendar.
        batch_size: children started per batch (each batch has started before the next).
        shard_size: ``None``: the cycle lists everyone with ``list_people`` and starts every
            person workflow itself (fine up to ~1,500 people: Temporal allows 2,000 open
            children and 51,200 events per workflow, and a payload of at most 2 MB). A number:
            the month is split into shard workflows of at most this many people, whole units
            together where they fit (see :mod:`~workflows.monthly_cycle.shard`).
    """

    tenant_id: str
    period: str
    idempotency_key: str
    calendar: CycleCalendar = field(default_factory=CycleCalendar)
    batch_size: int = 200
    shard_size: int | None = None


@dataclass(frozen=True)
class PersonRef:
    """One person of the tenant for the period, as returned by ``list_people``.

    ``evaluated=False`` marks people outside the month's evaluation (e.g. long leave):
    they are recorded with ``record_not_evaluated`` and get no workflow.
    """

    person_id: str
    unit_id: str
    evaluated: bool = True


@dataclass(frozen=True)
class PersonInput:
    """Input of :class:`~workflows.monthly_cycle.person.PersonEvaluationWorkflow`.

    Attributes:
        tenant_id, period, person_id, unit_id: who and which month.
        idempotency_key: key of this person's month (the cycle passes ``"<cycle key>:<person>"``).
        deadlines: the period's deadlines (see ``deadlines.deadlines_for``).
        reminder_days_before: reminders this many "days" before each deadline.
        seconds_per_day: length of a "day" for reminders and the appeal window (compressed
            calendars pass ``CycleCalendar.seconds_per_day``; real calendars 86 400).
    """

    tenant_id: str
    period: str
    person_id: str
    unit_id: str
    idempotency_key: str
    deadlines: Deadlines
    reminder_days_before: list[int] = field(default_factory=lambda: [2, 1])
    seconds_per_day: int = 86_400


# --- signal payloads ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepDone:
    """Payload of the ``self_assessed``, ``reviewed`` and ``decided`` signals."""

    actor: str
    note: str | None = None


@dataclass(frozen=True)
class Appeal:
    """Payload of the ``appealed`` signal (the person responds to the published result)."""

    reason: str


@dataclass(frozen=True)
class AppealAnswer:
    """Payload of ``appeal_answered``: the higher level upholds or changes the result."""

    actor: str
    upheld: bool
    note: str | None = None


# --- activity inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRef:
    """Input of ``list_people`` and ``cycle_finished``."""

    tenant_id: str
    period: str


@dataclass(frozen=True)
class PersonStep:
    """Input of the per-person activities.

    Attributes:
        step: ``"open"``, a step of :data:`STEPS`, or ``"not_evaluated"``.
        idempotency_key: unique per effect, e.g. ``"<person key>:reminder:review:2"``.
        deadline: the deadline the call is about, when there is one.
    """

    tenant_id: str
    period: str
    person_id: str
    unit_id: str
    step: str
    idempotency_key: str
    deadline: datetime | None = None


# --- query results -----------------------------------------------------------------------


@dataclass
class PersonState:
    """Result of the person workflow's ``state`` query (and of the workflow itself).

    Attributes:
        step: ``"open"``, ``"self_assessment"``, ``"review"``, ``"decision"``,
            ``"publication"``, ``"appeal_window"`` or ``"done"``.
        flags: e.g. ``"self_assessment_missed"``, ``"review_escalated"``, ``"review_missed"``,
            ``"decision_escalated"``, ``"decision_overdue"``, ``"publication_late"``.
        escalations: ``"<step>:<escalated to>"``, one per ``escalate`` call.
        reminders: how many ``send_reminder`` calls were made.
        published: whether ``publish`` completed.
        appeal: ``None``, ``"open"``, ``"upheld"`` or ``"changed"``.
    """

    step: str
    flags: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    reminders: int = 0
    published: bool = False
    appeal: str | None = None


@dataclass
class CycleProgress:
    """Result of the cycle's ``progress`` query (and of the cycle workflow itself).

    Attributes:
        total: people returned by ``list_people``.
        started: person workflows started.
        by_step: ``{"not_started", "running", "completed", "failed"}`` counts of the person
            workflows (live per-person steps: query each child's ``state``).
        late: person ids whose completed month carries a lateness flag, or whose workflow failed.
        not_evaluated: people recorded with ``record_not_evaluated``.
    """

    total: int = 0
    started: int = 0
    by_step: dict[str, int] = field(default_factory=dict)
    late: list[str] = field(default_factory=list)
    not_evaluated: int = 0


# --- deterministic workflow ids ----------------------------------------------------------


def cycle_workflow_id(tenant_id: str, period: str) -> str:
    """Id of a tenant's month: ``{tenant}:cycle:all:{period}`` (one running cycle per month)."""
    return f"{tenant_id}:cycle:all:{period}"


def person_workflow_id(tenant_id: str, person_id: str, period: str) -> str:
    """Id of one person's month: ``{tenant}:evaluation:{person}:{period}``."""
    return f"{tenant_id}:evaluation:{person_id}:{period}"


# --- sharded months (workflows.monthly_cycle.shard) -----------------------------------------


@dataclass(frozen=True)
class PeopleQuery:
    """Input of ``count_people`` and ``list_people_page``.

    People are taken in a stable order: by ``unit_id``, then ``person_id``, so a range of
    offsets holds whole units except at its ends.

    Attributes:
        tenant_id, period: whose month.
        idempotency_key: ``"<cycle key>:count"`` or ``"<cycle key>:shard:<n>:page:<offset>"``
            (both activities only read; the key is for tracing and the service's log).
        offset: index of the first person of the page (0-based, in the order above).
        limit: most people returned (``0`` for ``count_people``).
    """

    tenant_id: str
    period: str
    idempotency_key: str
    offset: int = 0
    limit: int = 0


@dataclass(frozen=True)
class UnitCount:
    """One unit's number of people for the period (a result item of ``count_people``)."""

    unit_id: str
    people: int


@dataclass(frozen=True)
class ShardInput:
    """Input of :class:`~workflows.monthly_cycle.shard.CycleShardWorkflow`.

    Attributes:
        tenant_id, period: whose month.
        idempotency_key: the *cycle's* key, so a person's key is ``"<cycle key>:<person>"``
            whether or not the month is sharded.
        shard: index of the shard (0-based; its id is :func:`shard_workflow_id`).
        offset, limit: the people of the shard, as a range of the ``list_people_page`` order.
        deadlines: the period's deadlines (computed once by the cycle).
        calendar: the tenant's calendar (reminders, compressed days).
        batch_size: person workflows started per batch; also the page size.
    """

    tenant_id: str
    period: str
    idempotency_key: str
    shard: int
    offset: int
    limit: int
    deadlines: Deadlines
    calendar: CycleCalendar = field(default_factory=CycleCalendar)
    batch_size: int = 200


def shard_workflow_id(tenant_id: str, shard: int, period: str) -> str:
    """Id of one shard of a sharded month: ``{tenant}:cycle-shard:{n}:{period}``."""
    return f"{tenant_id}:cycle-shard:{shard}:{period}"


@dataclass
class ShardReport:
    """Payload of the cycle's ``shard_progress`` signal: a shard's counts once all its
    person workflows have started (its final counts are its result)."""

    shard: int
    progress: CycleProgress
