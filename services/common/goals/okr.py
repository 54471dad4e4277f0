"""Domain types of planning: objectives (nhiệm vụ), key results (mục tiêu then chốt), cascades.

Pure value types shared by :mod:`.progress`, :mod:`.rollup`, the planning service
(:mod:`services.planning.validation`) and reporting's goal tree. No I/O. Numbers are exact
``Decimal`` (as in the tenant file, ``docs/tenant-file.md``); computed ratios are
``fractions.Fraction``.

Sources: ``DOMAIN.md §2``; ``004 Part A §II`` (objective with key results, four perspectives,
breakthrough items); ``000 §V.1`` (KPI fields); ``004 Phụ lục 4 §3.3`` (cascade).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Direction",
    "KeyResultKind",
    "KeyResultSpec",
    "ObjectiveSpec",
    "Perspective",
    "ProgressSource",
    "StatusColour",
]


class Perspective(StrEnum):
    """The four balanced-scorecard perspectives, in plan order (``DOMAIN.md §2``,
    ``004 Part A §II`` mục 1–4).

    Iterating the enum yields them in that order; :attr:`label` is the Vietnamese label and
    :attr:`order` the 1-based position.
    """

    CITIZENS = "citizens"
    FINANCE = "finance"
    PROCESS = "process"
    LEARNING = "learning"

    @property
    def label(self) -> str:
        """Vietnamese label shown to users."""
        return _PERSPECTIVE_LABELS[self]

    @property
    def order(self) -> int:
        """1-based position of the perspective in a plan (citizens = 1 … learning = 4)."""
        return list(Perspective).index(self) + 1


_PERSPECTIVE_LABELS: dict[Perspective, str] = {
    Perspective.CITIZENS: "Đối tượng phục vụ và các bên liên quan (nhiệm vụ theo sứ mệnh)",
    Perspective.FINANCE: "Ngân sách và hiệu quả sử dụng nguồn lực",
    Perspective.PROCESS: "Quy chế, quy định, quy trình nội bộ",
    Perspective.LEARNING: "Học hỏi và phát triển",
}


class KeyResultKind(StrEnum):
    """``kpi``: stable indicator of regular work; ``okr``: ambitious, breakthrough key result
    (``DOMAIN.md §2``, ``004 Phụ lục 4 §2.2``)."""

    KPI = "kpi"
    OKR = "okr"


class Direction(StrEnum):
    """Whether a higher or a lower value of the indicator is better (``004 Phụ lục 4 §4.3``:
    "chỉ số nghịch", e.g. traffic accidents, overdue dossiers)."""

    HIGHER = "higher"
    LOWER = "lower"


class ProgressSource(StrEnum):
    """Where an objective's progress comes from (see :mod:`services.common.goals.rollup`)."""

    KEY_RESULTS = "key_results"
    CHILDREN = "children"
    BOTH = "both"


class StatusColour(StrEnum):
    """Traffic light of a dashboard item (``DOMAIN.md §9``, ``004 Phụ lục 4 §4.4``).

    Values are the colours; :attr:`status` gives the English status name and :attr:`label` the
    Vietnamese one.
    """

    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def status(self) -> str:
        """``on_track`` (green), ``at_risk`` (amber) or ``off_track`` (red)."""
        return {"green": "on_track", "amber": "at_risk", "red": "off_track"}[self.value]

    @property
    def label(self) -> str:
        """Vietnamese label: Đúng tiến độ / Có nguy cơ chậm / Chậm tiến độ."""
        return {
            "green": "Đúng tiến độ",
            "amber": "Có nguy cơ chậm",
            "red": "Chậm tiến độ",
        }[self.value]


@dataclass(frozen=True, slots=True)
class KeyResultSpec:
    """A key result (mục tiêu then chốt) as declared in a plan (``000 §V.1``).

    Fields (names as in the tenant file, ``docs/tenant-file.md``):

    - ``code``, ``title``: identifier and Vietnamese title.
    - ``kind``: :class:`KeyResultKind`.
    - ``unit_of_measure``: e.g. ``"%"``, ``"hồ sơ"``; ``None`` when not declared.
    - ``direction``: :class:`Direction`; ``None`` = not declared (progress then assumes
      ``higher``; :func:`~services.planning.validation.validate_objective` reports it).
    - ``baseline``, ``target``: in ``unit_of_measure``; ``None`` when not declared.
    - ``complete_threshold``, ``exceed_threshold``, ``fail_threshold``: in ``unit_of_measure``.
    - ``weight``: share among sibling key results, in % (siblings sum to 100).
    - ``data_source``: ``manual`` or ``system:<name>``.
    - ``evidence_required``: whether an update needs evidence (minh chứng).
    """

    code: str
    title: str
    kind: KeyResultKind = KeyResultKind.KPI
    unit_of_measure: str | None = None
    direction: Direction | None = Direction.HIGHER
    baseline: Decimal | None = None
    target: Decimal | None = None
    complete_threshold: Decimal | None = None
    exceed_threshold: Decimal | None = None
    fail_threshold: Decimal | None = None
    weight: Decimal | None = None
    data_source: str | None = None
    evidence_required: bool = False


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    """An objective (nhiệm vụ) with its key results and the objectives cascaded below it.

    Fields:

    - ``code``, ``title``, ``perspective`` (:class:`Perspective`).
    - ``breakthrough``: a breakthrough item (nhiệm vụ đột phá): reported, never evaluated
      (``004 Part A §II``, ``004 Phụ lục 4 §3.2``).
    - ``weight``: share among sibling objectives, in % (siblings sum to 100).
    - ``progress_source``: :class:`ProgressSource`.
    - ``parent_key_result``: code of the parent objective's key result this objective serves
      (``004 Phụ lục 4 §3.3``), or ``None`` when it serves the parent objective as a whole.
    - ``key_results``: 1–5 :class:`KeyResultSpec` (``004 Part A §II``).
    - ``children``: objectives (of lower-level plans) linked below this one.
    """

    code: str
    title: str
    perspective: Perspective = Perspective.CITIZENS
    breakthrough: bool = False
    weight: Decimal | None = None
    progress_source: ProgressSource = ProgressSource.KEY_RESULTS
    parent_key_result: str | None = None
    key_results: tuple[KeyResultSpec, ...] = ()
    children: tuple[ObjectiveSpec, ...] = ()
