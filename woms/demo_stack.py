"""The platform of ``woms demo`` on the embedded defaults, started and stopped as one.

* the runtime — Temporal dev server and Tansu — through :mod:`services.common.runtime` (the
  code behind ``woms dev up|down``); only what this run started is stopped again;
* the HTTP APIs served by uvicorn in threads of this process on ``base_port + 1..4``
  (planning 8101, tasks 8102, evaluation 8103, reporting 8104; the web application on
  ``base_port`` when ``services.web.app`` exists);
* processes ``woms worker``, ``woms relay`` and ``woms reporting consume`` (their output in
  ``$WOMS_HOME/logs/demo-<name>.log``), each in its own session so that a Ctrl-C reaches the
  demo only, which then stops them in order (SIGINT, then SIGKILL after a grace period).

:class:`Stack` is a context manager: leaving it — normally, on an error or on Ctrl-C — stops
everything it started; afterwards no child process is left and the ports are free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from services.common import runtime
from services.common.settings import Settings

#: Offset of each HTTP application from the base port (``woms serve``'s defaults for 8100).
OFFSETS = {"web": 0, "planning": 1, "tasks": 2, "evaluation": 3, "reporting": 4}
LOOPBACK = "127.0.0.1"


class StackError(RuntimeError):
    """A part of the platform could not start, or a process of it stopped unexpectedly."""


@dataclass(frozen=True)
class Ports:
    """The demo's HTTP ports: ``base`` (web) and ``base + 1..4`` (the four services)."""

    base: int = 8100

    def of(self, name: str) -> int:
        """Port of ``name`` (``web``, ``planning``, ``tasks``, ``evaluation``, ``reporting``)."""
        return self.base + OFFSETS[name]

    def url(self, name: str) -> str:
        """``http://127.0.0.1:<port>`` of ``name``."""
        return f"http://{LOOPBACK}:{self.of(name)}"

    def all(self) -> list[int]:
        return [self.of(name) for name in OFFSETS]


def port_in_use(port: int) -> bool:
    """True when something listens on, or holds, ``127.0.0.1:port`` (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is free
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


class Stack:
    """Everything ``woms demo`` runs; see the module notes.

    Args:
        settings: the process settings (``woms_home`` holds databases, logs, runtime.json).
        ports: where the HTTP applications listen.
        say: progress output (one line per call).
        grace_s: seconds a child process gets to stop after SIGINT before SIGKILL.
    """

    def __init__(
        self,
        settings: Settings,
        ports: Ports,
        say: Callable[[str], None],
        grace_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.say = say
        self.grace_s = grace_s
        self.runtime_state: runtime.RuntimeState | None = None
        self._stop_runtime = False
        self._servers: list[tuple[str, uvicorn.Server, threading.Thread]] = []
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._closers: list[Callable[[], object]] = []

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- starting ------------------------------------------------------------------------

    def start_runtime(self) -> runtime.RuntimeState:
        """Start the Temporal dev server (with its Web UI) and Tansu unless they already run
        (``woms dev up``).

        What was already running before (a healthy ``woms dev up``) is left running at the
        end; what this call started is stopped by :meth:`close`.

        Raises:
            runtime.RuntimeStartError, FileNotFoundError: as :func:`runtime.up`.
        """
        before = {s.name: s for s in runtime.status(self.settings)}
        state = runtime.up(self.settings, ui=True)
        self.runtime_state = state
        self._stop_runtime = any(
            not c.external and not (before.get(name) and before[name].running)
            for name, c in state.components.items()
        )
        return state

    def serve(self, name: str, app: Any) -> str:
        """Serve ``app`` with uvicorn in a thread on ``ports.of(name)``; returns its URL.

        Raises:
            StackError: the port is taken or the server did not start in 30 s.
        """
        port = self.ports.of(name)
        if port_in_use(port):
            raise StackError(f"cổng / port {port} ({name}) đang bận / is in use")
        config = uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"uvicorn-{name}", daemon=True)
        thread.start()
        self._servers.append((name, server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise StackError(f"{name} did not start on port {port}")
            time.sleep(0.05)
        return self.ports.url(name)

    def spawn(self, name: str, args: Sequence[str], env: dict[str, str]) -> Path:
        """Run ``woms <args>`` as a child process in its own session; returns its log file.

        Raises:
            OSError: the interpreter cannot be executed.
        """
        log = self.settings.woms_home / "logs" / f"demo-{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "woms.cli", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        self._children.append((name, proc))
        return log

    def check(self) -> None:
        """Raise :class:`StackError` when a child process or a server thread has stopped."""
        for name, proc in self._children:
            if proc.poll() is not None:
                log = self.settings.woms_home / "logs" / f"demo-{name}.log"
                raise StackError(f"{name} exited with code {proc.returncode}; see {log}")
        for name, _server, thread in self._servers:
            if not thread.is_alive():
                raise StackError(f"the {name} API stopped")

    def on_close(self, closer: Callable[[], object]) -> None:
        """Call ``closer`` when the stack stops, after its servers have stopped: the HTTP
        clients and database engines the served applications share must outlive the
        month the demo plays (they are used until Ctrl-C). Called last-registered first."""
        self._closers.append(closer)

    # --- stopping ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the children (SIGINT, then SIGKILL after ``grace_s``), the servers, and the
        runtime components this run started. Safe to call twice; never raises for a part
        that is already gone. A second Ctrl-C during the shutdown is ignored."""
        previous = signal.getsignal(signal.SIGINT)
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._close_children()
            for name, server, thread in reversed(self._servers):
                server.should_exit = True
                thread.join(timeout=15)
                if thread.is_alive():  # pragma: no cover - uvicorn stops within its timeout
                    server.force_exit = True
                    thread.join(timeout=5)
                self.say(f"  đã dừng / stopped {name} API")
            self._servers.clear()
            while self._closers:
                closer = self._closers.pop()
                with contextlib.suppress(Exception):  # a part already gone is not an error
                    closer()
            if self._stop_runtime:
                outcomes = runtime.down(self.settings)
                self.say(f"  đã dừng / stopped runtime {outcomes}")
                self._stop_runtime = False
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)

    def _close_children(self) -> None:
        for _name, proc in reversed(self._children):
            if proc.poll() is None:
                _signal_group(proc, signal.SIGINT)
        deadline = time.monotonic() + self.grace_s
        for name, proc in reversed(self._children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
            self.say(f"  đã dừng / stopped {name} (exit {proc.returncode})")
        self._children.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the child's process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
