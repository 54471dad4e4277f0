"""Metrics of the evaluation service (issue 8, ``docs/telemetry.md``), on the active telemetry
(:mod:`services.common.telemetry`; no-ops when it is off).

* ``woms.cycle.steps`` (counter, ``{step}``): activities of the monthly cycle completed, by
  ``woms.tenant`` and ``woms.cycle.activity`` (``open_evaluation``, ``publish``, …);
* ``woms.cycle.late`` (counter, ``{step}``): people whose step missed its deadline (counted
  by the ``escalate`` and ``apply_fallback`` activities, DOMAIN.md §6), by ``woms.tenant`` and
  ``woms.cycle.step`` (the step that was late);
* ``woms.scoring.duration`` (histogram, seconds): one person's month scored
  (:func:`services.evaluation.scoring.score_month` called by the service layer).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import baggage

from services.common import telemetry


def step_done(tenant: str, activity: str) -> None:
    """Count a completed cycle activity (``woms.cycle.steps``)."""
    telemetry.get_meter("woms.evaluation").create_counter(
        "woms.cycle.steps", unit="{step}", description="Monthly-cycle activities completed"
    ).add(1, {telemetry.TENANT_ATTRIBUTE: tenant, "woms.cycle.activity": activity})


def late(tenant: str, step: str) -> None:
    """Count a person's ``step`` whose deadline passed (``woms.cycle.late``)."""
    telemetry.get_meter("woms.evaluation").create_counter(
        "woms.cycle.late", unit="{step}", description="Cycle steps past their deadline"
    ).add(1, {telemetry.TENANT_ATTRIBUTE: tenant, "woms.cycle.step": step})


@contextmanager
def scoring_timer() -> Iterator[None]:
    """Record the block's duration (seconds) in ``woms.scoring.duration``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        telemetry.get_meter("woms.evaluation").create_histogram(
            "woms.scoring.duration", unit="s", description="Scoring of one person's month"
        ).record(time.perf_counter() - start, _tenant())


def _tenant() -> dict[str, str]:
    """``{woms.tenant: …}`` from the context (a request's or a workflow's baggage)."""
    tenant = baggage.get_baggage(telemetry.TENANT_ATTRIBUTE)
    return {telemetry.TENANT_ATTRIBUTE: str(tenant)} if tenant is not None else {}
