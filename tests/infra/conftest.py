"""Fixtures of the infrastructure tests: the kustomize overlays of ``infra/k8s`` rendered once
per session (helpers in ``k8s_support``)."""

from __future__ import annotations

from typing import Any

import pytest
from k8s_support import K8S, OVERLAYS, kustomize


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """``{overlay: objects}`` for every overlay of :data:`OVERLAYS`."""
    return {overlay: kustomize(K8S / overlay) for overlay in OVERLAYS}
