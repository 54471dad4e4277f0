"""The tenant file: one YAML file that onboards a province (``docs/tenant-file.md``).

The models below are the contract of ``data/tenants/<code>/tenant.yaml``: every model is frozen
and forbids unknown keys; collections are tuples. Numbers that matter (coefficients, weights,
thresholds, targets, the quota ratio) are :class:`~decimal.Decimal`; :func:`load_tenant_file`
reads YAML floats as ``Decimal(str)`` so ``0.1`` stays exactly ``Decimal('0.1')``.

Constructing a :class:`TenantFile` always runs the cross-checks of :func:`cross_check` (unique
codes, references, parent before child, no cycles, one head per unit at a time, weights …); a
:class:`TenantFile` instance is therefore always consistent. Errors of a single model (a
membership ending before it starts, a key result with thresholds out of order) are raised by
that model's own validator.

Loading (:func:`load_tenant_file`) raises :class:`~services.common.errors.InputError` with the
1-based line and column of the YAML node at fault: the YAML is composed into nodes first, each
node's path (``('people', 3, 'memberships', 0, 'role')``) is mapped to its start mark, and
pydantic error locations and cross-check paths are looked up in that map.

Sources: roles and who evaluates whom ``001_d4bf1d183fe0817b.txt §II.3``; work catalog and
conversion ``001 §III.1``; plan structure and perspectives ``004_f7138e65d59d58e5.txt`` Part A;
goal tree ``002_d6bfb34b4564ffdb.txt``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from services.common.errors import InputError

# --------------------------------------------------------------------------------------------
# Enumerations (Literal types; the tuples list the allowed values in documentation order).

Axis = Literal["party", "council", "committee", "front", "public_service"]
UnitType = Literal[
    "ward",
    "party_committee",
    "party_advisory",
    "council",
    "council_committee",
    "people_committee",
    "office",
    "fatherland_front",
    "mass_org",
    "school",
    "department",
    "public_service_unit",
    "city",
    "province",
]
Role = Literal["head", "deputy", "staff"]
GrantedRole = Literal["tenant_admin", "central", "external_body"]
Perspective = Literal["citizens", "finance", "process", "learning"]
KeyResultKind = Literal["kpi", "okr"]
Direction = Literal["higher", "lower"]
ProgressSource = Literal["key_results", "children", "both"]
PlanStatus = Literal["draft", "submitted", "approved", "returned"]
PeriodKind = Literal["year", "quarter", "month", "week"]
DelayPenaltyUnit = Literal["per_delay", "per_day"]

AXES: tuple[str, ...] = get_args(Axis)
UNIT_TYPES: tuple[str, ...] = get_args(UnitType)
ROLES: tuple[str, ...] = get_args(Role)
GRANTED_ROLES: tuple[str, ...] = get_args(GrantedRole)
PERSPECTIVES: tuple[str, ...] = get_args(Perspective)
KEY_RESULT_KINDS: tuple[str, ...] = get_args(KeyResultKind)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
PROGRESS_SOURCES: tuple[str, ...] = get_args(ProgressSource)
PLAN_STATUSES: tuple[str, ...] = get_args(PlanStatus)
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)

HUNDRED = Decimal(100)

# --------------------------------------------------------------------------------------------
# Field types.


def _nfc(value: Any) -> Any:
    """Normalise Vietnamese text to NFC so that the same name is always the same string."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _exact_number(value: Any) -> Any:
    """Refuse booleans where a number is expected (``True`` is not ``1``)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)]
TenantCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", max_length=40)]
Text = Annotated[str, BeforeValidator(_nfc), StringConstraints(strip_whitespace=True, min_length=1)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Number = Annotated[Decimal, BeforeValidator(_exact_number), Field(allow_inf_nan=False)]
Weight = Annotated[Decimal, BeforeValidator(_exact_number), Field(gt=0, le=100)]
Coefficient = Annotated[Decimal, BeforeValidator(_exact_number), Field(gt=0, le=1000)]
Day = Annotated[StrictInt, Field(ge=1, le=28)]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
DataSource = Annotated[str, StringConstraints(pattern=r"^(manual|system:[a-z0-9_.-]+)$")]
TimeZone = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$")]
#: A general-criteria form template file, relative to the tenant file (docs/evaluation-forms.md).
FormFile = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\.ya?ml$")]

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check.

    Attributes:
        loc: path of the offending value, e.g. ``('people', 3, 'memberships', 0, 'role')``
            (relative to the model that raised it when inside a single model).
        reason: what is wrong, in plain words.
        see: an optional path of a related value (the first definition of a duplicate …);
            loaders turn it into ``(see line N)``.
    """

    loc: Loc
    reason: str
    see: Loc | None = None


class CrossCheckError(ValueError):
    """Raised by model validators; carries the :class:`Problem` list (never empty)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(f"{format_loc(p.loc)}: {p.reason}" for p in self.problems))


def format_loc(loc: Loc) -> str:
    """``('people', 3, 'role')`` → ``'people[3].role'``; ``()`` → ``'tenant'``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "tenant"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise CrossCheckError(problems)


# --------------------------------------------------------------------------------------------
# Settings.


class Calendar(_Model):
    """Evaluation and planning calendar (DOMAIN.md §6, 004 Part A §II); defaults per 001 §IV.1.

    Days are days of the month (1–28, so that every month has them). ``period_start_day`` 1 is
    the calendar month; 25 means 25th → 24th (002). Raises ``CrossCheckError`` when the
    self-assessment, review and approval days are not in this order.

    Two keys tune the monthly cycle (``services.evaluation.cycle_settings``):
    ``seconds_per_day`` (1–86 400 s, ``None`` = real days) compresses the month for demos — a
    "day" lasts that many seconds from the cycle start; ``reminder_days_before`` (days, each
    1–28) sends reminders that many days before each deadline.
    """

    period_start_day: Day = 1
    self_assessment_day: Day = 25
    review_day: Day = 26
    approval_day: Day = 28
    publication_day: Day = 5
    december_deadline_day: Day = 15
    annual_plan_submit: MonthDay = "11-30"
    annual_plan_approve: MonthDay = "12-25"
    monthly_plan_day: Day = 5
    quarterly_plan_day: Day = 10
    seconds_per_day: Annotated[StrictInt, Field(ge=1, le=86_400)] | None = None
    reminder_days_before: tuple[Day, ...] = (2, 1)

    @model_validator(mode="after")
    def _check(self) -> Calendar:
        problems = []
        if self.review_day < self.self_assessment_day:
            problems.append(Problem(("review_day",), "must not be before self_assessment_day"))
        if self.approval_day < self.review_day:
            problems.append(Problem(("approval_day",), "must not be before review_day"))
        for name in ("annual_plan_submit", "annual_plan_approve"):
            month, day = (int(x) for x in getattr(self, name).split("-"))
            try:
                date(2000, month, day)
            except ValueError:
                problems.append(Problem((name,), f"{getattr(self, name)} is not a day of the year"))
        _raise(problems)
        return self


class ScoringSettings(_Model):
    """Tenant scoring settings (DOMAIN.md §5).

    ``delay_penalty_unit``: ``per_delay`` (001 §III.2) or ``per_day`` (002);
    ``excellent_requires_exceeding``: grade A also needs 100% done and ≥ 30% exceeded
    (000 §II.2); ``excellent_quota_ratio``: A grades ≤ ratio × B grades, 0–0.25 (001 §II.2.5).
    """

    delay_penalty_unit: DelayPenaltyUnit = "per_delay"
    excellent_requires_exceeding: StrictBool = False
    excellent_quota_ratio: Annotated[
        Decimal, BeforeValidator(_exact_number), Field(ge=0, le=Decimal("0.25"))
    ] = Decimal("0.2")


# --------------------------------------------------------------------------------------------
# Organisation.


class Unit(_Model):
    """An org unit on one of the four axes (or a public service unit), 001 §II.3.

    ``head_evaluated_by`` names an external body that evaluates this unit's head (e.g.
    "Ban Thường vụ Thành ủy"); ``parent`` is the code of the parent unit, listed earlier.
    """

    code: Code
    name: Text
    axis: Axis
    type: UnitType
    parent: Code | None = None
    head_evaluated_by: Text | None = None


class Position(_Model):
    """A job position (vị trí việc làm) of a unit."""

    code: Code
    name: Text
    unit: Code


class Membership(_Model):
    """A person's post in a unit for a date range (``end`` None = current, inclusive).

    ``in_charge_of`` (deputies only): codes of the units or positions of the tenant that make
    the deputy's field (``DOMAIN.md §4`` "a deputy in charge of that field"), e.g. a Phó Chánh
    Văn phòng in charge of positions ``VP-VT`` and ``VP-KT`` of the office, or a Phó Chủ tịch
    UBND in charge of the offices ``PL-VHXH`` and ``PL-THPL``. The codes are checked against
    the file's units and positions by :func:`check_org`.

    Raises ``CrossCheckError`` at ``end`` when ``end`` is before ``start``; at
    ``in_charge_of`` when set on a role other than ``deputy`` or when a code repeats.
    """

    unit: Code
    role: Role
    title: Text
    position: Code | None = None
    start: date
    end: date | None = None
    in_charge_of: tuple[Code, ...] | None = Field(None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> Membership:
        problems = []
        if self.end is not None and self.end < self.start:
            problems.append(Problem(("end",), f"end {self.end} is before start {self.start}"))
        if self.in_charge_of is not None:
            if self.role != "deputy":
                problems.append(
                    Problem(
                        ("in_charge_of",),
                        f"only a deputy is in charge of a field (role is {self.role})",
                    )
                )
            for i, code in enumerate(self.in_charge_of):
                if code in self.in_charge_of[:i]:
                    problems.append(Problem(("in_charge_of", i), f"'{code}' is listed twice"))
        _raise(problems)
        return self

    def active_on(self, day: date) -> bool:
        """Whether the post is held on ``day``."""
        return self.start <= day and (self.end is None or day <= self.end)


class Person(_Model):
    """A staff member (CBCCVC) with at least one membership; history is kept."""

    code: Code
    name: Text
    email: Email | None = None
    memberships: tuple[Membership, ...] = Field(min_length=1)

    def memberships_on(self, day: date) -> tuple[Membership, ...]:
        """The posts held on ``day`` (several when the person holds posts concurrently)."""
        return tuple(m for m in self.memberships if m.active_on(day))


class EvaluatorOverride(_Model):
    """An explicit override of who evaluates ``person`` (001 §II.3).

    Exactly one of ``evaluator`` (a person code) and ``external`` (a body outside the tenant's
    people, e.g. "Thường trực Thành ủy") is set; nobody evaluates themselves. Raises
    ``CrossCheckError`` otherwise.
    """

    person: Code
    evaluator: Code | None = None
    external: Text | None = None
    reason: Text

    @model_validator(mode="after")
    def _check(self) -> EvaluatorOverride:
        if (self.evaluator is None) == (self.external is None):
            _raise([Problem(("evaluator",), "set exactly one of evaluator and external")])
        if self.evaluator == self.person:
            _raise([Problem(("evaluator",), "nobody evaluates themselves")])
        return self


class RoleGrant(_Model):
    """A role granted to ``subject`` (issue 9, ``docs/identity.md``): a person code or an
    account that is not a person (e.g. ``admin``). ``role``: ``tenant_admin`` (the tenant's
    administrators), ``central`` (a central body reading across units), ``external_body``
    (acts for the body named in ``body``, e.g. "Ban Thường vụ Thành ủy"). The grant holds from
    ``start`` to ``end`` inclusive (``None`` = unbounded).

    Raises ``CrossCheckError`` at ``end`` when it is before ``start``, at ``body`` when set on
    a role other than ``external_body``.
    """

    subject: Code
    role: GrantedRole
    body: Text | None = None
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _check(self) -> RoleGrant:
        problems = []
        if self.start is not None and self.end is not None and self.end < self.start:
            problems.append(Problem(("end",), f"end {self.end} is before start {self.start}"))
        if self.body is not None and self.role != "external_body":
            problems.append(Problem(("body",), "only an external_body grant names a body"))
        _raise(problems)
        return self

    def active_on(self, day: date) -> bool:
        """Whether the grant holds on ``day``."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


class Delegation(_Model):
    """A delegation by the head of ``unit`` to ``delegate`` (``DOMAIN.md §4``: "a delegation
    by the head — to a named person, for a period, recorded — counts as the head's"), from
    ``start`` to ``end`` inclusive, for the written ``basis`` (the decision or reason).

    The delegator is the unit's head on ``start``; the cross-checks of the file
    (:func:`check_delegations`) require that head, a delegate who is not that head and holds a
    membership of the tenant on ``start``, and no overlapping delegation to the same person in
    the same unit. Raises ``CrossCheckError`` at ``end`` when it is before ``start``.
    """

    unit: Code
    delegate: Code
    start: date
    end: date
    basis: Text

    @model_validator(mode="after")
    def _check(self) -> Delegation:
        if self.end < self.start:
            _raise([Problem(("end",), f"end {self.end} is before start {self.start}")])
        return self


class CatalogItem(_Model):
    """One version of a work catalog item (001 §III.1): points = quantity × coefficient.

    Versions of an item share ``code`` and ``unit`` and differ by ``effective_from``.
    """

    code: Code
    unit: Code
    name: Text
    complexity_group: Annotated[StrictInt, Field(ge=1, le=5)]
    standard_unit: Text
    coefficient: Coefficient
    effective_from: date


# --------------------------------------------------------------------------------------------
# Plans.


class PlanPeriod(_Model):
    """``{kind: year, year: 2026}``; quarter (1–4), month (1–12) and ISO week (1–53) add
    ``number``. Raises ``CrossCheckError`` at ``number`` when it is missing, extra or out of
    range."""

    kind: PeriodKind
    year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    number: StrictInt | None = None

    @model_validator(mode="after")
    def _check(self) -> PlanPeriod:
        top = {
            "year": 0,
            "quarter": 4,
            "month": 12,
            "week": date(self.year, 12, 28).isocalendar()[1],
        }
        limit = top[self.kind]
        if limit == 0 and self.number is not None:
            _raise([Problem(("number",), "a year period has no number")])
        if limit and (self.number is None or not 1 <= self.number <= limit):
            _raise([Problem(("number",), f"a {self.kind} period needs a number 1–{limit}")])
        return self

    def label(self) -> str:
        """``'2026'``, ``'2026-Q2'``, ``'2026-05'`` or ``'2026-W18'``."""
        if self.kind == "year":
            return str(self.year)
        fmt = {"quarter": "{y}-Q{n}", "month": "{y}-{n:02d}", "week": "{y}-W{n:02d}"}
        return fmt[self.kind].format(y=self.year, n=self.number)


class KeyResult(_Model):
    """A key result (mục tiêu then chốt), 004 Part A §II, DOMAIN.md §2.

    A ``kpi`` declares all three thresholds. Thresholds are ordered by ``direction``:
    ``higher``: fail ≤ complete ≤ exceed and complete ≤ target; ``lower``: the reverse.
    Raises ``CrossCheckError`` at the offending threshold.
    """

    code: Code
    title: Text
    kind: KeyResultKind
    unit_of_measure: Text
    direction: Direction = "higher"
    baseline: Number | None = None
    target: Number
    complete_threshold: Number | None = None
    exceed_threshold: Number | None = None
    fail_threshold: Number | None = None
    weight: Weight
    data_source: DataSource = "manual"
    evidence_required: StrictBool = False
    current: Number | None = None

    @model_validator(mode="after")
    def _check(self) -> KeyResult:
        problems: list[Problem] = []
        names = ("fail_threshold", "complete_threshold", "exceed_threshold")
        if self.kind == "kpi":
            problems += [
                Problem((n,), "a kpi needs this threshold")
                for n in names
                if getattr(self, n) is None
            ]
        sign = 1 if self.direction == "higher" else -1
        chain = [(n, getattr(self, n)) for n in names if getattr(self, n) is not None]
        for (low_name, low), (high_name, high) in pairwise(chain):
            if sign * (high - low) < 0:
                word = "below" if sign > 0 else "above"
                problems.append(Problem((high_name,), f"{high} is {word} {low_name} {low}"))
        if (
            self.complete_threshold is not None
            and sign * (self.target - self.complete_threshold) < 0
        ):
            word = "below" if sign > 0 else "above"
            problems.append(
                Problem(
                    ("target",),
                    f"{self.target} is {word} complete_threshold {self.complete_threshold}",
                )
            )
        _raise(problems)
        return self


class Objective(_Model):
    """A plan item (nhiệm vụ) with 1–5 key results whose weights sum to 100.

    ``breakthrough`` items are excluded from evaluation (004 Phụ lục 4 §3.2);
    ``parent_key_result`` is the code of the key result (of another plan) it serves.
    """

    code: Code
    title: Text
    perspective: Perspective
    breakthrough: StrictBool = False
    weight: Weight
    progress_source: ProgressSource = "key_results"
    parent_key_result: Code | None = None
    key_results: tuple[KeyResult, ...] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _check(self) -> Objective:
        total = sum((k.weight for k in self.key_results), Decimal(0))
        if total != HUNDRED:
            _raise([Problem(("key_results",), f"key result weights sum to {total}, not 100")])
        return self


class Plan(_Model):
    """A plan of a unit or of a person for a period; objective weights sum to 100.

    Exactly one of ``owner_unit`` and ``owner_person`` is set. ``title`` is optional.
    """

    code: Code
    title: Text | None = None
    owner_unit: Code | None = None
    owner_person: Code | None = None
    period: PlanPeriod
    status: PlanStatus = "draft"
    objectives: tuple[Objective, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Plan:
        problems = []
        if (self.owner_unit is None) == (self.owner_person is None):
            problems.append(
                Problem(("owner_unit",), "set exactly one of owner_unit and owner_person")
            )
        total = sum((o.weight for o in self.objectives), Decimal(0))
        if total != HUNDRED:
            problems.append(Problem(("objectives",), f"objective weights sum to {total}, not 100"))
        _raise(problems)
        return self


# --------------------------------------------------------------------------------------------
# The file.


class TenantFile(_Model):
    """The whole tenant file. Construction runs :func:`cross_check`.

    Raises:
        pydantic.ValidationError: on a bad field, or (type ``value_error`` whose
            ``ctx['error']`` is a :class:`CrossCheckError`) when a cross-check fails.
    """

    code: TenantCode
    name: Text
    time_zone: TimeZone = "Asia/Ho_Chi_Minh"
    calendar: Calendar = Calendar()
    scoring: ScoringSettings = ScoringSettings()
    units: tuple[Unit, ...] = Field(min_length=1)
    positions: tuple[Position, ...] = ()
    people: tuple[Person, ...] = ()
    evaluator_overrides: tuple[EvaluatorOverride, ...] = ()
    #: Roles granted to people and accounts (issue 9): the only source of ``tenant_admin``,
    #: ``central`` and ``external_body`` (services/common/roles.py).
    role_grants: tuple[RoleGrant, ...] = ()
    #: Delegations by units' heads (issue 15, ``DOMAIN.md §4``).
    delegations: tuple[Delegation, ...] = ()
    catalog: tuple[CatalogItem, ...] = ()
    plans: tuple[Plan, ...] = ()
    #: General-criteria form templates (Phụ lục 1 / 2, ``001 §II.1``), paths relative to the
    #: tenant file; read and checked by onboarding with ``services.evaluation.forms``.
    forms: tuple[FormFile, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> TenantFile:
        _raise(cross_check(self))
        return self

    def unit(self, code: str) -> Unit:
        """The unit with ``code``. Raises ``KeyError`` if there is none."""
        for unit in self.units:
            if unit.code == code:
                return unit
        raise KeyError(code)

    def person(self, code: str) -> Person:
        """The person with ``code``. Raises ``KeyError`` if there is none."""
        for person in self.people:
            if person.code == code:
                return person
        raise KeyError(code)

    def catalog_item(self, code: str, on: date) -> CatalogItem:
        """The version of catalog item ``code`` in force on ``on``. Raises ``KeyError``."""
        versions = [c for c in self.catalog if c.code == code and c.effective_from <= on]
        if not versions:
            raise KeyError(code)
        return max(versions, key=lambda c: c.effective_from)


# --------------------------------------------------------------------------------------------
# Cross-checks.


def _first_index(items: Iterable[Any], key: str, root: str) -> tuple[dict[Any, int], list[Problem]]:
    index: dict[Any, int] = {}
    problems: list[Problem] = []
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in index:
            problems.append(
                Problem((root, i, key), f"duplicate code '{value}'", (root, index[value], key))
            )
        else:
            index[value] = i
    return index, problems


def check_org(
    units: Sequence[Unit],
    positions: Sequence[Position],
    people: Sequence[Person],
    catalog: Sequence[CatalogItem],
) -> list[Problem]:
    """Cross-checks of the org chart, people and catalog (paths rooted at ``units`` …).

    Checks: unique codes (catalog: code + ``effective_from``); parents exist, come before their
    children, no cycles; positions', memberships' and catalog items' units exist; membership
    positions exist and belong to the membership's unit; a deputy's ``in_charge_of`` codes are
    units or positions of the tenant; a person's memberships in one unit do
    not overlap; at most one head per unit at any date;
    catalog versions of one code share their unit. Returns every problem found (empty = fine).
    """
    unit_index, problems = _first_index(units, "code", "units")
    for i, unit in enumerate(units):
        parent = unit.parent
        if parent is None:
            continue
        where = ("units", i, "parent")
        if parent not in unit_index:
            problems.append(Problem(where, f"unknown parent unit '{parent}'"))
        elif parent == unit.code:
            problems.append(Problem(where, f"parent cycle: {unit.code} → {unit.code}"))
        elif unit_index[parent] > i:
            chain = [unit.code]
            step: str | None = parent
            while step is not None and step in unit_index and step not in chain:
                chain.append(step)
                step = units[unit_index[step]].parent
            if step is not None and step in chain:
                cycle = [*chain[chain.index(step) :], step]
                problems.append(Problem(where, "parent cycle: " + " → ".join(cycle)))
            else:
                problems.append(
                    Problem(
                        where,
                        f"parent '{parent}' must come before its child",
                        ("units", unit_index[parent]),
                    )
                )

    position_index, more = _first_index(positions, "code", "positions")
    problems += more
    for i, position in enumerate(positions):
        if position.unit not in unit_index:
            problems.append(Problem(("positions", i, "unit"), f"unknown unit '{position.unit}'"))

    _, more = _first_index(people, "code", "people")
    problems += more
    heads: dict[str, list[tuple[Membership, Loc, str]]] = {}
    for i, person in enumerate(people):
        for j, m in enumerate(person.memberships):
            where: Loc = ("people", i, "memberships", j)
            if m.unit not in unit_index:
                problems.append(Problem((*where, "unit"), f"unknown unit '{m.unit}'"))
            if m.position is not None:
                if m.position not in position_index:
                    problems.append(
                        Problem((*where, "position"), f"unknown position '{m.position}'")
                    )
                else:
                    owner = positions[position_index[m.position]].unit
                    if owner != m.unit:
                        problems.append(
                            Problem(
                                (*where, "position"),
                                f"position '{m.position}' belongs to unit '{owner}', "
                                f"not '{m.unit}'",
                            )
                        )
            for k, code in enumerate(m.in_charge_of or ()):
                if code not in unit_index and code not in position_index:
                    problems.append(
                        Problem(
                            (*where, "in_charge_of", k),
                            f"'{code}' is neither a unit nor a position of the tenant",
                        )
                    )
            for k, earlier in enumerate(person.memberships[:j]):
                if earlier.unit == m.unit and _overlap(m, earlier):
                    problems.append(
                        Problem(
                            (*where, "start"),
                            f"overlaps another membership of {person.code} in unit '{m.unit}'",
                            ("people", i, "memberships", k),
                        )
                    )
            if m.role != "head":
                continue
            for other, other_where, other_code in heads.get(m.unit, []):
                if _overlap(m, other):
                    since = max(m.start, other.start)
                    problems.append(
                        Problem(
                            (*where, "role"),
                            f"unit '{m.unit}' would have two heads at once "
                            f"({other_code} and {person.code} from {since})",
                            (*other_where, "role"),
                        )
                    )
            heads.setdefault(m.unit, []).append((m, where, person.code))

    versions: dict[str, int] = {}
    seen: dict[tuple[str, date], int] = {}
    for i, item in enumerate(catalog):
        if item.unit not in unit_index:
            problems.append(Problem(("catalog", i, "unit"), f"unknown unit '{item.unit}'"))
        key = (item.code, item.effective_from)
        if key in seen:
            problems.append(
                Problem(
                    ("catalog", i, "effective_from"),
                    f"duplicate catalog item '{item.code}' effective from {item.effective_from}",
                    ("catalog", seen[key]),
                )
            )
        else:
            seen[key] = i
        first = versions.setdefault(item.code, i)
        if catalog[first].unit != item.unit:
            problems.append(
                Problem(
                    ("catalog", i, "unit"),
                    f"versions of '{item.code}' must share unit '{catalog[first].unit}'",
                    ("catalog", first, "unit"),
                )
            )
    return problems


def _overlap(a: Membership, b: Membership) -> bool:
    far = date.max
    return a.start <= (b.end or far) and b.start <= (a.end or far)


def cross_check(tenant: TenantFile) -> list[Problem]:
    """Every cross-check of a tenant file (see :func:`check_org`), plus:

    evaluator overrides name existing people, one override per person; role grants do not repeat
    (:func:`check_grants`); delegations name a headed unit and a delegate holding a post
    (:func:`check_delegations`); plan codes unique,
    objective codes and key result codes unique across the whole file; plan owners exist;
    ``parent_key_result`` names a key result of another plan and plans do not cascade in a
    cycle. Returns every problem found (empty = fine).
    """
    problems = check_org(tenant.units, tenant.positions, tenant.people, tenant.catalog)
    unit_codes = {u.code for u in tenant.units}
    person_codes = {p.code for p in tenant.people}

    overridden: dict[str, int] = {}
    for i, o in enumerate(tenant.evaluator_overrides):
        where: Loc = ("evaluator_overrides", i)
        if o.person not in person_codes:
            problems.append(Problem((*where, "person"), f"unknown person '{o.person}'"))
        if o.evaluator is not None and o.evaluator not in person_codes:
            problems.append(Problem((*where, "evaluator"), f"unknown person '{o.evaluator}'"))
        if o.person in overridden:
            problems.append(
                Problem(
                    (*where, "person"),
                    f"second override for '{o.person}'",
                    (*where[:1], overridden[o.person]),
                )
            )
        overridden.setdefault(o.person, i)

    problems += check_grants(tenant.role_grants)
    problems += check_delegations(tenant.delegations, tenant.units, tenant.people)
    _, more = _first_index(tenant.plans, "code", "plans")
    problems += more
    objectives: dict[str, Loc] = {}
    key_results: dict[str, tuple[Loc, int]] = {}
    for p, plan in enumerate(tenant.plans):
        if plan.owner_unit is not None and plan.owner_unit not in unit_codes:
            problems.append(
                Problem(("plans", p, "owner_unit"), f"unknown unit '{plan.owner_unit}'")
            )
        if plan.owner_person is not None and plan.owner_person not in person_codes:
            problems.append(
                Problem(("plans", p, "owner_person"), f"unknown person '{plan.owner_person}'")
            )
        for o, objective in enumerate(plan.objectives):
            where = ("plans", p, "objectives", o, "code")
            if objective.code in objectives:
                problems.append(
                    Problem(
                        where,
                        f"duplicate objective code '{objective.code}'",
                        objectives[objective.code],
                    )
                )
            objectives.setdefault(objective.code, where)
            for k, kr in enumerate(objective.key_results):
                kr_where = ("plans", p, "objectives", o, "key_results", k, "code")
                if kr.code in key_results:
                    problems.append(
                        Problem(
                            kr_where,
                            f"duplicate key result code '{kr.code}'",
                            key_results[kr.code][0],
                        )
                    )
                key_results.setdefault(kr.code, (kr_where, p))

    parents: dict[int, set[int]] = {}
    for p, plan in enumerate(tenant.plans):
        for o, objective in enumerate(plan.objectives):
            target = objective.parent_key_result
            if target is None:
                continue
            where = ("plans", p, "objectives", o, "parent_key_result")
            if target not in key_results:
                problems.append(Problem(where, f"unknown key result '{target}'"))
            elif key_results[target][1] == p:
                problems.append(Problem(where, f"key result '{target}' is in the same plan"))
            else:
                parents.setdefault(p, set()).add(key_results[target][1])
                if _reaches(parents, key_results[target][1], p):
                    problems.append(
                        Problem(where, f"plans cascade in a cycle through key result '{target}'")
                    )
    return problems


def head_on(people: Sequence[Person], unit: str, day: date) -> str | None:
    """The code of the person heading ``unit`` on ``day`` (``None``: vacant)."""
    for person in people:
        if any(m.unit == unit and m.role == "head" for m in person.memberships_on(day)):
            return person.code
    return None


def check_delegations(
    delegations: Sequence[Delegation], units: Sequence[Unit], people: Sequence[Person]
) -> list[Problem]:
    """Delegations (paths rooted at ``delegations``): the unit exists and has a head on
    ``start`` (the delegator); the delegate is a person of the tenant with a membership on
    ``start`` and is not that head; two delegations to the same person in the same unit do not
    overlap."""
    problems: list[Problem] = []
    unit_codes = {u.code for u in units}
    by_code = {p.code: p for p in people}
    for i, d in enumerate(delegations):
        where: Loc = ("delegations", i)
        if d.unit not in unit_codes:
            problems.append(Problem((*where, "unit"), f"unknown unit '{d.unit}'"))
            continue
        head = head_on(people, d.unit, d.start)
        if head is None:
            problems.append(
                Problem((*where, "unit"), f"unit '{d.unit}' has no head on {d.start} to delegate")
            )
        person = by_code.get(d.delegate)
        if person is None:
            problems.append(Problem((*where, "delegate"), f"unknown person '{d.delegate}'"))
        elif not person.memberships_on(d.start):
            problems.append(
                Problem((*where, "delegate"), f"'{d.delegate}' holds no post on {d.start}")
            )
        elif head == d.delegate:
            problems.append(
                Problem((*where, "delegate"), f"'{d.delegate}' is the head of '{d.unit}'")
            )
        for k, earlier in enumerate(delegations[:i]):
            if (earlier.unit, earlier.delegate) == (d.unit, d.delegate) and (
                d.start <= earlier.end and earlier.start <= d.end
            ):
                problems.append(
                    Problem(
                        (*where, "start"),
                        f"overlaps another delegation of '{d.unit}' to '{d.delegate}'",
                        ("delegations", k),
                    )
                )
                break
    return problems


def check_grants(grants: Sequence[RoleGrant]) -> list[Problem]:
    """The same subject and role are not granted twice over overlapping dates (paths rooted
    at ``role_grants``). Subjects are not checked against ``people``: accounts that are not
    people (``admin``) hold grants too."""
    problems: list[Problem] = []
    for i, grant in enumerate(grants):
        for k, earlier in enumerate(grants[:i]):
            if (earlier.subject, earlier.role) != (grant.subject, grant.role):
                continue
            if (grant.start or date.min) <= (earlier.end or date.max) and (
                earlier.start or date.min
            ) <= (grant.end or date.max):
                problems.append(
                    Problem(
                        ("role_grants", i, "role"),
                        f"'{grant.subject}' is granted {grant.role} twice over overlapping dates",
                        ("role_grants", k, "role"),
                    )
                )
                break
    return problems


def _reaches(graph: Mapping[int, set[int]], start: int, goal: int) -> bool:
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    return False


# --------------------------------------------------------------------------------------------
# Loading YAML with positions.


class _DecimalLoader(yaml.SafeLoader):
    """Safe YAML loader whose floats are exact ``Decimal`` and whose bad dates carry marks."""


def _construct_decimal(loader: SafeConstructor, node: Node) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    if ":" in text or text.lower().lstrip("+-") in (".inf", ".nan"):
        return SafeConstructor.construct_yaml_float(loader, node)  # type: ignore[arg-type]
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ConstructorError(
            None, None, f"invalid number {node.value!r}", node.start_mark
        ) from exc


def _construct_timestamp(loader: SafeConstructor, node: Node) -> Any:
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConstructorError(
            None, None, f"invalid date {node.value!r}: {exc}", node.start_mark
        ) from exc


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_DecimalLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


@dataclass(slots=True)
class _Where:
    value: yaml.Mark
    key: yaml.Mark | None
    collection: bool


@dataclass(slots=True)
class YamlPositions:
    """Map from node paths to 1-based (line, column), built from a composed YAML tree."""

    source: str
    nodes: dict[Loc, _Where] = field(default_factory=dict)

    def index(self, node: Node, loc: Loc = (), key: yaml.Mark | None = None) -> None:
        """Record ``node`` and its children; raises InputError on a duplicate mapping key."""
        collection = isinstance(node, MappingNode | SequenceNode)
        self.nodes[loc] = _Where(node.start_mark, key, collection)
        if isinstance(node, MappingNode):
            keys: set[Any] = set()
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, ScalarNode) else repr(key_node)
                if name in keys:
                    mark = key_node.start_mark
                    raise InputError(
                        self.source,
                        mark.line + 1,
                        mark.column + 1,
                        format_loc((*loc, name)),
                        f"duplicate key '{name}'",
                    )
                keys.add(name)
                self.index(value_node, (*loc, name), key_node.start_mark)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                self.index(item, (*loc, i))

    def locate(self, loc: Loc, prefer_key: bool = False) -> tuple[int, int]:
        """(line, column) of ``loc``, or of its nearest recorded ancestor.

        The key is used for collections under a key and when ``prefer_key`` (unknown keys).
        """
        for end in range(len(loc), -1, -1):
            where = self.nodes.get(loc[:end])
            if where is None:
                continue
            exact = end == len(loc)
            mark = (
                where.key
                if where.key is not None and (where.collection or (prefer_key and exact))
                else where.value
            )
            return mark.line + 1, mark.column + 1
        return 1, 1


def _problem_error(
    source: str, problems: Iterable[Problem], positions: YamlPositions, base: Loc = ()
) -> InputError:
    errors = []
    for problem in problems:
        loc = (*base, *problem.loc)
        line, column = positions.locate(loc)
        reason = problem.reason
        if problem.see is not None:
            reason += f" (see line {positions.locate((*base, *problem.see))[0]})"
        errors.append(InputError(source, line, column, format_loc(loc), reason))
    return min(errors, key=lambda e: (e.line or 0, e.column or 0))


def pydantic_reason(error: Mapping[str, Any]) -> str:
    """Plain words for one entry of ``ValidationError.errors()`` (with the bad input)."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{error['loc'][-1]}'"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | Decimal | date) and not isinstance(value, bool):
        message += f" (got {value!r})"
    elif isinstance(value, bool):
        message += f" (got {str(value).lower()})"
    return message


def validation_errors(
    source: str, exc: ValidationError, positions: YamlPositions
) -> list[InputError]:
    """Every pydantic error of ``exc`` as an :class:`InputError` located in the YAML."""
    raw = exc.errors()
    locs = [tuple(error["loc"]) for error in raw]
    errors = []
    for error in raw:
        loc: Loc = tuple(error["loc"])
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs):
            continue  # a consequence of a deeper error (e.g. a tuple left too short)
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossCheckError):
            errors.append(_problem_error(source, cause.problems, positions, loc))
            continue
        line, column = positions.locate(loc, prefer_key=error["type"] == "extra_forbidden")
        errors.append(InputError(source, line, column, format_loc(loc), pydantic_reason(error)))
    return sorted(errors, key=lambda e: (e.line or 0, e.column or 0))


def parse_tenant_yaml(text: str, source: str) -> TenantFile:
    """Parse and validate tenant YAML ``text``; ``source`` names it in errors.

    Raises:
        InputError: the first problem in file order (YAML syntax, duplicate key, bad field,
            failed cross-check), with 1-based line and column.
    """
    loader = _DecimalLoader(text)
    positions = YamlPositions(source)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(source, 1, 1, "tenant", "the file is empty")
        positions.index(node)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise InputError(source, line, column, "yaml", reason or "invalid YAML") from exc
    except yaml.YAMLError as exc:
        raise InputError(source, None, None, "yaml", str(exc)) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InputError(source, 1, 1, "tenant", "the file must be a mapping of keys to values")
    try:
        return TenantFile.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(source, exc, positions)[0] from exc


def load_tenant_file(path: str | Path) -> TenantFile:
    """Load and validate ``data/tenants/<code>/tenant.yaml``.

    Returns:
        The validated, cross-checked :class:`TenantFile`.

    Raises:
        InputError: ``source`` is ``str(path)``; line and column are 1-based and point at the
            offending node (for a missing key, at the mapping that lacks it); ``field`` is the
            path, e.g. ``people[3].memberships[0].role``. Also raised when the file cannot be
            read or is not UTF-8.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, None, None, "file", f"cannot read: {exc}") from exc
    return parse_tenant_yaml(text, source)


def iter_key_results(tenant: TenantFile) -> Iterator[tuple[Plan, Objective, KeyResult]]:
    """Every key result of every plan, with its plan and objective, in file order."""
    for plan in tenant.plans:
        for objective in plan.objectives:
            for kr in objective.key_results:
                yield plan, objective, kr
