"""``woms tenant backup`` / ``restore`` round-trip a tenant bit-for-bit in its data, on SQLite
and on PostgreSQL (issue 9, faults; `docs/faults.md`): every table of every service database,
the registry row and the evidence files come back identical in a fresh home; the audit chains
still verify; new writes after the restore work (sequences moved past the ids); restoring over
existing data is refused with exit 2 and changes nothing.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from services.common import tenancy
from services.common.db import dispose_engines, engine_for, transaction
from services.common.settings import get_settings
from services.tasks import service as tasks
from tests.integration.backends import BACKENDS, database_backend
from tests.support.pipeline import TenantDbs, drive_evaluations, drive_tasks, new_task
from woms.backup_cmds import dump_database, encode
from woms.cli import app
from woms.onboarding import SERVICES, onboard

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "tenant_mini.yaml"
EVIDENCE = {"ab/abcdef.pdf": b"%PDF-1.4 bi\xeau b\xe1n", "cd/cdef01.txt": "Biên bản họp".encode()}

pytestmark = pytest.mark.integration


def _home(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOMS_HOME", str(path))
    get_settings.cache_clear()
    dispose_engines()


def _state(tenant: str) -> dict[str, Any]:
    """Everything the backup promises to keep: each database's rows, the registry row, the
    evidence files' bytes."""
    with transaction(tenancy.registry_engine()) as s:
        row = s.execute(select(tenancy.tenants).where(tenancy.tenants.c.code == tenant)).one()
    evidence = get_settings().woms_home / "evidence" / tenant
    return {
        "databases": {s: dump_database(engine_for(tenant, s)) for s in SERVICES},
        "registry": {k: encode(v) for k, v in row._mapping.items()},
        "evidence": {
            p.relative_to(evidence).as_posix(): p.read_bytes()
            for p in sorted(evidence.rglob("*"))
            if p.is_file()
        },
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tenant_backed_up_and_restored_is_the_same_tenant(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliRunner()
    archive = tmp_path / "mini.zip"
    _home(tmp_path / "a", monkeypatch)
    with database_backend(backend, monkeypatch):
        onboard(MINI, infrastructure=False)
        dbs = TenantDbs("mini", engine_for("mini", "tasks"), engine_for("mini", "evaluation"))
        drive_tasks(dbs, seed=3, count=40)
        drive_evaluations(dbs)
        for name, body in EVIDENCE.items():
            target = get_settings().woms_home / "evidence" / "mini" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        original = _state("mini")
        tables = original["databases"]
        assert len(tables["tasks"]["tasks"]) == 40 and tables["tasks"]["audit_log"]
        assert tables["evaluation"]["evaluations"] and tables["planning"]["key_results"]

        made = cli.invoke(app, ["tenant", "backup", "mini", str(archive)])
        assert made.exit_code == 0, made.output
        assert _state("mini") == original  # a backup changes nothing

        _home(tmp_path / "b", monkeypatch)
        with database_backend(backend, monkeypatch):  # fresh databases
            restored = cli.invoke(app, ["tenant", "restore", str(archive)])
            assert restored.exit_code == 0, restored.output
            assert _state("mini") == original
            verified = cli.invoke(app, ["audit", "verify", "mini"])
            assert verified.exit_code == 0, verified.output

            # the restored tenant works: a new task (new ids, new audit entries)
            due = date(2026, 6, 26)
            with transaction(engine_for("mini", "tasks")) as s:
                code = new_task(s, 41, "P1", due, random.Random(1))
                tasks.act(s, "mini", tasks.TenantRules(), code, "assign", "P0", due)
            assert cli.invoke(app, ["audit", "verify", "mini"]).exit_code == 0
            after = _state("mini")

            # restoring again, over data, is refused and writes nothing
            again = cli.invoke(app, ["tenant", "restore", str(archive)])
            assert again.exit_code == 2 and "already exists" in again.output
            assert _state("mini") == after
