"""Early warnings for tasks and key results at risk — pure rules, exact arithmetic.

Sources: ``000 §IV.5`` ("kịp thời nhận diện và phát tín hiệu cảnh báo sớm đối với các nhiệm vụ
chậm muộn hoặc có nguy cơ rủi ro"), ``000 §II.1(4)`` (the system warns early as soon as a delay
is at risk and analyses *trends*, not only absolute figures), ``000 §VI.2`` (missing updates,
delays and overdue work must be recorded), ``DOMAIN.md §9``. Every threshold is a tenant setting
(:class:`WarningRules`); the sources name no number.

Kinds (:class:`WarningKind`):

* ``overdue`` — past its due date and not done; figure: working days late.
* ``due_soon`` — due within ``soon_working_days`` working days (today excluded, the due date
  included) while progress is below ``low_progress``.
* ``no_update`` — no progress update for more than ``stale_days`` calendar days (the last
  update, or the start date if there was none).
* ``projected_miss`` — the least-squares line through the progress log ``(date, value)``,
  evaluated at the due date, does not reach the target: below it when higher is better, above
  it when lower is better (``004 Phụ lục 4 §4.3`` "chỉ số nghịch"). Needs at least
  ``min_trend_points`` points on at least two different days. The slope and the projection are
  exact ``Fraction`` values (value units per day; x = days since the first point).

A task is tracked like a key result whose value is its progress in % with target 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Protocol

__all__ = [
    "EarlyWarning",
    "ItemKind",
    "TrackedItem",
    "Trend",
    "WarningKind",
    "WarningRules",
    "WorkingDays",
    "early_warnings",
    "least_squares",
]

_ONE_DAY = timedelta(days=1)
_TENTH = Decimal("0.1")


class WorkingDays(Protocol):
    """Anything that knows the working days (e.g. the tasks service's ``WorkCalendar``, with
    Vietnamese public holidays and the tenant's overrides)."""

    def is_working_day(self, d: date) -> bool: ...


class ItemKind(StrEnum):
    """What is tracked, with its Vietnamese name via :attr:`label`."""

    TASK = "task"
    KEY_RESULT = "key_result"

    @property
    def label(self) -> str:
        """``Nhiệm vụ`` or ``Kết quả then chốt``."""
        return "Nhiệm vụ" if self is ItemKind.TASK else "Kết quả then chốt"


class WarningKind(StrEnum):
    """The kinds of early warning (see the module docstring)."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    NO_UPDATE = "no_update"
    PROJECTED_MISS = "projected_miss"


@dataclass(frozen=True, slots=True)
class TrackedItem:
    """A task or key result as the read model knows it.

    Attributes:
        kind: task or key result.
        code: its code; ``title``: its name; ``owner``: person or unit code responsible.
        start: when it was assigned / started (date).
        due: its due date.
        progress: current progress, 0–1 and above (``Fraction``; 1 = 100 %).
        target: the value to reach at ``due`` (task: 100, in %); ``lower_is_better`` for
            reverse indicators (the target is a ceiling).
        log: progress log points ``(date, value)`` in the target's unit, any order.
        done: completed (or approved); a done item raises no warning.
    """

    kind: ItemKind
    code: str
    title: str
    owner: str
    start: date
    due: date
    progress: Fraction
    target: Decimal = Decimal(100)
    lower_is_better: bool = False
    log: tuple[tuple[date, Decimal | Fraction], ...] = ()
    done: bool = False


@dataclass(frozen=True, slots=True)
class WarningRules:
    """A tenant's warning thresholds.

    Attributes:
        soon_working_days: "due soon" horizon in working days (default 3).
        low_progress: progress under which a due-soon item warns (default 1/2 = 50 %).
        stale_days: calendar days without an update before ``no_update`` (default 7, one week
            of the weekly work calendar of ``000 §VI.1``).
        min_trend_points: log points needed for a trend (default 3, at least 2).
    """

    soon_working_days: int = 3
    low_progress: Fraction = Fraction(1, 2)
    stale_days: int = 7
    min_trend_points: int = 3


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line ``value = intercept + slope × (day − origin)`` (days)."""

    origin: date
    slope: Fraction
    intercept: Fraction

    def at(self, day: date) -> Fraction:
        """The line's value on ``day``."""
        return self.intercept + self.slope * (day - self.origin).days


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    """One warning: its kind, the item, the figures behind it and a Vietnamese message."""

    kind: WarningKind
    item_kind: ItemKind
    code: str
    owner: str
    figures: dict[str, object] = field(default_factory=dict)
    message: str = ""


def least_squares(points: Iterable[tuple[date, Decimal | Fraction | int]]) -> Trend | None:
    """The ordinary least-squares line through ``(date, value)`` points, exact.

    x is the number of days since the earliest point. Returns ``None`` with fewer than two
    points or when all points fall on the same day (no slope can be measured).

    Raises:
        ValueError: a value is a float or not finite.
    """
    pts = sorted(points)
    if len(pts) < 2 or pts[0][0] == pts[-1][0]:
        return None
    origin = pts[0][0]
    xs = [Fraction((d - origin).days) for d, _ in pts]
    ys = [_exact("log", v) for _, v in pts]
    n = len(pts)
    sx, sy = sum(xs), sum(ys)
    sxx = sum(x * x for x in xs)
    sxy = sum(x * y for x, y in zip(xs, ys, strict=True))
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    intercept = (sy - slope * sx) / n
    return Trend(origin, slope, intercept)


def _exact(name: str, value: Decimal | Fraction | int) -> Fraction:
    if isinstance(value, float) or not isinstance(value, Decimal | Fraction | int):
        raise ValueError(f"{name}: {value!r} is not a Decimal")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name}: {value} is not finite")
    return Fraction(value)


def _shown(value: Fraction) -> str:
    """A figure for a message: rounded half-up to 0.1, without trailing zeros."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{exact.quantize(_TENTH, rounding=ROUND_HALF_UP):f}"
    return text[:-2] if text.endswith(".0") else text


def _ddmmyyyy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _working_days_after(calendar: WorkingDays, start: date, end: date) -> int:
    """Working days in ``(start, end]``; 0 when ``end <= start``."""
    count, day = 0, start + _ONE_DAY
    while day <= end:
        count += calendar.is_working_day(day)
        day += _ONE_DAY
    return count


def _check(item: TrackedItem) -> None:
    if item.due < item.start:
        raise ValueError(f"due: {item.code}: due {item.due} is before start {item.start}")
    _exact("progress", item.progress)
    if item.progress < 0:
        raise ValueError(f"progress: {item.code}: {item.progress} < 0")
    _exact("target", item.target)
    for _, value in item.log:
        _exact("log", value)


def _check_rules(rules: WarningRules) -> None:
    if rules.soon_working_days < 0:
        raise ValueError(f"soon_working_days: must be >= 0, got {rules.soon_working_days}")
    if rules.stale_days < 1:
        raise ValueError(f"stale_days: must be >= 1, got {rules.stale_days}")
    if rules.min_trend_points < 2:
        raise ValueError(f"min_trend_points: must be >= 2, got {rules.min_trend_points}")


def _name(item: TrackedItem) -> str:
    return f"{item.kind.label} {item.code} «{item.title}»"


def _schedule_warning(
    item: TrackedItem, today: date, calendar: WorkingDays, rules: WarningRules
) -> EarlyWarning | None:
    percent = _shown(item.progress * 100)
    if item.due < today:
        late = _working_days_after(calendar, item.due, today)
        return EarlyWarning(
            WarningKind.OVERDUE,
            item.kind,
            item.code,
            item.owner,
            {"due": item.due, "working_days_late": late, "progress": item.progress},
            f"{_name(item)} đã quá hạn {late} ngày làm việc (hạn {_ddmmyyyy(item.due)}), "
            f"mới đạt {percent}%.",
        )
    left = _working_days_after(calendar, today, item.due)
    if left > rules.soon_working_days or item.progress >= rules.low_progress:
        return None
    return EarlyWarning(
        WarningKind.DUE_SOON,
        item.kind,
        item.code,
        item.owner,
        {
            "due": item.due,
            "working_days_left": left,
            "progress": item.progress,
            "low_progress": rules.low_progress,
        },
        f"{_name(item)} còn {left} ngày làm việc đến hạn {_ddmmyyyy(item.due)} nhưng mới đạt "
        f"{percent}% (dưới ngưỡng {_shown(rules.low_progress * 100)}%).",
    )


def _stale_warning(item: TrackedItem, today: date, rules: WarningRules) -> EarlyWarning | None:
    last = max((d for d, _ in item.log), default=item.start)
    idle = (today - last).days
    if idle <= rules.stale_days:
        return None
    return EarlyWarning(
        WarningKind.NO_UPDATE,
        item.kind,
        item.code,
        item.owner,
        {"last_update": last, "days_without_update": idle, "stale_days": rules.stale_days},
        f"{_name(item)} chưa cập nhật tiến độ {idle} ngày (lần cuối {_ddmmyyyy(last)}).",
    )


def _trend_warning(item: TrackedItem, today: date, rules: WarningRules) -> EarlyWarning | None:
    if item.due < today or len(item.log) < rules.min_trend_points:
        return None
    trend = least_squares(item.log)
    if trend is None:
        return None
    projected = trend.at(item.due)
    target = Fraction(item.target)
    misses = projected > target if item.lower_is_better else projected < target
    if not misses:
        return None
    side = "vượt ngưỡng tối đa" if item.lower_is_better else "không đạt mục tiêu"
    return EarlyWarning(
        WarningKind.PROJECTED_MISS,
        item.kind,
        item.code,
        item.owner,
        {
            "due": item.due,
            "projected": projected,
            "target": item.target,
            "slope_per_day": trend.slope,
            "points": len(item.log),
            "lower_is_better": item.lower_is_better,
        },
        f"{_name(item)}: theo xu hướng {len(item.log)} lần cập nhật, dự kiến đạt "
        f"{_shown(projected)} vào hạn {_ddmmyyyy(item.due)}, {side} {_shown(target)}.",
    )


def early_warnings(
    items: Sequence[TrackedItem],
    today: date,
    calendar: WorkingDays,
    rules: WarningRules | None = None,
) -> list[EarlyWarning]:
    """The early warnings of ``items`` on ``today``.

    Args:
        items: tasks and key results of a unit, a person or a plan.
        today: the date of the check (the tenant's local date).
        calendar: the tenant's working days (for ``due_soon`` and ``overdue``).
        rules: the tenant's thresholds (default :class:`WarningRules`).

    Returns:
        The warnings, item by item in the input order, and per item in the order overdue or
        due soon, no update, projected miss; done items raise none.

    Raises:
        ValueError: a due date before the start, a negative progress, a float value, or a
            rule out of range (the message starts with the field's name).
    """
    rules = rules or WarningRules()
    _check_rules(rules)
    out: list[EarlyWarning] = []
    for item in items:
        _check(item)
        if item.done:
            continue
        for warning in (
            _schedule_warning(item, today, calendar, rules),
            _stale_warning(item, today, rules),
            _trend_warning(item, today, rules),
        ):
            if warning is not None:
                out.append(warning)
    return out
