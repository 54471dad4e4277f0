"""Errors shared by every service: bad input that names where it is wrong.

Standard (developers' guide): bad input gets a clear error and loses nothing; on the command
line it exits with code 2 and names file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputError(Exception):
    """A value in an input file (or request) is missing or wrong.

    Attributes:
        source: the file name (or request part) holding the value.
        line: 1-based line number, or ``None`` when not known.
        column: 1-based column number (a CSV column's position, or a character column for
            JSON), or ``None``.
        field: the field or column name, e.g. ``"general_score"``.
        reason: what is wrong, in plain words.
    """

    source: str
    line: int | None
    column: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.field}: {self.reason}"
