"""Where the shipped tenant files are (shared by the fixtures and the tests)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TENANTS = ROOT / "data" / "tenants"
TENANT_CODES = ("hanoi", "thanhhoa")


def tenant_path(code: str) -> Path:
    """The shipped ``data/tenants/<code>/tenant.yaml``."""
    return TENANTS / code / "tenant.yaml"
