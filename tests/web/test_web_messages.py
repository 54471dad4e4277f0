"""The services' refusals in Vietnamese next to the right field (services.web.messages), and
the pages' number formats (services.web.labels): pure functions, shapes copied from what
the services answer."""

from __future__ import annotations

from services.web.labels import default_deadlines, percent, points, shift_period, steps_reached
from services.web.messages import FORBIDDEN, FORM, MISSING, field_errors, vietnamese


def test_pydantic_422_names_the_field_in_vietnamese() -> None:
    detail = [
        {
            "type": "less_than_equal",
            "loc": ["body", "general"],
            "msg": "Input should be less than or equal to 30",
            "ctx": {"le": "30"},
        },
        {"type": "decimal_parsing", "loc": ["body", "rows", "1.2"], "msg": "Input should be..."},
        {"type": "string_too_short", "loc": ["body", "reason"], "msg": "...", "ctx": {}},
    ]
    assert field_errors(422, detail) == {
        "general": "không được lớn hơn 30",
        "rows.1.2": "phải là một số (ví dụ 1,5)",
        "reason": "không được để trống",
    }


def test_evaluation_refusal_keeps_the_vietnamese_half_at_its_field() -> None:
    detail = {"field": "rows.1.1", "reason": "ngoài khoảng 0–2 điểm / 3 is outside 0–2 points"}
    assert field_errors(422, detail) == {"rows.1.1": "ngoài khoảng 0–2 điểm"}


def test_state_refusals_belong_to_the_whole_form_and_are_translated() -> None:
    detail = {"field": "status", "reason": "cannot review an evaluation that is published"}
    assert field_errors(409, detail) == {FORM: "không thể nhận xét khi phiếu đã công khai"}
    assert field_errors(409, {"field": "appeal", "reason": "already appealed"}) == {
        FORM: "đã gửi kiến nghị rồi"
    }


def test_policy_refusal_lists_its_reasons() -> None:
    detail = {"action": "evaluation.review", "reasons": ["chỉ người quản lý / only the manager"]}
    assert field_errors(403, detail) == {FORM: f"{FORBIDDEN}: chỉ người quản lý"}


def test_model_level_error_goes_to_the_form_translated() -> None:
    detail = [
        {
            "type": "value_error",
            "loc": ["body"],
            "msg": "Value error, final_grade: a changed result needs the new grade",
        }
    ]
    assert field_errors(422, detail) == {FORM: "cần chọn mức xếp loại mới"}


def test_tasks_refusal_marks_every_missing_field() -> None:
    detail = [
        {
            "loc": ["body", "fields"],
            "msg": "thiếu thông tin bắt buộc (6 rõ): due_date, output_product",
            "missing": ["due_date", "output_product"],
        }
    ]
    assert field_errors(422, detail) == {
        "due_date": MISSING,
        "output_product": MISSING,
        FORM: "Chưa đủ thông tin bắt buộc (6 rõ): 2 trường còn thiếu",
    }


def test_unknown_text_is_shown_not_dropped() -> None:
    assert vietnamese("something new") == "something new"
    assert field_errors(500, "boom") == {FORM: "boom"}


def test_formats_are_exact_with_a_decimal_comma() -> None:
    assert percent("26/33") == "78,8 %"  # 78.787… half-up
    assert percent("1/16") == "6,3 %"  # 6.25 → 6.3 (half-up, not banker's)
    assert percent(None) == "—"
    assert points("83.9") == "83,9"
    assert points("117.000000") == "117"  # reporting's points, trailing zeros dropped
    assert points("100") == "100"  # not 1E+2
    assert points(None) == "—"
    assert shift_period("2026-01", -1) == "2025-12"
    assert shift_period("2026-12", 1) == "2027-01"


def test_cycle_figures_count_people_who_reached_each_step() -> None:
    by_step = {"opened": 4, "self_assessed": 1, "reviewed": 0, "decided": 2, "published": 3}
    assert steps_reached(by_step) == {
        "self_assessed": 6,
        "reviewed": 5,
        "decided": 5,
        "published": 3,
    }


def test_default_deadlines_follow_001_iv1_and_december() -> None:
    assert default_deadlines("2026-06") == [
        ("Tự đánh giá", "25/06/2026"),
        ("Nhận xét", "26/06/2026"),
        ("Xếp loại", "28/06/2026"),
        ("Công khai", "05/07/2026"),
    ]
    assert {day for _, day in default_deadlines("2026-12")} == {"15/12/2026"}
