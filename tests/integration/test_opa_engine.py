"""One policy interface, two engines: regorus in-process and OPA over HTTP (opa-python-client).

The HTTP engine is exercised against ``services.common.opa_server`` — the OPA-REST-compatible
server WOMS ships (regorus behind the OPA REST Data API) — started with uvicorn in a thread;
the real policies are uploaded through ``opa-python-client``. Real OPA is not run here (no OPA
binary is available from a package registry on this machine); see ``docs/policies.md``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from opa_client import OpaClient
from opa_client.errors import DeletePolicyError, PolicyNotFoundError, RegoParseError

from services.common import web
from services.common.auth import Principal
from services.common.opa_server import serve_in_thread
from services.common.policy import (
    POLICIES_DIR,
    OpaEngine,
    PolicyEngine,
    PolicyError,
    PolicyEvaluator,
    PolicyUnavailable,
    policy_engine,
    policy_files,
)
from services.common.settings import Settings, get_settings
from tests.integration.evaluation_chart import (
    ACTIONS,
    CITY_BODIES,
    body,
    people,
    posts,
    relation,
    request,
    staff,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def opa_url() -> Iterator[str]:
    """Base URL of a policy server running for this module; ``WOMS_TEST_OPA_URL`` points the
    engine comparisons at another server instead (e.g. a real ``opa run --server``)."""
    external = os.environ.get("WOMS_TEST_OPA_URL", "").strip()
    if external:
        yield external
        return
    with serve_in_thread() as url:
        yield url


@pytest.fixture(scope="module")
def opa(opa_url: str) -> Iterator[OpaEngine]:
    """The HTTP engine, the real policies uploaded through opa-python-client."""
    engine = OpaEngine(opa_url)
    yield engine
    engine.close()


@pytest.fixture
def regorus() -> PolicyEngine:
    """A fresh embedded engine in the test's thread (regorus engines are bound to it)."""
    return PolicyEngine()


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A URL where nothing listens: a bound, never listening socket refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class Mismatches:
    """Inputs on which the engines disagree, and how often each package allowed or denied."""

    def __init__(self) -> None:
        self.found: list[tuple[str, dict[str, Any], Any, Any]] = []
        self.allowed = 0
        self.denied = 0

    def compare(
        self, regorus: PolicyEngine, opa: OpaEngine, package: str, inp: dict[str, Any]
    ) -> None:
        """Compare ``allow`` (identical) and ``reasons`` (equal as sets) of ``package``."""
        allow, opa_allow = (e.evaluate(f"data.{package}.allow", inp) for e in (regorus, opa))
        if opa_allow is not allow:
            self.found.append(("allow", _brief(inp), allow, opa_allow))
        reasons, opa_reasons = (e.evaluate(f"data.{package}.reasons", inp) for e in (regorus, opa))
        if not isinstance(opa_reasons, list) or set(opa_reasons) != reasons:
            self.found.append(("reasons", _brief(inp), reasons, opa_reasons))
        if allow:
            self.allowed += 1
        else:
            self.denied += 1

    def check(self) -> None:
        assert not self.found, f"{len(self.found)} disagreements, first: {self.found[:3]}"
        assert self.allowed and self.denied, "the cases must include allows and denials"


def _brief(inp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inp.items() if k != "relation"}


# --- loading ------------------------------------------------------------------------------


def test_real_policies_are_uploaded_through_the_client(opa: OpaEngine, opa_url: str) -> None:
    client = OpaClient(host="127.0.0.1", port=int(opa_url.rsplit(":", 1)[1]))
    expected = {p.relative_to(POLICIES_DIR).as_posix(): p for p in policy_files()}
    assert set(client.get_policies_list()) == set(expected)
    assert not any(name.endswith("_test.rego") for name in expected)
    for policy_id, path in expected.items():
        assert client.get_policy(policy_id)["result"]["raw"] == path.read_text()
    client.close_connection()


def test_smoke_policy_is_decided_alike(regorus: PolicyEngine, opa: OpaEngine) -> None:
    owner = {"subject": "an", "owner": "an"}
    other = {"subject": "binh", "owner": "an"}
    assert opa.evaluate("data.woms.smoke.allow", owner) is True
    assert opa.evaluate("data.woms.smoke.reasons", owner) == []
    assert opa.evaluate("data.woms.smoke.allow", other) is False
    assert opa.evaluate("data.woms.smoke.reasons", other) == ["subject is not the owner"]
    for inp in (owner, other, {"owner": "an"}):
        assert opa.evaluate("data.woms.smoke.allow", inp) is regorus.evaluate(
            "data.woms.smoke.allow", inp
        )
        assert set(opa.evaluate("data.woms.smoke.reasons", inp)) == regorus.evaluate(
            "data.woms.smoke.reasons", inp
        )


# --- the evaluation chart (Phúc Lợi) --------------------------------------------------------


def _chart_cases(person: str) -> list[dict[str, Any]]:
    """Every action on ``person`` (at each of their posts) by everyone the chart tests single
    out for them: the person, evaluators, decider and the decider's evaluators, their own
    evaluatees, one unrelated colleague, tenant_admin, central, the city bodies (and a clerk
    claiming one), and callers of another tenant."""
    rel = relation()
    decider = rel["decider_of"].get(person)
    related = {person, *rel["evaluator_of"][person], *rel["evaluatees_of"].get(person, [])}
    if decider:
        related |= {decider, *rel["evaluator_of"][decider]}
    unrelated = next(p for p in people() if p not in related)
    principals = [staff(s) for s in sorted(related | {unrelated})]
    principals += [
        {**staff("A"), "roles": ["tenant_admin"]},
        {**staff("C"), "roles": ["central"]},
        *(body(name) for name in CITY_BODIES.values()),
        {**staff(unrelated), "body": next(iter(CITY_BODIES.values()))},
        staff(person, tenant_code="thanhhoa"),
        {"tenant": "thanhhoa", "subject": person, "roles": ["tenant_admin", "central"]},
        {**body(next(iter(CITY_BODIES.values()))), "tenant": "thanhhoa"},
    ]
    return [
        request(principal, action, person, unit)
        for unit in posts(person)
        for action in ACTIONS
        for principal in principals
    ]


@pytest.mark.parametrize("person", people())
def test_evaluation_chart_is_decided_alike(
    regorus: PolicyEngine, opa: OpaEngine, person: str
) -> None:
    seen = Mismatches()
    for inp in _chart_cases(person):
        seen.compare(regorus, opa, "woms.evaluation.authz", inp)
    seen.check()


# --- planning and tasks ---------------------------------------------------------------------

_PRINCIPALS = [
    {"tenant": "hanoi", "subject": s, "roles": ["staff"]} for s in ("P1", "P2", "P3", "P4", "P5")
] + [
    {"tenant": "hanoi", "subject": "A", "roles": ["tenant_admin"]},
    {"tenant": "hanoi", "subject": "C", "roles": ["central"]},
    {"tenant": "hanoi", "subject": "service:tasks", "roles": ["service"]},
    {"tenant": "hanoi", "subject": "system:hrm", "roles": ["system"]},
    {"tenant": "hanoi", "subject": "system:other", "roles": ["system"]},
    {"tenant": "thanhhoa", "subject": "P1", "roles": ["staff", "tenant_admin"]},
]
"""P1 owns/leads, P2 heads the owning unit, P3 approves/assigns, P4 is a member or
collaborator, P5 is unrelated."""

_PLANNING_ACTIONS = [
    *("unit.read", "person.read", "evaluator.read", "catalog.read", "plan.read"),
    *("progress.read", "org.export", "org.template", "org.import", "plan.submit", "plan.edit"),
    *("plan.approve", "plan.return", "progress.record", "progress.ingest", "plan.delete"),
]
_PLANNING_RESOURCES: list[dict[str, Any]] = [
    {},
    {"system": "hrm"},
    {  # a personal plan of P1 (approved by P1's evaluator P3)
        "owner_person": "P1",
        "owner_unit_heads": [],
        "owner_unit_members": [],
        "approvers": ["P3"],
    },
    {  # a unit plan of P2's unit (approved by the parent unit's head P3)
        "owner_person": None,
        "owner_unit_heads": ["P2"],
        "owner_unit_members": ["P2", "P4"],
        "approvers": ["P3"],
    },
    {  # a head approving inside their own unit: denied as approving their own plan
        "owner_person": "P3",
        "owner_unit_heads": ["P2"],
        "owner_unit_members": ["P2", "P3"],
        "approvers": ["P3"],
    },
]
_TASKS_ACTIONS = [
    *("task.create", "evidence.upload", "task.read", "task.edit", "task.assign", "task.cancel"),
    *("pushback.answer", "task.start", "task.submit", "task.progress", "pushback.create"),
    *("task.approve", "task.return", "cause.confirm", "exceeded.mark", "rating.write"),
    *("ledger.read", "calendar.read", "warnings.read", "rating.read", "calendar.write"),
    *("rating.raters", "overdue.sweep", "task.delete"),
]
_TASKS_RESOURCES: list[dict[str, Any]] = [
    {},
    {  # a task P3 assigned to P1 (lead) with P4 collaborating; P2 heads the lead unit
        "assigner": "P3",
        "lead_person": "P1",
        "lead_unit": "U1",
        "collaborating_people": ["P4"],
        "viewers": ["P1", "P2", "P3", "P4"],
        "authorities": ["P2", "P3"],
    },
    {  # a task the head P2 leads himself
        "assigner": "P3",
        "lead_person": "P2",
        "lead_unit": "U1",
        "collaborating_people": [],
        "viewers": ["P2", "P3"],
        "authorities": ["P2", "P3"],
    },
    {"person": "P1", "superiors": ["P2", "P3"]},
]


@pytest.mark.parametrize(
    ("package", "actions", "resources"),
    [
        ("woms.planning.authz", _PLANNING_ACTIONS, _PLANNING_RESOURCES),
        ("woms.tasks.authz", _TASKS_ACTIONS, _TASKS_RESOURCES),
    ],
    ids=["planning", "tasks"],
)
def test_planning_and_tasks_are_decided_alike(
    regorus: PolicyEngine,
    opa: OpaEngine,
    package: str,
    actions: list[str],
    resources: list[dict[str, Any]],
) -> None:
    seen = Mismatches()
    for action in actions:
        for principal in _PRINCIPALS:
            for resource in resources:
                inp = {"tenant": "hanoi", "action": action, "principal": principal}
                seen.compare(regorus, opa, package, {**inp, "resource": resource})
    seen.check()


def test_web_context_decides_alike_through_either_engine(
    opa_url: str, opa: OpaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Context.allowed`` / ``authorize`` (what every API uses) with and without OPA_URL."""
    cases = [
        (Principal("hanoi", "P1", frozenset({"staff"})), "org.import"),
        (Principal("hanoi", "A", frozenset({"tenant_admin"})), "org.import"),
        (Principal("hanoi", "P1", frozenset({"staff"})), "unit.read"),
        (Principal("thanhhoa", "P1", frozenset({"staff"})), "unit.read"),
    ]

    def decisions() -> list[tuple[bool, Any]]:
        out = []
        for principal, action in cases:
            ctx = web.Context("hanoi", principal, {}, "Phúc Lợi", "planning")
            try:
                ctx.authorize(action)
                out.append((ctx.allowed(action), None))
            except HTTPException as exc:
                out.append((ctx.allowed(action), (exc.status_code, exc.detail)))
        return out

    monkeypatch.delenv("OPA_URL", raising=False)
    get_settings.cache_clear()
    embedded = decisions()
    monkeypatch.setenv("OPA_URL", opa_url)
    get_settings.cache_clear()
    try:
        assert not isinstance(web.policies(), PolicyEngine)  # the shared OPA engine
        assert decisions() == embedded
    finally:
        get_settings.cache_clear()
    assert [allowed for allowed, _ in embedded] == [False, True, True, False]
    assert embedded[0][1] == (
        403,
        {"action": "org.import", "reasons": ["cần quyền quản trị / tenant_admin role required"]},
    )


# --- undefined rules, the factory --------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "inp"),
    [
        ("data.woms.lib.same_tenant", {}),  # input.principal missing
        ("data.woms.lib.is_system", {"principal": {"subject": "P001"}}),
        ("data.woms.lib.staff", {"tenant": "hanoi", "principal": {"tenant": "x"}}),
    ],
)
def test_an_undefined_rule_is_none_in_both_engines(
    regorus: PolicyEngine, opa: OpaEngine, rule: str, inp: dict[str, Any]
) -> None:
    assert regorus.evaluate(rule, inp) is None
    assert opa.evaluate(rule, inp) is None
    # and the same rule is defined when its body holds
    if rule.endswith("is_system"):
        system = {"principal": {"subject": "system:cycle"}}
        assert regorus.evaluate(rule, system) is opa.evaluate(rule, system) is True


def test_the_factory_chooses_the_engine_from_opa_url(opa_url: str, tmp_path: Path) -> None:
    assert isinstance(policy_engine(Settings(woms_home=tmp_path, opa_url=None)), PolicyEngine)
    assert isinstance(policy_engine(Settings(woms_home=tmp_path, opa_url="  ")), PolicyEngine)
    chosen = policy_engine(Settings(woms_home=tmp_path, opa_url=opa_url), upload=False)
    assert isinstance(chosen, OpaEngine)
    assert isinstance(chosen, PolicyEvaluator)
    assert isinstance(PolicyEngine(), PolicyEvaluator)
    assert chosen.evaluate("data.woms.smoke.allow", {"subject": "a", "owner": "a"}) is True


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8181", "ftp://opa:8181", "http://opa:8181/v1", "http://:8181"]
)
def test_a_malformed_opa_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="OPA_URL"):
        OpaEngine(url, upload=False)


# --- OPA down -----------------------------------------------------------------------------


def test_opa_unreachable_is_policy_unavailable(dead_url: str) -> None:
    with pytest.raises(PolicyUnavailable, match="unavailable while uploading"):
        OpaEngine(dead_url)
    engine = OpaEngine(dead_url, upload=False)  # policies expected from a bundle
    assert not engine.healthy()
    with pytest.raises(PolicyUnavailable, match="unavailable while evaluating"):
        engine.evaluate("data.woms.smoke.allow", {})


def test_opa_going_down_is_policy_unavailable() -> None:
    with serve_in_thread() as url:
        engine = OpaEngine(url)
        assert engine.healthy()
        assert engine.evaluate("data.woms.smoke.allow", {"subject": "a", "owner": "a"}) is True
    assert not engine.healthy()
    with pytest.raises(PolicyUnavailable):
        engine.evaluate("data.woms.smoke.allow", {"subject": "a", "owner": "a"})


def test_apis_answer_503_when_opa_is_down(monkeypatch: pytest.MonkeyPatch, dead_url: str) -> None:
    """Through ``web.policies()``, as every service API asks: 503 (not 500) both when OPA is
    down at first use and when it goes down after the policies were uploaded."""
    app = FastAPI()

    @app.get("/probe")
    def probe() -> dict[str, Any]:
        return {"allow": web.policies().evaluate("data.woms.smoke.allow", {"subject": "a"})}

    client = TestClient(app, raise_server_exceptions=False)
    try:
        monkeypatch.setenv("OPA_URL", dead_url)
        get_settings.cache_clear()
        answer = client.get("/probe")
        assert answer.status_code == 503
        assert answer.json() == {"detail": web.POLICY_UNAVAILABLE}

        with serve_in_thread() as url:
            monkeypatch.setenv("OPA_URL", url)
            get_settings.cache_clear()
            answer = client.get("/probe")
            assert (answer.status_code, answer.json()) == (200, {"allow": False})
        answer = client.get("/probe")
        assert answer.status_code == 503
        assert answer.json() == {"detail": web.POLICY_UNAVAILABLE}
    finally:
        get_settings.cache_clear()


# --- the server speaks the OPA REST API subset ------------------------------------------


def test_server_handles_policies_and_data_like_opa(tmp_path: Path) -> None:
    with serve_in_thread() as url:
        client = OpaClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
        assert client.check_health()
        assert client.check_connection()
        # data: PUT, PATCH (relative to the path), GET, DELETE
        assert client.update_or_create_data({"limit": 3, "units": ["U1"]}, "woms/config")
        assert client.patch_data("woms/config", [{"op": "add", "path": "/units/-", "value": "U2"}])
        assert client.get_data("woms/config") == {"result": {"limit": 3, "units": ["U1", "U2"]}}
        # a policy reading the data, queried with input
        policy = tmp_path / "limits.rego"
        policy.write_text(
            "package woms.limits\n\nimport rego.v1\n\n"
            "allow if {\n\tinput.count <= data.woms.config.limit\n"
            "\tinput.unit in data.woms.config.units\n}\n\n"
            "units contains u if some u in data.woms.config.units\n"
        )
        assert client.update_policy_from_file(str(policy), "limits.rego")
        assert client.query_rule({"count": 2, "unit": "U2"}, "woms.limits", "allow") == {
            "result": True
        }
        assert client.query_rule({"count": 4, "unit": "U2"}, "woms.limits", "allow") == {}
        assert client.get_data("woms/limits/units") == {"result": ["U1", "U2"]}
        # a path nothing defines is undefined, not an error
        assert client.query_rule({}, "woms.nothing", "here") == {}
        # the whole engine sees the same through OpaEngine, without uploading
        engine = OpaEngine(url, upload=False)
        assert engine.evaluate("data.woms.limits.allow", {"count": 1, "unit": "U1"}) is True
        assert engine.evaluate("data.woms.limits.allow", {"count": 1, "unit": "U9"}) is None
        # deleting
        assert client.delete_data("woms/config")
        with pytest.raises(PolicyNotFoundError):
            client.get_data("woms/config")
        assert client.delete_policy("limits.rego")
        with pytest.raises(PolicyNotFoundError):
            client.get_policy("limits.rego")
        with pytest.raises(DeletePolicyError):
            client.delete_policy("limits.rego")
        client.close_connection()


def test_bad_rego_and_evaluation_errors_are_policy_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rego"
    broken.write_text("package broken\n\nimport rego.v1\n\nallow if {\n")
    conflict = tmp_path / "conflict.rego"
    conflict.write_text("package conflict\n\nimport rego.v1\n\nvalue := 1\n\nvalue := 2\n")
    with serve_in_thread() as url:
        client = OpaClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
        with pytest.raises(RegoParseError) as raised:
            client.update_policy_from_file(str(broken), "broken.rego")
        assert raised.value.errors and raised.value.errors[0]["code"] == "rego_parse_error"
        assert client.get_policies_list() == []  # nothing half-loaded
        client.close_connection()

        engine = OpaEngine(url, upload=False)
        with pytest.raises(PolicyError, match=r"OPA rejected policy broken\.rego"):
            engine.load([("broken.rego", broken)])
        engine.load([("conflict.rego", conflict)])
        with pytest.raises(PolicyError, match="500") as failed:
            engine.evaluate("data.conflict.value", {})
        assert not isinstance(failed.value, PolicyUnavailable)
        with pytest.raises(ValueError, match="data reference"):
            engine.evaluate("woms.smoke.allow", {})
