"""The month's task ledger: from a task's recorded facts to the numbers the score uses.

Pure functions, no I/O. A task's history (submissions, returns, objective causes confirmed by an
authority, "exceeded" marks, approval) is given as :class:`TaskFacts`; :func:`ledger_line` turns
it into one :class:`LedgerLine` whose fields ``points, completed, quality_failures, delays,
days_late, objective_cause, exceeded, group`` have exactly the names and meaning of the scoring
engine's ``TaskRecord`` (``services/evaluation/scoring.py``). ``services.tasks`` may not import
``services.evaluation`` (import-linter contract "Services do not import each other"), so a client
builds the record itself: ``TaskRecord(**line.record_fields())``.

Rules (``shared/seeds/``):

* ``completed`` — the product was approved (``001 §III.2`` "Số lượng": completed vs assigned).
* ``quality_failures`` — each return *for quality* is one failed review: "mỗi lần đánh giá chưa
  đạt bị trừ 25% điểm chất lượng" (``001 §III.2``); a return for another reason (wrong
  recipient, missing attachment …, ``ReturnFact.for_quality = False``) is recorded but not
  counted.
* ``delays`` — each submission after the due date is one delay: "mỗi lần chậm bị trừ 25% điểm
  tiến độ" (``001 §III.2``). "After" is by calendar date: a submission on a day off after the
  due date is a delay even if it is 0 working days late.
* ``days_late`` — Σ working days late over those late submissions
  (:meth:`~services.tasks.workdays.WorkCalendar.working_days_late`), for tenants counting
  "Chậm 1 ngày (-25%)" (``002``).
* ``objective_cause`` — an authority confirmed an objective cause: "trừ trường hợp sai sót do
  nguyên nhân khách quan được cấp có thẩm quyền xác nhận" (``001 §III.2``). **The scoring
  engine's TaskRecord has one flag that waives both the quality and the timeliness deductions,
  so the flag is set when any cause is confirmed, whatever its kind**: a cause confirmed for a
  delay also waives the task's quality deductions, and vice versa. The kinds are kept in the
  facts (and the cause ids in ``evidence``) so a finer engine can separate them later.
* ``exceeded`` — any mark of ahead of time, higher quality or innovation (``000 §II.2``).

``evidence`` maps each number to the record ids behind it, so a reviewer can open them from
the self-assessment form (``000 §VI.2``: every return and delay is recorded for evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from services.common.contracts import TASKS_CSV_COLUMNS
from services.tasks.lifecycle import TaskGroup, TaskStatus
from services.tasks.workdays import WorkCalendar

__all__ = [
    "LEDGER_STATUSES",
    "RECORD_FIELDS",
    "TASK_CSV_COLUMNS",
    "CauseFact",
    "CauseKind",
    "ExceededFact",
    "ExceededKind",
    "LedgerLine",
    "ReturnFact",
    "SubmissionFact",
    "TaskFacts",
    "ledger_csv_rows",
    "ledger_line",
    "points_text",
]

CauseKind = Literal["quality", "delay"]
ExceededKind = Literal["ahead_of_time", "higher_quality", "innovation"]

#: States of a task that belongs to a month's ledger: assigned work. ``draft`` was never
#: assigned and ``cancelled`` was withdrawn, so neither counts in the assigned points.
LEDGER_STATUSES: frozenset[TaskStatus] = frozenset(
    {
        TaskStatus.ASSIGNED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.SUBMITTED,
        TaskStatus.RETURNED,
        TaskStatus.APPROVED,
    }
)

#: The fields of ``services.evaluation.scoring.TaskRecord``, in its order.
RECORD_FIELDS: tuple[str, ...] = (
    "points",
    "completed",
    "quality_failures",
    "delays",
    "days_late",
    "objective_cause",
    "exceeded",
    "group",
)

#: Columns of ``TASKS.csv`` read by ``woms evaluate-month`` (the shared contract).
TASK_CSV_COLUMNS: tuple[str, ...] = TASKS_CSV_COLUMNS

#: What ``month_import`` accepts for points: ≤ 9 integer digits, ≤ 6 decimals, no sign.
_POINTS_TEXT = re.compile(r"^\d{1,9}(\.\d{1,6})?$")


def _require_id(value: object, what: str) -> None:
    if not isinstance(value, str) or value.strip() == "":
        raise ValueError(f"{what}: an id must be a non-blank string, got {value!r}")


def _require_csv_id(value: str, what: str) -> None:
    """``TASKS.csv`` reads ids verbatim, one line per row: no surrounding spaces, no line break."""
    _require_id(value, what)
    if value != value.strip() or "\n" in value or "\r" in value:
        raise ValueError(f"{what}: {value!r} has surrounding spaces or a line break")


def _require_date(value: object, what: str) -> None:
    if not isinstance(value, date):
        raise TypeError(f"{what}: expected a date, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class SubmissionFact:
    """One submission of the product (``000 §VI.2`` "gửi sản phẩm, tài liệu, minh chứng").

    Attributes:
        id: the submission record's id.
        at: the day it was submitted.
        evidence_ids: keys of the evidence files attached (``services.tasks.evidence``).

    Raises:
        ValueError: blank id or evidence id. TypeError: ``at`` is not a date.
    """

    id: str
    at: date
    evidence_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_id(self.id, "SubmissionFact.id")
        _require_date(self.at, "SubmissionFact.at")
        object.__setattr__(self, "evidence_ids", tuple(self.evidence_ids))
        for evidence_id in self.evidence_ids:
            _require_id(evidence_id, "SubmissionFact.evidence_ids")


@dataclass(frozen=True, slots=True)
class ReturnFact:
    """The authority sent the product back with a reason (``000 §VI.2``).

    Attributes:
        id: the return record's id.
        at: the day of the return.
        for_quality: it failed the quality review (counts as one quality failure,
            ``001 §III.2``); ``False`` for a return on other grounds.
        reason: why, as written by the authority. ``000 §VI.2`` requires one ("nêu rõ lý do");
            :func:`~services.tasks.lifecycle.transition` enforces it when the return is made, so
            a blank reason in old records is accepted here rather than failing the month.

    Raises:
        ValueError: blank id. TypeError: ``at`` is not a date, ``for_quality`` not a bool,
            ``reason`` not a str.
    """

    id: str
    at: date
    for_quality: bool
    reason: str

    def __post_init__(self) -> None:
        _require_id(self.id, "ReturnFact.id")
        _require_date(self.at, "ReturnFact.at")
        if not isinstance(self.for_quality, bool):
            raise TypeError("ReturnFact.for_quality must be a bool")
        if not isinstance(self.reason, str):
            raise TypeError("ReturnFact.reason must be a str")


@dataclass(frozen=True, slots=True)
class CauseFact:
    """An objective cause confirmed by an authority (``001 §III.2``).

    Attributes:
        id: the confirmation record's id.
        kind: ``quality`` (the failed review) or ``delay`` (the late submission).
        by: id of the person with authority who confirmed it.
        at: the day of the confirmation.
        why: the cause, as written.

    Raises:
        ValueError: unknown kind, blank id or ``by``. TypeError: ``at`` not a date, ``why`` not
            a str.
    """

    id: str
    kind: CauseKind
    by: str
    at: date
    why: str

    def __post_init__(self) -> None:
        _require_id(self.id, "CauseFact.id")
        if self.kind not in get_args(CauseKind):
            raise ValueError(f"CauseFact.kind: {self.kind!r} is not one of {get_args(CauseKind)}")
        _require_id(self.by, "CauseFact.by")
        _require_date(self.at, "CauseFact.at")
        if not isinstance(self.why, str):
            raise TypeError("CauseFact.why must be a str")


@dataclass(frozen=True, slots=True)
class ExceededFact:
    """A mark that the work exceeded expectations (``000 §II.2``: "vượt tiến độ, vượt chất
    lượng hoặc có sáng kiến").

    Attributes:
        id: the mark's record id.
        kind: ``ahead_of_time`` | ``higher_quality`` | ``innovation``.
        by: id of the person who marked it.
        at: the day of the mark.

    Raises:
        ValueError: unknown kind, blank id or ``by``. TypeError: ``at`` is not a date.
    """

    id: str
    kind: ExceededKind
    by: str
    at: date

    def __post_init__(self) -> None:
        _require_id(self.id, "ExceededFact.id")
        if self.kind not in get_args(ExceededKind):
            raise ValueError(
                f"ExceededFact.kind: {self.kind!r} is not one of {get_args(ExceededKind)}"
            )
        _require_id(self.by, "ExceededFact.by")
        _require_date(self.at, "ExceededFact.at")


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """Everything recorded about one assigned task that the month's score depends on.

    Attributes:
        task_code: the task's id (``task_id`` in ``TASKS.csv``).
        name: the task's name (for display).
        group: ``focus`` | ``regular`` | ``arising`` (:class:`~services.tasks.lifecycle.TaskGroup`).
        points: converted points ≥ 0, exact (quantity × coefficient, ``001 §III.1``).
        status: the task's current state (:class:`~services.tasks.lifecycle.TaskStatus`).
        due_date: the due date ("thời hạn hoàn thành", ``000 §V.2``).
        submissions, returns, objective_causes, exceeded_marks: the recorded facts, any order.
        approved_at: the day the product was approved; set if and only if ``status`` is
            ``approved``.

    Raises:
        ValueError: points negative or not finite; unknown group or status; ``approved_at``
            inconsistent with ``status``; an approved task without a submission on or before
            its approval; the same record id used twice in the task.
        TypeError: points not a ``Decimal`` or ``int`` (never ``float``); a fact of the wrong
            type.
    """

    task_code: str
    name: str
    group: TaskGroup
    points: Decimal
    status: TaskStatus
    due_date: date
    submissions: tuple[SubmissionFact, ...] = ()
    returns: tuple[ReturnFact, ...] = ()
    objective_causes: tuple[CauseFact, ...] = ()
    exceeded_marks: tuple[ExceededFact, ...] = ()
    approved_at: date | None = None

    def __post_init__(self) -> None:
        _require_id(self.task_code, "TaskFacts.task_code")
        object.__setattr__(self, "group", TaskGroup(self.group))
        object.__setattr__(self, "status", TaskStatus(self.status))
        if isinstance(self.points, bool) or not isinstance(self.points, Decimal | int):
            raise TypeError(f"TaskFacts.points: expected Decimal, got {type(self.points).__name__}")
        points = Decimal(self.points)
        if not points.is_finite() or points < 0:
            raise ValueError(f"TaskFacts.points: {self.points} must be a finite number ≥ 0")
        object.__setattr__(self, "points", points)
        _require_date(self.due_date, "TaskFacts.due_date")
        kinds: tuple[tuple[str, type], ...] = (
            ("submissions", SubmissionFact),
            ("returns", ReturnFact),
            ("objective_causes", CauseFact),
            ("exceeded_marks", ExceededFact),
        )
        seen: set[str] = set()
        for attribute, kind in kinds:
            facts = tuple(getattr(self, attribute))
            object.__setattr__(self, attribute, facts)
            for fact in facts:
                if not isinstance(fact, kind):
                    raise TypeError(f"TaskFacts.{attribute}: expected {kind.__name__}")
                if fact.id in seen:
                    raise ValueError(f"TaskFacts: record id {fact.id!r} is used twice")
                seen.add(fact.id)
        approved = self.status is TaskStatus.APPROVED
        if approved != (self.approved_at is not None):
            raise ValueError("TaskFacts.approved_at must be set exactly when status is approved")
        if self.approved_at is not None:
            _require_date(self.approved_at, "TaskFacts.approved_at")
            if _approved_submission(self.submissions, self.approved_at) is None:
                raise ValueError(
                    f"TaskFacts {self.task_code}: approved on {self.approved_at} without a "
                    "submission on or before that day"
                )


def _approved_submission(
    submissions: Iterable[SubmissionFact], approved_at: date
) -> SubmissionFact | None:
    """The submission an approval applies to: the last one on or before the approval day
    (ties: the one listed last)."""
    best: SubmissionFact | None = None
    for submission in submissions:
        if submission.at <= approved_at and (best is None or submission.at >= best.at):
            best = submission
    return best


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One task of the month's ledger.

    Attributes:
        task_code: the task's id.
        points: converted points ≥ 0 (exact ``Decimal``).
        completed: approved (on or before ``as_of`` when given).
        quality_failures: returns for quality (``001 §III.2``).
        delays: submissions after the due date (``001 §III.2``).
        days_late: Σ working days late of those submissions (days, ``002``).
        objective_cause: at least one objective cause confirmed — waives both deductions in the
            scoring engine (see the module docstring).
        exceeded: at least one "exceeded" mark (``000 §II.2``).
        group: ``focus`` | ``regular`` | ``arising``.
        evidence: for each of ``completed``, ``quality_failures``, ``delays``, ``days_late``,
            ``objective_cause``, ``exceeded``: the record ids behind the number — the approved
            submission; the returns for quality; the late submissions (both for ``delays`` and
            ``days_late``); the confirmed causes; the marks. Each list is in date order.
    """

    task_code: str
    points: Decimal
    completed: bool
    quality_failures: int
    delays: int
    days_late: int
    objective_cause: bool
    exceeded: bool
    group: str
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def record_fields(self) -> dict[str, Any]:
        """The keyword arguments of ``services.evaluation.scoring.TaskRecord`` (exactly
        :data:`RECORD_FIELDS`); ``points`` stays a ``Decimal``, which ``TaskRecord`` converts
        exactly to a ``Fraction``."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


def _by_date(facts: Iterable[Any]) -> list[Any]:
    return sorted(facts, key=lambda f: f.at)


def ledger_line(
    facts: TaskFacts, calendar: WorkCalendar, *, as_of: date | None = None
) -> LedgerLine:
    """The ledger line of one task (rules in the module docstring, ``001 §III.2``, ``002``).

    Args:
        facts: the task's recorded facts.
        calendar: the tenant's working days, for ``days_late``.
        as_of: when given, facts dated after it are ignored (a month closed on its last day
            counts an approval made after it as not completed); ``None`` uses every fact.

    Returns:
        The line; ``points`` and ``group`` are copied from the facts.

    Raises:
        ValueError: the task is ``draft`` or ``cancelled`` (not in :data:`LEDGER_STATUSES`).
    """
    if facts.status not in LEDGER_STATUSES:
        raise ValueError(
            f"task {facts.task_code} is {facts.status}: only assigned work belongs to the ledger"
        )

    def seen(fact: Any) -> bool:
        return as_of is None or fact.at <= as_of

    submissions = _by_date(s for s in facts.submissions if seen(s))
    late = [s for s in submissions if s.at > facts.due_date]
    quality_returns = _by_date(r for r in facts.returns if r.for_quality and seen(r))
    causes = _by_date(c for c in facts.objective_causes if seen(c))
    marks = _by_date(m for m in facts.exceeded_marks if seen(m))

    approved_at = facts.approved_at
    completed = approved_at is not None and (as_of is None or approved_at <= as_of)
    approved = _approved_submission(submissions, approved_at) if completed and approved_at else None

    late_ids = [s.id for s in late]
    return LedgerLine(
        task_code=facts.task_code,
        points=facts.points,
        completed=completed,
        quality_failures=len(quality_returns),
        delays=len(late),
        days_late=sum(calendar.working_days_late(facts.due_date, s.at) for s in late),
        objective_cause=bool(causes),
        exceeded=bool(marks),
        group=str(facts.group),
        evidence={
            "completed": [approved.id] if approved is not None else [],
            "quality_failures": [r.id for r in quality_returns],
            "delays": late_ids,
            "days_late": list(late_ids),
            "objective_cause": [c.id for c in causes],
            "exceeded": [m.id for m in marks],
        },
    )


def points_text(points: Decimal) -> str:
    """Points as exact decimal text without exponent, as ``TASKS.csv`` needs (``28``, ``7.5``).

    Trailing zeros after the point are dropped (``Decimal("7.50")`` → ``7.5``).

    Raises:
        ValueError: negative or not finite, or more than 9 integer digits or 6 decimals after
            dropping trailing zeros (``woms evaluate-month`` would refuse it; points are never
            rounded here).
    """
    if not points.is_finite() or points < 0:
        raise ValueError(f"points: {points} must be a finite number ≥ 0")
    text = "0" if points == 0 else format(points.normalize(), "f")
    if not _POINTS_TEXT.fullmatch(text):
        raise ValueError(
            f"points: {points} does not fit TASKS.csv (≤ 9 digits before and ≤ 6 after the point)"
        )
    return text


def ledger_csv_rows(person_id: str, lines: Iterable[LedgerLine]) -> list[dict[str, str]]:
    """Rows of ``TASKS.csv`` for one person's month (``woms evaluate-month``).

    Each row maps every column of :data:`TASK_CSV_COLUMNS` (in that order) to text: booleans as
    ``1``/``0``, counts as integers, points by :func:`points_text`. Write them with
    ``csv.DictWriter(handle, fieldnames=TASK_CSV_COLUMNS)``.

    Raises:
        ValueError: a blank ``person_id`` or task id, or one with surrounding spaces or a line
            break (the importer reads ids verbatim, one row per line); a task id used twice (its
            points would count twice); points that do not fit (see :func:`points_text`).
    """
    _require_csv_id(person_id, "person_id")
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for line in lines:
        _require_csv_id(line.task_code, "task_id")
        if line.task_code in seen:
            raise ValueError(f"task {line.task_code!r} appears twice for person {person_id!r}")
        seen.add(line.task_code)
        rows.append(
            {
                "person_id": person_id,
                "task_id": line.task_code,
                "points": points_text(line.points),
                "completed": "1" if line.completed else "0",
                "quality_failures": str(line.quality_failures),
                "delays": str(line.delays),
                "days_late": str(line.days_late),
                "objective_cause": "1" if line.objective_cause else "0",
                "exceeded": "1" if line.exceeded else "0",
            }
        )
    return rows
