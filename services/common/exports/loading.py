"""Reading an export's input file: JSON → validated record, bad input → ``InputError``.

Numbers may be given as text (``"83.9"``, as ``services/evaluation/records.py`` writes them)
or as JSON numbers, which are parsed as :class:`~decimal.Decimal` and kept exactly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import json_source_map
from pydantic import ValidationError

from services.common.errors import InputError
from services.common.exports.schemas import MODELS, Record


def _locate(text: str, loc: list[str]) -> tuple[int | None, int | None]:
    """1-based line and column of the JSON value at ``loc``, or of its nearest existing parent."""
    positions = json_source_map.calculate(text)
    for depth in range(len(loc), -1, -1):
        pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in loc[:depth])
        entry = positions.get(pointer)
        if entry is not None:
            return entry.value_start.line + 1, entry.value_start.column + 1
    return None, None


def load_record(path: Path) -> Record:
    """Read ``path`` (UTF-8 JSON, one object with a ``"record"`` key naming its kind: one of
    ``person_form``, ``unit_summary``, ``commendation_list``, ``person_card``,
    ``provincial_summary``) and validate it.

    Raises:
        InputError: unreadable file, invalid JSON, unknown kind, or a value the shape rejects
            (including totals that do not add up) — with the 1-based line and column of the
            value, or of its enclosing object when the value is missing.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, None, None, "file", f"không đọc được / cannot read: {exc}") from exc
    try:
        data: Any = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(name, exc.lineno, exc.colno, "json", exc.msg) from exc
    if not isinstance(data, dict):
        raise InputError(name, 1, 1, "record", "cần một đối tượng JSON / expected a JSON object")
    kind = data.get("record")
    if kind not in MODELS:
        line, column = _locate(text, ["record"])
        raise InputError(
            name,
            line,
            column,
            "record",
            f"loại không hợp lệ / unknown kind {kind!r}; one of {', '.join(MODELS)}",
        )
    try:
        return MODELS[kind].model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        line, column = _locate(text, loc)
        raise InputError(name, line, column, ".".join(loc) or "record", error["msg"]) from exc
