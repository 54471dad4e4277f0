"""The scoring rules of :mod:`services.evaluation.scoring` as polars column expressions.

A tenant-month of hundreds of thousands of people is scored set-wise: one expression per rule,
evaluated over all people at once, in exact integer arithmetic (``Int128``; points and general
scores in micro-units, 10⁻⁶ point). The constants come from :mod:`~services.evaluation.scoring`
and each expression names the rule it implements; the property tests check that every
person's row equals :func:`~services.evaluation.scoring.score_totals` and
:func:`~services.evaluation.scoring.apply_quota` on random months.

Column conventions (inputs): per task ``points`` (micro-points), ``completed``,
``objective_cause``, ``exceeded`` (booleans), ``quality_failures``, ``delays``, ``days_late``
(counts); per person ``person_id``, ``unit_id``, ``role`` (``staff``/``leader``),
``working_days``, ``days_worked``, ``general_micro`` and the leader flags
``all_subordinates_pass``, ``unit_on_plan``, ``unit_united``.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from services.evaluation.scoring import (
    DEDUCTION_STEPS,
    FACTOR_MET,
    FACTOR_NOT_MET,
    GRADE_FLOORS_TENTHS,
    MIN_WORKED_SHARE,
    TASK_WEIGHT,
    DelayPenaltyUnit,
    Grade,
    ScoringRules,
    Status,
)

#: Points, general scores and printed ratios are integers in micro-units.
MICRO = 10**6
INT = pl.Int128
SUM_COLUMNS = ("assigned", "completed", "quality_steps", "timeliness_steps", "exceeded")
LEADER_FLAGS = ("all_subordinates_pass", "unit_on_plan", "unit_united")
RATIO_COLUMNS = ("a", "b", "c", "d", "dd", "e", "task_result")


def _half_up_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` rounded half-up to an integer (both ≥ 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def task_contributions(unit: DelayPenaltyUnit) -> list[pl.Expr]:
    """Per task, its share of each :class:`~services.evaluation.scoring.TaskTotals` sum, as
    :func:`~services.evaluation.scoring.totals_of` computes it (``001 §III.2``).

    A completed product keeps ``max(0, 4 − failures)`` quarter-steps of its points for quality
    and for timeliness (failures = delays, or days late with ``per_day``, ``002``), all four
    when an objective cause was confirmed; an incomplete one counts in ``assigned`` only.
    """
    points = pl.col("points").cast(INT)
    done, cause = pl.col("completed"), pl.col("objective_cause")
    late = pl.col("days_late" if unit is DelayPenaltyUnit.PER_DAY else "delays")
    steps = pl.lit(DEDUCTION_STEPS, INT)
    zero = pl.lit(0, INT)

    def kept(failures: pl.Expr) -> pl.Expr:
        left = (steps - failures.cast(INT)).clip(lower_bound=0)
        return pl.when(done).then(points * pl.when(cause).then(steps).otherwise(left))

    return [
        points.alias("assigned"),
        pl.when(done).then(points).otherwise(zero).alias("completed"),
        kept(pl.col("quality_failures")).otherwise(zero).alias("quality_steps"),
        kept(late).otherwise(zero).alias("timeliness_steps"),
        pl.when(done & pl.col("exceeded")).then(points).otherwise(zero).alias("exceeded"),
        done.alias("completed_flag"),
    ]


def task_sums() -> list[pl.Expr]:
    """Aggregations of :func:`task_contributions` per person: the five sums and whether every
    task was completed."""
    return [
        *(pl.col(name).sum() for name in SUM_COLUMNS),
        pl.col("completed_flag").all().alias("all_completed"),
    ]


def _factor_micro(flag: str) -> pl.Expr:
    """A leader factor d, đ or e in micro-units: 100% if met, 50% if not (``001 §III.3``)."""
    met, not_met = (int(f * MICRO) for f in (FACTOR_MET, FACTOR_NOT_MET))
    return pl.when(pl.col(flag)).then(pl.lit(met, INT)).otherwise(pl.lit(not_met, INT))


def person_results(rules: ScoringRules) -> list[pl.Expr]:
    """Per person: ``status``, ratios ``a`` … ``task_result`` in micro-units (null unless
    evaluated), ``tenths`` (score × 10) and ``grade`` — as
    :func:`~services.evaluation.scoring.score_totals`.

    Rules: not evaluated under 50% of working days (``001 §I.6``); ``no_tasks`` without assigned
    points (``DOMAIN.md §5``); a, b, c (``001 §III.2``); (a+b+c)/3 or (a+b+c+d+đ+e)/6
    (``001 §III.3–4``); general + 70 × result rounded half-up to 0.1 (``001 §II.1``, ``002``);
    grade from the rounded score (``001 §II.2``); the optional 30%-exceeded condition for A
    (``000 §II.2``).
    """
    assigned = pl.col("assigned").cast(INT)
    completed = pl.col("completed").cast(INT)
    quality, timely = pl.col("quality_steps").cast(INT), pl.col("timeliness_steps").cast(INT)
    leader = pl.col("role") == "leader"
    share = MIN_WORKED_SHARE
    status = (
        pl.when(
            pl.col("days_worked") * share.denominator < pl.col("working_days") * share.numerator
        )
        .then(pl.lit(Status.NOT_EVALUATED.value))
        .when(assigned.fill_null(0) == 0)
        .then(pl.lit(Status.NO_TASKS.value))
        .otherwise(pl.lit(Status.EVALUATED.value))
    )
    evaluated = status == Status.EVALUATED.value

    # (a + b + c) = abc4 / (4·assigned); 2·(d + đ + e) = half_units (factors are 1 or 1/2)
    abc4 = DEDUCTION_STEPS * completed + quality + timely
    half_units = pl.sum_horizontal(
        pl.when(pl.col(flag)).then(int(2 * FACTOR_MET)).otherwise(int(2 * FACTOR_NOT_MET))
        for flag in LEADER_FLAGS
    ).cast(INT)
    result_num = pl.when(leader).then(2 * abc4 + DEDUCTION_STEPS * assigned * half_units)
    result_num = result_num.otherwise(abc4)
    result_den = pl.when(leader).then(2 * 6 * DEDUCTION_STEPS * assigned)
    result_den = result_den.otherwise(3 * DEDUCTION_STEPS * assigned)
    general = pl.col("general_micro").cast(INT)
    tenths = _half_up_div(
        10 * general * result_den + 10 * TASK_WEIGHT * result_num * MICRO, MICRO * result_den
    )
    grade = pl.lit(Grade.D.value)
    for floor, name in reversed(GRADE_FLOORS_TENTHS):
        grade = pl.when(tenths >= floor).then(pl.lit(name.value)).otherwise(grade)
    if rules.excellent_requires_exceeding:
        needed = Fraction(rules.exceeded_share_for_excellent)
        short = (~pl.col("all_completed")) | (
            pl.col("exceeded").cast(INT) * needed.denominator < needed.numerator * assigned
        )
        base = grade
        grade = pl.when((base == Grade.A.value) & short).then(pl.lit(Grade.B.value))
        grade = grade.otherwise(base)

    def ratio(num: pl.Expr, den: pl.Expr, name: str) -> pl.Expr:
        return pl.when(evaluated).then(_half_up_div(num * MICRO, den)).alias(name)

    def factor(flag: str, name: str) -> pl.Expr:
        return pl.when(evaluated & leader).then(_factor_micro(flag)).alias(name)

    return [
        status.alias("status"),
        ratio(completed, assigned, "a"),
        ratio(quality, DEDUCTION_STEPS * assigned, "b"),
        ratio(timely, DEDUCTION_STEPS * assigned, "c"),
        factor("all_subordinates_pass", "d"),
        factor("unit_on_plan", "dd"),
        factor("unit_united", "e"),
        ratio(result_num, result_den, "task_result"),
        pl.when(evaluated).then(tenths).alias("tenths"),
        pl.when(evaluated).then(grade).alias("grade"),
    ]


def final_grades(ratio: Fraction) -> list[pl.Expr]:
    """``final_grade`` after the excellence quota per ``unit_id`` (``001 §II.2.5``), in closed
    form. Expects the frame sorted by ``tenths`` descending, then ``person_id`` ascending.

    :func:`~services.evaluation.scoring.apply_quota` moves the lowest A to B while
    A > r·B; with n = A + B fixed this stops at A = min(A₀, ⌊r·n / (1 + r)⌋) — for r = p/q,
    ⌊p·n / (p + q)⌋ — keeping the highest scores (ties: smaller person id).
    """
    p, q = ratio.numerator, ratio.denominator
    is_a = pl.col("grade") == Grade.A.value
    graded_ab = pl.col("grade").is_in([Grade.A.value, Grade.B.value]).sum().over("unit_id")
    keep = (p * graded_ab) // (p + q)
    a_rank = is_a.cast(pl.Int64).cum_sum().over("unit_id")
    demote = is_a & (a_rank > keep)
    return [
        pl.when(demote).then(pl.lit(Grade.B.value)).otherwise(pl.col("grade")).alias("final_grade")
    ]


def decimal_text(column: str, digits: int) -> pl.Expr:
    """Integer ``column`` in units of 10⁻``digits`` → decimal text; null stays null.

    Ratios (6 digits) drop trailing zeros ("0.5", "1", "0.787879"); scores (1 digit) keep
    their decimal ("70.0").
    """
    unit = 10**digits
    value = pl.col(column)
    text = pl.format("{}.{}", value // unit, (value % unit).cast(pl.String).str.zfill(digits))
    if digits > 1:
        text = text.str.strip_chars_end("0").str.strip_chars_end(".")
    return text.alias(column)
