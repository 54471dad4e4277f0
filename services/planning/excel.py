"""Excel (.xlsx) import and export of a tenant's org chart, people and work catalog.

Provinces keep their staff lists in Excel; this module moves the ``units``, ``positions``,
``people`` and ``catalog`` parts of a tenant file (:mod:`services.planning.tenant_file`) to and
from a workbook.

Workbook layout (one sheet per part, plus ``Hướng dẫn`` with instructions):

* row 1: Vietnamese column titles (free text, not read back);
* row 2: the field codes (``code``, ``name``, ``role`` …) — the importer finds columns by these,
  so columns may be reordered, but the codes must not be changed;
* rows 3…: data; fully empty rows are skipped.

Sheets: ``Đơn vị`` (units), ``Vị trí việc làm`` (positions), ``Cán bộ`` (people: one row per
membership; the rows of a person share ``code``, and ``name``/``email`` are repeated or left
empty on the following rows), ``Danh mục công việc`` (catalog: one row per version).

Dates are Excel dates or text ``YYYY-MM-DD`` / ``DD/MM/YYYY``; numbers are Excel numbers or
text (``0,5`` and ``0.5`` both read as ``Decimal('0.5')``). Enumerations (khối, loại đơn vị,
vai trò) carry Excel drop-down lists.

Import is all-or-nothing: :func:`import_workbook` returns everything or raises
:class:`~services.common.errors.InputError` for the first bad row (sheets in the order above,
then rows top to bottom), with ``source`` the file path, ``line`` the Excel row number,
``column`` the Excel column number and ``field`` ``'Sheet!code'`` (e.g. ``'Cán bộ!role'``).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel, ValidationError

from services.common.errors import InputError
from services.planning.tenant_file import (
    AXES,
    ROLES,
    UNIT_TYPES,
    CatalogItem,
    CrossCheckError,
    Loc,
    Membership,
    Person,
    Position,
    Problem,
    TenantFile,
    Unit,
    check_org,
    format_loc,
    pydantic_reason,
)

SHEET_UNITS = "Đơn vị"
SHEET_POSITIONS = "Vị trí việc làm"
SHEET_PEOPLE = "Cán bộ"
SHEET_CATALOG = "Danh mục công việc"
SHEET_GUIDE = "Hướng dẫn"
TITLE_ROW = 1
CODE_ROW = 2
FIRST_DATA_ROW = 3
_VALIDATION_ROWS = 2000

M = TypeVar("M", bound=BaseModel)
Kind = Literal["code", "codes", "text", "enum", "int", "decimal", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    """A workbook column: field code (row 2), Vietnamese title (row 1), kind and help text."""

    code: str
    title: str
    kind: Kind
    required: bool
    note: str
    choices: tuple[str, ...] = ()
    #: a column added later: a workbook without it still imports (cells read as empty)
    optional_column: bool = False


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """A data sheet: its name, the tenant-file part it holds, and its columns."""

    name: str
    part: str
    columns: tuple[Column, ...]

    def column(self, code: str) -> Column:
        """The column with field ``code``. Raises ``KeyError``."""
        for col in self.columns:
            if col.code == code:
                return col
        raise KeyError(code)


AXIS_LABELS = {
    "party": "Khối Đảng",
    "council": "Hội đồng nhân dân",
    "committee": "Ủy ban nhân dân (chính quyền)",
    "front": "Mặt trận Tổ quốc và các tổ chức chính trị - xã hội",
    "public_service": "Đơn vị sự nghiệp công lập",
}
UNIT_TYPE_LABELS = {
    "ward": "Xã, phường",
    "party_committee": "Đảng ủy",
    "party_advisory": "Cơ quan tham mưu, giúp việc của Đảng ủy",
    "council": "Hội đồng nhân dân",
    "council_committee": "Ban của HĐND",
    "people_committee": "Ủy ban nhân dân",
    "office": "Phòng, văn phòng chuyên môn",
    "fatherland_front": "Ủy ban Mặt trận Tổ quốc",
    "mass_org": "Tổ chức chính trị - xã hội",
    "school": "Trường học",
    "department": "Sở, ban, ngành",
    "public_service_unit": "Đơn vị sự nghiệp khác",
    "city": "Thành phố trực thuộc Trung ương",
    "province": "Tỉnh",
}
ROLE_LABELS = {
    "head": "Cấp trưởng (người đứng đầu)",
    "deputy": "Cấp phó",
    "staff": "Công chức, viên chức, người lao động",
}

UNITS_SHEET = SheetSpec(
    SHEET_UNITS,
    "units",
    (
        Column("code", "Mã đơn vị", "code", True, "Duy nhất; chữ không dấu, số, - _ ."),
        Column("name", "Tên đơn vị", "text", True, "Tên đầy đủ, tiếng Việt có dấu"),
        Column("axis", "Khối", "enum", True, "Chọn trong danh sách", AXES),
        Column("type", "Loại đơn vị", "enum", True, "Chọn trong danh sách", UNIT_TYPES),
        Column("parent", "Mã đơn vị cấp trên", "code", False, "Đơn vị cấp trên phải ở dòng trên"),
        Column(
            "head_evaluated_by",
            "Cấp đánh giá người đứng đầu",
            "text",
            False,
            "Cơ quan bên ngoài đánh giá người đứng đầu (nếu có)",
        ),
    ),
)
POSITIONS_SHEET = SheetSpec(
    SHEET_POSITIONS,
    "positions",
    (
        Column("code", "Mã vị trí việc làm", "code", True, "Duy nhất"),
        Column("name", "Tên vị trí việc làm", "text", True, ""),
        Column("unit", "Mã đơn vị", "code", True, "Mã ở sheet Đơn vị"),
    ),
)
PEOPLE_SHEET = SheetSpec(
    SHEET_PEOPLE,
    "people",
    (
        Column(
            "code",
            "Mã cán bộ",
            "code",
            True,
            "Mỗi dòng là một chức vụ; người kiêm nhiệm hoặc điều động có nhiều dòng cùng mã",
        ),
        Column("name", "Họ và tên", "text", True, "Có thể để trống ở các dòng sau của cùng người"),
        Column("email", "Thư điện tử", "text", False, ""),
        Column("unit", "Mã đơn vị", "code", True, "Mã ở sheet Đơn vị"),
        Column("role", "Vai trò", "enum", True, "Chọn trong danh sách", ROLES),
        Column("title", "Chức danh", "text", True, "Ví dụ: Bí thư Đảng ủy phường"),
        Column("position", "Mã vị trí việc làm", "code", False, "Mã ở sheet Vị trí việc làm"),
        Column("start", "Từ ngày", "date", True, "YYYY-MM-DD hoặc DD/MM/YYYY"),
        Column("end", "Đến ngày", "date", False, "Để trống nếu đang giữ chức vụ"),
        Column(
            "in_charge_of",
            "Lĩnh vực phụ trách (cấp phó)",
            "codes",
            False,
            "Chỉ cấp phó: mã đơn vị hoặc vị trí việc làm phụ trách, cách nhau bằng dấu phẩy",
            optional_column=True,
        ),
    ),
)
CATALOG_SHEET = SheetSpec(
    SHEET_CATALOG,
    "catalog",
    (
        Column("code", "Mã sản phẩm/công việc", "code", True, "Mỗi phiên bản hệ số một dòng"),
        Column("unit", "Mã đơn vị", "code", True, "Mã ở sheet Đơn vị"),
        Column("name", "Tên sản phẩm/công việc", "text", True, ""),
        Column("complexity_group", "Nhóm mức độ phức tạp", "int", True, "1 (đơn giản) … 5"),
        Column("standard_unit", "Đơn vị tính chuẩn", "text", True, "Ví dụ: văn bản, hồ sơ"),
        Column("coefficient", "Hệ số quy đổi", "decimal", True, "Số dương, ví dụ 0,5 hoặc 2"),
        Column("effective_from", "Áp dụng từ ngày", "date", True, "YYYY-MM-DD hoặc DD/MM/YYYY"),
    ),
)
SHEETS: tuple[SheetSpec, ...] = (UNITS_SHEET, POSITIONS_SHEET, PEOPLE_SHEET, CATALOG_SHEET)
_PERSON_FIELDS = ("code", "name", "email")


@dataclass(frozen=True, slots=True)
class ImportedOrg:
    """What a workbook holds, as tenant-file models, in row order; ``has_fields``: the
    ``Cán bộ`` sheet has the ``in_charge_of`` column (workbooks made before it have not)."""

    units: tuple[Unit, ...]
    positions: tuple[Position, ...]
    people: tuple[Person, ...]
    catalog: tuple[CatalogItem, ...]
    has_fields: bool = True


# --------------------------------------------------------------------------------------------
# Writing.

_TITLE_FONT = Font(bold=True, color="FFFFFF")
_TITLE_FILL = PatternFill("solid", fgColor="1F4E78")
_CODE_FONT = Font(italic=True, color="595959")
_CODE_FILL = PatternFill("solid", fgColor="DDEBF7")


def _put(ws: Worksheet, row: int, column: int, value: Any) -> None:
    cell = ws.cell(row=row, column=column)
    if value is None:
        return
    if isinstance(value, Decimal):
        as_float = float(value)
        if value == value.to_integral_value() and abs(value) < 10**15:
            cell.value = int(value)
        elif Decimal(repr(as_float)) == value:
            cell.value = as_float
        else:
            cell.value = str(value)  # keeps every digit; read back exactly
            cell.data_type = "s"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, tuple):  # codes (in_charge_of)
        cell.value = ", ".join(str(v) for v in value)
        cell.data_type = "s"
    else:
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, even when the text starts with '='


def _add_sheet(wb: Workbook, spec: SheetSpec, rows: int) -> Worksheet:
    ws = wb.create_sheet(spec.name)
    last = FIRST_DATA_ROW + max(rows, _VALIDATION_ROWS) - 1
    for index, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        title = ws.cell(
            row=TITLE_ROW, column=index, value=col.title + (" *" if col.required else "")
        )
        title.font, title.fill = _TITLE_FONT, _TITLE_FILL
        title.alignment = Alignment(wrap_text=True, vertical="center")
        code = ws.cell(row=CODE_ROW, column=index, value=col.code)
        code.font, code.fill = _CODE_FONT, _CODE_FILL
        ws.column_dimensions[letter].width = max(14, min(48, len(col.title) + 6))
        validation = _validation(col)
        if validation is not None:
            ws.add_data_validation(validation)
            validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)
    ws.row_dimensions[TITLE_ROW].height = 32
    return ws


def _validation(col: Column) -> DataValidation | None:
    if col.kind == "enum":
        dv = DataValidation(
            type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True
        )
    elif col.kind == "int":
        dv = DataValidation(
            type="whole", operator="between", formula1="1", formula2="5", allow_blank=True
        )
    elif col.kind == "decimal":
        dv = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True)
    else:
        return None
    dv.showErrorMessage = True
    dv.errorTitle = "Giá trị không hợp lệ"
    dv.error = f"{col.title}: {col.note}"
    return dv


GUIDE_TITLE = "HƯỚNG DẪN NHẬP DỮ LIỆU TỔ CHỨC, CÁN BỘ VÀ DANH MỤC SẢN PHẨM/CÔNG VIỆC"
GUIDE_RULES = (
    "1. Dòng 1 của mỗi sheet là tên cột; dòng 2 là mã trường — không sửa, không xóa dòng 2.",
    "2. Nhập dữ liệu từ dòng 3; cột có dấu * là bắt buộc; dòng trống bị bỏ qua.",
    "3. Mã (đơn vị, cán bộ, vị trí, sản phẩm) chỉ gồm chữ không dấu, số và các ký tự - _ .",
    "4. Ngày: YYYY-MM-DD hoặc DD/MM/YYYY; hệ số quy đổi là số dương (0,5 hoặc 0.5).",
    "5. Sheet Cán bộ: mỗi dòng là một chức vụ. Người kiêm nhiệm hoặc được điều động giữa "
    "năm có nhiều dòng cùng mã cán bộ; mỗi đơn vị chỉ có một cấp trưởng tại một thời điểm.",
    "6. Sheet Đơn vị: đơn vị cấp trên phải được nhập ở dòng trên đơn vị cấp dưới.",
    "7. Sheet Danh mục công việc: khi đổi hệ số, thêm một dòng cùng mã với ngày áp dụng mới.",
    "8. Khi nhập, hệ thống kiểm tra toàn bộ tệp; nếu có lỗi sẽ báo sheet, dòng, cột đầu "
    "tiên bị lỗi và không ghi nhận dữ liệu nào.",
)


def _add_guide(wb: Workbook) -> None:
    ws = wb.create_sheet(SHEET_GUIDE, 0)
    lines: list[tuple[str, ...]] = [(GUIDE_TITLE,), ()]
    lines += [(text,) for text in GUIDE_RULES]
    lines.append(())
    for spec in SHEETS:
        lines.append((f"Sheet «{spec.name}»",))
        lines.append(("Cột", "Mã trường", "Bắt buộc", "Ghi chú"))
        for col in spec.columns:
            lines.append((col.title, col.code, "có" if col.required else "", col.note))
        lines.append(())
    lines.append(("Giá trị hợp lệ",))
    lines.append(("Mã trường", "Giá trị", "Ý nghĩa"))
    for field, labels in (("axis", AXIS_LABELS), ("type", UNIT_TYPE_LABELS), ("role", ROLE_LABELS)):
        for value, label in labels.items():
            lines.append((field, value, label))
    for row, values in enumerate(lines, start=1):
        for column, value in enumerate(values, start=1):
            ws.cell(row=row, column=column, value=value)
        if len(values) == 1:
            ws.cell(row=row, column=1).font = Font(bold=True)
    for letter, width in zip("ABCD", (40, 22, 40, 60), strict=True):
        ws.column_dimensions[letter].width = width


def _new_workbook(counts: Sequence[int]) -> tuple[Workbook, list[Worksheet]]:
    wb = Workbook()
    default = wb.active
    sheets = [_add_sheet(wb, spec, count) for spec, count in zip(SHEETS, counts, strict=True)]
    _add_guide(wb)
    if default is not None:
        wb.remove(default)
    wb.active = 0
    return wb, sheets


def write_template(path: str | Path) -> None:
    """Write an empty workbook: the four data sheets with headers and drop-downs, and the
    ``Hướng dẫn`` sheet. Raises ``OSError`` if the file cannot be written."""
    wb, _ = _new_workbook((0, 0, 0, 0))
    wb.save(path)


def _rows(spec: SheetSpec, tenant: TenantFile) -> Iterator[dict[str, Any]]:
    if spec.part == "people":
        for person in tenant.people:
            for m in person.memberships:
                yield {"code": person.code, "name": person.name, "email": person.email, **dict(m)}
    else:
        for item in getattr(tenant, spec.part):
            yield dict(item)


def export_workbook(tenant: TenantFile, path: str | Path) -> None:
    """Write the units, positions, people (one row per membership) and catalog of ``tenant``
    to ``path`` in the template layout. Raises ``OSError`` if the file cannot be written."""
    data = [list(_rows(spec, tenant)) for spec in SHEETS]
    wb, sheets = _new_workbook([len(rows) for rows in data])
    for spec, ws, rows in zip(SHEETS, sheets, data, strict=True):
        for offset, row in enumerate(rows):
            for index, col in enumerate(spec.columns, start=1):
                _put(ws, FIRST_DATA_ROW + offset, index, row.get(col.code))
    wb.save(path)


# --------------------------------------------------------------------------------------------
# Reading.


class _CellError(ValueError):
    pass


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise _CellError("expected text, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip()
    raise _CellError(f"expected text (got {value!r})")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    raise _CellError(f"must be a whole number (got {value!r})")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _CellError("must be a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _COMMA_DECIMAL.match(text):
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
    raise _CellError(f"must be a number (got {value!r})")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise _CellError(f"must be a date without time (got {value})")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            match = _DMY.match(text)
            if match:
                return date(int(match[3]), int(match[2]), int(match[1]))
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return date.fromisoformat(text)
        except ValueError as exc:
            raise _CellError(f"not a valid date: {value!r} ({exc})") from exc
    raise _CellError(f"must be a date YYYY-MM-DD or DD/MM/YYYY (got {value!r})")


def _codes(value: Any) -> tuple[str, ...]:
    """Codes separated by commas, semicolons or spaces (``"VP-VT, VP-KT"``)."""
    parts = tuple(p for p in re.split(r"[,;\s]+", _text(value)) if p)
    if not parts:
        raise _CellError(f"expected codes separated by commas (got {value!r})")
    return parts


_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    "code": _text,
    "codes": _codes,
    "text": _text,
    "enum": _text,
    "int": _int,
    "decimal": _decimal,
    "date": _date,
}


@dataclass(slots=True)
class _Sheet:
    """One data sheet being read: where its columns are and which row holds which item."""

    spec: SheetSpec
    order: int
    columns: dict[str, int]  # field code → 1-based column


class _Reader:
    def __init__(self, path: str | Path) -> None:
        self.source = str(path)
        self.sheets: dict[str, _Sheet] = {}
        # item path (part, index[, 'memberships', j]) → (sheet, row)
        self.rows: dict[Loc, tuple[_Sheet, int]] = {}

    def error(self, sheet: _Sheet, row: int | None, code: str, reason: str) -> InputError:
        column = sheet.columns.get(code)
        return InputError(self.source, row, column, f"{sheet.spec.name}!{code}", reason)

    def header(
        self, ws: Worksheet, spec: SheetSpec, order: int
    ) -> tuple[_Sheet, list[tuple[Any, ...]]]:
        raw = [tuple(r) for r in ws.iter_rows(values_only=True)]
        codes = raw[CODE_ROW - 1] if len(raw) >= CODE_ROW else ()
        sheet = _Sheet(spec, order, {})
        known = {c.code for c in spec.columns}
        for index, value in enumerate(codes, start=1):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            code = str(value).strip()
            where = f"{spec.name}!{get_column_letter(index)}{CODE_ROW}"
            if code not in known:
                raise InputError(
                    self.source, CODE_ROW, index, where, f"unknown field code '{code}'"
                )
            if code in sheet.columns:
                raise InputError(self.source, CODE_ROW, index, where, f"duplicate column '{code}'")
            sheet.columns[code] = index
        for col in spec.columns:
            if col.code not in sheet.columns and not col.optional_column:
                raise InputError(
                    self.source,
                    CODE_ROW,
                    len(codes) + 1,
                    f"{spec.name}!{col.code}",
                    f"missing column '{col.code}' ({col.title}) in row {CODE_ROW}",
                )
        self.sheets[spec.part] = sheet
        return sheet, raw[FIRST_DATA_ROW - 1 :]

    def cells(self, sheet: _Sheet, row: int, values: tuple[Any, ...]) -> dict[str, Any]:
        """Parsed non-empty cells of a row, by field code."""
        out: dict[str, Any] = {}
        for col in sheet.spec.columns:
            if col.code not in sheet.columns:  # an optional column the workbook lacks
                continue
            index = sheet.columns[col.code]
            value = values[index - 1] if index <= len(values) else None
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                out[col.code] = _PARSERS[col.kind](value)
            except _CellError as exc:
                raise self.error(sheet, row, col.code, str(exc)) from exc
        return out

    def validate(self, model: type[M], data: dict[str, Any], sheet: _Sheet, row: int) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.model_error(exc, sheet, row) from exc

    def model_error(self, exc: ValidationError, sheet: _Sheet, row: int) -> InputError:
        errors = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            cause = (error.get("ctx") or {}).get("error")
            problems = (
                [(loc + p.loc, p.reason) for p in cause.problems]
                if isinstance(cause, CrossCheckError)
                else [(loc, pydantic_reason(error))]
            )
            for where, reason in problems:
                code = next((str(p) for p in reversed(where) if str(p) in sheet.columns), "")
                code = code or sheet.spec.columns[0].code
                if error["type"] == "extra_forbidden":
                    reason = f"unknown field '{format_loc(where)}'"
                errors.append(self.error(sheet, row, code, reason))
        return min(errors, key=lambda e: e.column or 0)

    def problem_error(self, problem: Problem) -> InputError:
        sheet, row = self._row_of(problem.loc)
        code = next((str(p) for p in reversed(problem.loc) if str(p) in sheet.columns), "")
        reason = problem.reason
        if problem.see is not None:
            other, other_row = self._row_of(problem.see)
            where = (
                f"row {other_row}" if other is sheet else f"sheet {other.spec.name} row {other_row}"
            )
            reason += f" (see {where})"
        if not code:
            return InputError(
                self.source, row, 1, f"{sheet.spec.name}!{sheet.spec.columns[0].code}", reason
            )
        return self.error(sheet, row, code, reason)

    def _row_of(self, loc: Loc) -> tuple[_Sheet, int]:
        for end in (4, 2):
            if loc[:end] in self.rows:
                return self.rows[loc[:end]]
        raise KeyError(loc)


def import_workbook(path: str | Path) -> ImportedOrg:
    """Read units, positions, people and catalog from a workbook in the template layout.

    Returns:
        An :class:`ImportedOrg` whose parts passed every field check and the org cross-checks
        of :func:`~services.planning.tenant_file.check_org`.

    Raises:
        InputError: for the first bad row (sheet order: Đơn vị, Vị trí việc làm, Cán bộ,
            Danh mục công việc), with ``source`` the path, ``line`` the Excel row, ``column``
            the Excel column, ``field`` ``'Sheet!code'``. Nothing is returned on error. Also
            raised when the file cannot be opened or a sheet or column is missing.
    """
    reader = _Reader(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise InputError(reader.source, None, None, "file", f"cannot read workbook: {exc}") from exc
    try:
        parsed: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}
        for order, spec in enumerate(SHEETS):
            if spec.name not in wb.sheetnames:
                raise InputError(
                    reader.source, None, None, spec.name, f"missing sheet '{spec.name}'"
                )
            _, data = reader.header(wb[spec.name], spec, order)
            parsed[spec.part] = [
                (FIRST_DATA_ROW + offset, values)
                for offset, values in enumerate(data)
                if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in values)
            ]
    finally:
        wb.close()

    units = _simple(reader, "units", Unit, parsed["units"])
    positions = _simple(reader, "positions", Position, parsed["positions"])
    people = _people(reader, parsed["people"])
    catalog = _simple(reader, "catalog", CatalogItem, parsed["catalog"])
    problems = check_org(units, positions, people, catalog)
    if problems:
        errors = [reader.problem_error(p) for p in problems]
        order = {s.spec.name: s.order for s in reader.sheets.values()}
        raise min(errors, key=lambda e: (order[e.field.split("!")[0]], e.line or 0, e.column or 0))
    return ImportedOrg(
        tuple(units),
        tuple(positions),
        tuple(people),
        tuple(catalog),
        has_fields="in_charge_of" in reader.sheets["people"].columns,
    )


def _simple(
    reader: _Reader, part: str, model: type[M], rows: list[tuple[int, tuple[Any, ...]]]
) -> list[M]:
    sheet = reader.sheets[part]
    items = []
    for index, (row, values) in enumerate(rows):
        items.append(reader.validate(model, reader.cells(sheet, row, values), sheet, row))
        reader.rows[(part, index)] = (sheet, row)
    return items


def _people(reader: _Reader, rows: list[tuple[int, tuple[Any, ...]]]) -> list[Person]:
    sheet = reader.sheets["people"]
    index: dict[str, int] = {}  # person code → position in the result
    first_rows: list[tuple[int, dict[str, Any]]] = []
    memberships: list[list[Membership]] = []
    for row, values in rows:
        data = reader.cells(sheet, row, values)
        fields = {k: v for k, v in data.items() if k in _PERSON_FIELDS}
        membership = reader.validate(
            Membership, {k: v for k, v in data.items() if k not in _PERSON_FIELDS}, sheet, row
        )
        code = fields.get("code")
        if code is None or code not in index:
            person = reader.validate(Person, {**fields, "memberships": [membership]}, sheet, row)
            index[person.code] = len(first_rows)
            first_rows.append((row, fields))
            memberships.append([])
            code = person.code
        else:
            first_row, first = first_rows[index[code]]
            for name in ("name", "email"):
                if name in fields and _nfc(fields[name]) != _nfc(first.get(name)):
                    raise reader.error(
                        sheet,
                        row,
                        name,
                        f"differs from row {first_row} of the same person '{code}'",
                    )
        i = index[code]
        reader.rows[("people", i, "memberships", len(memberships[i]))] = (sheet, row)
        reader.rows.setdefault(("people", i), (sheet, first_rows[i][0]))
        memberships[i].append(membership)
    return [
        Person.model_validate({**fields, "memberships": items})
        for (_, fields), items in zip(first_rows, memberships, strict=True)
    ]


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


# --------------------------------------------------------------------------------------------
# Merging.


def _keep_fields(current: Sequence[Person], imported: Sequence[Person]) -> tuple[Person, ...]:
    """``imported`` with each deputy membership's ``in_charge_of`` carried over from the same
    membership (person, unit, start) of ``current``, when it is still a deputy's."""
    fields = {
        (p.code, m.unit, m.start): m.in_charge_of
        for p in current
        for m in p.memberships
        if m.in_charge_of
    }
    out = []
    for person in imported:
        memberships = tuple(
            m.model_copy(update={"in_charge_of": fields[(person.code, m.unit, m.start)]})
            if m.role == "deputy"
            and m.in_charge_of is None
            and (person.code, m.unit, m.start) in fields
            else m
            for m in person.memberships
        )
        out.append(person.model_copy(update={"memberships": memberships}))
    return tuple(out)


def merge_into(tenant: TenantFile, imported: ImportedOrg, source: str = "merge") -> TenantFile:
    """A copy of ``tenant`` whose units, positions, people and catalog are ``imported``'s; from
    a workbook without the ``in_charge_of`` column (made before it existed) the deputies'
    fields are kept for the memberships the workbook still lists.

    Every cross-check runs again (plans, evaluator overrides … must still reference existing
    units and people).

    Raises:
        InputError: ``source`` as given, no line or column, ``field`` the tenant-file path
            (e.g. ``plans[2].owner_unit``) of the first failing check.
    """
    data = {name: getattr(tenant, name) for name in TenantFile.model_fields}
    data.update(
        units=imported.units,
        positions=imported.positions,
        people=imported.people
        if imported.has_fields
        else _keep_fields(tenant.people, imported.people),
        catalog=imported.catalog,
    )
    try:
        return TenantFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossCheckError):
            problem = cause.problems[0]
            loc = tuple(error["loc"]) + problem.loc
            raise InputError(source, None, None, format_loc(loc), problem.reason) from exc
        raise InputError(
            source, None, None, format_loc(tuple(error["loc"])), pydantic_reason(error)
        ) from exc
