"""Roll-up of progress over an objective tree (goal tree, cascade), for reports and evaluation.

Pure functions over :class:`~services.common.goals.okr.ObjectiveSpec` trees and a mapping
``key-result code → current value`` (``Decimal`` in the key result's unit of measure). Exact
arithmetic: every figure is a ``fractions.Fraction`` ratio, ``1`` = 100 %.

Rules and the choices made where the sources are silent:

1. **Key result progress** — :func:`services.common.goals.progress.key_result_progress`
   (``004 Phụ lục 4 §4.3``), capped at ``cap`` (default 150 %). A key result with no value in the
   mapping (missing or ``None``) and no linked child objective has **no data**: progress 0,
   ``source="missing"``, listed in ``missing_data`` and in the notes.
2. **Objective from key results** — weighted mean of its key results' progress by their
   weights (``004 Phụ lục 4 §4.3`` step 2: ``Σ(P_i × w_i) / Σ w_i``). Dividing by the sum of the
   weights counted re-normalises the weights when items are excluded.
3. **Objective from children** — weighted mean of its child objectives' progress by the
   children's weights.
4. **Both** — the mean of the two parts, each weighted as above: ``(KR part + children part) / 2``
   (the two sets of weights each sum to 100, so this equals weights over the union with each
   part scaled to 50 %). When one part is empty the other alone is used. Children already used
   as a key result's measurement (rule 5) are left out of the children part so they are not
   counted twice.
5. **Cascade** (``004 Phụ lục 4 §3.3``, "Cascading Goals": a parent's target is pushed down to
   the child units, which must carry it): a child objective names the parent key result it
   serves (``parent_key_result``). A parent key result **with a direct measurement** uses it (the
   parent's own figure is authoritative, e.g. a city-wide indicator from a system). A parent key
   result **without a measurement** takes the weighted mean of the progress of the child
   objectives linked to it (``source="children"``). Children linked to no key result of the
   parent only count through ``children`` / ``both``; under ``key_results`` they are reported
   with a note. Roll-up runs recursively up the whole tree.
6. **Breakthrough items** (``004 Part A §II``: "các nhiệm vụ này sẽ không dùng để đánh giá,
   nhận xét thành tích của tập thể và cá nhân"; ``004 Phụ lục 4 §3.2``: a bonus, never a
   penalty). :func:`reported_progress` counts everything. :func:`evaluation_progress` leaves
   out every objective with ``breakthrough=True`` (with its subtree) and, by default, every key
   result of kind ``okr`` (``DOMAIN.md §2``: a key result is "either a KPI or a breakthrough
   OKR"; Part A §II excludes breakthrough "nhiệm vụ, mục tiêu then chốt"). Pass
   ``okr_key_results_are_breakthrough=False`` to exclude only flagged objectives. Excluded items
   keep their (reported) progress in the result with ``counted=False``; the remaining weights
   are re-normalised. An objective with nothing left to evaluate has ``progress=None`` and is
   itself left out of its parent.
7. Missing or unusable weights (``None``, negative, or all zero) among siblings: equal weights
   are used and a note says so (:mod:`services.planning.validation` reports them as errors).
8. A key result whose spec cannot be measured (e.g. no target) gets progress 0,
   ``source="invalid"`` and a note; the roll-up does not raise for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from services.common.goals.okr import (
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    ProgressSource,
    StatusColour,
)
from services.common.goals.progress import (
    DEFAULT_AT_RISK_GAP,
    DEFAULT_OFF_TRACK_GAP,
    PROGRESS_CAP,
    Achievement,
    achievement,
    expected_progress,
    key_result_progress,
    status_colour,
)

__all__ = [
    "DateContext",
    "KeyResultProgress",
    "KeyResultSource",
    "ObjectiveProgress",
    "PlanProgress",
    "evaluation_progress",
    "objective_progress",
    "reported_progress",
    "roll_up",
]

KeyResultSource = Literal["measured", "children", "missing", "invalid"]
"""Where a key result's progress came from (see the module rules 1, 5, 8)."""

Mode = Literal["reported", "evaluation"]

Values = Mapping[str, Decimal | int | None]

NOTE_BREAKTHROUGH = "Nhiệm vụ đột phá: chỉ theo dõi, không dùng để đánh giá (004 Phần A §II)"
NOTE_OKR_EXCLUDED = (
    "Mục tiêu then chốt đột phá (OKR): chỉ theo dõi, không dùng để đánh giá (004 Phần A §II)"
)
NOTE_NOTHING_TO_EVALUATE = "Không còn nội dung để đánh giá sau khi loại các mục đột phá"


@dataclass(frozen=True, slots=True)
class DateContext:
    """The period and the day a figure is computed for, giving expected progress and colours.

    ``at_risk_gap`` / ``off_track_gap`` are the tenant's traffic-light boundaries (ratios,
    defaults 10 % and 25 %, see :func:`services.common.goals.progress.status_colour`).
    """

    period_start: date
    period_end: date
    today: date
    at_risk_gap: Fraction = DEFAULT_AT_RISK_GAP
    off_track_gap: Fraction = DEFAULT_OFF_TRACK_GAP

    @property
    def expected(self) -> Fraction:
        """Expected progress at the end of ``today`` (ratio in ``[0, 1]``)."""
        return expected_progress(self.period_start, self.period_end, self.today)

    def colour(self, progress: Fraction) -> StatusColour:
        """Traffic light of ``progress`` against :attr:`expected`."""
        return status_colour(
            progress,
            self.expected,
            at_risk_gap=self.at_risk_gap,
            off_track_gap=self.off_track_gap,
        )


@dataclass(frozen=True, slots=True)
class KeyResultProgress:
    """Progress of one key result.

    - ``progress``: ratio in ``[0, cap]`` (``1`` = 100 %).
    - ``current``: the value used (``None`` when there was none).
    - ``source``: :data:`KeyResultSource`.
    - ``achievement``: level from the thresholds (``None`` without a measurement or when the
      thresholds are unusable).
    - ``counted``: whether it counts in its objective's figure (``False`` for an ``okr`` key
      result in evaluation figures).
    - ``colour``: traffic light when a :class:`DateContext` was given.
    """

    code: str
    kind: KeyResultKind
    weight: Decimal | None
    current: Decimal | int | None
    progress: Fraction
    source: KeyResultSource
    achievement: Achievement | None
    counted: bool
    colour: StatusColour | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectiveProgress:
    """Progress of one objective and of everything below it.

    - ``progress``: ratio in ``[0, cap]``; ``None`` only in evaluation figures when every item
      below it is a breakthrough item.
    - ``key_results_part`` / ``children_part``: the two weighted means (``None`` when empty or
      not used by ``progress_source``).
    - ``counted``: whether it counts in its parent's (or the plan's) figure.
    - ``missing_data``: codes of its key results with no data.
    - ``expected`` / ``colour``: when a :class:`DateContext` was given.
    """

    code: str
    title: str
    perspective: Perspective
    breakthrough: bool
    weight: Decimal | None
    progress_source: ProgressSource
    progress: Fraction | None
    key_results_part: Fraction | None
    children_part: Fraction | None
    key_results: tuple[KeyResultProgress, ...]
    children: tuple[ObjectiveProgress, ...]
    counted: bool
    expected: Fraction | None
    colour: StatusColour | None
    missing_data: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """Figures of a set of sibling objectives (a plan).

    - ``mode``: ``"reported"`` (everything) or ``"evaluation"`` (breakthrough items excluded).
    - ``progress``: weighted mean of the counted objectives by their weights (ratio), ``None``
      when none is counted.
    - ``by_perspective``: the same per perspective (spider chart, ``DOMAIN.md §8–9``), every
      :class:`Perspective` present as a key, ``None`` when it has no counted objective.
    """

    mode: Mode
    progress: Fraction | None
    by_perspective: dict[Perspective, Fraction | None] = field(hash=False)
    objectives: tuple[ObjectiveProgress, ...]
    expected: Fraction | None
    colour: StatusColour | None
    notes: tuple[str, ...] = ()


def _pairs(objectives: Sequence[ObjectiveProgress]) -> list[tuple[Decimal | None, Fraction]]:
    return [(o.weight, o.progress) for o in objectives if o.progress is not None]


def _weighted_mean(
    items: Sequence[tuple[Decimal | None, Fraction]],
) -> tuple[Fraction | None, str | None]:
    """Weighted mean of ``(weight, value)`` pairs; equal weights when a weight is unusable."""
    if not items:
        return None, None
    weights = [w for w, _ in items]
    if any(w is None or w < 0 for w in weights) or sum(w for w in weights if w) == 0:
        mean = sum((v for _, v in items), Fraction(0)) / len(items)
        return mean, "Thiếu hoặc sai trọng số: dùng trọng số bằng nhau"
    total = sum(Fraction(w) for w in weights if w is not None)
    return sum((Fraction(w) * v for w, v in items if w is not None), Fraction(0)) / total, None


class _Roller:
    def __init__(
        self,
        values: Values,
        *,
        evaluation: bool,
        dates: DateContext | None,
        cap: Fraction,
        okr_key_results_are_breakthrough: bool,
    ) -> None:
        if cap < 1:
            raise ValueError(f"cap must be at least 1 (100 %), got {cap}")
        self.values = values
        self.evaluation = evaluation
        self.dates = dates
        self.expected = dates.expected if dates is not None else None
        self.cap = cap
        self.okr_excluded = okr_key_results_are_breakthrough

    def colour(self, progress: Fraction | None) -> StatusColour | None:
        if self.dates is None or progress is None:
            return None
        return self.dates.colour(progress)

    def objective(self, spec: ObjectiveSpec) -> ObjectiveProgress:
        if self.evaluation and spec.breakthrough:
            reported = _Roller(
                self.values,
                evaluation=False,
                dates=self.dates,
                cap=self.cap,
                okr_key_results_are_breakthrough=self.okr_excluded,
            ).objective(spec)
            return replace(reported, counted=False)
        return self._objective(spec)

    def _key_result(
        self, kr: KeyResultSpec, linked: Sequence[ObjectiveProgress]
    ) -> KeyResultProgress:
        notes: list[str] = []
        counted = not (self.evaluation and self.okr_excluded and kr.kind == KeyResultKind.OKR)
        if not counted:
            notes.append(NOTE_OKR_EXCLUDED)
        current = self.values.get(kr.code)
        level: Achievement | None = None
        source: KeyResultSource
        if current is not None:
            try:
                progress = key_result_progress(kr, current, cap=self.cap)
                source = "measured"
                if linked:
                    notes.append(
                        "Dùng số liệu trực tiếp; nhiệm vụ cấp dưới "
                        + ", ".join(c.code for c in linked)
                        + " chỉ để theo dõi (004 Phụ lục 4 §3.3)"
                    )
            except ValueError as exc:
                progress, source = Fraction(0), "invalid"
                notes.append(f"Không tính được tiến độ: {exc}")
            else:
                try:
                    level = achievement(kr, current)
                except ValueError as exc:
                    notes.append(f"Không xác định được mức đạt: {exc}")
        else:
            usable = [c for c in linked if c.counted and c.progress is not None]
            if usable:
                mean, note = _weighted_mean(_pairs(usable))
                assert mean is not None
                progress, source = min(mean, self.cap), "children"
                notes.append(
                    "Chưa có số liệu trực tiếp: tính từ nhiệm vụ cấp dưới "
                    + ", ".join(c.code for c in usable)
                    + " (004 Phụ lục 4 §3.3)"
                )
                if note:
                    notes.append(note)
            else:
                progress, source = Fraction(0), "missing"
                notes.append("Chưa có số liệu: tiến độ tạm tính 0%")
        return KeyResultProgress(
            code=kr.code,
            kind=kr.kind,
            weight=kr.weight,
            current=current,
            progress=progress,
            source=source,
            achievement=level,
            counted=counted,
            colour=self.colour(progress),
            notes=tuple(notes),
        )

    def _objective(self, spec: ObjectiveSpec) -> ObjectiveProgress:
        notes: list[str] = []
        if spec.breakthrough:
            notes.append(NOTE_BREAKTHROUGH)
        children = tuple(self.objective(child) for child in spec.children)
        by_code = {kr.code for kr in spec.key_results}
        krs: list[KeyResultProgress] = []
        used_by_kr: set[str] = set()
        for kr in spec.key_results:
            linked = [
                c
                for c, cs in zip(children, spec.children, strict=True)
                if cs.parent_key_result == kr.code
            ]
            result = self._key_result(kr, linked)
            if result.source == "children":
                used_by_kr.update(c.code for c in linked)
            krs.append(result)

        counted_krs = [k for k in krs if k.counted]
        kr_part, kr_note = _weighted_mean([(k.weight, k.progress) for k in counted_krs])
        source = spec.progress_source
        pool = [c for c in children if c.counted and c.progress is not None]
        if source == ProgressSource.BOTH:
            pool = [c for c in pool if c.code not in used_by_kr]
        ch_part, ch_note = _weighted_mean(_pairs(pool))

        if source == ProgressSource.KEY_RESULTS:
            parts = [kr_part]
            ch_part = None
            for c, cs in zip(children, spec.children, strict=True):
                if cs.parent_key_result not in by_code:
                    notes.append(
                        f"Nhiệm vụ cấp dưới {c.code} không gắn với mục tiêu then chốt nào của "
                        "nhiệm vụ này: không tính vào tiến độ"
                    )
        elif source == ProgressSource.CHILDREN:
            parts = [ch_part]
            kr_part = None
        else:
            parts = [kr_part, ch_part]
        for note, used in ((kr_note, kr_part), (ch_note, ch_part)):
            if note and used is not None:
                notes.append(note)

        present = [p for p in parts if p is not None]
        progress: Fraction | None
        if present:
            progress = sum(present, Fraction(0)) / len(present)
        else:
            anything_excluded = any(not k.counted for k in krs) or any(
                not c.counted for c in children
            )
            if self.evaluation and anything_excluded:
                progress = None
                notes.append(NOTE_NOTHING_TO_EVALUATE)
            else:
                progress = Fraction(0)
                notes.append(
                    "Không có mục tiêu then chốt hoặc nhiệm vụ cấp dưới để tính tiến độ "
                    f"(nguồn tiến độ: {source.value})"
                )
        missing = tuple(k.code for k in krs if k.source == "missing")
        return ObjectiveProgress(
            code=spec.code,
            title=spec.title,
            perspective=spec.perspective,
            breakthrough=spec.breakthrough,
            weight=spec.weight,
            progress_source=source,
            progress=progress,
            key_results_part=kr_part,
            children_part=ch_part,
            key_results=tuple(krs),
            children=children,
            counted=progress is not None,
            expected=self.expected,
            colour=self.colour(progress),
            missing_data=missing,
            notes=tuple(notes),
        )


def objective_progress(
    spec: ObjectiveSpec,
    values: Values,
    *,
    evaluation: bool = False,
    dates: DateContext | None = None,
    cap: Fraction = PROGRESS_CAP,
    okr_key_results_are_breakthrough: bool = True,
) -> ObjectiveProgress:
    """Progress of one objective tree (reported figures, or evaluation figures when
    ``evaluation=True``); see the module docstring for the rules.

    ``values`` maps key-result codes to current values (``Decimal`` in the unit of measure;
    ``None`` or absent = no data). Raises ``ValueError`` when ``cap < 1``.
    """
    roller = _Roller(
        values,
        evaluation=evaluation,
        dates=dates,
        cap=cap,
        okr_key_results_are_breakthrough=okr_key_results_are_breakthrough,
    )
    return roller.objective(spec)


def roll_up(
    objectives: Sequence[ObjectiveSpec],
    values: Values,
    *,
    evaluation: bool,
    dates: DateContext | None = None,
    cap: Fraction = PROGRESS_CAP,
    okr_key_results_are_breakthrough: bool = True,
) -> PlanProgress:
    """Figures of a plan: every objective tree in ``objectives`` plus the plan-level and
    per-perspective weighted means (objective weights, re-normalised over counted objectives).

    Raises ``ValueError`` when ``cap < 1``.
    """
    roller = _Roller(
        values,
        evaluation=evaluation,
        dates=dates,
        cap=cap,
        okr_key_results_are_breakthrough=okr_key_results_are_breakthrough,
    )
    results = tuple(roller.objective(spec) for spec in objectives)
    counted = [r for r in results if r.counted and r.progress is not None]
    progress, note = _weighted_mean(_pairs(counted))
    notes = [note] if note else []
    by_perspective: dict[Perspective, Fraction | None] = {}
    for perspective in Perspective:
        mean, _ = _weighted_mean(_pairs([r for r in counted if r.perspective == perspective]))
        by_perspective[perspective] = mean
    return PlanProgress(
        mode="evaluation" if evaluation else "reported",
        progress=progress,
        by_perspective=by_perspective,
        objectives=results,
        expected=roller.expected,
        colour=roller.colour(progress),
        notes=tuple(notes),
    )


def reported_progress(
    objectives: Sequence[ObjectiveSpec],
    values: Values,
    *,
    dates: DateContext | None = None,
    cap: Fraction = PROGRESS_CAP,
) -> PlanProgress:
    """Reported figures (dashboards, goal tree): every item counts, breakthrough included
    (``004 Phụ lục 4 §4.4``). Same shapes and errors as :func:`roll_up`."""
    return roll_up(objectives, values, evaluation=False, dates=dates, cap=cap)


def evaluation_progress(
    objectives: Sequence[ObjectiveSpec],
    values: Values,
    *,
    dates: DateContext | None = None,
    cap: Fraction = PROGRESS_CAP,
    okr_key_results_are_breakthrough: bool = True,
) -> PlanProgress:
    """Evaluation figures: breakthrough objectives (and, by default, ``okr`` key results) are
    excluded and the remaining weights re-normalised (``004 Part A §II``,
    ``004 Phụ lục 4 §3.2``). Excluded items stay in the result with ``counted=False`` and their
    reported progress. Same shapes and errors as :func:`roll_up`."""
    return roll_up(
        objectives,
        values,
        evaluation=True,
        dates=dates,
        cap=cap,
        okr_key_results_are_breakthrough=okr_key_results_are_breakthrough,
    )
