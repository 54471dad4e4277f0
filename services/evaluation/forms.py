"""General-criteria forms — pure rules, no I/O except reading a template file
(``001_d4bf1d183fe0817b.txt §II.1``; ``002_d6bfb34b4564ffdb.txt`` "Mẫu số 03"; DOMAIN.md §5).

``001 §II.1``: the general criteria are scored out of **30 points**; leaders use the groups of
*Phụ lục 1*, everyone else those of *Phụ lục 2* ("Mẫu số 03" in ``002``). A form is a list of
sections ("1. Về chính trị, phẩm chất đạo đức và ý thức tổ chức kỷ luật (Tối đa 15 điểm)"),
each a list of rows with a maximum; the person and the manager each give every row its points
(the manager's are the ones that count). Templates are tenant data (``docs/evaluation-forms.md``).

* :class:`FormTemplate` / :func:`template_from_data` / :func:`load_template` — a template,
  checked: unique row codes, each row's maximum > 0 with at most two decimals, each section's
  maximum = the sum of its rows, the whole = exactly 30 points.
* :func:`validate_points` — a filled form: every row of the template, no other, each row's
  points exact and within 0..max.
* :func:`total` — the exact sum of a filled form (the general-criteria points, 0–30).
* :func:`kind_of` — leader or staff form for a person, from planning's evaluator relation.

Errors are :class:`FormError` with the ``field`` at fault (``rows.1.3``,
``sections[0].rows[2].max_points``) and the ``reason`` in plain words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml

from services.common.errors import InputError

#: The general criteria's maximum, points (``001 §II.1``).
FORM_TOTAL = Decimal(30)
#: Points are given to at most this many decimals (e.g. 1.5, 0.25).
MAX_DECIMALS = 2
FormKind = Literal["leader", "staff"]
KINDS: tuple[str, ...] = ("leader", "staff")


class FormError(ValueError):
    """A refused template or filled form: ``field`` (path of the value) and ``reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class FormRow:
    """One criterion: ``code`` ("1.1"), ``text``, ``max_points`` (points, > 0)."""

    code: str
    text: str
    max_points: Decimal


@dataclass(frozen=True, slots=True)
class FormSection:
    """A group of rows (``002`` Mẫu số 03: "1. Về chính trị, …(Tối đa 15 điểm)");
    ``max_points`` = the sum of its rows' maxima."""

    code: str
    title: str
    max_points: Decimal
    rows: tuple[FormRow, ...]


@dataclass(frozen=True, slots=True)
class FormTemplate:
    """A tenant's general-criteria form in force from ``effective_from``.

    Attributes:
        code: the template's code, e.g. ``phu-luc-2``.
        kind: ``leader`` (Phụ lục 1) or ``staff`` (Phụ lục 2 / Mẫu số 03).
        title: the heading shown on the form.
        effective_from: first day the template applies (versions of a kind differ by it).
        sections: the groups of rows, in form order; rows total exactly 30 points.
    """

    code: str
    kind: FormKind
    title: str
    effective_from: date
    sections: tuple[FormSection, ...]

    @property
    def rows(self) -> tuple[FormRow, ...]:
        """Every row, in form order."""
        return tuple(row for section in self.sections for row in section.rows)

    def row(self, code: str) -> FormRow:
        """The row ``code``. Raises ``KeyError`` when the template has none."""
        for row in self.rows:
            if row.code == code:
                return row
        raise KeyError(code)


# --- numbers ---------------------------------------------------------------------------------


def points_of(value: Any, field: str) -> Decimal:
    """``value`` (int, Decimal or decimal text such as ``"1.5"``) as exact points.

    Raises:
        FormError: a boolean, a float (inexact: send ``"1.5"``), text that is not a number, a
            non-finite number, or more than two decimals.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise FormError(
            field,
            "điểm phải là số nguyên hoặc số thập phân dạng văn bản / expected a number of points "
            f"as text or integer, got {value!r}",
        )
    try:
        points = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise FormError(field, f"không phải là số / not a number: {value!r}") from None
    if not points.is_finite():
        raise FormError(field, f"không phải số hữu hạn / not a finite number: {value!r}")
    exponent = points.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise FormError(
            field,
            f"quá {MAX_DECIMALS} chữ số thập phân / {value} has more than {MAX_DECIMALS} decimals",
        )
    return points


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FormError(field, "required text is missing")
    return " ".join(value.split())


def _code(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise FormError(field, f'expected a code such as "1.1", got {value!r}')
    return _text(str(value), field)


def _keys(
    data: Any, field: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    if not isinstance(data, Mapping):
        raise FormError(field, "expected a mapping of keys to values")
    unknown = sorted(set(data) - required - optional)
    if unknown:
        raise FormError(f"{field}.{unknown[0]}" if field else unknown[0], "unknown key")
    missing = sorted(required - set(data))
    if missing:
        raise FormError(f"{field}.{missing[0]}" if field else missing[0], "required key missing")


# --- templates -------------------------------------------------------------------------------


def template_from_data(data: Any) -> FormTemplate:
    """Build and check a template from plain data (a parsed template file, or
    :func:`template_as_data`).

    Shape: ``{code, kind, title, effective_from: date | "YYYY-MM-DD", sections: [{code, title,
    max_points?, rows: [{code, text, max_points}]}]}``; numbers as int, Decimal or text.

    Raises:
        FormError: the first problem, with its path (``sections[1].rows[0].max_points``): a
            missing or unknown key, an unknown kind, a duplicate row or section code, a row
            maximum ≤ 0 or with more than two decimals, a section maximum that is not the sum
            of its rows, a total that is not exactly 30 points (``001 §II.1``).
    """
    _keys(data, "", {"code", "kind", "title", "effective_from", "sections"})
    code = _text(data["code"], "code")
    kind = data["kind"]
    if kind not in KINDS:
        raise FormError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    effective = data["effective_from"]
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective)
        except ValueError:
            raise FormError("effective_from", f"not a date: {effective!r}") from None
    if not isinstance(effective, date):
        raise FormError("effective_from", f"expected a date YYYY-MM-DD, got {effective!r}")
    raw_sections = data["sections"]
    if not isinstance(raw_sections, list) or not raw_sections:
        raise FormError("sections", "expected a non-empty list of sections")
    sections: list[FormSection] = []
    seen_rows: dict[str, str] = {}
    seen_sections: set[str] = set()
    for i, raw in enumerate(raw_sections):
        where = f"sections[{i}]"
        _keys(raw, where, {"code", "title", "rows"}, frozenset({"max_points"}))
        s_code = _code(raw["code"], f"{where}.code")
        if s_code in seen_sections:
            raise FormError(f"{where}.code", f"duplicate section code '{s_code}'")
        seen_sections.add(s_code)
        raw_rows = raw["rows"]
        if not isinstance(raw_rows, list) or not raw_rows:
            raise FormError(f"{where}.rows", "expected a non-empty list of rows")
        rows: list[FormRow] = []
        for j, raw_row in enumerate(raw_rows):
            at = f"{where}.rows[{j}]"
            _keys(raw_row, at, {"code", "text", "max_points"})
            r_code = _code(raw_row["code"], f"{at}.code")
            if r_code in seen_rows:
                raise FormError(
                    f"{at}.code", f"duplicate row code '{r_code}' (also at {seen_rows[r_code]})"
                )
            seen_rows[r_code] = at
            most = points_of(raw_row["max_points"], f"{at}.max_points")
            if most <= 0:
                raise FormError(f"{at}.max_points", f"row {r_code}: maximum {most} is not > 0")
            rows.append(FormRow(r_code, _text(raw_row["text"], f"{at}.text"), most))
        rows_sum = sum((r.max_points for r in rows), Decimal(0))
        if raw.get("max_points") is not None:
            declared = points_of(raw["max_points"], f"{where}.max_points")
            if declared != rows_sum:
                raise FormError(
                    f"{where}.max_points",
                    f"section {s_code} declares {declared} points but its rows total {rows_sum}",
                )
        title = _text(raw["title"], f"{where}.title")
        sections.append(FormSection(s_code, title, rows_sum, tuple(rows)))
    grand = sum((s.max_points for s in sections), Decimal(0))
    if grand != FORM_TOTAL:
        detail = ", ".join(f"{s.code}: {s.max_points}" for s in sections)
        raise FormError(
            "sections",
            f"rows total {grand} points, not {FORM_TOTAL} (001 §II.1); by section {detail}",
        )
    return FormTemplate(code, kind, _text(data["title"], "title"), effective, tuple(sections))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def template_as_data(template: FormTemplate) -> dict[str, Any]:
    """JSON-ready data of ``template`` (decimals as text, the date ISO); the inverse of
    :func:`template_from_data`."""
    return {
        "code": template.code,
        "kind": template.kind,
        "title": template.title,
        "effective_from": template.effective_from.isoformat(),
        "sections": [
            {
                "code": s.code,
                "title": s.title,
                "max_points": _plain(s.max_points),
                "rows": [
                    {"code": r.code, "text": r.text, "max_points": _plain(r.max_points)}
                    for r in s.rows
                ],
            }
            for s in template.sections
        ],
    }


class _ExactLoader(yaml.SafeLoader):
    """Safe YAML whose floats are exact ``Decimal`` (``1.5`` stays ``Decimal('1.5')``)."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def parse_template(text: str, source: str) -> FormTemplate:
    """Parse and check the YAML template ``text``; ``source`` names it in errors.

    Raises:
        InputError: invalid YAML (with line and column), or the :class:`FormError` of
            :func:`template_from_data` (field path, no line).
    """
    try:
        data = yaml.load(text, Loader=_ExactLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise InputError(source, line, column, "yaml", str(exc.problem or exc)) from exc
    except (yaml.YAMLError, ArithmeticError) as exc:
        raise InputError(source, None, None, "yaml", str(exc)) from exc
    try:
        return template_from_data(data)
    except FormError as exc:
        raise InputError(source, None, None, exc.field, exc.reason) from exc


def load_template(path: str | Path) -> FormTemplate:
    """Load and check a template file (``data/tenants/<code>/forms/*.yaml``).

    Raises:
        InputError: the file cannot be read, or see :func:`parse_template`.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, None, "file", f"cannot read: {exc}") from exc
    return parse_template(text, str(path))


# --- filled forms ----------------------------------------------------------------------------


def validate_points(template: FormTemplate, rows: Mapping[str, Any]) -> dict[str, Decimal]:
    """Check a filled form: ``{row code: points}`` for every row of ``template``.

    Returns:
        ``{row code: Decimal points}`` in the template's row order.

    Raises:
        FormError: ``rows`` is not a mapping; a row code the template does not have
            (``rows.9.9``); a row missing (``rows.1.3``; all missing ones named); points that
            are not exact (see :func:`points_of`) or outside 0..the row's maximum.
    """
    if not isinstance(rows, Mapping):
        raise FormError("rows", "expected a mapping of row code to points")
    known = {row.code for row in template.rows}
    unknown = sorted(str(code) for code in rows if code not in known)
    if unknown:
        raise FormError(
            f"rows.{unknown[0]}",
            f"mẫu phiếu không có tiêu chí / form {template.code} has no row {', '.join(unknown)}",
        )
    missing = [row.code for row in template.rows if row.code not in rows]
    if missing:
        raise FormError(
            f"rows.{missing[0]}",
            f"thiếu điểm tiêu chí / no points for row {', '.join(missing)}",
        )
    points: dict[str, Decimal] = {}
    for row in template.rows:
        field = f"rows.{row.code}"
        value = points_of(rows[row.code], field)
        if not 0 <= value <= row.max_points:
            raise FormError(
                field,
                f"ngoài khoảng 0–{_plain(row.max_points)} điểm / {value} is outside "
                f"0–{_plain(row.max_points)} points",
            )
        points[row.code] = value
    return points


def total(points: Mapping[str, Decimal]) -> Decimal:
    """The exact sum of a checked form's points (the general-criteria points, 0–30)."""
    return sum(points.values(), Decimal(0))


def section_totals(template: FormTemplate, points: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """``{section code: sum of its rows' points}`` (rows absent from ``points`` count 0)."""
    return {
        s.code: sum((points.get(r.code, Decimal(0)) for r in s.rows), Decimal(0))
        for s in template.sections
    }


def points_as_data(points: Mapping[str, Decimal]) -> dict[str, str]:
    """``{row: "1.5"}``: points as canonical text for JSON columns and events."""
    return {code: _plain(value) for code, value in points.items()}


# --- who fills which form --------------------------------------------------------------------


def kind_of(person: str, relation: Mapping[str, Any]) -> FormKind:
    """``leader`` (Phụ lục 1) for a "cán bộ lãnh đạo, quản lý" (``001 §II.1``), else ``staff``
    (Phụ lục 2).

    ``relation`` is planning's evaluator relation (``/evaluators/policy-data``): a person is a
    leader when they head a unit (``unit_heads``) or evaluate someone (``evaluatees_of``,
    i.e. manage people, ``001 §II.3``). A deputy who manages nobody in the relation gets the
    staff form; the use cases accept an explicit kind for such cases.
    """
    if person in set(relation.get("unit_heads", {}).values()):
        return "leader"
    if relation.get("evaluatees_of", {}).get(person):
        return "leader"
    return "staff"
