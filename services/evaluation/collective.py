"""A unit's collective evaluation for a quarter or a year — pure rules, no I/O.

``004`` Part B §I ("Đối với tập thể: các tiêu chí và cách đo lường"): the collective is
measured by the completion of its plan in the four perspectives (1. nhiệm vụ theo sứ mệnh,
2. ngân sách và hiệu quả sử dụng nguồn lực, 3. quy chế, quy trình nội bộ, 4. học hỏi và phát
triển), "sau khi đã loại bỏ mức độ hoàn thành của các nhiệm vụ, mục tiêu có tính chất đột
phá", plus "bản mô tả hay liệt kê mức độ hoàn thành của các nhiệm vụ đã thực hiện nhưng không
thể lập hoặc chưa đưa vào KH" — overall and per perspective. ``004`` Part B §II.1 tiêu chí 2
measures the head by the same plan completion, so the head's result is linked to the unit's
(``DOMAIN.md §8``).

Choices (the source leaves the conversion to points "phù hợp" to each body):

* completion of a perspective = weighted mean of its non-breakthrough objectives' progress by
  their weights (equal weights when a weight is missing or all are zero, as planning's
  roll-up does); overall = the same over all counted objectives; percent, one decimal,
  half-up; objectives without a measurement are listed but not counted;
* unplanned work is listed as given and does not change the figures: it is the evidence the
  authority weighs ("làm cơ sở để đánh giá"), shown beside them;
* the proposed level applies the monthly grade bands to the overall completion in percent
  (A ≥ 90, B ≥ 70, C ≥ 50, else D; ``001 §II.2``); the authority records the level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.evaluation.leaders import ObjectiveStanding
from services.evaluation.scoring import Grade, grade_for, round_half_up

#: The four perspectives in plan order (``004`` Part B §I; planning's ``Perspective``).
PERSPECTIVES = ("citizens", "finance", "process", "learning")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, slots=True)
class UnplannedWork:
    """Work done outside the plan (``004`` Part B §I).

    Attributes:
        title: what was done (Vietnamese).
        perspective: one of :data:`PERSPECTIVES`.
        result: its completion as described, e.g. ``"hoàn thành"``.
    """

    title: str
    perspective: str
    result: str

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("unplanned.title: empty / trống")
        if self.perspective not in PERSPECTIVES:
            raise ValueError(
                f"unplanned.perspective: {self.perspective!r} is not one of {PERSPECTIVES}"
            )


@dataclass(frozen=True, slots=True)
class PerspectiveResult:
    """One perspective: completion in percent (``None`` when nothing counted), the objectives
    counted and those left out (breakthrough, unmeasured), and the unplanned work listed."""

    perspective: str
    completion: Decimal | None
    counted: tuple[str, ...]
    excluded: tuple[str, ...]
    unplanned: tuple[UnplannedWork, ...]


@dataclass(frozen=True, slots=True)
class CollectiveResult:
    """The unit's result: per perspective, overall completion (percent, one decimal) and the
    proposed level (:class:`~services.evaluation.scoring.Grade`, ``None`` without data)."""

    perspectives: tuple[PerspectiveResult, ...]
    completion: Decimal | None
    proposed_level: Grade | None
    unplanned: tuple[UnplannedWork, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form (decimals as text)."""
        return {
            "perspectives": {
                p.perspective: {
                    "completion": None if p.completion is None else str(p.completion),
                    "counted": list(p.counted),
                    "excluded": list(p.excluded),
                    "unplanned": [u.title for u in p.unplanned],
                }
                for p in self.perspectives
            },
            "completion": None if self.completion is None else str(self.completion),
            "proposed_level": self.proposed_level.value if self.proposed_level else None,
            "unplanned": [
                {"title": u.title, "perspective": u.perspective, "result": u.result}
                for u in self.unplanned
            ],
        }


def check_period(period: str) -> str:
    """A collective period: a quarter ``YYYY-Qn`` or a year ``YYYY``.

    Raises:
        ValueError: anything else.
    """
    if not (_QUARTER.fullmatch(period) or _YEAR.fullmatch(period)):
        raise ValueError(f"period: {period!r} is not YYYY-Qn (quý) or YYYY (năm)")
    return period


def months_of(period: str) -> list[str]:
    """The months ``YYYY-MM`` of a quarter or a year (see :func:`check_period`)."""
    check_period(period)
    if match := _QUARTER.fullmatch(period):
        year, quarter = match[1], int(match[2])
        return [f"{year}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]
    return [f"{period}-{m:02d}" for m in range(1, 13)]


def _weighted_mean(items: Sequence[ObjectiveStanding]) -> Fraction | None:
    pairs = [(o.weight, o.progress) for o in items if o.progress is not None]
    if not pairs:
        return None
    if any(w < 0 for w, _ in pairs) or sum(w for w, _ in pairs) == 0:
        pairs = [(Fraction(1), p) for _, p in pairs]
    total = sum((w for w, _ in pairs), Fraction(0))
    return sum((w * p for w, p in pairs), Fraction(0)) / total


def _percent(value: Fraction | None) -> Decimal | None:
    return None if value is None else round_half_up(max(value, Fraction(0)) * 100)


def evaluate(
    objectives: Iterable[ObjectiveStanding], unplanned: Iterable[UnplannedWork] = ()
) -> CollectiveResult:
    """The collective's result (``004`` Part B §I; see the module doc for the choices).

    Raises:
        ValueError: an objective with an unknown perspective.
    """
    objectives = list(objectives)
    unplanned = tuple(unplanned)
    for o in objectives:
        if o.perspective not in PERSPECTIVES:
            raise ValueError(f"objectives.{o.code}.perspective: {o.perspective!r} is unknown")
    counted_all = [o for o in objectives if not o.breakthrough and o.progress is not None]
    results = []
    for perspective in PERSPECTIVES:
        mine = [o for o in objectives if o.perspective == perspective]
        counted = [o for o in mine if not o.breakthrough and o.progress is not None]
        results.append(
            PerspectiveResult(
                perspective=perspective,
                completion=_percent(_weighted_mean(counted)),
                counted=tuple(o.code for o in counted),
                excluded=tuple(o.code for o in mine if o not in counted),
                unplanned=tuple(u for u in unplanned if u.perspective == perspective),
            )
        )
    completion = _percent(_weighted_mean(counted_all))
    return CollectiveResult(
        perspectives=tuple(results),
        completion=completion,
        proposed_level=None if completion is None else grade_for(min(completion, Decimal(100))),
        unplanned=unplanned,
    )


def head_linked(
    head_result: Mapping[str, Any] | None, collective_level: Grade | None
) -> dict[str, Any] | None:
    """The head's result for the period beside the unit's level (``004`` Part B §II.1
    tiêu chí 2): adds ``above_collective`` when the head's grade is better than the unit's,
    for the authority to examine. ``None`` without a head result."""
    if head_result is None:
        return None
    grade = head_result.get("grade")
    order = [g.value for g in Grade]
    above = (
        grade is not None
        and collective_level is not None
        and order.index(grade) < order.index(collective_level.value)
    )
    return {**head_result, "above_collective": above}
