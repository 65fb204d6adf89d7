"""One network trained outside any study: a unit and a profile in, a result with its config out.

It builds the model and the data the way a study's trial does (data seed 0,
``torch.manual_seed(seed)`` before the model is built), so ``unitsearch train --seed S``
trains what a study's trial of the same design, seed, profile and settings trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from ..data import FolderData, ImageData, load_data
from ..models import ResNetConfig, build_resnet, count_params
from ..units import UnitSpec, preset_name, resolve_unit
from .config import TrainConfig, get_profile
from .device import device_name
from .loop import EpochMetrics, TrainResult, train

__all__ = ["SingleRun", "prepare_run"]


@dataclass
class SingleRun:
    """A built network, its data on the device and the recipe, ready to train once."""

    spec: UnitSpec
    profile: str
    net: ResNetConfig
    model: nn.Module
    data: ImageData | FolderData
    config: TrainConfig

    def train(self, callback: Callable[[EpochMetrics], None] | None = None) -> TrainResult:
        """Train the network; ``callback`` sees every epoch's metrics."""
        return train(self.model, self.data, self.config, callback=callback)

    def record(self, result: TrainResult) -> dict[str, Any]:
        """The result with everything that produced it: unit, net, data, device and recipe."""
        data = self.data
        return {
            **asdict(result),
            "unit": self.spec.form,
            "preset": preset_name(self.spec) or "",
            "profile": self.profile,
            "net": {"arch": self.net.arch.value, "depth": self.net.depth, "width": self.net.width, "bottleneck": self.net.bottleneck,
                    "params": count_params(self.model)},
            "data": {"name": data.name, "image_size": data.image_size, "train_size": data.n_train, "val_size": data.n_val,
                     "test_size": data.n_test, "fingerprint": data.fingerprint},
            "device": device_name(data.device),
            "config": self.config.to_dict(),
        }


def prepare_run(
    unit: str | UnitSpec,
    *,
    profile: str = "cpu",
    device: torch.device | str = "cpu",
    depth: int | None = None,
    width: int | None = None,
    bottleneck: bool | None = None,
    arch: str | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    train_size: int | None = None,
    image_size: int | None = None,
    **overrides: Any,
) -> SingleRun:
    """Resolve the unit, build the network and load the data; every bad input fails here, before training.

    Args:
        unit: A preset name, a canonical form or a spec.
        profile: The fidelity whose network, data sizes and recipe are the defaults.
        device: Where the data and the network live.
        depth: Network depth (None: the profile's).
        width: First-stage channels (None: the profile's).
        bottleneck: Bottleneck units (None: the profile's; the ImageNet layout takes it from the depth).
        arch: ``cifar`` or ``imagenet`` network layout (None: the profile's).
        data: ``synthetic``, ``cifar10``, ``cifar100`` or ``imagefolder`` (None: the profile's).
        data_dir: Folder holding the CIFAR files, or an image folder's ``train/`` and ``val/``.
        download: Download CIFAR into ``data_dir`` when it is missing.
        train_size: Training images (None: the profile's).
        image_size: Image height and width (None: the profile's).
        **overrides: :class:`TrainConfig` fields (``epochs``, ``seed``, ``lr`` ...); None leaves the profile's.

    Returns:
        The run, not yet trained.
    """
    spec = unit if isinstance(unit, UnitSpec) else resolve_unit(unit)
    prof = get_profile(profile)
    cfg = prof.train_config(**{k: v for k, v in overrides.items() if v is not None})
    net = ResNetConfig(
        depth=prof.depth if depth is None else depth,
        width=prof.width if width is None else width,
        bottleneck=prof.bottleneck if bottleneck is None else bottleneck,
        arch=prof.arch if arch is None else arch,
    )
    net.stages(spec.expanded(net.bottleneck).n_convs)  # a bad depth is an error now, not after the data has loaded
    # Data seed 0, as in a study: the seed varies the initialisation and the batch order, not the images.
    images = load_data(
        data or prof.dataset, data_dir=data_dir, download=download,
        image_size=prof.image_size if image_size is None else image_size,
        train_size=prof.train_size if train_size is None else train_size, val_size=prof.val_size,
    ).to(device)
    net = replace(net, num_classes=images.num_classes)
    torch.manual_seed(cfg.seed)
    model = build_resnet(spec, net).to(device)
    return SingleRun(spec=spec, profile=prof.name, net=net, model=model, data=images, config=cfg)
