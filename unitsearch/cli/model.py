"""``unitsearch model``: the unit presets and what a spec builds."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import limits
from ..models import build_resnet, count_macs, count_params
from ..render import Format, render
from ..units import preset_name, resolve_unit
from .units import list_presets

app = typer.Typer(help="Unit presets and the networks they build.", no_args_is_help=True)


def _emit(rows: list[dict], fmt: Format, title: str) -> None:
    text = render(rows, fmt, title=title)
    if text is not None:
        typer.echo(text.rstrip("\n"))


# The same command as `unitsearch units list`, kept under `model` for existing scripts.
app.command("presets")(list_presets)


@app.command("describe")
def describe(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help="Preset name or canonical form; repeatable.")] = ["full_preact"],  # noqa: B006
    depth: Annotated[int, typer.Option(help="6n+2 (basic) or 9n+2 (bottleneck).")] = 110,
    width: Annotated[int, typer.Option(help="Channels of the first stage.")] = 16,
    bottleneck: Annotated[bool, typer.Option("--bottleneck/--basic", help="Bottleneck (1x1-3x3-1x1) units.")] = False,
    classes: Annotated[int, typer.Option(help="Number of classes.")] = 10,
    image_size: Annotated[int, typer.Option(help="Input height and width, for the MAC count.")] = 32,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TABLE,
) -> None:
    """Build each unit's ResNet and print its form, parameters and conv MACs."""
    limits.check_network(depth, width, bottleneck=bottleneck, num_classes=classes)  # before any network is built
    limits.check_image(image_size, width)
    rows = []
    for text in unit:
        spec = resolve_unit(text)
        model = build_resnet(spec, depth=depth, width=width, bottleneck=bottleneck, num_classes=classes)
        rows.append(
            {
                "preset": preset_name(spec) or "",
                "form": model.spec.form,
                "depth": depth,
                "units": len(model.units),
                "params": count_params(model),
                "MMACs": round(count_macs(model, image_size) / 1e6, 1),
            }
        )
    _emit(rows, fmt, f"ResNet-{depth} ({'bottleneck' if bottleneck else 'basic'}, width {width})")
