"""The goal tree and early warnings of reporting against the planning service itself.

The Hà Nội demo tenant (``data/tenants/hanoi/tenant.yaml``, the city goal tree of ``002``) is
onboarded with its planning database; planning's own use cases (onboarding, push-down,
progress, submit) write their events to planning's outbox; those events go through the real
projection code (``services.reporting.ingest.apply_batch``) into the reporting database; and
the reporting API's answer is compared with what planning's own API answers
(``GET /tenants/hanoi/plans/{code}``) and with planning's roll-up computed directly
(``services.common.goals.rollup``) — "projections match a direct computation from the source
services" (issue 6). One test takes the same events through the real Tansu broker and the
reporting consumer group.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.auth import issue_token
from services.common.db import engine_for, transaction
from services.common.events import CloudEvent, topic_for
from services.common.goals import rollup
from services.common.settings import get_settings
from services.planning import service as planning
from services.planning.api import create_app as planning_app
from services.planning.models import Plan, outbox
from services.reporting.api import HttpRelations, create_app
from services.reporting.database import reporting_engine
from services.reporting.ingest import Message, apply_batch
from services.reporting.models import LIVE
from tests.integration.backends import database_backend
from woms.onboarding import onboard

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
MAY = "2026-05"
TODAY = date(2026, 5, 20)
FOUR = Decimal("0.0001")


def auth(subject: str, *roles: str, tenant: str = "hanoi") -> dict[str, str]:
    token = issue_token(tenant, subject, set(roles) or {"staff"})
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Stack:
    """Planning and reporting apps over the onboarded tenant; ``feed`` applies the planning
    events not applied yet (and extra events) through the projections."""

    planning: TestClient
    reporting: TestClient
    fed: int = 0
    outcomes: list[str] = field(default_factory=list)

    def outbox(self, after: int = 0) -> list[tuple[int, bytes]]:
        with transaction(engine_for("hanoi", "planning")) as s:
            rows = s.execute(
                select(outbox.c.seq, outbox.c.body)
                .where(outbox.c.seq > after)
                .order_by(outbox.c.seq)
            ).all()
        return [(seq, body.encode() if isinstance(body, str) else body) for seq, body in rows]

    def feed(self, extra: Sequence[CloudEvent] = ()) -> list[str]:
        rows = self.outbox(self.fed)
        topic = topic_for("hanoi", "planning")
        messages = [Message(topic, 0, seq, body) for seq, body in rows]
        messages += [
            Message(topic_for(e.tenant, e.service), 1, 10_000 + i, e.model_dump_json().encode())
            for i, e in enumerate(extra)
        ]
        with reporting_engine().begin() as conn:
            outcomes = apply_batch(conn, LIVE, messages)
        if rows:
            self.fed = rows[-1][0]
        self.outcomes += outcomes
        return outcomes

    def tree(self, **params: Any) -> dict[str, Any]:
        query = {"period": MAY, "today": TODAY.isoformat()} | params
        answer = self.reporting.get(
            "/tenants/hanoi/reports/goal-tree", params=query, headers=auth("admin")
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """``hanoi`` onboarded under a fresh ``WOMS_HOME``, on SQLite files unless the test asks
    for ``postgresql`` (indirect parameter)."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    with database_backend(getattr(request, "param", "sqlite"), monkeypatch):
        onboard(HANOI, infrastructure=False)
        with TestClient(planning_app()) as planning_client:
            yield Stack(planning_client, TestClient(create_app(HttpRelations(planning_client))))
    get_settings.cache_clear()


def ratio4(text: str | None) -> Decimal | None:
    """A reporting ratio ``p/q`` as planning writes ratios (4 places, ``_ratio``)."""
    if text is None:
        return None
    f = Fraction(text)
    return (Decimal(f.numerator) / Decimal(f.denominator)).quantize(FOUR)


def dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def assert_same_as_planning(stack: Stack, tree: dict[str, Any]) -> int:
    """Every plan of the answer equals planning's ``GET /plans/{code}?today=``: plan progress
    and evaluation progress, each objective's progress, colour and parent key result, each key
    result's value, progress and achievement. Returns the key results compared."""
    compared = 0
    admin = auth("admin")
    for mine in tree["plans"]:
        answer = stack.planning.get(
            f"/tenants/hanoi/plans/{mine['plan']}",
            params={"today": TODAY.isoformat()},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
        theirs = answer.json()
        assert mine["status"] == theirs["status"], mine["plan"]
        assert ratio4(mine["progress"]) == dec(theirs["progress"]), mine["plan"]
        assert ratio4(mine["evaluation_progress"]) == dec(theirs["evaluation_progress"])
        assert [o["code"] for o in mine["objectives"]] == [o["code"] for o in theirs["objectives"]]
        for o, t in zip(mine["objectives"], theirs["objectives"], strict=True):
            assert ratio4(o["progress"]) == dec(t["progress"]), o["code"]
            assert o["colour"] == t["status_colour"], o["code"]
            assert o["parent_key_result"] == t["parent_key_result"], o["code"]
            assert o["breakthrough"] == t["breakthrough"]
            assert [k["code"] for k in o["key_results"]] == [k["code"] for k in t["key_results"]]
            for k, tk in zip(o["key_results"], t["key_results"], strict=True):
                assert dec(k["current"]) == dec(tk["current"]), k["code"]
                assert ratio4(k["progress"]) == dec(tk["progress"]), k["code"]
                assert k["achievement"] == tk["achievement"], k["code"]
                compared += 1
    return compared


def direct_figures(code: str, today: date) -> tuple[rollup.PlanProgress, rollup.PlanProgress]:
    """Planning's reported and evaluation figures of a plan computed directly from planning's
    database with planning's own roll-up (exact fractions)."""
    with Session(engine_for("hanoi", "planning")) as s:
        plan = s.execute(select(Plan).where(Plan.code == code)).scalar_one()
        specs = [
            planning._spec(s, o, frozenset()) for o in planning.repo.objectives_of_plan(s, plan.id)
        ]
        values: dict[str, Decimal | None] = {}
        for spec in specs:
            values.update(planning._values(s, spec))
        start, end = planning.period_bounds(plan.period_kind, plan.year, plan.number)
        dates = rollup.DateContext(start, end, min(max(today, start), end))
        return (
            rollup.reported_progress(specs, values, dates=dates),
            rollup.evaluation_progress(specs, values, dates=dates),
        )


def assert_exact(tree: dict[str, Any]) -> None:
    """Plan figures and the four perspectives equal planning's roll-up exactly."""
    for mine in tree["plans"]:
        reported, evaluation = direct_figures(mine["plan"], TODAY)
        assert Fraction(mine["progress"]) == reported.progress
        assert Fraction(mine["evaluation_progress"]) == evaluation.progress
        assert Fraction(mine["expected"]) == reported.expected
        assert mine["colour"] == reported.colour.value  # type: ignore[union-attr]
        for axis in mine["perspectives"]:
            key = rollup.Perspective(axis["perspective"])
            for name, figures in (("progress", reported), ("evaluation_progress", evaluation)):
                want = figures.by_perspective[key]
                assert (None if axis[name] is None else Fraction(axis[name])) == want, (
                    mine["plan"],
                    axis["perspective"],
                    name,
                )


# --- the goal tree ---------------------------------------------------------------------------


def test_goal_tree_of_hanoi_equals_planning(stack: Stack) -> None:
    outcomes = stack.feed()
    assert "dead_letter" not in outcomes
    tree = stack.tree()
    plans = [p["plan"] for p in tree["plans"]]
    # May 2026: the city's and the ward's year plans, the office's and P024's May plans
    assert sorted(plans) == ["HN-2026", "P024-2026-05", "PL-2026", "PL-VP-2026-05"]
    assert tree["covers"]["plans"] == plans
    assert assert_same_as_planning(stack, tree) == 35
    assert_exact(tree)

    city = next(p for p in tree["plans"] if p["plan"] == "HN-2026")
    # breakthrough items are marked, reported and left out of the evaluation figures
    breakthrough = [o for o in city["objectives"] if o["breakthrough"]]
    assert [o["code"] for o in breakthrough] == ["HN-O5", "HN-O6"]
    assert all(not o["counted_in_evaluation"] for o in breakthrough)
    assert all(o["evaluation_progress"] is None for o in breakthrough)
    assert city["progress"] != city["evaluation_progress"]
    # the cascade: the ward's PL-O1 serves HN-O1-KR3 and appears below HN-O1
    o1 = next(o for o in city["objectives"] if o["code"] == "HN-O1")
    assert [c["code"] for c in o1["children"]] == ["PL-O1"]
    assert o1["children"][0]["plan"] == "PL-2026"
    # four perspectives, in plan order, with their Vietnamese labels
    assert [a["perspective"] for a in city["perspectives"]] == [
        "citizens",
        "finance",
        "process",
        "learning",
    ]
    assert city["perspectives"][0]["label"].startswith("Đối tượng phục vụ")
    assert city["label"] in ("Đúng tiến độ", "Có nguy cơ chậm", "Chậm tiến độ")

    # one unit's plans only
    office = stack.tree(unit="PL-VP")
    assert [p["plan"] for p in office["plans"]] == ["PL-VP-2026-05"]
    assert office["covers"]["units"] == [{"tenant": "hanoi", "unit": "PL-VP"}]
    # June: the May plans are out, the year plans stay
    june = stack.tree(period="2026-06")
    assert sorted(p["plan"] for p in june["plans"]) == ["HN-2026", "PL-2026"]


def test_late_snapshots_and_bad_plan_events(stack: Stack) -> None:
    """A plan snapshot older than a progress event does not undo its value (they travel on
    different partitions); a plan event the projection cannot read is parked, nothing of it
    written."""
    stack.feed()
    with transaction(engine_for("hanoi", "planning")) as s:
        planning.record_progress(
            s, "hanoi", "HN-O1-KR1", Decimal("7.2"), actor="P003", evidence="BC số 1"
        )
        plan = s.execute(select(Plan).where(Plan.code == "HN-2026")).scalar_one()
        snapshot = planning.plan_snapshot(s, plan)
    stack.feed()
    old = CloudEvent.of(
        tenant="hanoi",
        service="planning",
        entity="plan",
        action="defined",
        subject="HN-2026",
        data=snapshot,
    )
    # the same plan as before the update (HN-O1-KR1 at 6.9), published before it
    snapshot["objectives"][0]["key_results"][0]["current"] = "6.9"
    old = old.model_copy(update={"time": datetime(2026, 1, 1, tzinfo=UTC), "data": snapshot})
    bad = dict(snapshot, objectives=[dict(snapshot["objectives"][0], perspective="people")])
    broken = CloudEvent.of(
        tenant="hanoi",
        service="planning",
        entity="plan",
        action="defined",
        subject="HN-2026",
        data=bad,
    )
    assert stack.feed([old, broken]) == ["applied", "dead_letter"]
    city = next(p for p in stack.tree()["plans"] if p["plan"] == "HN-2026")
    kr1 = city["objectives"][0]["key_results"][0]
    assert (kr1["code"], Decimal(kr1["current"])) == ("HN-O1-KR1", Decimal("7.2"))
    assert len(city["objectives"]) == 6  # the broken snapshot changed nothing
    with reporting_engine().connect() as conn:
        parked = conn.execute(
            select(LIVE.dead_letters.c.reason).where(LIVE.dead_letters.c.event_id == broken.id)
        ).scalar_one()
    assert "data.objectives[0].perspective" in parked
    assert assert_same_as_planning(stack, stack.tree()) == 35


@pytest.mark.parametrize("stack", ["sqlite", "postgresql"], indirect=True)
def test_progress_push_down_and_submit_flow_through_the_events(stack: Stack) -> None:
    stack.feed()
    at = datetime(2026, 5, 12, 8, tzinfo=UTC)
    with transaction(engine_for("hanoi", "planning")) as s:
        # P024-M05-O2 serves PL-O4-KR1, which has no value: its progress now comes from below
        planning.record_progress(
            s,
            "hanoi",
            "P024-M05-O2-KR1",
            Decimal(3),
            actor="P024",
            evidence="BC",
            at=at,
            today=at.date(),  # May's plan closes on 5 June (issue 15)
        )
        # the ward pushes PL-O1-KR2 (no value) down to the People's Committee: a draft plan
        planning.push_down(s, "hanoi", "PL-O1-KR2", ["PL-UBND"], "mandatory", "P003")
    with transaction(engine_for("hanoi", "planning")) as s:
        planning.record_progress(
            s, "hanoi", "PL-UBND-PL-O1-KR2-KR", Decimal(40), actor="P003", evidence="BC", at=at
        )
        planning.decide_plan(s, "hanoi", "PL-UBND-2026-year", "submit", "P003")
    outcomes = stack.feed()
    # progressed ×2, plan.defined of the pushed-down plan, plan.submitted (pushed_down ignored)
    assert outcomes.count("applied") == 4 and "dead_letter" not in outcomes

    tree = stack.tree()
    assert "PL-UBND-2026-year" in tree["covers"]["plans"]
    assert assert_same_as_planning(stack, tree) == 36  # the 35 of the file + the pushed one
    assert_exact(tree)
    ward = next(p for p in tree["plans"] if p["plan"] == "PL-2026")
    kr = {k["code"]: k for o in ward["objectives"] for k in o["key_results"]}
    assert kr["PL-O4-KR1"]["source"] == "children"
    assert Fraction(kr["PL-O4-KR1"]["progress"]) > 0
    assert kr["PL-O1-KR2"]["source"] == "children"
    pushed = next(p for p in tree["plans"] if p["plan"] == "PL-UBND-2026-year")
    assert pushed["status"] == "submitted"
    assert pushed["objectives"][0]["parent_key_result"] == "PL-O1-KR2"

    # redelivering every planning event changes nothing
    stack.fed = 0
    assert set(stack.feed()) == {"duplicate"}
    assert stack.tree() == tree


def test_access_follows_the_reporting_policy(stack: Stack) -> None:
    stack.feed()
    url = "/tenants/hanoi/reports/goal-tree"
    params = {"period": MAY, "today": TODAY.isoformat()}
    staff = stack.reporting.get(url, params=params, headers=auth("P024"))
    assert staff.status_code == 403
    head = stack.reporting.get(url, params=params | {"unit": "PL-VP"}, headers=auth("P019"))
    assert head.status_code == 200, head.text
    other_unit = stack.reporting.get(url, params=params | {"unit": "PL-VHXH"}, headers=auth("P019"))
    assert other_unit.status_code == 403
    foreign = stack.reporting.get(
        url, params=params, headers=auth("X1", "tenant_admin", tenant="mini")
    )
    assert foreign.status_code == 404
    bad = stack.reporting.get(url, params={"period": "2026-13"}, headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "period"
    warned = stack.reporting.get(
        "/tenants/hanoi/reports/warnings", params=params, headers=auth("P024")
    )
    assert warned.status_code == 403
    # a person's own plans: the person and the people above them
    own = params | {"person": "P024"}
    for reader in ("P024", "P019"):
        mine = stack.reporting.get(url, params=own, headers=auth(reader))
        assert mine.status_code == 200, mine.text
        assert [p["plan"] for p in mine.json()["plans"]] == ["P024-2026-05"]
    assert stack.reporting.get(url, params=own, headers=auth("P009")).status_code == 403
    warned = stack.reporting.get(
        "/tenants/hanoi/reports/warnings", params=own, headers=auth("P024")
    )
    assert warned.status_code == 200, warned.text
    assert warned.json()["covers"]["plans"] == ["P024-2026-05"]


# --- early warnings --------------------------------------------------------------------------


def _task_events(today: date) -> list[CloudEvent]:
    """Tasks of the office (PL-VP) in May, as the tasks service emits them (with due dates)."""

    def event(action: str, task: str, due: str, **extra: Any) -> CloudEvent:
        return CloudEvent.of(
            tenant="hanoi",
            service="tasks",
            entity="task",
            action=action,
            subject=task,
            data={
                "task": task,
                "lead_person": "P024",
                "lead_unit": "PL-VP",
                "period": MAY,
                "group": "trong_tam",
                "points": "5",
                "due_date": due,
            }
            | extra,
        ).model_copy(update={"time": datetime(2026, 5, 18, 9, tzinfo=UTC)})

    return [
        event("assigned", "CV-1", "2026-05-22"),  # overdue on the 27th
        event("assigned", "CV-2", "2026-05-29"),  # due in 2 working days, progress 0
        event("assigned", "CV-3", "2026-05-29"),
        event("submitted", "CV-3", "2026-05-29", late=False),  # handed over
        event("assigned", "CV-4", "2026-05-22"),
        event("submitted", "CV-4", "2026-05-22", late=False),
        event("approved", "CV-4", "2026-05-22"),  # done
        event("assigned", "CV-5", "2026-06-20", period="2026-06"),  # a June task
    ]


def test_early_warnings_from_the_read_models(stack: Stack) -> None:
    with transaction(engine_for("hanoi", "planning")) as s:
        # PL-VP-M05-O2-KR1 (target 100 %, no value): 40, 46, 52 on the 4th, 8th, 12th —
        # 1.5 points a day, so 80.5 on the 31st: below the target
        for day, value in ((4, 40), (8, 46), (12, 52)):
            planning.record_progress(
                s,
                "hanoi",
                "PL-VP-M05-O2-KR1",
                Decimal(value),
                actor="P019",
                evidence="Báo cáo",
                at=datetime(2026, 5, day, 8, tzinfo=UTC),
                today=date(2026, 5, day),  # May's plan closes on 5 June (issue 15)
            )
    today = date(2026, 5, 27)
    outcomes = stack.feed(_task_events(today))
    assert "dead_letter" not in outcomes
    answer = stack.reporting.get(
        "/tenants/hanoi/reports/warnings",
        params={"period": MAY, "unit": "PL-VP", "today": today.isoformat()},
        headers=auth("P019"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    found = {(w["kind"], w["code"]) for w in body["warnings"]}

    # tasks: CV-1 overdue (3 working days: 25, 26, 27), CV-2 due soon (28, 29) at 0 %;
    # CV-3 submitted, CV-4 approved, CV-5 of June: none
    assert ("overdue", "CV-1") in found and ("due_soon", "CV-2") in found
    assert not {code for _, code in found} & {"CV-3", "CV-4", "CV-5"}
    overdue = next(w for w in body["warnings"] if w["code"] == "CV-1")
    assert overdue["figures"]["working_days_late"] == 3
    assert "quá hạn 3 ngày làm việc" in overdue["message"]

    # the key result with a falling-short trend: least squares through (0, 40), (4, 46),
    # (8, 52): slope 3/2 a day, at the 31st (day 27) 40 + 27 × 3/2 = 80.5 < 100
    miss = next(
        w
        for w in body["warnings"]
        if w["kind"] == "projected_miss" and w["code"] == "PL-VP-M05-O2-KR1"
    )
    assert Fraction(miss["figures"]["projected"]) == Fraction(161, 2)
    assert Fraction(miss["figures"]["slope_per_day"]) == Fraction(3, 2)
    assert "80.5" in miss["message"]
    # it is also due within 3 working days (28, 29) at 52 %, above the 50 % threshold: no
    # due-soon warning; PL-VP-M05-O3-KR1 at 97 % neither
    assert ("due_soon", "PL-VP-M05-O2-KR1") not in found
    # no progress since the 12th: 15 days > 7
    stale = next(
        w for w in body["warnings"] if w["kind"] == "no_update" and w["code"] == "PL-VP-M05-O2-KR1"
    )
    assert stale["figures"]["days_without_update"] == 15
    assert body["counts"]["projected_miss"] == sum(
        w["kind"] == "projected_miss" for w in body["warnings"]
    )
    assert body["covers"]["plans"] == ["PL-VP-2026-05"]


# --- through the broker ------------------------------------------------------------------------


def test_goal_tree_through_the_broker(stack: Stack, kafka_bootstrap: str) -> None:
    """The planning events published to the real Tansu broker and applied by the reporting
    consumer group give the goal tree planning's API answers. The events are published under a
    fresh tenant code (the broker lives for the whole pytest session, and other tests may
    publish ``hanoi`` events), then the answer is compared with planning's for ``hanoi``."""
    from kafka import KafkaProducer

    from services.reporting import goals
    from services.reporting.api import plain
    from services.reporting.consumer import ReportingConsumer, tenants_pattern
    from services.reporting.rebuild import rebuild
    from woms.onboarding import ensure_topics

    code = f"gt{time.time_ns() % 10**12:012d}"
    ensure_topics(kafka_bootstrap, code)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    events = [CloudEvent.model_validate_json(body) for _, body in stack.outbox()]
    for event in events:
        renamed = event.model_copy(update={"tenant": code, "source": f"/woms/{code}/planning"})
        producer.send(
            topic_for(code, "planning"),
            key=renamed.subject.encode(),
            value=renamed.model_dump_json().encode(),
        )
    producer.flush()
    producer.close()
    engine = reporting_engine()
    consumer = ReportingConsumer(
        engine, kafka_bootstrap, group_id=f"{code}-reporting", pattern=tenants_pattern([code])
    )
    applied = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            applied += consumer.poll_once(timeout_ms=1000)
            if applied >= len(events) and consumer.caught_up():
                break
    finally:
        consumer.close()
    assert applied == len(events)
    with engine.connect() as conn:
        tree = plain(goals.goal_tree(conn, code, MAY, TODAY))
        plans = conn.execute(
            select(func.count())
            .select_from(LIVE.goal_plans)
            .where(LIVE.goal_plans.c.tenant == code)
        ).scalar()
    assert plans == 4 and len(tree["plans"]) == 4
    assert assert_same_as_planning(stack, tree) == 35
    assert_exact(tree)

    # rebuilt from the beginning of the topics into new tables and swapped in: the same tree
    report = rebuild(engine, kafka_bootstrap, tenants=[code], timeout_s=120)
    assert report.rows["goal_plans"] == 4 and report.rows["goal_key_results"] == 35
    with engine.connect() as conn:
        assert plain(goals.goal_tree(conn, code, MAY, TODAY)) == tree
