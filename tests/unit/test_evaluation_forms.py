"""The general-criteria forms (``services.evaluation.forms``, ``001 §II.1``, ``002`` Mẫu số 03)
and the records of ``001 §V.2`` (``services.evaluation.records``) as pure functions."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.common.errors import InputError
from services.evaluation import forms, records
from services.evaluation.forms import FormError

ROOT = Path(__file__).resolve().parents[2]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "forms"
SEED_002 = ROOT.parent / "shared" / "seeds" / "002_d6bfb34b4564ffdb.txt"


def small() -> dict[str, Any]:
    """A valid two-section template as plain data (15 + 15 points)."""
    return {
        "code": "t",
        "kind": "staff",
        "title": "Mẫu thử",
        "effective_from": "2026-01-01",
        "sections": [
            {
                "code": "1",
                "title": "Chính trị",
                "max_points": 15,
                "rows": [
                    {"code": "1.1", "text": "A", "max_points": 10},
                    {"code": "1.2", "text": "B", "max_points": "5"},
                ],
            },
            {
                "code": "2",
                "title": "Năng lực",
                "rows": [
                    {"code": "2.1", "text": "C", "max_points": "7.5"},
                    {"code": "2.2", "text": "D", "max_points": "7.5"},
                ],
            },
        ],
    }


@pytest.mark.parametrize(("name", "kind"), [("phu-luc-1", "leader"), ("phu-luc-2", "staff")])
def test_hanoi_templates_total_30_with_the_rows_002_shows(name: str, kind: str) -> None:
    template = forms.load_template(HANOI / f"{name}.yaml")
    assert template.kind == kind
    assert sum((r.max_points for r in template.rows), Decimal(0)) == Decimal(30)
    first = template.sections[0]
    assert first.max_points == Decimal(15)
    assert first.title == "Về chính trị, phẩm chất đạo đức và ý thức tổ chức kỷ luật"
    seed = SEED_002.read_text(encoding="utf-8")
    # rows 1.1 and 1.2 are 002's "Mẫu số 03" rows verbatim, 2 points each
    for code in ("1.1", "1.2"):
        row = template.row(code)
        assert row.max_points == Decimal(2)
        assert f"{code}\t{row.text}\t2\t" in seed
    assert template.row("1.3").text.startswith(
        "Giữ gìn phẩm chất đạo đức, lối sống trong sáng, trung thực"
    )
    codes = [r.code for r in template.rows]
    assert len(codes) == len(set(codes))


def test_template_round_trips_through_its_data() -> None:
    template = forms.template_from_data(small())
    again = forms.template_from_data(forms.template_as_data(template))
    assert again == template
    assert template.sections[1].max_points == Decimal(15)  # computed when not declared


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["sections"][1]["rows"][1].update(max_points="6.5"), "sections", "29"),
        (lambda d: d["sections"][0].update(max_points=14), "sections[0].max_points", "15"),
        (
            lambda d: d["sections"][1]["rows"][0].update(code="1.1"),
            "sections[1].rows[0].code",
            "duplicate row code '1.1'",
        ),
        (
            lambda d: d["sections"][0]["rows"][1].update(max_points=0),
            "sections[0].rows[1].max_points",
            "row 1.2",
        ),
        (
            lambda d: d["sections"][0]["rows"][1].update(max_points="0.125"),
            "sections[0].rows[1].max_points",
            "decimals",
        ),
        (
            lambda d: d["sections"][0]["rows"][0].update(max_points=10.0),
            "sections[0].rows[0].max_points",
            "text or integer",
        ),
        (lambda d: d.update(kind="boss"), "kind", "leader, staff"),
        (lambda d: d.update(effective_from="2026-13-01"), "effective_from", "not a date"),
        (lambda d: d["sections"][0]["rows"][0].pop("text"), "sections[0].rows[0].text", "missing"),
        (lambda d: d["sections"][1].update(colour="red"), "sections[1].colour", "unknown"),
        (lambda d: d.update(sections=[]), "sections", "non-empty"),
    ],
)
def test_bad_template_is_refused_naming_the_place(change: Any, field: str, words: str) -> None:
    data = copy.deepcopy(small())
    change(data)
    with pytest.raises(FormError) as caught:
        forms.template_from_data(data)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_bad_template_file_names_file_and_field(tmp_path: Path) -> None:
    text = (HANOI / "phu-luc-2.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("max_points: 3\n", "max_points: 4\n", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        forms.load_template(bad)
    assert caught.value.source == str(bad)
    assert caught.value.field == "sections[0].max_points"  # row 1.7 raised to 4
    assert "rows total 16" in caught.value.reason
    broken = tmp_path / "broken.yaml"
    broken.write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as syntax:
        forms.load_template(broken)
    assert syntax.value.field == "yaml" and syntax.value.line is not None


def full(template: forms.FormTemplate, value: str = "2") -> dict[str, str]:
    return {r.code: min(Decimal(value), r.max_points).to_eng_string() for r in template.rows}


def test_filled_form_is_exact_and_totals_exactly() -> None:
    template = forms.template_from_data(small())
    points = forms.validate_points(template, {"1.1": "9.75", "1.2": 5, "2.1": "7.5", "2.2": "0.1"})
    assert list(points) == ["1.1", "1.2", "2.1", "2.2"]
    assert forms.total(points) == Decimal("22.35")
    assert forms.section_totals(template, points) == {"1": Decimal("14.75"), "2": Decimal("7.6")}
    assert forms.points_as_data(points) == {"1.1": "9.75", "1.2": "5", "2.1": "7.5", "2.2": "0.1"}


@pytest.mark.parametrize(
    ("rows", "field", "words"),
    [
        ({"1.1": 10, "1.2": 5, "2.1": 7, "2.2": 7, "9.9": 1}, "rows.9.9", "no row 9.9"),
        ({"1.1": 10, "2.1": 7}, "rows.1.2", "1.2, 2.2"),
        ({"1.1": 10, "1.2": "5.5", "2.1": 7, "2.2": 7}, "rows.1.2", "0–5"),
        ({"1.1": -1, "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "0–10"),
        ({"1.1": 1.5, "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "text or integer"),
        ({"1.1": True, "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "text or integer"),
        ({"1.1": "abc", "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "not a number"),
        ({"1.1": "NaN", "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "finite"),
        ({"1.1": "1.001", "1.2": 5, "2.1": 7, "2.2": 7}, "rows.1.1", "decimals"),
    ],
)
def test_bad_filled_form_names_the_row(rows: dict[str, Any], field: str, words: str) -> None:
    template = forms.template_from_data(small())
    with pytest.raises(FormError) as caught:
        forms.validate_points(template, rows)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_leaders_fill_phu_luc_1_and_others_phu_luc_2() -> None:
    relation = {
        "unit_heads": {"U1": "H"},
        "evaluatees_of": {"H": ["S", "D"], "D": []},
        "evaluator_of": {"S": ["H"], "D": ["H"], "H": []},
    }
    assert forms.kind_of("H", relation) == "leader"
    assert forms.kind_of("S", relation) == "staff"
    assert forms.kind_of("D", relation) == "staff"  # evaluates nobody
    assert forms.kind_of("M", {"evaluatees_of": {"M": ["S"]}}) == "leader"
    assert forms.kind_of("X", {}) == "staff"


# --- records (001 §V.2) ----------------------------------------------------------------------


def snap(person: str, status: str, score: str | None, final: str | None, **more: Any) -> dict:
    base = {
        "person": person,
        "unit": "U1",
        "period": "2026-06",
        "status": status,
        "suggested_a": "26/33",
        "suggested_b": "97/132",
        "suggested_c": "26/33",
        "self_general": "30",
        "review_general": "30",
        "score": score,
        "grade": final,
        "final_grade": final,
        "flags": [],
        "leader_factors": None,
    }
    return {**base, **more}


def test_task_result_of_the_002_example_and_of_a_head() -> None:
    staff = records.task_result(snap("A", "decided", "83.9", "B"))
    assert staff == {
        "a": "26/33",
        "b": "97/132",
        "c": "26/33",
        "d": None,
        "dd": None,
        "e": None,
        "percent": "77",  # 305/396 = 77.02% (002: "77%")
    }
    head = records.task_result(
        snap(
            "H",
            "decided",
            "80",
            "B",
            leader_factors={"proposed": {"d": True, "dd": False, "e": True}, "confirmed": None},
        )
    )
    assert head is not None and (head["d"], head["dd"], head["e"]) == ("1", "1/2", "1")
    # (305/132 + 1 + 1/2 + 1) / 6 = 0.8018… → 80.2%
    assert head["percent"] == "80.2"
    assert records.task_result(snap("N", "decided", None, None, suggested_a=None)) is None


def test_person_form_shows_rows_self_and_manager_points() -> None:
    template = forms.load_template(HANOI / "phu-luc-2.yaml")
    own = full(template, "3")  # every row at its maximum (2 or 3)
    manager = {**own, "1.1": "1.5"}
    form_ref = {"form": "phu-luc-2", "kind": "staff", "effective_from": "2026-01-01"}
    record = records.person_form(
        snap(
            "A",
            "decided",
            "83.4",
            "B",
            self_rows={**form_ref, "points": own},
            review_rows={**form_ref, "points": manager},
            self_general="30",
            review_general="29.5",
        ),
        template,
        "Nguyễn Văn A",
    )
    assert record["form"]["code"] == "phu-luc-2" and record["name"] == "Nguyễn Văn A"
    first = record["sections"][0]
    assert (first["max_points"], first["self_points"], first["manager_points"]) == (
        "15",
        "15",
        "14.5",
    )
    assert first["rows"][0] == {
        "code": "1.1",
        "text": template.row("1.1").text,
        "max_points": "2",
        "self_points": "2",
        "manager_points": "1.5",
    }
    assert record["general"] == {"max_points": "30", "self_points": "30", "manager_points": "29.5"}
    assert record["task_result"]["percent"] == "77"
    assert (record["grade_label"], record["final_grade_label"]) == (
        "Hoàn thành tốt nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ",
    )
    totals_only = records.person_form(snap("B", "reviewed", None, None), template)
    assert all(r["self_points"] is None for s in totals_only["sections"] for r in s["rows"])
    assert records.person_form(snap("B", "reviewed", None, None), None)["sections"] == []


def test_summary_and_commendation_lists() -> None:
    snaps = [
        snap("C", "published", "95.2", "A"),
        snap("A", "decided", "83.9", "B"),
        snap("E", "decided", "91", "B", grade="A"),  # lowered by the quota
        snap("B", "published", "96.5", "A"),
        snap("D", "reviewed", None, None),
        snap("F", "not_evaluated", None, None, suggested_a=None),
    ]
    summary = records.unit_summary("U1", "2026-06", snaps, {"A": "Nguyễn Văn A"})
    assert [line["person"] for line in summary["lines"]] == ["A", "B", "C", "D", "E", "F"]
    assert [line["no"] for line in summary["lines"]] == [1, 2, 3, 4, 5, 6]
    first = summary["lines"][0]
    assert (first["name"], first["score"], first["task_result"], first["final_grade"]) == (
        "Nguyễn Văn A",
        "83.9",
        "77",
        "B",
    )
    assert summary["by_final_grade"] == {"A": 2, "B": 2, "C": 0, "D": 0}
    assert (summary["undecided"], summary["not_evaluated"], summary["total"]) == (1, 1, 6)
    assert summary["title"].endswith("tháng 06/2026")

    proposed = records.commendation_list("U1", "2026-06", snaps)
    assert [(line["no"], line["person"], line["score"]) for line in proposed["lines"]] == [
        (1, "B", "96.5"),
        (2, "C", "95.2"),
    ]
    assert proposed["lines"][0]["reason"] == "Hoàn thành xuất sắc nhiệm vụ tháng 06/2026"
    assert proposed["total"] == 2
