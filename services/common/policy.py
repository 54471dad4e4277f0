"""In-process Rego evaluation with regorus (``hobofan_regorus``).

Policies live under ``policies/`` at the repository root (``*.rego``; ``*_test.rego``
files are skipped). Rule paths are full data references, e.g. ``data.woms.smoke.allow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hobofan_regorus import Engine

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
"""Default policy root: ``<repo>/policies``."""


def policy_files(root: Path = POLICIES_DIR) -> list[Path]:
    """Return the ``*.rego`` files under ``root`` (recursive, sorted), tests excluded."""
    return sorted(p for p in root.rglob("*.rego") if not p.name.endswith("_test.rego"))


class PolicyEngine:
    """A loaded set of Rego policies; evaluate rules against an input document.

    Each :meth:`evaluate` works on a clone of the loaded engine, so inputs never leak
    between calls. A regorus engine is bound to the thread that created it (it panics when
    used from another): keep one instance per thread.
    """

    def __init__(self, root: Path = POLICIES_DIR, extra_files: Iterable[Path] = ()) -> None:
        """Load every policy under ``root`` plus ``extra_files`` (e.g. ``*_test.rego``).

        Raises:
            FileNotFoundError: when ``root`` is not a directory.
            RuntimeError: (from regorus) when a file does not parse.
        """
        if not root.is_dir():
            raise FileNotFoundError(f"policy directory not found: {root}")
        self._engine = Engine()
        packages: set[str] = set()
        for path in [*policy_files(root), *extra_files]:
            packages.add(self._engine.add_policy_from_file(str(path)))
        self.packages: frozenset[str] = frozenset(packages)
        """Loaded packages as data refs, e.g. ``{"data.woms.smoke"}``."""

    def evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        """Evaluate ``rule`` (e.g. ``"data.woms.smoke.allow"``) for ``input``.

        Returns:
            The rule's value as Python data (bool, number, str, list, dict, set),
            or ``None`` when the rule is undefined for this input.

        Raises:
            RuntimeError: (from regorus) when ``rule`` names no rule or evaluation fails.
        """
        engine = self._engine.clone()
        engine.set_input(dict(input))
        return engine.eval_rule(rule)
