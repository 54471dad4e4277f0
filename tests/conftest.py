"""Shared pytest fixtures. Each block below belongs to one area; keep them delimited."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import runtime
from services.common.settings import Settings

# --- telemetry: off unless a test sets it up with its own providers (test_telemetry.py) --
os.environ.setdefault("WOMS_TELEMETRY", "off")
# --- end telemetry -----------------------------------------------------------------------

# --- policy inputs: every document the services send is checked against its package's
# policies/woms/<area>/input.schema.json (services/common/authorizer.py) ----------------
os.environ.setdefault("POLICY_INPUT_CHECK", "true")
# --- end policy inputs -------------------------------------------------------------------

# --- embedded runtime (Temporal dev server + Tansu) -------------------------------------
# Built on services.common.runtime, the launcher behind `woms dev up|down`.


def _embedded_settings(home: Path) -> Settings:
    """Settings forcing the embedded components under ``home``, whatever the environment."""
    return Settings(woms_home=home, temporal_address=None, kafka_bootstrap_servers=None)


@pytest.fixture(scope="session")
def embedded_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[runtime.RuntimeState]:
    """Temporal + Tansu started once per session under a temporary WOMS home; stopped after."""
    settings = _embedded_settings(tmp_path_factory.mktemp("woms-home"))
    state = runtime.up(settings, start_timeout_s=60)
    try:
        yield state
    finally:
        runtime.down(settings)


@pytest.fixture(scope="session")
def temporal_address(embedded_runtime: runtime.RuntimeState) -> str:
    """``host:port`` of the session's Temporal dev server."""
    return embedded_runtime.address("temporal")


@pytest.fixture(scope="session")
def kafka_bootstrap(embedded_runtime: runtime.RuntimeState) -> str:
    """Bootstrap ``host:port`` of the session's Tansu broker."""
    return embedded_runtime.address("kafka")


# --- end embedded runtime ---------------------------------------------------------------
