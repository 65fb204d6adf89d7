"""A study's own record, and what makes two runs one experiment.

The experiment is the settings that shape every trial's training. A study is resumed only
when they are equal, because its leaderboard and its paired tests compare trials as if they
were trained alike. A setting counts wherever the space file gives it: ``lr = 0.05`` under
``[factors]`` shapes training exactly as it does under ``[train]``. A factor listed with
several values is not in here: each value is part of a cell's key, so adding a value adds
cells instead of mixing results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import optuna

from ..train import TrainConfig

__all__ = ["experiment", "describe", "StoredStudy", "write_study", "read_study"]

_TRAIN = {f.name for f in dataclasses.fields(TrainConfig)} - {"seed"}
_NET = ("depth", "width", "bottleneck")


def _same_number(value: Any) -> Any:
    """``2`` and ``2.0`` train the same network: compare them as one value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def experiment(space: dict[str, Any], data: str) -> dict[str, Any]:
    """The settings of a stored space (``SearchSpace.to_dict()``) that every trial is trained with.

    Returns:
        ``{"profile", "data", "train", "network"}``: ``train`` merges ``[train]`` with the
        fixed and ranged training factors, ``network`` holds the fixed depth, width and
        bottleneck factors.
    """
    factors = space.get("factors") or {}
    train = {k: _same_number(v) for k, v in (space.get("train") or {}).items()}
    network = {}
    for name, value in factors.items():
        if isinstance(value, list):
            continue  # part of each cell's key
        if name in _TRAIN:
            train[name] = value if isinstance(value, dict) else _same_number(value)
        elif name in _NET:
            network[name] = _same_number(value)
    return {"profile": space.get("profile"), "data": data, "train": train, "network": network}


def describe(settings: dict[str, Any]) -> str:
    """One phrase: ``profile cpu, data synthetic, train overrides {'lr': 0.05}``."""
    text = f"profile {settings['profile']}, data {settings['data']}"
    if settings["train"]:
        text += f", train overrides {settings['train']}"
    if settings["network"]:
        text += f", network {settings['network']}"
    return text


@dataclass(frozen=True)
class StoredStudy:
    """A study's own user attributes, written once by ``create_study``.

    Attributes:
        space: The parsed space, ``SearchSpace.to_dict()``; workers and reports rebuild it.
        data: The dataset its trials train on (workers and ``verify`` use it).
        baseline: The preset every design is compared with; its trials are never pruned.
        n_planned: The (cell, seed) pairs of a factorial plan, or the sampler's budget.
        numerics: What the process that created it computes with
            (:func:`unitsearch.numerics.describe`); each trial stores its own.
    """

    name: str
    space: dict[str, Any] | None = None
    data: str | None = None
    baseline: str | None = None
    n_planned: int | None = None
    numerics: str | None = None


def write_study(study: optuna.Study, *, space: dict[str, Any], data: str, baseline: str, n_planned: int, numerics: str | None = None) -> None:
    """Store what a study's workers and reports read back with :func:`read_study`."""
    attrs = (("space", space), ("data", data), ("baseline", baseline), ("n_planned", n_planned), ("numerics", numerics))
    for key, value in attrs:
        study.set_user_attr(key, value)


def read_study(study: optuna.Study) -> StoredStudy:
    """The attributes ``write_study`` stored (None where a study lacks one)."""
    a = study.user_attrs
    space = a.get("space")
    return StoredStudy(
        name=study.study_name,
        space=space if isinstance(space, dict) else None,
        data=a.get("data") or None,
        baseline=a.get("baseline") or None,
        n_planned=a.get("n_planned"),
        numerics=a.get("numerics") or None,
    )
