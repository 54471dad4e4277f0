"""The one ``woms`` command (Typer): the composition root of the platform.

Sub-commands are thin: they parse arguments and call the services' use cases.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from woms.audit_cmds import app as audit_app
from woms.cycle_cmds import app as cycle_app
from woms.demo import demo
from woms.dev import app as dev_app
from woms.export_cmds import export
from woms.platform_cmds import app as platform_app
from woms.relay_cmds import relay
from woms.reporting_cmds import app as reporting_app
from woms.scoring_cmds import register as register_scoring
from woms.tenant_cmds import app as tenant_app
from woms.worker_cmds import worker

app = typer.Typer(
    name="woms",
    help="WOMS — quản lý công việc OKR/KPI và đánh giá hằng tháng CBCCVC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_app, name="dev")
app.add_typer(tenant_app, name="tenant")
app.add_typer(cycle_app, name="cycle")
app.add_typer(reporting_app, name="reporting")
app.add_typer(audit_app, name="audit")
app.add_typer(platform_app, name="platform")
register_scoring(app)
app.command("demo")(demo)
app.command("worker")(worker)
app.command("export")(export)
app.command("relay")(relay)


@app.command()
def serve(
    service: Annotated[
        str, typer.Argument(help="planning | tasks | evaluation | reporting")
    ] = "planning",
    host: Annotated[str, typer.Option(help="Listen address")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            help="Port (default: planning 8101, tasks 8102, evaluation 8103, reporting 8104)"
        ),
    ] = None,
) -> None:
    """Chạy dịch vụ / run a service's HTTP API (uvicorn); OpenAPI docs at /docs.

    The default ports are the ones the services call each other on (``PLANNING_URL``,
    ``TASKS_URL``)."""
    import uvicorn

    factories = {
        "planning": "services.planning.api:create_app",
        "tasks": "services.tasks.api:create_app",
        "evaluation": "services.evaluation.api:create_app",
        "reporting": "services.reporting.api:create_app",
        "web": "services.web.app:create_app",
    }
    if service not in factories:
        typer.echo(f"unknown service {service!r}; one of {', '.join(factories)}", err=True)
        raise typer.Exit(2)
    ports = {"planning": 8101, "tasks": 8102, "evaluation": 8103, "reporting": 8104, "web": 8100}
    uvicorn.run(factories[service], factory=True, host=host, port=port or ports[service])


def main() -> None:
    """Entry point of the ``woms`` script: run the command and exit with its code.

    Once the Temporal SDK is loaded (worker, cycle and dev commands), the process ends with
    ``os._exit`` after flushing its output: the SDK's Rust threads may otherwise call into the
    interpreter while it finalizes and abort it (``PyGILState_Release``, temporalio/sdk-python
    issue 300), turning a clean exit into SIGABRT. Commands have closed their own resources by
    then; nothing else runs at teardown.
    """
    try:
        app()
        code = 0
    except SystemExit as exc:
        if "temporalio.bridge.temporal_sdk_bridge" not in sys.modules:
            raise
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    if "temporalio.bridge.temporal_sdk_bridge" not in sys.modules:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
