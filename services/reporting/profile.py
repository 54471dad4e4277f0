"""The digital competency profile (hồ sơ năng lực số) of a person across months — pure rules.

Sources:

* ``000 §IV.6``: "Toàn bộ lịch sử hiệu suất, sáng kiến, đổi mới sáng tạo cũng như các lỗi vi
  phạm, trễ hạn của cán bộ được lưu vết thành *Hồ sơ năng lực số*" — the profile keeps each
  month's score and grade, innovations, violations and delays (``DOMAIN.md §8``; ``001 §I.2``
  "từng bước xây dựng hồ sơ năng lực số"; ``004 §6.3`` "Hồ Sơ Năng Lực Số").
* **Talent pool** — ``000 §III.5`` (quy hoạch): "Cán bộ liên tục có từ 30% công việc hoàn thành
  vượt mức hoặc có sản phẩm đổi mới sáng tạo … được hệ thống tự động ghi nhận". A month
  *qualifies* when it is evaluated and its exceeded share is ≥ 30 % (or, by default, it has an
  innovation — the "hoặc" of the source; tenant setting ``innovation_qualifies``). "Liên tục"
  is made measurable (``DOMAIN.md §8``: "≥ 30 % exceeded in most months of a year") as: in a
  calendar year, the qualifying months are **more than half** of the evaluated months, and the
  year has at least ``talent_min_months`` evaluated months (tenant setting, default 3 — one
  quarter, so a single good month is not a pattern).
* **Persistently low** — ``000 §IX.1``: the office proposes action on people whose "chỉ số KPI
  liên tục thấp". Tenant setting: a month is *low* when its grade is in ``low_grades``
  (default C and D, i.e. below "Hoàn thành tốt", ``001 §II.2``) or its score is below
  ``low_score`` (default 70 points, the floor of B); the flag is raised by ``low_streak``
  (default 3) low months in a row. Months without a score (not evaluated, no tasks) are
  skipped: they neither extend nor break a streak.

Arithmetic is exact (``Fraction``); averages of scores are also given rounded half-up to 0.1
point like every published score.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = [
    "DEFAULT_LOW_GRADES",
    "DEFAULT_LOW_SCORE",
    "DEFAULT_LOW_STREAK",
    "DEFAULT_TALENT_MIN_MONTHS",
    "TALENT_SHARE",
    "CompetencyProfile",
    "LowStreak",
    "MonthRecord",
    "ProfileMonth",
    "ProfileRules",
    "TalentYear",
    "competency_profile",
]

#: Exceeded share that makes a month count for the talent pool: 30 % (``000 §III.5``, ``§II.2``).
TALENT_SHARE = Fraction(3, 10)
#: Default minimum number of evaluated months in a year before the talent flag can be raised.
DEFAULT_TALENT_MIN_MONTHS = 3
#: Default grades of a low month (``001 §II.2``: below B "Hoàn thành tốt nhiệm vụ").
DEFAULT_LOW_GRADES: frozenset[str] = frozenset({"C", "D"})
#: Default score under which a month is low: 70 points, the floor of grade B (``001 §II.2``).
DEFAULT_LOW_SCORE = Decimal(70)
#: Default number of low months in a row that makes a person "persistently low".
DEFAULT_LOW_STREAK = 3

_GRADES = frozenset({"A", "B", "C", "D"})
_SCORELESS = frozenset({"not_evaluated", "no_tasks"})
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class MonthRecord:
    """One published month of a person.

    Attributes:
        period: ``YYYY-MM``.
        score: points 0–100, ``None`` when the person has no score that month.
        grade: ``"A"``–``"D"`` (after the quota), ``"not_evaluated"`` or ``"no_tasks"``.
        exceeded_share: share of the month's work (points) completed beyond expectations,
            0–1 (``000 §II.2``); ``None`` when unknown.
        delays: late submissions in the month (count).
        innovations: recognised innovations / initiatives (count).
        violations: recorded violations of discipline (count).
    """

    period: str
    score: Decimal | None
    grade: str
    exceeded_share: Fraction | Decimal | None = None
    delays: int = 0
    innovations: int = 0
    violations: int = 0


@dataclass(frozen=True, slots=True)
class ProfileRules:
    """A tenant's settings for the profile flags (see the module docstring)."""

    talent_share: Fraction = TALENT_SHARE
    talent_min_months: int = DEFAULT_TALENT_MIN_MONTHS
    innovation_qualifies: bool = True
    low_grades: frozenset[str] = DEFAULT_LOW_GRADES
    low_score: Decimal = DEFAULT_LOW_SCORE
    low_streak: int = DEFAULT_LOW_STREAK


@dataclass(frozen=True, slots=True)
class ProfileMonth:
    """A month row of the profile: the record plus whether it qualifies for the talent pool
    and whether it is a low month (both ``False`` for a month without a score)."""

    record: MonthRecord
    exceeded_share: Fraction | None
    talent_month: bool
    low_month: bool


@dataclass(frozen=True, slots=True)
class TalentYear:
    """Talent-pool count of one calendar year: evaluated and qualifying months, and the flag
    (qualifying > half of evaluated, evaluated ≥ the tenant minimum)."""

    year: int
    months_evaluated: int
    months_qualifying: int
    flagged: bool


@dataclass(frozen=True, slots=True)
class LowStreak:
    """A run of consecutive low months (``first`` and ``last`` periods, ``length`` months)."""

    first: str
    last: str
    length: int


@dataclass(frozen=True, slots=True)
class CompetencyProfile:
    """A person's competency profile.

    Attributes:
        months: one row per record, in period order.
        months_evaluated: months with a score.
        average_score: exact mean score of those months (points), ``None`` if none.
        average_score_rounded: the same rounded half-up to 0.1 point.
        average_exceeded_share: exact mean exceeded share (0–1) over the months that have one.
        grade_counts: months per grade/outcome.
        delays, innovations, violations: totals over the months (counts).
        talent_years: per calendar year, the talent-pool count and flag.
        talent_pool: whether any year is flagged.
        low_streaks: every run of consecutive low months, in order.
        persistently_low: whether a run reaches the tenant's ``low_streak``.
        messages: the raised flags in Vietnamese, for display.
    """

    months: tuple[ProfileMonth, ...]
    months_evaluated: int
    average_score: Fraction | None
    average_score_rounded: Decimal | None
    average_exceeded_share: Fraction | None
    grade_counts: dict[str, int]
    delays: int
    innovations: int
    violations: int
    talent_years: tuple[TalentYear, ...]
    talent_pool: bool
    low_streaks: tuple[LowStreak, ...]
    persistently_low: bool
    messages: tuple[str, ...] = field(default=())


def _round_tenth(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(_TENTH, rounding=ROUND_HALF_UP)


def _checked_share(record: MonthRecord) -> Fraction | None:
    share = record.exceeded_share
    if share is None:
        return None
    if isinstance(share, float) or not isinstance(share, Fraction | Decimal):
        raise ValueError(f"exceeded_share: {record.period}: {share!r} is not a Fraction/Decimal")
    value = Fraction(share)
    if not 0 <= value <= 1:
        raise ValueError(f"exceeded_share: {record.period}: {share} is outside 0–1")
    return value


def _check(record: MonthRecord) -> None:
    if not isinstance(record.period, str) or not _PERIOD.fullmatch(record.period):
        raise ValueError(f"period: {record.period!r} is not YYYY-MM")
    if record.grade in _GRADES:
        if not isinstance(record.score, Decimal) or not record.score.is_finite():
            raise ValueError(f"score: {record.period}: grade {record.grade} needs a Decimal score")
        if not 0 <= record.score <= 100:
            raise ValueError(f"score: {record.period}: {record.score} is outside 0–100")
    elif record.grade in _SCORELESS:
        if record.score is not None:
            raise ValueError(f"score: {record.period}: {record.grade} has no score")
    else:
        raise ValueError(f"grade: {record.period}: unknown grade {record.grade!r}")
    for name in ("delays", "innovations", "violations"):
        count = getattr(record, name)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name}: {record.period}: {count!r} is not a count >= 0")


def _check_rules(rules: ProfileRules) -> None:
    if rules.low_streak < 1:
        raise ValueError(f"low_streak: must be >= 1, got {rules.low_streak}")
    if rules.talent_min_months < 1:
        raise ValueError(f"talent_min_months: must be >= 1, got {rules.talent_min_months}")
    if not 0 < rules.talent_share <= 1:
        raise ValueError(f"talent_share: {rules.talent_share} is outside (0, 1]")


def _streaks(rows: list[ProfileMonth]) -> list[LowStreak]:
    streaks: list[LowStreak] = []
    run: list[str] = []
    for row in rows:
        if row.record.score is None:
            continue
        if row.low_month:
            run.append(row.record.period)
            continue
        if run:
            streaks.append(LowStreak(run[0], run[-1], len(run)))
            run = []
    if run:
        streaks.append(LowStreak(run[0], run[-1], len(run)))
    return streaks


def _talent_years(rows: list[ProfileMonth], rules: ProfileRules) -> list[TalentYear]:
    evaluated: Counter[int] = Counter()
    qualifying: Counter[int] = Counter()
    for row in rows:
        if row.record.score is None:
            continue
        year = int(row.record.period[:4])
        evaluated[year] += 1
        qualifying[year] += row.talent_month
    return [
        TalentYear(
            year=year,
            months_evaluated=evaluated[year],
            months_qualifying=qualifying[year],
            flagged=evaluated[year] >= rules.talent_min_months
            and 2 * qualifying[year] > evaluated[year],
        )
        for year in sorted(evaluated)
    ]


def _messages(years: list[TalentYear], streaks: list[LowStreak], rules: ProfileRules) -> list[str]:
    percent = f"{_round_tenth(rules.talent_share * 100).normalize():f}"
    innovation = " hoặc có sản phẩm đổi mới sáng tạo" if rules.innovation_qualifies else ""
    out = [
        f"Năm {y.year}: {y.months_qualifying}/{y.months_evaluated} tháng có từ {percent}% "
        f"công việc hoàn thành vượt mức{innovation} — đề xuất đưa vào diện quy hoạch "
        "(000 §III.5)."
        for y in years
        if y.flagged
    ]
    out += [
        f"Kết quả thấp {s.length} tháng liên tiếp ({s.first} đến {s.last}) — cần xem xét nhắc "
        "nhở, chấn chỉnh (000 §IX.1)."
        for s in streaks
        if s.length >= rules.low_streak
    ]
    return out


def competency_profile(
    records: Iterable[MonthRecord], rules: ProfileRules | None = None
) -> CompetencyProfile:
    """Build a person's competency profile from their monthly records.

    Args:
        records: the person's published months, any order, at most one per period.
        rules: the tenant's flag settings (default :class:`ProfileRules`).

    Returns:
        The :class:`CompetencyProfile`: rows in period order, averages over evaluated months,
        totals, the talent-pool count per year and the runs of low months.

    Raises:
        ValueError: a period twice or not ``YYYY-MM``; an unknown grade; a grade A–D without a
            ``Decimal`` score in 0–100, or a scoreless outcome with a score; an exceeded share
            outside 0–1 or a float; a negative count; a rule out of range. The message starts
            with the field's name.
    """
    rules = rules or ProfileRules()
    _check_rules(rules)
    ordered = sorted(records, key=lambda r: r.period if isinstance(r.period, str) else "")
    seen: set[str] = set()
    rows: list[ProfileMonth] = []
    for record in ordered:
        _check(record)
        if record.period in seen:
            raise ValueError(f"period: duplicate period {record.period}")
        seen.add(record.period)
        share = _checked_share(record)
        scored = record.score is not None
        exceeded = share is not None and share >= rules.talent_share
        innovated = rules.innovation_qualifies and record.innovations > 0
        low = scored and (
            record.grade in rules.low_grades
            or (record.score is not None and record.score < rules.low_score)
        )
        rows.append(ProfileMonth(record, share, scored and (exceeded or innovated), low))

    scores = [Fraction(r.record.score) for r in rows if r.record.score is not None]
    shares = [r.exceeded_share for r in rows if r.exceeded_share is not None]
    average = sum(scores, Fraction(0)) / len(scores) if scores else None
    years = _talent_years(rows, rules)
    streaks = _streaks(rows)
    return CompetencyProfile(
        months=tuple(rows),
        months_evaluated=len(scores),
        average_score=average,
        average_score_rounded=_round_tenth(average) if average is not None else None,
        average_exceeded_share=sum(shares, Fraction(0)) / len(shares) if shares else None,
        grade_counts=dict(Counter(r.record.grade for r in rows)),
        delays=sum(r.record.delays for r in rows),
        innovations=sum(r.record.innovations for r in rows),
        violations=sum(r.record.violations for r in rows),
        talent_years=tuple(years),
        talent_pool=any(y.flagged for y in years),
        low_streaks=tuple(streaks),
        persistently_low=any(s.length >= rules.low_streak for s in streaks),
        messages=tuple(_messages(years, streaks, rules)),
    )
