"""One trial's setup: a unit, a profile and its overrides become a network, a recipe and a dataset.

``unitsearch train``, a study's trial and ``verify``'s re-runs all start here, so a network
trained by hand with ``--seed S`` is the network a study trains for the same design, seed,
profile and settings. Nothing is built or loaded yet: :func:`setup_trial` only decides, and
every bad setting fails in it, before any data is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import FolderData, ImageData, load_data
from ..errors import UserError
from ..models import Arch, ResNetConfig
from ..units import UnitSpec
from .config import TrainConfig, Warmup, get_profile

__all__ = ["NET_SETTINGS", "DATA_SETTINGS", "TRAIN_SETTINGS", "data_request", "DataRequest", "TrialSetup", "setup_trial", "paper_warmup"]

NET_SETTINGS = ("depth", "width", "bottleneck", "arch")
DATA_SETTINGS = ("data", "image_size", "train_size")
TRAIN_SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclass(frozen=True)
class DataRequest:
    """Which images a trial trains on; equal requests load equal data (data seed 0)."""

    name: str
    image_size: int
    train_size: int | None
    val_size: int | None

    def load(self, *, data_dir: str | Path | None = None, download: bool = False) -> ImageData | FolderData:
        """The dataset on the CPU (move it with ``.to(device)``). The seed varies the network, not the images."""
        return load_data(
            self.name, data_dir=data_dir, download=download, image_size=self.image_size, train_size=self.train_size, val_size=self.val_size
        )


@dataclass(frozen=True)
class TrialSetup:
    """Everything that decides what one training run computes, before anything is built."""

    spec: UnitSpec
    profile: str
    net: ResNetConfig  # its ``num_classes`` is the data's: see :meth:`network`
    config: TrainConfig  # warm-up decided: ``on`` or ``off``, never ``auto``
    data: DataRequest

    def network(self, num_classes: int) -> ResNetConfig:
        """The network config for data of ``num_classes`` classes."""
        return dataclasses.replace(self.net, num_classes=num_classes)


def paper_warmup(spec: UnitSpec, net: ResNetConfig) -> bool:
    """The paper warms up its deep original nets at lr 0.01 (Sec. 4.1 footnote): CIFAR, depth >= 110, no pre-activation.

    Pre-activation units need no warm-up, and the ImageNet nets train from lr 0.1 directly.
    """
    return net.arch is Arch.CIFAR and not spec.preact and net.depth >= 110


def _net_value(name: str, value: Any) -> Any:
    """A network setting as its type: a space file may give ``depth = 32.0`` (``arch`` is parsed by ResNetConfig)."""
    kind = {"depth": int, "width": int, "bottleneck": bool}.get(name)
    if kind is None:
        return value
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"bad {name} {value!r}: expected a {kind.__name__}") from None


def setup_trial(spec: UnitSpec, profile: str, **settings: Any) -> TrialSetup:
    """The setup of training ``spec`` at ``profile`` with ``settings`` in place of the profile's.

    Args:
        spec: The unit.
        profile: The fidelity profile whose network, data and recipe are the defaults.
        **settings: Network settings (``depth``, ``width``, ``bottleneck``, ``arch``), data
            settings (``data``, ``image_size``, ``train_size``) and :class:`TrainConfig` fields
            (``seed``, ``epochs``, ``lr`` ...). None leaves the profile's value.

    Raises:
        UserError: An unknown setting (naming the allowed ones), a bad value, or a depth the
            unit cannot be built at.
    """
    prof = get_profile(profile)
    settings = {k: v for k, v in settings.items() if v is not None}
    unknown = sorted(set(settings) - {*NET_SETTINGS, *DATA_SETTINGS, *TRAIN_SETTINGS})
    if unknown:
        allowed = ", ".join([*NET_SETTINGS, *DATA_SETTINGS, *sorted(TRAIN_SETTINGS)])
        raise UserError(f"unknown setting {unknown[0]!r}; allowed: {allowed}")
    net = ResNetConfig(**{k: _net_value(k, settings.get(k, getattr(prof, k))) for k in NET_SETTINGS})
    net.stages(spec.expanded(net.bottleneck).n_convs)  # a bad depth is an error now, not after the data has loaded
    config = prof.train_config(**{k: v for k, v in settings.items() if k in TRAIN_SETTINGS})
    if config.warmup is Warmup.AUTO:
        config = dataclasses.replace(config, warmup=Warmup.ON if paper_warmup(spec, net) else Warmup.OFF)
    data = data_request(profile, **{k: v for k, v in settings.items() if k in DATA_SETTINGS})
    return TrialSetup(spec=spec, profile=prof.name, net=net, config=config, data=data)


def data_request(profile: str, *, data: str | None = None, image_size: int | None = None, train_size: int | None = None) -> DataRequest:
    """The images a trial of ``profile`` trains on, with the given settings in place of the profile's."""
    prof = get_profile(profile)
    return DataRequest(
        name=str(data if data is not None else prof.dataset),
        image_size=int(image_size if image_size is not None else prof.image_size),
        train_size=train_size if train_size is not None else prof.train_size,
        val_size=prof.val_size,
    )
