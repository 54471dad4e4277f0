"""Properties of progress and roll-up over random inputs (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.goals.okr import (
    Direction,
    KeyResultKind,
    KeyResultSpec,
    ObjectiveSpec,
    ProgressSource,
)
from services.common.goals.progress import PROGRESS_CAP, key_result_progress
from services.common.goals.rollup import ObjectiveProgress, evaluation_progress, reported_progress

amounts = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
positive = st.decimals(
    min_value=Decimal("0.01"), max_value=1000, places=2, allow_nan=False, allow_infinity=False
)
weights = st.one_of(st.none(), st.integers(min_value=0, max_value=100).map(Decimal))


@given(target=amounts, a=amounts, b=amounts)
def test_lower_is_better_progress_never_increases_with_actual(
    target: Decimal, a: Decimal, b: Decimal
) -> None:
    spec = KeyResultSpec(code="K", title="K", direction=Direction.LOWER, target=target)
    low, high = min(a, b), max(a, b)
    assert key_result_progress(spec, low) >= key_result_progress(spec, high)
    if 0 < low < high and target > 0 and target / low <= PROGRESS_CAP:
        assert key_result_progress(spec, low) > key_result_progress(spec, high)


@given(target=positive, baseline=st.one_of(st.none(), amounts), a=amounts, b=amounts)
def test_higher_is_better_progress_never_decreases_with_actual(
    target: Decimal, baseline: Decimal | None, a: Decimal, b: Decimal
) -> None:
    if baseline is not None and baseline >= target:
        baseline = None
    spec = KeyResultSpec(code="K", title="K", baseline=baseline, target=target)
    assert key_result_progress(spec, min(a, b)) <= key_result_progress(spec, max(a, b))


@st.composite
def key_results(draw: st.DrawFn, prefix: str) -> tuple[KeyResultSpec, ...]:
    n = draw(st.integers(min_value=0, max_value=3))
    return tuple(
        KeyResultSpec(
            code=f"{prefix}K{i}",
            title="K",
            kind=draw(st.sampled_from(KeyResultKind)),
            direction=draw(st.sampled_from(Direction)),
            baseline=None,
            target=draw(st.one_of(st.none(), positive)),
            weight=draw(weights),
        )
        for i in range(n)
    )


@st.composite
def objectives(draw: st.DrawFn, prefix: str = "O", depth: int = 0) -> ObjectiveSpec:
    krs = draw(key_results(prefix))
    n_children = 0 if depth >= 2 else draw(st.integers(min_value=0, max_value=2))
    children = tuple(
        draw(objectives(prefix=f"{prefix}.{j}", depth=depth + 1)) for j in range(n_children)
    )
    links = [None, *(k.code for k in krs)]
    children = tuple(
        ObjectiveSpec(
            code=c.code,
            title=c.title,
            breakthrough=c.breakthrough,
            weight=c.weight,
            progress_source=c.progress_source,
            parent_key_result=draw(st.sampled_from(links)),
            key_results=c.key_results,
            children=c.children,
        )
        for c in children
    )
    return ObjectiveSpec(
        code=prefix,
        title=prefix,
        breakthrough=draw(st.booleans()),
        weight=draw(weights),
        progress_source=draw(st.sampled_from(ProgressSource)),
        key_results=krs,
        children=children,
    )


def _codes(spec: ObjectiveSpec) -> list[str]:
    out = [k.code for k in spec.key_results]
    for child in spec.children:
        out.extend(_codes(child))
    return out


def _walk(result: ObjectiveProgress) -> list[ObjectiveProgress]:
    out = [result]
    for child in result.children:
        out.extend(_walk(child))
    return out


@st.composite
def plans(draw: st.DrawFn) -> tuple[list[ObjectiveSpec], dict[str, Decimal | None]]:
    n = draw(st.integers(min_value=1, max_value=3))
    specs = [draw(objectives(prefix=f"P{i}")) for i in range(n)]
    codes = [c for s in specs for c in _codes(s)]
    values = {c: draw(st.one_of(st.none(), amounts)) for c in codes}
    return specs, values


@settings(max_examples=200, deadline=None)
@given(plan=plans())
def test_roll_up_stays_within_zero_and_cap(
    plan: tuple[list[ObjectiveSpec], dict[str, Decimal | None]],
) -> None:
    specs, values = plan
    for figures in (reported_progress(specs, values), evaluation_progress(specs, values)):
        assert figures.progress is None or 0 <= figures.progress <= PROGRESS_CAP
        for top in figures.objectives:
            for o in _walk(top):
                assert o.progress is None or 0 <= o.progress <= PROGRESS_CAP
                for k in o.key_results:
                    assert 0 <= k.progress <= PROGRESS_CAP
    reported = reported_progress(specs, values)
    assert reported.progress is not None
    assert all(o.progress is not None for top in reported.objectives for o in _walk(top))


@settings(max_examples=100, deadline=None)
@given(plan=plans())
def test_evaluation_equals_reported_without_breakthrough_items(
    plan: tuple[list[ObjectiveSpec], dict[str, Decimal | None]],
) -> None:
    specs, values = plan

    def plain(spec: ObjectiveSpec) -> ObjectiveSpec:
        return ObjectiveSpec(
            code=spec.code,
            title=spec.title,
            weight=spec.weight,
            progress_source=spec.progress_source,
            parent_key_result=spec.parent_key_result,
            key_results=tuple(
                KeyResultSpec(
                    code=k.code,
                    title=k.title,
                    direction=k.direction,
                    target=k.target,
                    weight=k.weight,
                )
                for k in spec.key_results
            ),
            children=tuple(plain(c) for c in spec.children),
        )

    flat = [plain(s) for s in specs]
    assert evaluation_progress(flat, values).progress == reported_progress(flat, values).progress
    assert isinstance(reported_progress(flat, values).progress, Fraction)
