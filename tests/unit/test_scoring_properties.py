"""Properties of the scoring engine over random months (hypothesis)."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from services.evaluation import scoring_columns
from services.evaluation.month_import import evaluate_month
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

points = st.builds(
    lambda whole, hundredths: Fraction(whole) + Fraction(hundredths, 100),
    st.integers(0, 60),
    st.integers(0, 99),
)
tasks_st = st.builds(
    TaskRecord,
    points=points,
    completed=st.booleans(),
    quality_failures=st.integers(0, 6),
    delays=st.integers(0, 6),
    days_late=st.integers(0, 9),
    objective_cause=st.booleans(),
    exceeded=st.booleans(),
)
good_task_st = st.builds(TaskRecord, points=points, completed=st.just(True), exceeded=st.booleans())
general_st = st.builds(lambda tenths: Fraction(tenths, 10), st.integers(0, 300))
high_general_st = st.builds(lambda tenths: Fraction(tenths, 10), st.integers(250, 300))
leader_st = st.none() | st.builds(LeaderFactors, st.booleans(), st.booleans(), st.booleans())
rules_st = st.builds(
    ScoringRules,
    delay_penalty_unit=st.sampled_from(list(DelayPenaltyUnit)),
    excellent_requires_exceeding=st.booleans(),
    excellent_quota_ratio=st.sampled_from([Fraction(1, 5), Fraction(1, 4), Fraction(0)]),
)


def _score(tasks, general, leader, rules) -> MonthlyResult:
    return score_month(
        tasks, general_score=general, working_days=22, days_worked=22, leader=leader, rules=rules
    )


@given(st.lists(tasks_st, max_size=15), general_st, leader_st, rules_st)
def test_score_is_within_0_and_100(tasks, general, leader, rules) -> None:
    result = _score(tasks, general, leader, rules)
    if result.status is Status.EVALUATED:
        assert result.score is not None and 0 <= result.score <= 100
        for ratio in (result.a, result.b, result.c, result.task_result):
            assert ratio is not None and 0 <= ratio <= 1
    else:
        assert result.score is None and sum(t.points for t in tasks) == 0


@given(st.lists(tasks_st, min_size=1, max_size=15), general_st, leader_st, rules_st, st.data())
def test_completing_more_never_lowers_the_score(tasks, general, leader, rules, data) -> None:
    """Completing a pending task (with any review history) never lowers the score."""
    index = data.draw(st.integers(0, len(tasks) - 1))
    pending = [*tasks]
    pending[index] = TaskRecord(**{**_fields(tasks[index]), "completed": False})
    done = [*tasks]
    done[index] = TaskRecord(**{**_fields(tasks[index]), "completed": True})
    lower, higher = _score(pending, general, leader, rules), _score(done, general, leader, rules)
    if lower.status is Status.EVALUATED:
        assert higher.score is not None and lower.score is not None
        assert higher.score >= lower.score


def _fields(task: TaskRecord) -> dict:
    return {name: getattr(task, name) for name in TaskRecord.__dataclass_fields__}


def _decimal(value: Fraction) -> str:
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _six(value: Fraction | None) -> str:
    if value is None:
        return ""
    micro = (2 * value.numerator * 10**6 + value.denominator) // (2 * value.denominator)
    return f"{micro // 10**6}.{micro % 10**6:06d}".rstrip("0").rstrip(".")


person_st = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(["u1", "u2", "u3"]),
        "leader": leader_st,
        "working_days": st.integers(1, 23),
        "worked_share": st.fractions(0, 1),
        "general": general_st | high_general_st,
        "tasks": st.lists(tasks_st, max_size=6) | st.lists(good_task_st, min_size=1, max_size=4),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(person_st, min_size=1, max_size=25), rules_st)
def test_evaluate_month_equals_per_person_scoring(people, rules) -> None:
    """``evaluate-month`` (columnar) gives each person exactly what ``score_month`` gives, and
    the final grades ``apply_quota`` gives per unit."""
    with TemporaryDirectory() as tmp:
        people_csv, tasks_csv = Path(tmp, "PEOPLE.csv"), Path(tmp, "TASKS.csv")
        expected: dict[str, MonthlyResult] = {}
        by_unit: dict[str, dict[str, tuple[Decimal, Grade]]] = defaultdict(dict)
        with people_csv.open("w", newline="") as pf, tasks_csv.open("w", newline="") as tf:
            pw, tw = csv.writer(pf), csv.writer(tf)
            pw.writerow(
                [
                    "person_id",
                    "unit_id",
                    "role",
                    "working_days",
                    "days_worked",
                    "general_score",
                    "all_subordinates_pass",
                    "unit_on_plan",
                    "unit_united",
                ]
            )
            tw.writerow(
                [
                    "person_id",
                    "task_id",
                    "points",
                    "completed",
                    "quality_failures",
                    "delays",
                    "days_late",
                    "objective_cause",
                    "exceeded",
                ]
            )
            for n, p in enumerate(people):
                pid, leader = f"p{n:02d}", p["leader"]
                worked = int(p["working_days"] * p["worked_share"])
                flags = ["1" if f else "0" for f in leader] if leader else ["", "", ""]
                pw.writerow(
                    [
                        pid,
                        p["unit"],
                        "leader" if leader else "staff",
                        p["working_days"],
                        worked,
                        _decimal(p["general"]),
                        *flags,
                    ]
                )
                for k, t in enumerate(p["tasks"]):
                    tw.writerow(
                        [
                            pid,
                            f"t{k}",
                            _decimal(t.points),
                            int(t.completed),
                            t.quality_failures,
                            t.delays,
                            t.days_late,
                            "true" if t.objective_cause else "false",
                            int(t.exceeded),
                        ]
                    )
                result = score_month(
                    p["tasks"],
                    general_score=p["general"],
                    working_days=p["working_days"],
                    days_worked=worked,
                    leader=leader,
                    rules=rules,
                )
                expected[pid] = result
                if result.status is Status.EVALUATED:
                    by_unit[p["unit"]][pid] = (result.score, result.grade)
        final: dict[str, Grade] = {}
        for grades in by_unit.values():
            final.update(apply_quota(grades, rules.excellent_quota_ratio))

        rows = evaluate_month(people_csv, tasks_csv, rules).rows(named=True)
    assert [r["person_id"] for r in rows] == list(expected)
    for row in rows:
        want = expected[row["person_id"]]
        assert row["status"] == want.status.value
        assert (row["score"] or "") == ("" if want.score is None else str(want.score))
        assert row["grade"] == (want.grade and want.grade.value)
        assert row["final_grade"] == (final[row["person_id"]].value if want.grade else None)
        for key in ("a", "b", "c", "d", "dd", "e", "task_result"):
            assert (row[key] or "") == _six(getattr(want, key)), key


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.text("abcxyz", min_size=1, max_size=3),
        st.tuples(st.sampled_from(["u1", "u2"]), st.integers(400, 1000)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([Fraction(1, 5), Fraction(1, 4), Fraction(0)]),
)
def test_columnar_quota_equals_apply_quota(people, ratio) -> None:
    """The closed form of ``final_grades`` equals the iterative ``apply_quota`` per unit."""
    frame = pl.DataFrame(
        {
            "person_id": list(people),
            "unit_id": [unit for unit, _ in people.values()],
            "tenths": [tenths for _, tenths in people.values()],
        }
    )
    grades = {p: Decimal(t).scaleb(-1) for p, (_, t) in people.items()}
    frame = frame.with_columns(
        grade=pl.Series([grade_for(grades[p]).value for p in people], dtype=pl.String)
    )
    got = (
        frame.sort(["tenths", "person_id"], descending=[True, False])
        .with_columns(scoring_columns.final_grades(ratio))
        .select("person_id", "final_grade")
        .rows()
    )
    want: dict[str, Grade] = {}
    for unit in ("u1", "u2"):
        members = {
            p: (grades[p], grade_for(grades[p])) for p, (u, _) in people.items() if u == unit
        }
        want.update(apply_quota(members, ratio))
    assert dict(got) == {p: g.value for p, g in want.items()}
