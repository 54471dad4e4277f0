"""All SQL of the evaluation service. Functions take a session and never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evaluation.models import Activity, Evaluation, EvaluationEvent


def evaluation_of(session: Session, person: str, period: str) -> Evaluation | None:
    """The person's month, if opened (or recorded as not evaluated)."""
    return session.execute(
        select(Evaluation).where(Evaluation.person == person, Evaluation.period == period)
    ).scalar_one_or_none()


def evaluations_of_unit(
    session: Session, unit: str, period: str, *, status: str | None = None
) -> list[Evaluation]:
    """The unit's evaluations of ``period`` by person code, optionally of one status."""
    stmt = (
        select(Evaluation)
        .where(Evaluation.unit == unit, Evaluation.period == period)
        .order_by(Evaluation.person)
    )
    if status is not None:
        stmt = stmt.where(Evaluation.status == status)
    return list(session.execute(stmt).scalars())


def evaluations_of_period(session: Session, period: str) -> list[Evaluation]:
    return list(
        session.execute(
            select(Evaluation).where(Evaluation.period == period).order_by(Evaluation.person)
        ).scalars()
    )


def history(session: Session, evaluation_id: int) -> list[EvaluationEvent]:
    """The evaluation's changes, oldest first."""
    return list(
        session.execute(
            select(EvaluationEvent)
            .where(EvaluationEvent.evaluation_id == evaluation_id)
            .order_by(EvaluationEvent.id)
        ).scalars()
    )


def activity(session: Session, key: str) -> Activity | None:
    return session.execute(select(Activity).where(Activity.key == key)).scalar_one_or_none()


def add_activity(session: Session, key: str, name: str, result: Any, at: datetime) -> None:
    session.add(Activity(key=key, name=name, result=result, at=at))
    session.flush()
