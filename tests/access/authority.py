"""The authority table of ``docs/authority.md`` as the expected values, and the calls that check
it (issue 15, "How it is checked": "the expected answers come from a table written from the
regulations, not from the policy under test").

:func:`table` and :func:`callers` parse the two machine-readable tables of the document (the
document IS the expected values — nothing here restates them). :data:`ACTIONS` says, for every
action of the table, how to build the object it needs through the services' APIs (as the
people the org chart gives authority to: the head P019 drafts, assigns, reviews and decides;
P022 starts, submits, self-assesses, appeals) and which endpoint the relation's caller then
calls. :func:`run` calls every row that applies and compares each answer with the row:

* ``allowed`` → 2xx, or 409/422 that is not a refusal (the use case refused after the access
  check);
* ``refused`` → 403 with ``{"detail": {"action", "reasons"}}``; 404 for the caller of another
  tenant (``/tenants/hanoi/…`` answers as if nothing were there).

Task actions that change state get a fresh task per call (one caller's success does not change
the next one's precondition); each evaluation action gets its own month of P022 (or of
``PL-VP``) in its own period of 2026, called by the refused callers first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import update

from services.common.auth import Principal
from services.common.db import engine_for, transaction
from services.evaluation import service as evaluation_service
from services.tasks.models import Task
from tests.access.world import PDF, SEED, TENANT, World, headers

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "authority.md"

OWNER, UNIT = "P022", "PL-VP"
HEAD, SUPERIOR = "P019", "P003"
COLLABORATOR, LEGACY_ASSIGNER = "P023", "P024"
UNIT_PEOPLE = ("P019", "P020", "P021", "P022", "P023", "P024")
"""``PL-VP``'s members in 2026 (P025 joins on 2026-07-01; the unit months use these six)."""

EXPECTED = ("allowed", "refused", "n/a")


@dataclass(frozen=True)
class Row:
    action: str
    relation: str
    expected: str
    source: str


def _section(text: str, name: str) -> list[list[str]]:
    """The cells of the Markdown table between ``<!-- name:begin -->`` and ``<!-- name:end -->``
    (header and rule rows dropped)."""
    match = re.search(rf"<!-- {name}:begin -->(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"docs/authority.md has no {name} table"
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in match.group(1).strip().splitlines()
        if line.strip().startswith("|")
    ]
    return [r for r in rows[2:] if r]


def table(path: Path = DOC) -> list[Row]:
    """The authority table's rows, checked for shape (each action × relation once, a known
    expectation, a source)."""
    rows = [Row(*cells[:4]) for cells in _section(path.read_text(encoding="utf-8"), "authority")]
    seen: set[tuple[str, str]] = set()
    for row in rows:
        assert row.expected in EXPECTED, row
        assert row.source, f"{row}: no source"
        assert (row.action, row.relation) not in seen, f"{row}: twice"
        seen.add((row.action, row.relation))
    return rows


def callers(path: Path = DOC) -> dict[str, Principal]:
    """Relation → caller, from the document's callers table."""
    out: dict[str, Principal] = {}
    for cells in _section(path.read_text(encoding="utf-8"), "callers"):
        relation, subject, tenant, roles = cells[:4]
        out[relation] = Principal(tenant, subject, frozenset(r.strip() for r in roles.split(",")))
    return out


# --- calling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    url: str
    json: Any = None


def send(world: World, caller: Principal, call: Call) -> Any:
    kwargs: dict[str, Any] = {"headers": headers(caller)}
    if call.json is not None:
        kwargs["json"] = call.json
    return world.clients[call.service].request(call.method, call.url, **kwargs)


def _who(subject: str) -> Principal:
    return Principal(TENANT, subject, frozenset({"staff"}))


def _ok(world: World, subject: str, call: Call, what: str) -> Any:
    answer = send(world, _who(subject), call)
    if answer.status_code not in (200, 201):
        raise SetupFailed(
            f"{what}: {call.method} {call.url} as {subject} → "
            f"{answer.status_code} {answer.text[:300]}"
        )
    return answer.json()


class SetupFailed(Exception):
    """An object the row needs could not be built through the APIs by the people with
    authority (itself a finding: the org chart's authority was refused)."""


T = f"/tenants/{TENANT}"
_names = count(1)


def task_body(
    lead: str = OWNER, *, collaborators: Iterable[str] = (COLLABORATOR,)
) -> dict[str, Any]:
    return {
        "name": f"Văn bản hành chính số {next(_names)}",
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "regular",
        "lead_unit": UNIT,
        "lead_person": lead,
        "collaborating_people": list(collaborators),
        "start_date": "2026-06-01",
        "due_date": "2026-06-19",
        "output_product": "Văn bản trình ký",
        "quality_criteria": "Đúng thể thức, đúng hạn",
        "catalog_item": "VP-VB-01",
        "quantity": "1",
    }


def draft(
    world: World, by: str = HEAD, lead: str = OWNER, collaborators: Iterable[str] = (COLLABORATOR,)
) -> str:
    body = task_body(lead, collaborators=collaborators)
    return str(_ok(world, by, Call("tasks", "POST", f"{T}/tasks", body), "draft")["code"])


def move(world: World, code: str, action: str, by: str, body: Any = None) -> Any:
    return _ok(world, by, Call("tasks", "POST", f"{T}/tasks/{code}/{action}", body), action)


def assigned(
    world: World, lead: str = OWNER, collaborators: Iterable[str] = (COLLABORATOR,)
) -> str:
    code = draft(world, HEAD, lead, collaborators)
    move(world, code, "assign", HEAD)
    return code


def submitted(
    world: World, lead: str = OWNER, collaborators: Iterable[str] = (COLLABORATOR,)
) -> str:
    code = assigned(world, lead, collaborators)
    move(world, code, "start", lead)
    answer = world.clients["tasks"].post(
        f"{T}/evidence",
        headers=headers(_who(lead)),
        params={"filename": "van-ban.pdf"},
        content=PDF,
    )
    if answer.status_code != 201:
        raise SetupFailed(f"evidence upload as {lead} → {answer.status_code} {answer.text[:300]}")
    move(world, code, "submit", lead, {"evidence_ids": [answer.json()["id"]]})
    return code


def own_draft(world: World, person: str = OWNER) -> str:
    return draft(world, person, person, ())


def proposed(world: World, person: str = OWNER) -> str:
    code = own_draft(world, person)
    move(world, code, "propose", person)
    return code


def legacy_assigner(code: str, assigner: str = LEGACY_ASSIGNER) -> None:
    """Make ``assigner`` the task's assigner and creator, as on a task created before the
    rules of issue 15 (any staff member could create and assign; ``proposed_by`` did not
    exist): the data the old rule left behind."""
    values: dict[str, Any] = {"assigner": assigner}
    if hasattr(Task, "proposed_by"):
        values["proposed_by"] = None
    with transaction(engine_for(TENANT, "tasks")) as s:
        s.execute(update(Task).where(Task.code == code).values(**values))


# --- evaluation months ---------------------------------------------------------------------


def open_month(person: str, period: str, unit: str = UNIT) -> None:
    with transaction(engine_for(TENANT, "evaluation")) as s:
        evaluation_service.open_evaluation(
            s, TENANT, person, unit, period, list(SEED["tasks"]), f"authority:{person}:{period}"
        )


def E(person: str, period: str, step: str = "") -> str:
    return f"{T}/evaluations/{person}/{period}" + (f"/{step}" if step else "")


def self_assessed(world: World, person: str, period: str) -> None:
    _ok(
        world,
        person,
        Call("evaluation", "POST", E(person, period, "self-assessment"), {"general": 25}),
        "self-assessment",
    )


def reviewed(world: World, person: str, period: str, by: str = HEAD) -> None:
    body = {"general": 24, "comment": "Hoàn thành tốt nhiệm vụ"}
    _ok(world, by, Call("evaluation", "POST", E(person, period, "review"), body), "review")


def decided(world: World, person: str, period: str, by: str = HEAD) -> Any:
    return _ok(world, by, Call("evaluation", "POST", E(person, period, "decision"), {}), "decision")


def month_ready(world: World, period: str, person: str = OWNER, *, to: str) -> None:
    """``person``'s month of ``period`` opened and taken to step ``to`` (``opened``,
    ``self_assessed``, ``reviewed``, ``decided``, ``published``, ``appealed``) by the people
    with authority."""
    steps = ["opened", "self_assessed", "reviewed", "decided", "published", "appealed"]
    open_month(person, period)
    upto = steps.index(to)
    if upto >= 1:
        self_assessed(world, person, period)
    if upto >= 2:
        reviewed(world, person, period)
    if upto >= 3:
        decided(world, person, period)
    if upto >= 4:
        _ok(
            world, HEAD, Call("evaluation", "POST", E(person, period, "publication")), "publication"
        )
    if upto >= 5:
        body = {"reason": "Đề nghị xem xét lại điểm tiêu chí chung"}
        _ok(world, person, Call("evaluation", "POST", E(person, period, "appeal"), body), "appeal")


def unit_ready(world: World, period: str, *, decided_too: bool) -> None:
    """``PL-VP``'s month of ``period``: the six members' months self-assessed and reviewed by
    their evaluators (P019 by P003, the others by P019); with ``decided_too`` decided too (the
    unit by P019, P019's month by P003)."""
    for person in UNIT_PEOPLE:
        open_month(person, period)
        self_assessed(world, person, period)
        reviewed(world, person, period, by=SUPERIOR if person == HEAD else HEAD)
    if decided_too:
        _ok(
            world,
            HEAD,
            Call("evaluation", "POST", f"{T}/units/{UNIT}/decision/{period}", {}),
            "unit decision",
        )
        decided(world, HEAD, period, by=SUPERIOR)


# --- the actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """How to check one action: ``prepare(world, relation)`` builds the object (fresh per call
    when ``fresh``, else once for every caller) and returns the state ``call(state)`` needs."""

    prepare: Callable[[World, str], Any]
    call: Callable[[Any], Call]
    fresh: bool = True


def _task_action(
    make: Callable[[World], str], action: str, body: Any = None, path: str | None = None
) -> Action:
    def prepare(world: World, relation: str) -> str:
        code = make(world)
        if relation == "assigner-peer":
            legacy_assigner(code)
        return code

    if action == "edit":
        return Action(prepare, lambda code: Call("tasks", "PATCH", f"{T}/tasks/{code}", body))
    return Action(
        prepare, lambda code: Call("tasks", "POST", f"{T}/tasks/{code}/{path or action}", body)
    )


def _month_action(period: str, to: str, step: str, body: Any) -> Action:
    return Action(
        lambda world, relation: month_ready(world, period, to=to),
        lambda _: Call("evaluation", "POST", E(OWNER, period, step), body),
        fresh=False,
    )


REASON = {"reason": "Thiếu số liệu, đề nghị bổ sung"}

ACTIONS: dict[str, Action] = {
    "task.create-for-other": Action(
        lambda world, relation: None, lambda _: Call("tasks", "POST", f"{T}/tasks", task_body())
    ),
    "task.propose-self": Action(
        lambda world, relation: own_draft(world),
        lambda code: Call("tasks", "POST", f"{T}/tasks/{code}/propose"),
    ),
    "task.assign": _task_action(draft, "assign"),
    "task.accept": _task_action(proposed, "accept"),
    "task.approve": _task_action(submitted, "approve"),
    "task.return": _task_action(submitted, "return", REASON),
    "task.exceeded": _task_action(submitted, "exceeded", {"kind": "innovation"}),
    "task.objective-cause": _task_action(
        submitted, "objective-causes", {"kind": "delay", "why": "Mất điện diện rộng"}
    ),
    "task.cancel": _task_action(assigned, "cancel", {"reason": "Không còn cần thiết"}),
    "task.edit-assigned": _task_action(assigned, "edit", {"quantity": "3"}),
    "evaluation.self_assess": _month_action(
        "2026-01", "opened", "self-assessment", {"general": 25}
    ),
    "evaluation.review": _month_action(
        "2026-02", "self_assessed", "review", {"general": 24, "comment": "Hoàn thành tốt"}
    ),
    "evaluation.decide": _month_action("2026-03", "reviewed", "decision", {}),
    "evaluation.change-grade": _month_action(
        "2026-04",
        "reviewed",
        "decision",
        {"grade": "A", "reason": "Hoàn thành xuất sắc nhiệm vụ đột xuất của phường"},
    ),
    "evaluation.unit-decision": Action(
        lambda world, relation: unit_ready(world, "2026-05", decided_too=False),
        lambda _: Call("evaluation", "POST", f"{T}/units/{UNIT}/decision/2026-05", {}),
        fresh=False,
    ),
    "evaluation.quota": Action(
        lambda world, relation: unit_ready(world, "2026-07", decided_too=True),
        lambda _: Call("evaluation", "POST", f"{T}/units/{UNIT}/quota/2026-07"),
        fresh=False,
    ),
    "evaluation.answer_appeal": _month_action(
        "2026-08", "appealed", "appeal/answer", {"upheld": True, "answer": "Giữ nguyên kết quả"}
    ),
    "evaluation.publication-list": Action(
        lambda world, relation: month_ready(world, "2026-09", to="published"),
        lambda _: Call("evaluation", "GET", f"{T}/units/{UNIT}/results/2026-09"),
        fresh=False,
    ),
    "evaluation.publication-list-unpublished": Action(
        lambda world, relation: month_ready(world, "2026-10", to="decided"),
        lambda _: Call("evaluation", "GET", f"{T}/units/{UNIT}/results/2026-10"),
        fresh=False,
    ),
}


# --- the run -------------------------------------------------------------------------------


def _is_refusal(answer: Any) -> bool:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return False
    return isinstance(detail, dict) and "action" in detail and "reasons" in detail


@dataclass
class Result:
    row: Row
    caller: Principal
    call: Call | None
    status: int | None
    text: str
    ok: bool

    def line(self) -> str:
        where = f"{self.call.method} {self.call.url}" if self.call else "(setup)"
        return (
            f"{self.row.action} × {self.row.relation} ({self.caller.subject}): table "
            f"{self.row.expected}, answered {self.status} on {where} — {self.text[:240]}"
            f"  [source: {self.row.source}]"
        )


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)
    skipped: list[Row] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(1 for r in self.results if r.status is not None)

    @property
    def mismatches(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        relations = {r.row.relation for r in self.results}
        actions = {r.row.action for r in self.results}
        allowed = sum(r.row.expected == "allowed" for r in self.results)
        return (
            f"authority table: {len(self.results) + len(self.skipped)} rows, "
            f"{len(self.skipped)} n/a; {self.calls} calls over {len(actions)} actions × "
            f"{len(relations)} relations ({allowed} allowed by the table, "
            f"{len(self.results) - allowed} refused); {len(self.mismatches)} rows where the "
            f"services disagree with the table"
        )

    def markdown(self) -> str:
        seen = {r.row.relation for r in self.results}
        relations = [rel for rel in callers() if rel in seen]
        cells: dict[str, dict[str, str]] = {}
        for r in self.results:
            mark = ("✓" if r.row.expected == "allowed" else "✗") + str(r.status)
            cells.setdefault(r.row.action, {})[r.row.relation] = mark + ("" if r.ok else " ⚠")
        head = "| action | " + " | ".join(relations) + " |"
        rule = "|---|" + "---|" * len(relations)
        body = [
            f"| {a} | " + " | ".join(c.get(rel, "n/a") for rel in relations) + " |"
            for a, c in cells.items()
        ]
        return "\n".join([head, rule, *body])


def judge(row: Row, caller: Principal, answer: Any) -> bool:
    status = answer.status_code
    if row.expected == "allowed":
        return 200 <= status < 300 or (status in (409, 422) and not _is_refusal(answer))
    if caller.tenant != TENANT:
        return status == 404
    return status == 403 and _is_refusal(answer)


def run(world: World, rows: list[Row], people: dict[str, Principal]) -> Outcome:
    """Call every row that applies (see the module docstring) and judge each answer."""
    outcome = Outcome()
    by_action: dict[str, list[Row]] = {}
    for row in rows:
        if row.expected == "n/a":
            outcome.skipped.append(row)
        else:
            by_action.setdefault(row.action, []).append(row)
    for name, action_rows in by_action.items():
        action = ACTIONS[name]
        ordered = sorted(action_rows, key=lambda r: r.expected == "allowed")  # refused first
        state: Any = None
        if not action.fresh:
            try:
                state = action.prepare(world, "")
            except SetupFailed as exc:
                for row in ordered:
                    outcome.results.append(
                        Result(row, people[row.relation], None, None, str(exc), False)
                    )
                continue
        for row in ordered:
            caller = people[row.relation]
            try:
                here = action.prepare(world, row.relation) if action.fresh else state
            except SetupFailed as exc:
                outcome.results.append(Result(row, caller, None, None, str(exc), False))
                continue
            call = action.call(here)
            answer = send(world, caller, call)
            outcome.results.append(
                Result(
                    row, caller, call, answer.status_code, answer.text, judge(row, caller, answer)
                )
            )
    return outcome


# --- delegation (the second owner of docs/authority.md) ----------------------------------------

DELEGATE, DELEGATE_HEAD, DELEGATE_OWNER, DELEGATE_UNIT = "P027", "P026", "P030", "PL-VHXH"


@dataclass(frozen=True)
class DayRow:
    action: str
    day: str
    expected: str
    source: str


def delegation_rows(path: Path = DOC) -> list[DayRow]:
    rows = [DayRow(*c[:4]) for c in _section(path.read_text(encoding="utf-8"), "delegation")]
    assert all(r.expected in ("allowed", "refused") and r.source for r in rows), rows
    return rows


def _on_day(world: World, day: str) -> Any:
    """Set the tasks app's clock to ``day`` (``services.tasks.api.today``); returns a callable
    that restores it."""
    from datetime import date

    from services.tasks import api as tasks_api

    app = world.clients["tasks"].app
    app.dependency_overrides[tasks_api.today] = lambda: date.fromisoformat(day)
    return lambda: app.dependency_overrides.pop(tasks_api.today, None)


def _vhxh_task(world: World, *, submit: bool) -> str:
    body = {
        **task_body(DELEGATE_OWNER, collaborators=()),
        "lead_unit": DELEGATE_UNIT,
        "catalog_item": "VH-BC-01",
        "start_date": "2026-07-01",
        "due_date": "2026-07-31",
        "output_product": "Báo cáo chuyên đề",
    }
    code = str(
        _ok(world, DELEGATE_HEAD, Call("tasks", "POST", f"{T}/tasks", body), "draft")["code"]
    )
    if not submit:
        return code
    move(world, code, "assign", DELEGATE_HEAD)
    answer = world.clients["tasks"].post(
        f"{T}/evidence",
        headers=headers(_who(DELEGATE_OWNER)),
        params={"filename": "bao-cao.pdf"},
        content=PDF,
    )
    if answer.status_code != 201:
        raise SetupFailed(f"evidence upload → {answer.status_code} {answer.text[:300]}")
    move(world, code, "submit", DELEGATE_OWNER, {"evidence_ids": [answer.json()["id"]]})
    return code


def run_delegation(world: World, rows: list[DayRow]) -> list[str]:
    """Each row on a fresh task, on its day; the rows where the services disagree."""
    calls = {
        "task.assign": (False, "assign", None),
        "task.approve": (True, "approve", None),
        "task.exceeded": (True, "exceeded", {"kind": "innovation"}),
    }
    out = []
    for row in rows:
        submit, path, body = calls[row.action]
        restore = _on_day(world, row.day)
        try:
            code = _vhxh_task(world, submit=submit)
            call = Call("tasks", "POST", f"{T}/tasks/{code}/{path}", body)
            answer = send(world, _who(DELEGATE), call)
        except SetupFailed as exc:
            out.append(f"{row.action} on {row.day}: setup failed — {exc}")
            continue
        finally:
            restore()
        if not judge(Row(row.action, "delegate", row.expected, row.source), _who(DELEGATE), answer):
            out.append(
                f"{row.action} by {DELEGATE} on {row.day}: table {row.expected}, answered "
                f"{answer.status_code} — {answer.text[:240]}  [source: {row.source}]"
            )
    return out
