"""Unit-level evaluation use cases: a head's factors d, đ, e, the authority's decision on a
whole unit with the excellence quota, and the unit's collective evaluation.

Same conventions as :mod:`services.evaluation.service`: functions take an open session inside
the caller's transaction and plain data (planning's evaluator relation, plan standings),
never commit, record every change of a person's month in its history (state before and
after) and write CloudEvents ``vn.woms.evaluation.<entity>.<action>.v1`` to the outbox in the
same transaction; ``idempotency_key`` makes a retried call a no-op returning the stored result.

Sources: ``001 §III.3–4`` (leaders), ``001 §II.2.5`` (quota across the unit and each group
with similar work; 25% for an outstanding unit, by the authority), ``001 §IV.1`` step 4
(decision), ``004`` Part B §I–II (collective evaluation, the head linked to it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from services.common.events import CloudEvent
from services.common.outbox import record
from services.evaluation import collective, leaders
from services.evaluation import repository as repo
from services.evaluation import service as svc
from services.evaluation.models import CollectiveEvaluation, Evaluation, UnitDecision, outbox
from services.evaluation.periods import MonthOutcome, summarise
from services.evaluation.scoring import Grade, ScoringRules
from services.evaluation.scoring import apply_quota as quota_of

#: Statuses of a month the authority may decide (self-assessed, maybe reviewed).
READY = ("self_assessed", "reviewed", "decided")
#: Statuses outside a unit's decision: excluded from the month (``001 §I.6``) or already
#: published (only an appeal changes it, ``001 §IV.1`` step 5).
OUTSIDE = ("not_evaluated", "published")
#: Flags the cycle sets when a month's review deadline passed (``workflows.monthly_cycle``:
#: the review escalated, then skipped) — the fallback of a missed review.
REVIEW_DEADLINE_PASSED = ("review_escalated", "review_missed")


def ready_for_unit(ev: Evaluation) -> bool:
    """Whether ``ev`` may be decided with its unit (issue 15, ``001 §IV.1`` steps 2–4):
    reviewed (or decided), or self-assessed — by the person or by the fallback — with its
    review deadline passed (flag ``review_escalated`` / ``review_missed``)."""
    if ev.status in ("reviewed", "decided"):
        return True
    return ev.status == "self_assessed" and bool(set(REVIEW_DEADLINE_PASSED) & set(ev.flags))


def not_ready(months: Iterable[Evaluation]) -> list[dict[str, Any]]:
    """The months of a unit that keep it from being decided (:func:`ready_for_unit`), as
    ``[{"person", "status", "missing"}]`` with ``missing`` ``self_assessment`` (still
    opened) or ``review`` (self-assessed, review deadline not passed), by person."""
    out = []
    for ev in sorted(months, key=lambda e: e.person):
        if ev.status in OUTSIDE or ready_for_unit(ev):
            continue
        missing = "self_assessment" if ev.status == "opened" else "review"
        out.append({"person": ev.person, "status": ev.status, "missing": missing})
    return out


def require_ready(months: Iterable[Evaluation], unit: str, period: str) -> None:
    """Nothing when every month may be decided with the unit.

    Raises:
        EvaluationError: 409 ``not_ready`` naming every month not ready and what it lacks.
    """
    waiting = not_ready(months)
    if waiting:
        names = ", ".join(f"{w['person']} ({w['missing']})" for w in waiting)
        raise svc.EvaluationError(
            "not_ready",
            f"{unit} {period}: chưa thể xếp loại đơn vị, còn chờ {names} — mỗi người phải được "
            f"nhận xét hoặc đã qua hạn nhận xét / the unit cannot be decided yet, waiting for "
            f"{names}: every month must be reviewed or past its review deadline",
            409,
        )


def chosen_quota(
    grades: Mapping[str, tuple[Decimal, Grade]],
    ratio: Fraction,
    groups: Mapping[str, Collection[str]],
    keep_a: Sequence[str] | None,
    reason: str | None,
    actor: str | None = None,
) -> tuple[dict[str, Grade], dict[str, str], list[str]]:
    """Final grades after the quota (``001 §II.2.5``): the system's proposal
    (:func:`quota_with_groups`, by score) or, with ``keep_a``, the authority's choice of who
    keeps A among the candidates (the months graded A), within the quota of the unit and of
    every group, with a written ``reason``; the choice never changes the ``actor``'s own final
    grade from the proposal's (nobody decides their own grade, ``DOMAIN.md §7``).

    Returns:
        ``(final grades, demoted person → scope, the system's proposal of who keeps A)``;
        a demotion by the authority's choice has the scope ``authority``.

    Raises:
        EvaluationError: 422 ``keep_a`` naming a non-candidate or a repeated person, over
            the quota (naming the scope), or changing the actor's own grade; 422
            ``keep_a_reason`` a different choice without a reason.
    """
    proposal, by = quota_with_groups(grades, ratio, groups)
    proposed = sorted(p for p, g in proposal.items() if g is Grade.A)
    if keep_a is None:
        return proposal, by, proposed
    candidates = {p for p, (_, g) in grades.items() if g is Grade.A}
    strangers = sorted(set(keep_a) - candidates)
    if strangers or len(set(keep_a)) != len(keep_a):
        raise svc.EvaluationError(
            "keep_a",
            f"chỉ chọn trong số người được loại A, mỗi người một lần / only candidates graded "
            f"A, each once: {', '.join(strangers) or 'repeated'} "
            f"(candidates: {', '.join(sorted(candidates)) or '—'})",
        )
    choice = {
        p: (Grade.B if p in candidates and p not in keep_a else g) for p, (_, g) in grades.items()
    }
    chosen = {p: (grades[p][0], choice[p]) for p in grades}
    _, over_by = quota_with_groups(chosen, ratio, groups)
    if over_by:
        scopes = ", ".join(sorted(set(over_by.values())))
        raise svc.EvaluationError(
            "keep_a",
            f"vượt tỷ lệ xuất sắc ({scopes}) / over the excellence quota in {scopes} at "
            f"ratio {ratio} (001 §II.2.5)",
        )
    if actor in grades and choice[actor] is not proposal[actor]:
        raise svc.EvaluationError(
            "keep_a",
            f"không ai tự chọn loại của mình / nobody chooses their own grade ({actor})",
        )
    if sorted(keep_a) != proposed and not (reason and reason.strip()):
        raise svc.EvaluationError(
            "keep_a_reason",
            "chọn người giữ loại A khác đề xuất cần nêu lý do / choosing who keeps A "
            "differently from the proposal needs a written reason",
        )
    if sorted(keep_a) == proposed:
        return proposal, by, proposed
    demoted = {p: "authority" for p in grades if choice[p] is not grades[p][1]}
    return choice, demoted, proposed


#: Quota ratio allowed without a reason (``001 §II.2.5a``) and the cap (``§II.2.5b``).
BASE_RATIO = Fraction(1, 5)
MAX_RATIO = Fraction(1, 4)


def _event(
    session: Session, tenant: str, entity: str, action: str, subject: str, data: Any
) -> None:
    record(
        session,
        outbox,
        CloudEvent.of(
            tenant=tenant,
            service=svc.SERVICE,
            entity=entity,
            action=action,
            subject=subject,
            data=data,
        ),
    )


# --- leaders' factors ----------------------------------------------------------------------


def subordinate_scores(
    session: Session, subordinates: Iterable[str], period: str, rules: ScoringRules | None = None
) -> dict[str, Decimal | None]:
    """Scores (points) of a head's subordinates for factor d (``001 §III.3a``): the decided or
    published score; for a month reviewed but not decided, the score the decision would give
    (manager's general points + task result); ``None`` (left out) otherwise."""
    scores: dict[str, Decimal | None] = {}
    for person in subordinates:
        ev = repo.evaluation_of(session, person, period)
        score: Decimal | None = None
        if ev is not None and ev.status in ("decided", "published"):
            score = ev.score
        elif ev is not None and ev.status == "reviewed" and ev.review_general is not None:
            result = svc._score(
                ev.ledger, Decimal(ev.review_general), rules, leaders.factors_of(ev.leader_factors)
            )
            score = result.score
        scores[person] = score
    return scores


def _store_proposal(
    session: Session,
    tenant: str,
    ev: Evaluation,
    proposal: leaders.FactorProposal,
    extra: Mapping[str, Any],
    actor: str,
) -> dict[str, Any]:
    stored = dict(ev.leader_factors or {})
    new = {**stored, "proposed": proposal.as_json(), **extra}
    new.setdefault("confirmed", None)
    if new == ev.leader_factors:
        return svc.snapshot(ev)
    before = svc.snapshot(ev)
    ev.leader_factors = new
    return svc._change(session, tenant, ev, "leader_factors_proposed", actor, before)


def propose_leader_factors(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    *,
    subordinates: Sequence[str],
    objectives: Sequence[leaders.ObjectiveStanding] | None = None,
    conflict_reports: Sequence[str] = (),
    rules: ScoringRules | None = None,
    actor: str = svc.SYSTEM,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Store the system's proposal of a head's d, đ, e on their month
    (:func:`services.evaluation.leaders.propose`): d from ``subordinates``' scores
    (:func:`subordinate_scores`), đ from the unit's plan ``objectives``, e from
    ``conflict_reports``. A confirmation already given stays. History
    ``leader_factors_proposed`` when the proposal changes. Returns the snapshot.

    Raises:
        EvaluationError: 404 no month; 409 the month is published or not evaluated.
    """

    def run() -> dict[str, Any]:
        ev = svc._get(session, person, period)
        svc._require(ev, ("opened", *READY), "propose leader factors for")
        scores = subordinate_scores(session, subordinates, period, rules)
        proposal = leaders.propose(scores, objectives, conflict_reports)
        extra = {"subordinates": list(subordinates), "conflict_reports": list(conflict_reports)}
        return _store_proposal(session, tenant, ev, proposal, extra, actor)

    return dict(svc._once(session, idempotency_key, "propose_leader_factors", run))


def confirm_leader_factors(
    session: Session,
    tenant: str,
    person: str,
    period: str,
    *,
    unit_on_plan: bool,
    unit_united: bool,
    actor: str,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The authority confirms or overrides a head's đ and e (``001 §III.3b–c``); d stays as
    computed. Overriding the proposal needs a ``reason``. History
    ``leader_factors_confirmed``. Returns the snapshot.

    Raises:
        EvaluationError: 404 no month; 409 no proposal yet, or the month is published;
            422 an override without a reason.
    """

    def run() -> dict[str, Any]:
        ev = svc._get(session, person, period)
        svc._require(ev, ("opened", *READY), "confirm leader factors of")
        stored = ev.leader_factors or {}
        proposed = stored.get("proposed")
        if not proposed:
            raise svc.EvaluationError(
                "leader_factors",
                "chưa có đề xuất d, đ, e / no proposal of d, đ, e yet (001 §III.3)",
                409,
            )
        overridden = (unit_on_plan, unit_united) != (proposed["dd"], proposed["e"])
        if overridden and not (reason and reason.strip()):
            raise svc.EvaluationError(
                "reason",
                "thay đổi đề xuất đ, e cần nêu lý do / overriding the proposal needs a reason",
            )
        before = svc.snapshot(ev)
        confirmed = {"dd": unit_on_plan, "e": unit_united, "by": actor, "reason": reason}
        ev.leader_factors = {**stored, "confirmed": confirmed}
        return svc._change(session, tenant, ev, "leader_factors_confirmed", actor, before)

    return dict(svc._once(session, idempotency_key, "confirm_leader_factors", run))


# --- the unit's decision and the quota -----------------------------------------------------


def quota_ratio(ratio: Fraction | Decimal | float | str | None, reason: str | None) -> Fraction:
    """The ratio of A to B grades the authority applies (``001 §II.2.5``): 20% by default; up
    to 25% for an outstanding unit, only with a recorded ``reason``.

    Raises:
        EvaluationError: 422 a ratio outside 0–25%, or above 20% without a reason.
    """
    try:
        value = BASE_RATIO if ratio is None else Fraction(str(ratio))
    except (ValueError, ZeroDivisionError) as exc:
        raise svc.EvaluationError("ratio", f"{ratio!r} is not a number") from exc
    if not 0 <= value <= MAX_RATIO:
        raise svc.EvaluationError(
            "ratio", f"{ratio} nằm ngoài 0–25% / is outside 0–0.25 (001 §II.2.5b)"
        )
    if value > BASE_RATIO and not (reason and reason.strip()):
        raise svc.EvaluationError(
            "reason",
            "tỷ lệ trên 20% cần lý do đơn vị có thành tích xuất sắc, nổi trội / a ratio above "
            "20% needs the reason the unit is outstanding (001 §II.2.5b)",
        )
    return value


def quota_with_groups(
    grades: Mapping[str, tuple[Decimal, Grade]],
    ratio: Fraction,
    groups: Mapping[str, Collection[str]],
) -> tuple[dict[str, Grade], dict[str, str]]:
    """Final grades after the quota across the whole unit *and* in each group with similar
    work (``001 §II.2.5a``: "trong phạm vi cùng một cơ quan ... và trong từng nhóm CBCCVC có
    nhiệm vụ tương đồng"): :func:`services.evaluation.scoring.apply_quota` in each scope
    until none demotes (a demotion only helps every scope, so this ends). Returns the final
    grades and, for each demoted person, the scope that demoted them (``unit`` or a group)."""
    final = {p: g for p, (_, g) in grades.items()}
    scopes: list[tuple[str, Collection[str]]] = [("unit", list(grades))]
    scopes += [(f"group:{name}", members) for name, members in sorted(groups.items())]
    by: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for scope, members in scopes:
            current = {p: (grades[p][0], final[p]) for p in members if p in grades}
            for person, grade in quota_of(current, ratio).items():
                if grade is not final[person]:
                    final[person] = grade
                    by[person] = scope
                    changed = True
    return final, by


def apply_quota(
    session: Session,
    tenant: str,
    unit: str,
    period: str,
    ratio: Fraction | Decimal | float | str,
    actor: str = svc.SYSTEM,
    *,
    keep_a: Sequence[str] | None = None,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, str]:
    """The excellence quota (``001 §II.2.5``) on the unit's decided months: the system's
    proposal by score, or the authority's ``keep_a`` with ``reason`` (:func:`chosen_quota`).
    Every month of the unit but the actor's own must be ready (:func:`require_ready`, issue
    15; the actor's month is decided by the level above). Each changed
    final grade is recorded (history ``quota_applied``). Returns person → final grade.

    Raises:
        EvaluationError: 409 ``not_ready``; 422 ``ratio``, ``keep_a``, ``keep_a_reason``.
    """

    def run() -> dict[str, str]:
        months = repo.evaluations_of_unit(session, unit, period)
        require_ready([ev for ev in months if ev.person != actor], unit, period)
        try:
            value = Fraction(str(ratio))
        except (ValueError, ZeroDivisionError) as exc:
            raise svc.EvaluationError("ratio", f"{ratio!r} is not a number") from exc
        if not 0 <= value <= MAX_RATIO:
            raise svc.EvaluationError("ratio", f"{ratio} is outside 0–0.25 (001 §II.2.5)")
        decided = [
            ev
            for ev in months
            if ev.status == "decided" and ev.score is not None and ev.grade is not None
        ]
        grades = {ev.person: (ev.score, Grade(ev.grade)) for ev in decided}
        final, scope_of, _ = chosen_quota(grades, value, {}, keep_a, reason, actor)
        for ev in decided:
            grade = final[ev.person].value
            if ev.final_grade != grade:
                before = svc.snapshot(ev)
                ev.final_grade = grade
                extra: dict[str, Any] = {"ratio": str(ratio), "scope": scope_of.get(ev.person)}
                if keep_a is not None:
                    extra.update(keep_a=sorted(keep_a), keep_a_reason=reason)
                svc._change(session, tenant, ev, "quota_applied", actor, before, extra)
        return {person: grade.value for person, grade in sorted(final.items())}

    return dict(svc._once(session, idempotency_key, "apply_quota", run))


def _headed_unit(person: str, relation: Mapping[str, Any]) -> str | None:
    for unit, head in sorted(relation.get("unit_heads", {}).items()):
        if head == person:
            return unit
    return None


def _leader_order(heads: list[str], relation: Mapping[str, Any]) -> list[str]:
    """Heads whose subordinates include other heads come after them (bottom-up)."""
    below = {h: set(relation.get("evaluatees_of", {}).get(h, [])) for h in heads}
    ordered: list[str] = []
    remaining = sorted(heads)
    while remaining:
        ready = [h for h in remaining if not (below[h] & set(remaining) - {h})]
        ready = ready or remaining[:1]  # a cycle in bad data: take them in code order
        for h in ready:
            ordered.append(h)
            remaining.remove(h)
    return ordered


def decide_unit(
    session: Session,
    tenant: str,
    unit: str,
    period: str,
    actor: str,
    *,
    relation: Mapping[str, Any],
    ratio: Fraction | Decimal | float | str | None = None,
    reason: str | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    objectives_of: Mapping[str, Sequence[leaders.ObjectiveStanding]] | None = None,
    conflict_reports: Mapping[str, Sequence[str]] | None = None,
    only: Collection[str] | None = None,
    ledger_of: Callable[[str], list[dict[str, Any]]] | None = None,
    rules: ScoringRules | None = None,
    idempotency_key: str | None = None,
    general_of: Mapping[str, Decimal | int | str] | None = None,
    keep_a: Sequence[str] | None = None,
    keep_a_reason: str | None = None,
) -> dict[str, Any]:
    """The authority decides a unit's month (``001 §IV.1`` step 4).

    Preconditions (issue 15): every month it covers (those of ``only``, never the actor's
    own; not ``not_evaluated`` nor ``published``) is reviewed, or self-assessed with its
    review deadline passed (:func:`ready_for_unit`) — else 409 ``not_ready`` naming them; a
    month without the manager's general-criteria points is decided only with the points the
    authority enters in ``general_of`` (person → 0–30, ``001 §II.1``) — else 409 ``general``
    naming them. The quota: the system's proposal by score, or the authority's ``keep_a``
    with ``keep_a_reason`` (:func:`chosen_quota`).

    0. With ``ledger_of`` (person → the tasks ledger now, e.g.
       :meth:`~services.evaluation.clients.HttpSources.ledger_of`), every month ready for
       decision first takes the late data (:func:`services.evaluation.service.refresh_ledger`),
       so tasks approved after the self-assessment count.
    1. Every month of ``unit`` ready for decision (self-assessed, reviewed or decided; only
       the people in ``only`` when given, e.g. those the actor may decide; never the actor's
       own month, ``DOMAIN.md §7``) is decided with
       :func:`services.evaluation.service.decide` — staff first, then the unit heads of the
       relation (``unit_heads``) bottom-up, each with d recomputed from their subordinates'
       scores (``evaluatees_of``) and đ, e as confirmed, else as proposed (from
       ``objectives_of[headed unit]`` and ``conflict_reports[head]`` when no proposal exists).
    2. The quota (:func:`quota_with_groups`) over every decided month of the unit and each
       group of ``groups`` (name → people with similar work), at ``ratio``
       (:func:`quota_ratio`); each demotion is recorded (history ``quota_applied`` with the
       ratio, the reason and the scope).
    3. The decision is stored (:class:`~services.evaluation.models.UnitDecision`) and
       published as ``vn.woms.evaluation.unit.decided.v1``.

    Returns ``{"unit", "period", "ratio", "reason", "decided": [...], "not_ready": [...],
    "final": {person: grade}, "demoted": {person: scope}}``.

    Raises:
        EvaluationError: 422 a bad ratio or reason (:func:`quota_ratio`), a group member who
            has no month in the unit.
    """
    value = quota_ratio(ratio, reason)
    groups = {name: list(members) for name, members in (groups or {}).items()}

    def run() -> dict[str, Any]:
        months = repo.evaluations_of_unit(session, unit, period)
        in_unit = {ev.person for ev in months}
        for name, members in groups.items():
            strangers = sorted(set(members) - in_unit)
            if strangers:
                raise svc.EvaluationError(
                    "groups", f"{name}: {', '.join(strangers)} không thuộc đơn vị / not in {unit}"
                )
        chosen = [ev for ev in months if (only is None or ev.person in only) and ev.person != actor]
        require_ready(chosen, unit, period)
        ready = [ev.person for ev in chosen if ev.status in READY]
        not_ready = [ev.person for ev in chosen if ev.status not in READY]
        entered = dict(general_of or {})
        strangers = sorted(set(entered) - set(ready))
        if strangers:
            raise svc.EvaluationError(
                "general",
                f"{', '.join(strangers)}: không thuộc các tháng được xếp loại / not among the "
                "months this decision covers",
            )
        heads = set(relation.get("unit_heads", {}).values())
        if ledger_of is not None:
            for person in ready:
                svc.refresh_ledger(session, tenant, person, period, ledger_of(person), rules=rules)
        missing = [
            ev.person
            for ev in chosen
            if ev.person in ready and ev.person not in entered and svc.needs_general(ev, rules)
        ]
        if missing:
            raise svc.EvaluationError(
                "general",
                f"chưa có điểm tiêu chí chung của cấp quản lý: {', '.join(missing)} — người xếp "
                f"loại nhập điểm / no manager's general-criteria points for {', '.join(missing)}: "
                "the authority enters them in general (001 §II.1)",
                409,
            )
        for person in [p for p in ready if p not in heads]:
            svc.decide(
                session, tenant, person, period, actor, rules=rules, general=entered.get(person)
            )
        for head in _leader_order([p for p in ready if p in heads], relation):
            _propose_for_decision(
                session, tenant, head, period, relation, objectives_of, conflict_reports, rules
            )
            svc.decide(session, tenant, head, period, actor, rules=rules, general=entered.get(head))

        decided = [
            ev
            for ev in repo.evaluations_of_unit(session, unit, period, status="decided")
            if ev.score is not None and ev.grade is not None
        ]
        grades = {ev.person: (ev.score, Grade(ev.grade)) for ev in decided}
        final, scope_of, proposed_a = chosen_quota(
            grades, value, groups, keep_a, keep_a_reason, actor
        )
        for ev in decided:
            grade = final[ev.person].value
            if ev.final_grade != grade:
                before = svc.snapshot(ev)
                ev.final_grade = grade
                extra = {"ratio": str(value), "reason": reason, "scope": scope_of.get(ev.person)}
                if keep_a is not None:
                    extra.update(keep_a=sorted(keep_a), keep_a_reason=keep_a_reason)
                svc._change(session, tenant, ev, "quota_applied", actor, before, extra)
        result = {
            "unit": unit,
            "period": period,
            "ratio": str(value),
            "reason": reason,
            "decided": sorted(ready),
            "not_ready": sorted(not_ready),
            "final": {p: g.value for p, g in sorted(final.items())},
            "demoted": dict(sorted(scope_of.items())),
            "proposed_a": proposed_a,
            "keep_a": None if keep_a is None else sorted(keep_a),
            "keep_a_reason": keep_a_reason,
        }
        row = repo.unit_decision(session, unit, period)
        previous = None if row is None else row.result
        if row is None:
            row = UnitDecision(unit=unit, period=period)
            session.add(row)
        row.ratio, row.reason, row.groups, row.result = str(value), reason, groups, result
        row.decided_by, row.decided_at = actor, svc._now()
        session.flush()
        _event(session, tenant, "unit", "decided", f"{unit}/{period}", {**result, "actor": actor})
        subject = f"{unit}/{period}"
        svc.audit_change(
            session, tenant, "unit.decided", "unit_decision", subject, actor, previous, result
        )
        return result

    return dict(svc._once(session, idempotency_key, "decide_unit", run))


def _propose_for_decision(
    session: Session,
    tenant: str,
    head: str,
    period: str,
    relation: Mapping[str, Any],
    objectives_of: Mapping[str, Sequence[leaders.ObjectiveStanding]] | None,
    conflict_reports: Mapping[str, Sequence[str]] | None,
    rules: ScoringRules | None,
) -> None:
    """Recompute a head's d from the subordinates' scores now; keep a stored đ/e proposal,
    else propose them from the data given."""
    ev = svc._get(session, head, period)
    subordinates = list(relation.get("evaluatees_of", {}).get(head, []))
    scores = subordinate_scores(session, subordinates, period, rules)
    d, d_reason = leaders.factor_d(scores)
    stored = (ev.leader_factors or {}).get("proposed")
    if stored and not (objectives_of or conflict_reports):
        reasons = {**stored.get("reasons", {}), "d": d_reason}
        proposal = leaders.FactorProposal(d, stored["dd"], stored["e"], reasons)
        reports = list((ev.leader_factors or {}).get("conflict_reports", []))
    else:
        unit = _headed_unit(head, relation)
        objectives = (objectives_of or {}).get(unit) if unit else None
        reports = list((conflict_reports or {}).get(head, []))
        proposal = leaders.propose(scores, objectives, reports)
    extra = {"subordinates": subordinates, "conflict_reports": reports}
    _store_proposal(session, tenant, ev, proposal, extra, svc.SYSTEM)


# --- collective evaluation -----------------------------------------------------------------


def head_result(session: Session, head: str, period: str) -> dict[str, Any] | None:
    """The head's result for a quarter or year from their decided or published months
    (:func:`services.evaluation.periods.summarise`); ``None`` without any month."""
    months = repo.evaluations_of(session, [head], collective.months_of(period))
    if not months:
        return None
    outcomes = [
        MonthOutcome(ev.period, ev.score if ev.status in ("decided", "published") else None)
        for ev in months
    ]
    summary = summarise(outcomes)
    return {
        "person": head,
        "average": None if summary.average is None else str(summary.average),
        "grade": summary.grade.value if summary.grade else None,
        "months_evaluated": summary.months_evaluated,
        "months_total": summary.months_total,
    }


def record_collective(
    session: Session,
    tenant: str,
    unit: str,
    period: str,
    *,
    objectives: Sequence[leaders.ObjectiveStanding],
    actor: str,
    unplanned: Sequence[collective.UnplannedWork] = (),
    head: str | None = None,
    level: str | None = None,
    comment: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Record a unit's collective evaluation for a quarter ``YYYY-Qn`` or year ``YYYY``
    (``004`` Part B §I, :func:`services.evaluation.collective.evaluate`): plan completion per
    perspective without breakthrough items, the unplanned work listed, the proposed level and
    the authority's ``level`` (A–D, optional); the ``head``'s result for the same period is
    linked (``004`` Part B §II.1). Recording again replaces the figures. Event
    ``vn.woms.evaluation.collective.recorded.v1``. Returns the stored record as JSON.

    Raises:
        EvaluationError: 422 a bad period, an objective with an unknown perspective, or a
            level that is not A–D.
    """

    def run() -> dict[str, Any]:
        try:
            collective.check_period(period)
            result = collective.evaluate(objectives, unplanned)
            chosen = None if level is None else Grade(level)
        except ValueError as exc:
            field = str(exc).split(":", 1)[0] if ":" in str(exc) else "level"
            raise svc.EvaluationError(field, str(exc)) from exc
        linked = collective.head_linked(
            head_result(session, head, period) if head else None, chosen or result.proposed_level
        )
        data = result.as_json()
        row = repo.collective_evaluation(session, unit, period)
        previous = None
        if row is not None:
            previous = {
                "completion": row.completion,
                "proposed_level": row.proposed_level,
                "level": row.level,
                "comment": row.comment,
                "head": row.head,
                "head_result": row.head_result,
                "recorded_by": row.recorded_by,
            }
        if row is None:
            row = CollectiveEvaluation(unit=unit, period=period)
            session.add(row)
        row.perspectives = data["perspectives"]
        row.completion = result.completion
        row.unplanned = data["unplanned"]
        row.proposed_level = data["proposed_level"]
        row.level = chosen.value if chosen else None
        row.comment = comment
        row.head, row.head_result = head, linked
        row.recorded_by, row.recorded_at = actor, svc._now()
        session.flush()
        out = {
            "unit": unit,
            "period": period,
            **data,
            "level": row.level,
            "comment": comment,
            "head": head,
            "head_result": linked,
            "recorded_by": actor,
        }
        _event(session, tenant, "collective", "recorded", f"{unit}/{period}", out)
        subject = f"{unit}/{period}"
        svc.audit_change(
            session,
            tenant,
            "collective.recorded",
            "collective_evaluation",
            subject,
            actor,
            previous,
            out,
        )
        return out

    return dict(svc._once(session, idempotency_key, "record_collective", run))
