"""Schemathesis run in-process against one service's OpenAPI (issue 9, "Hostile input").

Every operation of the app's ``/openapi.json`` gets generated requests (positive and negative
data, schemathesis 4) sent through the ASGI transport with a valid bearer token of the Hà Nội
tenant and ``tenant=hanoi``, so they reach the handlers; each response must pass
``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance``. All failures of all operations are gathered and reported
together.

``WOMS_SCHEMATHESIS_CASES`` sets the number of cases per service (default 1,000): each
operation gets an equal share, and the run asserts the total it really sent.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.auth import issue_token

CASES_ENV = "WOMS_SCHEMATHESIS_CASES"
DEFAULT_CASES = 1000
TENANT = "hanoi"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def cases_wanted() -> int:
    """Cases per service: ``WOMS_SCHEMATHESIS_CASES`` or 1,000."""
    return int(os.environ.get(CASES_ENV, DEFAULT_CASES))


def bearer(subject: str, *roles: str) -> dict[str, str]:
    token = issue_token(TENANT, subject, set(roles) or {"staff"}, ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Outcome:
    """What a run sent and what broke."""

    sent: int = 0
    operations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    per_operation: dict[str, int] = field(default_factory=dict)

    @property
    def untested(self) -> list[str]:
        """Operations that got no case at all (none may hide behind an unsatisfiable schema)."""
        return [name for name, count in self.per_operation.items() if count == 0]

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return f"{self.sent} cases over {self.operations} operations ({codes})"


def run(
    app: Any,
    headers: Callable[[], dict[str, str]],
    *,
    total: int | None = None,
    skip: Callable[[str, str], bool] = lambda method, path: False,
) -> Outcome:
    """Fuzz every operation of ``app`` (see the module docstring); returns the outcome.

    Args:
        app: the FastAPI application.
        headers: the headers of each request (a valid bearer token).
        total: cases for the whole service (default :func:`cases_wanted`).
        skip: operations not fuzzed (``method``, ``path``), e.g. health probes.
    """
    total = cases_wanted() if total is None else total
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if not skip(result.ok().method.upper(), result.ok().path)
    ]
    outcome = Outcome(operations=len(operations))
    outcome.per_operation = {f"{op.method.upper()} {op.path}": 0 for op in operations}
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    per_run = max(1, math.ceil(total / (len(operations) * len(modes))))
    for operation in operations:
        for mode in modes:
            _fuzz(operation, mode, per_run, headers, outcome)
    # operations whose inputs have few distinct values exhaust early: top up with positives
    while outcome.sent < total and operations:
        before = outcome.sent
        for operation in operations:
            _fuzz(operation, modes[0], per_run, headers, outcome)
        if outcome.sent == before:
            break
    return outcome


def _fuzz(
    operation: Any,
    mode: schemathesis.GenerationMode,
    examples: int,
    headers: Callable[[], dict[str, str]],
    outcome: Outcome,
) -> None:
    name = f"{operation.method.upper()} {operation.path}"
    label = f"{name} [{mode.value}]"
    try:
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters={"tenant": TENANT}, headers=headers()
        )
    except Exception as exc:  # no negative form of an operation without inputs
        if mode is schemathesis.GenerationMode.NEGATIVE:
            return
        raise AssertionError(f"{label}: no strategy: {exc}") from exc

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        outcome.per_operation[name] += 1
        try:
            response = case.call()
        except Exception as exc:  # the ASGI transport re-raises what a server answers as 500
            outcome.sent += 1
            outcome.statuses[500] = outcome.statuses.get(500, 0) + 1
            where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
            outcome.failures.append(f"{label} → server error {exc!r} on {where}"[:1500])
            raise
        outcome.sent += 1
        outcome.statuses[response.status_code] = outcome.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            text = str(exc).strip().splitlines()
            outcome.failures.append(f"{label} → {response.status_code}: " + " | ".join(text[:12]))
            raise

    try:
        check()
    except Unsatisfiable:
        return
    except (Exception, BaseExceptionGroup):  # recorded in outcome.failures; others still run
        if not outcome.failures or not outcome.failures[-1].startswith(label):
            raise
