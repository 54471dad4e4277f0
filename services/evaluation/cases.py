"""Scoring and quota cases in the JSON format of ``shared/golden/`` (the ``woms score`` and
``woms quota`` contract).

A case is parsed with exact decimals (``parse_float=Decimal``), validated with pydantic, and
every error is reported as an :class:`~services.common.errors.InputError` naming the file, the
line and column of the offending value (found with ``json-source-map``), the field and reason.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

import json_source_map
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.errors import InputError
from services.evaluation.scoring import (
    DelayPenaltyUnit,
    Grade,
    LeaderFactors,
    MonthlyResult,
    ScoringRules,
    Status,
    TaskRecord,
    apply_quota,
    grade_for,
    score_month,
)

NonNegInt = Annotated[int, Field(ge=0, strict=True)]
Points = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseTask(_Strict):
    """One task of a scoring case (``shared/golden/README.md``)."""

    points: Points
    completed: bool = Field(strict=True)
    quality_failures: NonNegInt = 0
    delays: NonNegInt = 0
    days_late: NonNegInt = 0
    objective_cause: bool = Field(default=False, strict=True)
    exceeded: bool = Field(default=False, strict=True)
    group: Literal["focus", "regular", "arising"] | None = None
    id: str | None = None
    name: str | None = None


class CasePerson(_Strict):
    role: Literal["staff", "leader"]
    id: str | None = None
    name: str | None = None


class CaseLeaderFactors(_Strict):
    all_subordinates_pass: bool = Field(strict=True)
    unit_on_plan: bool = Field(strict=True)
    unit_united: bool = Field(strict=True)


class CaseRules(_Strict):
    delay_penalty_unit: DelayPenaltyUnit = DelayPenaltyUnit.PER_DELAY
    excellent_requires_exceeding: bool = Field(default=False, strict=True)
    excellent_quota_ratio: Annotated[Decimal, Field(ge=0, le=Decimal("0.25"))] = Decimal("0.2")


class ScoringCase(_Strict):
    """One person's month (``shared/golden/scoring/*.json``; ``expect`` is ignored)."""

    person: CasePerson
    working_days: Annotated[int, Field(gt=0, strict=True)]
    days_worked: NonNegInt
    general_score: Annotated[Decimal, Field(ge=0, le=30, allow_inf_nan=False)]
    tasks: list[CaseTask]
    leader_factors: CaseLeaderFactors | None = None
    rules: CaseRules = CaseRules()
    id: str | None = None
    source: str | None = None
    expect: dict[str, Any] | None = None


class QuotaCase(_Strict):
    """One unit's rounded scores (``shared/golden/quota/*.json``; ``expect`` is ignored)."""

    ratio: Annotated[Decimal, Field(ge=0, le=Decimal("0.25"))]
    scores: dict[str, Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]]
    id: str | None = None
    source: str | None = None
    expect: dict[str, Any] | None = None


def _load(path: Path, model: type[BaseModel]) -> Any:
    """Read and validate ``path`` as ``model``.

    Raises:
        InputError: unreadable file, invalid JSON, or a value the model rejects — with the
            1-based line and column of the value (or of its enclosing object when missing).
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, None, None, "file", f"cannot read: {exc}") from exc
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(name, exc.lineno, exc.colno, "json", exc.msg) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        line, column = _locate(text, loc)
        raise InputError(name, line, column, ".".join(loc) or "case", error["msg"]) from exc


def _locate(text: str, loc: list[str]) -> tuple[int | None, int | None]:
    """1-based line and column of the JSON value at ``loc``, or of its nearest existing parent."""
    positions = json_source_map.calculate(text)
    for depth in range(len(loc), -1, -1):
        pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in loc[:depth])
        entry = positions.get(pointer)
        if entry is not None:
            start = entry.value_start
            return start.line + 1, start.column + 1
    return None, None


def load_scoring_case(path: Path) -> ScoringCase:
    """Parse a scoring case file. Raises :class:`InputError` (see :func:`_load`)."""
    case: ScoringCase = _load(path, ScoringCase)
    text = path.read_text(encoding="utf-8")
    if case.person.role == "leader" and case.leader_factors is None:
        line, column = _locate(text, ["person", "role"])
        raise InputError(str(path), line, column, "leader_factors", "required for role leader")
    if case.person.role == "staff" and case.leader_factors is not None:
        line, column = _locate(text, ["leader_factors"])
        raise InputError(str(path), line, column, "leader_factors", "only for role leader")
    if case.days_worked > case.working_days:
        line, column = _locate(text, ["days_worked"])
        raise InputError(str(path), line, column, "days_worked", "exceeds working_days")
    return case


def load_quota_case(path: Path) -> QuotaCase:
    """Parse a quota case file. Raises :class:`InputError` (see :func:`_load`)."""
    return _load(path, QuotaCase)


def load_rules(path: Path) -> CaseRules:
    """Parse a ``RULES.json`` of tenant scoring settings. Raises :class:`InputError`."""
    return _load(path, CaseRules)


def case_rules(case: ScoringCase) -> ScoringRules:
    """The tenant settings of a case (defaults where absent, ``DOMAIN.md §5``)."""
    return ScoringRules(
        delay_penalty_unit=case.rules.delay_penalty_unit,
        excellent_requires_exceeding=case.rules.excellent_requires_exceeding,
        excellent_quota_ratio=Fraction(case.rules.excellent_quota_ratio),
    )


def task_records(case: ScoringCase) -> list[TaskRecord]:
    """The case's tasks as ledger records (points exact)."""
    return [
        TaskRecord(
            points=Fraction(t.points),
            completed=t.completed,
            quality_failures=t.quality_failures,
            delays=t.delays,
            days_late=t.days_late,
            objective_cause=t.objective_cause,
            exceeded=t.exceeded,
            group=t.group,
        )
        for t in case.tasks
    ]


def score_case(case: ScoringCase) -> MonthlyResult:
    """Score a parsed case with :func:`services.evaluation.scoring.score_month`."""
    leader = None
    if case.leader_factors is not None:
        leader = LeaderFactors(**case.leader_factors.model_dump())
    return score_month(
        task_records(case),
        general_score=Fraction(case.general_score),
        working_days=case.working_days,
        days_worked=case.days_worked,
        leader=leader,
        rules=case_rules(case),
    )


def quota_case(case: QuotaCase) -> dict[str, Grade]:
    """Final grades of a quota case: grades from the scores, then
    :func:`services.evaluation.scoring.apply_quota` (``001 §II.2``, ``§II.2.5``)."""
    graded = {person: (score, grade_for(score)) for person, score in case.scores.items()}
    return apply_quota(graded, case.ratio)


def ratio_value(value: Fraction) -> float:
    """An exact ratio as a JSON number rounded half-up to 6 decimals (golden-file precision)."""
    micro = (2 * value.numerator * 10**6 + value.denominator) // (2 * value.denominator)
    return float(Decimal(micro).scaleb(-6))


def result_json(result: MonthlyResult) -> dict[str, Any]:
    """The ``expect`` object of a golden case for ``result``: ``status`` and, when evaluated,
    ``a``, ``b``, ``c`` (``d``, ``dd``, ``e`` for leaders), ``task_result`` (ratios 0–1, 6
    decimals), ``score`` (points, one decimal) and ``grade``."""
    out: dict[str, Any] = {"status": result.status.value}
    if result.status is not Status.EVALUATED:
        return out
    for key in ("a", "b", "c", "d", "dd", "e", "task_result"):
        value = getattr(result, key)
        if value is not None:
            out[key] = ratio_value(value)
    assert result.score is not None and result.grade is not None
    out["score"] = float(result.score)
    out["grade"] = result.grade.value
    return out
