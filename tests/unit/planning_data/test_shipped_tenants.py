"""The shipped tenant files (``data/tenants/*/tenant.yaml``) load, pass every cross-check and
hold the structure the brief asks for (001 §II.3 roles, 002 goal tree, 003 pilot units)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from services.planning.tenant_file import (
    PERSPECTIVES,
    Calendar,
    ScoringSettings,
    TenantFile,
    cross_check,
    iter_key_results,
)
from tests.unit.planning_data.shipped import TENANT_CODES, tenant_path

MID_YEAR = date(2026, 6, 1)


def titles_on(tenant: TenantFile, day: date) -> list[tuple[str, str, str, str]]:
    """(title, role, unit code, person code) of every post held on ``day``."""
    return [(m.title, m.role, m.unit, p.code) for p in tenant.people for m in p.memberships_on(day)]


def holders(tenant: TenantFile, title: str, day: date = MID_YEAR) -> list[str]:
    return [code for t, _, _, code in titles_on(tenant, day) if t == title]


# ------------------------------------------------------------------------------ both tenants


@pytest.mark.parametrize("code", TENANT_CODES)
def test_file_is_nfc_utf8(code: str) -> None:
    text = tenant_path(code).read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text


def test_loads_and_passes_cross_checks(tenant: TenantFile) -> None:
    assert cross_check(tenant) == []
    # a loaded file revalidates: the same data builds the same model
    assert TenantFile.model_validate(tenant.model_dump()) == tenant


def test_sibling_weights_sum_to_100(tenant: TenantFile) -> None:
    assert tenant.plans
    for plan in tenant.plans:
        assert sum(o.weight for o in plan.objectives) == 100, plan.code
        for objective in plan.objectives:
            assert 1 <= len(objective.key_results) <= 5
            assert sum(k.weight for k in objective.key_results) == 100, objective.code


def test_numbers_are_exact_decimals(tenant: TenantFile) -> None:
    for item in tenant.catalog:
        assert isinstance(item.coefficient, Decimal)
    for _, objective, kr in iter_key_results(tenant):
        assert isinstance(objective.weight, Decimal)
        assert isinstance(kr.target, Decimal) and isinstance(kr.weight, Decimal)
    assert isinstance(tenant.scoring.excellent_quota_ratio, Decimal)


def test_every_unit_has_one_head_at_most_and_people_have_vietnamese_names(
    tenant: TenantFile,
) -> None:
    heads = Counter(u for _, role, u, _ in titles_on(tenant, MID_YEAR) if role == "head")
    assert heads and max(heads.values()) == 1
    accented = [p for p in tenant.people if not p.name.isascii()]
    assert len(accented) >= 0.8 * len(tenant.people)


def test_parent_key_results_point_to_other_plans(tenant: TenantFile) -> None:
    owner = {kr.code: plan.code for plan, _, kr in iter_key_results(tenant)}
    links = [
        (plan.code, o.parent_key_result)
        for plan in tenant.plans
        for o in plan.objectives
        if o.parent_key_result
    ]
    assert links
    for plan_code, kr_code in links:
        assert owner[kr_code] != plan_code


# ------------------------------------------------------------------------------ Hà Nội


def test_hanoi_counts_and_axes(hanoi: TenantFile) -> None:
    assert hanoi.code == "hanoi"
    assert 55 <= len(hanoi.people) <= 65
    axes = {u.axis for u in hanoi.units}
    assert {"party", "council", "committee", "front"} <= axes
    assert "public_service" in axes
    root = hanoi.units[0]
    assert (root.name, root.type, root.parent) == ("Thành phố Hà Nội", "city", None)
    assert hanoi.unit("PL").name == "Phường Phúc Lợi"


ROLES_001 = [
    # (title, expected number of holders on 2026-06-01) — 001 §II.3
    ("Bí thư Đảng ủy phường", 1),
    ("Phó Bí thư thường trực Đảng ủy phường", 1),
    ("Phó Bí thư Đảng ủy, Chủ tịch UBND phường", 1),
    ("Phó Chủ tịch UBND phường", 2),
    ("Chủ tịch HĐND phường", 1),
    ("Phó Chủ tịch HĐND phường", 1),
    ("Trưởng Ban Kinh tế – Ngân sách HĐND phường", 1),
    ("Phó Trưởng Ban chuyên trách Ban Kinh tế – Ngân sách HĐND phường", 1),
    ("Trưởng Ban Văn hóa – Xã hội HĐND phường", 1),
    ("Phó Trưởng Ban chuyên trách Ban Văn hóa – Xã hội HĐND phường", 1),
    ("Chủ tịch Ủy ban MTTQ Việt Nam phường", 1),
    ("Phó Chủ tịch Ủy ban MTTQ Việt Nam phường", 1),
    ("Cán bộ chuyên trách Ủy ban MTTQ", 2),
    ("Chủ tịch Hội Liên hiệp Phụ nữ phường", 1),
    ("Phó Chủ tịch Hội Liên hiệp Phụ nữ phường", 1),
    ("Bí thư Đoàn Thanh niên phường", 1),
    ("Phó Bí thư Đoàn Thanh niên phường", 1),
    ("Chủ tịch Hội Cựu chiến binh phường", 1),
    ("Phó Chủ tịch Hội Cựu chiến binh phường", 1),
    ("Chủ tịch Hội Nông dân phường", 1),
    ("Phó Chủ tịch Hội Nông dân phường", 1),
    ("Chánh Văn phòng Đảng ủy phường", 1),
    ("Trưởng Ban Xây dựng Đảng", 1),
    ("Chánh Văn phòng HĐND và UBND phường", 1),
    ("Trưởng phòng Văn hóa – Xã hội", 1),
    ("Trưởng phòng Kinh tế, Hạ tầng và Đô thị", 1),
    ("Hiệu trưởng Trường Tiểu học Phúc Lợi", 1),
    ("Phó Hiệu trưởng Trường Tiểu học Phúc Lợi", 1),
]


@pytest.mark.parametrize(("title", "count"), ROLES_001)
def test_hanoi_roles_of_001(hanoi: TenantFile, title: str, count: int) -> None:
    assert len(holders(hanoi, title)) == count


def test_hanoi_role_kinds_match_the_units(hanoi: TenantFile) -> None:
    posts = titles_on(hanoi, MID_YEAR)
    by_unit: dict[str, Counter[str]] = {}
    for _, role, unit, _ in posts:
        by_unit.setdefault(unit, Counter())[role] += 1
    for unit in hanoi.units:
        if unit.type in ("party_advisory", "office", "school", "public_service_unit"):
            roles = by_unit[unit.code]
            assert roles["head"] == 1 and roles["deputy"] >= 1 and roles["staff"] >= 2, unit.code
        if unit.type in ("mass_org", "council_committee"):
            assert by_unit[unit.code]["head"] == 1 and by_unit[unit.code]["deputy"] >= 1
    assert by_unit["PL-UBND"]["deputy"] == 2
    teachers = [t for t, role, unit, _ in posts if unit == "PL-THPL" and role == "staff"]
    assert len(teachers) >= 3 and all(t.startswith("Giáo viên") for t in teachers)


def test_hanoi_concurrent_posts_and_mid_year_move(hanoi: TenantFile) -> None:
    secretary = holders(hanoi, "Bí thư Đảng ủy phường")
    assert secretary == holders(hanoi, "Chủ tịch HĐND phường")
    assert {m.unit for m in hanoi.person(secretary[0]).memberships_on(MID_YEAR)} == {
        "PL-DU",
        "PL-HDND",
    }
    movers = [
        p
        for p in hanoi.people
        if len({m.unit for m in p.memberships}) == 2
        and not any(len(p.memberships_on(m.start)) > 1 for m in p.memberships)
    ]
    assert len(movers) == 1
    mover = movers[0]
    before, after = sorted(mover.memberships, key=lambda m: m.start)
    assert before.end is not None and after.start > before.end
    assert date(2026, 2, 1) < after.start < date(2026, 12, 1)
    assert [m.unit for m in mover.memberships_on(date(2026, 3, 1))] == [before.unit]
    assert [m.unit for m in mover.memberships_on(date(2026, 9, 1))] == [after.unit]


def test_hanoi_external_evaluators(hanoi: TenantFile) -> None:
    assert hanoi.unit("PL-DU").head_evaluated_by == "Ban Thường vụ Thành ủy"
    assert hanoi.unit("PL-UBND").head_evaluated_by == "Ban Thường vụ Đảng ủy UBND Thành phố"
    [standing] = holders(hanoi, "Phó Bí thư thường trực Đảng ủy phường")
    overrides = [o for o in hanoi.evaluator_overrides if o.person == standing]
    assert len(overrides) == 1
    assert overrides[0].external == "Thường trực Thành ủy" and overrides[0].evaluator is None


def test_hanoi_catalog(hanoi: TenantFile) -> None:
    codes = Counter(c.code for c in hanoi.catalog)
    assert 15 <= len(codes) <= 25
    assert len({c.unit for c in hanoi.catalog}) >= 3
    assert {c.complexity_group for c in hanoi.catalog} >= {1, 2, 3, 4, 5}
    [versioned] = [code for code, n in codes.items() if n == 2]
    old, new = sorted(
        (c for c in hanoi.catalog if c.code == versioned), key=lambda c: c.effective_from
    )
    assert old.coefficient != new.coefficient
    assert (new.effective_from.year, new.effective_from.month) > (2026, old.effective_from.month)
    assert hanoi.catalog_item(versioned, date(2026, 5, 15)) == old
    assert hanoi.catalog_item(versioned, new.effective_from) == new
    by_code = {c.code: c.coefficient for c in hanoi.catalog if c.effective_from.month == 1}
    assert by_code["VP-VB-01"] == Decimal("1.0")
    assert by_code["VP-BC-01"] == Decimal("2.0")
    assert by_code["VP-DA-01"] == Decimal("8.0")
    assert by_code["VP-VT-01"] == Decimal("0.1") and str(by_code["VP-VT-01"]) == "0.1"


def test_hanoi_city_goal_tree(hanoi: TenantFile) -> None:
    plans = {p.code: p for p in hanoi.plans}
    city = plans["HN-2026"]
    assert city.owner_unit == "HN" and city.period.kind == "year" and city.period.year == 2026
    krs = {k.code: k for o in city.objectives for k in o.key_results}
    grdp = next(k for k in krs.values() if "GRDP" in k.title and k.unit_of_measure == "%")
    assert (grdp.target, grdp.complete_threshold) == (Decimal("8.0"), Decimal("7.5"))
    disbursement = next(k for k in krs.values() if "Giải ngân" in k.title)
    assert disbursement.target == 100
    enterprises = next(k for k in krs.values() if "doanh nghiệp thành lập mới" in k.title)
    assert enterprises.target == 30000
    lower = [k for k in krs.values() if k.direction == "lower"]
    assert any("quá hạn" in k.title and k.target <= 2 for k in lower)
    assert len(krs) >= 6
    assert {o.perspective for o in city.objectives} == set(PERSPECTIVES)
    assert any(o.breakthrough for o in city.objectives)
    assert any(k.current is not None for k in krs.values())


def test_hanoi_cascade(hanoi: TenantFile) -> None:
    plans = {p.code: p for p in hanoi.plans}
    kr_plan = {kr.code: plan.code for plan, _, kr in iter_key_results(hanoi)}
    ward = plans["PL-2026"]
    assert {o.perspective for o in ward.objectives} == set(PERSPECTIVES)
    assert any(o.breakthrough for o in ward.objectives)
    assert sum(kr_plan.get(o.parent_key_result or "") == "HN-2026" for o in ward.objectives) >= 3
    office = [p for p in hanoi.plans if p.owner_unit == "PL-VP" and p.period.kind == "month"]
    person = [p for p in hanoi.plans if p.owner_person and p.period.kind == "month"]
    assert len(office) == 1 and len(person) == 1
    assert any(kr_plan.get(o.parent_key_result or "") == "PL-2026" for o in office[0].objectives)
    assert any(
        kr_plan.get(o.parent_key_result or "") == office[0].code for o in person[0].objectives
    )
    # the person's plan belongs to someone of that office in that month
    owner = hanoi.person(person[0].owner_person or "")
    assert any(m.unit == "PL-VP" for m in owner.memberships_on(date(2026, 5, 15)))


# ------------------------------------------------------------------------------ Thanh Hóa


def test_thanhhoa_shape(thanhhoa: TenantFile) -> None:
    assert thanhhoa.code == "thanhhoa"
    assert 25 <= len(thanhhoa.people) <= 35
    names = {u.name for u in thanhhoa.units}
    assert {
        "Phường Hạc Thành",
        "Phường Đông Sơn",
        "Sở Nội vụ",
        "Sở Khoa học và Công nghệ",
    } <= names
    assert thanhhoa.units[0].type == "province" and thanhhoa.units[0].parent is None
    # 003 says nothing about the calendar or scoring: defaults apply
    assert thanhhoa.calendar == Calendar() and thanhhoa.scoring == ScoringSettings()
    assert 5 <= len({c.code for c in thanhhoa.catalog}) <= 12
    province = next(p for p in thanhhoa.plans if p.owner_unit == "TH")
    kpis = [k for o in province.objectives for k in o.key_results if k.kind == "kpi"]
    assert len(kpis) >= 3
    pilots = next(k for o in province.objectives for k in o.key_results if "thí điểm" in k.title)
    assert pilots.target == 4
    assert any("01/9/2026" in k.title for k in kpis)
    assert any(o.parent_key_result for p in thanhhoa.plans for o in p.objectives)
