"""Checks of objectives and plans before approval (``004 Part A §II``, ``000 §V.1``).

Pure functions: :func:`validate_objective` (one objective and the objectives below it) and
:func:`validate_plan` (sibling objectives of a plan). Both return a list of :class:`Issue`;
an empty list means the plan may be submitted. Messages are Vietnamese (user-facing).

Field paths are dotted, relative to the objective passed (``key_results[2].weight``,
``children[0].key_results[1].target``); :func:`validate_plan` prefixes ``objectives[i].``.
Collection-level issues name the collection (``key_results``, ``children``, ``objectives``).

Rules (``rule`` code — severity — English meaning — source):

- ``kr_count`` — error — an objective has 1–5 key results (``004 Part A §II``, ``DOMAIN.md §2``;
  note: the 004 summary says 2–5, DOMAIN fixes 1–5). An objective whose ``progress_source`` is
  ``children`` and has no key results gets a warning instead (its figure comes from below).
- ``title_missing`` — error — an objective or key result has an empty title.
- ``weight_missing`` / ``weight_range`` — error — a weight is declared and in ``(0, 100]`` %.
- ``kr_weights_sum`` — error — sibling key results' weights sum to 100 (``000 §V.1``).
- ``objective_weights_sum`` — error — sibling objectives' weights sum to 100: the plan's
  objectives (:func:`validate_plan`) and the children of an objective whose ``progress_source``
  is ``children`` or ``both`` (children of a ``key_results`` objective are weighed per key result
  and re-normalised, so their sum is not checked).
- ``kpi_field_missing`` — error — a KPI declares unit of measure, direction, target, completion,
  exceed and fail thresholds, weight and data source (``000 §V.1``: "KPI phải có đơn vị tính,
  cách tính, trọng số, nguồn dữ liệu, ngưỡng hoàn thành, ngưỡng vượt tiến độ hoặc không hoàn
  thành"; "cách tính" is covered by direction + baseline/target).
- ``kr_target_missing`` — error — an OKR key result has a target (a key result must be
  measurable, "Thước đo", ``004 Part A §I``).
- ``direction_assumed`` — warning — an OKR key result without direction is treated as higher is
  better.
- ``thresholds_direction`` — error — thresholds agree with the direction: higher is better
  ``fail < complete <= exceed``; lower is better ``fail > complete >= exceed``.
- ``target_baseline`` — error — higher is better needs ``target > baseline`` (or, without a
  baseline, ``target > 0``); lower is better needs ``target >= 0``. Warning when a lower-is-
  better target is above its baseline (the indicator would be allowed to worsen).
- ``equal_weights`` — warning — ``000 §V.1``: "không phân bổ trọng số bình quân giữa các nhiệm vụ
  có quy mô, độ khó, mức độ tác động khác nhau". Implemented as: all sibling weights equal AND
  (at least 3 siblings, OR the siblings visibly differ — key results of different ``kind`` or
  ``unit_of_measure``; objectives of different ``perspective`` or ``breakthrough`` flag). Two
  key results of the same kind and unit at 50/50 raise nothing. The message asks the author to
  check the items really are of equal size.
- ``code_duplicate`` — error — key-result codes are unique within an objective; objective and
  key-result codes are unique within a plan tree (:func:`validate_plan`).
- ``children_missing`` — error when ``progress_source`` is ``children`` and there are no child
  objectives; warning when it is ``both`` (the key results alone then count).
- ``parent_key_result_unknown`` — error — a child objective's ``parent_key_result`` names a key
  result of its parent (``004 Phụ lục 4 §3.3``).
- ``child_not_linked`` — warning — under a ``key_results`` parent, a child with no
  ``parent_key_result`` does not count in the parent's progress.
- ``breakthrough_share`` — warning — breakthrough objectives take more than 40 % of the plan's
  weight (``004 Part A §II``: "dành tối đa từ 30%–40% KH này" for breakthrough items).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    ProgressSource,
)

__all__ = [
    "BREAKTHROUGH_SHARE_MAX",
    "MAX_KEY_RESULTS",
    "MIN_KEY_RESULTS",
    "Issue",
    "Severity",
    "validate_objective",
    "validate_plan",
]

Severity = Literal["error", "warning"]

MIN_KEY_RESULTS = 1
MAX_KEY_RESULTS = 5
BREAKTHROUGH_SHARE_MAX = Decimal(40)
"""Upper bound (%) of the breakthrough share of a plan's weight (``004 Part A §II``)."""

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: ``severity`` (``"error"`` blocks submission, ``"warning"`` does not),
    ``field`` (dotted path), ``message`` (Vietnamese), ``rule`` (code from the module list)."""

    severity: Severity
    field: str
    message: str
    rule: str


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


_KPI_FIELDS: tuple[tuple[str, str], ...] = (
    ("unit_of_measure", "đơn vị tính"),
    ("direction", "chiều chỉ số (càng cao/càng thấp càng tốt)"),
    ("target", "giá trị mục tiêu"),
    ("complete_threshold", "ngưỡng hoàn thành"),
    ("exceed_threshold", "ngưỡng vượt"),
    ("fail_threshold", "ngưỡng không hoàn thành"),
    ("weight", "trọng số"),
    ("data_source", "nguồn dữ liệu"),
)


def _weight_issues(weight: Decimal | None, path: str) -> list[Issue]:
    if weight is None:
        return [Issue("error", path, "Chưa khai báo trọng số", "weight_missing")]
    if weight <= 0 or weight > _HUNDRED:
        return [
            Issue(
                "error",
                path,
                f"Trọng số {weight} phải lớn hơn 0 và không quá 100",
                "weight_range",
            )
        ]
    return []


def _sum_issue(weights: Sequence[Decimal | None], path: str, rule: str, what: str) -> list[Issue]:
    if not weights or any(w is None for w in weights):
        return []
    total = sum((w for w in weights if w is not None), Decimal(0))
    if total != _HUNDRED:
        return [Issue("error", path, f"Tổng trọng số các {what} là {total}, phải bằng 100", rule)]
    return []


def _equal_weights_issue(
    weights: Sequence[Decimal | None], differ: bool, path: str, what: str
) -> list[Issue]:
    if len(weights) < 2 or any(w is None for w in weights) or len(set(weights)) != 1:
        return []
    if len(weights) >= 3 or differ:
        return [
            Issue(
                "warning",
                path,
                f"Trọng số chia đều cho {len(weights)} {what}: kiểm tra các {what} có cùng quy "
                "mô, độ khó, mức độ tác động; nếu khác nhau thì không chia đều trọng số "
                "(000 §V.1)",
                "equal_weights",
            )
        ]
    return []


def _key_result_issues(kr: KeyResultSpec, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if not kr.title.strip():
        issues.append(
            Issue("error", _join(path, "title"), "Chưa có tên mục tiêu then chốt", "title_missing")
        )
    missing_kpi: set[str] = set()
    if kr.kind == KeyResultKind.KPI:
        for name, label in _KPI_FIELDS:
            value = getattr(kr, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                missing_kpi.add(name)
                issues.append(
                    Issue(
                        "error",
                        _join(path, name),
                        f"KPI phải khai báo {label} (000 §V.1)",
                        "kpi_field_missing",
                    )
                )
    else:
        if kr.target is None:
            issues.append(
                Issue(
                    "error",
                    _join(path, "target"),
                    "Mục tiêu then chốt phải có giá trị mục tiêu đo lường được",
                    "kr_target_missing",
                )
            )
        if kr.direction is None:
            issues.append(
                Issue(
                    "warning",
                    _join(path, "direction"),
                    "Chưa khai báo chiều chỉ số: mặc định càng cao càng tốt",
                    "direction_assumed",
                )
            )
    if "weight" not in missing_kpi:
        issues.extend(_weight_issues(kr.weight, _join(path, "weight")))

    lower = kr.direction == Direction.LOWER
    # Targets against baseline.
    if kr.target is not None:
        if lower:
            if kr.target < 0:
                issues.append(
                    Issue(
                        "error",
                        _join(path, "target"),
                        "Chỉ số càng thấp càng tốt phải có mục tiêu không âm",
                        "target_baseline",
                    )
                )
            elif kr.baseline is not None and kr.target > kr.baseline:
                issues.append(
                    Issue(
                        "warning",
                        _join(path, "target"),
                        f"Chỉ số càng thấp càng tốt có mục tiêu {kr.target} cao hơn giá trị ban "
                        f"đầu {kr.baseline}",
                        "target_baseline",
                    )
                )
        elif kr.baseline is not None:
            if kr.target <= kr.baseline:
                issues.append(
                    Issue(
                        "error",
                        _join(path, "target"),
                        f"Chỉ số càng cao càng tốt phải có mục tiêu {kr.target} lớn hơn giá trị "
                        f"ban đầu {kr.baseline}",
                        "target_baseline",
                    )
                )
        elif kr.target <= 0:
            issues.append(
                Issue(
                    "error",
                    _join(path, "target"),
                    "Chỉ số càng cao càng tốt không có giá trị ban đầu thì mục tiêu phải lớn hơn 0",
                    "target_baseline",
                )
            )

    # Thresholds against the direction.
    fail, complete, exceed = kr.fail_threshold, kr.complete_threshold, kr.exceed_threshold
    order = (
        "ngưỡng không hoàn thành > ngưỡng hoàn thành ≥ ngưỡng vượt"
        if lower
        else ("ngưỡng không hoàn thành < ngưỡng hoàn thành ≤ ngưỡng vượt")
    )
    msg = f"Các ngưỡng không phù hợp với chiều chỉ số; phải có {order}"
    if (
        fail is not None
        and complete is not None
        and ((not lower and not fail < complete) or (lower and not fail > complete))
    ):
        issues.append(Issue("error", _join(path, "fail_threshold"), msg, "thresholds_direction"))
    if (
        exceed is not None
        and complete is not None
        and ((not lower and not complete <= exceed) or (lower and not complete >= exceed))
    ):
        issues.append(Issue("error", _join(path, "exceed_threshold"), msg, "thresholds_direction"))
    if (
        complete is None
        and fail is not None
        and exceed is not None
        and ((not lower and not fail < exceed) or (lower and not fail > exceed))
    ):
        issues.append(Issue("error", _join(path, "fail_threshold"), msg, "thresholds_direction"))
    return issues


def validate_objective(spec: ObjectiveSpec, path: str = "") -> list[Issue]:
    """Issues of ``spec``, its key results and, recursively, the objectives below it.

    ``path`` prefixes every field path (empty for the objective itself). Returns the issues in
    a stable order (objective, key results in order, children in order); never raises.
    See the module docstring for every rule, its severity and source.
    """
    issues: list[Issue] = []
    if not spec.title.strip():
        issues.append(Issue("error", _join(path, "title"), "Chưa có tên nhiệm vụ", "title_missing"))
    issues.extend(_weight_issues(spec.weight, _join(path, "weight")))

    krs = spec.key_results
    krs_path = _join(path, "key_results")
    n = len(krs)
    from_children = spec.progress_source == ProgressSource.CHILDREN
    if n > MAX_KEY_RESULTS or (n < MIN_KEY_RESULTS and not from_children):
        issues.append(
            Issue(
                "error",
                krs_path,
                f"Mỗi nhiệm vụ có từ {MIN_KEY_RESULTS} đến {MAX_KEY_RESULTS} mục tiêu then chốt, "
                f"hiện có {n} (004 Phần A §II)",
                "kr_count",
            )
        )
    elif n < MIN_KEY_RESULTS:
        issues.append(
            Issue(
                "warning",
                krs_path,
                "Nhiệm vụ chưa có mục tiêu then chốt; tiến độ chỉ tính từ nhiệm vụ cấp dưới",
                "kr_count",
            )
        )
    seen: set[str] = set()
    for i, kr in enumerate(krs):
        kr_path = f"{krs_path}[{i}]"
        if kr.code in seen:
            issues.append(
                Issue(
                    "error",
                    _join(kr_path, "code"),
                    f"Mã mục tiêu then chốt {kr.code} bị trùng",
                    "code_duplicate",
                )
            )
        seen.add(kr.code)
        issues.extend(_key_result_issues(kr, kr_path))
    weights = [kr.weight for kr in krs]
    issues.extend(_sum_issue(weights, krs_path, "kr_weights_sum", "mục tiêu then chốt"))
    differ = len({kr.kind for kr in krs}) > 1 or len({kr.unit_of_measure for kr in krs}) > 1
    issues.extend(_equal_weights_issue(weights, differ, krs_path, "mục tiêu then chốt"))

    children_path = _join(path, "children")
    source = spec.progress_source
    if not spec.children and source != ProgressSource.KEY_RESULTS:
        issues.append(
            Issue(
                "error" if source == ProgressSource.CHILDREN else "warning",
                children_path,
                "Tiến độ tính từ nhiệm vụ cấp dưới nhưng chưa có nhiệm vụ cấp dưới nào",
                "children_missing",
            )
        )
    for j, child in enumerate(spec.children):
        child_path = f"{children_path}[{j}]"
        link = child.parent_key_result
        if link is not None and link not in seen:
            issues.append(
                Issue(
                    "error",
                    _join(child_path, "parent_key_result"),
                    f"Mục tiêu then chốt cấp trên {link} không thuộc nhiệm vụ {spec.code}",
                    "parent_key_result_unknown",
                )
            )
        elif link is None and source == ProgressSource.KEY_RESULTS:
            issues.append(
                Issue(
                    "warning",
                    _join(child_path, "parent_key_result"),
                    "Nhiệm vụ cấp dưới không gắn với mục tiêu then chốt nào nên không được "
                    "tính vào tiến độ của nhiệm vụ cấp trên",
                    "child_not_linked",
                )
            )
        issues.extend(validate_objective(child, child_path))
    if spec.children and source != ProgressSource.KEY_RESULTS:
        child_weights = [c.weight for c in spec.children]
        issues.extend(
            _sum_issue(child_weights, children_path, "objective_weights_sum", "nhiệm vụ cấp dưới")
        )
        issues.extend(
            _equal_weights_issue(
                child_weights, _objectives_differ(spec.children), children_path, "nhiệm vụ"
            )
        )
    return issues


def _objectives_differ(objectives: Sequence[ObjectiveSpec]) -> bool:
    return (
        len({o.perspective for o in objectives}) > 1
        or len({o.breakthrough for o in objectives}) > 1
    )


def _codes(spec: ObjectiveSpec, path: str, out: list[tuple[str, str, str, str]]) -> None:
    """Append ``(kind, code, path, owner)``; ``owner`` is the objective path of a key result."""
    out.append(("objective", spec.code, path, ""))
    for i, kr in enumerate(spec.key_results):
        out.append(("key_result", kr.code, f"{path}.key_results[{i}]", path))
    for j, child in enumerate(spec.children):
        _codes(child, f"{path}.children[{j}]", out)


def validate_plan(objectives: Sequence[ObjectiveSpec]) -> list[Issue]:
    """Issues of a plan: every objective (:func:`validate_objective`, paths prefixed with
    ``objectives[i].``), then plan-level rules: sibling objective weights sum to 100
    (``objective_weights_sum``), equal weights (``equal_weights``), breakthrough share ≤ 40 %
    (``breakthrough_share``), unique codes across the whole tree (``code_duplicate``).
    Never raises.
    """
    issues: list[Issue] = []
    for i, spec in enumerate(objectives):
        issues.extend(validate_objective(spec, f"objectives[{i}]"))
    weights = [o.weight for o in objectives]
    issues.extend(_sum_issue(weights, "objectives", "objective_weights_sum", "nhiệm vụ"))
    issues.extend(
        _equal_weights_issue(weights, _objectives_differ(objectives), "objectives", "nhiệm vụ")
    )
    if weights and all(w is not None for w in weights):
        total = sum((w for w in weights if w is not None), Decimal(0))
        share = sum(
            (o.weight for o in objectives if o.breakthrough and o.weight is not None), Decimal(0)
        )
        if total > 0 and share * _HUNDRED > BREAKTHROUGH_SHARE_MAX * total:
            issues.append(
                Issue(
                    "warning",
                    "objectives",
                    f"Nhiệm vụ đột phá chiếm {share * _HUNDRED / total:.1f}% trọng số kế hoạch, "
                    f"vượt mức khuyến nghị tối đa {BREAKTHROUGH_SHARE_MAX}% (004 Phần A §II)",
                    "breakthrough_share",
                )
            )
    codes: list[tuple[str, str, str, str]] = []
    for i, spec in enumerate(objectives):
        _codes(spec, f"objectives[{i}]", codes)
    seen: dict[tuple[str, str], str] = {}
    owners: dict[tuple[str, str], str] = {}
    for kind, code, path, owner in codes:
        key = (kind, code)
        if key in seen and owner and owners[key] == owner:
            continue  # duplicate inside one objective: already reported by validate_objective
        if key in seen:
            label = "nhiệm vụ" if kind == "objective" else "mục tiêu then chốt"
            issues.append(
                Issue(
                    "error",
                    f"{path}.code",
                    f"Mã {label} {code} trùng với {seen[key]}",
                    "code_duplicate",
                )
            )
        else:
            seen[key] = path
            owners[key] = owner
    return issues
