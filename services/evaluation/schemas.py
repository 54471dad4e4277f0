"""Request and response bodies of the evaluation HTTP API (pydantic).

Points are exact decimals (JSON numbers or strings, e.g. ``27.5`` or ``"27.5"``); scores and
points in responses are decimal text (``"83.9"``), as stored. Periods are ``YYYY-MM``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from services.common.text import Text

#: ``YYYY-MM`` (years 1900–2099: no date arithmetic overflows) with a month 01–12.
PERIOD_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
#: A collective period: a quarter ``YYYY-Qn`` or a year ``YYYY`` (``004`` Part B §I).
COLLECTIVE_PERIOD_PATTERN = r"^(19|20)\d{2}(-Q[1-4])?$"

#: General-criteria points, 0–30 (``001 §II.1``), at most two decimals.
GeneralPoints = Annotated[Decimal, Field(ge=0, le=30, decimal_places=2, allow_inf_nan=False)]
#: Points of one row of a general-criteria form (checked against the row's maximum by the
#: service, ``001 §II.1``), at most two decimals.
RowPoints = Annotated[Decimal, Field(ge=0, le=30, decimal_places=2, allow_inf_nan=False)]
RowCode = Annotated[Text, Field(min_length=1, max_length=64)]
Comment = Annotated[Text, Field(min_length=1, max_length=4000)]  # NFC, no control chars
Code = Annotated[Text, Field(min_length=1, max_length=64)]  # NFC, no control chars/surrogates
Grade = Literal["A", "B", "C", "D"]

#: How the step's signal to the person's workflow went (see :mod:`services.evaluation.signals`).
Delivery = Literal["sent", "not_running", "pending"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _GeneralIn(_In):
    """General-criteria points (``001 §II.1``): either ``general`` (the total, 0–30) or
    ``rows`` (``{row code: points}`` on the person's form, every row of it; the total is
    their exact sum) — exactly one of them (:meth:`problem`)."""

    general: GeneralPoints | None = None
    rows: dict[RowCode, RowPoints] | None = None

    def problem(self) -> tuple[str, str] | None:
        """``(field, reason)`` when both or neither of ``general`` and ``rows`` are given (the
        API answers 422 at ``body.<field>``), else ``None``."""
        if self.general is not None and self.rows is not None:
            return (
                "rows",
                "chỉ nhập tổng điểm hoặc điểm từng tiêu chí / give general or rows, not both",
            )
        if self.general is None and self.rows is None:
            return "general", "thiếu điểm tiêu chí chung / general points or rows are required"
        return None


class SelfAssessmentIn(_GeneralIn):
    """Tự đánh giá / the person's general-criteria points (``001 §IV.1`` step 2)."""


class ReviewIn(_GeneralIn):
    """Nhận xét / the direct manager's general-criteria points and comment (step 3)."""

    comment: Comment | None = None


class DecisionIn(_In):
    """Xếp loại / the authority's decision on a person's month (``001 §IV.1`` step 4).

    ``general`` or ``rows``: the general-criteria points the authority enters for a month
    without a review (``001 §II.1``: the manager's score counts; refused with 409 when the
    reviewer's points stand, required — 409 ``general`` — when there are none). ``grade``:
    a grade other than the proposed one, only with a written ``reason`` (422 ``reason``)."""

    general: GeneralPoints | None = None
    rows: dict[RowCode, RowPoints] | None = None
    grade: Grade | None = None
    reason: Comment | None = None

    @model_validator(mode="after")
    def _general_or_rows(self) -> DecisionIn:
        if self.general is not None and self.rows is not None:
            raise ValueError(
                "rows: chỉ nhập tổng điểm hoặc điểm từng tiêu chí / give general or rows, not both"
            )
        return self


class AppealIn(_In):
    """Kiến nghị / the person's appeal against the published result (step 5)."""

    reason: Comment


class AppealAnswerIn(_In):
    """Trả lời kiến nghị / the higher level's binding answer: upheld, or changed to
    ``final_grade`` (required when ``upheld`` is false)."""

    upheld: bool
    final_grade: Grade | None = None
    answer: Comment | None = None

    @model_validator(mode="after")
    def _grade_iff_changed(self) -> AppealAnswerIn:
        if not self.upheld and self.final_grade is None:
            raise ValueError("final_grade: a changed result needs the new grade")
        if self.upheld and self.final_grade is not None:
            raise ValueError("final_grade: an upheld result keeps its grade")
        return self


class EvaluationOut(BaseModel):
    """A person's month (``services.evaluation.service.snapshot``): the system's suggestion
    (score, grade, a/b/c as exact fractions), general points (self, manager), the decided score
    and grade, the final grade after the unit quota, flags and the appeal."""

    person: str
    unit: str
    period: str
    status: str
    suggested_score: str | None = None
    suggested_grade: str | None = None
    suggested_a: str | None = None
    suggested_b: str | None = None
    suggested_c: str | None = None
    self_general: str | None = None
    review_general: str | None = None
    review_comment: str | None = None
    score: str | None = None
    grade: str | None = None
    final_grade: str | None = None
    flags: list[str] = Field(default_factory=list)
    appeal_reason: str | None = None
    appeal_answer: str | None = None
    appeal_status: str | None = None
    #: The rows given on the form (``{"form", "kind", "effective_from", "points"}``), when
    #: the general points were given row by row; absent otherwise.
    self_rows: dict[str, Any] | None = None
    review_rows: dict[str, Any] | None = None
    #: A head's d, đ, e (``001 §III.3``): ``proposed``, ``confirmed``, subordinates, conflict
    #: reports; absent for staff.
    leader_factors: dict[str, Any] | None = None
    #: The authority's decision: ``{"by", "general_entered", "proposed_grade", "grade",
    #: "reason"}``; absent before it.
    decision: dict[str, Any] | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """The optional parts appear only when present (as in the stored snapshot).

        No return annotation on purpose: pydantic then keeps the model's own fields as the
        serialization schema (OpenAPI), where ``dict[str, Any]`` would replace them."""
        data: dict[str, Any] = handler(self)
        for name in OPTIONAL_PARTS:
            if data.get(name) is None:
                data.pop(name, None)
        return data


#: Parts of :class:`EvaluationOut` shown only when present.
OPTIONAL_PARTS = ("self_rows", "review_rows", "leader_factors", "decision")


class StepOut(BaseModel):
    """The evaluation after a step, and what became of the signal to its workflow:
    ``sent``; ``not_running`` (no workflow for this person's month: API-only use, or the
    month not started or already finished); ``pending`` (Temporal unreachable: the stored step
    stands, repeat the same call to re-send the signal). ``repeated``: the step was already
    recorded with the same content, nothing was changed."""

    evaluation: EvaluationOut
    workflow: Delivery
    workflow_id: str
    repeated: bool = False
    detail: str | None = None


class HistoryEntryOut(BaseModel):
    """One change: who, when, which action, the evaluation before and after."""

    actor: str
    at: datetime
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class EvaluationListOut(BaseModel):
    """The evaluations of ``unit`` for ``period`` that the caller may read."""

    unit: str
    period: str
    items: list[EvaluationOut]


class QuotaOut(BaseModel):
    """Final grades of the unit's decided evaluations after the excellence quota
    (``001 §II.2.5``) at ``ratio``."""

    unit: str
    period: str
    ratio: str
    final_grades: dict[str, str]


class CycleRunOut(BaseModel):
    """The tenant's month on Temporal: workflow id, run id and Temporal's status name."""

    workflow_id: str
    run_id: str | None
    status: str | None


class CycleProgressOut(BaseModel):
    """Progress of the month: ``workflow`` is the ``progress`` query of the cycle workflow
    (``workflow_status`` ``present``; ``absent`` when the month was never started, or
    ``unavailable`` when Temporal cannot be reached: then ``workflow`` is ``None``);
    ``by_status`` counts the stored evaluations by status (always available)."""

    period: str
    by_status: dict[str, int]
    workflow_status: Literal["present", "absent", "unavailable"]
    workflow: dict[str, Any] | None = None


class PersonWorkflowOut(BaseModel):
    """The person workflow's live ``state`` query (``PersonState``)."""

    workflow_id: str
    state: dict[str, Any]


# --- forms, records, late data (001 §II.1, §V.2; DOMAIN.md §6) -----------------------------


class FormRowOut(BaseModel):
    code: str
    text: str
    max_points: str


class FormSectionOut(BaseModel):
    code: str
    title: str
    max_points: str
    rows: list[FormRowOut]


class FormOut(BaseModel):
    """The general-criteria form a person fills (leader: Phụ lục 1, staff: Phụ lục 2 / Mẫu
    số 03, ``001 §II.1``): sections and rows with their maximum points (decimal text)."""

    code: str
    kind: str
    title: str
    effective_from: str
    sections: list[FormSectionOut]


class UnitRecordsOut(BaseModel):
    """The three records of ``001 §V.2`` for a unit's month: every person's form, the unit's
    summary list and the list proposed for commendation (``services.evaluation.records``)."""

    unit: str
    period: str
    person_forms: list[dict[str, Any]]
    summary: dict[str, Any]
    commendation: dict[str, Any]


class RefreshOut(BaseModel):
    """Late data: ``refreshed`` (ledger and suggestion replaced), ``refused`` (published:
    recorded, only an appeal changes it) or ``unchanged``; the evaluation after."""

    outcome: Literal["refreshed", "refused", "unchanged"]
    evaluation: EvaluationOut


# --- a unit's decision, leaders' factors, the collective (001 §II.2.5, §III.3; 004 B) ------


class UnitDecisionIn(_In):
    """The authority's decision on a unit's month (``001 §IV.1`` step 4): ``ratio`` of A to
    B grades (default 0.2; up to 0.25 only with a ``reason``, ``001 §II.2.5b``), ``groups``
    with similar work (name → people, ``§II.2.5a``), conflict reports per head (factor e,
    ``§III.3c``)."""

    ratio: Annotated[Decimal, Field(allow_inf_nan=False)] | None = None
    reason: Comment | None = None
    groups: dict[Code, list[Code]] | None = None
    conflict_reports: dict[Code, list[Comment]] | None = None
    #: person → general-criteria points (0–30) the authority enters for a month without a
    #: review (``001 §II.1``); required for each such month (409 ``general`` lists them).
    general: dict[Code, GeneralPoints] | None = None
    #: Who keeps A, when the authority chooses differently from the system's proposal
    #: (``001 §II.2.5``): candidates only, within the quota, with ``keep_a_reason``.
    keep_a: list[Code] | None = Field(default=None, max_length=500)
    keep_a_reason: Comment | None = None


class QuotaIn(_In):
    """The authority's choice of who keeps A (``001 §II.2.5``: "hệ thống đề xuất, cấp có thẩm
    quyền quyết định"): ``keep_a`` among the candidates (months graded A), within the quota,
    with a ``reason``; absent: the system's proposal (by score)."""

    keep_a: list[Code] | None = Field(default=None, max_length=500)
    reason: Comment | None = None


class UnitDecisionOut(BaseModel):
    """The unit's decision (``services.evaluation.unit_service.decide_unit``) and, for each
    decided person, what became of the ``decided`` signal (``sent`` / ``not_running`` /
    ``pending``, as :class:`StepOut`)."""

    unit: str
    period: str
    ratio: str
    reason: str | None
    decided: list[str]
    not_ready: list[str]
    final: dict[str, str]
    demoted: dict[str, str]
    #: Who the system proposed to keep A (by score, ``001 §II.2.5``); ``keep_a`` and
    #: ``keep_a_reason``: the authority's choice when it differs (``None`` otherwise).
    proposed_a: list[str] = Field(default_factory=list)
    keep_a: list[str] | None = None
    keep_a_reason: str | None = None
    workflows: dict[str, Delivery]


class UnitListLineOut(BaseModel):
    """One line of a unit's published list: the person, their name, score and grades."""

    person: str
    name: str
    score: str | None
    grade: str | None
    final_grade: str | None


class UnitListOut(BaseModel):
    """Công khai trong đơn vị / the unit's published list of results (``001 §IV.1`` step 5):
    names, scores and grades only — a form's details stay with the person and their
    authorities (``evaluation.read``)."""

    unit: str
    period: str
    items: list[UnitListLineOut]


class LeaderFactorsIn(_In):
    """The authority confirms or overrides a head's đ (unit on plan) and e (unit united),
    ``001 §III.3b–c``; overriding the proposal needs a ``reason``."""

    unit_on_plan: bool
    unit_united: bool
    reason: Comment | None = None


class LeaderProposalIn(_In):
    """Conflict reports of the period for the head's unit (factor e, ``001 §III.3c``)."""

    conflict_reports: list[Comment] = Field(default_factory=list)


class UnplannedIn(_In):
    """Work done outside the plan (``004`` Part B §I)."""

    title: Annotated[str, Field(min_length=1, max_length=500)]
    perspective: Literal["citizens", "finance", "process", "learning"]
    result: Annotated[str, Field(min_length=1, max_length=500)]


class CollectiveIn(_In):
    """A unit's collective evaluation for a quarter or a year (``004`` Part B §I): the
    unplanned work, the authority's ``level`` (A–D, optional) and a comment."""

    unplanned: list[UnplannedIn] = Field(default_factory=list)
    level: Grade | None = None
    comment: Comment | None = None


class CollectiveOut(BaseModel):
    """The stored collective evaluation: completion per perspective and overall (percent,
    decimal text), the unplanned work, proposed and recorded level, the head's linked
    result."""

    unit: str
    period: str
    perspectives: dict[str, Any]
    completion: str | None
    proposed_level: str | None
    unplanned: list[dict[str, Any]]
    level: str | None
    comment: str | None
    head: str | None
    head_result: dict[str, Any] | None
    recorded_by: str
