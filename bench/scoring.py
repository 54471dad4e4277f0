"""Benchmark of ``woms evaluate-month`` against a set-based DuckDB reference.

Generates a tenant-month of ``--people`` people × ``--tasks`` tasks (deterministic, seeded),
runs ``woms evaluate-month`` end to end as a subprocess (measuring wall time and peak RSS),
computes the same RESULTS with a single DuckDB SQL query (exact integer arithmetic, the quota
in closed form), checks both outputs are identical row for row, and prints both times and
their ratio.

Usage: ``python bench/scoring.py [--people 200000] [--tasks 12] [--out bench/out]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

HERE = Path(__file__).resolve().parent


def _rand(index: pl.Expr, seed: int, modulo: int) -> pl.Expr:
    """A deterministic pseudo-random integer in ``0..modulo-1`` for each row index."""
    return (index.hash(seed) % modulo).cast(pl.Int64)


def generate(out: Path, people: int, tasks: int, seed: int = 2026) -> tuple[Path, Path]:
    """Write ``PEOPLE.csv`` and ``TASKS.csv`` for a synthetic month (about 20 people a unit,
    one leader in ten, 2% not evaluated, 1% without tasks; points with up to two decimals)."""
    out.mkdir(parents=True, exist_ok=True)
    people_csv, tasks_csv = out / "PEOPLE.csv", out / "TASKS.csv"
    i = pl.int_range(0, people, eager=True).alias("i")
    role_leader = _rand(pl.col("i"), seed, 10) == 0
    frame = (
        pl.DataFrame(i)
        .with_columns(
            person_id=pl.format("p{}", pl.col("i")),
            unit_id=pl.format("u{}", pl.col("i") // 20),
            role=pl.when(role_leader).then(pl.lit("leader")).otherwise(pl.lit("staff")),
            working_days=pl.lit(22),
            days_worked=pl.when(_rand(pl.col("i"), seed + 1, 50) == 0)
            .then(pl.lit(9))
            .otherwise(22 - _rand(pl.col("i"), seed + 2, 5)),
            general_score=((200 + _rand(pl.col("i"), seed + 3, 101)).cast(pl.Float64) / 10).round(
                1
            ),
        )
        .with_columns(
            *(
                pl.when(role_leader)
                .then((_rand(pl.col("i"), seed + 4 + k, 5) > 0).cast(pl.Int64).cast(pl.String))
                .otherwise(pl.lit(""))
                .alias(name)
                for k, name in enumerate(("all_subordinates_pass", "unit_on_plan", "unit_united"))
            )
        )
        .drop("i")
    )
    frame.write_csv(people_csv)

    has_tasks = _rand(pl.col("p"), seed + 9, 100) > 0
    t = (
        pl.DataFrame(pl.int_range(0, people * tasks, eager=True).alias("j"))
        .with_columns(p=pl.col("j") // tasks, k=pl.col("j") % tasks)
        .filter(has_tasks)
    )
    j = pl.col("j")
    delays = pl.when(_rand(j, seed + 12, 6) == 0).then(_rand(j, seed + 13, 3) + 1).otherwise(0)
    t = t.select(
        person_id=pl.format("p{}", pl.col("p")),
        task_id=pl.format("t{}", pl.col("k")),
        points=pl.format(
            "{}.{}", 1 + _rand(j, seed + 10, 30), _rand(j, seed + 11, 4) * 25
        ).str.replace(r"\.0$", ""),
        completed=(_rand(j, seed + 14, 8) > 0).cast(pl.Int64),
        quality_failures=pl.when(_rand(j, seed + 15, 7) == 0).then(1).otherwise(0),
        delays=delays,
        days_late=delays * (1 + _rand(j, seed + 16, 3)),
        objective_cause=(_rand(j, seed + 17, 40) == 0).cast(pl.Int64),
        exceeded=(_rand(j, seed + 18, 3) == 0).cast(pl.Int64),
    )
    t.write_csv(tasks_csv)
    return people_csv, tasks_csv


REFERENCE_SQL = """
WITH t AS (
    SELECT person_id,
           CAST(points AS DECIMAL(18, 6)) * 1000000 AS p,
           completed = 1 AS done,
           objective_cause = 1 AS cause,
           exceeded = 1 AS exc,
           CASE WHEN objective_cause = 1 THEN 4 ELSE greatest(0, 4 - quality_failures) END AS q,
           CASE WHEN objective_cause = 1 THEN 4 ELSE greatest(0, 4 - {late}) END AS s
    FROM read_csv('{tasks}', header = true, all_varchar = false)
), sums AS (
    SELECT person_id,
           CAST(sum(p) AS HUGEINT) AS assigned,
           CAST(sum(CASE WHEN done THEN p ELSE 0 END) AS HUGEINT) AS completed,
           CAST(sum(CASE WHEN done THEN p * q ELSE 0 END) AS HUGEINT) AS quality_steps,
           CAST(sum(CASE WHEN done THEN p * s ELSE 0 END) AS HUGEINT) AS timeliness_steps
    FROM t GROUP BY person_id
), ppl AS (
    SELECT row_number() OVER () AS line, person_id, unit_id, role, working_days, days_worked,
           CAST(CAST(general_score AS DECIMAL(18, 6)) * 1000000 AS HUGEINT) AS g,
           coalesce(all_subordinates_pass, 0) AS d1, coalesce(unit_on_plan, 0) AS d2,
           coalesce(unit_united, 0) AS d3
    FROM read_csv('{people}', header = true,
                  types = {{'all_subordinates_pass': 'INTEGER', 'unit_on_plan': 'INTEGER',
                           'unit_united': 'INTEGER', 'general_score': 'VARCHAR'}})
), r AS (
    SELECT ppl.*, s.assigned, s.completed, s.quality_steps, s.timeliness_steps,
           CASE WHEN 2 * days_worked < working_days THEN 'not_evaluated'
                WHEN coalesce(s.assigned, 0) = 0 THEN 'no_tasks'
                ELSE 'evaluated' END AS status,
           4 * s.completed + s.quality_steps + s.timeliness_steps AS abc4,
           CASE WHEN role = 'leader' THEN (3 + d1 + d2 + d3) ELSE NULL END AS half_units
    FROM ppl LEFT JOIN sums s USING (person_id)
), n AS (
    SELECT *,
           CASE WHEN role = 'leader' THEN 2 * abc4 + 4 * assigned * half_units
                ELSE abc4 END AS rn,
           CASE WHEN role = 'leader' THEN 48 * assigned ELSE 12 * assigned END AS rd
    FROM r
), sc AS (
    SELECT *,
           CASE WHEN status = 'evaluated' THEN
             (2 * (10 * g * rd + 700 * rn * 1000000) + 1000000 * rd) // (2 * 1000000 * rd)
           END AS tenths
    FROM n
), gr AS (
    SELECT *, CASE WHEN tenths >= 900 THEN 'A' WHEN tenths >= 700 THEN 'B'
                   WHEN tenths >= 500 THEN 'C' WHEN tenths IS NOT NULL THEN 'D' END AS grade
    FROM sc
), q AS (
    SELECT *,
           count(*) FILTER (WHERE grade IN ('A', 'B')) OVER (PARTITION BY unit_id) AS ab,
           CASE WHEN grade = 'A' THEN row_number() OVER (
               PARTITION BY unit_id, grade = 'A' ORDER BY tenths DESC, person_id ASC) END AS a_rank
    FROM gr
)
SELECT person_id, unit_id, status,
       r6(CASE WHEN status = 'evaluated' THEN
              (2 * completed * 1000000 + assigned) // (2 * assigned) END) AS a,
       r6(CASE WHEN status = 'evaluated' THEN
              (2 * quality_steps * 1000000 + 4 * assigned) // (8 * assigned) END) AS b,
       r6(CASE WHEN status = 'evaluated' THEN
              (2 * timeliness_steps * 1000000 + 4 * assigned) // (8 * assigned) END) AS c,
       r6(CASE WHEN status = 'evaluated' AND role = 'leader' THEN 500000 + 500000 * d1 END)
         AS d,
       r6(CASE WHEN status = 'evaluated' AND role = 'leader' THEN 500000 + 500000 * d2 END)
         AS dd,
       r6(CASE WHEN status = 'evaluated' AND role = 'leader' THEN 500000 + 500000 * d3 END)
         AS e,
       r6(CASE WHEN status = 'evaluated' THEN (2 * rn * 1000000 + rd) // (2 * rd) END)
         AS task_result,
       CAST(tenths // 10 AS VARCHAR) || '.' || CAST(tenths % 10 AS VARCHAR) AS score,
       grade,
       CASE WHEN grade = 'A' AND a_rank > ({ratio_num} * ab) // ({ratio_den} + {ratio_num})
            THEN 'B' ELSE grade END AS final_grade
FROM q ORDER BY line
"""

#: micro-units → decimal text without trailing zeros ("0.5", "1", "0.787879")
R6_MACRO = """
CREATE MACRO r6(x) AS rtrim(rtrim(
    CAST(x // 1000000 AS VARCHAR) || '.' || lpad(CAST(x % 1000000 AS VARCHAR), 6, '0'),
    '0'), '.')
"""


def reference(people_csv: Path, tasks_csv: Path, out: Path) -> None:
    """RESULTS.csv by one DuckDB query written with ``COPY`` (exact HUGEINT arithmetic; quota
    in closed form: a unit keeps ``floor(r·(A+B)/(1+r))`` A grades, the highest scores
    first)."""
    sql = REFERENCE_SQL.format(
        tasks=tasks_csv, people=people_csv, late="delays", ratio_num=1, ratio_den=5
    )
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute(R6_MACRO)
    con.execute(f"COPY ({sql}) TO '{out}' (HEADER, DELIMITER ',')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()

    print(f"generating {args.people:,} people × {args.tasks} tasks …", flush=True)
    people_csv, tasks_csv = generate(args.out, args.people, args.tasks)
    woms = Path(sys.executable).with_name("woms")
    results = args.out / "RESULTS.csv"
    start = time.perf_counter()
    subprocess.run(
        [
            str(woms),
            "evaluate-month",
            "--people",
            str(people_csv),
            "--tasks",
            str(tasks_csv),
            "--out",
            str(results),
        ],
        check=True,
    )
    woms_seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    ref_out = args.out / "RESULTS.reference.csv"
    start = time.perf_counter()
    reference(people_csv, tasks_csv, ref_out)
    ref_seconds = time.perf_counter() - start

    same = results.read_bytes() == ref_out.read_bytes()
    print(f"woms evaluate-month : {woms_seconds:6.2f} s  (peak RSS {peak_mib:,.0f} MiB)")
    print(f"DuckDB reference    : {ref_seconds:6.2f} s")
    print(f"ratio woms/reference: {woms_seconds / ref_seconds:6.2f}×")
    print(f"identical results   : {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit("RESULTS differ from the reference")


if __name__ == "__main__":
    main()
