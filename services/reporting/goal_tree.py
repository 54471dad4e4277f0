"""The goal tree's figures in reporting — the read models' rows rolled up by the **same** rules
as planning (:mod:`services.common.goals.rollup`, pure, exact ``fractions.Fraction``, 1 = 100 %).

Reporting answers from its read models (the plans, objectives and key results projected from
``vn.woms.planning.plan.defined.v1`` and ``keyresult.progressed.v1``) and may not import the
planning service; both call the shared kernel's roll-up, so there is one statement of the rules
(``004 Phụ lục 4 §3.2–§4.4``, ``004 Part A §II``, ``000 §V.1``: see that module's docstring).
This module only turns rows into :class:`~services.common.goals.okr.ObjectiveSpec` trees and
fixes the day as planning does (clamped into the plan's period). The integration test
``tests/integration/test_reporting_goal_tree.py`` checks the answers against planning's API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from services.common.goals import rollup
from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    Perspective,
    ProgressSource,
)

__all__ = ["key_result_spec", "objective_spec", "plan_figures"]


def key_result_spec(row: Mapping[str, Any], dec: Any) -> KeyResultSpec:
    """A key result of the read model as a spec; ``dec(name)`` reads an exact amount
    (``Decimal`` in the key result's unit) or ``None``.

    Raises:
        ValueError: an unknown ``kind`` or ``direction`` (the projections accept only known
            ones, so this means a corrupted row).
    """
    direction = row["direction"]
    return KeyResultSpec(
        code=row["key_result"],
        title=row["title"],
        kind=KeyResultKind(row["kind"]),
        unit_of_measure=row["unit_of_measure"],
        direction=None if direction is None else Direction(direction),
        baseline=dec("baseline"),
        target=dec("target"),
        complete_threshold=dec("complete_threshold"),
        exceed_threshold=dec("exceed_threshold"),
        fail_threshold=dec("fail_threshold"),
        weight=dec("weight"),
    )


def objective_spec(
    row: Mapping[str, Any],
    weight: Decimal | None,
    key_results: Sequence[KeyResultSpec],
    children: Sequence[ObjectiveSpec],
) -> ObjectiveSpec:
    """An objective of the read model (``weight`` in %, exact) with its key results and the
    objectives serving them.

    Raises:
        ValueError: an unknown ``perspective`` or ``progress_source``.
    """
    return ObjectiveSpec(
        code=row["objective"],
        title=row["title"],
        perspective=Perspective(row["perspective"]),
        breakthrough=bool(row["breakthrough"]),
        weight=weight,
        progress_source=ProgressSource(row["progress_source"]),
        parent_key_result=row["parent_key_result"],
        key_results=tuple(key_results),
        children=tuple(children),
    )


def plan_figures(
    objectives: Sequence[ObjectiveSpec],
    values: rollup.Values,
    period_start: date,
    period_end: date,
    today: date,
    *,
    evaluation: bool,
) -> rollup.PlanProgress:
    """Figures of a plan's objective trees on ``today`` clamped into the period (as planning's
    ``GET /plans/{code}``): reported (``evaluation=False``, everything counts) or evaluation
    figures (breakthrough objectives and ``okr`` key results left out, ``004 Part A §II``).
    ``values`` maps key-result codes to current values (``None``/absent: no data).

    Raises:
        ValueError: ``period_end < period_start``.
    """
    day = min(max(today, period_start), period_end)
    dates = rollup.DateContext(period_start, period_end, day)
    return rollup.roll_up(objectives, values, evaluation=evaluation, dates=dates)
