"""Pydantic I/O of the tasks API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.text import OptionalText, Text

Group = Literal["focus", "regular", "arising"]
CodeStr = str


class TaskFields(BaseModel):
    """The "6 rõ" fields (``000 §V.2``); every one may be missing while the task is a draft."""

    model_config = ConfigDict(extra="forbid")

    name: OptionalText = Field(None, max_length=1000)
    basis: OptionalText = Field(None, max_length=1000, description="directive/document number")
    group: Group | None = None
    key_result: str | None = Field(None, max_length=64)
    lead_unit: str | None = Field(None, max_length=64)
    lead_person: str | None = Field(None, max_length=64, description="exactly one person")
    collaborating_units: list[str] | None = Field(None, max_length=50)
    collaborating_people: list[str] | None = Field(None, max_length=100)
    start_date: date | None = None
    due_date: date | None = None
    output_product: OptionalText = Field(None, max_length=2000)
    quality_criteria: OptionalText = Field(None, max_length=2000)
    catalog_item: str | None = Field(None, max_length=64)
    quantity: Decimal | None = Field(None, ge=0, le=1_000_000, allow_inf_nan=False)


class TaskCreate(TaskFields):
    parent: str | None = Field(None, max_length=64, description="code of the parent task")


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str | None
    basis: str | None
    group: str | None
    key_result: str | None
    lead_unit: str | None
    lead_person: str | None
    collaborating_units: list[str]
    collaborating_people: list[str]
    start_date: date | None
    due_date: date | None
    output_product: str | None
    quality_criteria: str | None
    catalog_item: str | None
    quantity: Decimal | None
    coefficient: Decimal | None
    points: Decimal | None = Field(description="quantity × conversion coefficient (points)")
    period: str | None
    status: str
    assigner: str
    percent: int
    cancel_reason: str | None
    approved_on: date | None
    missing_fields: list[str] = Field(default_factory=list)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: OptionalText = Field(None, max_length=2000)
    for_quality: bool = True
    evidence_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=20
    )
    note: OptionalText = Field(None, max_length=2000)


class ProgressIn(BaseModel):
    percent: int = Field(ge=0, le=100)
    difficulties: OptionalText = Field(None, max_length=2000)
    note: OptionalText = Field(None, max_length=2000)


class PushbackIn(BaseModel):
    topic: Literal["scope", "authority", "resources"]
    text: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    answer: str = Field(min_length=1, max_length=2000)


class CauseIn(BaseModel):
    kind: Literal["quality", "delay"]
    why: str = Field(min_length=1, max_length=2000)


class ExceededIn(BaseModel):
    kind: Literal["ahead_of_time", "higher_quality", "innovation"]
    note: OptionalText = Field(None, max_length=2000)


class RatingIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    size: int
    content_type: str
    filename: str


class LedgerLineOut(BaseModel):
    """One task's inputs of the scoring engine, and the records behind each number."""

    task_id: str
    name: str
    group: str
    points: Decimal
    completed: bool
    quality_failures: int
    delays: int
    days_late: int
    objective_cause: bool
    exceeded: bool
    evidence: dict[str, list[str]]


class LedgerOut(BaseModel):
    person: str | None
    unit: str | None
    period: str
    tasks: list[LedgerLineOut]


class CalendarIn(BaseModel):
    day: date
    title: Text = Field(min_length=1, max_length=1000)
    task: str | None = Field(None, max_length=64)
    note: OptionalText = Field(None, max_length=2000)


class CalendarOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    title: str
    note: str | None


class Moment(BaseModel):
    at: datetime
