"""The ``unitsearch`` command line: one Typer app per noun, each command calls the library."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from ..errors import UserError
from ..render import safe_text
from . import calibrate, diagnose, model, report, run, slurm, spaces, train, units, verify


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
app.command("run")(run.run)
app.command("worker")(run.worker)
app.command("slurm")(slurm.slurm)
app.command("train")(train.train)
app.add_typer(spaces.app, name="spaces")
app.add_typer(model.app, name="model")
app.add_typer(units.app, name="units")
app.command("diagnose")(diagnose.diagnose)
app.command("report")(report.report)
app.command("verify")(verify.verify)
app.command("calibrate")(calibrate.calibrate)


def main() -> None:
    app()
