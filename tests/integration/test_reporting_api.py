"""The reporting HTTP API on real components: a SQLite reporting database fed through the real
projection code (``services.reporting.ingest.apply_batch``), the tenant ``mini`` onboarded with
its planning database (the evaluator relation read through the planning API), a second tenant
in the registry, bearer tokens from the embedded issuer and the Rego policy
``woms.reporting.authz`` evaluated by regorus.

Expected figures are computed here directly from the events' specification, not by the
reporting code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hobofan_regorus import Engine

from services.common import tenancy
from services.common.auth import issue_token
from services.common.db import transaction
from services.common.events import CloudEvent, topic_for
from services.common.policy import POLICIES_DIR, policy_files
from services.common.settings import get_settings
from services.planning.api import create_app as planning_app
from services.reporting.api import HttpRelations, create_app
from services.reporting.database import reporting_engine
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE
from tests.integration.backends import database_backend
from woms.onboarding import onboard

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"
JUNE, MAY = "2026-06", "2026-05"


@dataclass(frozen=True)
class TaskSpec:
    tenant: str
    task: str
    person: str
    unit: str
    period: str
    group: str
    points: str
    outcome: str  # on_time | late | open | overdue | returned | cancelled


TASKS = [
    TaskSpec("mini", "CV-1", "P03", "PA-VP", JUNE, "trong_tam", "10", "on_time"),
    TaskSpec("mini", "CV-2", "P03", "PA-VP", JUNE, "trong_tam", "7.5", "late"),
    TaskSpec("mini", "CV-3", "P03", "PA-VP", JUNE, "thuong_xuyen", "4.25", "returned"),
    TaskSpec("mini", "CV-4", "P03", "PA-VP", JUNE, "thuong_xuyen", "3", "open"),
    TaskSpec("mini", "CV-5", "P03", "PA-VP", JUNE, "thuong_xuyen", "2", "cancelled"),
    TaskSpec("mini", "CV-6", "P02", "PA-VP", JUNE, "trong_tam", "12", "on_time"),
    TaskSpec("mini", "CV-7", "P02", "PA-VP", JUNE, "thuong_xuyen", "5", "overdue"),
    TaskSpec("mini", "CV-8", "P05", "PA-VHXH", JUNE, "trong_tam", "6", "late"),
    TaskSpec("mini", "CV-9", "P05", "PA-VHXH", JUNE, "trong_tam", "6", "on_time"),
    TaskSpec("mini", "CV-10", "P03", "PA-VP", MAY, "trong_tam", "8", "on_time"),
    TaskSpec("mini", "CV-11", "P03", "PA-VP", MAY, "thuong_xuyen", "4", "on_time"),
    TaskSpec("mini", "CV-12", "P03", "PA-VP", MAY, "trong_tam", "6", "late"),
    TaskSpec("mini", "CV-13", "P03", "PA-VP", "2026-03", "trong_tam", "5", "late"),
    TaskSpec("other", "CV-1", "Q1", "X1", JUNE, "trong_tam", "9", "on_time"),
    TaskSpec("other", "CV-2", "Q1", "X1", JUNE, "trong_tam", "9", "open"),
]

# (tenant, person, unit, period, status, score, grade, final_grade, flags)
EVALUATIONS = [
    ("mini", "P02", "PA-VP", JUNE, "published", "92.0", "A", "A", []),
    ("mini", "P03", "PA-VP", JUNE, "published", "83.9", "B", "B", []),
    ("mini", "P05", "PA-VHXH", JUNE, "self_assessed", None, None, None, ["review_missed"]),
    ("mini", "P02", "PA-VP", MAY, "published", "90.0", "A", "A", []),
    ("mini", "P03", "PA-VP", MAY, "published", "65.0", "C", "C", []),
    ("mini", "P03", "PA-VP", "2026-04", "published", "60.0", "C", "C", []),
    ("mini", "P03", "PA-VP", "2026-03", "published", "55.0", "D", "D", []),
    ("other", "Q1", "X1", JUNE, "published", "75.0", "B", "B", []),
]

ACTIONS = {
    "on_time": [("submitted", False), ("approved", None)],
    "late": [("submitted", True), ("approved", None)],
    "returned": [("submitted", False), ("returned", None), ("submitted", True), ("approved", None)],
    "open": [("started", None)],
    "overdue": [("started", None), ("overdue", None)],
    "cancelled": [("cancelled", None)],
}


def _events() -> list[CloudEvent]:
    events = []
    for t in TASKS:
        base = {
            "task": t.task,
            "lead_person": t.person,
            "lead_unit": t.unit,
            "period": t.period,
            "group": t.group,
            "points": t.points,
        }
        for action, late in [("assigned", None), *ACTIONS[t.outcome]]:
            data = {**base, **({"late": late} if late is not None else {})}
            events.append(
                CloudEvent.of(
                    tenant=t.tenant,
                    service="tasks",
                    entity="task",
                    action=action,
                    subject=t.task,
                    data=data,
                )
            )
    for tenant, person, unit, period, status, score, grade, final, flags in EVALUATIONS:
        events.append(
            CloudEvent.of(
                tenant=tenant,
                service="evaluation",
                entity="evaluation",
                action="published" if status == "published" else "escalated",
                subject=f"{person}/{period}",
                data={
                    "person": person,
                    "unit": unit,
                    "period": period,
                    "status": status,
                    "score": score,
                    "grade": grade,
                    "final_grade": final,
                    "flags": flags,
                },
            )
        )
    return events


def expected_tasks(**where: str) -> dict[str, Any]:
    """The task figures of the tasks matching ``where`` (field = value), computed directly."""
    chosen = [
        t
        for t in TASKS
        if all(getattr(t, k) == v for k, v in where.items()) and t.outcome != "cancelled"
    ]
    done = [t for t in chosen if t.outcome in ("on_time", "late", "returned")]
    return {
        "total": len(chosen),
        "done": len(done),
        "on_time": sum(t.outcome == "on_time" for t in chosen),
        "late": sum(t.outcome in ("late", "returned") for t in chosen),
        "overdue": sum(t.outcome == "overdue" for t in chosen),
        "returned": sum(t.outcome == "returned" for t in chosen),
        "points_assigned": sum((Decimal(t.points) for t in chosen), Decimal(0)),
        "points_completed": sum((Decimal(t.points) for t in done), Decimal(0)),
    }


def _same(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        got = answer[key]
        assert (Decimal(got) if isinstance(value, Decimal) else got) == value, key


@pytest.fixture
def client(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """``mini`` onboarded (registry + planning), ``other`` in the registry, the reporting
    database fed with :func:`_events` through the projections; on SQLite files unless the
    test asks for ``postgresql`` (indirect parameter)."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    with database_backend(getattr(request, "param", "sqlite"), monkeypatch):
        onboard(MINI, infrastructure=False)
        with transaction(tenancy.registry_engine()) as session:
            tenancy.upsert(
                session,
                code="other",
                name="Tỉnh Khác",
                time_zone="Asia/Ho_Chi_Minh",
                config={},
                source_hash="test",
            )
            # the central body of the platform (its grants live in the registry)
            tenancy.grant_platform_role(session, "C0", "central")
        messages = []
        for event in _events():
            messages.append(
                Message(
                    topic_for(event.tenant, event.service),
                    0,
                    len(messages),
                    event.model_dump_json().encode(),
                )
            )
        with reporting_engine().begin() as conn:
            outcomes = apply_batch(conn, LIVE, messages)
        assert set(outcomes) == {"applied"}
        with TestClient(planning_app()) as planning:
            app = create_app(HttpRelations(planning))
            yield TestClient(app)
    get_settings.cache_clear()


def auth(tenant: str, subject: str, *roles: str) -> dict[str, str]:
    token = issue_token(tenant, subject, set(roles) or {"staff"})
    return {"Authorization": f"Bearer {token}"}


# tokens need the temporary WOMS_HOME's keys: build them inside the tests
def tok(tenant: str, subject: str, *roles: str) -> dict[str, str]:
    return auth(tenant, subject, *roles)


# --- task figures ---------------------------------------------------------------------------


def test_task_figures_of_tenant_unit_and_person(client: TestClient) -> None:
    admin = tok("mini", "A1", "tenant_admin")
    whole = client.get(f"/tenants/mini/reports/tasks?period={JUNE}&by=unit", headers=admin)
    assert whole.status_code == 200, whole.text
    body = whole.json()
    _same(body["totals"], expected_tasks(tenant="mini", period=JUNE))
    assert body["covers"] == {
        "tenants": ["mini"],
        "units": [{"tenant": "mini", "unit": "PA-VHXH"}, {"tenant": "mini", "unit": "PA-VP"}],
    }
    for row in body["rows"]:
        _same(row, expected_tasks(tenant="mini", period=JUNE, unit=row["unit"]))
    assert {r["unit"] for r in body["rows"]} == {"PA-VP", "PA-VHXH"}

    head = tok("mini", "P02")
    unit = client.get(f"/tenants/mini/reports/tasks?period={JUNE}&unit=PA-VP", headers=head)
    assert unit.status_code == 200, unit.text
    _same(unit.json()["totals"], expected_tasks(tenant="mini", period=JUNE, unit="PA-VP"))
    for group in unit.json()["by_group"]:
        _same(
            group,
            expected_tasks(tenant="mini", period=JUNE, unit="PA-VP", group=group["task_group"]),
        )
    expected = expected_tasks(tenant="mini", period=JUNE, unit="PA-VP")
    done_percent = (Decimal(expected["done"]) * 100 / expected["total"]).quantize(Decimal("0.1"))
    assert Decimal(unit.json()["totals"]["done_percent"]) == done_percent

    own = client.get(
        f"/tenants/mini/reports/tasks?period={JUNE}&person=P03", headers=tok("mini", "P03")
    )
    assert own.status_code == 200, own.text
    _same(own.json()["totals"], expected_tasks(tenant="mini", period=JUNE, person="P03"))


def test_grades_and_cycle_of_a_unit(client: TestClient) -> None:
    head = tok("mini", "P02")
    grades = client.get(f"/tenants/mini/reports/grades?period={JUNE}&unit=PA-VP", headers=head)
    assert grades.status_code == 200, grades.text
    finals = [e[7] for e in EVALUATIONS if e[0] == "mini" and e[2] == "PA-VP" and e[3] == JUNE]
    totals = grades.json()["totals"]
    assert {g: totals[g] for g in "ABCD"} == {g: finals.count(g) for g in "ABCD"}
    assert Decimal(totals["a_percent"]) == Decimal(finals.count("A") * 100) / len(finals)

    admin = tok("mini", "A1", "tenant_admin")
    cycle = client.get(f"/tenants/mini/reports/cycle?period={JUNE}", headers=admin)
    assert cycle.status_code == 200, cycle.text
    late = [
        {"tenant": e[0], "unit": e[2], "person": e[1], "status": e[4], "flags": e[8]}
        for e in EVALUATIONS
        if e[0] == "mini" and e[3] == JUNE and e[8]
    ]
    assert cycle.json()["late"] == late
    statuses = [e[4] for e in EVALUATIONS if e[0] == "mini" and e[3] == JUNE]
    assert cycle.json()["by_step"]["published"] == statuses.count("published")
    assert cycle.json()["by_step"]["self_assessed"] == statuses.count("self_assessed")


# --- the person's card and profile ---------------------------------------------------------


def test_person_card_for_the_person_and_their_head(client: TestClient) -> None:
    for headers in (tok("mini", "P03"), tok("mini", "P02")):
        answer = client.get(f"/tenants/mini/reports/people/P03/card?period={JUNE}", headers=headers)
        assert answer.status_code == 200, answer.text
        card = answer.json()
        _same(card["tasks"], expected_tasks(tenant="mini", period=JUNE, person="P03"))
        groups = {g["task_group"]: g for g in card["by_group"]}
        assert set(groups) == {"trong_tam", "thuong_xuyen"}
        for name, group in groups.items():
            _same(group, expected_tasks(tenant="mini", period=JUNE, person="P03", group=name))
        assert Decimal(card["evaluation"]["score"]) == Decimal("83.9")
        assert card["evaluation"]["final_grade"] == "B"
        assert card["covers"]["units"] == [{"tenant": "mini", "unit": "PA-VP"}]


def test_competency_profile_across_months(client: TestClient) -> None:
    answer = client.get(
        "/tenants/mini/reports/people/P03/profile?from=2026-01&to=2026-06",
        headers=tok("mini", "P03"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()["profile"]
    months = sorted(
        (e for e in EVALUATIONS if e[0] == "mini" and e[1] == "P03"), key=lambda e: e[3]
    )
    assert [m["record"]["period"] for m in body["months"]] == [e[3] for e in months]
    scores = [Decimal(e[5]) for e in months]
    average = Fraction(sum(scores, Decimal(0))) / len(scores)
    assert Fraction(body["average_score"]) == average
    assert body["months_evaluated"] == len(months)
    late = sum(
        t.outcome in ("late", "returned")
        for t in TASKS
        if t.tenant == "mini" and t.person == "P03" and t.outcome != "cancelled"
    )
    assert body["delays"] == late
    # March D, April C, May C: three low months in a row (000 §IX.1, default streak 3)
    assert body["persistently_low"] is True
    assert body["low_streaks"] == [{"first": "2026-03", "last": "2026-05", "length": 3}]
    assert any("3 tháng liên tiếp" in m for m in body["messages"])


# --- the unit's analysis ---------------------------------------------------------------------


def test_unit_analysis_is_traceable_to_the_figures(client: TestClient) -> None:
    answer = client.get(
        f"/tenants/mini/reports/units/PA-VP/analysis?period={JUNE}", headers=tok("mini", "P02")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["compared_with"] == MAY
    june = expected_tasks(tenant="mini", period=JUNE, unit="PA-VP")
    may = expected_tasks(tenant="mini", period=MAY, unit="PA-VP")

    def n(value: Decimal) -> str:
        return f"{value.normalize():f}"

    overview = body["sentences"][0]["text"]
    assert overview.startswith(
        f"Tháng 6/2026, PA-VP hoàn thành {n(june['points_completed'])}/"
        f"{n(june['points_assigned'])} điểm"
    )
    assert f"{june['on_time']} nhiệm vụ hoàn thành đúng hạn" in overview
    pct = (june["points_completed"] * 100 / june["points_assigned"]).quantize(Decimal("0.1"))
    old = (may["points_completed"] * 100 / may["points_assigned"]).quantize(Decimal("0.1"))
    assert f"từ {n(old)}% xuống {n(pct)}%" in body["text"]
    for sentence in body["sentences"]:  # every number stated is one of its figures
        figures = sentence["figures"].values()
        stated = {str(v) for v in figures if not isinstance(v, list)}
        text = sentence["text"]
        for names in (v for v in figures if isinstance(v, list)):
            for name in names:
                text = text.replace(name, "")
        for number in re.findall(r"\d+(?:\.\d+)?", text):
            assert number in stated, (number, sentence)


# --- additional income -----------------------------------------------------------------------


def test_allocation_sums_to_the_pool_in_proportion_to_scores(client: TestClient) -> None:
    pool = 10_000_001
    answer = client.post(
        "/tenants/mini/reports/units/PA-VP/allocation",
        json={"period": JUNE, "pool": pool},
        headers=tok("mini", "P01"),
    )
    assert answer.status_code == 200, answer.text
    shares = {s["person"]: s for s in answer.json()["shares"]}
    scores = {e[1]: Fraction(e[5]) for e in EVALUATIONS if e[2] == "PA-VP" and e[3] == JUNE}
    assert set(shares) == set(scores)
    assert sum(s["amount"] for s in shares.values()) == pool
    total = sum(scores.values())
    for person, score in scores.items():
        quota = pool * score / total
        assert Fraction(shares[person]["quota"]) == quota
        assert quota - 1 < shares[person]["amount"] < quota + 1

    excluded = client.post(
        "/tenants/mini/reports/units/PA-VP/allocation",
        json={"period": JUNE, "pool": pool, "excluded_grades": ["B"]},
        headers=tok("mini", "A1", "tenant_admin"),
    )
    assert excluded.status_code == 200, excluded.text
    amounts = {s["person"]: s["amount"] for s in excluded.json()["shares"]}
    assert amounts == {"P02": pool, "P03": 0}


def test_allocation_waits_for_publication(client: TestClient) -> None:
    answer = client.post(
        "/tenants/mini/reports/units/PA-VHXH/allocation",
        json={"period": JUNE, "pool": 1000},
        headers=tok("mini", "A1", "tenant_admin"),
    )
    assert answer.status_code == 409
    assert answer.json()["detail"]["pending"] == ["P05"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": JUNE, "pool": -1}, "pool"),
        ({"period": JUNE, "pool": "1000"}, "pool"),
        ({"period": JUNE, "pool": 1.5}, "pool"),
        ({"period": "2026-13", "pool": 1000}, "period"),
        ({"pool": 1000}, "period"),
        ({"period": JUNE, "pool": 1000, "excluded_grades": ["E"]}, "excluded_grades"),
        ({"period": JUNE, "pool": 1000, "excluded_grades": ["A", "B"]}, "excluded_grades"),
    ],
)
def test_allocation_bad_input_names_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = client.post(
        "/tenants/mini/reports/units/PA-VP/allocation",
        json=body,
        headers=tok("mini", "A1", "tenant_admin"),
    )
    assert answer.status_code == 422, answer.text
    assert any(field in d["loc"] for d in answer.json()["detail"]), answer.json()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/tenants/mini/reports/tasks?period=2026-6", "period"),
        ("/tenants/mini/reports/tasks", "period"),
        (f"/tenants/mini/reports/tasks?period={JUNE}&by=group", "by"),
        ("/tenants/mini/reports/people/P03/profile?from=2026-06&to=2026-01", "to"),
        ("/central/rankings?period=2026-06", "tenants"),
        ("/central/rankings?period=2026-06&tenants=mini&axis=height", "axis"),
        ("/central/grades?period=2026-06&tenants=mini&tenants=nowhere", "tenants"),
    ],
)
def test_bad_query_names_the_field(client: TestClient, url: str, field: str) -> None:
    headers = (
        tok("platform", "C0", "central")
        if url.startswith("/central")
        else tok("mini", "A1", "tenant_admin")
    )
    answer = client.get(url, headers=headers)
    assert answer.status_code == 422, answer.text
    assert any(field in d["loc"] for d in answer.json()["detail"]), answer.json()


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "who"),
    [
        ("get", f"/tenants/mini/reports/people/P02/card?period={JUNE}", ("P03",)),
        ("get", f"/tenants/mini/reports/people/P03/card?period={JUNE}", ("P05",)),
        ("get", "/tenants/mini/reports/people/P02/profile?from=2026-01&to=2026-06", ("P03",)),
        ("get", f"/tenants/mini/reports/tasks?period={JUNE}&unit=PA-VP", ("P03",)),
        ("get", f"/tenants/mini/reports/tasks?period={JUNE}&unit=PA-VP", ("P05",)),
        ("get", f"/tenants/mini/reports/grades?period={JUNE}", ("P02",)),
        ("get", f"/tenants/mini/reports/cycle?period={JUNE}&unit=PA-VHXH", ("P02",)),
        ("get", f"/tenants/mini/reports/units/PA-VP/analysis?period={JUNE}", ("P03",)),
        ("post", "/tenants/mini/reports/units/PA-VP/allocation", ("P03",)),
        ("post", "/tenants/mini/reports/units/PA-VP/allocation", ("C1", "central")),
        ("get", f"/central/rankings?period={JUNE}&tenants=mini", ("A1", "tenant_admin")),
        ("get", f"/central/grades?period={JUNE}&tenants=mini", ("P01",)),
        ("get", f"/central/tasks?period={JUNE}&tenants=mini&tenants=other", ("C1", "central")),
    ],
)
def test_wrong_role_gets_403_with_reasons(
    client: TestClient, method: str, url: str, who: tuple[str, ...]
) -> None:
    subject, *roles = who
    kwargs: dict[str, Any] = {"headers": tok("mini", subject, *roles)}
    if method == "post":
        kwargs["json"] = {"period": JUNE, "pool": 1000}
    answer = getattr(client, method)(url, **kwargs)
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"]["reasons"]


def test_superiors_of_the_head_read_the_unit(client: TestClient) -> None:
    # P01 heads the ward PA and evaluates P02, the head of PA-VP (001 §II.3)
    answer = client.get(
        f"/tenants/mini/reports/grades?period={JUNE}&unit=PA-VP", headers=tok("mini", "P01")
    )
    assert answer.status_code == 200, answer.text


def test_another_tenants_token_gets_404(client: TestClient) -> None:
    for headers in (tok("other", "A1", "tenant_admin"), tok("platform", "C0", "central")):
        answer = client.get(f"/tenants/mini/reports/tasks?period={JUNE}", headers=headers)
        assert answer.status_code == 404
        answer = client.get(f"/tenants/mini/reports/people/P03/card?period={JUNE}", headers=headers)
        assert answer.status_code == 404
    assert client.get(f"/tenants/mini/reports/tasks?period={JUNE}").status_code == 401


# --- central bodies --------------------------------------------------------------------------


def test_platform_central_ranks_units_across_two_tenants(client: TestClient) -> None:
    answer = client.get(
        f"/central/rankings?period={JUNE}&tenants=mini&tenants=other&axis=done_percent",
        headers=tok("platform", "C0", "central"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["covers"]["tenants"] == ["mini", "other"]
    pairs = [(u["tenant"], u["unit"]) for u in body["units"]]
    assert {(c["tenant"], c["unit"]) for c in body["covers"]["units"]} == set(pairs)

    def done_percent(tenant: str, unit: str) -> Fraction:
        e = expected_tasks(tenant=tenant, period=JUNE, unit=unit)
        return Fraction(e["done"] * 100, e["total"])

    assert pairs == sorted(pairs, key=lambda p: (-done_percent(*p), p))
    assert {p[0] for p in pairs} == {"mini", "other"}
    assert body["units"][0]["rank"] == 1
    for unit in body["units"]:
        expected = done_percent(unit["tenant"], unit["unit"])
        assert abs(Fraction(unit["value"]) - expected) <= Fraction(1, 20)


def test_platform_roles_come_from_the_registry_not_the_token(client: TestClient) -> None:
    """A platform token claiming ``central`` without a platform grant is refused; a grant
    made with ``woms platform grant`` (the registry) lets it in, a revocation at once shuts
    it out again (platform grants are not cached)."""
    url = f"/central/grades?period={JUNE}&tenants=mini"
    claimed = tok("platform", "C9", "central")
    assert client.get(url, headers=claimed).status_code == 403
    with transaction(tenancy.registry_engine()) as session:
        assert tenancy.grant_platform_role(session, "C9", "central")
    assert client.get(url, headers=claimed).status_code == 200
    with transaction(tenancy.registry_engine()) as session:
        assert tenancy.revoke_platform_role(session, "C9", "central")
    assert client.get(url, headers=claimed).status_code == 403
    # a tenant's grant of ``central`` does not reach across tenants: C1 of mini reads mini only
    across = client.get(f"/central/grades?period={JUNE}&tenants=other", headers=tok("mini", "C1"))
    assert across.status_code == 403


def test_central_sees_aggregates_without_persons(client: TestClient) -> None:
    platform = tok("platform", "C0", "central")
    cycle = client.get(f"/central/cycle?period={JUNE}&tenants=mini&tenants=other", headers=platform)
    assert cycle.status_code == 200, cycle.text
    units = {(u["tenant"], u["unit"]): u for u in cycle.json()["units"]}
    assert units[("mini", "PA-VHXH")]["late_people"] == 1
    assert units[("other", "X1")]["by_step"]["published"] == 1
    people = {e[1] for e in EVALUATIONS} | {t.person for t in TASKS}
    text = json.dumps(cycle.json())
    assert not [p for p in people if f'"{p}"' in text]

    grades = client.get(
        f"/central/grades?period={JUNE}&tenants=mini&tenants=other", headers=platform
    )
    assert grades.status_code == 200, grades.text
    finals = [e[7] for e in EVALUATIONS if e[3] == JUNE]
    assert grades.json()["totals"]["A"] == finals.count("A")
    assert grades.json()["totals"]["B"] == finals.count("B")
    assert grades.json()["totals"]["pending"] == finals.count(None)
    assert grades.json()["covers"]["tenants"] == ["mini", "other"]

    tasks = client.get(
        f"/central/tasks?period={JUNE}&tenants=mini&tenants=other&by=tenant", headers=platform
    )
    assert tasks.status_code == 200, tasks.text
    for row in tasks.json()["rows"]:
        _same(row, expected_tasks(tenant=row["tenant"], period=JUNE))


def test_tenant_central_covers_its_own_tenant(client: TestClient) -> None:
    answer = client.get(
        f"/central/rankings?period={JUNE}&tenants=mini&axis=late_people",
        headers=tok("mini", "C1", "central"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["covers"]["tenants"] == ["mini"]
    assert {u["tenant"] for u in answer.json()["units"]} == {"mini"}
    # fewest late people first
    assert [u["unit"] for u in answer.json()["units"]] == ["PA-VP", "PA-VHXH"]


@pytest.mark.parametrize("client", ["postgresql"], indirect=True)
def test_figures_on_postgresql(client: TestClient) -> None:
    """The same read models and queries on PostgreSQL (exact sums, period ranges)."""
    admin = tok("mini", "A1", "tenant_admin")
    tasks = client.get(f"/tenants/mini/reports/tasks?period={JUNE}&by=unit", headers=admin)
    assert tasks.status_code == 200, tasks.text
    for row in tasks.json()["rows"]:
        _same(row, expected_tasks(tenant="mini", period=JUNE, unit=row["unit"]))
    profile = client.get(
        "/tenants/mini/reports/people/P03/profile?from=2026-01&to=2026-06", headers=admin
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["profile"]["persistently_low"] is True
    ranking = client.get(
        f"/central/rankings?period={JUNE}&tenants=mini&tenants=other",
        headers=tok("platform", "C0", "central"),
    )
    assert ranking.status_code == 200, ranking.text
    assert ranking.json()["covers"]["tenants"] == ["mini", "other"]
    pool = client.post(
        "/tenants/mini/reports/units/PA-VP/allocation",
        json={"period": JUNE, "pool": 999_999},
        headers=admin,
    )
    assert pool.status_code == 200, pool.text
    assert sum(s["amount"] for s in pool.json()["shares"]) == 999_999


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    prefix = "/tenants/{tenant}/reports"
    assert {
        f"{prefix}/tasks",
        f"{prefix}/grades",
        f"{prefix}/cycle",
        f"{prefix}/people/{{person}}/card",
        f"{prefix}/people/{{person}}/profile",
        f"{prefix}/units/{{unit}}/analysis",
        f"{prefix}/units/{{unit}}/allocation",
        "/central/tasks",
        "/central/grades",
        "/central/cycle",
        "/central/rankings",
    } <= paths


# --- the policy's Rego tests cover every line -------------------------------------------------


def test_reporting_policy_is_fully_covered_by_its_rego_tests() -> None:
    policy = POLICIES_DIR / "woms" / "reporting" / "authz.rego"
    tests = POLICIES_DIR / "woms" / "reporting" / "authz_test.rego"
    engine = Engine()
    engine.set_enable_coverage(True)
    for path in [*policy_files(), tests]:
        engine.add_policy_from_file(str(path))
    engine.set_input({})
    names = re.findall(r"^(test_\w+)", tests.read_text(), re.M)
    assert names
    failed = [
        n for n in names if engine.eval_rule(f"data.woms.reporting.authz_test.{n}") is not True
    ]
    assert not failed
    report = json.loads(engine.get_coverage_report_as_json())
    [entry] = [f for f in report["files"] if Path(f["path"]).resolve() == policy.resolve()]
    assert entry["covered"] and not entry["not_covered"], entry["not_covered"]
