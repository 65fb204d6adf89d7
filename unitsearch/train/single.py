"""One network trained outside any study: a unit and a profile in, a result with its config out.

It sets up (:func:`~unitsearch.train.setup.setup_trial`) and builds the model and the data
the way a study's trial does (data seed 0, ``torch.manual_seed(seed)`` before the model is
built), so ``unitsearch train --seed S`` trains what a study's trial of the same design,
seed, profile and settings trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .. import numerics
from ..data import FolderData, ImageData
from ..models import ResNetConfig, build_resnet, count_params
from ..units import UnitSpec, preset_name, resolve_unit
from .config import TrainConfig
from .device import device_name
from .loop import EpochMetrics, TrainResult, train
from .setup import setup_trial

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
            "numerics": numerics.describe(data.device.type),
            "config": self.config.to_dict(),
        }


def prepare_run(
    unit: str | UnitSpec,
    *,
    profile: str = "cpu",
    device: torch.device | str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    **settings: Any,
) -> SingleRun:
    """Resolve the unit, build the network and load the data; every bad input fails here, before training.

    Args:
        unit: A preset name, a canonical form or a spec.
        profile: The fidelity whose network, data sizes and recipe are the defaults.
        device: Where the data and the network live.
        data_dir: Folder holding the CIFAR files, or an image folder's ``train/`` and ``val/``.
        download: Download CIFAR into ``data_dir`` when it is missing.
        **settings: What :func:`~unitsearch.train.setup.setup_trial` takes in place of the
            profile's: ``depth``, ``width``, ``bottleneck``, ``arch``, ``data``, ``image_size``,
            ``train_size`` and :class:`TrainConfig` fields (``epochs``, ``seed``, ``lr`` ...);
            None leaves the profile's.

    Returns:
        The run, not yet trained.
    """
    spec = unit if isinstance(unit, UnitSpec) else resolve_unit(unit)
    setup = setup_trial(spec, profile, **settings)
    images = setup.data.load(data_dir=data_dir, download=download).to(device)
    net = setup.network(images.num_classes)
    torch.manual_seed(setup.config.seed)
    model = build_resnet(spec, net).to(device)
    return SingleRun(spec=spec, profile=setup.profile, net=net, model=model, data=images, config=setup.config)
