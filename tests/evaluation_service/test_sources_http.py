"""What the evaluation service reads from planning over HTTP (``clients.HttpSources``), against
the real planning API served by uvicorn on SQLite: the month's people with joiners, leavers
and movers (001 §I.6: under half the working days → not evaluated; a mover is evaluated in
the unit at period end), and a unit's plan objectives for đ and the collective evaluation
(breakthrough items excluded, 004 Part B §I)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from services.common.settings import get_settings
from services.evaluation import collective, leaders
from services.evaluation.clients import HttpSources
from services.planning.api import create_app as planning_app
from tests.integration.backends import database_backend
from woms.onboarding import onboard
from workflows.monthly_cycle.inputs import PersonRef

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"
TENANT = "mini"


def _person(code: str, *stints: tuple[str, str, str | None]) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Người {code}",
        "memberships": [
            {
                "unit": unit,
                "role": "staff",
                "title": "Chuyên viên",
                "position": None,
                "start": date.fromisoformat(start),
                "end": date.fromisoformat(end) if end else None,
            }
            for unit, start, end in stints
        ],
    }


@contextmanager
def served(app: Any) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "planning API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpSources]:
    """``mini`` plus June 2026 joiners, leavers and a mover, onboarded on SQLite; planning
    served over HTTP; the evaluation's sources pointed at it."""
    tenant = yaml.safe_load(MINI.read_text("utf-8"))
    tenant["people"] += [
        _person("P06", ("PA-VP", "2026-06-22", None)),  # 7 of 22 working days
        _person("P07", ("PA-VP", "2026-06-08", None)),  # 17 of 22
        _person("P08", ("PA-VP", "2025-01-01", "2026-06-10")),  # 8 of 22
        _person("P09", ("PA-VP", "2025-01-01", "2026-06-15")),  # 11 of 22: exactly half
        _person("P10", ("PA-VP", "2025-01-01", "2026-06-15"), ("PA-VHXH", "2026-06-16", None)),
    ]
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(tenant, allow_unicode=True), "utf-8")
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    get_settings.cache_clear()
    with database_backend("sqlite", monkeypatch):
        onboard(path, infrastructure=False)
        with served(planning_app()) as url:
            client = HttpSources(planning_url=url)
            try:
                yield client
            finally:
                client.close()
    get_settings.cache_clear()


def test_people_of_june_with_joiners_leavers_and_a_mover(sources: HttpSources) -> None:
    people = {p.person_id: p for p in sources.people_of(TENANT, "2026-06")}
    assert people["P03"] == PersonRef("P03", "PA-VP", True)  # moves on 1 July, not in June
    assert people["P06"] == PersonRef("P06", "PA-VP", False)
    assert people["P07"] == PersonRef("P07", "PA-VP", True)
    assert people["P08"] == PersonRef("P08", "PA-VP", False)
    assert people["P09"] == PersonRef("P09", "PA-VP", True)
    assert people["P10"] == PersonRef("P10", "PA-VHXH", True)
    july = {p.person_id: p for p in sources.people_of(TENANT, "2026-07")}
    assert july["P03"] == PersonRef("P03", "PA-VHXH", True)
    assert {"P08", "P09"} & set(july) == set()


def test_plan_objectives_feed_dd_and_the_collective(sources: HttpSources) -> None:
    objectives = sources.plan_objectives(TENANT, "TINH", "year", 2026, None, date(2026, 6, 30))
    assert objectives is not None
    by = {o.code: o for o in objectives}
    assert by["T-O2"].breakthrough and by["T-O2"].perspective == "learning"
    assert by["T-O1"].perspective == "citizens" and by["T-O1"].progress is not None
    result = collective.evaluate(objectives)
    learning = next(p for p in result.perspectives if p.perspective == "learning")
    assert learning.completion is None and learning.excluded == ("T-O2",)
    assert result.completion is not None
    met, reason = leaders.propose_dd(objectives)
    assert met is (by["T-O1"].colour != "red") and "001 §III.3b" in reason
    assert sources.plan_objectives(TENANT, "PA-VP", "quarter", 2026, 2, date(2026, 6, 30)) is None
