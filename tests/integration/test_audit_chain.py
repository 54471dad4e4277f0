"""The audit chain (issue 9) on SQLite and the machine's PostgreSQL: the use cases of tasks and
evaluation append one entry per change in their transaction (nothing on rollback), concurrent
writers never fork the chain, the tables refuse changes, and ``woms audit verify`` detects an
edited, a removed and a reordered entry, and with an exported head a truncated or rewritten
chain (``woms audit export-head``)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from services.common import audit, tenancy
from services.common.db import engine_for, migrate, transaction
from services.evaluation import service as evaluation
from services.evaluation.models import audit as evaluation_audit
from services.tasks import service as tasks
from services.tasks.models import audit as tasks_audit
from tests.integration.backends import BACKENDS, database_backend
from woms.cli import app

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads(
    (ROOT.parent / "shared" / "golden" / "scoring" / "seed002_nguyen_van_a.json").read_text()
)
TENANT, PERIOD, UNIT = "audited", "2026-06", "PA-VP"
pytestmark = pytest.mark.integration


@pytest.fixture(params=BACKENDS)
def dbs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Engine]]:
    """``audited`` registered, its tasks and evaluation databases migrated, on each backend."""
    monkeypatch.setenv("WOMS_HOME", str(tmp_path))
    with database_backend(request.param, monkeypatch):
        with transaction(tenancy.registry_engine()) as s:
            tenancy.upsert(
                s,
                code=TENANT,
                name="Kiểm toán",
                time_zone="Asia/Ho_Chi_Minh",
                config={},
                source_hash="x",
            )
        engines = {}
        for service in ("tasks", "evaluation"):
            engines[service] = engine_for(TENANT, service)
            migrate(engines[service], ROOT / "services" / service / "migrations")
        yield engines


def _month(engine: Engine, person: str) -> None:
    """Open, self-assess, decide and publish ``person``'s June: four audited changes."""
    ledger = list(SEED["tasks"])
    with transaction(engine) as s:
        evaluation.open_evaluation(s, TENANT, person, UNIT, PERIOD, ledger, None)
    with transaction(engine) as s:
        evaluation.self_assess(s, TENANT, person, PERIOD, 30, person)
    with transaction(engine) as s:
        # nobody reviewed: the authority enters the general points (001 §II.1)
        evaluation.decide(s, TENANT, person, PERIOD, "P02", general=30)
    with transaction(engine) as s:
        evaluation.publish(s, TENANT, person, PERIOD, None, "P02")


def _entries(engine: Engine, tables: audit.AuditTables) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(tables.log).order_by("seq"))]


def _tamper(engine: Engine, *statements: str) -> None:
    """Run ``statements`` as the database owner would: the append-only triggers dropped."""
    with engine.begin() as conn:
        for ddl in audit.DROP_APPEND_ONLY_DDL[engine.dialect.name]:
            conn.execute(text(ddl))
        for statement in statements:
            conn.execute(text(statement))


def _woms(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_each_change_is_one_entry_with_before_and_after(dbs: dict[str, Engine]) -> None:
    _month(dbs["evaluation"], "P03")
    entries = _entries(dbs["evaluation"], evaluation_audit)
    assert [e["action"] for e in entries] == [
        "evaluation.opened",
        "evaluation.self_assessed",
        "evaluation.decided",
        "evaluation.published",
    ]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(entries))
    assert {e["object_id"] for e in entries} == {f"P03/{PERIOD}"}
    assert [e["actor"] for e in entries] == ["system:evaluation", "P03", "P02", "P02"]
    first, decided = entries[0], entries[2]
    assert first["before"] is None and json.loads(first["after"])["status"] == "opened"
    assert json.loads(decided["before"])["status"] == "self_assessed"
    after = json.loads(decided["after"])
    assert (after["score"], after["grade"]) == ("83.9", "B")  # 002's worked example
    with transaction(dbs["evaluation"]) as s:
        report = audit.verify(s, evaluation_audit, TENANT)
    assert report.intact and report.entries == 4 and report.last.hash == entries[-1]["hash"]


def test_a_rolled_back_change_writes_no_entry(dbs: dict[str, Engine]) -> None:
    _month(dbs["evaluation"], "P03")
    with pytest.raises(evaluation.EvaluationError), transaction(dbs["evaluation"]) as s:
        evaluation.appeal(s, TENANT, "P03", PERIOD, "Chưa thỏa đáng", "P03")
        evaluation.appeal(s, TENANT, "P03", PERIOD, "Lần hai", "P03")  # 409: all rolled back
    assert len(_entries(dbs["evaluation"], evaluation_audit)) == 4
    with transaction(dbs["evaluation"]) as s:
        evaluation.appeal(s, TENANT, "P03", PERIOD, "Chưa thỏa đáng", "P03")
    entries = _entries(dbs["evaluation"], evaluation_audit)
    assert [e["action"] for e in entries][-1] == "evaluation.appealed"
    assert entries[-1]["seq"] == 5 and entries[-1]["prev_hash"] == entries[-2]["hash"]


def test_tasks_changes_are_audited_with_the_request_actor(dbs: dict[str, Engine]) -> None:
    rules, directory = tasks.TenantRules(), Any  # no catalog item: planning is not asked
    with transaction(dbs["tasks"]) as s:
        s.info.update({audit.TENANT_KEY: TENANT, audit.ACTOR_KEY: "P02"})  # as a request
        task = tasks.create_task(s, TENANT, directory, rules, "P02", {"name": "Báo cáo tháng"})
        code = task.code
    with transaction(dbs["tasks"]) as s:
        s.info.update({audit.TENANT_KEY: TENANT, audit.ACTOR_KEY: "P02"})
        tasks.update_task(s, TENANT, directory, rules, code, {"name": "Báo cáo quý"})
        tasks.push_back(s, code, "P03", "scope", "Phạm vi chưa rõ")
        tasks.close_period(s, PERIOD)
    entries = _entries(dbs["tasks"], tasks_audit)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("task.created", "P02"),
        ("task.updated", "P02"),
        ("pushback.created", "P03"),
        ("period.closed", "P02"),
    ]
    assert json.loads(entries[1]["before"])["name"] == "Báo cáo tháng"
    assert json.loads(entries[1]["after"])["name"] == "Báo cáo quý"
    assert {e["tenant"] for e in entries} == {TENANT}
    with transaction(dbs["tasks"]) as s:
        assert audit.verify(s, tasks_audit, TENANT).intact


def test_concurrent_writers_never_fork_the_chain(dbs: dict[str, Engine]) -> None:
    """8 threads open and self-assess 5 people each at the same time: 80 entries, seq 1–80,
    each linked to the one before."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(thread: int) -> None:
        try:
            start.wait()
            for i in range(5):
                person = f"T{thread}-{i}"
                with transaction(dbs["evaluation"]) as s:
                    evaluation.open_evaluation(
                        s, TENANT, person, UNIT, PERIOD, list(SEED["tasks"]), None
                    )
                with transaction(dbs["evaluation"]) as s:
                    evaluation.self_assess(s, TENANT, person, PERIOD, 25, person)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = _entries(dbs["evaluation"], evaluation_audit)
    assert [e["seq"] for e in entries] == list(range(1, 81))
    assert len({e["prev_hash"] for e in entries}) == 80  # no two entries follow the same one
    with transaction(dbs["evaluation"]) as s:
        report = audit.verify(s, evaluation_audit, TENANT)
    assert report.intact and report.entries == 80


def test_the_tables_refuse_changes(dbs: dict[str, Engine]) -> None:
    _month(dbs["evaluation"], "P03")
    for statement in ("UPDATE audit_log SET actor = 'P99' WHERE seq = 2", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), dbs["evaluation"].begin() as conn:
            conn.execute(text(statement))
    assert len(_entries(dbs["evaluation"], evaluation_audit)) == 4


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit_log SET actor = 'P99' WHERE seq = 2"], "at seq 2: nội dung bị sửa"),
        (["DELETE FROM audit_log WHERE seq = 2"], "at seq 2: thiếu mục 2"),
        (
            [
                "UPDATE audit_log SET seq = -1 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = -1",
            ],
            "at seq 2: sai thứ tự",
        ),
    ],
    ids=["edited", "removed", "reordered"],
)
def test_verify_names_the_first_broken_entry(
    dbs: dict[str, Engine], statements: list[str], expected: str
) -> None:
    _month(dbs["evaluation"], "P03")
    ok = _woms("audit", "verify", TENANT)
    assert ok.exit_code == 0, ok.output
    assert "evaluation: nguyên vẹn / intact — 4 entries" in ok.output
    assert "tasks: nguyên vẹn / intact — 0 entries" in ok.output
    _tamper(dbs["evaluation"], *statements)
    broken = _woms("audit", "verify", TENANT)
    assert broken.exit_code == 1, broken.output
    assert f"evaluation: HỎNG / BROKEN {expected}" in broken.output
    assert "tasks: nguyên vẹn" in broken.output


def _rechain(engine: Engine, tables: audit.AuditTables, keep: int) -> None:
    """A careful attacker: keep the first ``keep`` entries, rewrite the first one's actor,
    recompute every hash and the head row — the chain is consistent again."""
    rows = [r for r in _entries(engine, tables) if r["seq"] <= keep]
    _tamper(engine, "DELETE FROM audit_log")
    prev = audit.GENESIS
    with engine.begin() as conn:
        for row in rows:
            row = {**row, "prev_hash": prev, "actor": "P99" if row["seq"] == 1 else row["actor"]}
            row["hash"] = prev = audit.entry_hash(row)
            conn.execute(tables.log.insert().values(**row))
        conn.execute(tables.head.update().values(seq=keep, hash=prev))


def test_exported_heads_catch_truncation_and_rewriting(
    dbs: dict[str, Engine], tmp_path: Path
) -> None:
    _month(dbs["evaluation"], "P03")
    out = tmp_path / "heads"
    exported = _woms("audit", "export-head", TENANT, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    files = sorted(p.name for p in out.iterdir())
    today = [f for f in files if f.startswith(f"{TENANT}-evaluation-")]
    assert len(files) == 2 and len(today) == 1 and not any(f.startswith(".") for f in files)
    day = date.fromisoformat(today[0].removeprefix(f"{TENANT}-evaluation-").removesuffix(".json"))
    assert abs((day - date.today()).days) <= 1  # the tenant's date (UTC+7)
    head = json.loads((out / today[0]).read_text())
    entries = _entries(dbs["evaluation"], evaluation_audit)
    assert (head["seq"], head["hash"]) == (4, entries[-1]["hash"])
    assert head["tenant"] == TENANT and head["service"] == "evaluation" and head["time"]
    assert _woms("audit", "verify", TENANT, "--head", str(out / today[0])).exit_code == 0

    _month(dbs["evaluation"], "P04")  # the chain grows after the export: still fine
    assert _woms("audit", "verify", TENANT, "--head", str(out / today[0])).exit_code == 0

    # cut off the end and fix up the head row: only the exported head notices
    _tamper(dbs["evaluation"], "DELETE FROM audit_log WHERE seq > 3")
    with dbs["evaluation"].begin() as conn:
        last = _entries(dbs["evaluation"], evaluation_audit)[-1]["hash"]
        conn.execute(evaluation_audit.head.update().values(seq=3, hash=last))
    assert _woms("audit", "verify", TENANT).exit_code == 0
    truncated = _woms("audit", "verify", TENANT, "--head", str(out / today[0]))
    assert truncated.exit_code == 1
    assert "evaluation: HỎNG / BROKEN at seq 4: bị cắt cụt / truncated after export" in (
        truncated.output
    )
    before = (out / today[0]).read_text()
    refused = _woms("audit", "export-head", TENANT, "--out", str(out))  # checks DIR's heads
    assert refused.exit_code == 1 and "truncated after export" in refused.output
    assert (out / today[0]).read_text() == before  # the evidence is not overwritten

    # the head row alone catches a tail cut without the fix-up
    _month(dbs["evaluation"], "P05")
    _tamper(dbs["evaluation"], "DELETE FROM audit_log WHERE seq = 7")
    cut = _woms("audit", "verify", TENANT)
    assert cut.exit_code == 1 and "truncated: the head row names seq 7" in cut.output

    # rewrite history and recompute every hash: consistent, but not the exported head
    _rechain(dbs["evaluation"], evaluation_audit, keep=6)
    assert _woms("audit", "verify", TENANT).exit_code == 0
    rewritten = _woms("audit", "verify", TENANT, "--head", str(out / today[0]))
    assert rewritten.exit_code == 1
    assert "at seq 4: viết lại / rewritten after export" in rewritten.output


def test_bad_input_exits_2_naming_what(dbs: dict[str, Engine], tmp_path: Path) -> None:
    bad = tmp_path / "head.json"
    bad.write_text('{"tenant": "audited",\n  "seq": 4,,\n}')
    result = _woms("audit", "verify", TENANT, "--head", str(bad))
    assert result.exit_code == 2 and f"{bad}:2:12: JSON không hợp lệ" in result.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"tenant": "hanoi", "service": "tasks", "seq": 1, "hash": "0"}))
    result = _woms("audit", "verify", TENANT, "--head", str(other))
    assert result.exit_code == 2 and "tenant 'hanoi' is not 'audited'" in result.output
    unknown = _woms("audit", "verify", "nowhere")
    assert unknown.exit_code == 2 and "'nowhere'" in unknown.output
    failed = _woms("audit", "export-head", TENANT, "--out", str(bad))  # a file, not a directory
    assert failed.exit_code == 2 and "không ghi được / cannot write" in failed.output
