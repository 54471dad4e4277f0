"""Excel writer (openpyxl): one sheet per document.

Figures (:class:`~.layouts.Number`: counts, points, scores, percentages) are stored as numbers
from their exact decimal text (openpyxl writes a ``Decimal`` as its digits, no float on the
way) with a number format of the figure's decimals (``#,##0.0``: Excel shows the reader's
decimal separator, a comma in Vietnamese), so they add up in the sheet; fractions
(``"26/33"``) and labels stay text. The sheet is the PDF's document cell for cell.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.common.exports.layouts import MOTTO, NATION, Document, Number, Table

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_ALIGN = {"L": "left", "C": "center", "R": "right"}
_FONT = "Times New Roman"


def _span(document: Document) -> int:
    return max(len(t.columns) for t in document.tables)


def _table(sheet: Worksheet, row: int, table: Table) -> int:
    """Write ``table`` from ``row`` on; return the first free row after it and a blank one."""
    if table.title:
        sheet.cell(row, 1, table.title).font = Font(name=_FONT, bold=True)
        row += 1
    for col, column in enumerate(table.columns, 1):
        cell = sheet.cell(row, col, column.header)
        cell.font = Font(name=_FONT, bold=True)
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    row += 1
    for line in table.rows:
        for col, (column, value) in enumerate(zip(table.columns, line.cells, strict=True), 1):
            if isinstance(value, Number):
                cell = sheet.cell(row, col, value.value)
                cell.number_format = value.number_format
            else:
                cell = sheet.cell(row, col, value)
            cell.font = Font(name=_FONT, bold=line.strong)
            cell.border = _BOX
            cell.alignment = Alignment(
                horizontal=_ALIGN[column.align], vertical="top", wrap_text=True
            )
        row += 1
    return row + 1


def to_xlsx(document: Document) -> bytes:
    """The document as an .xlsx file (bytes): title (merged across the table), heading lines,
    the tables with borders, notes and signature captions."""
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = document.sheet[:31]
    span = _span(document)
    row = 1
    if document.nation:
        for text in (NATION, MOTTO):
            sheet.cell(row, 1, text).font = Font(name=_FONT, bold=True)
            sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)
            sheet.cell(row, 1).alignment = Alignment(horizontal="center")
            row += 1
        row += 1
    title = sheet.cell(row, 1, document.title)
    title.font = Font(name=_FONT, bold=True, size=13)
    title.alignment = Alignment(horizontal="center", wrap_text=True)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)
    row += 2
    for label, value in document.info:
        sheet.cell(row, 1, f"{label}:").font = Font(name=_FONT, bold=True)
        sheet.cell(row, 2, value).font = Font(name=_FONT)
        row += 1
    row += 1
    for table in document.tables:
        row = _table(sheet, row, table)
    for note in document.notes:
        sheet.cell(row, 1, note).font = Font(name=_FONT, italic=True)
        row += 1
    if document.signatures:
        row += 1
        for col, caption in zip((2, span), document.signatures, strict=False):
            sheet.cell(row, col, caption.upper()).font = Font(name=_FONT, bold=True)
    widest = max(document.tables, key=lambda t: len(t.columns))
    for col, column in enumerate(widest.columns, 1):
        sheet.column_dimensions[get_column_letter(col)].width = max(6.0, column.width * 0.6)
    sheet.page_setup.orientation = "landscape" if document.landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
