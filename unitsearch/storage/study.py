"""A study's own record, and what makes two runs one experiment.

The experiment is the settings that shape every trial's training, and the factors' choices
and ranges. A study is resumed only when they are equal, because its leaderboard and its
paired tests compare trials as if they were trained alike. A setting counts wherever the
space file gives it: ``lr = 0.05`` under ``[factors]`` shapes training exactly as it does
under ``[train]``, and ``arch = "imagenet"`` the network as ``depth = 8`` does. A factor's
list of choices (the units to compare among them) or its range is part of it too: Optuna
records it with every trial and refuses a trial whose choices differ ("CategoricalDistribution
does not support dynamic value space"), so another list is another study (``--study NAME``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import optuna

from ..train import TrainConfig
from ..train.setup import NET_SETTINGS

__all__ = ["experiment", "describe", "difference", "StoredStudy", "write_study", "read_study", "record_array"]

_TRAIN = {f.name for f in dataclasses.fields(TrainConfig)} - {"seed"}


def _same_number(value: Any) -> Any:
    """``2`` and ``2.0`` train the same network: compare them as one value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def experiment(space: dict[str, Any], data: str) -> dict[str, Any]:
    """The settings of a stored space (``SearchSpace.to_dict()``) that every trial is trained with.

    Returns:
        ``{"profile", "data", "train", "network", "factors"}``: ``train`` merges ``[train]``
        with the fixed training factors, ``network`` holds the fixed network factors
        (depth, width, bottleneck, arch), and ``factors`` every list of choices and every
        range, in file order.
    """
    train = {k: _same_number(v) for k, v in (space.get("train") or {}).items()}
    network, factors = {}, {}
    for name, value in (space.get("factors") or {}).items():
        if isinstance(value, list):
            factors[name] = [_same_number(v) for v in value]
        elif isinstance(value, dict):
            factors[name] = value  # a range: {"low", "high", "log", "integer"}
        elif name in _TRAIN:
            train[name] = _same_number(value)
        elif name in NET_SETTINGS:
            network[name] = _same_number(value)
    return {"profile": space.get("profile"), "data": data, "train": train, "network": network, "factors": factors}


_LABELS = (("profile", "profile"), ("data", "data"), ("train", "train overrides"), ("network", "network"), ("factors", "factors"))


def describe(settings: dict[str, Any]) -> str:
    """One phrase: ``profile cpu, data synthetic, train overrides {'lr': 0.05}, factors {'unit': [...]}``.

    Only the parts ``settings`` holds; an empty table reads ``no train overrides``.
    """
    parts = []
    for key, label in _LABELS:
        if key not in settings:
            continue
        value = settings[key]
        if isinstance(value, dict):
            parts.append(f"{label} {value}" if value else f"no {label}")
        else:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def difference(before: dict[str, Any], now: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts of two :func:`experiment` settings that differ, each side's own (entries of a table that differ)."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    for key, _ in _LABELS:
        x, y = before.get(key), now.get(key)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            keys = [k for k in dict.fromkeys([*x, *y]) if x.get(k) != y.get(k)]
            a[key], b[key] = {k: x[k] for k in keys if k in x}, {k: y[k] for k in keys if k in y}
        else:
            a[key], b[key] = x, y
    return a, b


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
        slurm_arrays: The Slurm job arrays ``unitsearch slurm`` submitted for it
            (:func:`record_array`), which ``--status`` lists.
    """

    name: str
    space: dict[str, Any] | None = None
    data: str | None = None
    baseline: str | None = None
    n_planned: int | None = None
    numerics: str | None = None
    slurm_arrays: tuple[str, ...] = ()


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
        slurm_arrays=tuple(str(j) for j in a.get("slurm_arrays") or ()),
    )


def record_array(study: optuna.Study, job_id: str) -> None:
    """Add a Slurm array submitted for ``study`` to its ``slurm_arrays``."""
    study.set_user_attr("slurm_arrays", [*read_study(study).slurm_arrays, job_id])
