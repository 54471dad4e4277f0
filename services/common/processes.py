"""Detached child processes: spawn, recognise by command line, stop (POSIX, Linux ``/proc``).

A process is *ours* only while argv[0] in ``/proc/<pid>/cmdline`` is the binary we
launched; a recorded PID reused by another program is therefore never signalled.
Without ``/proc`` (non-Linux) nothing is recognised, so nothing is ever killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(argv: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session (it outlives us), stdout+stderr appended to ``log_path``.

    Raises:
        OSError: when the binary cannot be executed.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def stop_child(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """Stop a child we still hold (its PID cannot be reused yet): SIGTERM, wait, SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def command_line(pid: int) -> list[str]:
    """Return the argv of ``pid`` from ``/proc``.

    ``[]`` when gone, a zombie, unreadable, or in the short window of an ``exec``.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _state(pid: int) -> str | None:
    """Return the one-letter state of ``pid`` (``"R"``, ``"S"``, ``"Z"``...) or None if gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key == "State":
            return value.strip()[:1] or None
    return None


def is_ours(pid: int, binary: str) -> bool:
    """True when ``pid`` is alive and was started as ``binary`` (its argv[0])."""
    argv = command_line(pid)
    return bool(argv) and argv[0] == binary


def _reap(pid: int) -> bool | None:
    """Collect ``pid`` if it is our exited child (``waitpid(WNOHANG)``).

    Returns True when reaped now, False when it is our child still running (a
    multi-threaded leader already shows ``Z`` while its last threads exit), None when
    it is not our child.
    """
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return done == pid


def _signal(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to ``pid``'s process group when it leads one, else to ``pid`` alone."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _gone(pid: int, binary: str) -> bool:
    """True when ``pid`` exited (reaped, or a zombie of another parent) or runs another program.

    An exiting process shows an empty command line before it turns zombie, so an empty
    one alone does not count as gone.
    """
    if _reap(pid) is False:
        return False
    argv = command_line(pid)
    return _state(pid) in (None, "Z") or bool(argv and argv[0] != binary)


def _wait_gone(pid: int, binary: str, timeout_s: float) -> bool:
    """Poll up to ``timeout_s`` seconds until :func:`_gone`; True if it went."""
    deadline = time.monotonic() + timeout_s
    while not _gone(pid, binary):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop(pid: int, binary: str, grace_s: float = 15.0) -> str:
    """Stop ``pid`` if it is ours: SIGTERM, wait ``grace_s`` seconds, then SIGKILL.

    Returns one of ``"stopped"``, ``"killed"``, ``"not running"``, ``"not ours"``
    (alive but another program: left alone) or ``"still running"`` (survived SIGKILL).
    """
    if not is_ours(pid, binary):
        return "not running" if _state(pid) in (None, "Z") else "not ours"
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, binary, grace_s):
        return "stopped"
    _signal(pid, signal.SIGKILL)
    return "killed" if _wait_gone(pid, binary, 5.0) else "still running"
