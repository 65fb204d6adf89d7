"""The ``unitsearch`` command line: one Typer app per noun, each command calls the library."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from ..errors import UserError
from ..render import safe_text


class _Group(TyperGroup):
    """Turns a :class:`UserError` anywhere below into one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            typer.echo(f"error: {safe_text(e)}", err=True)  # one line, whatever names the message quotes
            raise typer.Exit(2) from None


app = typer.Typer(
    name="unitsearch",
    cls=_Group,
    help="Search and ablate residual-unit designs (He et al. 2016, Identity Mappings in Deep Residual Networks).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

from . import model as _model  # noqa: E402
from . import run as _run  # noqa: E402
from . import spaces as _spaces  # noqa: E402
from . import train as _train  # noqa: E402
from . import units as _units  # noqa: E402
from .report import report as _report  # noqa: E402

app.command("run")(_run.run)
app.command("worker")(_run.worker)
app.command("train")(_train.train)
app.add_typer(_spaces.app, name="spaces")
app.add_typer(_model.app, name="model")
app.add_typer(_units.app, name="units")
from .diagnose import diagnose as _diagnose
app.command("diagnose")(_diagnose)
app.command("report")(_report)
from .verify import verify as _verify  # noqa: E402

app.command("verify")(_verify)


def main() -> None:
    app()
