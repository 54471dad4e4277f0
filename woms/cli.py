"""The one ``woms`` command (Typer): the composition root of the platform.

Sub-commands are thin: they parse arguments and call the services' use cases.
"""

from __future__ import annotations

from typing import Annotated

import typer

from woms.demo import demo
from woms.dev import app as dev_app
from woms.scoring_cmds import register as register_scoring
from woms.tenant_cmds import app as tenant_app

app = typer.Typer(
    name="woms",
    help="WOMS — quản lý công việc OKR/KPI và đánh giá hằng tháng CBCCVC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_app, name="dev")
app.add_typer(tenant_app, name="tenant")
register_scoring(app)
app.command("demo")(demo)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="planning | tasks")] = "planning",
    host: Annotated[str, typer.Option(help="Listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8101,
) -> None:
    """Chạy dịch vụ / run a service's HTTP API (uvicorn); OpenAPI docs at /docs."""
    import uvicorn

    factories = {
        "planning": "services.planning.api:create_app",
        "tasks": "services.tasks.api:create_app",
    }
    if service not in factories:
        typer.echo(f"unknown service {service!r}; one of {', '.join(factories)}", err=True)
        raise typer.Exit(2)
    uvicorn.run(factories[service], factory=True, host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    app()
