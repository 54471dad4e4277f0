"""Planning's tables (one database per tenant): org chart, work catalog, objectives and key
results, progress log, and the outbox.

Numbers that matter (weights, coefficients, targets, values) are exact ``Numeric``; dates are
calendar dates in the tenant's time zone.
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

from services.common.outbox import outbox_table

Exact = Numeric(24, 6, asdecimal=True)


class Base(DeclarativeBase):
    pass


outbox = outbox_table(Base.metadata)


class Unit(Base):
    """An org unit (``DOMAIN.md §1``): axis party/council/committee/front/public_service."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    axis: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    head_evaluated_by: Mapped[str | None] = mapped_column(String(300))

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id")


class Position(Base):
    """A job position (vị trí việc làm) of a unit."""

    __tablename__ = "positions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))


class Person(Base):
    """A cadre, civil servant, public employee or contract worker (CBCCVC)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))


class Membership(Base):
    """A person's post in a unit over a date range (history kept; ``end`` null = current).

    ``in_charge_of`` (deputies only; JSON list of unit or position codes of the tenant, null =
    none): the field the deputy is in charge of (``DOMAIN.md §4``; ``docs/tenant-file.md``)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "unit_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    in_charge_of: Mapped[list[str] | None] = mapped_column(JSON)

    person: Mapped[Person] = relationship()
    unit: Mapped[Unit] = relationship()


class Delegation(Base):
    """A delegation by a unit's head (``DOMAIN.md §4``: "a delegation by the head — to a named
    person, for a period, recorded — counts as the head's"): ``delegate`` holds the head's
    authority over the work of ``unit`` from ``start`` to ``end`` inclusive, or to
    ``ended_on`` when it was ended early (``ended_on < start``: it never held).

    ``delegated_by`` is the unit's head on ``start``; ``basis`` the written reason or decision
    (e.g. "Quyết định số 12/QĐ-VHXH, nghỉ phép năm"); ``recorded_by`` the subject who recorded
    it (the head, a tenant administrator, or ``onboarding``) at ``recorded_at``; ``ended_by`` /
    ``ended_at`` / ``end_reason`` who ended it, when and why."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("unit_id", "delegate_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    delegated_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_on: Mapped[date | None] = mapped_column(Date)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship()
    delegate: Mapped[Person] = relationship(foreign_keys=[delegate_id])
    delegated_by: Mapped[Person] = relationship(foreign_keys=[delegated_by_id])

    def last_day(self) -> date:
        """The last day the delegation holds (``end``, or ``ended_on`` when earlier)."""
        return self.end if self.ended_on is None else min(self.end, self.ended_on)

    def holds_on(self, day: date) -> bool:
        """Whether the delegation holds on ``day``."""
        return self.start <= day <= self.last_day()


class EvaluatorOverride(Base):
    """A tenant's explicit override of the derived evaluator relation (``001 §II.3``)."""

    __tablename__ = "evaluator_overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    external: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)


class CatalogItem(Base):
    """A work catalog item version (``001 §III.1``): applies from ``effective_from`` until the
    next version of the same code."""

    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("code", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(300))
    complexity_group: Mapped[int] = mapped_column(Integer)
    standard_unit: Mapped[str] = mapped_column(String(100))
    coefficient: Mapped[Decimal] = mapped_column(Exact)
    effective_from: Mapped[date] = mapped_column(Date)


class Plan(Base):
    """A plan of a unit or a person for a year, quarter, month or week (``004 Part A §II``)."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    owner_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    period_kind: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    return_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="plan", order_by="Objective.position"
    )


class Objective(Base):
    """An objective (nhiệm vụ) with 1–5 key results (``004 Part A §II``)."""

    __tablename__ = "objectives"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    perspective: Mapped[str] = mapped_column(String(16))
    breakthrough: Mapped[bool] = mapped_column(Boolean)
    weight: Mapped[Decimal] = mapped_column(Exact)
    progress_source: Mapped[str] = mapped_column(String(16))
    parent_key_result_id: Mapped[int | None] = mapped_column(
        ForeignKey("key_results.id", use_alter=True, name="fk_objectives_parent_key_result")
    )

    plan: Mapped[Plan] = relationship(back_populates="objectives")
    key_results: Mapped[list[KeyResult]] = relationship(
        back_populates="objective",
        order_by="KeyResult.position",
        foreign_keys="KeyResult.objective_id",
    )


class KeyResult(Base):
    """A key result (mục tiêu then chốt): KPI or breakthrough OKR (``000 §V.1``)."""

    __tablename__ = "key_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8))
    unit_of_measure: Mapped[str | None] = mapped_column(String(50))
    direction: Mapped[str] = mapped_column(String(8))
    baseline: Mapped[Decimal | None] = mapped_column(Exact)
    target: Mapped[Decimal | None] = mapped_column(Exact)
    complete_threshold: Mapped[Decimal | None] = mapped_column(Exact)
    exceed_threshold: Mapped[Decimal | None] = mapped_column(Exact)
    fail_threshold: Mapped[Decimal | None] = mapped_column(Exact)
    weight: Mapped[Decimal] = mapped_column(Exact)
    data_source: Mapped[str] = mapped_column(String(100))
    evidence_required: Mapped[bool] = mapped_column(Boolean)
    current: Mapped[Decimal | None] = mapped_column(Exact)
    pushed_from_id: Mapped[int | None] = mapped_column(ForeignKey("key_results.id"))
    pushdown: Mapped[str | None] = mapped_column(String(16))  # mandatory | suggested

    objective: Mapped[Objective] = relationship(
        back_populates="key_results", foreign_keys=[objective_id]
    )


class ProgressUpdate(Base):
    """One logged change of a key result's value (old, new, evidence, note, who, when)."""

    __tablename__ = "progress_updates"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key_result_id: Mapped[int] = mapped_column(ForeignKey("key_results.id"), index=True)
    old_value: Mapped[Decimal | None] = mapped_column(Exact)
    new_value: Mapped[Decimal] = mapped_column(Exact)
    evidence: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100))  # manual | system:<name>
    external_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoleGrant(Base):
    """A role granted to a subject of the tenant (issue 9, ``docs/identity.md``): ``subject``
    is a person code or an account that is not a person (e.g. ``admin``); ``role`` is
    ``tenant_admin``, ``central`` or ``external_body``; ``body`` names the external body an
    ``external_body`` grant acts for; the grant holds from ``start`` to ``end`` inclusive
    (``None`` = unbounded)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("subject", "role", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(String(300))
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
