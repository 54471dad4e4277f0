"""All SQL of the planning service. Functions take a :class:`~sqlalchemy.orm.Session` and never
commit; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.planning.models import (
    Base,
    CatalogItem,
    Delegation,
    EvaluatorOverride,
    KeyResult,
    Membership,
    Objective,
    Person,
    Plan,
    Position,
    ProgressUpdate,
    RoleGrant,
    Unit,
)

M = TypeVar("M", bound=Base)


def by_code(session: Session, model: type[M], code: str) -> M | None:
    """The row of ``model`` with ``code`` (models with a unique ``code``), or None."""
    return session.execute(select(model).where(model.code == code)).scalar_one_or_none()


def all_rows(session: Session, model: type[M]) -> Sequence[M]:
    """Every row of ``model`` by id."""
    return session.execute(select(model).order_by(model.id)).scalars().all()


def page(session: Session, stmt: Any, *, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``stmt``'s rows and the total count."""
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.offset(offset).limit(limit)).scalars().all()
    return list(rows), int(total)


def units_query(axis: str | None = None, parent_id: int | None = None, q: str | None = None) -> Any:
    stmt = select(Unit).order_by(Unit.code)
    if axis:
        stmt = stmt.where(Unit.axis == axis)
    if parent_id is not None:
        stmt = stmt.where(Unit.parent_id == parent_id)
    if q:
        stmt = stmt.where(or_(Unit.name.contains(q), Unit.code.contains(q)))
    return stmt


def people_query(
    unit_id: int | None = None, q: str | None = None, as_of: date | None = None
) -> Any:
    stmt = select(Person).order_by(Person.code)
    if unit_id is not None:
        members = select(Membership.person_id).where(Membership.unit_id == unit_id)
        if as_of is not None:
            members = members.where(
                Membership.start <= as_of, or_(Membership.end.is_(None), Membership.end >= as_of)
            )
        stmt = stmt.where(Person.id.in_(members))
    if q:
        stmt = stmt.where(or_(Person.name.contains(q), Person.code.contains(q)))
    return stmt


def memberships_of(session: Session, person_id: int) -> Sequence[Membership]:
    return (
        session.execute(
            select(Membership).where(Membership.person_id == person_id).order_by(Membership.start)
        )
        .scalars()
        .all()
    )


def membership(session: Session, person_id: int, unit_id: int, start: date) -> Membership | None:
    return session.execute(
        select(Membership).where(
            Membership.person_id == person_id,
            Membership.unit_id == unit_id,
            Membership.start == start,
        )
    ).scalar_one_or_none()


def override_of(session: Session, person_id: int) -> EvaluatorOverride | None:
    return session.execute(
        select(EvaluatorOverride).where(EvaluatorOverride.person_id == person_id)
    ).scalar_one_or_none()


def catalog_version(session: Session, code: str, effective_from: date) -> CatalogItem | None:
    return session.execute(
        select(CatalogItem).where(
            CatalogItem.code == code, CatalogItem.effective_from == effective_from
        )
    ).scalar_one_or_none()


def catalog_as_of(session: Session, as_of: date, unit_id: int | None = None) -> list[CatalogItem]:
    """For each catalog code, the version in force on ``as_of`` (latest effective_from ≤ it)."""
    latest = (
        select(CatalogItem.code, func.max(CatalogItem.effective_from).label("since"))
        .where(CatalogItem.effective_from <= as_of)
        .group_by(CatalogItem.code)
        .subquery()
    )
    stmt = (
        select(CatalogItem)
        .join(
            latest,
            (CatalogItem.code == latest.c.code) & (CatalogItem.effective_from == latest.c.since),
        )
        .order_by(CatalogItem.code)
    )
    if unit_id is not None:
        stmt = stmt.where(CatalogItem.unit_id == unit_id)
    return list(session.execute(stmt).scalars().all())


def plans_query(
    owner_unit_id: int | None = None,
    owner_person_id: int | None = None,
    period_kind: str | None = None,
    year: int | None = None,
    status: str | None = None,
) -> Any:
    stmt = select(Plan).order_by(Plan.year, Plan.period_kind, Plan.number, Plan.code)
    for column, value in (
        (Plan.owner_unit_id, owner_unit_id),
        (Plan.owner_person_id, owner_person_id),
        (Plan.period_kind, period_kind),
        (Plan.year, year),
        (Plan.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def objectives_of_plan(session: Session, plan_id: int) -> Sequence[Objective]:
    return (
        session.execute(
            select(Objective).where(Objective.plan_id == plan_id).order_by(Objective.position)
        )
        .scalars()
        .all()
    )


def objectives_serving(session: Session, key_result_ids: Sequence[int]) -> Sequence[Objective]:
    """Objectives whose parent key result is one of ``key_result_ids``."""
    if not key_result_ids:
        return []
    return (
        session.execute(
            select(Objective)
            .where(Objective.parent_key_result_id.in_(key_result_ids))
            .order_by(Objective.code)
        )
        .scalars()
        .all()
    )


def progress_log(session: Session, key_result_id: int) -> Sequence[ProgressUpdate]:
    return (
        session.execute(
            select(ProgressUpdate)
            .where(ProgressUpdate.key_result_id == key_result_id)
            .order_by(ProgressUpdate.at, ProgressUpdate.id)
        )
        .scalars()
        .all()
    )


def ingested(session: Session, source: str, external_id: str) -> ProgressUpdate | None:
    return session.execute(
        select(ProgressUpdate).where(
            ProgressUpdate.source == source, ProgressUpdate.external_id == external_id
        )
    ).scalar_one_or_none()


def positions_of(session: Session, unit_id: int) -> Sequence[Position]:
    return (
        session.execute(select(Position).where(Position.unit_id == unit_id).order_by(Position.code))
        .scalars()
        .all()
    )


def key_results_of(session: Session, objective_id: int) -> Sequence[KeyResult]:
    return (
        session.execute(
            select(KeyResult)
            .where(KeyResult.objective_id == objective_id)
            .order_by(KeyResult.position)
        )
        .scalars()
        .all()
    )


def members_on(session: Session, unit_id: int, as_of: date) -> list[Membership]:
    """Memberships of ``unit_id`` current on ``as_of``."""
    return list(
        session.execute(
            select(Membership).where(
                Membership.unit_id == unit_id,
                Membership.start <= as_of,
                or_(Membership.end.is_(None), Membership.end >= as_of),
            )
        ).scalars()
    )


def role_grant(session: Session, subject: str, role: str, start: date | None) -> RoleGrant | None:
    """The grant of ``role`` to ``subject`` starting on ``start`` (``None``: unbounded)."""
    starts = RoleGrant.start.is_(None) if start is None else RoleGrant.start == start
    return session.execute(
        select(RoleGrant).where(RoleGrant.subject == subject, RoleGrant.role == role, starts)
    ).scalar_one_or_none()


def grants_on(session: Session, as_of: date) -> list[RoleGrant]:
    """Role grants holding on ``as_of`` (start and end inclusive, ``None`` unbounded)."""
    return list(
        session.execute(
            select(RoleGrant)
            .where(
                or_(RoleGrant.start.is_(None), RoleGrant.start <= as_of),
                or_(RoleGrant.end.is_(None), RoleGrant.end >= as_of),
            )
            .order_by(RoleGrant.subject, RoleGrant.role)
        ).scalars()
    )


def delegation_at(
    session: Session, unit_id: int, delegate_id: int, start: date
) -> Delegation | None:
    """The delegation of ``unit_id`` to ``delegate_id`` starting on ``start``, or None."""
    return session.execute(
        select(Delegation).where(
            Delegation.unit_id == unit_id,
            Delegation.delegate_id == delegate_id,
            Delegation.start == start,
        )
    ).scalar_one_or_none()


def delegations_query(unit_id: int | None = None) -> Any:
    """Delegations (of ``unit_id``, or all), newest start first."""
    stmt = select(Delegation).order_by(Delegation.start.desc(), Delegation.id.desc())
    if unit_id is not None:
        stmt = stmt.where(Delegation.unit_id == unit_id)
    return stmt


def delegations_overlapping(
    session: Session, unit_id: int, delegate_id: int, start: date, end: date
) -> list[Delegation]:
    """Delegations of ``unit_id`` to ``delegate_id`` whose ``[start, end]`` meets the given
    period (before any early end; the caller checks ``ended_on``)."""
    return list(
        session.execute(
            select(Delegation).where(
                Delegation.unit_id == unit_id,
                Delegation.delegate_id == delegate_id,
                Delegation.start <= end,
                Delegation.end >= start,
            )
        ).scalars()
    )


def delegations_on(session: Session, day: date) -> list[Delegation]:
    """Delegations whose ``[start, end]`` contains ``day`` (the caller applies ``ended_on``)."""
    return list(
        session.execute(
            select(Delegation)
            .where(Delegation.start <= day, Delegation.end >= day)
            .order_by(Delegation.unit_id, Delegation.id)
        ).scalars()
    )


def has_membership_on(session: Session, person_id: int, day: date) -> bool:
    """Whether ``person_id`` holds any post on ``day``."""
    return (
        session.execute(
            select(Membership.id).where(
                Membership.person_id == person_id,
                Membership.start <= day,
                or_(Membership.end.is_(None), Membership.end >= day),
            )
        ).first()
        is not None
    )


def delegation_by_id(session: Session, delegation_id: int) -> Delegation | None:
    """The delegation with ``delegation_id``, or None."""
    return session.get(Delegation, delegation_id)
