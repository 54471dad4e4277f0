"""``woms dev up|status|down``: the embedded runtime (Temporal dev server + Tansu);
``woms dev token`` and ``woms dev keys list|rotate|retire``: the embedded token issuer.

Thin wrapper over :mod:`services.common.runtime`; state lives in ``$WOMS_HOME``.
"""

from __future__ import annotations

import re
from datetime import timedelta
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
    subject: Annotated[str, typer.Option(help="Person code, account, or system:<name>")],
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="Role (repeat) of a system:<name> token: service, system. A person's or an "
            "account's roles (tenant_admin, central, external_body) come from planning's "
            "role_grants, not from the token: the services ignore them here."
        ),
    ] = None,
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds (TOKEN_TTL_S)")] = None,
) -> None:
    """Issue a bearer token from the embedded issuer (keys under $WOMS_HOME/keys).

    Vai trò của cán bộ do dịch vụ kế hoạch giao (role_grants của tệp đơn vị thuê bao), không
    lấy từ mã truy cập: ``--role`` only matters for ``system:`` subjects (docs/identity.md).
    """
    from services.common.auth import issue_token

    typer.echo(issue_token(tenant, subject, set(role or ["staff"]), ttl_s=ttl))


keys_app = typer.Typer(
    name="keys",
    help="Khóa ký mã truy cập / the embedded issuer's signing keys (docs/identity.md).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``2h``, ``7d`` → a timedelta.

    Raises:
        typer.BadParameter: on anything else (exit code 2).
    """
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r}: dùng / use e.g. 90s, 15m, 2h, 7d")
    return timedelta(seconds=int(match[1]) * _UNIT_S[match[2]])


@keys_app.command("list")
def keys_list() -> None:
    """Liệt kê khóa / list the keys: kid, algorithm, created, superseded, signing."""
    from services.common import jwks

    try:
        keyset = jwks.load_keyset(get_settings(), create=False)
    except jwks.KeySetError as err:
        _fail(err)
    for key in keyset.keys:
        superseded = key.superseded.isoformat() if key.superseded else "-"
        mark = "ký/signing" if key.kid == keyset.signing else f"thay/superseded {superseded}"
        legacy = "  (issuer.pem)" if key.legacy else ""
        typer.echo(f"{key.kid}  {key.alg}  {key.created.isoformat()}  {mark}{legacy}")


@keys_app.command("rotate")
def keys_rotate(
    alg: Annotated[str, typer.Option(help="RS256 or ES256")] = "RS256",
) -> None:
    """Thêm khóa mới để ký / add a new signing key; older keys keep verifying until retired."""
    from services.common import jwks

    try:
        key = jwks.rotate(get_settings(), alg=alg)
    except jwks.KeySetError as err:
        _fail(err)
    typer.echo(f"Khóa ký mới / new signing key: {key.kid} ({key.alg})")


@keys_app.command("retire")
def keys_retire(
    older_than: Annotated[
        str | None,
        typer.Option(help="Remove keys superseded at least this long ago (90s, 15m, 2h, 7d)"),
    ] = None,
    kid: Annotated[list[str] | None, typer.Option(help="Remove this key (repeat)")] = None,
) -> None:
    """Gỡ khóa cũ / remove old keys: their tokens are refused from then on."""
    from services.common import jwks

    if older_than is None and not kid:
        raise typer.BadParameter("--older-than or --kid is required")
    age = parse_duration(older_than) if older_than is not None else None
    try:
        gone = jwks.retire(get_settings(), older_than=age, kids=frozenset(kid or []))
    except jwks.KeySetError as err:
        _fail(err)
    typer.echo(f"Đã gỡ / removed: {', '.join(gone) if gone else '-'}")
