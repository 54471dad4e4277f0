"""The monthly cycle of the demo on Temporal, the actors acting through the evaluation API
(DOMAIN.md §6; ``001 §II.3``, ``§IV.1``).

A tenant administrator starts the month (``POST /cycles/{period}``); the cycle worker
(``woms worker``) opens everyone's month with the system's suggestion from the tasks ledger.
With the tenant's compressed calendar (``calendar.seconds_per_day``) the deadlines fall 24,
25, 27 and 35 "days" after the start. Then, each actor with their own token:

* :data:`ON_TIME` self-assess and are reviewed by their evaluator before the deadlines;
  outside the Văn phòng their decider decides at once;
* the Văn phòng HĐND và UBND (PL-VP) is decided as a unit by its head P019
  (``POST /units/PL-VP/decision/{period}``) once every month of it is ready — reviewed, or
  past its review deadline: the idle P020 and P024's self-assessments fell back to the system
  score and their reviews escalated — with the excellence quota (A ≤ 20 %, ``001 §II.2.5``):
  the lowest A becomes B. Nobody reviewed the idle members, so P019 enters their
  general-criteria points (:data:`AUTHORITY_GENERAL`; the manager's points count, never a
  default, ``001 §II.1``);
* P022, whose A the quota turned into B, appeals once published; the level above the
  decider (P003) upholds the result;
* everyone else does nothing: the self-assessment falls back to the system score, the review
  and then the decision escalate; once the decision escalated, the decider decides late,
  entering the general-criteria points of the month nobody reviewed
  (:data:`AUTHORITY_GENERAL`).

P001–P003 are decided by city bodies outside the tenant (``relation.decider_external``), each
through the API with the account the tenant file grants ``external_body`` for that body
(``role_grants``; planning's relation names the body an account acts for, ``acting_for``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from woms.demo_api import Api, DemoError

#: person -> (self-assessed general points, reviewed general points), 0–30 (001 §II.1)
ON_TIME: dict[str, tuple[int, int]] = {
    "P021": (28, 30),  # 002's worked example: general 30 → 83.9, B
    "P022": (29, 29),
    "P023": (28, 27),
    "P027": (30, 29),
    "P032": (25, 27),
}
#: General-criteria points (0–30) an authority enters when deciding a month nobody reviewed
#: (``001 §II.1``: the manager's points count; the decision needs them, issue 15).
AUTHORITY_GENERAL = 26
UNIT = "PL-VP"
UNIT_HEAD = "P019"
APPELLANT = "P022"
#: Flags of a month whose review deadline passed (the cycle escalated the review).
REVIEW_PASSED = ("review_escalated", "review_missed")


def ready_for_unit(row: dict[str, Any]) -> bool:
    """Whether a month may be decided with its unit: reviewed, or self-assessed (maybe by the
    fallback) with its review deadline passed (``services.evaluation.unit_service``)."""
    if row["status"] in ("reviewed", "decided"):
        return True
    return row["status"] == "self_assessed" and bool(set(REVIEW_PASSED) & set(row["flags"]))


def general_body(row: dict[str, Any]) -> dict[str, Any]:
    """The decision's body: the authority's general-criteria points when nobody reviewed."""
    return {"general": AUTHORITY_GENERAL} if row.get("review_general") is None else {}


@dataclass
class CycleOutcome:
    """What the cycle did: the run, the late/escalated people, the unit decision."""

    workflow_id: str = ""
    progress: dict[str, Any] = field(default_factory=dict)
    unit_decision: dict[str, Any] = field(default_factory=dict)
    decided_late: list[str] = field(default_factory=list)
    decided_for_bodies: list[str] = field(default_factory=list)
    seconds: float = 0.0


class CyclePlayer:
    """Runs :data:`period`'s cycle; ``say`` prints progress lines."""

    def __init__(
        self,
        api: Api,
        evaluation_url: str,
        period: str,
        seconds_per_day: int,
        say: Callable[[str], None],
        check: Callable[[], None] = lambda: None,
        deadline_days: tuple[int, int, int, int] = (24, 25, 27, 35),
    ) -> None:
        self.api = api
        self.deadline_days = deadline_days
        self.url = evaluation_url
        self.period = period
        self.spd = seconds_per_day
        self.say = say
        self.check = check
        self.outcome = CycleOutcome()
        self._t0 = time.monotonic()  # the cycle's start: its "days" count from there
        self._unit_decided = asyncio.Event()

    # --- HTTP ----------------------------------------------------------------------------

    def _month(self, person: str, step: str = "") -> str:
        tail = f"/{step}" if step else ""
        return f"/tenants/{self.api.tenant}/evaluations/{person}/{self.period}{tail}"

    async def _post(self, http: httpx.AsyncClient, url: str, who: str, body: Any = None) -> Any:
        answer = await http.post(url, headers=self.api.headers(who), json=body or {})
        if answer.status_code != 200:
            raise DemoError(
                f"POST {url} as {who}: {answer.status_code} {answer.text}", answer.status_code
            )
        return answer.json()

    async def _read(self, http: httpx.AsyncClient, person: str) -> dict[str, Any] | None:
        answer = await http.get(
            self._month(person), headers=self.api.headers("admin", "tenant_admin")
        )
        if answer.status_code == 404:  # not opened yet by the workflow
            return None
        if answer.status_code != 200:
            raise DemoError(f"GET {self._month(person)}: {answer.status_code} {answer.text}")
        return dict(answer.json())

    async def _until(
        self, http: httpx.AsyncClient, person: str, ok: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        while True:
            row = await self._read(http, person)
            if row is not None and ok(row):
                return row
            await asyncio.sleep(1.0)

    async def _at(self, days: float) -> None:
        """Sleep until ``days`` compressed days after the cycle's start."""
        await asyncio.sleep(max(0.0, self._t0 + days * self.spd - time.monotonic()))

    # --- actors --------------------------------------------------------------------------

    async def _on_time(
        self, http: httpx.AsyncClient, person: str, relation: dict[str, Any]
    ) -> None:
        """Self-assessment and review before their deadlines (outside PL-VP the decision
        too). On a very slow machine a step may come after its deadline: the API refuses it
        (409), the workflow has moved on, and the demo says so and goes on."""
        self_points, review_points = ON_TIME[person]
        evaluator = relation["evaluator_of"][person][0]
        review = {"general": review_points, "comment": "Hoàn thành tốt nhiệm vụ được giao"}
        await self._until(http, person, lambda r: True)  # opened by the workflow
        steps = [("self-assessment", person, {"general": self_points})]
        steps.append(("review", evaluator, review))
        if person not in relation["unit_members"].get(UNIT, []):  # PL-VP: decided as a unit
            steps.append(("decision", relation["decider_of"][person], {}))
        for step, who, body in steps:
            try:
                await self._post(http, self._month(person, step), who, body)
            except DemoError as error:
                if error.status != 409:
                    raise
                self.say(f"  {person}: {step} quá hạn / after its deadline — {error}")
                return

    async def _unit_decision(self, http: httpx.AsyncClient, relation: dict[str, Any]) -> None:
        members = [p for p in relation["unit_members"][UNIT] if p != UNIT_HEAD]
        await self._at(self.deadline_days[1])  # the idle members' reviews escalate
        rows = {p: await self._until(http, p, ready_for_unit) for p in members}
        general = {p: AUTHORITY_GENERAL for p, row in rows.items() if general_body(row)}
        url = f"/tenants/{self.api.tenant}/units/{UNIT}/decision/{self.period}"
        decision = await self._post(http, url, UNIT_HEAD, {"general": general})
        self.outcome.unit_decision = decision
        self._unit_decided.set()
        demoted = ", ".join(f"{p} ({s})" for p, s in decision.get("demoted", {}).items())
        self.say(
            f"  {UNIT_HEAD} xếp loại đơn vị / decides {UNIT}: {len(decision['decided'])} người, "
            f"tỷ lệ A ≤ {decision['ratio']}; hạ loại theo tỷ lệ / demoted by the quota: "
            f"{demoted or '—'}; điểm tiêu chí chung do người xếp loại nhập / general points "
            f"entered by the decider: {', '.join(sorted(general)) or '—'}"
        )

    async def _appeal(self, http: httpx.AsyncClient, relation: dict[str, Any]) -> None:
        person = APPELLANT
        decider = relation["decider_of"][person]
        authority = relation["evaluator_of"][decider][0]
        await self._unit_decided.wait()
        await self._until(http, person, lambda r: r["status"] == "published")
        reason = {"reason": "Đề nghị xem xét lại việc hạ loại theo tỷ lệ"}
        await self._post(http, self._month(person, "appeal"), person, reason)
        answer = {"upheld": True, "answer": "Giữ nguyên kết quả theo tỷ lệ xuất sắc"}
        await self._post(http, self._month(person, "appeal/answer"), authority, answer)
        self.say(f"  {person} kiến nghị / appeals; {authority} giữ nguyên / upholds")

    async def _late_deciders(
        self, http: httpx.AsyncClient, idle: list[str], relation: dict[str, Any]
    ) -> None:
        waiting = set(idle)
        admin = self.api.headers("admin", "tenant_admin")
        limit = asyncio.Semaphore(6)

        async def decide(row: dict[str, Any]) -> None:
            async with limit:
                await self._decide_late(http, row["person"], relation, general_body(row))

        await self._at(self.deadline_days[2])  # nobody escalates before the decision deadline
        while waiting:
            self.check()
            ready = []
            members = relation.get("unit_members", {})
            for unit in sorted(u for u, people in members.items() if waiting & set(people)):
                answer = await http.get(
                    f"/tenants/{self.api.tenant}/evaluations",
                    params={"unit": unit, "period": self.period},
                    headers=admin,
                )
                if answer.status_code != 200:
                    raise DemoError(f"GET evaluations {unit}: {answer.status_code} {answer.text}")
                for row in answer.json()["items"]:
                    if row["person"] in waiting and "decision_escalated" in row["flags"]:
                        ready.append(row)
            waiting -= {row["person"] for row in ready}
            await asyncio.gather(*(decide(row) for row in ready))
            if waiting:
                await asyncio.sleep(max(1.0, float(self.spd)))

    async def _decide_late(
        self, http: httpx.AsyncClient, person: str, relation: dict[str, Any], body: dict[str, Any]
    ) -> None:
        """The decider (or the account of the external body) decides, with ``body`` (the
        general-criteria points when nobody reviewed)."""
        decider = relation["decider_of"].get(person)
        if decider is not None:
            await self._post(http, self._month(person, "decision"), decider, body)
            self.outcome.decided_late.append(person)
            return
        external = relation["decider_external"][person]
        accounts = {b: subject for subject, b in (relation.get("acting_for") or {}).items()}
        if external not in accounts:
            raise DemoError(f"no account acts for {external!r} (role_grants of the tenant file)")
        await self._post(http, self._month(person, "decision"), accounts[external], body)
        self.outcome.decided_for_bodies.append(person)

    # --- the run -------------------------------------------------------------------------

    async def run(self, relation: dict[str, Any], people: list[str]) -> CycleOutcome:
        """Start the month, let the actors act, wait until every month is done."""
        started_at = time.monotonic()
        admin = self.api.headers("admin", "tenant_admin")
        cycles = f"/tenants/{self.api.tenant}/cycles/{self.period}"
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            refused = await http.post(cycles, headers=self.api.headers(UNIT_HEAD))
            if refused.status_code != 403:
                raise DemoError(f"a staff member started the month: {refused.status_code}")
            started = await http.post(cycles, headers=admin)
            if started.status_code != 200:
                raise DemoError(f"POST {cycles}: {started.status_code} {started.text}")
            run = started.json()
            self._t0 = time.monotonic()
            self.outcome.workflow_id = run["workflow_id"]
            self.say(
                f"  quản trị bắt đầu kỳ / the tenant admin starts the month: {run['workflow_id']} "
                f"({run['status']}); 1 ngày = {self.spd} giây / a day lasts {self.spd}s"
            )
            unit_people = set(relation["unit_members"].get(UNIT, [])) - {UNIT_HEAD}
            idle = [p for p in people if p not in ON_TIME and p not in unit_people]
            actors = [self._on_time(http, p, relation) for p in ON_TIME]
            actors += [self._unit_decision(http, relation), self._appeal(http, relation)]
            actors += [self._late_deciders(http, idle, relation), self._watch(http, people)]
            budget = 90 * self.spd + 300  # generous: a loaded machine slows every activity
            try:
                await asyncio.wait_for(asyncio.gather(*actors), budget)
            except TimeoutError as exc:
                raise DemoError(f"the month did not finish within {budget}s") from exc
            progress = await http.get(cycles, headers=admin)
            self.outcome.progress = progress.json()
        self.outcome.seconds = time.monotonic() - started_at
        return self.outcome

    async def _watch(self, http: httpx.AsyncClient, people: list[str]) -> None:
        """Progress lines every few "days" until every person's workflow completed."""
        admin = self.api.headers("admin", "tenant_admin")
        cycles = f"/tenants/{self.api.tenant}/cycles/{self.period}"
        last = ""
        while True:
            self.check()
            answer = await http.get(cycles, headers=admin)
            if answer.status_code != 200:
                raise DemoError(f"GET {cycles}: {answer.status_code} {answer.text}")
            body = answer.json()
            workflow = body.get("workflow") or {}
            steps = workflow.get("by_step", {})
            line = ", ".join(f"{k} {v}" for k, v in sorted(body["by_status"].items()))
            if line != last:
                day = (time.monotonic() - self._t0) / self.spd
                self.say(f"  ngày / day {day:4.1f}: {line}")
                last = line
            total = workflow.get("total") or len(people)
            if steps.get("completed", 0) + steps.get("failed", 0) >= total and total:
                return
            await asyncio.sleep(max(1.0, self.spd / 2))


def deadline_days(tenant_file: Path, period: str) -> tuple[int, int, int, int]:
    """Days from the period's first day to its four deadlines (self-assessment, review,
    decision, publication) under the tenant file's calendar (``001 §IV.1``; with a compressed
    calendar each lasts ``seconds_per_day`` from the cycle's start)."""
    from services.evaluation.cycle_settings import calendar_of
    from workflows.monthly_cycle.deadlines import deadline_dates, period_start

    data = yaml.safe_load(tenant_file.read_text(encoding="utf-8"))
    calendar = calendar_of({"calendar": data.get("calendar") or {}}, data.get("time_zone"))
    first = period_start(period, calendar)
    sa, rv, dc, pub = ((d - first).days for d in deadline_dates(period, calendar))
    return sa, rv, dc, pub
