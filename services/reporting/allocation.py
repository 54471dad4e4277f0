"""Additional income (thu nhập tăng thêm): a unit's pool split in proportion to score — pure.

Rules:

* ``001 §V.1``: additional income is paid "căn cứ kết quả đánh giá, xếp loại hằng tháng" with
  the principle "lượng hóa cống hiến, tuyệt đối không cào bằng" (quantify the contribution,
  never split evenly); ``000 §IV.6`` and ``§IX.4``: the KPI score is the basis, "tuyệt đối không
  cào bằng"; ``DOMAIN.md §8``: in proportion to score, never split evenly.
* ``000 §III.5`` ("Trong đãi ngộ *Không cào bằng*"): high scores get the most, people with low
  KPI "thấp hoặc không được hưởng" (get little or nothing). Who gets nothing is a tenant rule:
  :data:`DEFAULT_EXCLUDED` excludes grade D ("Không hoàn thành nhiệm vụ", ``001 §II.2``) and the
  people without a score (``not_evaluated``: under 50 % of the working days, ``no_tasks``:
  nothing assigned — ``DOMAIN.md §5``).

Method: person *i*'s exact quota is ``pool × score_i / Σ score`` over the eligible people
(``fractions.Fraction``, no rounding). Everyone first gets the whole đồng of the quota (floor);
the đồng left over (fewer than the number of eligible people) go one each by the **largest
remainder** (Hamilton) method, ranked by: larger fractional remainder, then higher score, then
person code in ascending order. The shares therefore add up to the pool exactly, each share is
within 1 đồng of its quota, a higher score never gets less, and the result does not depend on
the order of the input. Two different scores can get the same amount only through that 1-đồng
rounding (e.g. 3 đồng over scores 2, 2, 4 → 1, 1, 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "DEFAULT_EXCLUDED",
    "NOT_EVALUATED",
    "NO_TASKS",
    "PublishedResult",
    "Share",
    "allocate_income",
]

#: Outcome of a person not evaluated (worked under 50 % of the working days, ``001 §I.6``).
NOT_EVALUATED = "not_evaluated"
#: Outcome of a person with no assigned points in the month (``DOMAIN.md §5``).
NO_TASKS = "no_tasks"

#: Default tenant rule: who gets no additional income — grade D and the people without a score
#: (``000 §III.5``: low KPI "không được hưởng"; see the module docstring).
DEFAULT_EXCLUDED: frozenset[str] = frozenset({"D", NOT_EVALUATED, NO_TASKS})


@dataclass(frozen=True, slots=True)
class PublishedResult:
    """A person's published monthly result.

    Attributes:
        person: person code, unique within one allocation.
        score: points 0–100 (``Decimal``, one decimal as published); ``None`` when the person
            has no score (not evaluated, no tasks).
        grade: ``"A"``–``"D"`` after the unit quota, or :data:`NOT_EVALUATED` / :data:`NO_TASKS`.
    """

    person: str
    score: Decimal | None
    grade: str


@dataclass(frozen=True, slots=True)
class Share:
    """One person's allocation.

    Attributes:
        person: person code.
        amount: whole đồng (VND) paid; 0 for an excluded person.
        quota: the exact proportional amount in đồng before rounding (``Fraction``; 0 when
            excluded).
        eligible: whether the person takes part in the split (grade not excluded).
    """

    person: str
    amount: int
    quota: Fraction
    eligible: bool


def _check_pool(pool: int) -> None:
    if isinstance(pool, bool) or not isinstance(pool, int):
        raise TypeError(f"pool: expected a whole number of đồng (int), not {type(pool).__name__}")
    if pool < 0:
        raise ValueError(f"pool: must be >= 0 đồng, got {pool}")


def _checked(results: Iterable[PublishedResult], excluded: frozenset[str]) -> list[PublishedResult]:
    rows = list(results)
    seen: set[str] = set()
    for row in rows:
        if row.person in seen:
            raise ValueError(f"person: duplicate person {row.person!r}")
        seen.add(row.person)
        if row.grade in excluded:
            continue
        if row.score is None:
            raise ValueError(
                f"score: person {row.person!r} has grade {row.grade!r} but no score; "
                "exclude the grade or give the score"
            )
        if not isinstance(row.score, Decimal) or not row.score.is_finite():
            raise ValueError(f"score: person {row.person!r} has {row.score!r}, not a Decimal")
        if row.score < 0:
            raise ValueError(f"score: person {row.person!r} has {row.score} < 0")
    return rows


def allocate_income(
    pool: int,
    results: Iterable[PublishedResult],
    *,
    excluded_grades: Iterable[str] = DEFAULT_EXCLUDED,
) -> list[Share]:
    """Split a unit's additional-income pool in proportion to the published scores.

    Args:
        pool: the unit's pool for the period, whole đồng (VND), ``>= 0``.
        results: the published results of the unit's people (any order).
        excluded_grades: the tenant rule — grades/outcomes that receive nothing
            (default :data:`DEFAULT_EXCLUDED`: D, not evaluated, no tasks).

    Returns:
        One :class:`Share` per input result, in the input order; the amounts add up to
        ``pool`` exactly (largest-remainder rounding, tie-break in the module docstring).
        With ``pool == 0`` everyone gets 0.

    Raises:
        TypeError: ``pool`` is not an ``int``.
        ValueError: ``pool`` negative; a person listed twice; an eligible person without a
            score, with a negative score or a non-``Decimal`` score; a positive pool with no
            eligible person or with every eligible score 0 (nothing to be proportional to).
    """
    _check_pool(pool)
    excluded = frozenset(excluded_grades)
    rows = _checked(results, excluded)
    eligible = [(r, Fraction(r.score or 0)) for r in rows if r.grade not in excluded]
    total = sum((score for _, score in eligible), Fraction(0))
    if pool > 0 and not eligible:
        raise ValueError("results: no eligible person to receive a positive pool")
    if pool > 0 and total == 0:
        raise ValueError("score: every eligible person scores 0; the pool cannot be split")

    quotas: dict[str, Fraction] = {}
    amounts: dict[str, int] = {}
    for r, score in eligible:
        quota = pool * score / total if pool else Fraction(0)
        quotas[r.person] = quota
        amounts[r.person] = quota.numerator // quota.denominator
    left = pool - sum(amounts.values())
    ranked = sorted(
        eligible,
        key=lambda pair: (
            -(quotas[pair[0].person] - amounts[pair[0].person]),
            -pair[1],
            pair[0].person,
        ),
    )
    for r, _ in ranked[:left]:
        amounts[r.person] += 1
    return [
        Share(
            person=r.person,
            amount=amounts.get(r.person, 0),
            quota=quotas.get(r.person, Fraction(0)),
            eligible=r.person in quotas,
        )
        for r in rows
    ]
