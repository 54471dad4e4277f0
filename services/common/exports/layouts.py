"""Page layouts of the exports — each record becomes a :class:`Document` (pure, no I/O).

A document is a title, a few heading lines, tables and closing lines; the Excel and PDF writers
(:mod:`.xlsx`, :mod:`.pdf`) draw the same document, so both files hold the same text and
figures. Values are the input's exact text (``"83.9"``, ``"26/33"``); the only figures computed
here are totals (sums of the input's lines, exact) and the provincial averages, rounded half-up
to 0.1 on exact decimals (``001 §II.2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from services.common.exports.schemas import (
    CommendationList,
    PersonCard,
    PersonForm,
    ProvincialSummary,
    Record,
    UnitRanking,
    UnitSummary,
)

Align = Literal["L", "C", "R"]
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
GRADE_LABELS = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}
STATUS_LABELS = {
    "opened": "Chưa tự đánh giá",
    "self_assessed": "Đã tự đánh giá",
    "reviewed": "Đã nhận xét",
    "decided": "Đã quyết định",
    "published": "Đã công khai",
    "not_evaluated": "Không đánh giá",
}


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: header text, relative width, alignment."""

    header: str
    width: float
    align: Align = "L"


@dataclass(frozen=True, slots=True)
class Number:
    """A figure of a table: an exact value shown with ``places`` decimals. The Excel writer
    stores it as a number with the number format ``0.0…`` (Excel shows the reader's decimal
    separator, a comma in Vietnamese); the PDF prints :attr:`text`, with a decimal comma
    (``83,9``, as the web pages)."""

    value: Decimal
    places: int = 0

    @property
    def text(self) -> str:
        """The figure in Vietnamese: ``83,9``; ``1.250,5`` with thousands."""
        shown = f"{self.value:,.{self.places}f}"
        return shown.replace(",", " ").replace(".", ",").replace(" ", ".")

    @property
    def number_format(self) -> str:
        """The Excel number format: ``0`` for whole numbers, ``0.0`` … for decimals."""
        return "#,##0" + ("." + "0" * self.places if self.places else "")


Cell = str | Number


def num(value: str | int | Decimal | None) -> Cell:
    """A figure from the input's exact text (``"83.9"``), an int or a Decimal: a
    :class:`Number` with as many decimals as the value has (``"77"`` → 0, ``"83.90"`` → 1);
    ``None`` → an empty cell."""
    if value is None:
        return ""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    exponent = exact.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return Number(exact, places)


def cell_text(cell: Cell) -> str:
    """What a cell prints (a PDF cell): the text, or the figure with a decimal comma."""
    return cell.text if isinstance(cell, Number) else cell


@dataclass(frozen=True, slots=True)
class Row:
    """A table row: one cell per column (text or :class:`Number`); ``strong`` rows (section
    and total rows) are bold."""

    cells: tuple[Cell, ...]
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table."""

    title: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One exported page set. ``landscape`` for wide tables; ``nation`` prints the national
    heading of official forms; ``info`` lines are ``(label, value)``; ``sheet`` names the
    Excel sheet (≤ 31 characters)."""

    kind: str
    sheet: str
    title: str
    info: tuple[tuple[str, str], ...]
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()
    landscape: bool = False
    nation: bool = False
    signatures: tuple[str, ...] = field(default=())


def _t(value: str | int | None) -> str:
    return "" if value is None else str(value)


def _month(period: str) -> str:
    """``"2026-06"`` → ``"06/2026"``; ``"2026-Q3"`` → ``"quý III/2026"``."""
    year, part = period.split("-")
    if part.startswith("Q"):
        return f"quý {('I', 'II', 'III', 'IV')[int(part[1]) - 1]}/{year}"
    return f"{part}/{year}"


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _sum(values: list[str | None]) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal(0))


def _round(value: Decimal) -> str:
    return _plain(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _tenth(value: Decimal) -> Number:
    """``value`` rounded half-up to 0.1, shown with one decimal."""
    return Number(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), 1)


def person_form(record: PersonForm) -> Document:
    """Mẫu số 03 / Phụ lục 2 (``001 §II.1``, ``002`` "Bảng chấm KPI hàng tháng"): criteria rows
    with maximum, self and manager points; section rows bold; then part II, the task result
    (a, b, c — d, đ, e for a head — ``001 §III.4``), the score and the grades."""
    rows: list[Row] = []
    for section in record.sections:
        rows.append(
            Row(
                (
                    section.code,
                    section.title,
                    num(section.max_points),
                    num(section.self_points),
                    num(section.manager_points),
                ),
                strong=True,
            )
        )
        rows.extend(
            Row((r.code, r.text, num(r.max_points), num(r.self_points), num(r.manager_points)))
            for r in section.rows
        )
    general = record.general
    rows.append(
        Row(
            (
                "I",
                "Tổng điểm nhóm tiêu chí chung",
                num(general.max_points),
                num(general.self_points),
                num(general.manager_points),
            ),
            strong=True,
        )
    )
    criteria = Table(
        "I. Nhóm tiêu chí chung",
        (
            Column("TT", 8, "C"),
            Column("Tiêu chí", 112, "L"),
            Column("Điểm tối đa", 20, "C"),
            Column("Cá nhân tự chấm", 20, "C"),
            Column("Lãnh đạo chấm", 20, "C"),
        ),
        tuple(rows),
    )
    result_rows: list[Row] = []
    tr = record.task_result
    if tr is not None:
        factors = [("a", "Khối lượng (a)", tr.a), ("b", "Chất lượng (b)", tr.b)]
        factors.append(("c", "Tiến độ (c)", tr.c))
        factors += [
            (k, label, v)
            for k, label, v in (
                ("d", "Cấp dưới hoàn thành (d)", tr.d),
                ("dd", "Đơn vị đúng kế hoạch (đ)", tr.dd),
                ("e", "Đoàn kết, thống nhất (e)", tr.e),
            )
            if v is not None
        ]
        result_rows += [Row((label, value)) for _, label, value in factors]
        result_rows.append(Row(("Kết quả thực hiện nhiệm vụ (%)", num(tr.percent)), strong=True))
    else:
        result_rows.append(Row(("Kết quả thực hiện nhiệm vụ", "Không có / none")))
    result_rows += [
        Row(("Tổng điểm", _t(record.score)), strong=True),
        Row(("Xếp loại đề xuất", _label(record.grade, record.grade_label))),
        Row(("Xếp loại quyết định", _label(record.final_grade, record.final_grade_label))),
    ]
    if record.review_comment:
        result_rows.append(Row(("Nhận xét của lãnh đạo", record.review_comment)))
    results = Table(
        "II. Kết quả thực hiện nhiệm vụ (70 điểm) và xếp loại",
        (Column("Nội dung", 90, "L"), Column("Kết quả", 90, "L")),
        tuple(result_rows),
    )
    info = [("Họ và tên", _t(record.name) or record.person), ("Mã cán bộ", record.person)]
    info += [("Đơn vị", record.unit), ("Tháng", _month(record.period))]
    info.append(("Trạng thái", STATUS_LABELS[record.status]))
    if record.form is not None:
        info.append(("Mẫu phiếu", record.form.title))
    return Document(
        kind="person_form",
        sheet="Phiếu tự đánh giá",
        title=f"{record.title.upper()} THÁNG {_month(record.period)}",
        info=tuple(info),
        tables=(criteria, results),
        nation=True,
        signatures=("Lãnh đạo đánh giá", "Người tự đánh giá"),
    )


def _label(grade: str | None, label: str | None) -> str:
    if grade is None:
        return ""
    return f"{grade} — {label or GRADE_LABELS[grade]}"


def unit_summary(record: UnitSummary) -> Document:
    """Record 2 of ``001 §V.2``: one line per person, then the counts by final grade."""
    columns = (
        Column("STT", 10, "C"),
        Column("Mã", 18, "L"),
        Column("Họ và tên", 50, "L"),
        Column("Trạng thái", 30, "L"),
        Column("Tự chấm tiêu chí chung", 22, "C"),
        Column("Lãnh đạo chấm tiêu chí chung", 22, "C"),
        Column("Kết quả nhiệm vụ (%)", 22, "C"),
        Column("Tổng điểm", 20, "C"),
        Column("Xếp loại đề xuất", 18, "C"),
        Column("Xếp loại quyết định", 50, "L"),
    )
    rows = tuple(
        Row(
            (
                num(line.no),
                line.person,
                _t(line.name),
                STATUS_LABELS[line.status],
                num(line.self_general),
                num(line.review_general),
                num(line.task_result),
                num(line.score),
                _t(line.grade),
                _label(line.final_grade, line.final_grade_label),
            )
        )
        for line in record.lines
    )
    if not record.general_points:  # 4, 5, 6: general points and task result
        columns = columns[:4] + columns[7:]
        rows = tuple(Row(r.cells[:4] + r.cells[7:], r.strong) for r in rows)
    counts: list[tuple[str, Cell]] = [
        (f"{g} — {GRADE_LABELS[g]}", num(record.by_final_grade.get(g, 0))) for g in "ABCD"
    ]
    counts += [
        ("Không đánh giá", num(record.not_evaluated)),
        ("Chưa quyết định", num(record.undecided)),
        ("Tổng số", num(record.total)),
    ]
    return Document(
        kind="unit_summary",
        sheet="Danh sách tổng hợp",
        title=record.title.upper(),
        info=(("Đơn vị", record.unit), ("Tháng", _month(record.period))),
        tables=(
            Table(None, columns, rows),
            Table(
                "Tổng hợp theo xếp loại",
                (Column("Xếp loại", 80, "L"), Column("Số người", 30, "C")),
                tuple(Row(c, strong=c[0] == "Tổng số") for c in counts),
            ),
        ),
        landscape=True,
        signatures=("Người lập biểu", "Thủ trưởng đơn vị"),
    )


def commendation_list(record: CommendationList) -> Document:
    """Record 3 of ``001 §V.2``: the people proposed for commendation, best score first."""
    rows = [
        Row((num(line.no), line.person, _t(line.name), num(line.score), line.reason))
        for line in record.lines
    ]
    rows.append(Row(("", "", "Tổng số", num(record.total), ""), strong=True))
    return Document(
        kind="commendation_list",
        sheet="Đề nghị khen thưởng",
        title=record.title.upper(),
        info=(("Đơn vị", record.unit), ("Tháng", _month(record.period))),
        tables=(
            Table(
                None,
                (
                    Column("STT", 10, "C"),
                    Column("Mã", 20, "L"),
                    Column("Họ và tên", 50, "L"),
                    Column("Tổng điểm", 22, "C"),
                    Column("Lý do đề nghị", 78, "L"),
                ),
                tuple(rows),
            ),
        ),
        signatures=("Người lập danh sách", "Thủ trưởng đơn vị"),
    )


def person_card(record: PersonCard) -> Document:
    """The card of ``002``: tasks and points by group, totals, a, b, c out of the total points
    and (a + b + c) / 3 (``001 §III.4``). Optional figures (tasks done and points completed per
    group, late / overdue / returned tasks) are shown when given; a, b, c rows only when given."""
    detailed = any(
        g.tasks_done is not None or g.points_completed is not None for g in record.groups
    )
    columns = [Column("Nhóm nhiệm vụ", 100, "L"), Column("Số nhiệm vụ", 40, "C")]
    columns.append(Column("Điểm", 40, "C"))
    if detailed:
        columns = [Column("Nhóm nhiệm vụ", 70, "L"), Column("Số nhiệm vụ", 25, "C")]
        columns += [Column("Điểm được giao", 28, "C"), Column("Đã hoàn thành", 25, "C")]
        columns.append(Column("Điểm hoàn thành", 28, "C"))

    def cells(
        name: str, tasks: int, points: str, done: int | None, completed: str | None
    ) -> tuple[Cell, ...]:
        base = (name, num(tasks), num(points))
        return (*base, num(done), num(completed)) if detailed else base

    groups = [
        Row(cells(g.group, g.tasks, g.points, g.tasks_done, g.points_completed))
        for g in record.groups
    ]
    total = cells(
        "Tổng cộng", record.tasks, record.points, record.tasks_done, record.points_completed
    )
    groups.append(Row(total, strong=True))
    results = [Row(("Nhiệm vụ hoàn thành", f"{record.tasks_done}/{record.tasks} nhiệm vụ"))]
    if record.points_completed is not None:
        results.append(Row(("Điểm hoàn thành", f"{record.points_completed}/{record.points} điểm")))
    for label, count in (
        ("Nhiệm vụ hoàn thành trễ hạn (nhiệm vụ)", record.tasks_late),
        ("Nhiệm vụ quá hạn chưa xong (nhiệm vụ)", record.tasks_overdue),
        ("Nhiệm vụ bị trả lại (nhiệm vụ)", record.tasks_returned),
    ):
        if count is not None:
            results.append(Row((label, num(count))))
    for label, value in (
        ("Khối lượng (a)", record.a),
        ("Chất lượng (b)", record.b),
        ("Tiến độ (c)", record.c),
    ):
        if value is not None:
            results.append(Row((label, f"{value}/{record.points} điểm")))
    if record.task_percent is not None:
        results.append(
            Row(("Điểm công việc (a + b + c) / 3", f"{record.task_percent}%"), strong=True)
        )
    if record.general is not None:
        results.append(Row(("Điểm tiêu chí chung", f"{record.general}/30 điểm")))
    if record.score is not None:
        results.append(Row(("Tổng điểm", num(record.score)), strong=True))
    if record.grade is not None:
        results.append(Row(("Xếp loại", _label(record.grade, record.grade_label))))
    info = [("Đồng chí", record.name), ("Mã cán bộ", record.person)]
    if record.unit:
        info.append(("Đơn vị", record.unit))
    info += [
        ("Nhiệm vụ được giao", f"{record.tasks} nhiệm vụ"),
        ("Tổng điểm được giao", f"{record.points} điểm"),
    ]
    return Document(
        kind="person_card",
        sheet="Báo cáo nhiệm vụ",
        title=f"BÁO CÁO NHIỆM VỤ ĐƯỢC GIAO THÁNG {_month(record.period)}",
        info=tuple(info),
        tables=(
            Table("Kết quả thực hiện theo nhóm nhiệm vụ", tuple(columns), tuple(groups)),
            Table(
                "Bảng điểm đánh giá kết quả công việc",
                (Column("Nội dung", 100, "L"), Column("Kết quả", 80, "L")),
                tuple(results),
            ),
        ),
    )


def provincial_summary(record: ProvincialSummary) -> Document:
    """``003`` (Phụ lục, row 10): the monthly summary / 3-monthly review to the provincial
    standing office — per unit and in total: people, evaluated, grades A–D, not evaluated,
    tasks, done (%), late, average score (sum of scores / evaluated, half-up to 0.1)."""
    columns = (
        Column("STT", 10, "C"),
        Column("Cơ quan, đơn vị", 58, "L"),
        Column("Số CBCCVC", 17, "C"),
        Column("Được đánh giá", 17, "C"),
        Column("A", 12, "C"),
        Column("B", 12, "C"),
        Column("C", 12, "C"),
        Column("D", 12, "C"),
        Column("Không đánh giá", 17, "C"),
        Column("Nhiệm vụ", 17, "C"),
        Column("Hoàn thành", 17, "C"),
        Column("Tỷ lệ hoàn thành (%)", 20, "C"),
        Column("Chậm", 14, "C"),
        Column("Điểm bình quân", 20, "C"),
    )
    keys = ("people", "evaluated", "A", "B", "C", "D", "not_evaluated", "tasks", "tasks_done")

    def figures(values: dict[str, int], score_total: Decimal, late: int) -> tuple[Cell, ...]:
        tasks, evaluated = values["tasks"], values["evaluated"]
        done = _tenth(Decimal(values["tasks_done"]) * 100 / tasks) if tasks else ""
        mean = _tenth(score_total / evaluated) if evaluated else ""
        return (*(num(values[k]) for k in keys), done, num(late), mean)

    rows = [
        Row(
            (
                num(no),
                u.unit,
                *figures({k: getattr(u, k) for k in keys}, Decimal(u.score_total), u.tasks_late),
            )
        )
        for no, u in enumerate(record.units, 1)
    ]
    totals = {k: sum(getattr(u, k) for u in record.units) for k in keys}
    score_total = _sum([u.score_total for u in record.units])
    late = sum(u.tasks_late for u in record.units)
    rows.append(Row(("", "Tổng cộng", *figures(totals, score_total, late)), strong=True))
    notes = ["Điểm bình quân = tổng điểm / số người được đánh giá, làm tròn 0,1 (001 §II.2)."]
    if record.kind == "quarterly":
        notes.append(
            "Báo cáo 3 tháng: số người và xếp loại tính theo lượt đánh giá hằng tháng của 3 tháng."
        )
    if record.kind == "monthly":
        title = f"BÁO CÁO TỔNG HỢP KẾT QUẢ THỰC HIỆN KPI THÁNG {_month(record.period)}"
    else:
        title = (
            "BÁO CÁO SƠ KẾT 3 THÁNG KẾT QUẢ THỰC HIỆN CÔNG VIỆC CỦA CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC "
            f"{_month(record.period).upper()}"
        )
    return Document(
        kind="provincial_summary",
        sheet="Báo cáo tổng hợp",
        title=title,
        info=(
            ("Kính gửi", record.addressee),
            ("Đơn vị báo cáo", record.reporter),
            ("Tỉnh", record.province),
        ),
        tables=(Table(None, columns, tuple(rows)),),
        notes=tuple(notes),
        landscape=True,
        signatures=("Người lập biểu", "Thủ trưởng cơ quan"),
    )


def unit_ranking(record: UnitRanking) -> Document:
    """The ranking of units for central bodies: rank, tenant, unit (names), the value on the
    axis, tasks (total, done, overdue) and grades (graded, A)."""
    columns = (
        Column("Hạng", 12, "C"),
        Column("Tỉnh, thành phố", 40, "L"),
        Column("Cơ quan, đơn vị", 60, "L"),
        Column(record.axis + (" (%)" if record.percent else ""), 28, "C"),
        Column("Nhiệm vụ", 18, "C"),
        Column("Hoàn thành", 18, "C"),
        Column("Quá hạn chưa xong", 20, "C"),
        Column("Được xếp loại", 18, "C"),
        Column("Loại A", 14, "C"),
    )
    rows = tuple(
        Row(
            (
                num(line.rank) if line.rank is not None else "Chưa xếp hạng",
                line.tenant,
                line.unit,
                num(line.value) if line.value is not None else "Chưa có số liệu",
                num(line.tasks),
                num(line.tasks_done),
                num(line.tasks_overdue),
                num(line.graded),
                num(line.A),
            )
        )
        for line in record.lines
    )
    totals = Row(
        (
            "",
            "Tổng cộng",
            f"{len(record.lines)} đơn vị",
            "",
            num(sum(line.tasks for line in record.lines)),
            num(sum(line.tasks_done for line in record.lines)),
            num(sum(line.tasks_overdue for line in record.lines)),
            num(sum(line.graded for line in record.lines)),
            num(sum(line.A for line in record.lines)),
        ),
        strong=True,
    )
    return Document(
        kind="unit_ranking",
        sheet="Xếp hạng đơn vị",
        title=record.title.upper(),
        info=(
            ("Tháng", _month(record.period)),
            ("Tiêu chí xếp hạng", record.axis),
            ("Phạm vi", ", ".join(record.tenants)),
        ),
        tables=(Table(None, columns, (*rows, totals)),),
        notes=("Đơn vị có cùng giá trị cùng hạng; đơn vị chưa có số liệu không xếp hạng.",),
        landscape=True,
        signatures=("Người lập biểu", "Thủ trưởng cơ quan"),
    )


def layout(record: Record) -> Document:
    """The document of any record (dispatch on its type)."""
    match record:
        case PersonForm():
            return person_form(record)
        case UnitSummary():
            return unit_summary(record)
        case CommendationList():
            return commendation_list(record)
        case PersonCard():
            return person_card(record)
        case ProvincialSummary():
            return provincial_summary(record)
        case UnitRanking():
            return unit_ranking(record)
    raise TypeError(f"unknown record {type(record).__name__}")
