"""``unitsearch units``: the paper's unit designs, by name and canonical form."""

from __future__ import annotations

import typer

from ..render import Format
from ..units import PRESETS
from .options import FormatOpt
from .output import emit

app = typer.Typer(help="The paper's unit designs (Tables 1, 2 and 3) as named presets.", no_args_is_help=True)


@app.command("list")
def list_presets(fmt: FormatOpt = Format.TABLE) -> None:
    """List the paper's unit designs (Tables 1, 2 and 3) with their canonical forms and reported errors."""
    rows = [
        {"preset": p.name, "form": p.spec.form, "paper": p.table, "paper error %": "fail" if p.fails_in_paper else p.paper_error}
        for p in PRESETS.values()
    ]
    emit(rows, fmt, "Unit presets (CIFAR-10 test error of ResNet-110 in the paper)")
