"""The evaluation API's test stack, shared by its test files: the ``mini`` tenant onboarded on
SQLite under a temporary WOMS home, the planning API served for real by uvicorn (the
evaluator relation travels over HTTP, as in production), the evaluation app pointed at it,
tokens from the embedded issuer, and months opened as the cycle's ``open_evaluation``
activity opens them (the 002 worked example's ledger)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from services.common.auth import issue_token
from services.common.db import engine_for, transaction
from services.evaluation import repository, service
from services.evaluation.api import create_app
from services.evaluation.clients import HttpSources
from services.evaluation.signals import CycleGateway
from services.planning.api import create_app as planning_app
from tests.integration.backends import database_backend
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"
SEED = json.loads(
    (ROOT.parent / "shared" / "golden" / "scoring" / "seed002_nguyen_van_a.json").read_text()
)
TENANT, PERIOD, UNIT = "mini", "2026-06", "PA-VP"
# mini's chart in June 2026: P03 (staff of PA-VP) is reviewed and decided by P02 (head of
# PA-VP); P02 is evaluated and decided by P01 (Bí thư), who answers P03's appeals.
STAFF, HEAD, SECRETARY, OTHER_HEAD = "P03", "P02", "P01", "P05"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def planning_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``mini`` onboarded on SQLite, planning served over HTTP; yields planning's URL."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend("sqlite", monkeypatch):
        onboard(MINI, infrastructure=False)
        with served(planning_app()) as url:
            yield url


def evaluation_app(planning_url: str, temporal: str) -> Any:
    """The evaluation app reading the relation from ``planning_url``, signalling the
    Temporal server at ``temporal`` (``host:port``)."""
    return create_app(
        sources=HttpSources(planning_url=planning_url),
        cycle_gateway=CycleGateway(temporal, timeout_s=3),
    )


def closed_address() -> str:
    """A local ``host:port`` nobody listens on (Temporal unreachable)."""
    return f"127.0.0.1:{free_port()}"


def auth(subject: str, *roles: str, tenant: str = TENANT) -> dict[str, str]:
    token = issue_token(tenant, subject, set(roles) or {"staff"})
    return {"Authorization": f"Bearer {token}"}


def open_month(person: str, unit: str = UNIT, period: str = PERIOD) -> dict[str, Any]:
    """Open ``person``'s month with the worked example's ledger (as the workflow does)."""
    with transaction(engine_for(TENANT, "evaluation")) as s:
        return service.open_evaluation(
            s, TENANT, person, unit, period, list(SEED["tasks"]), f"test:{person}:{period}:open"
        )


def stored(person: str, period: str = PERIOD) -> tuple[dict[str, Any], list[str]]:
    """The stored snapshot of ``person``'s month and its history's actions."""
    with transaction(engine_for(TENANT, "evaluation")) as s:
        ev = repository.evaluation_of(s, person, period)
        assert ev is not None, f"{person} has no month {period}"
        return service.snapshot(ev), [h.action for h in service.history(s, person, period)]
