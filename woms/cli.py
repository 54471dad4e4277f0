"""The one ``woms`` command (Typer): the composition root of the platform.

Sub-commands are thin: they parse arguments and call the services' use cases.
"""

from __future__ import annotations

import typer

from woms.demo import demo
from woms.dev import app as dev_app
from woms.scoring_cmds import register as register_scoring

app = typer.Typer(
    name="woms",
    help="WOMS — quản lý công việc OKR/KPI và đánh giá hằng tháng CBCCVC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_app, name="dev")
register_scoring(app)
app.command("demo")(demo)


if __name__ == "__main__":  # pragma: no cover
    app()
