"""The goal tree's figures — pure rules, exact arithmetic (``fractions.Fraction``, 1 = 100 %).

Reporting answers from its read models (the plans, objectives and key results projected from
``vn.woms.planning.plan.defined.v1`` and ``keyresult.progressed.v1``) and may not import the
planning service, so the planning rules are restated here; the integration test
``tests/integration/test_reporting_goal_tree.py`` checks that both give the same figures for
the Hà Nội goal tree of ``002``. The rules and their sources:

* **Key result progress** (``004 Phụ lục 4 §4.3``): higher is better
  ``(value − baseline) / (target − baseline)`` (``value / target`` without a baseline); lower is
  better ("chỉ số nghịch", formula of ``DOMAIN.md §2``) ``target / value`` (value 0: the cap, or
  100 % when the target is 0); clamped to ``[0, cap]``, cap 150 %. No value and no child
  objective serving it: progress 0, ``source="missing"``. A spec that cannot be measured (no
  target, target not above the baseline …): 0, ``source="invalid"``.
* **Achievement** (``000 §V.1``): ``exceeded`` / ``completed`` / ``in_progress`` / ``failed``
  against the exceed, completion (else target) and fail thresholds, mirrored for lower is
  better.
* **Objective** (``004 Phụ lục 4 §4.3`` step 2): weighted mean ``Σ(P_i × w_i) / Σ w_i`` of its
  key results (``key_results``), of its child objectives (``children``), or the mean of both
  parts (``both``, children already used as a key result's measurement left out). Missing,
  negative or all-zero weights: equal weights.
* **Cascade** (``004 Phụ lục 4 §3.3``): a key result without its own value takes the weighted
  mean of the child objectives serving it (``source="children"``).
* **Breakthrough items** (``004 Part A §II``, ``004 Phụ lục 4 §3.2``): reported figures count
  everything; evaluation figures leave out breakthrough objectives (with their subtree) and
  ``okr`` key results, re-normalising the weights; an objective with nothing left is itself
  left out (progress ``None``).
* **Traffic light** (``004 Phụ lục 4 §4.4``, ``DOMAIN.md §9``): expected progress is the
  share of the plan's period elapsed at the end of the day (days inclusive); green when
  progress ≥ expected − 10 points, amber down to expected − 25 points, red below.
* **Four perspectives** (``004 Part A §II`` mục 1–4, the spider chart of ``DOMAIN.md §8``):
  the weighted mean of the plan's counted objectives of each perspective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

__all__ = [
    "AT_RISK_GAP",
    "OFF_TRACK_GAP",
    "PERSPECTIVES",
    "PROGRESS_CAP",
    "KeyResultFigures",
    "KeyResultNode",
    "ObjectiveFigures",
    "ObjectiveNode",
    "PlanFigures",
    "achievement",
    "colour",
    "expected_progress",
    "key_result_progress",
    "plan_figures",
]

PROGRESS_CAP = Fraction(3, 2)
AT_RISK_GAP = Fraction(1, 10)
OFF_TRACK_GAP = Fraction(1, 4)
#: The four perspectives in plan order with their Vietnamese labels (``004 Part A §II``).
PERSPECTIVES: dict[str, str] = {
    "citizens": "Đối tượng phục vụ và các bên liên quan (nhiệm vụ theo sứ mệnh)",
    "finance": "Ngân sách và hiệu quả sử dụng nguồn lực",
    "process": "Quy chế, quy định, quy trình nội bộ",
    "learning": "Học hỏi và phát triển",
}
#: Traffic light → (status, Vietnamese label).
COLOURS: dict[str, tuple[str, str]] = {
    "green": ("on_track", "Đúng tiến độ"),
    "amber": ("at_risk", "Có nguy cơ chậm"),
    "red": ("off_track", "Chậm tiến độ"),
}
Source = Literal["measured", "children", "missing", "invalid"]


@dataclass(frozen=True, slots=True)
class KeyResultNode:
    """A key result as the read model holds it; amounts in its ``unit_of_measure``;
    ``direction`` ``"higher"`` / ``"lower"`` / ``None`` (= higher); ``weight`` in %;
    ``value`` the current value or ``None``."""

    code: str
    title: str = ""
    kind: str = "kpi"
    unit_of_measure: str | None = None
    direction: str | None = "higher"
    baseline: Decimal | None = None
    target: Decimal | None = None
    complete_threshold: Decimal | None = None
    exceed_threshold: Decimal | None = None
    fail_threshold: Decimal | None = None
    weight: Decimal | None = None
    value: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ObjectiveNode:
    """An objective with its key results and the objectives (of any plan) serving them."""

    code: str
    title: str = ""
    plan: str = ""
    perspective: str = "citizens"
    breakthrough: bool = False
    weight: Decimal | None = None
    progress_source: str = "key_results"
    parent_key_result: str | None = None
    key_results: tuple[KeyResultNode, ...] = ()
    children: tuple[ObjectiveNode, ...] = ()


@dataclass(frozen=True, slots=True)
class KeyResultFigures:
    """A key result's ``progress`` (ratio), where it came from (``source``), its
    ``achievement`` (``None`` without a value or with unusable thresholds), whether it
    ``counted`` in its objective's figure, and its traffic light ``colour``."""

    node: KeyResultNode
    progress: Fraction
    source: Source
    achievement: str | None
    counted: bool
    colour: str | None


@dataclass(frozen=True, slots=True)
class ObjectiveFigures:
    """An objective's ``progress`` (``None`` in evaluation figures when nothing below it is
    evaluated), ``counted`` in its parent, ``colour``, ``missing_data`` (key results without
    data) and the figures below it."""

    node: ObjectiveNode
    progress: Fraction | None
    counted: bool
    colour: str | None
    key_results: tuple[KeyResultFigures, ...]
    children: tuple[ObjectiveFigures, ...]
    missing_data: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """A plan's figures: ``progress`` (weighted mean of the counted objectives), ``expected``
    progress today, ``colour``, ``by_perspective`` (every perspective a key, ``None`` without
    a counted objective) and the objectives."""

    evaluation: bool
    progress: Fraction | None
    expected: Fraction
    colour: str | None
    by_perspective: dict[str, Fraction | None]
    objectives: tuple[ObjectiveFigures, ...]


def key_result_progress(
    kr: KeyResultNode, value: Decimal | Fraction, cap: Fraction = PROGRESS_CAP
) -> Fraction:
    """Progress of ``kr`` at ``value`` as a ratio in ``[0, cap]`` (rules in the module doc).

    Raises:
        ValueError: no target; higher is better with ``target <= baseline`` (or ``<= 0``
            without a baseline); lower is better with a negative target or value.
    """
    if kr.target is None:
        raise ValueError(f"key result {kr.code}: no target")
    target, current = Fraction(kr.target), Fraction(value)
    if kr.direction == "lower":
        if target < 0 or current < 0:
            raise ValueError(f"key result {kr.code}: lower-is-better values must be >= 0")
        raw = (cap if target > 0 else Fraction(1)) if current == 0 else target / current
    elif kr.baseline is not None:
        baseline = Fraction(kr.baseline)
        if target <= baseline:
            raise ValueError(f"key result {kr.code}: target must be above the baseline")
        raw = (current - baseline) / (target - baseline)
    else:
        if target <= 0:
            raise ValueError(f"key result {kr.code}: target must be > 0 without a baseline")
        raw = current / target
    return min(max(raw, Fraction(0)), cap)


def achievement(kr: KeyResultNode, value: Decimal | Fraction) -> str:
    """``exceeded`` / ``completed`` / ``failed`` / ``in_progress`` of ``value`` against the
    thresholds of ``kr`` (``000 §V.1``; the completion threshold defaults to the target).

    Raises:
        ValueError: no completion threshold nor target, or thresholds contradicting the
            direction.
    """
    complete = kr.complete_threshold if kr.complete_threshold is not None else kr.target
    if complete is None:
        raise ValueError(f"key result {kr.code}: no completion threshold nor target")
    sign = -1 if kr.direction == "lower" else 1
    c, v = sign * Fraction(complete), sign * Fraction(value)
    e = None if kr.exceed_threshold is None else sign * Fraction(kr.exceed_threshold)
    f = None if kr.fail_threshold is None else sign * Fraction(kr.fail_threshold)
    if (e is not None and e < c) or (f is not None and f >= c):
        raise ValueError(f"key result {kr.code}: thresholds contradict the direction")
    if e is not None and v >= e and v > c:
        return "exceeded"
    if v >= c:
        return "completed"
    if f is not None and v <= f:
        return "failed"
    return "in_progress"


def expected_progress(start: date, end: date, today: date) -> Fraction:
    """Share of ``start``…``end`` elapsed at the end of ``today`` (days inclusive), in
    ``[0, 1]``.

    Raises:
        ValueError: ``end < start``.
    """
    if end < start:
        raise ValueError("period end is before its start")
    if today < start:
        return Fraction(0)
    if today >= end:
        return Fraction(1)
    return Fraction((today - start).days + 1, (end - start).days + 1)


def colour(progress: Fraction, expected: Fraction) -> str:
    """``green`` / ``amber`` / ``red`` (gaps of 10 and 25 points behind ``expected``)."""
    if progress >= expected - AT_RISK_GAP:
        return "green"
    if progress >= expected - OFF_TRACK_GAP:
        return "amber"
    return "red"


def _mean(items: Sequence[tuple[Decimal | None, Fraction]]) -> Fraction | None:
    """Weighted mean of ``(weight, value)``; equal weights when a weight is unusable."""
    if not items:
        return None
    weights = [w for w, _ in items]
    if any(w is None or w < 0 for w in weights) or sum(w for w in weights if w) == 0:
        return sum((v for _, v in items), Fraction(0)) / len(items)
    total = sum(Fraction(w) for w in weights if w is not None)
    return sum((Fraction(w) * v for w, v in items if w is not None), Fraction(0)) / total


def _pairs(figures: Sequence[ObjectiveFigures]) -> list[tuple[Decimal | None, Fraction]]:
    return [(f.node.weight, f.progress) for f in figures if f.progress is not None]


class _Roller:
    def __init__(self, evaluation: bool, expected: Fraction | None) -> None:
        self.evaluation, self.expected = evaluation, expected

    def colour(self, progress: Fraction | None) -> str | None:
        if progress is None or self.expected is None:
            return None
        return colour(progress, self.expected)

    def objective(self, node: ObjectiveNode) -> ObjectiveFigures:
        if self.evaluation and node.breakthrough:
            reported = _Roller(False, self.expected).objective(node)
            return replace(reported, counted=False)
        children = tuple(self.objective(child) for child in node.children)
        krs: list[KeyResultFigures] = []
        used: set[str] = set()
        for kr in node.key_results:
            linked = [
                c
                for c, n in zip(children, node.children, strict=True)
                if n.parent_key_result == kr.code
            ]
            figures = self.key_result(kr, linked)
            if figures.source == "children":
                used.update(c.node.code for c in linked)
            krs.append(figures)
        kr_part = _mean([(k.node.weight, k.progress) for k in krs if k.counted])
        pool = [c for c in children if c.counted and c.progress is not None]
        if node.progress_source == "both":
            pool = [c for c in pool if c.node.code not in used]
        children_part = _mean(_pairs(pool))
        if node.progress_source == "key_results":
            parts = [kr_part]
        elif node.progress_source == "children":
            parts = [children_part]
        else:
            parts = [kr_part, children_part]
        present = [p for p in parts if p is not None]
        progress: Fraction | None
        if present:
            progress = sum(present, Fraction(0)) / len(present)
        elif self.evaluation and (
            any(not k.counted for k in krs) or any(not c.counted for c in children)
        ):
            progress = None
        else:
            progress = Fraction(0)
        return ObjectiveFigures(
            node=node,
            progress=progress,
            counted=progress is not None,
            colour=self.colour(progress),
            key_results=tuple(krs),
            children=children,
            missing_data=tuple(k.node.code for k in krs if k.source == "missing"),
        )

    def key_result(self, kr: KeyResultNode, linked: Sequence[ObjectiveFigures]) -> KeyResultFigures:
        counted = not (self.evaluation and kr.kind == "okr")
        level: str | None = None
        source: Source
        if kr.value is not None:
            try:
                progress, source = key_result_progress(kr, kr.value), "measured"
            except ValueError:
                progress, source = Fraction(0), "invalid"
            else:
                try:
                    level = achievement(kr, kr.value)
                except ValueError:
                    level = None
        else:
            usable = [c for c in linked if c.counted and c.progress is not None]
            mean = _mean(_pairs(usable))
            if mean is not None:
                progress, source = min(mean, PROGRESS_CAP), "children"
            else:
                progress, source = Fraction(0), "missing"
        return KeyResultFigures(kr, progress, source, level, counted, self.colour(progress))


def plan_figures(
    objectives: Sequence[ObjectiveNode],
    period_start: date,
    period_end: date,
    today: date,
    *,
    evaluation: bool,
) -> PlanFigures:
    """Figures of a plan's objective trees on ``today`` (clamped into the period, as planning
    does): reported (``evaluation=False``, everything counts) or evaluation figures
    (breakthrough objectives and ``okr`` key results left out).

    Raises:
        ValueError: ``period_end < period_start``.
    """
    day = min(max(today, period_start), period_end)
    expected = expected_progress(period_start, period_end, day)
    roller = _Roller(evaluation, expected)
    figures = tuple(roller.objective(o) for o in objectives)
    counted = [f for f in figures if f.counted and f.progress is not None]
    progress = _mean(_pairs(counted))
    by_perspective = {
        p: _mean(_pairs([f for f in counted if f.node.perspective == p])) for p in PERSPECTIVES
    }
    return PlanFigures(
        evaluation=evaluation,
        progress=progress,
        expected=expected,
        colour=roller.colour(progress),
        by_perspective=by_perspective,
        objectives=figures,
    )


def values_of(objectives: Sequence[ObjectiveNode]) -> Mapping[str, Decimal | None]:
    """Every key result's value in the trees (code → value), for tests and warnings."""
    out: dict[str, Decimal | None] = {}
    stack = list(objectives)
    while stack:
        node = stack.pop()
        out.update((k.code, k.value) for k in node.key_results)
        stack.extend(node.children)
    return out
