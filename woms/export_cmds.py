"""``woms export INPUT.json --out FILE.xlsx|FILE.pdf`` — Excel/PDF exports of the records.

The input is one JSON record (shapes in ``services/common/exports/schemas.py`` and
``docs/exports.md``); the format of each ``--out`` follows its suffix. Bad input exits with
code 2, names file, line and column, and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    input_file: Annotated[Path, typer.Argument(help="JSON record (person_form, unit_summary, …)")],
    out: Annotated[
        list[Path], typer.Option("--out", "-o", help="Output file, .xlsx or .pdf (repeatable)")
    ],
) -> None:
    """Xuất Excel/PDF / export a record (phiếu, danh sách, báo cáo) to .xlsx and/or .pdf."""
    from services.common.errors import InputError
    from services.common.exports import FORMATS
    from services.common.exports import export as render
    from services.common.exports.loading import load_record

    formats = []
    for path in out:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            typer.echo(f"{path}: đuôi phải là / suffix must be .xlsx or .pdf", err=True)
            raise typer.Exit(2)
        formats.append(fmt)
    try:
        record = load_record(input_file)
    except InputError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    files = [(path, render(record, fmt)) for path, fmt in zip(out, formats, strict=True)]
    for path, content in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        typer.echo(f"{path} ({len(content)} bytes)")
