"""All SQL of the evaluation service. Functions take a session and never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.evaluation.models import (
    Activity,
    CollectiveEvaluation,
    Evaluation,
    EvaluationEvent,
    FormTemplate,
    UnitDecision,
)


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


# --- read queries of the HTTP API ----------------------------------------------------------


def counts_by_status(session: Session, period: str) -> dict[str, int]:
    """How many evaluations of ``period`` are at each status (``{status: count}``)."""
    rows = session.execute(
        select(Evaluation.status, func.count())
        .where(Evaluation.period == period)
        .group_by(Evaluation.status)
    )
    return {status: int(count) for status, count in rows}


# --- unit decisions and collective evaluations (services.evaluation.unit_service) ----------


def evaluations_of(session: Session, people: list[str], periods: list[str]) -> list[Evaluation]:
    """The evaluations of ``people`` in ``periods``, by person then period."""
    if not people or not periods:
        return []
    return list(
        session.execute(
            select(Evaluation)
            .where(Evaluation.person.in_(people), Evaluation.period.in_(periods))
            .order_by(Evaluation.person, Evaluation.period)
        ).scalars()
    )


def unit_decision(session: Session, unit: str, period: str) -> UnitDecision | None:
    return session.execute(
        select(UnitDecision).where(UnitDecision.unit == unit, UnitDecision.period == period)
    ).scalar_one_or_none()


def collective_evaluation(session: Session, unit: str, period: str) -> CollectiveEvaluation | None:
    return session.execute(
        select(CollectiveEvaluation).where(
            CollectiveEvaluation.unit == unit, CollectiveEvaluation.period == period
        )
    ).scalar_one_or_none()


# --- general-criteria form templates (services.evaluation.forms) ----------------------------


def form_template(session: Session, kind: str, effective_from: date) -> FormTemplate | None:
    """The template version of ``kind`` starting exactly on ``effective_from``."""
    return session.execute(
        select(FormTemplate).where(
            FormTemplate.kind == kind, FormTemplate.effective_from == effective_from
        )
    ).scalar_one_or_none()


def form_template_in_force(session: Session, kind: str, on: date) -> FormTemplate | None:
    """The template of ``kind`` in force on ``on``: the latest starting on or before it."""
    return (
        session.execute(
            select(FormTemplate)
            .where(FormTemplate.kind == kind, FormTemplate.effective_from <= on)
            .order_by(FormTemplate.effective_from.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def form_templates(session: Session) -> list[FormTemplate]:
    """Every installed template version, by kind then date."""
    return list(
        session.execute(
            select(FormTemplate).order_by(FormTemplate.kind, FormTemplate.effective_from)
        ).scalars()
    )
