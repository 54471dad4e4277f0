"""Tasks' tables (one database per tenant): tasks with their "6 rõ" fields, submissions and
evidence, reviews, objective causes, exceeded marks, progress notes, push-backs, coordination
ratings, the weekly work calendar, and the outbox.

People, units, catalog items and key results are referred to by their planning codes (the
planning service owns them; tasks never reads planning's database).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.audit import audit_tables
from services.common.outbox import outbox_table

Exact = Numeric(24, 6, asdecimal=True)
Code = String(64)


class Base(DeclarativeBase):
    pass


outbox = outbox_table(Base.metadata)
audit = audit_tables(Base.metadata)  # the audit chain (services/common/audit.py)


class Task(Base):
    """A task (``000 §V.2``): one lead person, points = quantity × conversion coefficient."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Code, unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(String(16))
    key_result: Mapped[str | None] = mapped_column(Code)
    lead_unit: Mapped[str | None] = mapped_column(Code, index=True)
    lead_person: Mapped[str | None] = mapped_column(Code, index=True)
    collaborating_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    collaborating_people: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    output_product: Mapped[str | None] = mapped_column(Text)
    quality_criteria: Mapped[str | None] = mapped_column(Text)
    catalog_item: Mapped[str | None] = mapped_column(Code)
    quantity: Mapped[Decimal | None] = mapped_column(Exact)
    coefficient: Mapped[Decimal | None] = mapped_column(Exact)
    points: Mapped[Decimal | None] = mapped_column(Exact)
    period: Mapped[str | None] = mapped_column(String(7), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    assigner: Mapped[str] = mapped_column(Code)
    """Who assigned it (``assign``) or accepted its proposal (``accept``): an authority over
    the lead (``DOMAIN.md §4``); until then, its creator."""
    proposed_by: Mapped[str | None] = mapped_column(Code)
    """Who created it (the draft's author, who may ``propose`` it); ``None`` on tasks created
    before this column (migration 0003)."""
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether a submission must carry evidence (``000 §VI.4``): from the catalog item's
    ``evidence_required`` (planning) or the tenant's ``tasks.evidence_exempt_items``."""
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    percent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_update_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_on: Mapped[date | None] = mapped_column(Date)
    overdue_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    submissions: Mapped[list[Submission]] = relationship(order_by="Submission.id")
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")
    causes: Mapped[list[ObjectiveCause]] = relationship(order_by="ObjectiveCause.id")
    exceeded_marks: Mapped[list[ExceededMark]] = relationship(order_by="ExceededMark.id")


class Submission(Base):
    """A product submitted for review; late when after the due date (``001 §III.2``)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(Code)
    note: Mapped[str | None] = mapped_column(Text)
    days_late: Mapped[int] = mapped_column(Integer, default=0)
    links: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    """Evidence given as links (http/https URLs of documents on a shared or specialised
    system, ``000`` "dữ liệu đã có trên hệ thống dùng chung"); ``None`` on older rows."""

    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id")


class Evidence(Base):
    """An evidence file (minh chứng) of a submission, stored by content hash."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(Code)
    key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(300))


class Review(Base):
    """A decision on a submission: approved, or returned with a reason (for quality or not)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    decision: Mapped[str] = mapped_column(String(16))
    for_quality: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Code)
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ObjectiveCause(Base):
    """An authority's confirmation of an objective cause on a failure or delay (``001 §III.2``)."""

    __tablename__ = "objective_causes"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    why: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Code)
    on: Mapped[date] = mapped_column(Date)


class ExceededMark(Base):
    """Work exceeding expectations: ahead of time, higher quality, innovation (``000 §II.2``)."""

    __tablename__ = "exceeded_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Code)
    on: Mapped[date] = mapped_column(Date)


class ProgressNote(Base):
    """A progress update with percentage and difficulties (khó khăn, vướng mắc)."""

    __tablename__ = "progress_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    percent: Mapped[int] = mapped_column(Integer)
    difficulties: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Code)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Pushback(Base):
    """The assignee's push-back on an unclear task, and the assigner's answer."""

    __tablename__ = "pushbacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    topic: Mapped[str] = mapped_column(String(16))  # scope | authority | resources
    text: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Code)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(Code)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Rating(Base):
    """A coordination rating (360°, ``000 §IV.4``): 1–5 with a comment, editable until the
    period closes."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("task_id", "rater", "ratee"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    rater: Mapped[str] = mapped_column(Code)
    ratee: Mapped[str] = mapped_column(Code, index=True)
    ratee_kind: Mapped[str] = mapped_column(String(8))  # person | unit
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarEntry(Base):
    """A line of a person's weekly work calendar."""

    __tablename__ = "calendar_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    person: Mapped[str] = mapped_column(Code, index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    note: Mapped[str | None] = mapped_column(Text)


class ClosedPeriod(Base):
    """A period closed for edits of ratings (set when the evaluation cycle publishes)."""

    __tablename__ = "closed_periods"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
