"""All SQL of the tasks service. Functions take a session and never commit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from services.tasks.ledger import LEDGER_STATUSES
from services.tasks.models import (
    CalendarEntry,
    ProgressNote,
    Pushback,
    Rating,
    Submission,
    Task,
    audit,
)

OPEN = ("assigned", "in_progress", "returned")
GIVEN = tuple(sorted(s.value for s in LEDGER_STATUSES))
"""States of assigned work (``services.tasks.ledger.LEDGER_STATUSES``): not a draft, not a
proposal awaiting acceptance (``DOMAIN.md §4``), not cancelled."""


def task_by_code(session: Session, code: str) -> Task | None:
    return session.execute(select(Task).where(Task.code == code)).scalar_one_or_none()


def tasks(
    session: Session,
    *,
    person: str | None = None,
    unit: str | None = None,
    period: str | None = None,
    status: str | None = None,
) -> list[Task]:
    """Tasks filtered by lead person, lead unit, period and status, by code."""
    stmt = select(Task).order_by(Task.code)
    for column, value in (
        (Task.lead_person, person),
        (Task.lead_unit, unit),
        (Task.period, period),
        (Task.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return list(session.execute(stmt).scalars())


def ledger_tasks(
    session: Session, period: str, *, person: str | None = None, unit: str | None = None
) -> list[Task]:
    """Tasks of ``period`` that were assigned or accepted (:data:`GIVEN`: not a draft, not a
    proposal, not cancelled), with their submissions (and evidence), reviews, objective causes
    and exceeded marks loaded in one query each (the ledger reads them all)."""
    stmt = (
        select(Task)
        .where(Task.period == period, Task.status.in_(GIVEN))
        .order_by(Task.code)
        .options(
            selectinload(Task.submissions).selectinload(Submission.evidence),
            selectinload(Task.reviews),
            selectinload(Task.causes),
            selectinload(Task.exceeded_marks),
        )
    )
    if person:
        stmt = stmt.where(Task.lead_person == person)
    if unit:
        stmt = stmt.where(Task.lead_unit == unit)
    return list(session.execute(stmt).scalars())


def given_points(session: Session, person: str, period: str, *, exclude: int | None) -> Decimal:
    """Σ points of the :data:`GIVEN` tasks ``person`` leads in ``period``, without task id
    ``exclude`` (exact ``Decimal``; 0 when none)."""
    stmt = select(func.coalesce(func.sum(Task.points), 0)).where(
        Task.lead_person == person, Task.period == period, Task.status.in_(GIVEN)
    )
    if exclude is not None:
        stmt = stmt.where(Task.id != exclude)
    return Decimal(str(session.scalar(stmt) or 0))


def open_tasks(
    session: Session, *, person: str | None = None, unit: str | None = None
) -> list[Task]:
    """Open tasks (assigned, in progress, returned) by due date."""
    stmt = select(Task).where(Task.status.in_(OPEN)).order_by(Task.due_date, Task.code)
    if person:
        stmt = stmt.where(Task.lead_person == person)
    if unit:
        stmt = stmt.where(Task.lead_unit == unit)
    return list(session.execute(stmt).scalars())


def overdue_unflagged(session: Session, today: date) -> list[Task]:
    """Open tasks past their due date not yet announced as overdue."""
    return list(
        session.execute(
            select(Task)
            .where(Task.status.in_(OPEN), Task.due_date < today, Task.overdue_notified.is_(False))
            .order_by(Task.code)
        ).scalars()
    )


def task_of_submission(session: Session, submission_id: int) -> Task | None:
    return session.execute(
        select(Task)
        .join(Submission, Submission.task_id == Task.id)
        .where(Submission.id == submission_id)
    ).scalar_one_or_none()


def rating(session: Session, task_id: int, rater: str, ratee: str) -> Rating | None:
    return session.execute(
        select(Rating).where(
            Rating.task_id == task_id, Rating.rater == rater, Rating.ratee == ratee
        )
    ).scalar_one_or_none()


def ratings_of(session: Session, ratee: str, period: str) -> list[Rating]:
    return list(
        session.execute(
            select(Rating).where(Rating.ratee == ratee, Rating.period == period).order_by(Rating.id)
        ).scalars()
    )


def calendar_week(session: Session, person: str, monday: date) -> list[CalendarEntry]:
    return list(
        session.execute(
            select(CalendarEntry)
            .where(
                CalendarEntry.person == person,
                CalendarEntry.day >= monday,
                CalendarEntry.day < monday + timedelta(days=7),
            )
            .order_by(CalendarEntry.day, CalendarEntry.id)
        ).scalars()
    )


def task_notes(session: Session, task_id: int) -> tuple[list[ProgressNote], list[Pushback]]:
    """The progress notes and the push-backs of a task, oldest first."""
    notes = session.execute(
        select(ProgressNote).where(ProgressNote.task_id == task_id).order_by(ProgressNote.id)
    ).scalars()
    pushbacks = session.execute(
        select(Pushback).where(Pushback.task_id == task_id).order_by(Pushback.id)
    ).scalars()
    return list(notes), list(pushbacks)


def task_ratings(session: Session, task_id: int) -> list[Rating]:
    """The coordination ratings given on a task."""
    return list(
        session.execute(
            select(Rating).where(Rating.task_id == task_id).order_by(Rating.id)
        ).scalars()
    )


def task_audit(session: Session, code: str) -> list[Any]:
    """The audit entries of task ``code``: the task's own (``object_id == code``) and those of
    its push-backs, objective causes, exceeded marks and ratings (``object_id`` ``code/…``),
    in chain order."""
    log = audit.log
    stmt = (
        select(log.c.seq, log.c.at, log.c.actor, log.c.action, log.c.object_kind, log.c.after)
        .where(
            or_(
                and_(log.c.object_kind == "task", log.c.object_id == code),
                and_(
                    log.c.object_kind.in_(
                        ("pushback", "objective_cause", "exceeded_mark", "rating")
                    ),
                    log.c.object_id.startswith(f"{code}/", autoescape=True),
                ),
            )
        )
        .order_by(log.c.seq)
    )
    return list(session.execute(stmt))
