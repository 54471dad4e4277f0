"""Score a whole tenant-month from CSV files (``woms evaluate-month``).

This is how a province imports a month exported from HanoiWork. Each file is parsed once by
polars into typed columns (points and general scores exactly, in micro-points), validated, and
scored set-wise by the expressions of :mod:`services.evaluation.scoring_columns` — the rules of
:mod:`services.evaluation.scoring` in columnar form — with the unit quota of ``001 §II.2.5``.

Files (header row required, UTF-8, comma-separated; extra columns are ignored; values are read
verbatim, without trimming):

* ``PEOPLE.csv``: ``person_id,unit_id,role,working_days,days_worked,general_score,
  all_subordinates_pass,unit_on_plan,unit_united`` — role ``staff`` | ``leader``; the last three
  are booleans required for leaders only (empty for staff).
* ``TASKS.csv``: ``person_id,task_id,points,completed,quality_failures,delays,days_late,
  objective_cause,exceeded`` — booleans ``1``/``0``/``true``/``false``.
* ``RESULTS.csv`` (written): ``person_id,unit_id,status,a,b,c,d,dd,e,task_result,score,grade,
  final_grade`` — ratios 0–1 rounded half-up to 6 decimals, score in points to 0.1,
  ``final_grade`` after the quota within each ``unit_id``; empty where not applicable.

Bad input raises :class:`~services.common.errors.InputError` naming the file, the 1-based line
(the header is line 1; quoted values spanning lines are not supported) and column, and no
output file is written.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from services.common.contracts import TASKS_CSV_COLUMNS
from services.common.errors import InputError
from services.evaluation import scoring_columns as cols
from services.evaluation.scoring import GENERAL_MAX, ScoringRules

PEOPLE_COLUMNS = (
    "person_id",
    "unit_id",
    "role",
    "working_days",
    "days_worked",
    "general_score",
    *cols.LEADER_FLAGS,
)
TASK_COLUMNS = TASKS_CSV_COLUMNS
RESULT_COLUMNS = (
    "person_id",
    "unit_id",
    "status",
    *cols.RATIO_COLUMNS,
    "score",
    "grade",
    "final_grade",
)

_DECIMAL = r"^\d{1,9}(\.\d{1,6})?$"
_ID = r"^\S(.*\S)?$"
_TRUE = ("1", "true", "True", "TRUE")
_FALSE = ("0", "false", "False", "FALSE")
_MAX_COUNT = 10**6


def _parsed_id(column: str) -> pl.Expr:
    return pl.when(pl.col(column).str.contains(_ID)).then(pl.col(column))


def _parsed_micro(column: str) -> pl.Expr:
    """Exact decimal text (≤ 9 digits, ≤ 6 decimals) → integer micro-units, else null."""
    exact = (pl.col(column).cast(pl.Decimal(18, 6), strict=False) * cols.MICRO).cast(pl.Int64)
    return pl.when(pl.col(column).str.contains(_DECIMAL)).then(exact)


def _parsed_bool(column: str) -> pl.Expr:
    value = pl.col(column)
    return pl.when(value.is_in(_TRUE)).then(True).when(value.is_in(_FALSE)).then(False)


def _parsed_count(column: str) -> pl.Expr:
    number = pl.col(column).str.to_integer(strict=False)
    return pl.when((number >= 0) & (number < _MAX_COUNT)).then(number)


def _parsed_role(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_in(["staff", "leader"])).then(pl.col(column))


def _parsed_leader_flag(column: str) -> pl.Expr:
    """A leader's boolean; empty is allowed (and false) for staff."""
    empty_for_staff = (pl.col("role") == "staff") & (pl.col(column) == "")
    return pl.when(empty_for_staff).then(False).otherwise(_parsed_bool(column))


@dataclass(frozen=True, slots=True)
class _Field:
    """How one CSV column is read: ``parse`` gives null where the value is invalid."""

    column: str
    parse: Callable[[str], pl.Expr]
    reason: str
    name: str | None = None  # output column name, when it differs


_COUNT = "must be a whole number ≥ 0"
_BOOL = "must be 1/0/true/false"
_PEOPLE_FIELDS = (
    _Field("person_id", _parsed_id, "empty identifier"),
    _Field("unit_id", _parsed_id, "empty identifier"),
    _Field("role", _parsed_role, "must be 'staff' or 'leader'"),
    _Field("working_days", _parsed_count, "must be a whole number of days ≥ 0"),
    _Field("days_worked", _parsed_count, "must be a whole number of days ≥ 0"),
    _Field(
        "general_score",
        _parsed_micro,
        "must be a number of points ≥ 0 with at most 6 decimals",
        "general_micro",
    ),
    *(
        _Field(f, _parsed_leader_flag, _BOOL + " (required for a leader)")
        for f in cols.LEADER_FLAGS
    ),
)
_TASK_FIELDS = (
    _Field("person_id", _parsed_id, "empty identifier"),
    _Field("task_id", _parsed_id, "empty identifier"),
    _Field("points", _parsed_micro, "must be a number of points ≥ 0 with at most 6 decimals"),
    _Field("completed", _parsed_bool, _BOOL),
    _Field("quality_failures", _parsed_count, _COUNT),
    _Field("delays", _parsed_count, _COUNT),
    _Field("days_late", _parsed_count, _COUNT),
    _Field("objective_cause", _parsed_bool, _BOOL),
    _Field("exceeded", _parsed_bool, _BOOL),
)
#: Checks across columns of PEOPLE.csv, on the typed values: (column, reason, valid).
_PEOPLE_RULES = (
    ("working_days", "must be positive", pl.col("working_days") > 0),
    ("days_worked", "exceeds working_days", pl.col("days_worked") <= pl.col("working_days")),
    (
        "general_score",
        f"must be at most {GENERAL_MAX} points (001 §II.1)",
        pl.col("general_micro") <= GENERAL_MAX * cols.MICRO,
    ),
)


class _Table:
    """One input CSV: its path and header, for error positions."""

    def __init__(self, path: Path, required: Sequence[str]) -> None:
        self.path = path
        self.header = self._read_header(required)

    def error(self, line: int | None, column: str, reason: str) -> InputError:
        return InputError(str(self.path), line, self.header.index(column) + 1, column, reason)

    def _read_header(self, required: Sequence[str]) -> list[str]:
        try:
            with self.path.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), None)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(str(self.path), None, None, "file", f"cannot read: {exc}") from exc
        if not header:
            raise InputError(str(self.path), 1, 1, "header", "the file is empty")
        header[0] = header[0].removeprefix("\ufeff")
        for index, name in enumerate(header):
            if name in header[:index]:
                raise InputError(str(self.path), 1, index + 1, name, "duplicate column")
        for name in required:
            if name not in header:
                expected = ",".join(required)
                raise InputError(
                    str(self.path),
                    1,
                    len(header) + 1,
                    name,
                    f"missing column (expected {expected})",
                )
        return header

    def typed(self, fields: Sequence[_Field]) -> pl.DataFrame:
        """The rows parsed by ``fields`` plus ``line`` (1-based line number); raises
        :class:`InputError` at the first row, then first column, holding an invalid value."""
        raw = pl.scan_csv(
            self.path,
            has_header=True,
            new_columns=self.header,
            infer_schema=False,
            empty_string_is_null=False,
            row_index_name="line",
            row_index_offset=2,
        )
        parsed = raw.select("line", *(f.parse(f.column).alias(f.name or f.column) for f in fields))
        try:
            typed = parsed.collect(engine="streaming")
        except pl.exceptions.PolarsError as exc:
            message = str(exc).splitlines()[0]
            raise InputError(str(self.path), None, None, "csv", message) from exc
        names = [f.name or f.column for f in fields]
        bad = typed.filter(pl.any_horizontal(pl.col(names).is_null())).head(1)
        if bad.height:
            row = bad.row(0, named=True)
            field = next(f for f in fields if row[f.name or f.column] is None)
            raise self.error(row["line"], field.column, field.reason)
        return typed

    def check(self, frame: pl.DataFrame, rules: Sequence[tuple[str, str, pl.Expr]]) -> None:
        """Raise :class:`InputError` at the first row breaking one of ``rules``."""
        flags = [valid.alias(f"ok{i}") for i, (_, _, valid) in enumerate(rules)]
        checked = frame.select("line", *flags)
        bad = checked.filter(~pl.all_horizontal(pl.col(r"^ok\d+$"))).head(1)
        if bad.height:
            row = bad.row(0, named=True)
            column, reason, _ = next(r for i, r in enumerate(rules) if not row[f"ok{i}"])
            raise self.error(row["line"], column, reason)

    def first_repeat(self, frame: pl.DataFrame, keys: list[str], column: str, reason: str) -> None:
        """Raise :class:`InputError` at the first row repeating an earlier row's ``keys``."""
        repeat = frame.filter(~pl.struct(keys).is_first_distinct()).head(1)
        if repeat.height:
            raise self.error(repeat["line"][0], column, reason)


def evaluate_month(
    people_csv: Path, tasks_csv: Path, rules: ScoringRules | None = None
) -> pl.DataFrame:
    """Validate and score a tenant-month.

    Returns:
        the ``RESULTS.csv`` table (:data:`RESULT_COLUMNS`, text, null where not applicable), one
        row per person in the order of ``PEOPLE.csv``.

    Raises:
        InputError: missing column, bad value (empty id, bad role, negative or non-numeric
            number, general score above 30, days worked above working days, missing leader
            flag), duplicate person, duplicate task of a person, or a task of a person not in
            ``PEOPLE.csv``.
    """
    rules = rules or ScoringRules()
    people_table = _Table(people_csv, PEOPLE_COLUMNS)
    tasks_table = _Table(tasks_csv, TASK_COLUMNS)
    people = people_table.typed(_PEOPLE_FIELDS)
    people_table.check(people, _PEOPLE_RULES)
    people_table.first_repeat(people, ["person_id"], "person_id", "duplicate person")
    tasks = tasks_table.typed(_TASK_FIELDS)

    sums = (
        tasks.lazy()
        .select("person_id", "task_id", *cols.task_contributions(rules.delay_penalty_unit))
        .group_by("person_id")
        .agg(
            *cols.task_sums(),
            pl.len().alias("task_count"),
            pl.col("task_id").n_unique().alias("distinct_tasks"),
        )
        .collect(engine="streaming")
    )
    repeated = sums.filter(pl.col("task_count") != pl.col("distinct_tasks"))["person_id"]
    if repeated.len():
        tasks_table.first_repeat(
            tasks.filter(pl.col("person_id").is_in(repeated.implode())),
            ["person_id", "task_id"],
            "task_id",
            "duplicate task for this person",
        )
    unknown = sums.join(people.select("person_id"), on="person_id", how="anti")["person_id"]
    if unknown.len():
        line = tasks.filter(pl.col("person_id").is_in(unknown.implode()))["line"].min()
        raise tasks_table.error(line, "person_id", "person not in " + people_csv.name)

    return (
        people.lazy()
        .join(sums.lazy(), on="person_id", how="left")
        .with_columns(cols.person_results(rules))
        .sort(["tenths", "person_id"], descending=[True, False], nulls_last=True)
        .with_columns(cols.final_grades(rules.excellent_quota_ratio))
        .sort("line")
        .select(
            "person_id",
            "unit_id",
            "status",
            *(cols.decimal_text(name, 6) for name in cols.RATIO_COLUMNS),
            cols.decimal_text("tenths", 1).alias("score"),
            "grade",
            "final_grade",
        )
        .collect()
    )


def write_results(frame: pl.DataFrame, out: Path) -> int:
    """Write ``RESULTS.csv`` atomically (a temporary file in the same folder, then rename), so
    a failure leaves no half-written output and an existing file untouched.

    Returns:
        the number of people written.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        frame.write_csv(tmp_name, line_terminator="\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return frame.height
