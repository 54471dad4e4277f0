"""``woms demo`` end to end (issue 7): ``woms demo --exit`` in a subprocess with a fresh
``WOMS_HOME`` plays June 2026 of phường Phúc Lợi on the embedded runtime and prints the
published unit summary. Every printed figure is checked against the scoring engine applied to
the tasks API's ledger (served again here over the demo's databases), the exports must exist,
and nothing may be left running (no process of that home, every port free). A second test
interrupts a running demo with SIGINT (Ctrl-C) and checks the same.

The demo's wall time is printed by the demo itself ("Thời gian / wall time"); it is not
asserted (speed is measured, never asserted, see the developers' guide).
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import yaml
from sqlalchemy import select

from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import get_settings
from services.evaluation.models import Evaluation
from services.evaluation.scoring import (
    Grade,
    ScoringRules,
    Status,
    TaskRecord,
    apply_quota,
    round_half_up,
    score_month,
)
from services.planning.api import create_app as planning_app
from services.tasks import api as tasks_api
from tests.integration.ward_stack import HANOI, auth, serving
from woms.demo_cycle import deadline_days
from woms.demo_stack import Ports, port_in_use
from woms.demo_tenant import compressed_tenant_file

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
PERIOD = "2026-06"
UNIT_MEMBERS = ("P019", "P020", "P021", "P022", "P023", "P024")  # PL-VP in June
DECIDED_WITH_THE_UNIT = ("P020", "P021", "P022", "P023", "P024")  # by its head P019


def _free_base() -> int:
    """A base port with base..base+4 free."""
    for _ in range(200):
        base = random.randrange(20000, 32000, 10)  # below the ephemeral range (runtime ports)
        if not any(port_in_use(p) for p in Ports(base).all()):
            return base
    raise AssertionError("no free ports")


def _env(home: Path) -> dict[str, str]:
    """The embedded defaults: no external Temporal, Kafka, database or OPA."""
    drop = {"TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "OPA_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["WOMS_HOME"] = str(home)
    return env


def _processes_of(home: Path) -> list[str]:
    """Processes (other than this one) started with ``WOMS_HOME=home``: the demo's children
    and the runtime it launched inherit it."""
    marker = f"WOMS_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker in environ.split(b"\0") and state != "Z":
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


def _ports_in(output: str) -> set[int]:
    """Every 127.0.0.1 port the demo printed (services, Temporal, its UI, Kafka)."""
    return {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", output)}


def _assert_nothing_left(home: Path, ports: set[int]) -> None:
    deadline = time.monotonic() + 10  # exiting processes may take a moment to be reaped
    while _processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(home) == []
    assert not (home / "runtime.json").exists()
    assert [p for p in sorted(ports) if port_in_use(p)] == []


def _printed_rows(output: str) -> dict[str, list[str]]:
    """The summary table's rows by person code (continuation lines of wrapped notes skipped)."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 9 and re.fullmatch(r"P\d{3}", cells[0]):
            rows[cells[0]] = cells
    return rows


def _percent(value: Fraction | None) -> str:
    return "—" if value is None else f"{round_half_up(value * 100)}%"


def _record(line: dict[str, Any]) -> TaskRecord:
    return TaskRecord(
        points=Fraction(Decimal(str(line["points"]))),
        completed=line["completed"],
        quality_failures=line["quality_failures"],
        delays=line["delays"],
        days_late=line["days_late"],
        objective_cause=line["objective_cause"],
        exceeded=line["exceeded"],
        group=line["group"],
    )


def _ledgers(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """Each PL-VP member's June ledger from the tasks API over the demo's databases."""
    monkeypatch.setenv("WOMS_HOME", str(home))
    for name in ("TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "OPA_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    dispose_engines()
    tasks_api._directory.clear()
    try:
        with serving(planning_app()) as (planning_url,):
            monkeypatch.setenv("PLANNING_URL", planning_url)
            get_settings.cache_clear()
            with (
                serving(tasks_api.create_app()) as (tasks_url,),
                httpx.Client(base_url=tasks_url, timeout=30) as client,
            ):
                ledgers = {}
                for person in UNIT_MEMBERS:
                    answer = client.get(
                        f"/tenants/hanoi/ledger/{person}/{PERIOD}", headers=auth(person)
                    )
                    assert answer.status_code == 200, answer.text
                    ledgers[person] = answer.json()["tasks"]
        return ledgers
    finally:
        tasks_api._directory.clear()


def _general_points(home: Path) -> dict[str, Decimal]:
    """The general points each decision took: the manager's — the reviewer's, or those the
    authority entered for a month nobody reviewed (``services.evaluation.service.decide``,
    issue 15); a month without them has no score (``no_tasks``), 30 is only a placeholder."""
    with transaction(engine_for("hanoi", "evaluation")) as session:
        rows = session.scalars(select(Evaluation).where(Evaluation.period == PERIOD)).all()
        return {
            ev.person: Decimal(
                ev.review_general
                if ev.review_general is not None
                else ev.self_general
                if ev.self_general is not None
                else 30
            )
            for ev in rows
        }


@pytest.mark.timeout(900)  # the whole month on the dev server: ~2-4 min, more on a busy machine
def test_demo_plays_the_month_and_prints_what_the_engine_computes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    base = _free_base()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "woms.cli", "demo", "--exit", "--base-port", str(base)],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.monotonic() - started
    print(f"woms demo --exit: {wall:.0f}s wall time")  # measured, not asserted
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    _assert_nothing_left(home, _ports_in(out) | set(Ports(base).all()))

    # the steps, in order
    steps = ["1/5", "2/5", "3/5", "4/5", "5/5", "Đã dừng tất cả"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), out
    assert "Temporal UI:" in out and "woms-hanoi" in out

    # every printed figure is the scoring engine on the tasks API's ledger
    rows = _printed_rows(out)
    assert sorted(rows) == list(UNIT_MEMBERS), out
    ledgers = _ledgers(home, monkeypatch)
    general = _general_points(home)
    scoring = yaml.safe_load(HANOI.read_text(encoding="utf-8"))["scoring"]
    rules = ScoringRules(**scoring)
    results = {
        person: score_month(
            [_record(line) for line in ledgers[person]],
            general_score=general[person],
            working_days=1,
            days_worked=1,
            rules=rules,
        )
        for person in UNIT_MEMBERS
    }
    for person, result in results.items():
        _code, _name, a, b, c, score, grade, _final, _notes = rows[person]
        if result.status is Status.EVALUATED:
            assert (a, b, c) == (_percent(result.a), _percent(result.b), _percent(result.c))
            assert Decimal(score) == result.score, (person, rows[person], result)
            assert result.grade is not None and grade == result.grade.value
        else:
            assert (score, grade) == ("—", "—"), (person, rows[person], result.status)
    assert len(ledgers["P021"]) == 12
    assert sum(Decimal(str(line["points"])) for line in ledgers["P021"]) == 132
    assert rows["P021"][2:7] == ["78.8%", "73.5%", "78.8%", "83.9", "B"]  # 002's worked example

    # the final grades are the quota (001 §II.2.5) over the months P019 decided as a unit
    graded = {
        p: (results[p].score, results[p].grade)
        for p in DECIDED_WITH_THE_UNIT
        if results[p].score is not None and results[p].grade is not None
    }
    final = apply_quota(graded, Fraction(str(scoring["excellent_quota_ratio"])))  # type: ignore[arg-type]
    assert {p: rows[p][7] for p in graded} == {p: g.value for p, g in final.items()}
    assert any(results[p].grade is Grade.A for p in graded)  # the quota had work to do
    assert "khớp / matches" in out  # the reporting read model (via Kafka) agrees

    # missed steps escalated; the exports exist
    assert "quá hạn tự đánh giá" in rows["P024"][8] and "nhận xét chuyển cấp trên" in out
    folder = home / "demo"
    book = openpyxl.load_workbook(folder / f"PL-VP-{PERIOD}-tong-hop.xlsx")
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row}
    assert "P021" in cells
    for name in (f"PL-VP-{PERIOD}-tong-hop.pdf", f"P021-{PERIOD}-phieu.pdf"):
        assert (folder / name).read_bytes().startswith(b"%PDF")


@pytest.mark.timeout(600)
def test_ctrl_c_stops_everything_the_demo_started(tmp_path: Path) -> None:
    """SIGINT while the monthly cycle runs (inside ``asyncio.run``)."""
    home = tmp_path / "home"
    base = _free_base()
    proc = subprocess.Popen(
        [sys.executable, "-m", "woms.cli", "demo", "--base-port", str(base)],
        env=_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not any("ngày / day" in line for line in lines):  # the cycle runs (asyncio)
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        assert _processes_of(home)  # the runtime, worker, relay and consumer run
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=180)
    reader.join(timeout=10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "Đang dừng / stopping (Ctrl-C)" in out and "Đã dừng tất cả" in out
    assert "stopped runtime" in out
    _assert_nothing_left(home, _ports_in(out) | set(Ports(base).all()))


def test_a_busy_port_exits_2_before_starting_anything(tmp_path: Path) -> None:
    base = _free_base()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", Ports(base).of("tasks")))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "woms.cli", "demo", "--exit", "--base-port", str(base)],
            env=_env(tmp_path / "home"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(Ports(base).of("tasks")) in done.stderr and "--base-port" in done.stderr
    assert not (tmp_path / "home" / "runtime.json").exists()


def test_the_tenant_copy_compresses_only_the_calendar(tmp_path: Path) -> None:
    copy = compressed_tenant_file(tmp_path / "tenant", 3)
    original = yaml.safe_load(HANOI.read_text(encoding="utf-8"))
    data = yaml.safe_load(copy.read_text(encoding="utf-8"))
    assert data["calendar"] == {**original["calendar"], "seconds_per_day": 3}
    assert {k: v for k, v in data.items() if k != "calendar"} == {
        k: v for k, v in original.items() if k != "calendar"
    }
    for form in data["forms"]:  # relative to the copy, as the tenant file requires
        assert (copy.parent / form).read_bytes() == (HANOI.parent / form).read_bytes()
    with pytest.raises(ValueError, match="seconds_per_day"):
        compressed_tenant_file(tmp_path / "bad", 0)


def test_june_deadlines_follow_the_tenant_calendar() -> None:
    # before the 25th, 26th, 28th of June and the 5th of July (001 §IV.1): days from 1 June
    assert deadline_days(HANOI, PERIOD) == (24, 25, 27, 34)
    assert deadline_days(HANOI, "2026-12") == (11, 12, 13, 14)  # December: by 15/12
