"""Progress of a key result, its achievement level, expected progress and traffic light.

Pure functions, exact arithmetic: inputs are ``Decimal`` (values in the key result's unit of
measure), outputs are ``fractions.Fraction`` ratios where ``1`` means 100 %.

Rules:

- ``004 Phụ lục 4 §4.3`` (Đặc tả thuật toán đánh giá): ``P_i = thực tế / mục tiêu × 100 %``
  with the note that "chỉ số nghịch" (lower is better, e.g. traffic accidents) must be handled.
  The section names no formula for the reverse case; ``DOMAIN.md §2`` fixes it as
  ``target / actual``, which is what :func:`key_result_progress` implements.
- ``000 §V.1``: a KPI declares completion, exceed and fail thresholds → :func:`achievement`.
- ``004 Phụ lục 4 §4.4`` / ``DOMAIN.md §9``: traffic lights green / amber / red →
  :func:`status_colour`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from services.common.goals.okr import Direction, KeyResultSpec, StatusColour

__all__ = [
    "DEFAULT_AT_RISK_GAP",
    "DEFAULT_OFF_TRACK_GAP",
    "PROGRESS_CAP",
    "Achievement",
    "achievement",
    "expected_progress",
    "key_result_progress",
    "status_colour",
]

Achievement = Literal["exceeded", "completed", "in_progress", "failed"]
"""Achievement level of a key result against its thresholds (``000 §V.1``)."""

PROGRESS_CAP: Fraction = Fraction(3, 2)
"""Ceiling of a key result's progress: 150 %.

Progress may exceed 100 % (a key result beaten, ``004 Phụ lục 4 §3.2`` rewards exceeding) but
is capped so one overshooting key result cannot hide the others in a weighted roll-up. Callers
wanting a 0–100 % figure pass ``cap=Fraction(1)``.
"""

DEFAULT_AT_RISK_GAP: Fraction = Fraction(1, 10)
"""Default amber boundary: 10 percentage points behind the expected progress (tenant setting)."""

DEFAULT_OFF_TRACK_GAP: Fraction = Fraction(1, 4)
"""Default red boundary: 25 percentage points behind the expected progress (tenant setting)."""


def _frac(value: Decimal | int | Fraction) -> Fraction:
    if isinstance(value, float):
        raise TypeError("floats are not accepted; use Decimal")
    return Fraction(value)


def key_result_progress(
    spec: KeyResultSpec,
    current: Decimal | int | Fraction,
    *,
    cap: Fraction = PROGRESS_CAP,
) -> Fraction:
    """Progress of a key result as a ratio (``Fraction(1)`` = 100 %), clamped to ``[0, cap]``.

    ``current`` is the measured value in ``spec.unit_of_measure``.

    - Higher is better (``004 Phụ lục 4 §4.3``): ``(current − baseline) / (target − baseline)``
      when ``spec.baseline`` is given (progress from the starting level), else
      ``current / target``.
    - Lower is better (``004 Phụ lục 4 §4.3`` "chỉ số nghịch", formula from ``DOMAIN.md §2``):
      ``target / current``; e.g. overdue dossiers target 2, actual 4 → 50 %. The baseline is not
      used. ``current = 0`` counts as fully achieved: the cap when ``target > 0`` (the limit of
      ``target / current``, so progress never increases with ``current``), exactly 100 % when
      ``target = 0``. With ``target = 0`` any ``current > 0`` gives 0 %.
    - ``direction = None`` is treated as higher is better.

    Raises ``ValueError`` when the spec cannot be measured: no target; higher-is-better with
    ``target <= baseline``, or without baseline and ``target <= 0``; lower-is-better with a
    negative target or a negative ``current``; ``cap < 1``. Raises ``TypeError`` for a float
    ``current`` (exact arithmetic only).
    """
    if cap < 1:
        raise ValueError(f"cap must be at least 1 (100 %), got {cap}")
    if spec.target is None:
        raise ValueError(f"key result {spec.code}: no target, progress cannot be measured")
    target = _frac(spec.target)
    value = _frac(current)
    if spec.direction == Direction.LOWER:
        if target < 0:
            raise ValueError(f"key result {spec.code}: lower-is-better target must be >= 0")
        if value < 0:
            raise ValueError(f"key result {spec.code}: lower-is-better value must be >= 0")
        # actual 0: fully achieved (the cap, or exactly 100 % for a zero target).
        raw = (cap if target > 0 else Fraction(1)) if value == 0 else target / value
    elif spec.baseline is not None:
        baseline = _frac(spec.baseline)
        if target <= baseline:
            raise ValueError(
                f"key result {spec.code}: higher-is-better target must be above the baseline"
            )
        raw = (value - baseline) / (target - baseline)
    else:
        if target <= 0:
            raise ValueError(
                f"key result {spec.code}: higher-is-better target must be > 0 without a baseline"
            )
        raw = value / target
    return min(max(raw, Fraction(0)), cap)


def achievement(spec: KeyResultSpec, current: Decimal | int | Fraction) -> Achievement:
    """Achievement level of ``current`` against the thresholds of ``spec`` (``000 §V.1``).

    The completion threshold is ``spec.complete_threshold``, or ``spec.target`` when that is not
    declared. Higher is better (``direction`` ``higher`` or ``None``), checked in this order:

    - ``"exceeded"``: ``current >= exceed_threshold`` and ``current > complete`` (so an exceed
      threshold equal to the completion threshold means strictly better than it);
    - ``"completed"``: ``current >= complete``;
    - ``"failed"``: ``current <= fail_threshold`` (at or worse than the fail level);
    - ``"in_progress"``: otherwise (between fail and complete).

    Lower is better mirrors every comparison (``<=`` ↔ ``>=``, ``>`` ↔ ``<``). A missing exceed
    (fail) threshold means the level ``"exceeded"`` (``"failed"``) is never returned.

    Raises ``ValueError`` when neither a completion threshold nor a target is declared, or the
    thresholds contradict the direction (higher: ``fail < complete <= exceed``; lower:
    ``fail > complete >= exceed``).
    """
    complete_raw = spec.complete_threshold if spec.complete_threshold is not None else spec.target
    if complete_raw is None:
        raise ValueError(f"key result {spec.code}: no completion threshold nor target")
    complete = _frac(complete_raw)
    exceed = None if spec.exceed_threshold is None else _frac(spec.exceed_threshold)
    fail = None if spec.fail_threshold is None else _frac(spec.fail_threshold)
    value = _frac(current)
    # Orient so that "greater is better": lower-is-better values are negated.
    sign = -1 if spec.direction == Direction.LOWER else 1
    c, v = sign * complete, sign * value
    e = None if exceed is None else sign * exceed
    f = None if fail is None else sign * fail
    if (e is not None and e < c) or (f is not None and f >= c):
        raise ValueError(
            f"key result {spec.code}: thresholds contradict direction "
            f"{spec.direction or Direction.HIGHER}"
        )
    if e is not None and v >= e and v > c:
        return "exceeded"
    if v >= c:
        return "completed"
    if f is not None and v <= f:
        return "failed"
    return "in_progress"


def expected_progress(period_start: date, period_end: date, today: date) -> Fraction:
    """Share of the period elapsed at the end of ``today``, as a ratio in ``[0, 1]``.

    Days are counted inclusively: ``(today − period_start + 1) / (period_end − period_start + 1)``;
    ``0`` before the period, ``1`` from ``period_end`` on (a linear schedule: the key result is
    expected to progress evenly over the period).

    Raises ``ValueError`` when ``period_end < period_start``.
    """
    if period_end < period_start:
        raise ValueError("period_end is before period_start")
    if today < period_start:
        return Fraction(0)
    if today >= period_end:
        return Fraction(1)
    elapsed = (today - period_start).days + 1
    total = (period_end - period_start).days + 1
    return Fraction(elapsed, total)


def status_colour(
    progress: Fraction,
    expected: Fraction,
    *,
    at_risk_gap: Fraction = DEFAULT_AT_RISK_GAP,
    off_track_gap: Fraction = DEFAULT_OFF_TRACK_GAP,
) -> StatusColour:
    """Traffic light of an item from its progress and expected progress (ratios, 1 = 100 %).

    - green (on track): ``progress >= expected − at_risk_gap``;
    - amber (at risk): ``expected − off_track_gap <= progress < expected − at_risk_gap``;
    - red (off track): ``progress < expected − off_track_gap``.

    The gaps are tenant-overridable defaults: 10 and 25 percentage points
    (:data:`DEFAULT_AT_RISK_GAP`, :data:`DEFAULT_OFF_TRACK_GAP`); the sources
    (``004 Phụ lục 4 §4.4``) name the colours, not the boundaries.

    Raises ``ValueError`` when a gap is negative or ``at_risk_gap > off_track_gap``.
    """
    if at_risk_gap < 0 or off_track_gap < 0:
        raise ValueError("gaps must be >= 0")
    if at_risk_gap > off_track_gap:
        raise ValueError("at_risk_gap must not exceed off_track_gap")
    if progress >= expected - at_risk_gap:
        return StatusColour.GREEN
    if progress >= expected - off_track_gap:
        return StatusColour.AMBER
    return StatusColour.RED
