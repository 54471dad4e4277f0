"""The input shapes of the exports — pydantic models of plain data (no I/O).

The shared kernel may not import a service, so the three records of ``001 §V.2`` are
re-stated here exactly as ``services/evaluation/records.py`` produces them (points, scores and
percentages as decimal text such as ``"83.9"``, a/b/c as exact fractions such as ``"26/33"``):

* ``person_form`` — record 1, the self-assessment form (Mẫu số 03, ``001 §II.1``);
* ``unit_summary`` — record 2, the unit's monthly summary list;
* ``commendation_list`` — record 3, the commendation list.

Two shapes are defined here:

* ``person_card`` — the person's monthly card of ``002`` ("Báo cáo nhiệm vụ được giao"): tasks
  and points by task group, total tasks and points, tasks done, a, b, c in points out of the
  total, the task result in %, score, grade;
* ``provincial_summary`` — the summary to the provincial standing office of ``003`` (Phụ lục
  chi tiết, row 10: "Định kỳ hằng tháng tổng hợp báo cáo Thường trực Tỉnh ủy; 3 tháng báo cáo
  sơ kết tình hình kết quả thực hiện công việc của cán bộ, công chức, viên chức"): one line per
  unit with people, evaluated, grades A–D, not evaluated, tasks total/done/late and the sum of
  the scores (points), for a month (``"2026-06"``) or a quarter (``"2026-Q3"``).

Every model rejects unknown keys, missing keys, wrong values and totals that do not add up with
a pydantic ``ValidationError``; :func:`services.common.exports.loading.load_record` turns it
into an ``InputError`` naming file, line and column.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")


def _as_text(value: object) -> object:
    """Numbers given as JSON numbers (parsed as Decimal/int) are kept as their exact text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    return value


def _decimal_text(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"không phải số / not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"không phải số hữu hạn / not a finite number: {value!r}")
    return value


def _fraction_text(value: str) -> str:
    try:
        Fraction(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"không phải phân số / not a fraction: {value!r}") from exc
    return value


def _month(value: str) -> str:
    if not _MONTH.match(value):
        raise ValueError(f"tháng phải dạng YYYY-MM / period must be YYYY-MM: {value!r}")
    return value


#: Exact decimal text (``"83.9"``); a JSON number is accepted and kept exactly.
DecimalText = Annotated[str, BeforeValidator(_as_text), AfterValidator(_decimal_text)]
#: Exact fraction text (``"26/33"``, ``"1"``).
FractionText = Annotated[str, BeforeValidator(_as_text), AfterValidator(_fraction_text)]
Month = Annotated[str, AfterValidator(_month)]
GradeCode = Literal["A", "B", "C", "D"]
Status = Literal["opened", "self_assessed", "reviewed", "decided", "published", "not_evaluated"]


def _nfc(value: Any) -> Any:
    """Text in NFC (precomposed): Vietnamese typed in NFD (base letter + combining marks)
    would otherwise be drawn and extracted letter by letter."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _normalized(cls, data: Any) -> Any:
        return _nfc(data)


class FormRef(_Model):
    code: str
    kind: str
    title: str
    effective_from: str


class FormRow(_Model):
    code: str
    text: str
    max_points: DecimalText
    self_points: DecimalText | None = None
    manager_points: DecimalText | None = None


class FormSection(_Model):
    code: str
    title: str
    max_points: DecimalText
    self_points: DecimalText | None = None
    manager_points: DecimalText | None = None
    rows: list[FormRow]

    @model_validator(mode="after")
    def _totals_match_rows(self) -> FormSection:
        """A section total given with every row's points must equal their sum."""
        for field in ("self_points", "manager_points"):
            total = getattr(self, field)
            points = [getattr(row, field) for row in self.rows]
            if total is not None and points and all(p is not None for p in points):
                exact = sum((Decimal(p) for p in points), Decimal(0))
                if Decimal(total) != exact:
                    raise ValueError(
                        f"{field} = {total} khác tổng các dòng / differs from the rows' sum "
                        f"{format(exact, 'f')}"
                    )
        return self


class GeneralPoints(_Model):
    max_points: DecimalText
    self_points: DecimalText | None = None
    manager_points: DecimalText | None = None


class TaskResult(_Model):
    a: FractionText
    b: FractionText
    c: FractionText
    d: FractionText | None = None
    dd: FractionText | None = None
    e: FractionText | None = None
    percent: DecimalText


class PersonForm(_Model):
    """Record 1 of ``001 §V.2`` (``records.person_form``)."""

    record: Literal["person_form"]
    title: str
    person: str
    name: str | None = None
    unit: str
    period: Month
    status: Status
    form: FormRef | None = None
    sections: list[FormSection]
    general: GeneralPoints
    task_result: TaskResult | None = None
    score: DecimalText | None = None
    grade: GradeCode | None = None
    grade_label: str | None = None
    final_grade: GradeCode | None = None
    final_grade_label: str | None = None
    review_comment: str | None = None
    flags: list[str] = []


class SummaryLine(_Model):
    no: int
    person: str
    name: str | None = None
    status: Status
    self_general: DecimalText | None = None
    review_general: DecimalText | None = None
    task_result: DecimalText | None = None
    score: DecimalText | None = None
    grade: GradeCode | None = None
    final_grade: GradeCode | None = None
    final_grade_label: str | None = None
    flags: list[str] = []


class UnitSummary(_Model):
    """Record 2 of ``001 §V.2`` (``records.unit_summary``)."""

    record: Literal["unit_summary"]
    title: str
    unit: str
    period: Month
    #: ``False`` when the source holds no general points nor task result (the reporting read
    #: models): the list then has no such columns instead of blank ones.
    general_points: bool = True
    lines: list[SummaryLine]
    by_final_grade: dict[GradeCode, int]
    not_evaluated: int
    undecided: int
    total: int

    @model_validator(mode="after")
    def _counts_match_lines(self) -> UnitSummary:
        if self.total != len(self.lines):
            raise ValueError(
                f"total = {self.total} nhưng có / but there are {len(self.lines)} lines"
            )
        return self


class CommendationLine(_Model):
    no: int
    person: str
    name: str | None = None
    score: DecimalText | None = None
    final_grade: Literal["A"]
    final_grade_label: str
    reason: str


class CommendationList(_Model):
    """Record 3 of ``001 §V.2`` (``records.commendation_list``)."""

    record: Literal["commendation_list"]
    title: str
    unit: str
    period: Month
    lines: list[CommendationLine]
    total: int

    @model_validator(mode="after")
    def _count_matches_lines(self) -> CommendationList:
        if self.total != len(self.lines):
            raise ValueError(
                f"total = {self.total} nhưng có / but there are {len(self.lines)} lines"
            )
        return self


class CardGroup(_Model):
    """One task group of the card: tasks and points assigned; optionally the tasks done and
    the points completed (read models)."""

    group: str
    tasks: int
    points: DecimalText
    tasks_done: int | None = None
    points_completed: DecimalText | None = None


class PersonCard(_Model):
    """The monthly card of ``002`` ("Báo cáo nhiệm vụ được giao"; "Bảng điểm đánh giá kết quả
    công việc"): ``groups`` by task group; ``tasks``/``points`` the month's totals (they must
    equal the groups' sums); ``a``, ``b``, ``c`` the points completed / of quality / on time out
    of ``points``; ``task_percent`` = (a + b + c) / 3 in % (``001 §III.4``).

    ``points_completed`` (points of the tasks done) and ``tasks_late``, ``tasks_overdue``,
    ``tasks_returned`` are optional: the card built from the reporting read models carries them
    but no a, b, c (the read models hold no quality and delay deductions, nor objective causes),
    so a, b, c and ``task_percent`` are optional too and are then left out of the card."""

    record: Literal["person_card"]
    person: str
    name: str
    unit: str | None = None
    period: Month
    groups: list[CardGroup]
    tasks: int
    points: DecimalText
    tasks_done: int
    points_completed: DecimalText | None = None
    tasks_late: int | None = None
    tasks_overdue: int | None = None
    tasks_returned: int | None = None
    a: DecimalText | None = None
    b: DecimalText | None = None
    c: DecimalText | None = None
    task_percent: DecimalText | None = None
    general: DecimalText | None = None
    score: DecimalText | None = None
    grade: GradeCode | None = None
    grade_label: str | None = None

    @model_validator(mode="after")
    def _totals_match_groups(self) -> PersonCard:
        tasks = sum(g.tasks for g in self.groups)
        points = sum((Decimal(g.points) for g in self.groups), Decimal(0))
        if tasks != self.tasks:
            raise ValueError(f"tasks = {self.tasks} khác tổng các nhóm / groups' sum {tasks}")
        if Decimal(self.points) != points:
            raise ValueError(
                f"points = {self.points} khác tổng các nhóm / groups' sum {format(points, 'f')}"
            )
        done = [g.tasks_done for g in self.groups if g.tasks_done is not None]
        if self.groups and len(done) == len(self.groups) and sum(done) != self.tasks_done:
            raise ValueError(
                f"tasks_done = {self.tasks_done} khác tổng các nhóm / groups' sum {sum(done)}"
            )
        completed = [g.points_completed for g in self.groups]
        if self.points_completed is not None and self.groups and None not in completed:
            exact = sum((Decimal(c) for c in completed if c is not None), Decimal(0))
            if Decimal(self.points_completed) != exact:
                raise ValueError(
                    f"points_completed = {self.points_completed} khác tổng các nhóm / groups' "
                    f"sum {format(exact, 'f')}"
                )
        return self


class UnitLine(_Model):
    unit: str
    people: int
    evaluated: int
    A: int
    B: int
    C: int
    D: int
    not_evaluated: int
    tasks: int
    tasks_done: int
    tasks_late: int
    score_total: DecimalText

    @model_validator(mode="after")
    def _counts_add_up(self) -> UnitLine:
        if self.evaluated != self.A + self.B + self.C + self.D:
            raise ValueError("A + B + C + D khác số được đánh giá / differs from evaluated")
        if self.evaluated + self.not_evaluated > self.people:
            raise ValueError("evaluated + not_evaluated vượt số người / exceeds people")
        if self.tasks_done > self.tasks or self.tasks_late > self.tasks:
            raise ValueError("tasks_done / tasks_late vượt tổng nhiệm vụ / exceed tasks")
        return self


class ProvincialSummary(_Model):
    """The summary to the provincial standing office of ``003`` (Phụ lục, row 10): ``kind``
    ``monthly`` with ``period`` ``YYYY-MM``, or ``quarterly`` (the 3-monthly "sơ kết") with
    ``YYYY-Qn``; ``addressee`` defaults to "Thường trực Tỉnh ủy"."""

    record: Literal["provincial_summary"]
    kind: Literal["monthly", "quarterly"]
    province: str
    reporter: str
    addressee: str = "Thường trực Tỉnh ủy"
    period: str
    units: list[UnitLine]

    @model_validator(mode="after")
    def _period_matches_kind(self) -> ProvincialSummary:
        pattern = _MONTH if self.kind == "monthly" else _QUARTER
        if not pattern.match(self.period):
            shape = "YYYY-MM" if self.kind == "monthly" else "YYYY-Qn"
            raise ValueError(f"period phải dạng / must be {shape} for {self.kind}")
        return self


class RankingLine(_Model):
    """One unit of a cross-unit ranking: its rank (``None``: no value on the axis), its
    tenant's and its own printed name, the value on the axis and its task and grade counts."""

    rank: int | None = None
    tenant: str
    unit: str
    value: DecimalText | None = None
    tasks: int
    tasks_done: int
    tasks_overdue: int
    graded: int
    A: int

    @model_validator(mode="after")
    def _rank_needs_value(self) -> RankingLine:
        if (self.rank is None) != (self.value is None):
            raise ValueError("rank và value cùng có hoặc cùng trống / rank and value go together")
        if self.tasks_done > self.tasks or self.tasks_overdue > self.tasks or self.graded < self.A:
            raise ValueError("số đếm vượt tổng / a count exceeds its total")
        return self


class UnitRanking(_Model):
    """The ranking of units of ``tenants`` for central bodies (``DOMAIN.md §9``): ``axis`` its
    Vietnamese label, ``percent`` whether values are % (else counts), lines by rank."""

    record: Literal["unit_ranking"]
    title: str
    period: Month
    axis: str
    percent: bool
    tenants: list[str]
    lines: list[RankingLine]

    @model_validator(mode="after")
    def _ranked_first(self) -> UnitRanking:
        ranks = [line.rank for line in self.lines]
        known = [r for r in ranks if r is not None]
        if ranks[: len(known)] != known or known != sorted(known):
            raise ValueError("các hạng phải tăng dần, đơn vị chưa xếp hạng ở cuối / ranks ascend")
        return self


Record = PersonForm | UnitSummary | CommendationList | PersonCard | ProvincialSummary | UnitRanking
#: The model of each ``record`` kind.
MODELS: dict[str, type[Record]] = {
    "person_form": PersonForm,
    "unit_summary": UnitSummary,
    "commendation_list": CommendationList,
    "person_card": PersonCard,
    "provincial_summary": ProvincialSummary,
    "unit_ranking": UnitRanking,
}
