"""The one authorizer: the policy input document and the decision, for every service.

Every access decision of WOMS is a Rego rule ``data.woms.<service>.authz.allow`` (with its
``reasons`` when denied, Vietnamese / English). This module owns the *input document* those
rules read, so that the four services build it the same way::

    {
      "tenant":    "hanoi",                      # the tenant of the request's path
      "action":    "task.approve",               # <area>.<verb>
      "principal": {"tenant", "subject", "roles": [..], "body"?},
      "resource":  {...},                        # what the service's access.py maps its object to
      "relation":  {...}?,                       # the period's evaluator relation, when needed
    }

``principal.body`` is set only for a caller with role ``external_body``: the body outside the
tenant it acts for (planning's grants, ``relation.acting_for``; ``001 §II.3``). The JSON
schema of each package's input is in ``policies/woms/<area>/input.schema.json``.

It also owns the two traversals of the evaluator relation that the resources need
(``001 §II.3``, ``DOMAIN.md §4, §7``): :func:`superiors` (everyone above a person) and
:func:`authorities_over` (who may assign and decide the work a person leads in a unit).
Services keep a thin ``access.py`` that maps their objects to resources with these.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from fastapi import HTTPException
from referencing import Registry, Resource

from services.common.auth import Principal
from services.common.policy import POLICIES_DIR, PolicyEvaluator
from services.common.settings import get_settings

Relation = Mapping[str, Any]
"""The evaluator relation of a tenant for a day or period, as planning's
``GET /tenants/{t}/evaluators/policy-data`` answers it (``services.planning.evaluators.
as_policy_data``): ``evaluator_of``, ``evaluatees_of``, ``unit_heads``, ``unit_members``,
``external``, ``decider_of``, ``decider_external``, ``unresolved``, ``acting_for`` and, for
the authority over work, ``in_charge_of`` (deputy → unit or position codes of the field they
are in charge of), ``positions_of`` (person → position codes) and ``delegations`` (unit →
people the head delegated to, on that day)."""


def superiors(relation: Relation, person: str | None) -> list[str]:
    """Everyone above ``person`` along the evaluator relation (``001 §II.3``: the evaluator,
    the evaluator's evaluator, …), nearest first, without ``person``; ``[]`` for ``None`` or a
    person the relation does not know."""
    if not person:
        return []
    evaluator_of: Mapping[str, list[str]] = relation.get("evaluator_of", {}) or {}
    seen: list[str] = []
    queue = deque(evaluator_of.get(person, []))
    while queue:
        current = queue.popleft()
        if current in seen or current == person:
            continue
        seen.append(current)
        queue.extend(evaluator_of.get(current, []))
    return seen


def _unique(people: Iterable[str | None], excluded: str | None) -> list[str]:
    out: list[str] = []
    for p in people:
        if p and p != excluded and p not in out:
            out.append(p)
    return out


def deputies_in_charge(relation: Relation, person: str | None, unit: str | None) -> list[str]:
    """Deputies in charge of the field of ``person``'s work in ``unit`` (``DOMAIN.md §4``
    "the deputy in charge of that field"): a deputy whose ``in_charge_of`` names ``unit`` or
    one of ``person``'s positions. Never ``person`` themselves."""
    fields: Mapping[str, list[str]] = relation.get("in_charge_of", {}) or {}
    positions = set((relation.get("positions_of", {}) or {}).get(person or "", []))
    wanted = positions | ({unit} if unit else set())
    return _unique((d for d, codes in fields.items() if wanted & set(codes)), person)


def authorities_over(relation: Relation, person: str | None, unit: str | None) -> list[str]:
    """Who holds authority over work led by ``person`` in ``unit`` (``001 §II.3`` "whoever
    directly leads and assigns the work evaluates"; ``000 §V.2``; ``DOMAIN.md §4``): the head
    of ``unit`` and everyone above the head, everyone above ``person`` in the evaluator chain,
    the deputies in charge of that field (:func:`deputies_in_charge`) and the people the head
    delegated to (``relation.delegations[unit]``, valid on the relation's day). Never
    ``person``: nobody holds authority over their own work. Nearest first.

    With ``person`` ``None`` (a task proposed for a unit), the authorities over the unit.
    """
    head = (relation.get("unit_heads", {}) or {}).get(unit or "")
    delegates = (relation.get("delegations", {}) or {}).get(unit or "", [])
    return _unique(
        [
            head,
            *superiors(relation, person),
            *superiors(relation, head),
            *deputies_in_charge(relation, person, unit),
            *delegates,
        ],
        person,
    )


class PolicyInputInvalid(ValueError):
    """A policy input document does not match its package's ``input.schema.json`` (a bug of
    the service that built it, reported only when ``POLICY_INPUT_CHECK`` is on)."""


def input_schema_path(service: str) -> Path:
    """``policies/woms/<service>/input.schema.json``."""
    return POLICIES_DIR / "woms" / service / "input.schema.json"


@cache
def _schemas() -> Registry:
    """Every ``input.schema.json`` under ``policies/``, by its ``$id`` (``urn:woms:policy:<area>``;
    the shared parts are ``urn:woms:policy:lib``)."""
    resources = []
    for path in sorted(POLICIES_DIR.rglob("input.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(service: str) -> jsonschema.protocols.Validator | None:
    path = input_schema_path(service)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=_schemas())


def check_input(service: str, document: Mapping[str, Any]) -> None:
    """Validate ``document`` against the JSON schema of ``woms.<service>.authz``'s input.

    Raises:
        PolicyInputInvalid: naming the first offending path and the schema's message.
        FileNotFoundError: when the package has no ``input.schema.json``.
    """
    validator = _validator(service)
    if validator is None:
        raise FileNotFoundError(input_schema_path(service))
    error = jsonschema.exceptions.best_match(validator.iter_errors(_plain(document)))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise PolicyInputInvalid(f"woms.{service}.authz input at {where}: {error.message}")


def _plain(value: Any) -> Any:
    """JSON data as the engines see it (sets and tuples become lists)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Authorizer:
    """Asks ``data.woms.<service>.authz`` about one caller in one tenant.

    Attributes:
        service: the policy package's area (``planning``, ``tasks``, ``evaluation``,
            ``reporting``).
        tenant: the tenant of the request (``input.tenant``).
        principal: the caller with the roles planning grants it.
        engine: a callable giving the policy engine (``services.common.web.policies``).
    """

    service: str
    tenant: str
    principal: Principal
    engine: Callable[[], PolicyEvaluator]

    def principal_document(self, relation: Relation | None = None) -> dict[str, Any]:
        """``input.principal``: tenant, subject, roles (sorted) and, for ``external_body``,
        the body it acts for (``relation.acting_for[subject]``)."""
        document: dict[str, Any] = {
            "tenant": self.principal.tenant,
            "subject": self.principal.subject,
            "roles": sorted(self.principal.roles),
        }
        body = ((relation or {}).get("acting_for") or {}).get(self.principal.subject)
        if "external_body" in self.principal.roles and isinstance(body, str):
            document["body"] = body
        return document

    def document(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Relation | None = None,
    ) -> dict[str, Any]:
        """The whole policy input for ``action`` on ``resource`` (see the module docstring);
        ``relation`` is included only when given."""
        document: dict[str, Any] = {
            "tenant": self.tenant,
            "action": action,
            "principal": self.principal_document(relation),
            "resource": dict(resource or {}),
        }
        if relation is not None:
            document["relation"] = relation
        if get_settings().policy_input_check and _validator(self.service) is not None:
            check_input(self.service, document)
        return document

    def _rule(self, name: str) -> str:
        return f"data.woms.{self.service}.authz.{name}"

    def allowed(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Relation | None = None,
    ) -> bool:
        """Whether the policy allows ``action`` on ``resource``.

        Raises:
            HTTPException: 503 when the policy engine (OPA) cannot be reached.
        """
        document = self.document(action, resource, relation)
        return self.engine().evaluate(self._rule("allow"), document) is True

    def reasons(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Relation | None = None,
    ) -> list[str]:
        """The policy's reasons (Vietnamese / English) for ``action`` on ``resource``, sorted."""
        document = self.document(action, resource, relation)
        return sorted(self.engine().evaluate(self._rule("reasons"), document) or set())

    def authorize(
        self,
        action: str,
        resource: Mapping[str, Any] | None = None,
        relation: Relation | None = None,
    ) -> None:
        """Nothing when allowed.

        Raises:
            HTTPException: 403 ``{"action": action, "reasons": [..]}`` when denied; 503 when
                the policy engine cannot be reached.
        """
        if not self.allowed(action, resource, relation):
            raise HTTPException(
                403, {"action": action, "reasons": self.reasons(action, resource, relation)}
            )
