"""``woms tenant onboard | list | template | render-k8s`` — onboarding provinces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.common.errors import InputError
from woms.backup_cmds import register as register_backup

app = typer.Typer(
    name="tenant",
    help="Đơn vị thuê bao / tenants: onboard from a tenant file, list.",
    no_args_is_help=True,
    add_completion=False,
)
register_backup(app)  # woms tenant backup | restore (woms/backup_cmds.py)


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


@app.command("render-k8s")
def render_k8s(
    code: Annotated[str, typer.Argument(help="Tenant code, e.g. hanoi")],
    tenant_file: Annotated[
        Path | None, typer.Option(help="Tenant file (default data/tenants/<code>/tenant.yaml)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="The infra/k8s folder")] = None,
    check: Annotated[
        bool, typer.Option(help="Write nothing; exit 1 when the committed files differ")
    ] = False,
) -> None:
    """Sinh cấu hình Kubernetes / write the tenant's overlay infra/k8s/tenants/<code>/ (and the
    OPA policy bundle) from its tenant file; exit 2 on a bad file, 1 with --check on a change."""
    from woms import k8s_render

    path = tenant_file or k8s_render.REPO / "data" / "tenants" / code / "tenant.yaml"
    root = out or k8s_render.K8S
    try:
        overlay = k8s_render.render_tenant(path, root)
        bundle = k8s_render.render_opa_bundle(out=root)
    except (InputError, ValueError, OSError) as error:
        typer.echo(f"lỗi dữ liệu / input error: {error}", err=True)
        raise typer.Exit(2) from None
    if overlay.root.name != code:
        typer.echo(f"{path}: code is {overlay.root.name!r}, not {code!r}", err=True)
        raise typer.Exit(2)
    differs = False
    for rendered in (overlay, bundle):
        changed = k8s_render.differences(rendered) if check else k8s_render.write(rendered)
        for rel in changed:
            typer.echo(f"{'khác / differs' if check else 'ghi / wrote'}: {rendered.root / rel}")
        differs = differs or bool(changed)
    if check and differs:
        raise typer.Exit(1)
