"""``woms evaluate-month`` and ``woms score`` on good and bad input, as a user runs them."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

PEOPLE = [
    "person_id,unit_id,role,working_days,days_worked,general_score,"
    "all_subordinates_pass,unit_on_plan,unit_united",
    "p1,u1,staff,22,22,30,,,",
    "p2,u1,leader,22,20,27.5,0,1,1",
    "p3,u1,staff,22,10,28,,,",
    "p4,u2,staff,22,22,29,,,",
]
TASKS = [
    "person_id,task_id,points,completed,quality_failures,delays,days_late,objective_cause,exceeded",
    "p1,t1,28,1,1,0,0,0,0",
    "p1,t2,12,1,0,0,0,0,0",
    "p1,t3,17,0,0,0,0,0,0",
    *(f"p1,r{i},8,1,0,0,0,0,0" for i in range(8)),
    "p1,x1,11,0,0,0,0,0,0",
    "p2,t1,20,1,0,0,0,0,0",
    "p2,t2,15,true,1,0,0,false,false",
    "p2,t3,10,1,0,2,3,0,0",
    "p2,t4,5,1,0,0,0,0,0",
    "p3,t1,10,1,0,0,0,0,0",
]


def write(folder: Path, people: list[str], tasks: list[str]) -> tuple[Path, Path]:
    people_csv, tasks_csv = folder / "PEOPLE.csv", folder / "TASKS.csv"
    people_csv.write_text("\n".join(people) + "\n", encoding="utf-8")
    tasks_csv.write_text("\n".join(tasks) + "\n", encoding="utf-8")
    return people_csv, tasks_csv


def run(woms_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([woms_bin, *args], capture_output=True, text=True)


def test_scores_a_month(woms_bin: str, tmp_path: Path) -> None:
    people_csv, tasks_csv = write(tmp_path, PEOPLE, TASKS)
    out = tmp_path / "out" / "RESULTS.csv"
    done = run(
        woms_bin,
        "evaluate-month",
        "--people",
        str(people_csv),
        "--tasks",
        str(tasks_csv),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    rows = {r["person_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert list(rows["p1"].values()) == [
        "p1",
        "u1",
        "evaluated",
        "0.787879",
        "0.734848",
        "0.787879",
        "",
        "",
        "",
        "0.770202",
        "83.9",
        "B",
        "B",
    ]  # the worked example of 002
    assert (rows["p2"]["d"], rows["p2"]["dd"], rows["p2"]["score"]) == ("0.5", "1", "89.6")
    assert rows["p3"]["status"] == "not_evaluated" and rows["p3"]["score"] == ""
    assert rows["p4"]["status"] == "no_tasks" and rows["p4"]["final_grade"] == ""


def test_rules_file_switches_to_per_day(woms_bin: str, tmp_path: Path) -> None:
    people_csv, tasks_csv = write(tmp_path, PEOPLE, TASKS)
    rules = tmp_path / "RULES.json"
    rules.write_text(
        '{"delay_penalty_unit": "per_day", "excellent_requires_exceeding": false,'
        ' "excellent_quota_ratio": 0.25}',
        encoding="utf-8",
    )
    out = tmp_path / "RESULTS.csv"
    done = run(
        woms_bin,
        "evaluate-month",
        "--people",
        str(people_csv),
        "--tasks",
        str(tasks_csv),
        "--out",
        str(out),
        "--rules",
        str(rules),
    )
    assert done.returncode == 0, done.stderr
    p2 = next(r for r in csv.DictReader(out.open()) if r["person_id"] == "p2")
    assert p2["c"] == "0.85"  # 3 days late on 10 of 50 points: 2.5 kept → (40 + 2.5)/50


@pytest.mark.parametrize(
    ("file", "edit", "where", "what"),
    [
        (
            "people",
            lambda p, t: ([r.rsplit(",", 1)[0] for r in p], t),
            "PEOPLE.csv:1:9:",
            "unit_united: missing column",
        ),
        (
            "people",
            lambda p, t: ([p[0].replace("role", "rôle"), *p[1:]], t),
            "PEOPLE.csv:1:",
            "role: missing column",
        ),
        (
            "tasks",
            lambda p, t: (p, [*t, "p9,t1,5,1,0,0,0,0,0"]),
            "TASKS.csv:19:1:",
            "person_id: person not in PEOPLE.csv",
        ),
        (
            "tasks",
            lambda p, t: (p, [*t[:3], t[3].replace(",17,", ",-17,"), *t[4:]]),
            "TASKS.csv:4:3:",
            "points: must be a number",
        ),
        (
            "tasks",
            lambda p, t: (p, [*t[:2], t[2].replace(",12,", ",abc,"), *t[3:]]),
            "TASKS.csv:3:3:",
            "points: must be a number",
        ),
        (
            "tasks",
            lambda p, t: (p, [*t[:5], t[5].replace(",0,0,0,0,0", ",0,-1,0,0,0")]),
            "TASKS.csv:6:6:",
            "delays: must be a whole number",
        ),
        (
            "tasks",
            lambda p, t: (p, [*t, "p2,t1,3,1,0,0,0,0,0"]),
            "TASKS.csv:19:2:",
            "task_id: duplicate task",
        ),
        (
            "people",
            lambda p, t: ([*p[:2], p[2].replace("leader", "boss"), *p[3:]], t),
            "PEOPLE.csv:3:3:",
            "role: must be 'staff' or 'leader'",
        ),
        (
            "people",
            lambda p, t: ([*p[:2], p[2].replace("0,1,1", ",1,1"), *p[3:]], t),
            "PEOPLE.csv:3:7:",
            "all_subordinates_pass: must be 1/0/true/false",
        ),
        (
            "people",
            lambda p, t: ([*p[:4], p[4].replace(",29,", ",31,")], t),
            "PEOPLE.csv:5:6:",
            "general_score: must be at most 30",
        ),
        (
            "people",
            lambda p, t: ([*p[:4], p[4].replace("22,22", "22,23")], t),
            "PEOPLE.csv:5:5:",
            "days_worked: exceeds working_days",
        ),
        ("people", lambda p, t: ([*p, p[1]], t), "PEOPLE.csv:6:1:", "person_id: duplicate person"),
    ],
)
def test_bad_input_exits_2_names_the_place_and_writes_nothing(
    woms_bin: str, tmp_path: Path, file: str, edit, where: str | None, what: str
) -> None:
    people, tasks = edit(PEOPLE, TASKS)
    people_csv, tasks_csv = write(tmp_path, people, tasks)
    out = tmp_path / "RESULTS.csv"
    out.write_text("previous results\n", encoding="utf-8")
    done = run(
        woms_bin,
        "evaluate-month",
        "--people",
        str(people_csv),
        "--tasks",
        str(tasks_csv),
        "--out",
        str(out),
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert what in done.stderr
    if where:
        assert where in done.stderr
    assert out.read_text(encoding="utf-8") == "previous results\n"  # nothing lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PEOPLE.csv", "RESULTS.csv", "TASKS.csv"]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (
            '{"person": {"role": "staff"},\n "working_days": 22, "days_worked": 22,\n'
            ' "general_score": 30, "tasks": [\n  {"points": -3, "completed": true}]}',
            ":4:14:",
            "tasks.0.points",
        ),
        (
            '{"person": {"role": "staff"}, "working_days": 22,\n "days_worked": 22, '
            '"general_score": 30,\n "tasks": [}',
            ":3:12:",
            "json",
        ),
        (
            '{"person": {"role": "leader"}, "working_days": 22, "days_worked": 22,'
            ' "general_score": 30, "tasks": []}',
            ":1:21:",
            "leader_factors: required",
        ),
        (
            '{"person": {"role": "staff"}, "working_days": 22, "days_worked": 22,'
            ' "general_score": 30, "tasks": [{"points": 1, "completed": true, "delay": 1}]}',
            ":1:",
            "tasks.0.delay",
        ),
    ],
)
def test_bad_case_file_exits_2(
    woms_bin: str, tmp_path: Path, text: str, where: str, what: str
) -> None:
    case = tmp_path / "case.json"
    case.write_text(text, encoding="utf-8")
    done = run(woms_bin, "score", str(case))
    assert done.returncode == 2
    assert f"{case}{where}" in done.stderr and what in done.stderr, done.stderr
    assert done.stdout == ""
