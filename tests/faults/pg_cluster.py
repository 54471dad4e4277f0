"""A private PostgreSQL cluster for the fault tests: Debian's binaries
(``/usr/lib/postgresql/<version>/bin``), a data directory in a temporary directory, a free port
on 127.0.0.1, trust authentication. The machine's PostgreSQL (port 5432) is never touched: the
tests stop and start *this* server only.

PostgreSQL refuses to run as root: when the tests run as root the server runs as the
``postgres`` system user (``runuser``), its directory owned by that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from services.common.processes import free_port


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent


class PrivateCluster:
    """``initdb`` at construction; :meth:`start` / :meth:`stop` / :meth:`destroy`.

    Attributes:
        url: SQLAlchemy URL prefix ``postgresql+psycopg://postgres@127.0.0.1:<port>``.
    """

    def __init__(self) -> None:
        self.bin = _bin_dir()
        # not under pytest's tmp_path: its parents are private to root, unreadable to postgres
        self.dir = Path(tempfile.mkdtemp(prefix="woms-faults-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bin / tool), *args]
        if self._user:
            argv = ["runuser", "-u", self._user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: disconnect clients and shut down cleanly; ``immediate``: as a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
