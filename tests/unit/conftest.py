"""Fixtures for the scoring tests: the golden cases of ``../shared/golden/``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT.parent / "shared" / "golden"


def golden_files(kind: str) -> list[Path]:
    """Every golden case of ``kind`` (``scoring`` or ``quota``); fails loudly if none exist."""
    files = sorted((GOLDEN / kind).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no golden cases under {GOLDEN / kind}")
    return files


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def woms_bin() -> str:
    """The installed ``woms`` command of this environment."""
    candidate = Path(sys.executable).with_name("woms")
    found = str(candidate) if candidate.exists() else shutil.which("woms")
    assert found, "the woms command is not installed (run make install)"
    return found
