"""Schemathesis against the evaluation API in-process (issue 9, "Hostile input"): Hà Nội
onboarded on SQLite under a temporary WOMS home, planning and tasks served over HTTP,
the session's Temporal dev server without a worker (steps answer ``not_running``, the cycle's
progress query times out after 2 s: ``unavailable``), a token of P001 (Bí thư,
``tenant_admin``), ≥ 1,000 generated cases (``WOMS_SCHEMATHESIS_CASES``), no 5xx, no answer
off the schema."""

from __future__ import annotations

import pytest

from services.evaluation.api import create_app
from services.evaluation.clients import HttpSources
from services.evaluation.signals import CycleGateway
from tests.hostile.schemathesis_run import bearer, cases_wanted, run

pytestmark = pytest.mark.integration


def test_evaluation_openapi_holds_under_generated_requests(
    hanoi_on_temporal: dict[str, str],
) -> None:
    urls = hanoi_on_temporal
    app = create_app(
        sources=HttpSources(planning_url=urls["planning"], tasks_url=urls["tasks"]),
        cycle_gateway=CycleGateway(urls["temporal"], timeout_s=2),
    )
    outcome = run(app, lambda: bearer("P001", "staff", "tenant_admin"))
    print(outcome.summary())
    assert not outcome.failures, "\n".join(dict.fromkeys(outcome.failures))
    assert outcome.sent >= cases_wanted(), outcome.summary()
    assert not outcome.untested, outcome.untested
