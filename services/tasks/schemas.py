"""Pydantic I/O of the tasks API."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    UrlConstraints,
)

from services.common.text import OptionalText, Text

Group = Literal["focus", "regular", "arising"]
CodeStr = str

MIN_YEAR, MAX_YEAR = 2000, 2099
"""The years a task's dates may fall in (``services.tasks.service.MIN_YEAR``/``MAX_YEAR``)."""


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_only(value: object) -> object:
    """Only a calendar date: ``YYYY-MM-DD`` text or a ``date`` — not a datetime, a timestamp
    number or another text form (pydantic would accept ``2026-06-01T00:00:00`` and numbers)."""
    if isinstance(value, datetime | int | float):  # bool is an int: refused too
        raise ValueError("phải là ngày YYYY-MM-DD / must be a date YYYY-MM-DD")
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("phải là ngày YYYY-MM-DD / must be a date YYYY-MM-DD")
    return value


def _plan_year(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            f"ngày phải trong các năm {MIN_YEAR}–{MAX_YEAR} / the date must be in the years "
            f"{MIN_YEAR}–{MAX_YEAR}"
        )
    return value


TaskDate = Annotated[date, BeforeValidator(_date_only), AfterValidator(_plan_year)]
"""A calendar date ``YYYY-MM-DD`` (a datetime or a number is refused, 422) in the plan years."""

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f]+$")]
"""A planning code (person, unit): 1–64 characters, no space or control character."""


class TaskFields(BaseModel):
    """The "6 rõ" fields (``000 §V.2``); every one may be missing while the task is a draft."""

    model_config = ConfigDict(extra="forbid")

    name: OptionalText = Field(None, max_length=1000)
    basis: OptionalText = Field(None, max_length=1000, description="directive/document number")
    group: Group | None = None
    key_result: str | None = Field(None, max_length=64)
    lead_unit: Code | None = None
    lead_person: Code | None = Field(None, description="exactly one person")
    collaborating_units: list[Code] | None = Field(None, max_length=50)
    collaborating_people: list[Code] | None = Field(None, max_length=50)
    start_date: TaskDate | None = None
    due_date: TaskDate | None = None
    output_product: OptionalText = Field(None, max_length=2000)
    quality_criteria: OptionalText = Field(None, max_length=2000)
    catalog_item: str | None = Field(None, max_length=64)
    quantity: Decimal | None = Field(
        None,
        gt=0,
        le=1_000_000,
        allow_inf_nan=False,
        decimal_places=3,
        description="catalog units, > 0, at most 3 decimals (bounded by the tenant's maximum)",
    )


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
    proposed_by: str | None = None
    evidence_required: bool = True
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
    evidence_links: list[Annotated[HttpUrl, UrlConstraints(max_length=2000)]] = Field(
        default_factory=list,
        max_length=10,
        description="evidence as http(s) links (a document on a shared system), with or "
        "instead of uploaded files",
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
