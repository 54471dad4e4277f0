"""Who evaluates whom: the evaluator relation derived from the org chart as of a date.

Pure functions: units, memberships and overrides in (value objects mirroring the tenant file,
``docs/tenant-file.md``), :class:`EvaluatorEdge` list out, plus :func:`as_policy_data` (JSON-ready
data for the OPA/Rego policies) and :func:`decider_of` (who decides the grade).

Rules (``001 §II.3`` "Thẩm quyền đánh giá, xếp loại", ``DOMAIN.md §7``), applied to every
membership current on ``as_of`` (``start <= as_of <= end``, ``end=None`` = current):

1. **Override** — a tenant's ``evaluator_overrides`` entry for the person (and, when the
   override names a ``unit``, only for that membership) wins over every derived rule. Example:
   the Standing Deputy Party Secretary is evaluated by the city's Standing Board ("Thường trực
   Thành ủy đánh giá, xếp loại đối với đồng chí Phó Bí thư thường trực").
2. **Head of a unit with ``head_evaluated_by``** — evaluated by that external body ("Ban Thường
   vụ Thành ủy … Bí thư Đảng ủy phường"; "Ban Thường vụ Đảng ủy UBND Thành phố … Chủ tịch UBND
   phường").
3. **Head of a ``party_advisory``, ``fatherland_front`` or ``mass_org`` unit** — evaluated by the
   head of the party committee (``party_committee``: the Bí thư) nearest to the unit: ``001
   §II.3.a`` "Bí thư đảng ủy phường đánh giá … Trưởng các cơ quan tham mưu, giúp việc chuyên
   trách của Đảng ủy phường; Chủ tịch Ủy ban MTTQ, trưởng các tổ chức chính trị - xã hội".
4. **Head of any other unit** — evaluated by the head of the nearest ancestor unit that has a
   current head (``001 §II.3.b``: the UBND Chairman evaluates heads of UBND offices and of public
   service units, schools included; heads of HĐND committees by the HĐND Chairman …). When no
   ancestor has a head (e.g. the HĐND under the ward, whose Chairman 001 does not place), the
   head of the nearest party committee evaluates — **a choice**: the ward Party committee leads
   the ward's political system; tenants override it if needed.
5. **Deputy of a ``mass_org``** — evaluated by the head of the nearest ``fatherland_front`` unit
   (the MTTQ Chairman): ``001 §II.3.a`` "Chủ tịch Ủy ban MTTQ đánh giá … Cấp phó các tổ chức
   chính trị - xã hội".
6. **Deputies and staff** — evaluated by the head of their unit (``001 §II.3``: "cấp trưởng …
   đánh giá … cấp phó và CBCCVC của đơn vị mình"; "Chủ tịch HĐND … Phó Chủ tịch HĐND"; "Chủ
   tịch UBND … Phó Chủ tịch UBND"). A vacant head: the head of the nearest ancestor with a head.
7. **Nobody evaluates themselves** (``DOMAIN.md §7``): when a rule yields the person themselves
   (concurrent posts, e.g. the Bí thư who is also HĐND Chairman), the evaluator is the one who
   evaluates that person as head of the unit the rule pointed to (the next head up), repeated as
   needed. A cycle leaves the edge unresolved.
8. **Several memberships** — one edge per current membership, in input order; the first is
   ``primary``.
9. **Unresolved** — no rule applies: ``evaluator_person`` and ``evaluator_external`` are both
   ``None`` and the basis says an override is needed.

Unit types and roles are matched by code (``UnitType``, ``Role``), never by names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

__all__ = [
    "BASIS_DECIDER_EVALUATOR",
    "BASIS_DECIDER_HEAD",
    "BASIS_DECIDER_UNIT_HEAD",
    "BASIS_DECIDER_VACANT",
    "BASIS_EXTERNAL",
    "BASIS_HEAD_ABOVE",
    "BASIS_MTTQ_DEPUTY",
    "BASIS_OWN_HEAD",
    "BASIS_PARTY_FALLBACK",
    "BASIS_PARTY_SECRETARY",
    "BASIS_SELF",
    "BASIS_UNRESOLVED",
    "BASIS_VACANT",
    "Axis",
    "Decider",
    "EvaluatorEdge",
    "EvaluatorOverride",
    "OrgUnit",
    "Role",
    "UnitMembership",
    "UnitType",
    "as_policy_data",
    "decider_of",
    "derive_evaluator_edges",
]


class Axis(StrEnum):
    """Axis (khối) of an org unit (``DOMAIN.md §1``)."""

    PARTY = "party"
    COUNCIL = "council"
    COMMITTEE = "committee"
    FRONT = "front"
    PUBLIC_SERVICE = "public_service"


class UnitType(StrEnum):
    """Type of an org unit, as in the tenant file."""

    WARD = "ward"
    PARTY_COMMITTEE = "party_committee"
    PARTY_ADVISORY = "party_advisory"
    COUNCIL = "council"
    COUNCIL_COMMITTEE = "council_committee"
    PEOPLE_COMMITTEE = "people_committee"
    OFFICE = "office"
    FATHERLAND_FRONT = "fatherland_front"
    MASS_ORG = "mass_org"
    SCHOOL = "school"
    DEPARTMENT = "department"
    PUBLIC_SERVICE_UNIT = "public_service_unit"
    CITY = "city"
    PROVINCE = "province"


class Role(StrEnum):
    """Role of a person in a unit: head (cấp trưởng), deputy (cấp phó), staff."""

    HEAD = "head"
    DEPUTY = "deputy"
    STAFF = "staff"


BASIS_EXTERNAL = "001 §II.3: người đứng đầu đơn vị do {body} đánh giá, xếp loại"
BASIS_PARTY_SECRETARY = (
    "001 §II.3.a: Bí thư Đảng ủy đánh giá trưởng các cơ quan tham mưu của Đảng ủy, "
    "Chủ tịch Ủy ban MTTQ và trưởng các tổ chức chính trị - xã hội"
)
BASIS_HEAD_ABOVE = "001 §II.3: cấp trưởng đơn vị cấp trên đánh giá người đứng đầu đơn vị trực thuộc"
BASIS_PARTY_FALLBACK = (
    "001 §II.3 (suy rộng): đơn vị cấp trên không có người đứng đầu, Bí thư Đảng ủy đánh giá"
)
BASIS_MTTQ_DEPUTY = (
    "001 §II.3.a: Chủ tịch Ủy ban MTTQ đánh giá cấp phó các tổ chức chính trị - xã hội"
)
BASIS_OWN_HEAD = "001 §II.3: cấp trưởng đánh giá cấp phó và CBCCVC của đơn vị mình"
BASIS_VACANT = (
    "001 §II.3: đơn vị khuyết cấp trưởng, cấp trưởng đơn vị cấp trên đánh giá cấp phó và CBCCVC"
)
BASIS_SELF = "không ai tự đánh giá mình (DOMAIN §7): chuyển lên cấp trên"
BASIS_UNRESOLVED = (
    "chưa xác định được người đánh giá theo 001 §II.3: cần khai báo evaluator_overrides"
)
BASIS_OVERRIDE = "evaluator_overrides: {reason}"


@dataclass(frozen=True, slots=True)
class OrgUnit:
    """An org unit: ``code``, ``axis``, ``type``, ``parent`` (unit code or ``None``),
    ``head_evaluated_by`` (external body evaluating the unit's head, or ``None``).

    Raises ``ValueError`` on an unknown axis or type.
    """

    code: str
    axis: Axis
    type: UnitType
    parent: str | None = None
    head_evaluated_by: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "axis", Axis(self.axis))
        object.__setattr__(self, "type", UnitType(self.type))


@dataclass(frozen=True, slots=True)
class UnitMembership:
    """A person's post in a unit from ``start`` to ``end`` inclusive (``None`` = current), with
    the job ``position`` code held in it (``None``: none) and, for a deputy, the codes of the
    units or positions of the field they are in charge of (``in_charge_of``; ``DOMAIN.md §4``
    "the deputy in charge of that field", e.g. a Phó Chánh Văn phòng in charge of ``VP-VT``).

    Raises ``ValueError`` on an unknown role, ``end < start``, or ``in_charge_of`` on a role
    other than deputy.
    """

    person: str
    unit: str
    role: Role
    start: date
    end: date | None = None
    title: str | None = None
    position: str | None = None
    in_charge_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "in_charge_of", tuple(self.in_charge_of))
        if self.end is not None and self.end < self.start:
            raise ValueError(f"membership of {self.person} in {self.unit} ends before it starts")
        if self.in_charge_of and self.role != Role.DEPUTY:
            raise ValueError(
                f"membership of {self.person} in {self.unit}: only a deputy has a field"
            )

    def current(self, as_of: date) -> bool:
        """Whether the membership holds on ``as_of``."""
        return self.start <= as_of and (self.end is None or as_of <= self.end)


@dataclass(frozen=True, slots=True)
class EvaluatorOverride:
    """A tenant's override: ``person`` is evaluated by ``evaluator`` (a person code) or by the
    ``external`` body, for ``reason``. ``unit`` limits it to that membership (``None`` = all).

    Raises ``ValueError`` unless exactly one of ``evaluator`` / ``external`` is given, or when
    ``evaluator == person``.
    """

    person: str
    evaluator: str | None = None
    external: str | None = None
    reason: str = ""
    unit: str | None = None

    def __post_init__(self) -> None:
        if (self.evaluator is None) == (self.external is None):
            raise ValueError(
                f"override for {self.person}: give exactly one of evaluator and external"
            )
        if self.evaluator == self.person:
            raise ValueError(f"override makes {self.person} evaluate themselves (DOMAIN §7)")


@dataclass(frozen=True, slots=True)
class EvaluatorEdge:
    """One edge of the relation: ``person`` (in ``unit``, with ``role``) is evaluated by
    ``evaluator_person`` or by the external body ``evaluator_external`` (at most one is set; both
    ``None`` = unresolved). ``basis`` names the rule; ``primary`` marks the person's first current
    membership; ``unit_head`` is the current head of ``unit`` (``None`` if vacant);
    ``overridden`` is true when a tenant override decided the edge; ``position`` and
    ``in_charge_of`` are copied from the membership (:class:`UnitMembership`).
    """

    person: str
    evaluator_person: str | None
    evaluator_external: str | None
    unit: str
    basis: str
    role: Role = Role.STAFF
    primary: bool = True
    unit_head: str | None = None
    overridden: bool = False
    position: str | None = None
    in_charge_of: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        """Whether an evaluator (person or external body) was found."""
        return self.evaluator_person is not None or self.evaluator_external is not None


@dataclass(frozen=True, slots=True)
class Decider:
    """Who decides ``person``'s grade for the membership in ``unit``: ``decider_person`` or the
    external body ``decider_external`` (both ``None`` = unresolved), and the ``basis``."""

    person: str
    decider_person: str | None
    decider_external: str | None
    unit: str
    basis: str


_PARTY_SECRETARY_EVALUATES = frozenset(
    {UnitType.PARTY_ADVISORY, UnitType.FATHERLAND_FRONT, UnitType.MASS_ORG}
)


@dataclass(frozen=True, slots=True)
class _Target:
    unit: str
    person: str
    basis: str


class _Chart:
    def __init__(
        self, units: Sequence[OrgUnit], memberships: Sequence[UnitMembership], as_of: date
    ) -> None:
        self.units: dict[str, OrgUnit] = {}
        self.children: dict[str, list[OrgUnit]] = {}
        for unit in units:
            if unit.code in self.units:
                raise ValueError(f"duplicate unit code {unit.code}")
            self.units[unit.code] = unit
        for unit in units:
            if unit.parent is not None:
                if unit.parent not in self.units:
                    raise ValueError(f"unit {unit.code}: unknown parent {unit.parent}")
                self.children.setdefault(unit.parent, []).append(unit)
        for unit in units:  # cycle check
            seen = {unit.code}
            parent = unit.parent
            while parent is not None:
                if parent in seen:
                    raise ValueError(f"unit {unit.code}: cycle in parents")
                seen.add(parent)
                parent = self.units[parent].parent
        self.current = [m for m in memberships if m.current(as_of)]
        for m in memberships:
            if m.unit not in self.units:
                raise ValueError(f"membership of {m.person}: unknown unit {m.unit}")
        heads: dict[str, list[UnitMembership]] = {}
        for m in self.current:
            if m.role == Role.HEAD:
                heads.setdefault(m.unit, []).append(m)
        # One head per unit; on bad data the latest appointment (then the smallest code) wins.
        self.heads: dict[str, str] = {
            code: sorted(ms, key=lambda m: (-m.start.toordinal(), m.person))[0].person
            for code, ms in heads.items()
        }

    def ancestors(self, code: str) -> Iterable[OrgUnit]:
        parent = self.units[code].parent
        while parent is not None:
            unit = self.units[parent]
            yield unit
            parent = unit.parent

    def head_above(self, code: str) -> tuple[str, str] | None:
        for unit in self.ancestors(code):
            head = self.heads.get(unit.code)
            if head is not None:
                return unit.code, head
        return None

    def nearest_of_type(self, code: str, kind: UnitType) -> str | None:
        """The unit of type ``kind`` nearest to ``code`` (other than ``code``): ``code``'s
        ancestors first, each with its direct children (siblings of the path)."""
        for unit in (self.units[code], *self.ancestors(code)):
            if unit.type == kind and unit.code != code:
                return unit.code
            for child in self.children.get(unit.code, ()):
                if child.type == kind and child.code != code:
                    return child.code
        return None

    def headed_of_type(self, code: str, kind: UnitType, basis: str) -> _Target | None:
        found = self.nearest_of_type(code, kind)
        if found is None or found not in self.heads:
            return None
        return _Target(found, self.heads[found], basis)

    def target(self, unit: OrgUnit, role: Role) -> _Target | None:
        if role == Role.HEAD:
            if unit.type in _PARTY_SECRETARY_EVALUATES:
                hit = self.headed_of_type(
                    unit.code, UnitType.PARTY_COMMITTEE, BASIS_PARTY_SECRETARY
                )
                if hit is not None:
                    return hit
            above = self.head_above(unit.code)
            if above is not None:
                return _Target(above[0], above[1], BASIS_HEAD_ABOVE)
            return self.headed_of_type(unit.code, UnitType.PARTY_COMMITTEE, BASIS_PARTY_FALLBACK)
        if role == Role.DEPUTY and unit.type == UnitType.MASS_ORG:
            hit = self.headed_of_type(unit.code, UnitType.FATHERLAND_FRONT, BASIS_MTTQ_DEPUTY)
            if hit is not None:
                return hit
        head = self.heads.get(unit.code)
        if head is not None:
            return _Target(unit.code, head, BASIS_OWN_HEAD)
        above = self.head_above(unit.code)
        if above is not None:
            return _Target(above[0], above[1], BASIS_VACANT)
        return None

    def derive(
        self, person: str, unit_code: str, role: Role, visited: frozenset[str]
    ) -> tuple[str | None, str | None, str]:
        """``(evaluator_person, evaluator_external, basis)`` for ``person`` as ``role`` of the
        unit, before overrides."""
        unit = self.units[unit_code]
        if role == Role.HEAD and unit.head_evaluated_by:
            return None, unit.head_evaluated_by, BASIS_EXTERNAL.format(body=unit.head_evaluated_by)
        hit = self.target(unit, role)
        if hit is None:
            return None, None, BASIS_UNRESOLVED
        if hit.person != person:
            return hit.person, None, hit.basis
        if hit.unit in visited:
            return None, None, f"{hit.basis}; {BASIS_SELF}; {BASIS_UNRESOLVED}"
        ev_person, ev_external, basis = self.derive(
            person, hit.unit, Role.HEAD, visited | {hit.unit}
        )
        return ev_person, ev_external, f"{hit.basis}; {BASIS_SELF}: {basis}"


def derive_evaluator_edges(
    units: Sequence[OrgUnit],
    memberships: Sequence[UnitMembership],
    overrides: Sequence[EvaluatorOverride] = (),
    *,
    as_of: date,
) -> list[EvaluatorEdge]:
    """The evaluator relation on ``as_of``: one :class:`EvaluatorEdge` per membership current
    on that day, in the order of ``memberships``; see the module docstring for the rules.

    Raises ``ValueError`` on a duplicate unit code, an unknown parent or membership unit, a
    cycle of parents, or an override whose evaluator is the person themselves.
    """
    chart = _Chart(units, memberships, as_of)
    by_person: dict[str, list[EvaluatorOverride]] = {}
    for override in overrides:
        by_person.setdefault(override.person, []).append(override)
    edges: list[EvaluatorEdge] = []
    seen_people: set[str] = set()
    for m in chart.current:
        candidates = by_person.get(m.person, [])
        override = next((o for o in candidates if o.unit == m.unit), None) or next(
            (o for o in candidates if o.unit is None), None
        )
        if override is not None:
            ev_person, ev_external = override.evaluator, override.external
            basis = BASIS_OVERRIDE.format(reason=override.reason or "001 §II.3")
        else:
            visited = frozenset({m.unit}) if m.role == Role.HEAD else frozenset()
            ev_person, ev_external, basis = chart.derive(m.person, m.unit, m.role, visited)
        edges.append(
            EvaluatorEdge(
                person=m.person,
                evaluator_person=ev_person,
                evaluator_external=ev_external,
                unit=m.unit,
                basis=basis,
                role=m.role,
                primary=m.person not in seen_people,
                unit_head=chart.heads.get(m.unit),
                overridden=override is not None,
                position=m.position,
                in_charge_of=m.in_charge_of,
            )
        )
        seen_people.add(m.person)
    return edges


BASIS_DECIDER_HEAD = (
    "001 §I.6, §II.3: cấp có thẩm quyền đánh giá người đứng đầu quyết định xếp loại"
)
BASIS_DECIDER_VACANT = "001 §I.6: đơn vị khuyết cấp trưởng, người đánh giá quyết định xếp loại"
BASIS_DECIDER_EVALUATOR = (
    "001 §II.3: người đánh giá không phải cấp trưởng đơn vị thì chính người đó đánh giá, xếp "
    "loại (vd. Chủ tịch Ủy ban MTTQ đánh giá, xếp loại cấp phó các tổ chức chính trị - xã hội); "
    "người quyết định không thấp hơn người đánh giá"
)
BASIS_DECIDER_UNIT_HEAD = "001 §I.6: người đứng đầu cơ quan, đơn vị quyết định việc xếp loại"


def decider_of(
    person: str, edges: Sequence[EvaluatorEdge], *, unit: str | None = None
) -> Decider | None:
    """Who decides ``person``'s grade, for the membership in ``unit`` (default: the primary one).

    Principle "the head decides" (``001 §I.6``: "Người đứng đầu cơ quan, tổ chức, đơn vị quyết
    định việc xếp loại, đánh giá CBCCVC theo thẩm quyền"), bounded by ``001 §II.3``, which lists
    who "đánh giá, xếp loại" (evaluates *and grades*) whom — so **the decider is never below the
    reviewer**:

    - an override naming an external body: that body (it evaluates and grades);
    - a head of a unit: his evaluator (person or external body);
    - anyone else whose evaluator is the head of their unit: that head;
    - anyone else whose evaluator is *not* the head of their unit (the unit has no head, or a
      rule or override gives the review to someone else): the evaluator. Example ``001
      §II.3.a`` "Chủ tịch Ủy ban MTTQ đánh giá, xếp loại đối với: … Cấp phó các tổ chức chính
      trị - xã hội": the deputy of a ``mass_org`` (P054, Phó Chủ tịch Hội LHPN) is reviewed
      *and* decided by the MTTQ Chairman (P049), not by the mass organisation's head (P053),
      who is herself evaluated by the Bí thư and is not above the Chairman.
    - unresolved (no evaluator at all): the unit head if there is one (``001 §I.6``), else
      nobody.

    Returns ``None`` when ``person`` has no edge (for ``unit``).
    """
    mine = [e for e in edges if e.person == person and (unit is None or e.unit == unit)]
    if not mine:
        return None
    edge = next((e for e in mine if e.primary), mine[0]) if unit is None else mine[0]
    if edge.overridden and edge.evaluator_external is not None:
        return Decider(person, None, edge.evaluator_external, edge.unit, edge.basis)
    if edge.role == Role.HEAD:
        return Decider(
            person,
            edge.evaluator_person,
            edge.evaluator_external,
            edge.unit,
            BASIS_DECIDER_HEAD,
        )
    head = edge.unit_head if edge.unit_head != person else None
    if edge.resolved and edge.evaluator_person != head:
        basis = BASIS_DECIDER_VACANT if head is None else BASIS_DECIDER_EVALUATOR
        return Decider(person, edge.evaluator_person, edge.evaluator_external, edge.unit, basis)
    return Decider(person, head, None, edge.unit, BASIS_DECIDER_UNIT_HEAD)


def _append(mapping: dict[str, list[str]], key: str, value: str) -> None:
    values = mapping.setdefault(key, [])
    if value not in values:
        values.append(value)


def as_policy_data(
    edges: Sequence[EvaluatorEdge],
    delegations: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """JSON-ready data for the OPA/Rego policies (``services.common.policy``) and for
    :func:`services.common.authorizer.authorities_over`.

    ``delegations`` is ``{unit: [delegate person, ...]}`` of the head's delegations valid on
    the relation's day (the service reads them; ``DOMAIN.md §4``), copied as given.

    Shape (all keys person or unit codes; lists without duplicates, primary membership first)::

        {
          "evaluator_of":  {person: [evaluator person, ...]},   # every person, maybe []
          "evaluatees_of": {evaluator person: [person, ...]},
          "unit_heads":    {unit: head person},                 # units with a current head
          "unit_members":  {unit: [person, ...]},               # head included
          "external":      {person: external body},             # primary external first
          "decider_of":    {person: decider person},            # see decider_of()
          "decider_external": {person: external body},
          "unresolved":    [person, ...],                       # an edge without evaluator
          "in_charge_of":  {deputy: [unit or position code, ...]},  # deputies with a field
          "positions_of":  {person: [position code, ...]},  # people holding a position
          "delegations":   {unit: [delegate person, ...]},  # valid on the day
        }
    """
    ordered = sorted(edges, key=lambda e: not e.primary)  # stable: primary edges first
    evaluator_of: dict[str, list[str]] = {}
    evaluatees_of: dict[str, list[str]] = {}
    unit_heads: dict[str, str] = {}
    unit_members: dict[str, list[str]] = {}
    external: dict[str, str] = {}
    unresolved: list[str] = []
    in_charge_of: dict[str, list[str]] = {}
    positions_of: dict[str, list[str]] = {}
    for e in ordered:
        evaluator_of.setdefault(e.person, [])
        for code in e.in_charge_of:
            _append(in_charge_of, e.person, code)
        if e.position is not None:
            _append(positions_of, e.person, e.position)
        if e.evaluator_person is not None:
            _append(evaluator_of, e.person, e.evaluator_person)
            _append(evaluatees_of, e.evaluator_person, e.person)
        if e.evaluator_external is not None:
            external.setdefault(e.person, e.evaluator_external)
        if not e.resolved and e.person not in unresolved:
            unresolved.append(e.person)
        if e.unit_head is not None:
            unit_heads[e.unit] = e.unit_head
        _append(unit_members, e.unit, e.person)
    decider: dict[str, str] = {}
    decider_external: dict[str, str] = {}
    for person in evaluator_of:
        d = decider_of(person, edges)
        if d is None:  # pragma: no cover - every person here has an edge
            continue
        if d.decider_person is not None:
            decider[person] = d.decider_person
        elif d.decider_external is not None:
            decider_external[person] = d.decider_external
    return {
        "evaluator_of": evaluator_of,
        "evaluatees_of": evaluatees_of,
        "unit_heads": unit_heads,
        "unit_members": unit_members,
        "external": external,
        "decider_of": decider,
        "decider_external": decider_external,
        "unresolved": unresolved,
        "in_charge_of": in_charge_of,
        "positions_of": positions_of,
        "delegations": {
            unit: list(dict.fromkeys(people)) for unit, people in (delegations or {}).items()
        },
    }
