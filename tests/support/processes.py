"""``woms`` commands run as child processes by the integration tests: the ``mini`` tenant
onboarded under a fresh ``WOMS_HOME``, and a long-running command started, then interrupted
with SIGINT as Ctrl-C would (its output collected)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.db import dispose_engines
from services.common.settings import Settings, get_settings
from woms.onboarding import onboard

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"


@contextmanager
def mini_home(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    temporal_address: str,
    kafka_bootstrap: str,
    env: dict[str, str],
) -> Iterator[Path]:
    """``mini`` onboarded (databases, namespace, topics) under ``home`` as ``WOMS_HOME``, with
    ``env`` set in this process and ``DATABASE_URL`` unset; engines and settings are reset on
    entry and exit."""
    monkeypatch.setenv("WOMS_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    settings = Settings(
        woms_home=home, temporal_address=temporal_address, kafka_bootstrap_servers=kafka_bootstrap
    )
    onboard(MINI, settings)
    try:
        yield home
    finally:
        dispose_engines()
        get_settings.cache_clear()


def woms_env(home: Path, **variables: str) -> dict[str, str]:
    """This process's environment for a ``woms`` child: ``WOMS_HOME=home`` and ``variables``,
    without ``DATABASE_URL`` (the tenant's databases are found under the home)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(WOMS_HOME=str(home), **variables)
    return env


@dataclass
class Interrupted:
    """A ``woms`` child process; once the ``with`` block of :func:`running_woms` is left:
    its exit code and what it wrote."""

    proc: subprocess.Popen[str]
    returncode: int | None = None
    out: str = ""
    err: str = ""


@contextmanager
def running_woms(args: list[str], env: dict[str, str]) -> Iterator[Interrupted]:
    """``python -m woms.cli *args`` running in the ``with`` block, then interrupted with SIGINT
    and waited for (60 s at most: ``subprocess.TimeoutExpired`` after that)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "woms.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = Interrupted(proc)
    try:
        yield run
    finally:
        proc.send_signal(signal.SIGINT)
        run.out, run.err = proc.communicate(timeout=60)
        run.returncode = proc.returncode
