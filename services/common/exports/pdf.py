"""PDF writer (fpdf2) with an embedded TrueType font that covers Vietnamese.

The font is Be Vietnam Pro (SIL Open Font License), shipped by the PyPI package
``fontpkg-be-vietnam-pro``: nothing is downloaded at run time. fpdf2 embeds a subset of the
font (``FontFile2``) with a ``ToUnicode`` map, so the text is both drawn and extractable.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from services.common.exports.layouts import MOTTO, NATION, Document, Table, cell_text

FAMILY = "BeVietnamPro"
_FONT_FILES = {"": "BeVietnamPro-Regular.ttf", "B": "BeVietnamPro-Bold.ttf"}


def font_path(style: str = "") -> Path:
    """The path of the packaged font file of ``style`` (``""`` regular, ``"B"`` bold)."""
    return Path(str(files("fontpkg_be_vietnam_pro") / "files" / _FONT_FILES[style]))


def _pdf(document: Document) -> FPDF:
    pdf = FPDF(orientation="L" if document.landscape else "P", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=12)
    for style in _FONT_FILES:
        pdf.add_font(FAMILY, style, str(font_path(style)))
    pdf.set_title(document.title)
    pdf.set_creator("WOMS")
    pdf.add_page()
    return pdf


def _table(pdf: FPDF, table: Table) -> None:
    if table.title:
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 8.5)
    with pdf.table(
        col_widths=tuple(c.width for c in table.columns),
        text_align=tuple(c.align for c in table.columns),
        headings_style=FontFace(family=FAMILY, emphasis="BOLD", fill_color=(230, 230, 230)),
        line_height=4.6,
        padding=1,
    ) as grid:
        heading = grid.row()
        for column in table.columns:
            heading.cell(column.header, align="C")
        for line in table.rows:
            row = grid.row()
            style = FontFace(family=FAMILY, emphasis="BOLD") if line.strong else None
            for cell in line.cells:
                row.cell(cell_text(cell), style=style)
    pdf.ln(3)


def to_pdf(document: Document) -> bytes:
    """The document as PDF bytes: national heading (official forms), title, heading lines,
    tables (repeated headings across pages), notes and signature captions."""
    pdf = _pdf(document)
    if document.nation:
        pdf.set_font(FAMILY, "B", 11)
        pdf.cell(0, 6, NATION, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, MOTTO, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font(FAMILY, "B", 13)
    pdf.multi_cell(0, 7, document.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, value in document.info:
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(42, 6, f"{label}:")
        pdf.set_font(FAMILY, "", 10)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for table in document.tables:
        _table(pdf, table)
    pdf.set_font(FAMILY, "", 9)
    for note in document.notes:
        pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    if document.signatures:
        pdf.ln(4)
        pdf.set_font(FAMILY, "B", 10)
        half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
        for caption in document.signatures:
            pdf.cell(half, 6, caption.upper(), align="C")
        pdf.ln(6)
    return bytes(pdf.output())
