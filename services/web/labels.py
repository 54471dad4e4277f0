"""Vietnamese labels of the codes the services return (DOMAIN.md glossary; grades ``000``
§II.4 / DOMAIN.md §5), and small formatting helpers used by the templates. Pure."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

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
    ``"83,9"``, ``"117.000000"`` → ``"117"``); ``"—"`` when absent; other text as is."""
    if text in (None, ""):
        return "—"
    try:
        value = Decimal(str(text))
    except ArithmeticError:
        return str(text)
    if not value.is_finite():
        return str(text)
    return format(value.normalize(), "f").replace(".", ",")


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
