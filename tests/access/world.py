"""The access matrix's world (issue 9, "Object-level access"): Hà Nội (phường Phúc Lợi, 60
people) and Thanh Hóa onboarded on SQLite under a temporary ``WOMS_HOME``; planning and tasks
served by uvicorn on free local ports (the services read each other over HTTP, as in
production); the four apps under test driven in-process by FastAPI's ``TestClient``; objects
created through the APIs (a personal plan, tasks, evidence, a push-back) and months opened as
the cycle's ``open_evaluation`` activity opens them.

The callers (one token each, from the embedded issuer) around the owner P021 (chuyên viên,
Văn phòng HĐND-UBND ``PL-VP``), from the Phúc Lợi chart of June 2026 (``001 §II.3``):

* ``owner`` P021; ``colleague`` P022 (same unit, staff); ``collaborator`` P023 (same unit,
  named on the owner's task); ``deputy`` P020 (the office's deputy, in charge of another field
  than the owner's, ``in_charge_of: [VP-VT, VP-KT]``); ``manager`` P019 (head of PL-VP,
  P021's evaluator and decider); ``authority`` P003 (Chủ tịch UBND, P019's evaluator: the
  appeal authority over P021's grade, superior in the tasks chain); ``other_unit`` P032
  (PL-KTHTDT); ``other_tenant`` T023 of Thanh Hóa with roles ``staff`` and ``tenant_admin``
  (the strongest caller of another tenant); ``central`` a central body of the tenant (role
  ``central``); ``admin`` a tenant administrator (role ``tenant_admin``).

The roles are the ones planning grants (``role_grants:`` of ``data/tenants/*/tenant.yaml``:
T023 and QT-HN ``tenant_admin``, BTC-TW ``central``; ``staff`` for every person or account),
which the services resolve on every request (``services/common/roles.py``); the tokens carry
the same roles, but the services do not believe them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.common.auth import Principal, issue_token
from services.common.db import engine_for, transaction
from services.common.settings import get_settings
from services.evaluation import service as evaluation_service
from services.evaluation.api import create_app as evaluation_app
from services.evaluation.clients import HttpSources
from services.evaluation.signals import CycleGateway
from services.planning.api import create_app as planning_app
from services.planning.models import Delegation
from services.reporting.api import HttpRelations
from services.reporting.api import create_app as reporting_app
from services.tasks import api as tasks_api
from services.tasks.planning_client import HttpPlanningDirectory
from tests.evaluation_service.evaluation_api_stack import closed_address, served
from tests.integration.backends import database_backend
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
THANHHOA = ROOT / "data" / "tenants" / "thanhhoa" / "tenant.yaml"
SEED = json.loads(
    (ROOT.parent / "shared" / "golden" / "scoring" / "seed002_nguyen_van_a.json").read_text()
)

TENANT, PERIOD, UNIT, OTHER_UNIT = "hanoi", "2026-06", "PL-VP", "PL-KTHTDT"
PLAN = "KH-P021"
"""The owner's personal plan of June 2026, created through the planning API."""
OWNER, COLLEAGUE, MANAGER, AUTHORITY, OUTSIDER = "P021", "P022", "P019", "P003", "P032"
COLLABORATOR, DEPUTY = "P023", "P020"
"""P023 (kế toán of PL-VP) is named among the collaborators of the owner's task; P020 (Phó
Chánh Văn phòng) is the office's deputy, in charge of ``VP-VT`` and ``VP-KT`` — a deputy of
another field for the owner (``VP-TH``)."""

ROLES: dict[str, Principal] = {
    "other_tenant": Principal("thanhhoa", "T023", frozenset({"staff", "tenant_admin"})),
    "other_unit": Principal(TENANT, OUTSIDER, frozenset({"staff"})),
    "central": Principal(TENANT, "BTC-TW", frozenset({"staff", "central"})),
    "colleague": Principal(TENANT, COLLEAGUE, frozenset({"staff"})),
    "collaborator": Principal(TENANT, COLLABORATOR, frozenset({"staff"})),
    "deputy": Principal(TENANT, DEPUTY, frozenset({"staff"})),
    "admin": Principal(TENANT, "QT-HN", frozenset({"staff", "tenant_admin"})),
    "owner": Principal(TENANT, OWNER, frozenset({"staff"})),
    "manager": Principal(TENANT, MANAGER, frozenset({"staff"})),
    "authority": Principal(TENANT, AUTHORITY, frozenset({"staff"})),
}
"""The callers, in the order each endpoint is called (those refused first, so the writes of
the allowed ones come last)."""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def headers(principal: Principal) -> dict[str, str]:
    token = issue_token(principal.tenant, principal.subject, principal.roles, ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """The running stack and the ids of the objects created in it."""

    clients: dict[str, TestClient]
    planning_url: str
    ids: dict[str, Any] = field(default_factory=dict)
    """``plan``, ``key_result``, ``task`` (led by the owner), ``other_task`` (another unit),
    ``pushback``, ``evidence`` (attached to the owner's submission), ``months``
    (``{person: unit}`` of the opened months), ``delegation`` (the tenant file's first
    delegation, planning's id)."""

    readers: dict[str, Any] = field(default_factory=dict)
    """The services' own clients of planning, as the test's oracle uses them."""

    def _reader(self, name: str, make: Any) -> Any:
        if name not in self.readers:
            self.readers[name] = make()
        return self.readers[name]

    def org(self) -> dict[str, Any]:
        """The relation the tasks service reads (planning's policy data as of today)."""
        directory = self._reader("tasks", lambda: HttpPlanningDirectory(base_url=self.planning_url))
        return dict(directory.org(TENANT, date.today()))

    def relation(self, period: str) -> dict[str, Any]:
        """The relation the evaluation service reads for ``period``."""
        sources = self._reader("evaluation", lambda: HttpSources(planning_url=self.planning_url))
        return dict(sources.relation_of(TENANT, period))

    def reporting_relation(self, period: str) -> dict[str, Any]:
        """The relation the reporting service reads for ``period``."""
        return self._reader("reporting", HttpRelations).relation_of(TENANT, period)


def _ok(answer: Any, *codes: int) -> Any:
    assert answer.status_code in (codes or (200, 201)), answer.text
    return answer.json()


def plan_body(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "title": "Kế hoạch cá nhân tháng 6/2026",
        "owner_person": OWNER,
        "period": {"kind": "month", "year": 2026, "number": 6},
        "objectives": [
            {
                "code": f"{code}-O1",
                "title": "Hoàn thành văn bản đúng hạn",
                "perspective": "process",
                "weight": 100,
                "key_results": [
                    {
                        "code": f"{code}-KR1",
                        "title": "Văn bản trình ký đúng hạn",
                        "kind": "kpi",
                        "unit_of_measure": "văn bản",
                        "baseline": 0,
                        "target": 20,
                        "complete_threshold": 18,
                        "exceed_threshold": 20,
                        "fail_threshold": 10,
                        "weight": 100,
                    }
                ],
            }
        ],
    }


def _task_body(
    lead: str, unit: str, item: str, name: str, collaborators: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "collaborating_people": list(collaborators),
        "name": name,
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "regular",
        "lead_unit": unit,
        "lead_person": lead,
        "start_date": "2026-06-01",
        "due_date": "2026-06-19",
        "output_product": "Văn bản trình ký",
        "quality_criteria": "Đúng thể thức, đúng hạn",
        "catalog_item": item,
        "quantity": "2",
    }


def _populate(world: World) -> None:
    """Create the objects the matrix calls on, through the APIs (and the month-opening use
    case of the evaluation service)."""
    h = {name: headers(p) for name, p in ROLES.items()}
    planning, tasks = world.clients["planning"], world.clients["tasks"]
    body = plan_body(PLAN)
    plan = _ok(planning.post("/tenants/hanoi/plans", headers=h["owner"], json=body))
    world.ids["plan"] = plan["code"]
    world.ids["key_result"] = body["objectives"][0]["key_results"][0]["code"]

    task = _ok(
        tasks.post(
            "/tenants/hanoi/tasks",
            headers=h["manager"],
            json=_task_body(OWNER, UNIT, "VP-VB-01", "Văn bản hành chính", (COLLABORATOR,)),
        )
    )["code"]
    _ok(tasks.post(f"/tenants/hanoi/tasks/{task}/assign", headers=h["manager"]))
    _ok(tasks.post(f"/tenants/hanoi/tasks/{task}/start", headers=h["owner"]))
    evidence = _ok(
        tasks.post(
            "/tenants/hanoi/evidence",
            headers=h["owner"],
            params={"filename": "van-ban.pdf"},
            content=PDF,
        )
    )["id"]
    _ok(
        tasks.post(
            f"/tenants/hanoi/tasks/{task}/submit",
            headers=h["owner"],
            json={"evidence_ids": [evidence]},
        )
    )
    pushback = _ok(
        tasks.post(
            f"/tenants/hanoi/tasks/{task}/pushbacks",
            headers=h["owner"],
            json={"topic": "resources", "text": "Cần số liệu của Trung tâm PVHCC"},
        )
    )["id"]
    other = _ok(
        tasks.post(
            "/tenants/hanoi/tasks",
            headers=headers(Principal(TENANT, "P031", frozenset({"staff"}))),
            json=_task_body(OUTSIDER, OTHER_UNIT, "KT-BC-01", "Báo cáo hạ tầng đô thị"),
        )
    )["code"]
    _ok(tasks.post("/tenants/hanoi/tasks", headers=h["other_unit"], json={"name": "Nháp"}))
    world.ids.update(task=task, evidence=evidence, pushback=pushback, other_task=other)

    months = {OWNER: UNIT, COLLEAGUE: UNIT, MANAGER: UNIT, OUTSIDER: OTHER_UNIT}
    with transaction(engine_for(TENANT, "evaluation")) as s:
        for person, unit in months.items():
            evaluation_service.open_evaluation(
                s, TENANT, person, unit, PERIOD, list(SEED["tasks"]), f"access:{person}:open"
            )
    world.ids["months"] = months
    with transaction(engine_for(TENANT, "planning")) as s:
        world.ids["delegation"] = s.scalars(select(Delegation.id).order_by(Delegation.id)).first()


@contextmanager
def access_world(home: Path) -> Iterator[World]:
    """The whole stack under ``home`` (see the module docstring); torn down after."""
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        mp.setenv("WOMS_HOME", str(home))
        mp.setenv("WOMS_TELEMETRY", "off")
        get_settings.cache_clear()
        tasks_api._directory.clear()
        stack.callback(tasks_api._directory.clear)
        stack.callback(get_settings.cache_clear)
        stack.enter_context(database_backend("sqlite", mp))
        onboard(HANOI, infrastructure=False)
        onboard(THANHHOA, infrastructure=False)
        planning_url = stack.enter_context(served(planning_app()))
        mp.setenv("PLANNING_URL", planning_url)
        get_settings.cache_clear()
        tasks_url = stack.enter_context(served(tasks_api.create_app()))
        mp.setenv("TASKS_URL", tasks_url)
        clients = {
            "planning": TestClient(planning_app()),
            "tasks": TestClient(tasks_api.create_app()),
            "evaluation": TestClient(
                evaluation_app(
                    sources=HttpSources(planning_url=planning_url, tasks_url=tasks_url),
                    cycle_gateway=CycleGateway(closed_address(), timeout_s=1),
                )
            ),
            "reporting": TestClient(reporting_app(HttpRelations())),
        }
        for client in clients.values():
            stack.enter_context(client)
        world = World(clients=clients, planning_url=planning_url)
        _populate(world)
        yield world
