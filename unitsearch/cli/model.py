"""``unitsearch model``: the network a unit design builds (``unitsearch units list`` names the presets)."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import limits
from ..models import Arch, ResNetConfig, build_resnet, count_macs, count_params
from ..render import Format
from ..units import preset_name, resolve_unit
from .options import FormatOpt
from .output import emit

app = typer.Typer(help="The networks unit designs build: parameters and MACs.", no_args_is_help=True)


@app.command("describe")
def describe(
    unit: Annotated[list[str], typer.Option("--unit", "-u", help="Preset name or canonical form; repeatable.")] = ["full_preact"],  # noqa: B006
    depth: Annotated[int, typer.Option(help="cifar: 6n+2 (basic), 9n+2 (bottleneck), 3n+2 (1-conv units); imagenet: 18, 34, 50, 101, 152, 200.")] = 110,
    width: Annotated[int | None, typer.Option(min=1, help="Channels of the first stage (default: 16 for cifar, 64 for imagenet).")] = None,
    bottleneck: Annotated[bool, typer.Option("--bottleneck/--basic", help="Bottleneck (1x1-3x3-1x1) units; imagenet: set by the depth.")] = False,
    classes: Annotated[int | None, typer.Option(min=1, help="Number of classes (default: 10 for cifar, 1000 for imagenet).")] = None,
    image_size: Annotated[int | None, typer.Option(min=8, help="Input height and width, for the MAC count (default: 32 for cifar, 224 for imagenet).")] = None,
    arch: Annotated[Arch, typer.Option("--arch", help="Network layout: cifar (3x3 stem, 3 stages) or imagenet (7x7 stem + max pool, 4 stages).")] = Arch.CIFAR,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Build each unit's ResNet and print its form, parameters and conv MACs."""
    imagenet = arch is Arch.IMAGENET
    width = width or (64 if imagenet else 16)
    classes = classes or (1000 if imagenet else 10)
    image_size = image_size or (224 if imagenet else 32)
    net = ResNetConfig(depth=depth, width=width, bottleneck=bottleneck, num_classes=classes, arch=arch)
    limits.check_image(image_size, width)
    rows = []
    for text in unit:
        spec = resolve_unit(text)
        model = build_resnet(spec, net)
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
    emit(rows, fmt, f"ResNet-{depth} ({arch.value}, {'bottleneck' if net.bottleneck else 'basic'}, width {width}, {image_size}x{image_size})")
