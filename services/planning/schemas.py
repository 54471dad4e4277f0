"""Pydantic I/O of the planning API (JSON; numbers that matter are decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.common.text import OptionalText, Text

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, the ``total`` matching, and the window asked for."""

    items: list[T]
    total: int
    offset: int
    limit: int


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UnitOut(_Out):
    code: str
    name: str
    axis: str
    type: str
    parent: str | None = None
    head_evaluated_by: str | None = None


class MembershipOut(_Out):
    unit: str
    role: str
    title: str
    start: date
    end: date | None = None


class PersonOut(_Out):
    code: str
    name: str
    email: str | None = None


class PersonDetail(PersonOut):
    memberships: list[MembershipOut]


class CatalogItemOut(_Out):
    code: str
    unit: str
    name: str
    complexity_group: int
    standard_unit: str
    coefficient: Decimal
    effective_from: date


class KeyResultOut(_Out):
    code: str
    title: str
    kind: str
    unit_of_measure: str | None
    direction: str
    baseline: Decimal | None
    target: Decimal | None
    complete_threshold: Decimal | None
    exceed_threshold: Decimal | None
    fail_threshold: Decimal | None
    weight: Decimal
    data_source: str
    evidence_required: bool
    current: Decimal | None
    progress: Decimal | None = Field(None, description="0–1 (may exceed 1 when exceeded)")
    achievement: str | None = None


class ObjectiveOut(_Out):
    code: str
    title: str
    perspective: str
    breakthrough: bool
    weight: Decimal
    progress_source: str
    parent_key_result: str | None
    progress: Decimal | None = None
    status_colour: str | None = None
    key_results: list[KeyResultOut]


class PlanOut(_Out):
    code: str
    owner_unit: str | None
    owner_person: str | None
    period_kind: str
    year: int
    number: int | None
    status: str
    return_reason: str | None = None


class PlanDetail(PlanOut):
    objectives: list[ObjectiveOut]
    issues: list[IssueOut] = Field(
        default_factory=list, description="validation errors and warnings (000 §V.1)"
    )
    progress: Decimal | None = Field(None, description="reported progress, 0–1")
    evaluation_progress: Decimal | None = Field(
        None, description="progress without breakthrough items (004 Phụ lục 4 §3.2)"
    )


class Decision(BaseModel):
    """Body of a plan return: the reason is required (``004 Part A §II``)."""

    reason: OptionalText = Field(None, max_length=2000)


class ProgressIn(BaseModel):
    value: Decimal = Field(allow_inf_nan=False)
    evidence: OptionalText = Field(None, max_length=2000)
    note: OptionalText = Field(None, max_length=2000)


class ProgressOut(_Out):
    old_value: Decimal | None
    new_value: Decimal
    evidence: str | None
    note: str | None
    actor: str
    source: str
    external_id: str | None
    at: datetime


class IngestRecord(BaseModel):
    """One value from an external system, idempotent by ``external_id``."""

    external_id: str = Field(min_length=1, max_length=200)
    key_result: str = Field(min_length=1, max_length=64)
    value: Decimal = Field(allow_inf_nan=False)
    at: datetime | None = None
    note: OptionalText = Field(None, max_length=2000)


class IngestIn(BaseModel):
    records: list[IngestRecord] = Field(min_length=1, max_length=1000)


class IngestOut(BaseModel):
    accepted: int
    duplicates: int


class EvaluatorEdgeOut(BaseModel):
    person: str
    evaluator: str | None
    external: str | None
    unit: str
    basis: str


class LatePlanOut(BaseModel):
    plan: str
    status: str
    due: date
    days_late: int


class PushDownIn(BaseModel):
    """Units (children of the plan's owner) to push a key result down to, and how."""

    units: list[str] = Field(min_length=1, max_length=200)
    mode: str = Field("mandatory", pattern="^(mandatory|suggested)$")


class IssueOut(BaseModel):
    severity: str
    field: str
    message: str


SaneDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
"""A calendar date between 2000-01-01 and 2100-12-31 (far dates are refused with 422)."""
CodeIn = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class DelegationIn(BaseModel):
    """Ủy quyền / a delegation by the head of ``unit`` (on ``start``) to ``delegate`` from
    ``start`` to ``end`` inclusive, for the written ``basis`` (decision or reason)."""

    model_config = ConfigDict(extra="forbid")

    unit: CodeIn
    delegate: CodeIn
    start: SaneDate
    end: SaneDate
    basis: Text = Field(min_length=1, max_length=2000)


class DelegationEndIn(BaseModel):
    """Kết thúc ủy quyền / end a delegation: ``on`` is the last day it holds (default
    yesterday: no longer from today); an optional ``reason``."""

    model_config = ConfigDict(extra="forbid")

    on: SaneDate | None = None
    reason: OptionalText = Field(None, max_length=2000)


class DelegationOut(BaseModel):
    id: int
    unit: str
    delegate: str
    delegated_by: str
    start: date
    end: date
    basis: str
    recorded_by: str
    recorded_at: datetime
    ended_on: date | None = None
    ended_by: str | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
