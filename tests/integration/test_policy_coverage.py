"""Line coverage of the Rego policies by their Rego unit tests, measured by regorus.

regorus (``hobofan_regorus.Engine``) records which lines of each loaded policy were evaluated
(``set_enable_coverage``, ``get_coverage_report_as_json``). This is *line* coverage: a line
counts as covered once it was evaluated, whether its expression held or not; it does not show
that every branch was decided both ways (the Rego tests check the outcomes).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hobofan_regorus import Engine

from services.common.policy import POLICIES_DIR, policy_files

pytestmark = pytest.mark.integration

FULLY_COVERED = policy_files()
"""Policies whose every line must be evaluated by the Rego tests: all of them (the four
authorization packages, the shared ``woms.lib`` helpers, the smoke package)."""


def _test_rules(path: Path) -> list[str]:
    text = path.read_text()
    package = re.search(r"^package\s+([\w.]+)", text, re.M)
    assert package, f"{path} has no package"
    return [f"data.{package.group(1)}.{rule}" for rule in re.findall(r"^(test_\w+)", text, re.M)]


def _coverage_after_all_tests() -> dict[Path, dict[str, list[int]]]:
    """Run every ``test_*`` rule of every ``*_test.rego`` on one engine with coverage on;
    return ``{policy file: {"covered": [...], "not_covered": [...]}}``."""
    engine = Engine()
    engine.set_enable_coverage(True)
    tests = sorted(POLICIES_DIR.rglob("*_test.rego"))
    for path in [*policy_files(), *tests]:
        engine.add_policy_from_file(str(path))
    engine.set_input({})
    failed = [
        rule for path in tests for rule in _test_rules(path) if engine.eval_rule(rule) is not True
    ]
    assert not failed, f"Rego tests failing: {failed}"
    report = json.loads(engine.get_coverage_report_as_json())
    return {
        Path(f["path"]).resolve(): {"covered": f["covered"], "not_covered": f["not_covered"]}
        for f in report["files"]
    }


def _uncovered(policy: Path, lines: list[int]) -> str:
    text = policy.read_text().splitlines()
    return "\n".join(f"{policy.name}:{n}: {text[n - 1].strip()}" for n in lines)


@pytest.mark.parametrize("policy", FULLY_COVERED, ids=lambda p: str(p.relative_to(POLICIES_DIR)))
def test_policy_is_fully_covered_by_its_rego_tests(policy: Path) -> None:
    coverage = _coverage_after_all_tests()
    assert policy.resolve() in coverage, f"{policy} was never evaluated by a Rego test"
    entry = coverage[policy.resolve()]
    assert entry["covered"], f"{policy}: no line covered"
    missing = entry["not_covered"]
    assert not missing, "lines never evaluated by a Rego test:\n" + _uncovered(policy, missing)


def test_coverage_report_flags_an_unevaluated_line(tmp_path: Path) -> None:
    """The measure is not vacuous: a rule no test reaches shows up as not covered."""
    policy = tmp_path / "probe.rego"
    policy.write_text(
        "package probe\n\nimport rego.v1\n\ndefault allow := false\n\n"
        'allow if input.action == "read"\n\n'
        "deny if {\n"
        '\tinput.action == "write"\n'
        "}\n"
    )
    engine = Engine()
    engine.set_enable_coverage(True)
    engine.add_policy_from_file(str(policy))
    engine.set_input({"action": "read"})
    assert engine.eval_rule("data.probe.allow") is True
    report = json.loads(engine.get_coverage_report_as_json())
    [entry] = [f for f in report["files"] if Path(f["path"]).resolve() == policy.resolve()]
    assert 10 in entry["not_covered"]  # the body of `deny`
    assert 7 in entry["covered"]
