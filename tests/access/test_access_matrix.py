"""Object-level access matrix (issue 9): every operation of the four services' OpenAPI that
takes an object id (or lists objects) is called by the owner, a colleague, the collaborator on
the owner's task, the office's deputy (of another field than the owner's), the manager, the
authority, another unit, another tenant, a central body and a tenant administrator; each
answer must be the decision of the service's Rego policy on the input the service builds
(``tests/access/matrix.py``), and no list holds an item the caller may not read. Method, size
and result: ``docs/access-matrix.md``. This checks that the services pass the policy the right
input; whether the policy itself is right is checked against the regulations by
``test_authority_table.py`` (``docs/authority.md``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.access.matrix import OPERATIONS, Excluded, markdown, run, unclassified
from tests.access.world import World, access_world

pytestmark = pytest.mark.integration

SERVICES = ["planning", "tasks", "evaluation", "reporting"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with access_world(tmp_path_factory.mktemp("access")) as built:
        yield built


def _spec(world: World, service: str) -> dict[str, Any]:
    return world.clients[service].app.openapi()


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_in_the_matrix_or_excluded_with_a_reason(
    world: World, service: str
) -> None:
    assert unclassified(service, _spec(world, service)) == []
    assert all(e.reason for e in OPERATIONS[service].values() if isinstance(e, Excluded))


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_the_policy_decision(world: World, service: str) -> None:
    outcome = run(service, world, _spec(world, service))
    print(outcome.summary())
    for operation, reason in outcome.excluded.items():
        print(f"  excluded {operation}: {reason}")
    out = os.environ.get("WOMS_ACCESS_MATRIX_OUT")  # the grid for docs/access-matrix.md
    if out:
        with Path(out).open("a", encoding="utf-8") as file:
            file.write(f"\n### {service}\n\n{outcome.summary()}\n\n{markdown(outcome)}\n")
    assert outcome.cases > 0 and 0 < outcome.allowed < outcome.cases
    assert not outcome.mismatches, "\n".join(outcome.mismatches)
