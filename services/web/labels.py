"""Vietnamese labels of the codes the services return (DOMAIN.md glossary; grades ``000``
§II.4 / DOMAIN.md §5), and small formatting helpers used by the templates. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

GRADES = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}
EVALUATION_STATUS = {
    "opened": "Chờ tự đánh giá",
    "self_assessed": "Đã tự đánh giá — chờ nhận xét",
    "reviewed": "Đã nhận xét — chờ xếp loại",
    "decided": "Đã xếp loại — chờ công khai",
    "published": "Đã công khai",
}
APPEAL_STATUS = {
    "open": "Kiến nghị đang chờ trả lời",
    "upheld": "Giữ nguyên kết quả",
    "changed": "Đã thay đổi xếp loại",
}
FLAGS = {
    "general_defaulted": "Tiêu chí chung lấy mặc định 30 điểm (không có nhận xét)",
    "general_from_self_assessment": "Tiêu chí chung lấy theo điểm tự đánh giá",
    "self_assessment_missed": "Quá hạn tự đánh giá: lấy điểm hệ thống",
    "review_escalated": "Quá hạn nhận xét: đã chuyển cấp trên",
    "decision_escalated": "Quá hạn xếp loại: đã chuyển cấp trên",
    "not_evaluated": "Không đánh giá (dưới 50% ngày công)",
    "no_tasks": "Không có nhiệm vụ trong tháng",
    "ledger_changed_after_decision": "Sổ công việc thay đổi sau khi xếp loại",
    "late_data_after_publication": "Dữ liệu muộn sau khi công khai (chỉ thay đổi qua kiến nghị)",
    "leader_factors_unconfirmed": "Tiêu chí d, đ, e chưa được xác nhận",
}
HISTORY_ACTIONS = {
    "opened": "Mở phiếu, hệ thống đề xuất điểm",
    "self_assessed": "Tự đánh giá",
    "reviewed": "Nhận xét, đánh giá",
    "decided": "Xếp loại",
    "quota_applied": "Áp dụng tỷ lệ xuất sắc",
    "published": "Công khai",
    "appealed": "Gửi kiến nghị",
    "appeal_answered": "Trả lời kiến nghị",
    "fallback_applied": "Quá hạn tự đánh giá: lấy điểm hệ thống",
    "escalated": "Chuyển cấp trên do quá hạn",
    "ledger_refreshed": "Cập nhật dữ liệu muộn từ sổ công việc",
    "not_evaluated": "Không đánh giá",
    "leader_factors_proposed": "Đề xuất tiêu chí d, đ, e",
    "leader_factors_confirmed": "Xác nhận tiêu chí d, đ, e",
}
TASK_STATUS = {
    "draft": "Nháp",
    "proposed": "Đề xuất, chờ giao",
    "assigned": "Đã giao",
    "in_progress": "Đang thực hiện",
    "submitted": "Chờ duyệt",
    "approved": "Đã duyệt",
    "returned": "Bị trả lại",
    "cancelled": "Đã hủy",
}
TASK_GROUPS = {
    "focus": "Nhiệm vụ trọng tâm",
    "regular": "Nhiệm vụ thường xuyên",
    "arising": "Nhiệm vụ phát sinh",
}
PERSPECTIVES = {
    "citizens": "Người dân",
    "finance": "Tài chính",
    "process": "Quy trình nội bộ",
    "learning": "Học hỏi và phát triển",
}


def period_label(period: str) -> str:
    """``2026-06`` → ``06/2026``."""
    year, _, month = period.partition("-")
    return f"{month}/{year}" if month else period


def current_period(today: date | None = None) -> str:
    """The month of ``today`` (default: today) as ``YYYY-MM``."""
    day = today or date.today()
    return f"{day.year:04d}-{day.month:02d}"


def shift_period(period: str, months: int) -> str:
    """``period`` moved by ``months`` (``2026-01`` − 1 → ``2025-12``)."""
    year, month = (int(x) for x in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


STEP_ORDER = ("self_assessed", "reviewed", "decided", "published")


def steps_reached(by_step: dict[str, int]) -> dict[str, int]:
    """People who have got at least as far as each step (``by_step`` counts people *at* a
    step, ``opened`` … ``published``): ``{step: people at it or later}``."""
    reached, running = {}, 0
    for step in reversed(STEP_ORDER):
        running += int(by_step.get(step) or 0)
        reached[step] = running
    return {step: reached[step] for step in STEP_ORDER}


def percent(fraction_text: str | None) -> str:
    """An exact fraction as text (``"26/33"``) → percent rounded half-up to 0.1 (``"78,8 %"``);
    ``"—"`` when absent. Exact (Fraction → Decimal), as the scores (DOMAIN.md §5)."""
    if not fraction_text:
        return "—"
    value = Fraction(fraction_text) * 100
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %".replace(".", ",")


def points(text: str | int | Decimal | None) -> str:
    """Decimal text with a Vietnamese decimal comma and no trailing zeros (``"83.90"`` →
    ``"83,9"``, ``"117.000000"`` → ``"117"``); ``"—"`` when absent; other text as is
    (:func:`number`, kept under this name for the templates' ``points`` filter)."""
    return number(text)


def default_deadlines(period: str) -> list[tuple[str, str]]:
    """The month's steps and their deadlines by the default calendar of ``001 §IV.1``
    (self-assessment by the 25th, review by the 26th, decision by the 28th, publication by
    the 5th of the next month; December: everything by the 15th). A tenant may set its own
    calendar; the tenant's is not exposed over the APIs yet, so pages label these as the
    regulation's defaults."""
    year, month = (int(x) for x in period.split("-"))
    following = shift_period(period, 1)
    if month == 12:
        day = f"15/12/{year}"
        return [
            ("Tự đánh giá", day),
            ("Nhận xét", day),
            ("Xếp loại", day),
            ("Công khai", day),
        ]
    label = f"{month:02d}/{year}"
    return [
        ("Tự đánh giá", f"25/{label}"),
        ("Nhận xét", f"26/{label}"),
        ("Xếp loại", f"28/{label}"),
        ("Công khai", f"05/{period_label(following)}"),
    ]


# --- one format for numbers, dates and times on every page (registered as Jinja filters in
# services.web.pages) ----------------------------------------------------------------------

DASH = "—"
"""What a page shows for a figure, date or label that is absent (never ``None``)."""

FORM_NAMES = {
    "phu-luc-1": "Phụ lục 1 — Cán bộ lãnh đạo, quản lý",
    "phu-luc-2": "Mẫu số 03 — Cán bộ, công chức, viên chức",
}
"""Vietnamese names of the evaluation forms (``data/tenants/*/forms``), not their codes."""

FIELD_LABELS = {
    "period": "Kỳ đánh giá (tháng)",
    "person": "Cán bộ",
    "unit": "Đơn vị",
    "code": "Mã",
    "kind": "Loại báo cáo",
    "fmt": "Định dạng tệp",
    "axis": "Tiêu chí so sánh",
    "status": "Trạng thái",
    "group": "Nhóm nhiệm vụ",
    "ok": "Thông báo",
    "next": "Trang tiếp theo",
    "name": "Tên nhiệm vụ",
    "basis": "Căn cứ",
    "key_result": "Kết quả then chốt",
    "lead_unit": "Đơn vị chủ trì",
    "lead_person": "Người chủ trì",
    "start_date": "Ngày bắt đầu",
    "due_date": "Hạn hoàn thành",
    "output_product": "Sản phẩm đầu ra",
    "quality_criteria": "Tiêu chí chất lượng",
    "catalog_item": "Danh mục công việc",
    "quantity": "Số lượng",
    "ratio": "Tỷ lệ xuất sắc",
    "reason": "Lý do",
    "comment": "Nhận xét",
    "answer": "Trả lời",
    "general": "Tiêu chí chung",
    "final_grade": "Mức xếp loại",
    "evidence": "Minh chứng",
}
"""Vietnamese names of the fields the pages and the APIs name in their errors."""

FIELD_HINTS = {
    "period": "có dạng YYYY-MM với tháng từ 01 đến 12, ví dụ 2026-06",
}
"""What a well-formed value of a field looks like (shown after a format error)."""


def field_label(field: str) -> str:
    """The Vietnamese name of an API or form field (``rows.1.2`` → ``Tiêu chí 1.2``); the
    field itself when unknown."""
    if field.startswith("rows."):
        return f"Tiêu chí {field.removeprefix('rows.')}"
    return FIELD_LABELS.get(field, field)


def label(value: object, mapping: dict[str, str] | None = None) -> str:
    """``mapping[value]`` (a code's Vietnamese name), the value itself when it is not in
    ``mapping``, :data:`DASH` when absent (``None``, ``""``, ``"None"``)."""
    if value is None or value in ("", "None"):
        return DASH
    text = str(value)
    return (mapping or {}).get(text, text)


def number(value: str | int | float | Decimal | None, places: int | None = None) -> str:
    """A number with the Vietnamese decimal comma (``"83.90"`` → ``"83,9"``; with ``places``
    rounded half-up to that many decimals); :data:`DASH`
    when absent; text that is not a number is shown as is. The one number format of the
    pages: :func:`points` and the ``number`` filter."""
    if value is None or value in ("", "None"):
        return DASH
    try:
        exact = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not exact.is_finite():
        return str(value)
    if places is not None:
        exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return format(exact, "f").replace(".", ",")
    return format(exact.normalize(), "f").replace(".", ",")


def parse_number(typed: str) -> Decimal | None:
    """A number as a person types it: ``1,5`` or ``1.5`` (decimal comma or point), spaces
    around it ignored; ``None`` when it is not one number (``1,2,3``, ``1.2,3``, ``abc``,
    ``NaN``, empty). Thousands separators are not read: ``1.500`` is one and a half, as
    the forms' hints show decimals, never thousands."""
    text = str(typed).strip().replace(" ", "").replace("\u00a0", "")
    if not text or (text.count(",") + text.count(".")) > 1:
        return None
    try:
        value = Decimal(text.replace(",", "."))
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def decimal_text(typed: str) -> str:
    """What an API receives for a typed number: ``1,5`` and ``1.5`` → ``"1.5"``; text that is
    not one number is sent trimmed as typed, for the API to judge (and name the field)."""
    value = parse_number(typed)
    return str(typed).strip() if value is None else format(value, "f")


def _parsed_datetime(value: object) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def date_label(value: object) -> str:
    """A date as ``dd/mm/yyyy`` (``2026-06-26`` or a date-time → ``26/06/2026``; a
    date-time's own day, see :func:`datetime_label` for a zone's); :data:`DASH` when absent;
    text that is not a date is shown as is."""
    if value is None or value in ("", "None"):
        return DASH
    found = _parsed_datetime(value)
    if found is None:
        return str(value)
    return f"{found.day:02d}/{found.month:02d}/{found.year:04d}"


def datetime_label(value: object, zone: str = "Asia/Ho_Chi_Minh") -> str:
    """A moment as ``dd/mm/yyyy HH:MM`` in the time zone ``zone`` (the tenant's): the services
    answer UTC (a time without an offset is read as UTC); a bare date is shown as
    :func:`date_label`; :data:`DASH` when absent; other text as is."""
    if value is None or value in ("", "None"):
        return DASH
    found = _parsed_datetime(value)
    if found is None:
        return str(value)
    if not isinstance(found, datetime):
        return date_label(found)
    moment = found if found.tzinfo else found.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day:02d}/{local.month:02d}/{local.year:04d} {local.hour:02d}:{local.minute:02d}"


TASK_EVENTS = {
    "task.created": "Lập nhiệm vụ",
    "task.updated": "Sửa nội dung nhiệm vụ",
    "task.proposed": "Đề xuất nhiệm vụ",
    "task.assigned": "Giao việc",
    "task.started": "Bắt đầu thực hiện",
    "task.submitted": "Gửi kết quả, minh chứng",
    "task.approved": "Duyệt kết quả",
    "task.returned": "Trả lại",
    "task.cancelled": "Hủy nhiệm vụ",
    "task.progress": "Cập nhật tiến độ",
    "task.overdue": "Quá hạn",
    "pushback.created": "Phản hồi về nhiệm vụ",
    "pushback.answered": "Trả lời phản hồi",
    "objective_cause.confirmed": "Xác nhận nguyên nhân khách quan",
    "exceeded_mark.confirmed": "Xác nhận vượt mức",
    "rating.set": "Đánh giá phối hợp",
}
"""Vietnamese names of the tasks service's audited changes (the task page's history)."""
REVIEW_DECISIONS = {"approved": "Duyệt", "returned": "Trả lại"}
PUSHBACK_TOPICS = {
    "scope": "Phạm vi công việc",
    "authority": "Thẩm quyền",
    "resources": "Nguồn lực",
}
CAUSE_KINDS = {"quality": "Chất lượng (bị trả lại)", "delay": "Chậm tiến độ"}
EXCEEDED_KINDS = {
    "ahead_of_time": "Hoàn thành trước hạn",
    "higher_quality": "Chất lượng cao hơn yêu cầu",
    "innovation": "Đổi mới, sáng tạo",
}
