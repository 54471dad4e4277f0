"""Evaluation's tables (one database per tenant): each person's month (:class:`Evaluation`),
its history (:class:`EvaluationEvent`, every change with the state before and after), the
idempotency ledger of workflow calls (:class:`Activity`) and the outbox.

People and units are referred to by their planning codes (the planning service owns them;
evaluation never reads planning's or tasks' databases, only their HTTP APIs).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.audit import audit_tables
from services.common.outbox import outbox_table

Exact = Numeric(24, 6, asdecimal=True)
Code = String(64)

#: Statuses of a person's month, in order; ``not_evaluated`` is outside the flow (001 §I.6).
STATUSES = ("opened", "self_assessed", "reviewed", "decided", "published", "not_evaluated")


class Base(DeclarativeBase):
    pass


outbox = outbox_table(Base.metadata)
audit = audit_tables(Base.metadata)  # the audit chain (services/common/audit.py)


class Evaluation(Base):
    """One person's month (``001 §IV.1`` steps 2–5).

    Attributes:
        suggested_score, suggested_grade, suggested_a/b/c: the system's suggestion computed from
            the tasks ledger at opening, with the general criteria at their maximum (30) as a
            placeholder until the manager reviews; a, b, c are exact fractions as text
            (``"26/33"``).
        ledger: the ledger lines the suggestion was computed from (the decision re-scores them).
        self_general: the person's own general-criteria points (0–30).
        self_rows, review_rows: the person's / the manager's points row by row on the general-
            criteria form, when given by rows (``None`` when only a total was given):
            ``{"form": code, "effective_from": "YYYY-MM-DD", "points": {row: "1.5"}}``; the
            general points are then their exact sum (``services.evaluation.forms``).
        review_general: the manager's general-criteria points, the ones that count
            (``001 §II.1``).
        score, grade: decided score and grade before the unit quota.
        final_grade: grade after the excellence quota (``001 §II.2.5``), set at decision.
        flags: e.g. ``self_assessment_missed``, ``review_escalated``, ``general_defaulted``.
        leader_factors: a head's factors d, đ, e (``001 §III.3``), ``None`` for staff:
            ``{"proposed": {"d", "dd", "e": bool, "reasons": {...}}, "confirmed":
            {"dd", "e": bool, "by", "reason"} | None}`` (see ``services.evaluation.leaders``).
        decision: the authority's decision (``001 §IV.1`` step 4), ``None`` before it:
            ``{"by", "general_entered": bool, "proposed_grade", "grade", "reason"}`` —
            ``general_entered`` when the authority entered the general-criteria points of a
            month without a review, ``reason`` the written reason of a grade other than the
            proposed one (``services.evaluation.service.decide``).
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("person", "period", name="uq_evaluation_person_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person: Mapped[str] = mapped_column(Code, index=True)
    unit: Mapped[str] = mapped_column(Code, index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    ledger: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    suggested_score: Mapped[Decimal | None] = mapped_column(Exact)
    suggested_grade: Mapped[str | None] = mapped_column(String(1))
    suggested_a: Mapped[str | None] = mapped_column(String(64))
    suggested_b: Mapped[str | None] = mapped_column(String(64))
    suggested_c: Mapped[str | None] = mapped_column(String(64))
    self_general: Mapped[Decimal | None] = mapped_column(Exact)
    self_rows: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    review_rows: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    review_general: Mapped[Decimal | None] = mapped_column(Exact)
    review_comment: Mapped[str | None] = mapped_column(Text)
    score: Mapped[Decimal | None] = mapped_column(Exact)
    grade: Mapped[str | None] = mapped_column(String(1))
    final_grade: Mapped[str | None] = mapped_column(String(1))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appeal_answer: Mapped[str | None] = mapped_column(Text)
    appeal_status: Mapped[str | None] = mapped_column(String(16))
    leader_factors: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvaluationEvent(Base):
    """One change of an evaluation: who did what when, with the state before and after."""

    __tablename__ = "evaluation_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Activity(Base):
    """An idempotency key already applied (Temporal retries activities at least once): a call
    with a known key returns ``result`` and changes nothing."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnitDecision(Base):
    """The authority's decision on a unit's month (``001 §II.2.5``, ``§IV.1`` step 4): the
    excellence quota ratio used (0.20, or up to 0.25 with ``reason``), the groups with similar
    work it was also applied in, and the final grades (``{person: grade}``)."""

    __tablename__ = "unit_decisions"
    __table_args__ = (UniqueConstraint("unit", "period", name="uq_unit_decision_unit_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(Code, index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    ratio: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    groups: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectiveEvaluation(Base):
    """A unit's collective evaluation for a quarter (``2026-Q2``) or a year (``2026``)
    (``004`` Part B §I; ``DOMAIN.md §8``).

    Attributes:
        perspectives: per perspective: planned completion without breakthrough items and the
            objectives counted (``services.evaluation.collective``).
        completion: overall plan completion, percent (0–100+, one decimal).
        unplanned: the listed work done outside the plan (title, perspective, result).
        proposed_level / level: the system's proposal and the authority's recorded level.
        head, head_result: the unit head and their result for the same period, linked to the
            unit's (``004`` Part B §II.1 tiêu chí 2).
    """

    __tablename__ = "collective_evaluations"
    __table_args__ = (
        UniqueConstraint("unit", "period", name="uq_collective_evaluation_unit_period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(Code, index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    perspectives: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completion: Mapped[Decimal | None] = mapped_column(Exact)
    unplanned: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposed_level: Mapped[str | None] = mapped_column(String(1))
    level: Mapped[str | None] = mapped_column(String(1))
    comment: Mapped[str | None] = mapped_column(Text)
    head: Mapped[str | None] = mapped_column(Code)
    head_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FormTemplate(Base):
    """A version of the tenant's general-criteria form (``001 §II.1``: Phụ lục 1 for leaders,
    Phụ lục 2 / Mẫu số 03 of ``002`` for staff): the one of ``kind`` in force for a period is
    the latest with ``effective_from`` on or before the period's first day. ``content`` is
    :func:`services.evaluation.forms.template_as_data` (sections, rows, maxima as text)."""

    __tablename__ = "form_templates"
    __table_args__ = (
        UniqueConstraint("kind", "effective_from", name="uq_form_template_kind_effective"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Code, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    installed_by: Mapped[str] = mapped_column(String(200))
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
