"""``woms platform grant | revoke | grants`` — the platform's role grants.

The central bodies whose tokens are issued for the reserved tenant ``platform`` (reading
reports across every tenant) get their roles from the platform registry, not from their
tokens (:mod:`services.common.tenancy`, :mod:`services.common.roles`, ``docs/identity.md``).
A tenant's own grants are in its tenant file (``role_grants:``), not here.

Exit codes: 0 done (also when nothing changed: the message says so); 2 bad input (a role the
platform does not grant, a blank or ``system:`` subject).
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Quyền của cơ quan cấp trên trên toàn nền tảng / the platform's role grants.",
    no_args_is_help=True,
)

Subject = Annotated[str, typer.Argument(help="Mã người hoặc tài khoản / person or account code")]
Role = Annotated[str, typer.Option(help="Vai trò / role (the platform grants only: central)")]


@app.command()
def grant(subject: Subject, role: Role = "central", note: str = "") -> None:
    """Cấp vai trò / grant ``ROLE`` to ``SUBJECT`` on the platform."""
    from services.common import tenancy
    from services.common.db import transaction

    try:
        with transaction(tenancy.registry_engine()) as session:
            changed = tenancy.grant_platform_role(session, subject, role, note)
    except ValueError as exc:
        typer.echo(f"lỗi / error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{'đã cấp / granted' if changed else 'đã có / already granted'}: {subject} {role}")


@app.command()
def revoke(subject: Subject, role: Role = "central") -> None:
    """Thu hồi vai trò / withdraw ``ROLE`` from ``SUBJECT`` (effective at the next request)."""
    from services.common import tenancy
    from services.common.db import transaction

    with transaction(tenancy.registry_engine()) as session:
        changed = tenancy.revoke_platform_role(session, subject, role)
    outcome = "đã thu hồi / revoked" if changed else "không có / not granted"
    typer.echo(f"{outcome}: {subject} {role}")


@app.command("grants")
def list_grants() -> None:
    """Danh sách / every platform grant, one ``SUBJECT ROLE`` per line."""
    from services.common import tenancy
    from services.common.db import transaction

    with transaction(tenancy.registry_engine()) as session:
        found = tenancy.platform_role_grants(session)
    for subject in sorted(found):
        for role in sorted(found[subject]):
            typer.echo(f"{subject}\t{role}")
