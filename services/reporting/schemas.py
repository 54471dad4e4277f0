"""Pydantic I/O of the reporting HTTP API (:mod:`services.reporting.api`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
#: Grades and scoreless outcomes a tenant may exclude from additional income (``001 §II.2``).
Excludable = Literal["A", "B", "C", "D", "not_evaluated", "no_tasks"]


class AllocationIn(BaseModel):
    """Thu nhập tăng thêm / a unit's additional-income pool to split (``001 §V.1``)."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=PERIOD_PATTERN, description="Kỳ / period, YYYY-MM")
    pool: int = Field(
        ge=0, le=10**15, strict=True, description="Quỹ của đơn vị / the unit's pool, whole đồng"
    )
    excluded_grades: list[Excludable] | None = Field(
        default=None,
        description="Loại không được hưởng / grades that get nothing (default D, not evaluated, "
        "no tasks)",
    )


class ShareOut(BaseModel):
    """One person's share: ``amount`` in whole đồng, ``quota`` the exact proportional amount
    (a fraction written ``p/q``), the published ``score`` (points) and ``grade``."""

    person: str
    score: str | None
    grade: str
    amount: int
    quota: str
    eligible: bool


class AllocationOut(BaseModel):
    """The split of a unit's pool; ``sum(amount) == pool``."""

    tenant: str
    unit: str
    period: str
    pool: int
    excluded_grades: list[str]
    shares: list[ShareOut]
