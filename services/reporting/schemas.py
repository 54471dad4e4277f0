"""Pydantic I/O of the reporting HTTP API (:mod:`services.reporting.api`)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PERIOD_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
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


# --- goal tree and early warnings (issue 6) -------------------------------------------------

Ratio = str
"""An exact ratio written ``p/q`` (``"1"`` = 100 %)."""
Percent = str
"""A percentage rounded half-up to 0.1, written as text (``"35.9"``)."""


class TrafficLight(BaseModel):
    """Đèn trạng thái (``004 Phụ lục 4 §4.4``): ``colour`` green / amber / red, ``status``
    on_track / at_risk / off_track and the Vietnamese ``label``; all null without a figure."""

    colour: Literal["green", "amber", "red"] | None
    status: Literal["on_track", "at_risk", "off_track"] | None
    label: str | None


class KeyResultOut(TrafficLight):
    """Kết quả then chốt: spec, current value (amounts in ``unit_of_measure``), ``progress``,
    where it came from (``source``: measured / children / missing / invalid), the achievement
    level (``000 §V.1``) and whether it counts in evaluation figures (``okr`` ones do not)."""

    code: str
    title: str
    kind: Literal["kpi", "okr"]
    unit_of_measure: str | None
    direction: Literal["higher", "lower"]
    baseline: str | None
    target: str | None
    weight: str | None
    current: str | None
    progress: Ratio
    progress_percent: Percent
    source: Literal["measured", "children", "missing", "invalid"]
    achievement: Literal["exceeded", "completed", "in_progress", "failed"] | None
    counted_in_evaluation: bool


class ObjectiveOut(TrafficLight):
    """Nhiệm vụ (objective) with its key results and, in ``children``, the objectives of any
    plan serving them; ``evaluation_progress`` null when it is left out of evaluation figures
    (breakthrough, ``004 Part A §II``)."""

    code: str
    title: str
    plan: str
    perspective: Literal["citizens", "finance", "process", "learning"]
    breakthrough: bool
    weight: str | None
    progress_source: Literal["key_results", "children", "both"]
    parent_key_result: str | None
    progress: Ratio | None
    progress_percent: Percent | None
    evaluation_progress: Ratio | None
    evaluation_progress_percent: Percent | None
    counted_in_evaluation: bool
    missing_data: list[str]
    key_results: list[KeyResultOut]
    children: list[ObjectiveOut]


class PerspectiveOut(BaseModel):
    """One axis of the spider chart: a perspective's reported and evaluation progress."""

    perspective: Literal["citizens", "finance", "process", "learning"]
    label: str
    progress: Ratio | None
    progress_percent: Percent | None
    evaluation_progress: Ratio | None
    evaluation_progress_percent: Percent | None


class PlanPeriodOut(BaseModel):
    """A plan's period: kind, year, number and its first and last day."""

    kind: Literal["year", "quarter", "month", "week"]
    year: int
    number: int | None
    start: date
    end: date


class PlanTreeOut(BaseModel):
    """Kế hoạch: its figures (``expected`` = share of the period elapsed), traffic light
    (``colour``, ``status_light``, ``label``), the four perspectives and the objective trees."""

    plan: str
    owner_unit: str | None
    owner_person: str | None
    period: PlanPeriodOut
    status: str
    expected: Ratio
    expected_percent: Percent
    progress: Ratio | None
    progress_percent: Percent | None
    evaluation_progress: Ratio | None
    evaluation_progress_percent: Percent | None
    colour: Literal["green", "amber", "red"] | None
    status_light: Literal["on_track", "at_risk", "off_track"] | None
    label: str | None
    perspectives: list[PerspectiveOut]
    objectives: list[ObjectiveOut]


class GoalCovers(BaseModel):
    """What an answer covers: tenants, the plans' owner units and the plans."""

    tenants: list[str]
    units: list[dict[str, str]]
    plans: list[str]


class GoalTreeOut(BaseModel):
    """Cây mục tiêu of a tenant (or a unit) for a month, on ``today``."""

    tenant: str
    period: str
    today: date
    unit: str | None
    person: str | None
    covers: GoalCovers
    plans: list[PlanTreeOut]


class WarningRulesOut(BaseModel):
    """The tenant's thresholds: due-soon horizon (working days), low progress (ratio), days
    without update (calendar days), points needed for a trend."""

    soon_working_days: int
    low_progress: Ratio
    stale_days: int
    min_trend_points: int


class WarningOut(BaseModel):
    """One early warning: ``kind`` (overdue / due_soon / no_update / projected_miss), the item
    (``item_kind`` task / key_result, ``code``, ``owner``), its figures and the message."""

    kind: Literal["overdue", "due_soon", "no_update", "projected_miss"]
    item_kind: Literal["task", "key_result"]
    code: str
    owner: str
    figures: dict[str, Any]
    message: str


class WarningsOut(BaseModel):
    """Cảnh báo sớm of a tenant (or a unit) for a month, on ``today``."""

    tenant: str
    period: str
    today: date
    unit: str | None
    person: str | None
    covers: GoalCovers
    rules: WarningRulesOut
    counts: dict[str, int]
    #: The counts of the tasks' warnings only (``overdue`` equals the task figures' overdue).
    task_counts: dict[str, int]
    warnings: list[WarningOut]
