"""Excel and PDF exports of the evaluation records and reports (issue 6, "Exports").

Inputs are plain data (the shapes of :mod:`.schemas`: the three records of ``001 §V.2`` as
``services/evaluation/records.py`` produces them, the person card of ``002``, the summary to the
provincial standing office of ``003``); :func:`export` validates a record, lays it out once
(:mod:`.layouts`) and writes it as .xlsx (:mod:`.xlsx`, openpyxl) or .pdf (:mod:`.pdf`, fpdf2
with an embedded Vietnamese font). :func:`~.loading.load_record` reads a JSON file and reports
bad input with file, line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from services.common.exports.layouts import Document, layout
from services.common.exports.pdf import to_pdf
from services.common.exports.schemas import MODELS, Record
from services.common.exports.xlsx import to_xlsx

Format = Literal["xlsx", "pdf"]
FORMATS: tuple[Format, ...] = ("xlsx", "pdf")


def parse_record(data: Mapping[str, Any]) -> Record:
    """Validate plain data as the record its ``"record"`` key names.

    Raises:
        KeyError: no ``"record"`` key, or an unknown kind (one of :data:`.schemas.MODELS`).
        pydantic.ValidationError: a value of the wrong shape, or totals that do not add up.
    """
    return MODELS[data["record"]].model_validate(dict(data))


def document_of(data: Mapping[str, Any] | Record) -> Document:
    """The laid-out document of a record (plain data or an already validated model)."""
    record = data if not isinstance(data, Mapping) else parse_record(data)
    return layout(record)


def export(data: Mapping[str, Any] | Record, fmt: Format) -> bytes:
    """The record as ``fmt`` bytes (``"xlsx"`` or ``"pdf"``). Raises as :func:`parse_record`."""
    document = document_of(data)
    return to_xlsx(document) if fmt == "xlsx" else to_pdf(document)


__all__ = ["FORMATS", "Document", "Format", "document_of", "export", "parse_record"]
