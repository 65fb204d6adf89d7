"""``unitsearch spaces``: the search-space files and what their plans hold."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from ..search import Range, list_spaces, load_space
from ..search.samplers import SAMPLER_HELP
from .options import FormatOpt
from .output import emit

app = typer.Typer(help="Search-space files: list them, show one.", no_args_is_help=True)


@app.command("list")
def list_(fmt: FormatOpt = Format.TABLE) -> None:
    """The built-in spaces, with how many trials each plan holds."""
    rows = []
    for name in list_spaces():
        sp = load_space(name)
        rows.append({
            "space": name, "plan": sp.plan["kind"], "sampler": sp.sampler["name"], "pruner": sp.pruner["name"], "profile": sp.profile,
            "seeds": len(sp.race_seeds if sp.is_race else sp.seeds), "trials": sp.n_trials, "description": sp.description,
        })
    emit(rows, fmt, "Search spaces (run one with `unitsearch run --space NAME`)")


@app.command("show")
def show(
    space: Annotated[str, typer.Argument(help="A built-in space name or a .toml path.")],
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Every factor of a space, and the size of its plan."""
    sp = load_space(space)
    rows = []
    for name, value in sp.factors.items():
        if isinstance(value, list):
            kind, shown = f"choice of {len(value)}", ", ".join(map(str, value))
        elif isinstance(value, Range):
            kind, shown = "range", f"[{value.low:g}, {value.high:g}]" + (" log" if value.log else "")
        else:
            kind, shown = "fixed", str(value)
        rows.append({"factor": name, "kind": kind, "values": shown})
    for name, value in sp.train.items():
        rows.append({"factor": name, "kind": "train (fixed)", "values": str(value)})
    sampler = sp.sampler["name"]
    settings = ", ".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in sp.sampler.items() if k != "name")
    rows.append({"factor": "sampler", "kind": sampler, "values": f"{sampler}: {SAMPLER_HELP[sampler]}" + (f"; {settings}" if settings else "")})
    cells = sp.n_cells if sp.is_grid else None
    if sp.is_race:
        p = sp.plan
        size = (
            f"a race over {cells if sp.is_grid else sp.sampler['n_trials']} {'cells' if sp.is_grid else 'sampled designs'}: {p['min_seeds']} to "
            f"{p['max_seeds']} seeds each, at most {sp.n_trials} trials; {p['test']} test at alpha {p['alpha']}, protected: baseline, {', '.join(p['protect']) or 'none'}"
        )
    else:
        size = f"{cells} cells x {len(sp.seeds)} seeds = {sp.n_trials} trials" if sp.is_grid else f"{sp.n_trials} sampled trials"
    title = f"{sp.name}: {sp.description}. Profile {sp.profile}, seeds {sp.seeds}, sampler {sp.sampler['name']}, pruner {sp.pruner['name']}; {size}"
    emit(rows, fmt, title)
