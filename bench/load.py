"""Load benchmark of the service APIs on loopback (issue 9, "Load (benchmark, not a test)").

Everything is real and local: a temporary ``WOMS_HOME`` (SQLite, the default ``DATABASE_URL``)
with Hà Nội onboarded by ``woms tenant onboard --no-infrastructure
data/tenants/hanoi/tenant.yaml`` (no Temporal namespace or Kafka topics: the bench starts
neither), then the four APIs each in its own process, ``woms serve <service> --port P`` (one
uvicorn worker each, as ``make demo`` runs them), with ``PLANNING_URL`` / ``TASKS_URL``
pointing at each other. Tokens come from the embedded issuer (``issue_token``) of that home.
The load tool is locust, used as a library in this process (``locust.env.Environment``, the
local runner, ``FastHttpUser`` over geventhttpclient, headless).

Seeding, through the APIs where there is one: 12 tasks of the current month for each of four
staff of PL-VP (created and assigned by the head P019, started by the person); each person's
month opened in the evaluation database with the ledger read from the tasks API, exactly as
the cycle's ``open_evaluation`` activity opens it (:func:`services.evaluation.service
.open_evaluation`); before reporting is measured, every CloudEvent in the tasks and evaluation
outboxes so far (the seeding's and the load's own) applied to the reporting read models by
the consumer's :func:`services.reporting.ingest.apply_batch`, as if relayed through Kafka.

For each service measured (``--services``, default all four), four phases on the same
process, each after ``--warmup`` seconds of the same load that are not counted:

1. **reference** — ``GET /health`` (no token, no database) by ``--users`` users in a closed
   loop (no wait): requests/s and latency of the process doing next to nothing;
2. **endpoints** — each endpoint (or write sequence) alone, same closed loop: requests/s,
   p50, p99, errors, and the cost ratio ``health req/s ÷ endpoint req/s`` (how many ``/health``
   answers one call of the endpoint costs);
3. **target** — the service's mix of those endpoints offered at ``--rate`` requests/s
   (``constant_throughput`` pacing over ``--rate-users`` users) for ``--seconds``: achieved
   requests/s, p50 / p99 per endpoint, errors. Targets (issue 9): achieved ≥ 97% of 300
   requests/s, p99 < 200 ms on reads and < 400 ms on writes, zero errors;
4. **below saturation** — the same mix offered at ``--below`` (default 0.5) of its capacity
   estimated from phase 2 (each request's share of the mix at its rate alone): the latencies
   when the process is not overloaded (skipped with ``--below 0``).

Latency percentiles are exact (nearest rank over every recorded response time, from locust's
``request`` event), not locust's rounded histogram. An error is any transport failure or
unexpected status (locust's failure: 4xx/5xx). CPU seconds (``/proc``, psutil) over the
counted window: of the measured process, as ms per request, % of one core (the most one
uvicorn worker can use) and ``r/s per core`` (``1000 / ms per request``: the rate a whole
quiet core would serve at that cost); of the other API processes, as ms per request (``deps``:
tasks, evaluation and reporting ask planning for the evaluator relation and role grants, kept
``RELATION_CACHE_S`` seconds per tenant and day — :mod:`services.common.relation_cache`,
default 30, ``--relation-cache`` sets it for the run); of this process (the load driver), as
%. The machine is shared: the load average before and after each service is printed and
recorded (``uptime``); the ratios to ``/health`` in the same run depend less on it than the
absolute figures.

Not measured here: evaluation steps signal the person's workflow after the commit; without a
Temporal address the signal is answered ``pending`` at once (``services/evaluation/signals.py``),
so the self-assessment's figures exclude the signal round trip. The per-token rate limit is
raised (``RATE_LIMIT=100000/second``) so the few bench subjects, standing in for many people,
are not throttled; the limiter still runs on every request.

Prints a table and one JSON line; ``--strict`` exits 1 when a target is missed. Usage:
``python bench/load.py [--services planning,tasks,evaluation,reporting] [--seconds 20]
[--warmup 3] [--users 8] [--rate 300] [--rate-users 60] [--below 0.5] [--telemetry MODE]
[--relation-cache SECONDS] [--keep DIR] [--strict]``.
Results: ``docs/bench-load.md``.
"""

# locust patches the standard library for gevent when imported (gevent's monkey patching):
# it comes before the others, httpx's ssl included, so this block is not sorted.
from __future__ import annotations  # noqa: I001

import locust
import gevent
from locust import FastHttpUser, constant, constant_throughput
from locust.env import Environment

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from services.common.processes import free_port, spawn, stop_child

ROOT = Path(__file__).resolve().parents[1]
HANOI = ROOT / "data" / "tenants" / "hanoi" / "tenant.yaml"
TENANT = "hanoi"
SERVICES = ("planning", "tasks", "evaluation", "reporting")
#: Targets of issue 9 ("Load"): per process.
TARGET_RATE, READ_P99_MS, WRITE_P99_MS = 300, 200.0, 400.0
#: Share of the offered rate that counts as sustained.
RATE_SHARE = 0.97
HEAD, UNIT = "P019", "PL-VP"  # head of Văn phòng HĐND và UBND phường (tenant file)
ADMIN = "P001"
TASKS_PER_PERSON = 12
CATALOG_ITEM = "VP-VB-01"

Call = Callable[[Any], None]


# --- processes -------------------------------------------------------------------------------


@dataclass
class Server:
    """One ``woms serve`` process: its service, base URL and child process."""

    service: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def woms() -> str:
    return str(Path(sys.executable).with_name("woms"))


def start_server(service: str, port: int, home: Path) -> Server:
    """``woms serve <service> --port <port>``, its output in ``<home>/logs/<service>.log``."""
    log = home / "logs" / f"{service}.log"
    proc = spawn([woms(), "serve", service, "--port", str(port)], log)
    return Server(service, f"http://127.0.0.1:{port}", proc, log)


def wait_healthy(server: Server, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.service} exited: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{server.service} did not answer /health in {timeout_s:.0f} s")


@contextmanager
def stack(home: Path) -> Iterator[dict[str, Server]]:
    """The four APIs on free ports, each knowing the others' URLs; stopped at exit."""
    ports = {service: free_port() for service in SERVICES}
    os.environ["PLANNING_URL"] = f"http://127.0.0.1:{ports['planning']}"
    os.environ["TASKS_URL"] = f"http://127.0.0.1:{ports['tasks']}"
    servers: dict[str, Server] = {}
    try:
        for service in SERVICES:
            servers[service] = start_server(service, ports[service], home)
        for server in servers.values():
            wait_healthy(server)
        yield servers
    finally:
        for server in servers.values():
            stop_child(server.proc)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --- seeding ---------------------------------------------------------------------------------


def token(subject: str, *roles: str) -> str:
    from services.common.auth import issue_token

    return issue_token(TENANT, subject, set(roles) or {"staff"}, ttl_s=4 * 3600)


def bearer(subject: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject, *roles)}"}


@dataclass
class Seed:
    """What the load uses: the period, the unit's people (not the head), task codes, plans."""

    period: str
    start: date
    due: date
    staff: list[str]
    tasks: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)


def task_body(seed: Seed, person: str, n: int) -> dict[str, Any]:
    return {
        "name": f"Soạn thảo văn bản số {n} — {person}",
        "basis": "Kế hoạch 45/KH-UBND",
        "group": "regular",
        "lead_unit": UNIT,
        "lead_person": person,
        "start_date": seed.start.isoformat(),
        "due_date": seed.due.isoformat(),
        "output_product": "Văn bản trình ký",
        "quality_criteria": "Đúng thể thức, đúng hạn",
        "catalog_item": CATALOG_ITEM,
        "quantity": "2",
    }


def _ok(answer: httpx.Response, *codes: int) -> dict[str, Any]:
    if answer.status_code not in (codes or (200,)):
        raise SystemExit(f"seeding: {answer.request.url} → {answer.status_code} {answer.text}")
    return dict(answer.json())


def seed(servers: dict[str, Server]) -> Seed:
    """Tasks through the tasks API; months opened as the cycle's activity opens them."""
    today = date.today()
    seed = Seed(period=f"{today:%Y-%m}", start=today, due=today + timedelta(days=14), staff=[])
    with httpx.Client(base_url=servers["planning"].url, timeout=30) as planning:
        members = _ok(
            planning.get(
                f"/tenants/{TENANT}/people",
                params={"unit": UNIT, "limit": 100},
                headers=bearer(ADMIN),
            )
        )
        seed.staff = [p["code"] for p in members["items"] if p["code"] != HEAD][:4]
        everyone = _ok(
            planning.get(f"/tenants/{TENANT}/people", params={"limit": 100}, headers=bearer(ADMIN))
        )
        seed.people = [p["code"] for p in everyone["items"]]
        plans = _ok(planning.get(f"/tenants/{TENANT}/plans", headers=bearer(ADMIN)))
        seed.plans = [p["code"] for p in plans["items"]]
    with httpx.Client(base_url=servers["tasks"].url, timeout=30) as tasks:
        head = bearer(HEAD)
        for person in seed.staff:
            own = bearer(person)
            for n in range(TASKS_PER_PERSON):
                code = _ok(
                    tasks.post(
                        f"/tenants/{TENANT}/tasks", json=task_body(seed, person, n), headers=head
                    ),
                    201,
                )["code"]
                _ok(tasks.post(f"/tenants/{TENANT}/tasks/{code}/assign", headers=head))
                _ok(tasks.post(f"/tenants/{TENANT}/tasks/{code}/start", headers=own))
                seed.tasks.append(code)
    open_months(seed, servers)
    return seed


def open_months(seed: Seed, servers: dict[str, Server]) -> None:
    """Every person of the period gets their month opened with their ledger from the tasks
    API, one transaction each, as ``EvaluationActivities.open_evaluation`` does."""
    from services.common.db import engine_for, transaction
    from services.evaluation import service
    from services.evaluation.clients import HttpSources

    sources = HttpSources(tasks_url=servers["tasks"].url, planning_url=servers["planning"].url)
    try:
        engine = engine_for(TENANT, "evaluation")
        for ref in sources.people_of(TENANT, seed.period):
            ledger = sources.ledger_of(TENANT, ref.person_id, seed.period)
            with transaction(engine) as session:
                service.open_evaluation(
                    session,
                    TENANT,
                    ref.person_id,
                    ref.unit_id,
                    seed.period,
                    ledger,
                    f"bench:{ref.person_id}:{seed.period}:open",
                )
    finally:
        sources.close()


def feed_reporting() -> int:
    """Apply every event of the tasks and evaluation outboxes to the reporting read models
    (:func:`services.reporting.ingest.apply_batch`, 500 per transaction, topic and offset as
    the relay would publish them). Returns the number of events applied."""
    from sqlalchemy import MetaData, select

    from services.common.db import engine_for
    from services.common.outbox import outbox_table
    from services.reporting.database import reporting_engine
    from services.reporting.ingest import Message, apply_batch
    from services.reporting.models import LIVE

    target = reporting_engine()
    applied = 0
    for service in ("tasks", "evaluation"):
        table = outbox_table(MetaData())
        with engine_for(TENANT, service).connect() as conn:
            bodies = [row.body for row in conn.execute(select(table.c.body).order_by(table.c.seq))]
        topic = f"woms.{TENANT}.{service}.events"
        for first in range(0, len(bodies), 500):
            messages = [
                Message(topic, 0, first + i, body.encode())
                for i, body in enumerate(bodies[first : first + 500])
            ]
            with target.begin() as conn:
                outcomes = apply_batch(conn, LIVE, messages)
            applied += sum(o == "applied" for o in outcomes)
    return applied


# --- workloads -------------------------------------------------------------------------------


@dataclass
class Endpoint:
    """A read, or a write sequence, as one locust task; ``kind`` read | write; ``requests``:
    HTTP requests per call of ``call``; ``weight`` in the service's mix."""

    label: str
    kind: str
    call: Call
    weight: int = 1
    requests: int = 1


def _get(path: str, name: str, headers: dict[str, str]) -> Call:
    def call(user: Any) -> None:
        user.client.get(path, headers=headers, name=name)

    return call


def endpoints_of(service: str, seed: Seed) -> list[Endpoint]:
    """The service's main reads and writes (issue 9, "Load")."""
    t, p = f"/tenants/{TENANT}", seed.period
    admin, head = bearer(ADMIN, "staff", "tenant_admin"), bearer(HEAD)
    staff = {person: bearer(person) for person in seed.staff}
    everyone = {person: bearer(person) for person in seed.people}
    rnd = _Random()
    if service == "planning":
        plan = seed.plans[0]
        return [
            Endpoint("GET /people", "read", _get(f"{t}/people?limit=50", "GET /people", admin)),
            Endpoint(
                "GET /people/{code}",
                "read",
                _get(f"{t}/people/{seed.staff[0]}", "GET /people/{code}", admin),
            ),
            Endpoint("GET /units", "read", _get(f"{t}/units?limit=50", "GET /units", admin)),
            Endpoint("GET /plans", "read", _get(f"{t}/plans?limit=50", "GET /plans", admin)),
            Endpoint(
                "GET /plans/{code}", "read", _get(f"{t}/plans/{plan}", "GET /plans/{code}", admin)
            ),
        ]
    if service == "tasks":
        person = seed.staff[0]

        def read_task(user: Any) -> None:
            code = rnd.choice(seed.tasks[:TASKS_PER_PERSON])
            user.client.get(f"{t}/tasks/{code}", headers=staff[person], name="GET /tasks/{code}")

        def write(user: Any) -> None:
            lead = rnd.choice(seed.staff[1:])
            created = user.client.post(
                f"{t}/tasks", json=task_body(seed, lead, 0), headers=head, name="POST /tasks"
            )
            if created.status_code != 201:
                return
            code = created.json()["code"]
            for action, who in (("assign", head), ("start", staff[lead]), ("submit", staff[lead])):
                evidence = {"evidence_links": [f"https://vanban.example/{code}"]}  # 000 §VI.4
                answer = user.client.post(
                    f"{t}/tasks/{code}/{action}",
                    headers=who,
                    json=evidence if action == "submit" else None,
                    name=f"POST /tasks/{{code}}/{action}",
                )
                if answer.status_code != 200:
                    return

        return [
            Endpoint(
                "GET /tasks",
                "read",
                _get(f"{t}/tasks?person={person}&period={p}", "GET /tasks", staff[person]),
                weight=3,
            ),
            Endpoint("GET /tasks/{code}", "read", read_task, weight=3),
            Endpoint(
                "GET /ledger/{person}/{period}",
                "read",
                _get(f"{t}/ledger/{person}/{p}", "GET /ledger/{person}/{period}", staff[person]),
            ),
            Endpoint("create → assign → start → submit", "write", write, weight=1, requests=4),
        ]
    if service == "evaluation":

        def read_month(user: Any) -> None:
            person = rnd.choice(seed.people)
            user.client.get(
                f"{t}/evaluations/{person}/{p}",
                headers=everyone[person],
                name="GET /evaluations/{person}/{period}",
            )

        def self_assess(user: Any) -> None:
            person = rnd.choice(seed.people)
            general = f"{rnd.randint(200, 300) / 10:.1f}"
            user.client.post(
                f"{t}/evaluations/{person}/{p}/self-assessment",
                json={"general": general},
                headers=everyone[person],
                name="POST /evaluations/{person}/{period}/self-assessment",
            )

        return [
            Endpoint("GET /evaluations/{person}/{period}", "read", read_month, weight=4),
            Endpoint(
                "GET /evaluations?unit",
                "read",
                _get(f"{t}/evaluations?unit={UNIT}&period={p}", "GET /evaluations?unit", head),
            ),
            Endpoint(
                "POST /evaluations/{person}/{period}/self-assessment",
                "write",
                self_assess,
                weight=2,
            ),
        ]
    if service == "reporting":
        r = f"{t}/reports"
        return [
            Endpoint(
                "GET /reports/tasks",
                "read",
                _get(f"{r}/tasks?period={p}", "GET /reports/tasks", admin),
            ),
            Endpoint(
                "GET /reports/tasks?unit",
                "read",
                _get(f"{r}/tasks?period={p}&unit={UNIT}", "GET /reports/tasks?unit", head),
            ),
            Endpoint(
                "GET /reports/grades",
                "read",
                _get(f"{r}/grades?period={p}", "GET /reports/grades", admin),
            ),
            Endpoint(
                "GET /reports/cycle",
                "read",
                _get(f"{r}/cycle?period={p}", "GET /reports/cycle", admin),
            ),
            Endpoint(
                "GET /reports/people/{person}/card",
                "read",
                _get(
                    f"{r}/people/{seed.staff[0]}/card?period={p}",
                    "GET /reports/people/{person}/card",
                    head,
                ),
            ),
        ]
    raise ValueError(f"unknown service {service!r}")


class _Random:
    """A seeded source shared by the users (greenlets: no locking needed)."""

    def __init__(self, seed: int = 2026) -> None:
        import random

        self._rnd = random.Random(seed)

    def choice(self, items: list[str]) -> str:
        return self._rnd.choice(items)

    def randint(self, low: int, high: int) -> int:
        return self._rnd.randint(low, high)


# --- running locust --------------------------------------------------------------------------


@dataclass
class Run:
    """One counted window: seconds, per request name the latencies (ms) and errors, CPU."""

    seconds: float
    latencies: dict[str, list[float]]
    errors: dict[str, int]
    error_samples: dict[str, str]
    cpu_s: float
    deps_cpu_s: float
    driver_cpu_s: float

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``: the smallest recorded value
    with at least ``q`` % of the values at or below it; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run_load(
    host: str,
    tasks: dict[Call, int],
    users: int,
    seconds: float,
    warmup: float,
    pids: list[int],
    per_user_rate: float | None = None,
) -> Run:
    """``users`` locust users running ``tasks`` (weights) against ``host``, closed loop
    (``per_user_rate`` None) or paced at ``per_user_rate`` task calls/s each; only the
    ``seconds`` after ``warmup`` count. CPU seconds are taken of ``pids[0]`` (the measured
    process), of the other ``pids`` (its dependencies) and of this process (the driver)."""
    wait = constant(0) if per_user_rate is None else constant_throughput(per_user_rate)
    user_class = type(
        "BenchUser",
        (FastHttpUser,),
        {
            "host": host,
            "tasks": tasks,
            "wait_time": wait,
            "network_timeout": 60.0,
            "connection_timeout": 60.0,
        },
    )
    env = Environment(user_classes=[user_class])
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    samples: dict[str, str] = {}
    counting = False

    def on_request(
        name: str, response_time: float, exception: BaseException | None, **_: Any
    ) -> None:
        if not counting:
            return
        latencies[name].append(response_time)
        if exception is not None:
            errors[name] += 1
            samples.setdefault(name, str(exception)[:300])

    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    processes = [psutil.Process(pid) for pid in pids]
    driver = psutil.Process()

    def cpu() -> tuple[float, float, float]:
        times = [sum(p.cpu_times()[:2]) for p in processes]
        return times[0], sum(times[1:]), sum(driver.cpu_times()[:2])

    if per_user_rate is None:
        runner.start(users, spawn_rate=min(users, 100))
    else:
        # paced users start spread over one period, so their calls do not come in bursts;
        # the warm-up lasts at least that period
        runner.start(users, spawn_rate=min(users * per_user_rate, 100))
        warmup = max(warmup, users / min(users * per_user_rate, 100) + 1)
    gevent.sleep(warmup)
    counting = True
    cpu0, t0 = cpu(), time.perf_counter()
    gevent.sleep(seconds)
    counting = False
    cpu1, t1 = cpu(), time.perf_counter()
    runner.quit()
    used = [after - before for before, after in zip(cpu0, cpu1, strict=True)]
    settle(processes[0])
    return Run(t1 - t0, dict(latencies), dict(errors), samples, *used)


def settle(process: psutil.Process, idle_percent: float = 10.0, limit_s: float = 60.0) -> None:
    """Wait until ``process`` uses under ``idle_percent`` of a core over half a second: the
    requests the quitting users left in its queue are done before the next phase starts."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = sum(process.cpu_times()[:2])
        gevent.sleep(0.5)
        if (sum(process.cpu_times()[:2]) - before) / 0.5 * 100 < idle_percent:
            return


def cpu_figures(run: Run) -> dict[str, Any]:
    """CPU of the counted window: ms per request of the measured process and of its
    dependencies, its share of a core (%), the driver's, and the requests/s one full core
    would serve at that cost (``1000 / cpu_ms_per_request``)."""
    per_request = 1000 * run.cpu_s / max(run.requests, 1)
    return {
        "cpu_ms_per_request": round(per_request, 2),
        "cpu_percent": round(100 * run.cpu_s / run.seconds),
        "deps_cpu_ms_per_request": round(1000 * run.deps_cpu_s / max(run.requests, 1), 2),
        "driver_cpu_percent": round(100 * run.driver_cpu_s / run.seconds),
        "rps_per_core": round(1000 / per_request, 1) if per_request else None,
    }


def figures(run: Run, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per request name: kind, requests, req/s, p50, p99 (ms), errors."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(run.latencies):
        values = run.latencies[name]
        out[name] = {
            "kind": kinds.get(name, "read"),
            "requests": len(values),
            "rps": round(len(values) / run.seconds, 1),
            "p50_ms": round(percentile(values, 50), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "errors": run.errors.get(name, 0),
        }
        if name in run.error_samples:
            out[name]["error_sample"] = run.error_samples[name]
    return out


def request_kinds(endpoints: list[Endpoint]) -> dict[str, str]:
    """Request name → read | write (a write sequence's requests are all writes)."""
    kinds: dict[str, str] = {}
    for endpoint in endpoints:
        if endpoint.kind == "write":
            for name in WRITE_NAMES:
                kinds[name] = "write"
    return kinds


WRITE_NAMES = (
    "POST /tasks",
    "POST /tasks/{code}/assign",
    "POST /tasks/{code}/start",
    "POST /tasks/{code}/submit",
    "POST /evaluations/{person}/{period}/self-assessment",
)


def measure(
    service: str, server: Server, others: list[Server], seed: Seed, args: argparse.Namespace
) -> dict[str, Any]:
    """The phases (reference, endpoints, target, below saturation) on ``server``
    (``others``: the rest of the stack, whose CPU is counted as the dependencies')."""
    pids = [server.proc.pid, *(s.proc.pid for s in others)]
    endpoints = endpoints_of(service, seed)
    kinds = request_kinds(endpoints)
    result: dict[str, Any] = {"service": service, "load_before": os.getloadavg()}

    def health(user: Any) -> None:
        user.client.get("/health", name="GET /health")

    ref = run_load(server.url, {health: 1}, args.users, args.seconds, args.warmup, pids)
    result["reference"] = {
        **figures(ref, {})["GET /health"],
        **cpu_figures(ref),
    }
    _say(f"  {service} /health: {ref.rps:,.0f} req/s")

    alone: dict[str, Any] = {}
    for endpoint in endpoints:
        run = run_load(server.url, {endpoint.call: 1}, args.users, args.seconds, args.warmup, pids)
        rows = figures(run, kinds)
        alone[endpoint.label] = {
            "requests_per_s": round(run.rps, 1),
            "cost_vs_health": round(ref.rps / run.rps, 1) if run.rps else None,
            **cpu_figures(run),
            "requests": rows,
        }
        _say(
            f"  {service} {endpoint.label}: {run.rps:,.0f} req/s "
            f"(×{ref.rps / max(run.rps, 1e-9):.1f} /health), errors "
            f"{sum(run.errors.values())}"
        )
    result["endpoints"] = alone

    result["target"] = mix_phase(server, endpoints, kinds, pids, args.rate, args)
    _say(f"  {service} mix at {args.rate} r/s: {result['target']['achieved_rps']:,.1f} r/s")
    if args.below:
        # the mix's capacity alone: each request's share of the mix at its alone rate
        shares = [(e.weight * e.requests, alone[e.label]["requests_per_s"]) for e in endpoints]
        total = sum(w for w, _ in shares)
        capacity = 1 / sum(w / total / max(rps, 1e-9) for w, rps in shares)
        rate = max(1, round(args.below * capacity))
        result["below_saturation"] = mix_phase(server, endpoints, kinds, pids, rate, args)
        _say(f"  {service} mix at {rate} r/s: {result['below_saturation']['achieved_rps']} r/s")
    result["load_after"] = os.getloadavg()
    return result


def mix_phase(
    server: Server,
    endpoints: list[Endpoint],
    kinds: dict[str, str],
    pids: list[int],
    rate: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The service's mix (the endpoints' weights) offered at ``rate`` requests/s, paced over
    ``--rate-users`` users: achieved r/s, p99 of reads and writes, errors, CPU, targets met."""
    weights = {e.call: e.weight for e in endpoints}
    per_call = sum(e.weight * e.requests for e in endpoints) / sum(e.weight for e in endpoints)
    per_user = rate / per_call / args.rate_users
    mix = run_load(
        server.url,
        weights,
        args.rate_users,
        args.seconds,
        args.warmup,
        pids,
        per_user_rate=per_user,
    )
    rows = figures(mix, kinds)
    reads = [v for v in rows.values() if v["kind"] == "read"]
    writes = [v for v in rows.values() if v["kind"] == "write"]
    read_p99 = max((v["p99_ms"] for v in reads), default=None)
    write_p99 = max((v["p99_ms"] for v in writes), default=None)
    errors = sum(v["errors"] for v in rows.values())
    met = {
        "rate": mix.rps >= RATE_SHARE * TARGET_RATE,
        "read_p99": read_p99 is None or read_p99 < READ_P99_MS,
        "write_p99": write_p99 is None or write_p99 < WRITE_P99_MS,
        "errors": errors == 0,
    }
    return {
        "offered_rps": rate,
        "achieved_rps": round(mix.rps, 1),
        "read_p99_ms": read_p99,
        "write_p99_ms": write_p99,
        "errors": errors,
        **cpu_figures(mix),
        "met": met,
        "requests": rows,
    }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(results: list[dict[str, Any]]) -> str:
    """Per service: the reference and each request alone (closed loop: r/s, p50, p99, cost
    against ``/health``, CPU ms per request of the process and of its dependencies, r/s per
    core), then the same request in the mix at the offered rate (r/s, p50, p99, errors)."""
    head = (
        f"{'service / request':<52} {'r/s':>6} {'p50':>6} {'p99':>6} {'×hlth':>5} "
        f"{'cpu ms':>6} {'deps':>5} {'r/s/core':>8} | {'@rate':>6} {'p50':>6} {'p99':>6} "
        f"{'err':>4}"
    )
    lines = [head, "-" * len(head)]
    for result in results:
        ref = result["reference"]
        lines.append(
            f"{result['service'] + ' GET /health (reference)':<52} {ref['rps']:>6,.0f} "
            f"{ref['p50_ms']:>6.1f} {ref['p99_ms']:>6.1f} {1:>5.1f} "
            f"{ref['cpu_ms_per_request']:>6.2f} {ref['deps_cpu_ms_per_request']:>5.2f} "
            f"{ref['rps_per_core'] or 0:>8,.0f} |"
        )
        at_rate = result["target"]["requests"]
        for alone in result["endpoints"].values():
            for name, row in alone["requests"].items():
                mixed = at_rate.get(name, {})
                lines.append(
                    f"  {name:<50} {row['rps']:>6,.0f} {row['p50_ms']:>6.1f} "
                    f"{row['p99_ms']:>6.1f} {alone['cost_vs_health'] or 0:>5.1f} "
                    f"{alone['cpu_ms_per_request']:>6.2f} {alone['deps_cpu_ms_per_request']:>5.2f} "
                    f"{alone['rps_per_core'] or 0:>8,.0f} | {mixed.get('rps', 0):>6,.1f} "
                    f"{mixed.get('p50_ms', math.nan):>6.1f} {mixed.get('p99_ms', math.nan):>6.1f} "
                    f"{mixed.get('errors', 0):>4}"
                )
        target = result["target"]
        missed = [k for k, ok in target["met"].items() if not ok]
        lines.append(
            f"  => mix at {target['offered_rps']} r/s offered: {target['achieved_rps']:,.1f} r/s, "
            f"p99 reads {target['read_p99_ms']} ms, writes {target['write_p99_ms']} ms, "
            f"errors {target['errors']}; CPU {target['cpu_percent']}% of a core "
            f"({target['cpu_ms_per_request']} ms/req, deps {target['deps_cpu_ms_per_request']}), "
            f"driver {target['driver_cpu_percent']}%; "
            + ("targets met" if not missed else f"MISSED: {', '.join(missed)}")
        )
        below = result.get("below_saturation")
        if below:
            p99s = ", ".join(
                f"{name} {row['p50_ms']:.0f}/{row['p99_ms']:.0f}"
                for name, row in below["requests"].items()
            )
            lines.append(
                f"  => mix at {below['offered_rps']} r/s (below saturation): "
                f"{below['achieved_rps']:,.1f} r/s, p99 reads {below['read_p99_ms']} ms, "
                f"writes {below['write_p99_ms']} ms, errors {below['errors']}; "
                f"p50/p99 ms: {p99s}"
            )
        lines.append(
            f"  load average before {_loads(result['load_before'])}, "
            f"after {_loads(result['load_after'])}"
        )
    return "\n".join(lines)


def _loads(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("--seconds", type=float, default=20.0, help="counted seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds per phase")
    parser.add_argument("--users", type=int, default=8, help="closed-loop users")
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="offered requests/s")
    parser.add_argument("--rate-users", type=int, default=60, help="users sharing the rate")
    parser.add_argument(
        "--below",
        type=float,
        default=0.5,
        help="also offer the mix at this share of its capacity measured alone (0: skip)",
    )
    parser.add_argument(
        "--telemetry",
        default="",
        help="WOMS_TELEMETRY of the services (off | file | console | otlp); unset: the "
        "embedded default (file: every span as a JSON line under WOMS_HOME/telemetry)",
    )
    parser.add_argument(
        "--relation-cache",
        default="",
        help="RELATION_CACHE_S of the services (seconds planning's relation and role grants "
        "are reused; 0: fetched on every request); unset: the default (30)",
    )
    parser.add_argument("--keep", type=Path, help="WOMS_HOME to use and keep")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        parser.error(f"--services: unknown {', '.join(unknown)}")

    home = args.keep or Path(tempfile.mkdtemp(prefix="woms-load-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["WOMS_HOME"] = str(home)
    os.environ["RATE_LIMIT"] = "100000/second"
    for name in ("TEMPORAL_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "OPA_URL"):
        os.environ.pop(name, None)
    os.environ.pop("WOMS_TELEMETRY", None)
    if args.telemetry:
        os.environ["WOMS_TELEMETRY"] = args.telemetry
    os.environ.pop("RELATION_CACHE_S", None)
    if args.relation_cache:
        os.environ["RELATION_CACHE_S"] = args.relation_cache
    started = datetime.now(UTC)
    machine = uptime()
    _say(f"WOMS_HOME {home}; {machine}")
    try:
        subprocess.run(
            [woms(), "tenant", "onboard", "--no-infrastructure", str(HANOI)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        token(ADMIN)  # the embedded issuer's key set exists before the services start
        with stack(home) as servers:
            data = seed(servers)
            _say(f"seeded {len(data.tasks)} tasks, {len(data.people)} months ({data.period})")
            results = []
            for service in services:
                if service == "reporting":
                    _say(f"reporting read models: {feed_reporting()} events applied")
                others = [s for name, s in servers.items() if name != service]
                results.append(measure(service, servers[service], others, data, args))
            finished_uptime = uptime()
    finally:
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)

    print(table(results))
    missed = {r["service"]: [k for k, ok in r["target"]["met"].items() if not ok] for r in results}
    print(
        json.dumps(
            {
                "bench": "load",
                "started": started.isoformat(timespec="seconds"),
                "uptime_before": machine,
                "uptime_after": finished_uptime,
                "cpus": os.cpu_count(),
                "locust": locust.__version__,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "users": args.users,
                "rate": args.rate,
                "rate_users": args.rate_users,
                "below": args.below,
                "telemetry": args.telemetry or "default (file)",
                "relation_cache_s": args.relation_cache or "default (30)",
                "results": results,
                "missed": {k: v for k, v in missed.items() if v},
            },
            ensure_ascii=False,
        )
    )
    if args.strict and any(missed.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
