"""``woms audit verify | export-head`` — the tenant's audit chains (:mod:`services.common.audit`).

* ``woms audit verify <tenant> [--head FILE]...`` walks the chain of each audited service
  (tasks, evaluation) and reports the first broken entry; with ``--head`` it also checks that
  the chain still holds each exported head (truncation or rewriting after the export).
* ``woms audit export-head <tenant> --out DIR`` verifies each chain — also against the latest
  head already exported to ``DIR`` —, then writes its head to
  ``DIR/{tenant}-{service}-{date}.json`` (``seq``, ``hash``, ``time``) atomically: run it daily
  (cron, a Kubernetes CronJob, see ``docs/audit.md``) to storage outside the database.

Exit codes: 0 every chain intact (heads exported); 1 a chain is broken (the message names the
service, the seq and what is wrong; nothing is exported); 2 bad input (unknown tenant, a head
file that cannot be read — file, line and column —, a database without the audit tables).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from services.common.audit import AuditTables, ChainReport, Head

app = typer.Typer(
    help="Nhật ký kiểm toán / the audit chains: verify, export the heads.",
    no_args_is_help=True,
)


def audited_tables() -> dict[str, AuditTables]:
    """The audit tables of each audited service, by service name."""
    from services.evaluation.models import audit as evaluation_audit
    from services.tasks.models import audit as tasks_audit

    return {"tasks": tasks_audit, "evaluation": evaluation_audit}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _time_zone(tenant: str) -> str:
    """The onboarded ``tenant``'s time zone. Raises ``typer.Exit(2)`` when unknown."""
    from services.common import tenancy
    from services.common.db import transaction

    try:
        tenancy.validate_code(tenant)
    except ValueError as exc:
        raise _fail(f"tenant: {exc}") from exc
    with transaction(tenancy.registry_engine()) as session:
        found = tenancy.get_tenant(session, tenant)
    if found is None:
        raise _fail(f"tenant: {tenant!r} chưa được tiếp nhận / is not onboarded (woms tenant list)")
    return found.time_zone


def _read_heads(files: list[Path], tenant: str) -> dict[str, list[Head]]:
    """Exported heads by service. Raises ``typer.Exit(2)`` naming the file (line, column)."""
    from services.common.audit import head_from_document

    services = audited_tables()
    heads: dict[str, list[Head]] = {}
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _fail(f"{path}: không đọc được / cannot read: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise _fail(f"{path}:{exc.lineno}:{exc.colno}: JSON không hợp lệ / {exc.msg}") from exc
        except UnicodeDecodeError as exc:
            raise _fail(f"{path}:1:{exc.start + 1}: không phải UTF-8 / not UTF-8") from exc
        if not isinstance(document, dict):
            raise _fail(f"{path}:1:1: phải là một đối tượng JSON / must be a JSON object")
        if document.get("tenant") != tenant:
            raise _fail(f"{path}: tenant {document.get('tenant')!r} is not {tenant!r}")
        service = document.get("service")
        if service not in services:
            raise _fail(f"{path}: service {service!r} is not one of {', '.join(services)}")
        try:
            heads.setdefault(str(service), []).append(head_from_document(document))
        except ValueError as exc:
            raise _fail(f"{path}: {exc}") from exc
    return heads


def _verify_all(tenant: str, heads: dict[str, list[Head]]) -> dict[str, ChainReport]:
    """Each audited service's :class:`ChainReport`. Raises ``typer.Exit(2)`` when a database
    has no audit tables."""
    from sqlalchemy import inspect

    from services.common.audit import AUDIT_LOG, verify
    from services.common.db import engine_for, transaction

    reports = {}
    for service, tables in audited_tables().items():
        engine = engine_for(tenant, service)
        if not inspect(engine).has_table(AUDIT_LOG):
            raise _fail(
                f"{service}: không có bảng {AUDIT_LOG} / no audit chain — apply the migrations "
                "(woms tenant onboard)"
            )
        with transaction(engine) as session:
            reports[service] = verify(session, tables, tenant, heads.get(service, ()))
    return reports


def _say(service: str, report: ChainReport) -> str:
    if report.broken is None:
        return (
            f"{service}: nguyên vẹn / intact — {report.entries} entries, head seq "
            f"{report.last.seq} {report.last.hash[:16]}…"
        )
    return f"{service}: HỎNG / BROKEN at seq {report.broken.seq}: {report.broken.problem}"


@app.command("verify")
def verify_cmd(
    tenant: Annotated[str, typer.Argument(help="Mã đơn vị thuê bao / tenant code")],
    head: Annotated[
        list[Path] | None,
        typer.Option(
            "--head",
            help="An exported head file (woms audit export-head); the chain must still hold it",
        ),
    ] = None,
) -> None:
    """Kiểm tra chuỗi nhật ký / verify the tenant's audit chains; exit 1 at the first broken
    entry (edited, removed, reordered, truncated)."""
    _time_zone(tenant)
    reports = _verify_all(tenant, _read_heads(list(head or []), tenant))
    broken = False
    for service, report in reports.items():
        typer.echo(_say(service, report), err=report.broken is not None)
        broken = broken or report.broken is not None
    if broken:
        raise typer.Exit(1)


@app.command("export-head")
def export_head(
    tenant: Annotated[str, typer.Argument(help="Mã đơn vị thuê bao / tenant code")],
    out: Annotated[Path, typer.Option("--out", help="Directory outside the database")],
) -> None:
    """Xuất đầu chuỗi / verify each chain (and that it still holds the heads already in OUT),
    then write its head to ``OUT/{tenant}-{service}-{date}.json`` (the tenant's date)
    atomically; run daily."""
    from services.common.audit import head_document, write_head_file

    zone = ZoneInfo(_time_zone(tenant))
    name = re.compile(
        rf"{re.escape(tenant)}-({'|'.join(audited_tables())})-\d{{4}}-\d{{2}}-\d{{2}}\.json"
    )
    previous = (
        sorted(p for p in out.glob("*.json") if name.fullmatch(p.name)) if out.is_dir() else []
    )
    reports = _verify_all(tenant, _read_heads(previous, tenant))
    failed = [s for s, r in reports.items() if r.broken is not None]
    if failed:
        for service in failed:
            typer.echo(_say(service, reports[service]), err=True)
        raise typer.Exit(1)
    now = datetime.now(UTC)
    for service, report in reports.items():
        document = head_document(tenant, service, report.last, now)
        try:
            path = write_head_file(out, document, now.astimezone(zone).date())
        except OSError as exc:
            raise _fail(f"{out}: không ghi được / cannot write: {exc}") from exc
        typer.echo(f"{service}: seq {report.last.seq} → {path}")
