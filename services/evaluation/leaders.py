"""A head's unit factors d, đ, e — pure rules, no I/O (``001 §III.3``, ``§III.4.2``).

``001 §III.3``: "Ngoài tiêu chí về kết quả thực hiện nhiệm vụ, cán bộ lãnh đạo, quản lý là
người đứng đầu cơ quan, tổ chức, đơn vị còn được đánh giá theo các tiêu chí sau":

* **d** — *Kết quả hoạt động của cơ quan, tổ chức, đơn vị*: 100% when every CBCCVC under the
  head's authority scores at the level of grade C ("hoàn thành nhiệm vụ") or better, 50% when
  one scores at the level of grade D. Computed by the system from the subordinates' scores
  (:func:`factor_d`).
* **đ** — *Khả năng tổ chức triển khai thực hiện nhiệm vụ*: 100% when the unit completed its
  planned work on time and with quality, 50% when "có tồn tại, hạn chế, chậm trễ kéo dài
  trong việc thực hiện chương trình, kế hoạch công tác". The system *proposes* it from the
  unit's plan (:func:`propose_dd`); the authority confirms or overrides it.
* **e** — *Năng lực tập hợp, đoàn kết*: 100% when the unit stayed united, 50% when "phát sinh
  phản ánh, khiếu nại, kiến nghị về mâu thuẫn, mất đoàn kết nội bộ kéo dài". Proposed from the
  conflict reports recorded for the period (:func:`propose_e`); confirmed by the authority.

Who is a leader here: the head of a unit (``unit_heads`` of planning's evaluator relation),
since ``001 §III.3`` gives d, đ, e to the "người đứng đầu"; deputies are scored as staff on
the tasks they do and direct (``001 §III.3`` a–b).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from services.evaluation.periods import PASS_SCORE, subordinates_pass
from services.evaluation.scoring import LeaderFactors

#: Plan status colour meaning "off track" (planning's traffic lights, ``DOMAIN.md §9``).
OFF_TRACK = "red"


@dataclass(frozen=True, slots=True)
class ObjectiveStanding:
    """One objective of the unit's plan as planning reports it.

    Attributes:
        code: objective code.
        perspective: ``citizens`` | ``finance`` | ``process`` | ``learning``.
        breakthrough: a breakthrough item (excluded from evaluation, ``004`` Part A §I).
        progress: completion 0–1+ (``None`` when nothing was measured).
        colour: planning's status against the time elapsed: ``green`` | ``amber`` | ``red``.
        weight: the objective's weight in the plan (≥ 0).
    """

    code: str
    perspective: str
    breakthrough: bool = False
    progress: Fraction | None = None
    colour: str | None = None
    weight: Fraction = Fraction(1)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ObjectiveStanding:
        """From planning's plan detail (``GET /plans/{code}`` ``objectives[]``).

        Raises:
            ValueError: a progress or weight that is not a number.
        """
        progress = data.get("progress")
        weight = data.get("weight")
        return cls(
            code=str(data["code"]),
            perspective=str(data.get("perspective") or ""),
            breakthrough=bool(data.get("breakthrough", False)),
            progress=None if progress is None else Fraction(str(progress)),
            colour=data.get("status_colour", data.get("colour")),
            weight=Fraction(1) if weight is None else Fraction(str(weight)),
        )


@dataclass(frozen=True, slots=True)
class FactorProposal:
    """The system's proposal of a head's d, đ, e with the reasons shown to the authority.

    Attributes:
        d, dd, e: met (100%) or not (50%).
        reasons: factor name → Vietnamese explanation citing the rule.
    """

    d: bool
    dd: bool
    e: bool
    reasons: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"d": self.d, "dd": self.dd, "e": self.e, "reasons": dict(self.reasons)}


def factor_d(scores: Mapping[str, Decimal | None]) -> tuple[bool, str]:
    """Factor d from the subordinates' scores (points, ``None`` when not evaluated):
    met when each evaluated subordinate has ≥ 50 points (``001 §III.3a``,
    :func:`services.evaluation.periods.subordinates_pass`). Returns (met, reason)."""
    below = sorted(p for p, s in scores.items() if s is not None and s < PASS_SCORE)
    counted = sum(1 for s in scores.values() if s is not None)
    met = subordinates_pass(scores.values())
    if met:
        reason = (
            f"001 §III.3a: {counted} CBCCVC thuộc thẩm quyền quản lý đều đạt từ mức "
            "hoàn thành nhiệm vụ trở lên (≥ 50 điểm) → 100%"
        )
    else:
        reason = (
            f"001 §III.3a: có CBCCVC ở mức không hoàn thành nhiệm vụ (< 50 điểm): "
            f"{', '.join(below)} → 50%"
        )
    return met, reason


def propose_dd(objectives: Sequence[ObjectiveStanding] | None) -> tuple[bool, str]:
    """Proposal for đ from the unit's plan (``001 §III.3b``): not met (50%) when an
    objective counted for evaluation (breakthrough items excluded, ``004`` Part A §I) is off
    track (``red``: "chậm trễ kéo dài"), met otherwise. Without plan data the proposal is
    "met" and says so: the authority confirms. Returns (met, reason)."""
    if objectives is None:
        return True, (
            "001 §III.3b: chưa có dữ liệu kế hoạch của đơn vị; đề xuất 100%, "
            "cấp có thẩm quyền xác nhận"
        )
    counted = [o for o in objectives if not o.breakthrough]
    late = sorted(o.code for o in counted if o.colour == OFF_TRACK)
    if late:
        return False, (
            "001 §III.3b: chậm trễ kéo dài trong thực hiện kế hoạch (mục tiêu chậm tiến độ: "
            f"{', '.join(late)}) → 50%"
        )
    return True, (
        f"001 §III.3b: {len(counted)} mục tiêu của kế hoạch (không tính mục tiêu đột phá) "
        "đúng tiến độ → 100%"
    )


def propose_e(conflict_reports: Iterable[str]) -> tuple[bool, str]:
    """Proposal for e from the conflict reports of the period (``001 §III.3c``): not met (50%)
    when any report of internal conflict or disunity was recorded, met otherwise. Returns
    (met, reason)."""
    reports = [r for r in conflict_reports if r.strip()]
    if reports:
        return False, (
            f"001 §III.3c: {len(reports)} phản ánh về mâu thuẫn, mất đoàn kết nội bộ → 50%"
        )
    return True, "001 §III.3c: không có phản ánh về mâu thuẫn, mất đoàn kết nội bộ → 100%"


def propose(
    subordinate_scores: Mapping[str, Decimal | None],
    objectives: Sequence[ObjectiveStanding] | None,
    conflict_reports: Iterable[str] = (),
) -> FactorProposal:
    """The head's proposal: d computed, đ and e proposed (see the module doc)."""
    d, d_reason = factor_d(subordinate_scores)
    dd, dd_reason = propose_dd(objectives)
    e, e_reason = propose_e(conflict_reports)
    return FactorProposal(d, dd, e, {"d": d_reason, "dd": dd_reason, "e": e_reason})


def factors_of(stored: Mapping[str, Any] | None) -> LeaderFactors | None:
    """The factors that count, from an evaluation's ``leader_factors`` JSON: d as computed,
    đ and e as confirmed by the authority, else as proposed. ``None`` for staff."""
    if not stored or not stored.get("proposed"):
        return None
    proposed = stored["proposed"]
    confirmed = stored.get("confirmed") or {}
    return LeaderFactors(
        all_subordinates_pass=bool(proposed["d"]),
        unit_on_plan=bool(confirmed.get("dd", proposed["dd"])),
        unit_united=bool(confirmed.get("e", proposed["e"])),
    )
