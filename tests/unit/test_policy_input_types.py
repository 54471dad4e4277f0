"""The embedded engine sees the input document's JSON types as OPA does: booleans stay
booleans (the regorus binding's ``set_input`` turned ``True`` into ``1.0``, so a rule testing
``input.x == true`` never held), sets arrive as arrays, numbers as numbers."""

from __future__ import annotations

from pathlib import Path

from services.common.policy import PolicyEngine

RULES = """package woms.types_probe

import rego.v1

is_true if input.flag == true

is_false if input.flag == false

kind := type_name(input.flag)

items := count(input.items)

number if input.n == 2
"""


def _engine(tmp_path: Path) -> PolicyEngine:
    root = tmp_path / "policies"
    root.mkdir()
    (root / "probe.rego").write_text(RULES)
    return PolicyEngine(root)


def test_booleans_sets_and_numbers_keep_their_json_types(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.evaluate("data.woms.types_probe.is_true", {"flag": True}) is True
    assert engine.evaluate("data.woms.types_probe.is_true", {"flag": False}) is None
    assert engine.evaluate("data.woms.types_probe.is_false", {"flag": False}) is True
    assert engine.evaluate("data.woms.types_probe.kind", {"flag": True}) == "boolean"
    assert engine.evaluate("data.woms.types_probe.items", {"items": {"b", "a"}}) == 2
    assert engine.evaluate("data.woms.types_probe.number", {"n": 2}) is True
