"""The month's ledger (services/tasks/ledger.py): from recorded facts to the scoring engine's
inputs (001 §III.2, 002 worked example)."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from services.evaluation.month_import import TASK_COLUMNS, evaluate_month
from services.evaluation.scoring import Grade, TaskRecord, score_month
from services.tasks.ledger import (
    RECORD_FIELDS,
    TASK_CSV_COLUMNS,
    CauseFact,
    ExceededFact,
    LedgerLine,
    ReturnFact,
    SubmissionFact,
    TaskFacts,
    ledger_csv_rows,
    ledger_line,
    points_text,
)
from services.tasks.lifecycle import TaskStatus
from services.tasks.workdays import WorkCalendar

CAL = WorkCalendar()
DUE = date(2026, 3, 6)  # a Friday; March 2026 has no public holiday


def facts(
    code: str = "T1",
    *,
    points: str = "10",
    group: str = "regular",
    status: TaskStatus = TaskStatus.APPROVED,
    due: date = DUE,
    submissions: tuple[SubmissionFact, ...] | None = None,
    returns: tuple[ReturnFact, ...] = (),
    causes: tuple[CauseFact, ...] = (),
    marks: tuple[ExceededFact, ...] = (),
    approved_at: date | None = None,
) -> TaskFacts:
    """A task's facts; by default submitted on time and approved the same day."""
    if submissions is None:
        submissions = (SubmissionFact(f"{code}-s1", due, (f"{code}-file",)),)
    if status is TaskStatus.APPROVED and approved_at is None:
        approved_at = max(s.at for s in submissions)
    return TaskFacts(
        task_code=code,
        name=f"Nhiệm vụ {code}",
        group=group,  # type: ignore[arg-type]
        points=Decimal(points),
        status=status,
        due_date=due,
        submissions=submissions,
        returns=returns,
        objective_causes=causes,
        exceeded_marks=marks,
        approved_at=approved_at,
    )


def test_on_time_approved_task() -> None:
    line = ledger_line(facts(), CAL)
    assert (line.completed, line.quality_failures, line.delays, line.days_late) == (
        True,
        0,
        0,
        0,
    )
    assert (line.objective_cause, line.exceeded, line.group, line.points) == (
        False,
        False,
        "regular",
        Decimal(10),
    )
    assert line.evidence == {
        "completed": ["T1-s1"],
        "quality_failures": [],
        "delays": [],
        "days_late": [],
        "objective_cause": [],
        "exceeded": [],
    }


def test_returned_twice_for_quality_then_approved() -> None:
    subs = (
        SubmissionFact("s1", date(2026, 3, 2)),
        SubmissionFact("s2", date(2026, 3, 4)),
        SubmissionFact("s3", date(2026, 3, 5), ("file-final",)),
    )
    rets = (
        ReturnFact("r2", date(2026, 3, 4), True, "Số liệu chưa khớp"),
        ReturnFact("r1", date(2026, 3, 3), True, "Sai mẫu báo cáo"),
    )
    line = ledger_line(facts(submissions=subs, returns=rets, approved_at=date(2026, 3, 6)), CAL)
    assert line.completed is True
    assert line.quality_failures == 2
    assert line.delays == 0
    assert line.evidence["quality_failures"] == ["r1", "r2"]  # date order
    assert line.evidence["completed"] == ["s3"]


def test_a_return_not_for_quality_is_not_a_failure() -> None:
    subs = (SubmissionFact("s1", date(2026, 3, 2)), SubmissionFact("s2", date(2026, 3, 3)))
    rets = (ReturnFact("r1", date(2026, 3, 2), False, "Gửi nhầm người duyệt"),)
    line = ledger_line(facts(submissions=subs, returns=rets), CAL)
    assert line.quality_failures == 0
    assert line.evidence["quality_failures"] == []


def test_submitted_late_twice() -> None:
    subs = (
        SubmissionFact("s1", date(2026, 3, 5)),  # on time, returned
        SubmissionFact("s2", date(2026, 3, 9)),  # Monday: 1 working day late
        SubmissionFact("s3", date(2026, 3, 12)),  # Thursday: 4 working days late
    )
    rets = (
        ReturnFact("r1", date(2026, 3, 6), True, "Thiếu phụ lục"),
        ReturnFact("r2", date(2026, 3, 10), True, "Thiếu số liệu"),
    )
    line = ledger_line(facts(submissions=subs, returns=rets, approved_at=date(2026, 3, 13)), CAL)
    assert line.delays == 2
    assert line.days_late == 1 + 4
    assert line.quality_failures == 2
    assert line.evidence["delays"] == ["s2", "s3"]
    assert line.evidence["days_late"] == ["s2", "s3"]


def test_late_across_tet_counts_working_days() -> None:
    subs = (SubmissionFact("s1", date(2026, 2, 23)),)
    line = ledger_line(facts(due=date(2026, 2, 13), submissions=subs), CAL)
    assert (line.delays, line.days_late) == (1, 1)


def test_weekend_submission_after_due_is_a_delay_of_zero_working_days() -> None:
    subs = (SubmissionFact("s1", date(2026, 3, 7)),)  # Saturday after Friday's due date
    line = ledger_line(facts(submissions=subs), CAL)
    assert (line.delays, line.days_late) == (1, 0)


def test_objective_cause_is_flagged_and_waives_the_deduction() -> None:
    subs = (SubmissionFact("s1", date(2026, 3, 10)),)
    cause = CauseFact("c1", "delay", "chu-tich", date(2026, 3, 11), "Mất điện diện rộng")
    line = ledger_line(facts(submissions=subs, causes=(cause,)), CAL)
    assert line.objective_cause is True
    assert line.delays == 1
    assert line.evidence["objective_cause"] == ["c1"]
    without = ledger_line(facts(submissions=subs), CAL)
    assert without.objective_cause is False
    scored = score_month(
        [TaskRecord(**line.record_fields())], general_score=0, working_days=22, days_worked=22
    )
    unwaived = score_month(
        [TaskRecord(**without.record_fields())], general_score=0, working_days=22, days_worked=22
    )
    assert scored.c == 1
    assert unwaived.c == Fraction(3, 4)


def test_a_quality_cause_also_sets_the_single_flag() -> None:
    """TaskRecord has one objective_cause flag: any confirmed cause sets it (documented)."""
    cause = CauseFact("c1", "quality", "chu-tich", date(2026, 3, 6), "Văn bản cấp trên thay đổi")
    assert ledger_line(facts(causes=(cause,)), CAL).objective_cause is True


def test_exceeded() -> None:
    marks = (
        ExceededFact("m2", "innovation", "truong-phong", date(2026, 3, 6)),
        ExceededFact("m1", "ahead_of_time", "truong-phong", date(2026, 3, 5)),
    )
    line = ledger_line(facts(marks=marks), CAL)
    assert line.exceeded is True
    assert line.evidence["exceeded"] == ["m1", "m2"]
    assert ledger_line(facts(), CAL).exceeded is False


@pytest.mark.parametrize(
    "status", [TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED]
)
def test_never_approved_is_not_completed(status: TaskStatus) -> None:
    line = ledger_line(facts(status=status), CAL)
    assert line.completed is False
    assert line.evidence["completed"] == []


def test_returned_task_is_not_completed() -> None:
    rets = (ReturnFact("r1", DUE, True, "Chưa đạt"),)
    line = ledger_line(facts(status=TaskStatus.RETURNED, returns=rets), CAL)
    assert (line.completed, line.quality_failures) == (False, 1)


def test_as_of_ignores_later_facts() -> None:
    subs = (SubmissionFact("s1", date(2026, 3, 9)), SubmissionFact("s2", date(2026, 4, 2)))
    rets = (ReturnFact("r1", date(2026, 3, 10), True, "Chưa đạt"),)
    task = facts(submissions=subs, returns=rets, approved_at=date(2026, 4, 3))
    closed = ledger_line(task, CAL, as_of=date(2026, 3, 31))
    assert (closed.completed, closed.delays, closed.quality_failures) == (False, 1, 1)
    later = ledger_line(task, CAL)
    assert (later.completed, later.delays) == (True, 2)


@pytest.mark.parametrize(
    "status",
    # a proposal counts in no ledger until an authority accepts it (DOMAIN.md §4)
    [TaskStatus.DRAFT, TaskStatus.PROPOSED, TaskStatus.CANCELLED],
)
def test_draft_proposed_and_cancelled_tasks_are_not_in_the_ledger(status: TaskStatus) -> None:
    with pytest.raises(ValueError, match="ledger"):
        ledger_line(facts(status=status, submissions=()), CAL)


def test_fact_validation() -> None:
    with pytest.raises(ValueError, match="approved_at"):
        facts(status=TaskStatus.SUBMITTED, approved_at=DUE)
    with pytest.raises(ValueError, match="without a submission"):
        facts(submissions=(), approved_at=DUE)
    with pytest.raises(ValueError, match="without a submission"):
        facts(submissions=(SubmissionFact("s1", DUE),), approved_at=date(2026, 3, 5))
    with pytest.raises(ValueError, match="used twice"):
        facts(returns=(ReturnFact("T1-s1", DUE, True, "x"),))
    with pytest.raises(ValueError, match="≥ 0"):
        facts(points="-1")
    with pytest.raises(TypeError, match="points"):
        dataclasses.replace(facts(), points=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        facts(group="urgent")
    with pytest.raises(ValueError, match="kind"):
        CauseFact("c", "weather", "x", DUE, "y")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        ExceededFact("m", "fast", "x", DUE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="id"):
        SubmissionFact(" ", DUE)


def test_line_fields_are_the_scoring_engine_record() -> None:
    assert tuple(f.name for f in dataclasses.fields(TaskRecord)) == RECORD_FIELDS
    line_fields = {f.name for f in dataclasses.fields(LedgerLine)}
    assert line_fields == {*RECORD_FIELDS, "task_code", "evidence"}
    record = TaskRecord(**ledger_line(facts(points="7.5"), CAL).record_fields())
    assert record.points == Fraction(15, 2)


# --- 002's worked example: 12 tasks, 132 points → 104 / 97 / 104 → 83.9 B -----------------


def worked_example() -> list[TaskFacts]:
    """Focus 28, 12, 17; regular 8 × 8; arising 11. The 28-point task returned once for
    quality; the 17 and the 11 not completed."""
    day = date(2026, 6, 15)
    returned = facts(
        "F28",
        points="28",
        group="focus",
        due=day,
        submissions=(SubmissionFact("F28-s1", date(2026, 6, 10)), SubmissionFact("F28-s2", day)),
        returns=(ReturnFact("F28-r1", date(2026, 6, 11), True, "Nội dung chưa đạt"),),
    )
    month = [
        returned,
        facts("F12", points="12", group="focus", due=day),
        facts("F17", points="17", group="focus", due=day, status=TaskStatus.IN_PROGRESS),
        *(facts(f"R{i}", points="8", group="regular", due=day) for i in range(1, 9)),
        facts("A11", points="11", group="arising", due=day, status=TaskStatus.SUBMITTED),
    ]
    assert len(month) == 12
    return month


def test_worked_example_totals() -> None:
    lines = [ledger_line(f, CAL) for f in worked_example()]
    assigned = sum(line.points for line in lines)
    completed = sum(line.points for line in lines if line.completed)
    quality = sum(
        Fraction(line.points) * Fraction(max(0, 4 - line.quality_failures), 4)
        for line in lines
        if line.completed
    )
    timely = sum(
        Fraction(line.points) * Fraction(max(0, 4 - line.delays), 4)
        for line in lines
        if line.completed
    )
    assert (assigned, completed, quality, timely) == (132, 104, 97, 104)
    by_group: dict[str, Decimal] = {}
    for line in lines:
        by_group[line.group] = by_group.get(line.group, Decimal(0)) + line.points
    assert by_group == {"focus": 57, "regular": 64, "arising": 11}


def test_worked_example_scores_83_9_through_the_engine() -> None:
    records = [TaskRecord(**ledger_line(f, CAL).record_fields()) for f in worked_example()]
    result = score_month(records, general_score=30, working_days=22, days_worked=22)
    assert result.score == Decimal("83.9")
    assert result.grade is Grade.B


def test_worked_example_through_evaluate_month_csv(tmp_path: Path) -> None:
    """The TASKS.csv rows are read by `woms evaluate-month`'s importer as written."""
    rows = ledger_csv_rows("p1", (ledger_line(f, CAL) for f in worked_example()))
    tasks_csv, people_csv = tmp_path / "TASKS.csv", tmp_path / "PEOPLE.csv"
    with tasks_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TASK_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    people_csv.write_text(
        "person_id,unit_id,role,working_days,days_worked,general_score,"
        "all_subordinates_pass,unit_on_plan,unit_united\np1,u1,staff,22,22,30,,,\n",
        encoding="utf-8",
    )
    result = evaluate_month(people_csv, tasks_csv).row(0, named=True)
    assert (result["score"], result["grade"]) == ("83.9", "B")


def test_csv_rows() -> None:
    subs = (SubmissionFact("s1", date(2026, 3, 9)), SubmissionFact("s2", date(2026, 3, 10)))
    cause = CauseFact("c1", "delay", "x", date(2026, 3, 11), "Bão")
    mark = ExceededFact("m1", "higher_quality", "x", date(2026, 3, 11))
    lines = [
        ledger_line(facts("T1", points="7.50", submissions=subs, causes=(cause,)), CAL),
        ledger_line(facts("T2", points="28", status=TaskStatus.SUBMITTED, marks=(mark,)), CAL),
    ]
    rows = ledger_csv_rows("p1", lines)
    assert TASK_CSV_COLUMNS == TASK_COLUMNS
    assert [list(r) for r in rows] == [list(TASK_COLUMNS)] * 2
    assert rows[0] == {
        "person_id": "p1",
        "task_id": "T1",
        "points": "7.5",
        "completed": "1",
        "quality_failures": "0",
        "delays": "2",
        "days_late": "3",
        "objective_cause": "1",
        "exceeded": "0",
    }
    assert (rows[1]["points"], rows[1]["completed"], rows[1]["exceeded"]) == ("28", "0", "1")


@pytest.mark.parametrize(
    ("points", "text"),
    [
        ("28", "28"),
        ("2.8E+1", "28"),
        ("1E+2", "100"),
        ("7.50", "7.5"),
        ("0.000001", "0.000001"),
        ("0", "0"),
        ("0.00", "0"),
        ("123456789.123456", "123456789.123456"),
    ],
)
def test_points_text(points: str, text: str) -> None:
    assert points_text(Decimal(points)) == text


@pytest.mark.parametrize("points", ["0.0000001", "1E+9", "-1", "NaN", "Infinity"])
def test_points_that_do_not_fit_the_csv(points: str) -> None:
    with pytest.raises(ValueError, match="points"):
        points_text(Decimal(points))


def test_csv_rows_refuse_bad_ids_and_repeats() -> None:
    line = ledger_line(facts(), CAL)
    with pytest.raises(ValueError, match="twice"):
        ledger_csv_rows("p1", [line, line])
    for person in ["", " p1", "p\n1"]:
        with pytest.raises(ValueError, match="person_id"):
            ledger_csv_rows(person, [line])
    with pytest.raises(ValueError, match="task_id"):
        ledger_csv_rows("p1", [dataclasses.replace(line, task_code="T1 ")])
