"""``woms tenant onboard | list`` — onboarding provinces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.common.errors import InputError

app = typer.Typer(
    name="tenant",
    help="Đơn vị thuê bao / tenants: onboard from a tenant file, list.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def onboard(
    path: Annotated[Path, typer.Argument(help="tenant.yaml (docs/tenant-file.md)")],
    infrastructure: Annotated[
        bool, typer.Option(help="Also create the Temporal namespace and Kafka topics")
    ] = True,
    org_xlsx: Annotated[
        Path | None, typer.Option(help="Units, people and catalog from this .xlsx instead")
    ] = None,
) -> None:
    """Onboard (or update) a tenant from one file; running it twice changes nothing."""
    from woms.onboarding import onboard as run_onboard
    from woms.onboarding import summary

    try:
        report = run_onboard(path, infrastructure=infrastructure, org_xlsx=org_xlsx)
    except InputError as error:
        typer.echo(f"lỗi dữ liệu / input error: {error}", err=True)
        raise typer.Exit(2) from None
    for line in summary(report):
        typer.echo(line)


@app.command("list")
def list_tenants() -> None:
    """Danh sách đơn vị thuê bao / the onboarded tenants."""
    from services.common import tenancy
    from services.common.db import transaction

    with transaction(tenancy.registry_engine()) as session:
        rows = tenancy.list_tenants(session)
    if not rows:
        typer.echo("Chưa có đơn vị thuê bao / no tenant yet.")
    for t in rows:
        typer.echo(
            f"{t.code:<12} {t.name}  ({t.time_zone}; cập nhật {t.updated_at:%Y-%m-%d %H:%M})"
        )


@app.command()
def template(out: Annotated[Path, typer.Argument(help="Where to write the .xlsx")]) -> None:
    """Write the Excel template for units, positions, people and the work catalog."""
    from services.planning.excel import write_template

    write_template(out)
    typer.echo(str(out))
