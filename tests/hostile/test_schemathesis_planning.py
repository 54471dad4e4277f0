"""Schemathesis against the planning API in-process (issue 9, "Hostile input"): Hà Nội
onboarded on SQLite under a temporary WOMS home, a token of P001 (Bí thư, ``tenant_admin``),
≥ 1,000 generated cases (``WOMS_SCHEMATHESIS_CASES``), no 5xx, no answer off the schema."""

from __future__ import annotations

import pytest

from services.planning.api import create_app
from tests.hostile.schemathesis_run import bearer, cases_wanted, run

pytestmark = pytest.mark.integration


def test_planning_openapi_holds_under_generated_requests(hanoi: dict[str, str]) -> None:
    outcome = run(create_app(), lambda: bearer("P001", "staff", "tenant_admin"))
    print(outcome.summary())
    assert not outcome.failures, "\n".join(dict.fromkeys(outcome.failures))
    assert outcome.sent >= cases_wanted(), outcome.summary()
    assert not outcome.untested, outcome.untested
