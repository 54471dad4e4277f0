"""Every golden case of ``../shared/golden/`` through the library and through the CLI."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from services.evaluation import cases
from tests.unit.conftest import golden_files, load

SCORING = golden_files("scoring")
QUOTA = golden_files("quota")
TOLERANCE = 1e-6


def assert_matches(got: dict, expect: dict) -> None:
    """Fractions within 1e-6; status, score and grade exactly; the same keys."""
    assert set(got) == set(expect)
    for key, value in expect.items():
        if key in {"status", "score", "grade"}:
            assert got[key] == value, key
        else:
            assert abs(got[key] - value) <= TOLERANCE, (key, got[key], value)


@pytest.mark.parametrize("path", SCORING, ids=lambda p: p.stem)
def test_scoring_golden_library(path: Path) -> None:
    result = cases.score_case(cases.load_scoring_case(path))
    assert_matches(cases.result_json(result), load(path)["expect"])


@pytest.mark.parametrize("path", SCORING, ids=lambda p: p.stem)
def test_scoring_golden_cli(path: Path, woms_bin: str, tmp_path: Path) -> None:
    case = load(path)
    expect = case.pop("expect")
    stripped = tmp_path / path.name  # the contract: a case without `expect`
    stripped.write_text(json.dumps(case), encoding="utf-8")
    done = subprocess.run([woms_bin, "score", str(stripped)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_matches(json.loads(done.stdout), expect)


@pytest.mark.parametrize("path", QUOTA, ids=lambda p: p.stem)
def test_quota_golden_library(path: Path) -> None:
    final = cases.quota_case(cases.load_quota_case(path))
    assert {p: g.value for p, g in final.items()} == load(path)["expect"]


@pytest.mark.parametrize("path", QUOTA, ids=lambda p: p.stem)
def test_quota_golden_cli(path: Path, woms_bin: str, tmp_path: Path) -> None:
    case = load(path)
    expect = case.pop("expect")
    stripped = tmp_path / path.name
    stripped.write_text(json.dumps(case), encoding="utf-8")
    done = subprocess.run([woms_bin, "quota", str(stripped)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expect


def test_worked_example_is_the_seed_numbers() -> None:
    """002's worked example: 132 points, a = 104/132, b = 97/132, c = 104/132 → 83.9, B."""
    result = cases.score_case(
        cases.load_scoring_case(next(p for p in SCORING if p.stem == "seed002_nguyen_van_a"))
    )
    assert result.totals is not None and result.totals.assigned == 132
    assert (result.a, result.b, result.c) == (
        Fraction(104, 132),
        Fraction(97, 132),
        Fraction(104, 132),
    )
    assert str(result.score) == "83.9" and result.grade is not None
    assert result.grade.label == "Hoàn thành tốt nhiệm vụ"
