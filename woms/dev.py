"""``woms dev up|status|down``: the embedded runtime (Temporal dev server + Tansu).

Thin wrapper over :mod:`services.common.runtime`; state lives in ``$WOMS_HOME``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from services.common.settings import get_settings

if TYPE_CHECKING:
    from services.common import runtime

app = typer.Typer(
    name="dev",
    help="Môi trường chạy nhúng / embedded runtime: Temporal dev server + Kafka (Tansu).",
    no_args_is_help=True,
    add_completion=False,
)

_LABEL = {"temporal": "Temporal", "kafka": "Kafka"}


def _echo_status(statuses: list[runtime.ComponentStatus]) -> bool:
    """Print one line per component; return True when all are running."""
    for item in statuses:
        kind = "ngoài/external" if item.external else f"pid {item.pid}"
        where = f"{item.address}  ({kind})" if item.address else "-"
        mark = "OK  " if item.running else "DOWN"
        typer.echo(f"{mark} {_LABEL[item.name]:<9} {where}  {item.detail}")
    return all(item.running for item in statuses)


def _fail(err: Exception) -> NoReturn:
    """Print ``err`` on stderr and exit with code 1."""
    typer.echo(f"Lỗi / error: {err}", err=True)
    raise typer.Exit(1) from err


@app.command()
def up(
    timeout: float = typer.Option(60.0, help="Seconds to wait for each component to answer."),
) -> None:
    """Khởi động / start Temporal + Kafka (no-op when already running)."""
    from services.common import runtime  # heavy (temporalio, kafka): only when used

    settings = get_settings()
    try:
        before = runtime.read_state(settings.woms_home)
        after = runtime.up(settings, start_timeout_s=timeout)
    except (RuntimeError, FileNotFoundError) as err:  # RuntimeStartError, bad runtime.json
        _fail(err)
    if after == before:
        typer.echo("Đã chạy sẵn / already running.")
    healthy = _echo_status(runtime.status(settings))
    typer.echo(f"Nhật ký / logs: {settings.woms_home / 'logs'}")
    raise typer.Exit(0 if healthy else 1)


@app.command()
def status() -> None:
    """Trạng thái / status; exit code 0 when every component answers, 1 otherwise."""
    from services.common import runtime

    try:
        statuses = runtime.status(get_settings())
    except RuntimeError as err:  # invalid runtime.json
        _fail(err)
    raise typer.Exit(0 if _echo_status(statuses) else 1)


@app.command()
def down() -> None:
    """Dừng / stop the processes recorded in runtime.json (and only those)."""
    from services.common import runtime

    try:
        outcomes = runtime.down(get_settings())
    except RuntimeError as err:  # invalid runtime.json
        _fail(err)
    if not outcomes:
        typer.echo("Không có gì đang chạy / nothing recorded.")
    for name, outcome in outcomes.items():
        typer.echo(f"{_LABEL[name]:<9} {outcome}")
    if "still running" in outcomes.values():
        raise typer.Exit(1)


@app.command()
def token(
    tenant: Annotated[str, typer.Option(help="Tenant code")],
    subject: Annotated[str, typer.Option(help="Person code, or system:<name>")],
    role: Annotated[
        list[str] | None, typer.Option(help="Role (repeat): staff (default), tenant_admin, …")
    ] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 3600,
) -> None:
    """Issue a bearer token from the embedded issuer (keys under $WOMS_HOME/keys)."""
    from services.common.auth import issue_token

    typer.echo(issue_token(tenant, subject, set(role or ["staff"]), ttl_s=ttl))
