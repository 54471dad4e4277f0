"""General-criteria forms by rows and the three records of ``001 §V.2`` through the evaluation
service, on SQLite and PostgreSQL migrated by the real migrations (``conftest.session``)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import dispose_engines, engine_for, transaction
from services.common.errors import InputError
from services.common.settings import Settings
from services.evaluation import forms, repository, service
from services.evaluation.models import outbox
from services.evaluation.service import EvaluationError
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT.parent / "shared" / "golden"
FORMS = ROOT / "data" / "tenants" / "hanoi" / "forms"
TENANT = "mini"
PERIOD = "2026-06"
SEED = json.loads((GOLDEN / "scoring" / "seed002_nguyen_van_a.json").read_text("utf-8"))
LEADER = forms.load_template(FORMS / "phu-luc-1.yaml")
STAFF = forms.load_template(FORMS / "phu-luc-2.yaml")
#: Unit U1: head H evaluates A, B and C (planning's ``/evaluators/policy-data`` shape).
RELATION: dict[str, Any] = {
    "unit_heads": {"U1": "H"},
    "evaluator_of": {"H": [], "A": ["H"], "B": ["H"], "C": ["H"]},
    "evaluatees_of": {"H": ["A", "B", "C"]},
    "unit_members": {"U1": ["H", "A", "B", "C"]},
}
PERFECT = [{"points": 10, "completed": True}]  # a = b = c = 100%


def at_max(template: forms.FormTemplate) -> dict[str, str]:
    return {row.code: str(row.max_points) for row in template.rows}


def installed(session: Session) -> None:
    counts = service.install_templates(session, TENANT, [LEADER, STAFF])
    assert counts == {"form.created": 2, "form.replaced": 0, "form.unchanged": 0}


def test_install_is_idempotent_and_replaces_a_changed_version(session: Session) -> None:
    installed(session)
    again = service.install_templates(session, TENANT, [LEADER, STAFF])
    assert again == {"form.created": 0, "form.replaced": 0, "form.unchanged": 2}
    data = forms.template_as_data(STAFF)
    data["title"] = "Mẫu số 03 (sửa đổi)"
    changed = service.install_templates(session, TENANT, [forms.template_from_data(data)])
    assert changed == {"form.created": 0, "form.replaced": 1, "form.unchanged": 0}
    assert service.form_for(session, "A", PERIOD, RELATION)["title"] == "Mẫu số 03 (sửa đổi)"
    types = list(session.execute(select(outbox.c.type).order_by(outbox.c.seq)).scalars())
    assert types == [
        "vn.woms.evaluation.form_template.created.v1",
        "vn.woms.evaluation.form_template.created.v1",
        "vn.woms.evaluation.form_template.replaced.v1",
    ]
    with pytest.raises(EvaluationError) as twice:
        service.install_templates(session, TENANT, [STAFF, STAFF])
    assert twice.value.field == "templates[1]"


def test_the_form_follows_the_relation_and_the_effective_date(session: Session) -> None:
    installed(session)
    assert service.form_for(session, "H", PERIOD, RELATION)["code"] == "phu-luc-1"
    assert service.form_for(session, "A", PERIOD, RELATION)["code"] == "phu-luc-2"
    assert service.form_for(session, "A", PERIOD, kind="leader")["kind"] == "leader"
    later = forms.template_as_data(STAFF)
    later.update(code="phu-luc-2-2027", effective_from="2027-01-01")
    service.install_templates(session, TENANT, [forms.template_from_data(later)])
    assert service.form_for(session, "A", "2026-12", RELATION)["code"] == "phu-luc-2"
    assert service.form_for(session, "A", "2027-01", RELATION)["code"] == "phu-luc-2-2027"
    with pytest.raises(EvaluationError) as before:
        service.form_for(session, "A", "2025-12", RELATION)
    assert (before.value.status, before.value.field) == (409, "form")
    with pytest.raises(EvaluationError) as unknown:
        service.form_for(session, "A", PERIOD)
    assert unknown.value.field == "relation"


def test_self_assessment_and_review_by_rows(session: Session) -> None:
    installed(session)
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    own = {**at_max(STAFF), "2.4": "2.5"}
    after = service.self_assess(
        session, TENANT, "A", PERIOD, None, "A", rows=own, relation=RELATION
    )
    assert after["self_general"] == "29.5"
    assert after["self_rows"]["form"] == "phu-luc-2"
    assert after["self_rows"]["points"]["2.4"] == "2.5"
    manager = {**at_max(STAFF), "1.1": "1.5", "2.4": "2.25"}
    reviewed = service.review(session, TENANT, "A", PERIOD, None, "Khá", "H", rows=manager)
    assert reviewed["review_general"] == "28.75"  # kind taken from the self-assessed form
    assert reviewed["review_rows"]["points"]["1.1"] == "1.5"
    # a total given later replaces the rows (they would no longer add up to it)
    total = service.review(session, TENANT, "A", PERIOD, 28, None, "H")
    assert total["review_general"] == "28" and "review_rows" not in total
    service.review(session, TENANT, "A", PERIOD, None, "Khá", "H", rows=manager)
    decided = service.decide(session, TENANT, "A", PERIOD, actor="H")
    # 28.75 + 305/396 × 70 = 82.6641… → 82.7
    assert decided["score"] == "82.7" and decided["grade"] == "B"

    steps = service.history(session, "A", PERIOD)
    assert [s.action for s in steps] == ["opened", "self_assessed"] + ["reviewed"] * 3 + ["decided"]
    assert "self_rows" not in steps[1].before
    assert steps[1].after["self_rows"]["points"] == {k: str(Decimal(v)) for k, v in own.items()}
    assert "review_rows" not in steps[2].before
    assert steps[2].after["review_rows"]["points"]["2.4"] == "2.25"
    assert steps[3].before["review_rows"] == steps[2].after["review_rows"]
    assert "review_rows" not in steps[3].after and steps[3].after["review_general"] == "28"


def test_invalid_rows_are_refused_and_nothing_changes(session: Session) -> None:
    installed(session)
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    service.self_assess(session, TENANT, "A", PERIOD, None, "A", rows=at_max(STAFF), kind="staff")
    before = service.snapshot(repository.evaluation_of(session, "A", PERIOD))
    steps = len(service.history(session, "A", PERIOD))
    cases = [
        ({**at_max(STAFF), "1.1": "2.5"}, {}, "rows.1.1", 422),
        ({**at_max(STAFF), "9.1": "1"}, {}, "rows.9.1", 422),
        ({k: v for k, v in at_max(STAFF).items() if k != "2.5"}, {}, "rows.2.5", 422),
        (at_max(STAFF), {"general": 30}, "rows", 422),
        (at_max(STAFF), {"kind": "boss"}, "kind", 422),
        ({**at_max(STAFF), "1.2": 1.5}, {}, "rows.1.2", 422),  # a float is not exact
    ]
    for rows, extra, field, status in cases:
        general = extra.pop("general", None)
        kw = {"relation": RELATION, **extra}
        with pytest.raises(EvaluationError) as refused:
            service.self_assess(session, TENANT, "A", PERIOD, general, "A", rows=rows, **kw)
        assert (refused.value.field, refused.value.status) == (field, status), rows
    with pytest.raises(EvaluationError) as neither:
        service.review(session, TENANT, "A", PERIOD, None, None, "H")
    assert neither.value.field == "general"
    after = service.snapshot(repository.evaluation_of(session, "A", PERIOD))
    assert after == before
    assert len(service.history(session, "A", PERIOD)) == steps


def test_rows_need_an_installed_template(session: Session) -> None:
    service.open_evaluation(session, TENANT, "A", "U1", PERIOD, SEED["tasks"], None)
    with pytest.raises(EvaluationError) as missing:
        service.self_assess(
            session, TENANT, "A", PERIOD, None, "A", rows=at_max(STAFF), relation=RELATION
        )
    assert (missing.value.field, missing.value.status) == ("form", 409)
    assert service.self_assess(session, TENANT, "A", PERIOD, 30, "A")["self_general"] == "30"


def test_the_three_records_of_a_small_unit(session: Session) -> None:
    installed(session)
    names = {"H": "Trần Văn H", "A": "Nguyễn Văn A", "B": "Lê Thị B", "C": "Phạm Văn C"}
    for person, ledger in (("H", PERFECT), ("A", SEED["tasks"]), ("B", PERFECT), ("C", PERFECT)):
        service.open_evaluation(session, TENANT, person, "U1", PERIOD, ledger, None)
    for person in ("H", "A", "B"):
        template = LEADER if person == "H" else STAFF
        service.self_assess(
            session, TENANT, person, PERIOD, None, person, rows=at_max(template), relation=RELATION
        )
        service.review(
            session,
            TENANT,
            person,
            PERIOD,
            None,
            None,
            "H",
            rows=at_max(template),
            relation=RELATION,
        )
        service.decide(session, TENANT, person, PERIOD, actor="H")
    service.self_assess(session, TENANT, "C", PERIOD, 27, "C")  # a total only, not reviewed
    service.publish(session, TENANT, "A", PERIOD, None)

    result = service.unit_records_of(session, "U1", PERIOD, RELATION, names)

    by_person = {f["person"]: f for f in result["person_forms"]}
    a = by_person["A"]
    assert a["form"]["code"] == "phu-luc-2" and a["name"] == "Nguyễn Văn A"
    assert (a["score"], a["grade"], a["final_grade_label"]) == (
        "83.9",
        "B",
        "Hoàn thành tốt nhiệm vụ",
    )  # the worked example of 002
    assert a["task_result"]["percent"] == "77"
    assert a["general"]["manager_points"] == "30"
    assert [s["manager_points"] for s in a["sections"]] == ["15", "15"]
    assert a["sections"][0]["rows"][0]["self_points"] == "2"
    assert by_person["H"]["form"]["code"] == "phu-luc-1"
    c = by_person["C"]
    assert c["general"]["self_points"] == "27" and c["form"]["code"] == "phu-luc-2"
    assert all(r["self_points"] is None for s in c["sections"] for r in s["rows"])

    summary = result["summary"]
    assert [(x["person"], x["score"], x["final_grade"]) for x in summary["lines"]] == [
        ("A", "83.9", "B"),
        ("B", "100", "A"),
        ("C", None, None),
        ("H", "100", "A"),
    ]
    assert summary["by_final_grade"] == {"A": 2, "B": 1, "C": 0, "D": 0}
    assert summary["undecided"] == 1 and summary["total"] == 4

    proposed = result["commendation"]
    assert [(x["person"], x["name"]) for x in proposed["lines"]] == [
        ("B", "Lê Thị B"),
        ("H", "Trần Văn H"),
    ]
    single = service.person_record(session, "A", PERIOD, name="Nguyễn Văn A")
    assert single == a  # the form it was given on, without the relation
    with pytest.raises(EvaluationError) as nobody:
        service.person_record(session, "Z", PERIOD)
    assert nobody.value.status == 404


def test_onboarding_hanoi_installs_its_forms_once(tmp_path: Path) -> None:
    settings = Settings(woms_home=tmp_path)
    path = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
    first = onboard(path, settings, infrastructure=False)
    second = onboard(path, settings, infrastructure=False)
    assert first.forms == {"form.created": 2, "form.replaced": 0, "form.unchanged": 0}
    assert second.forms == {"form.created": 0, "form.replaced": 0, "form.unchanged": 2}
    assert not second.changed, second
    assert (tmp_path / "db").is_dir()  # where the refused onboarding below writes nothing
    with transaction(engine_for("hanoi", "evaluation", settings)) as session:
        leader = service.form_for(session, "P001", PERIOD, kind="leader")
        staff = service.form_for(session, "P002", PERIOD, kind="staff")
    dispose_engines()
    assert leader == forms.template_as_data(LEADER)
    assert staff == forms.template_as_data(STAFF)


def test_onboarding_refuses_a_bad_form_before_writing(tmp_path: Path) -> None:
    tenant = tmp_path / "t" / "tenant.yaml"
    (tmp_path / "t" / "forms").mkdir(parents=True)
    text = (ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml").read_text(encoding="utf-8")
    tenant.write_text(text, encoding="utf-8")
    (tmp_path / "t" / "forms" / "phu-luc-1.yaml").write_text(
        (FORMS / "phu-luc-1.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    staff = (FORMS / "phu-luc-2.yaml").read_text(encoding="utf-8")
    (tmp_path / "t" / "forms" / "phu-luc-2.yaml").write_text(
        staff.replace('code: "2.5"', 'code: "2.4"'), encoding="utf-8"
    )
    home = tmp_path / "home"
    with pytest.raises(InputError) as refused:
        onboard(tenant, Settings(woms_home=home), infrastructure=False)
    assert refused.value.source.endswith("phu-luc-2.yaml")
    assert refused.value.field == "sections[1].rows[4].code"
    assert not (home / "db").exists()  # nothing written
