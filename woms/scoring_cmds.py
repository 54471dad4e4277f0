"""``woms score``, ``woms quota`` and ``woms evaluate-month`` — the scoring contract.

Exit codes: 0 success; 2 bad input (the message names file, line and column, and no output is
written).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer

from services.common.errors import InputError
from services.evaluation import cases
from services.evaluation.month_import import evaluate_month, write_results
from services.evaluation.scoring import ScoringRules

INPUT_ERROR_EXIT = 2


def _fail(error: InputError) -> typer.Exit:
    typer.echo(f"lỗi dữ liệu / input error: {error}", err=True)
    return typer.Exit(INPUT_ERROR_EXIT)


def score(case: Annotated[Path, typer.Argument(help="Scoring case JSON (golden format)")]) -> None:
    """Score one person's month; prints one JSON object with the keys of a golden ``expect``."""
    try:
        result = cases.score_case(cases.load_scoring_case(case))
    except InputError as error:
        raise _fail(error) from None
    typer.echo(json.dumps(cases.result_json(result), ensure_ascii=False))


def quota(case: Annotated[Path, typer.Argument(help="Quota case JSON (golden format)")]) -> None:
    """Final grades of one unit after the excellence quota; prints ``{person: grade}``."""
    try:
        final = cases.quota_case(cases.load_quota_case(case))
    except InputError as error:
        raise _fail(error) from None
    typer.echo(json.dumps({p: g.value for p, g in final.items()}, ensure_ascii=False))


def _load_rules(path: Path | None) -> ScoringRules:
    if path is None:
        return ScoringRules()
    try:
        parsed = cases.load_rules(path)
    except InputError as error:
        raise _fail(error) from None
    return ScoringRules(
        delay_penalty_unit=parsed.delay_penalty_unit,
        excellent_requires_exceeding=parsed.excellent_requires_exceeding,
        excellent_quota_ratio=Fraction(parsed.excellent_quota_ratio),
    )


def evaluate_month_cmd(
    people: Annotated[Path, typer.Option("--people", help="PEOPLE.csv")],
    tasks: Annotated[Path, typer.Option("--tasks", help="TASKS.csv")],
    out: Annotated[Path, typer.Option("--out", help="RESULTS.csv to write")],
    rules: Annotated[Path | None, typer.Option("--rules", help="RULES.json")] = None,
) -> None:
    """Score a whole tenant-month from CSV (the HanoiWork export) into ``RESULTS.csv``."""
    scoring_rules = _load_rules(rules)
    try:
        count = write_results(evaluate_month(people, tasks, scoring_rules), out)
    except InputError as error:
        raise _fail(error) from None
    typer.echo(f"{count} người / people → {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the scoring commands to the root ``woms`` app."""
    app.command("score")(score)
    app.command("quota")(quota)
    app.command("evaluate-month")(evaluate_month_cmd)
