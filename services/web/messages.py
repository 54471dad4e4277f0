"""The services' refusals in Vietnamese, placed next to the field at fault (pure, no I/O).

The services answer errors in three shapes:

* FastAPI/pydantic 422: ``[{"loc": ["body", "rows", "1.1"], "type": ..., "msg": ..., "ctx"}]``
  (the tasks service uses the same list for its own refusals, ``msg`` already bilingual);
* evaluation refusals: ``{"field": "rows.1.1", "reason": "vi / en"}`` (404, 409, 422);
* policy refusals (403): ``{"action": ..., "reasons": [...]}``.

:func:`field_errors` turns any of them into ``{field: message}``; a field of ``""`` holds what
belongs to the whole form (shown at its top). Bilingual reasons ("tiếng Việt / English")
keep their Vietnamese half; known English-only reasons are translated; anything else is
shown as is after a Vietnamese lead-in, never dropped.
"""

from __future__ import annotations

import re
from typing import Any

from services.web.labels import FIELD_HINTS, field_label

FORM = ""
"""Key of the errors that belong to the whole form, not to one field."""

_PYDANTIC: dict[str, str] = {
    "missing": "bắt buộc nhập",
    "string_too_short": "không được để trống",
    "string_too_long": "quá dài (tối đa {max_length} ký tự)",
    # constraints checked after a validator (NFC text, services/common/text.py) are generic
    "too_short": "không được để trống",
    "too_long": "quá dài (tối đa {max_length} ký tự)",
    "less_than_equal": "không được lớn hơn {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "greater_than_equal": "không được nhỏ hơn {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "decimal_parsing": "phải là một số (ví dụ 1,5)",
    "decimal_type": "phải là một số (ví dụ 1,5)",
    "decimal_max_places": "tối đa {decimal_places} chữ số thập phân",
    "decimal_max_digits": "quá nhiều chữ số",
    "finite_number": "phải là số hữu hạn",
    "int_parsing": "phải là số nguyên",
    "float_parsing": "phải là một số",
    "date_from_datetime_parsing": "ngày không hợp lệ (dd/mm/yyyy)",
    "date_parsing": "ngày không hợp lệ (dd/mm/yyyy)",
    "literal_error": "giá trị không hợp lệ (một trong: {expected})",
    "enum": "giá trị không hợp lệ (một trong: {expected})",
    "extra_forbidden": "trường không được phép",
    "string_pattern_mismatch": "sai định dạng",
    "bool_parsing": "phải là có hoặc không",
}

_ENGLISH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"cannot (\w[\w ]*) an evaluation that is (\w+)"), "không thể {0} khi phiếu {1}"),
    (re.compile(r"the self-assessment deadline passed"), "đã quá hạn tự đánh giá"),
    (re.compile(r"already appealed"), "đã gửi kiến nghị rồi"),
    (re.compile(r"no open appeal"), "không có kiến nghị đang chờ trả lời"),
    (re.compile(r"a changed result needs the new grade"), "cần chọn mức xếp loại mới"),
    (re.compile(r"an upheld result keeps its grade"), "giữ nguyên kết quả thì không chọn mức mới"),
    (re.compile(r"(\S+) is outside 0–30 points"), "{0} nằm ngoài khoảng 0–30 điểm"),
    (re.compile(r"(\S+) has no evaluation for (\S+)"), "{0} chưa có phiếu đánh giá kỳ {1}"),
]

_STEPS = {
    "self_assess": "tự đánh giá",
    "self-assess": "tự đánh giá",
    "review": "nhận xét",
    "decide": "xếp loại",
    "publish": "công khai",
    "appeal": "kiến nghị",
}
_STATUSES = {
    "opened": "đang mở",
    "self_assessed": "đã tự đánh giá",
    "reviewed": "đã nhận xét",
    "decided": "đã xếp loại",
    "published": "đã công khai",
    "not_evaluated": "không đánh giá",
}

FORBIDDEN = "Bạn không có quyền thực hiện thao tác này"
NOT_FOUND = "Không tìm thấy"
MISSING = "Bắt buộc nhập (6 rõ)"


def vietnamese(reason: str) -> str:
    """The Vietnamese text of a service's ``reason``: the part before `` / `` of a bilingual
    reason, a translation of a known English one, else the reason itself."""
    text = str(reason).strip()
    if " / " in text:
        return text.split(" / ", 1)[0].strip()
    for pattern, template in _ENGLISH:
        found = pattern.search(text)
        if found:
            parts = [_STEPS.get(g, _STATUSES.get(g, g)) for g in found.groups()]
            return template.format(*parts)
    return text


def _pydantic(item: dict[str, Any]) -> str:
    kind = str(item.get("type", ""))
    template = _PYDANTIC.get(kind)
    if template is None:
        msg = str(item.get("msg", ""))
        return vietnamese(msg.removeprefix("Value error, "))
    try:
        return template.format(**(item.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split(" (")[0]


def _field(loc: list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(parts)


def _add(errors: dict[str, str], field: str, message: str) -> None:
    """``message`` for ``field``, after what the field already holds (each text once)."""
    if not message:
        return
    held = errors.get(field)
    if held is None:
        errors[field] = message
    elif message not in held.split("; "):
        errors[field] = f"{held}; {message}"


def _one(errors: dict[str, str], status: int, item: Any) -> None:
    """Add the errors of one refusal ``item`` (any of the three shapes) to ``errors``."""
    if isinstance(item, dict) and "reasons" in item:
        reasons = [vietnamese(r) for r in item.get("reasons") or []]
        _add(errors, FORM, FORBIDDEN + (": " + "; ".join(reasons) if reasons else ""))
    elif isinstance(item, dict) and "field" in item:
        field, reason = str(item["field"]), vietnamese(str(item.get("reason", "")))
        if status == 404 or field in ("status", "evaluation", "workflow", "appeal"):
            _add(errors, FORM, reason)
        else:
            _add(errors, field, reason)
    elif isinstance(item, dict) and ({"loc", "msg", "missing"} & item.keys()):
        field = _field(list(item.get("loc") or []))
        missing = [str(m) for m in item.get("missing") or []]
        if missing:  # the tasks service's "6 rõ" check names every missing field
            for name in missing:
                _add(errors, name, MISSING)
            lead = f"Chưa đủ thông tin bắt buộc (6 rõ): {len(missing)} trường còn thiếu"
            _add(errors, FORM, lead)
            return
        message = _pydantic(item)
        if item.get("type") == "string_pattern_mismatch" and field in FIELD_HINTS:
            message = f"{message}: {FIELD_HINTS[field]}"
        _add(errors, field, message)
    elif item not in (None, ""):
        _add(errors, FORM, vietnamese(str(item)))


def field_errors(status: int, detail: Any) -> dict[str, str]:
    """``{field: Vietnamese message}`` from a service's error ``detail`` at HTTP ``status``:
    every error it holds (a list of any of the shapes above is read item by item; two errors
    of one field are joined with ``"; "``).

    Field names are the API's (``general``, ``rows.1.1``, ``comment``, ``reason``, ``ratio``,
    ``name``...); :data:`FORM` (``""``) holds what belongs to the form as a whole.
    """
    errors: dict[str, str] = {}
    if isinstance(detail, list):
        for item in detail:
            _one(errors, status, item)
        return errors or {FORM: f"Dữ liệu không hợp lệ (mã {status})"}
    _one(errors, status, detail)
    if errors:
        return errors
    if status == 403:
        return {FORM: FORBIDDEN}
    if status == 404:
        return {FORM: NOT_FOUND}
    return {FORM: f"Lỗi {status}"}


def error_lines(errors: dict[str, str]) -> list[str]:
    """Every error of :func:`field_errors` as a line to show where there is no field to put
    it beside (an error page, a row of a list): the whole form's first, then each field's
    with its Vietnamese name (``Tiêu chí 1.2: phải là một số (ví dụ 1,5)``)."""
    lines = [errors[FORM]] if errors.get(FORM) else []
    lines += [f"{field_label(f)}: {m}" for f, m in errors.items() if f != FORM]
    return lines


def error_summary(status: int, detail: Any) -> str:
    """All the errors of a refusal on one line (``"; "``-joined :func:`error_lines`), e.g. a
    task's row in a list."""
    return "; ".join(error_lines(field_errors(status, detail)))
