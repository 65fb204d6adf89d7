"""The whole space file checked before a study is created: types, ranges, keys, sizes.

:func:`check_tables` runs on the parsed TOML before anything is read from it, and
:func:`check_space` on the :class:`SearchSpace`, so that every mistake fails in one
line that names the file and the key, before a network is built or a trial queued:

* the shape of each top-level entry (a table, a list of seeds, a profile name);
* seeds in [0, 2^63) and a grid of at most :data:`~unitsearch.limits.MAX_PLAN` pairs,
  counted from the lengths of the factor lists, never by building the grid;
* network factors (``depth``, ``width``, ``bottleneck``) of the right type and range,
  every depth valid for every unit type it meets, and ranges only on numeric training
  settings;
* two values of one factor that mean the same design (a preset and its canonical form,
  ``2`` and ``2.0``) are refused: they would be two cells training one design;
* the sampler's and the pruner's keys, for every sampler, by the constructors' own
  signatures (a sampler setting also by the type they annotate it with), and the
  ``[prefilter]`` table; a ``random_unique`` sampler needs a finite space of at least
  ``n_trials`` designs.
"""

from __future__ import annotations

import inspect
import itertools
import math
from typing import Any

import optuna

from .. import limits
from ..errors import UserError
from ..train import TrainConfig, get_profile
from .space import UNIT_FACTORS, Range, SearchSpace, _where

__all__ = ["check_tables", "check_space", "check_run_numbers"]

_TABLES = ("factors", "train", "sampler", "pruner", "prefilter")
_INT_TRAIN = {"epochs", "batch_size", "eval_batch_size", "check_every", "warmup_iters"}
_NUMERIC_TRAIN = _INT_TRAIN | {"lr", "momentum", "weight_decay", "warmup_lr", "divergence_factor"}
_PRUNER_CLASSES = {
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "wilcoxon": optuna.pruners.WilcoxonPruner,
}
_PREFILTER = {"min_grad_ratio": (0.0, 1.0)}  # a fraction of the gradient; 0 would skip nothing


def check_tables(data: dict[str, Any], path: str) -> None:
    """The shape of the top-level entries, before any of them is read."""
    for key in _TABLES:
        if key in data and not isinstance(data[key], dict):
            raise UserError(f"{_where(path, key)} must be a table ([{key}])")
    for key in ("profile", "description"):
        if key in data and not isinstance(data[key], str):
            raise UserError(f"{_where(path, key)} must be a string, got {data[key]!r}")
    seeds = data.get("seeds", [0])
    if isinstance(seeds, list):
        for s in seeds:
            if isinstance(s, int) and not isinstance(s, bool) and not 0 <= s <= limits.MAX_SEED:
                raise UserError(f"{_where(path, 'seeds')}: seed {s} is out of range; allowed: whole numbers in [0, 2^63 - 1]")
    workers = data.get("workers", 1)
    if isinstance(workers, int) and not isinstance(workers, bool) and workers > limits.MAX_LOCAL_WORKERS:
        raise UserError(f"{_where(path, 'workers')}: at most {limits.MAX_LOCAL_WORKERS} local workers, got {workers}")
    for name, raw in (data.get("factors") or {}).items():
        values = raw if isinstance(raw, list) else [raw]
        for v in values:
            if isinstance(v, (list, dict)) and isinstance(raw, list):
                raise UserError(f"{_where(path, 'factors.' + name)}: a list holds plain values, got {v!r}")
            if not isinstance(v, (str, int, float, bool, dict)):
                raise UserError(f"{_where(path, 'factors.' + name)}: expected a string, number or true/false, got {v!r}")
        if isinstance(raw, dict):
            for key in ("low", "high"):
                v = raw.get(key)
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                    raise UserError(f"{_where(path, f'factors.{name}.{key}')}: expected a finite number, got {v!r}")
            for key in ("log", "int"):
                if key in raw and not isinstance(raw[key], bool):
                    raise UserError(f"{_where(path, f'factors.{name}.{key}')}: expected true or false, got {raw[key]!r}")


def check_space(space: SearchSpace) -> None:
    """Everything about a parsed space that :func:`parse_space` does not check itself."""
    _check_plan_size(space)
    _check_network(space)
    _check_ranges(space)
    _check_same_design(space)
    _check_sampler(space)
    _check_pruner(space)
    _check_prefilter(space)


def _check_plan_size(space: SearchSpace) -> None:
    if not space.is_grid:
        n = space.sampler.get("n_trials")
        limits.whole(f"{_where(space.path, 'sampler.n_trials')}", n, 1, limits.MAX_PLAN)
        return
    cells = math.prod(len(v) for v in space.choices.values())
    if cells * len(space.seeds) > limits.MAX_PLAN:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in space.choices.items())
        raise UserError(
            f"{_where(space.path, 'factors')}: the grid has {sizes} x {len(space.seeds)} seeds = {cells * len(space.seeds):,} trials; "
            f"at most {limits.MAX_PLAN:,}: list fewer values, or sample the space ([sampler] name = 'tpe' with n_trials)"
        )


def _levels(space: SearchSpace, name: str, default: Any) -> list[Any]:
    value = space.factors.get(name, default)
    return value if isinstance(value, list) else [value]


def _check_network(space: SearchSpace) -> None:
    profile = get_profile(space.profile)
    for name in ("depth", "width", "bottleneck"):
        if isinstance(space.factors.get(name), Range):
            raise UserError(f"{_where(space.path, 'factors.' + name)}: a range is allowed only for numeric training settings; list the values")
    for name in UNIT_FACTORS:
        if isinstance(space.factors.get(name), Range):
            raise UserError(f"{_where(space.path, 'factors.' + name)}: a unit part is a list of values, not a range")
    for b in _levels(space, "bottleneck", profile.bottleneck):
        if not isinstance(b, bool):
            raise UserError(f"{_where(space.path, 'factors.bottleneck')}: expected true or false, got {b!r}")
    for name, low, high in (("depth", 1, limits.MAX_DEPTH), ("width", 1, limits.MAX_WIDTH)):
        for v in _levels(space, name, getattr(profile, name)):
            try:
                limits.whole(name, v, low, high)
            except UserError as e:
                raise UserError(f"{_where(space.path, 'factors.' + name)}: {e}") from None
    from ..models.resnet import ResNetConfig

    combos = itertools.product(*(_levels(space, k, getattr(profile, k)) for k in ("depth", "width", "bottleneck", "arch")))
    for depth, width, bottleneck, arch in combos:
        try:
            ResNetConfig(depth=int(depth), width=int(width), bottleneck=bottleneck, arch=arch).stages()
        except UserError as e:
            raise UserError(f"{_where(space.path, 'factors.depth')}: {e}") from None


def _check_ranges(space: SearchSpace) -> None:
    for name, r in space.factors.items():
        if not isinstance(r, Range) or name in UNIT_FACTORS or name in ("depth", "width", "bottleneck"):
            continue
        where = _where(space.path, "factors." + name)
        if name not in _NUMERIC_TRAIN:
            raise UserError(f"{where}: a range is allowed only for numeric training settings ({', '.join(sorted(_NUMERIC_TRAIN))}); list the values")
        if r.log and r.low <= 0:
            raise UserError(f"{where}: a log range needs low > 0, got {r.low:g}")
        if name in _INT_TRAIN and not (r.integer and float(r.low).is_integer() and float(r.high).is_integer()):
            raise UserError(f"{where}: {name} is a whole number: give whole low and high and int = true")
        for end in (r.low, r.high):
            try:
                TrainConfig(**{name: int(end) if name in _INT_TRAIN else end})
            except UserError as e:
                raise UserError(f"{where}: {e}") from None


def _canonical(space: SearchSpace, name: str, value: Any) -> Any:
    if name in UNIT_FACTORS:
        return space.unit_of({name: value}).form
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _check_same_design(space: SearchSpace) -> None:
    for name, values in space.choices.items():
        seen: dict[Any, Any] = {}
        for v in values:
            key = _canonical(space, name, v)
            if key in seen:
                raise UserError(
                    f"{_where(space.path, 'factors.' + name)}: {seen[key]!r} and {v!r} are the same design ({key}); list it once"
                )
            seen[key] = v


def _options(path: str, section: str, owner: str, cls: type, opts: dict[str, Any]) -> None:
    allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key, value in opts.items():
        where = _where(path, f"{section}.{key}")
        if key not in allowed:
            raise UserError(f"{where} is not a setting of the {owner}; allowed: {', '.join(allowed) or 'none'}")
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{where} must be a finite number, got {value}")


def _check_sampler(space: SearchSpace) -> None:
    name = space.sampler["name"]
    where = _where(space.path, "sampler")
    opts = {k: v for k, v in space.sampler.items() if k not in ("name", "n_trials")}
    if name == "grid":
        extra = sorted(set(space.sampler) - {"name"})
        if extra:
            raise UserError(f"{_where(space.path, 'sampler.' + extra[0])}: the grid sampler takes no settings (every cell is queued); allowed: name")
        return
    from .samplers import make_sampler, sampler_settings

    settings = sampler_settings(name)
    for key, value in opts.items():
        if key not in settings:
            allowed = ", ".join(("name", "n_trials", *settings))
            raise UserError(f"{_where(space.path, 'sampler.' + key)} is not a setting of the {name} sampler; allowed: {allowed}")
        _check_sampler_setting(_where(space.path, "sampler." + key), key, str(settings[key].annotation), value)
    if name == "random_unique":
        _check_finite_space(space)
    try:
        make_sampler(space)
    except (TypeError, ValueError) as e:
        raise UserError(f"{where}: bad {name} sampler settings: {e}") from None


def _check_sampler_setting(where: str, key: str, annotation: str, value: Any) -> None:
    """One setting by the type its constructor annotates: the constructors check none of them."""
    if key == "seed":
        limits.whole(where, value, 0, limits.MAX_SAMPLER_SEED)
    elif "bool" in annotation:
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {value!r}")
    elif "int" in annotation:
        limits.whole(where, value, 1 if key == "n_ei_candidates" else 0, limits.MAX_PLAN)
    elif "float" in annotation:
        limits.number(where, value, -limits.FLOAT32_MAX, limits.FLOAT32_MAX)
    elif isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where} must be a finite number, got {value}")


def _check_finite_space(space: SearchSpace) -> None:
    """Sampling without replacement needs a list of designs to draw from, and enough of them."""
    designs = space.n_cells
    for name, r in space.factors.items():
        if isinstance(r, Range):
            if not r.integer:
                raise UserError(
                    f"{_where(space.path, 'factors.' + name)}: the random_unique sampler draws from a finite space, "
                    "and a float range is not one; list the values, or use [sampler] name = 'random'"
                )
            designs *= int(r.high) - int(r.low) + 1
    n = space.sampler["n_trials"]
    if n > designs:
        raise UserError(
            f"{_where(space.path, 'sampler.n_trials')}: the random_unique sampler draws each design once, "
            f"and the space has {designs:,}; set n_trials to at most {designs:,}"
        )


def _check_pruner(space: SearchSpace) -> None:
    name = space.pruner["name"]
    where = _where(space.path, "pruner")
    opts = {k: v for k, v in space.pruner.items() if k != "name"}
    if name == "none":
        if opts:
            raise UserError(f"{_where(space.path, 'pruner.' + sorted(opts)[0])} is not a setting of pruner 'none'; allowed: name")
        return
    _options(space.path, "pruner", f"{name} pruner", _PRUNER_CLASSES[name], opts)
    from .samplers import make_pruner

    try:
        make_pruner(name, space.pruner, space.max_epochs)
    except (TypeError, ValueError) as e:
        raise UserError(f"{where}: bad {name} pruner settings: {e}") from None


def _check_prefilter(space: SearchSpace) -> None:
    for key, value in space.prefilter.items():
        if key not in _PREFILTER:
            raise UserError(f"{_where(space.path, 'prefilter.' + key)} is unknown; allowed: {', '.join(_PREFILTER)}")
        low, high = _PREFILTER[key]
        limits.number(_where(space.path, "prefilter." + key), value, low, high, low_open=True)


def check_run_numbers(
    space: SearchSpace | None = None,
    *,
    seed_offset: int = 0,
    n_trials: int | None = None,
    timeout: float | None = None,
    threads: int | None = None,
) -> None:
    """The numbers given to ``run`` or ``worker``, before anything is opened or written."""
    limits.whole("--seed-offset", seed_offset, -limits.MAX_SEED, limits.MAX_SEED)
    if space is not None and seed_offset:
        for s in (min(space.seeds), max(space.seeds)):
            if not 0 <= s + seed_offset <= limits.MAX_SEED:
                raise UserError(f"--seed-offset {seed_offset} moves seed {s} to {s + seed_offset}; seeds must stay in [0, 2^63 - 1]")
    if n_trials is not None:
        limits.whole("--n-trials", n_trials, 0, 10**9)
    if timeout is not None:
        limits.number("--timeout (seconds)", timeout, 0.0, 1e9, low_open=True)
    if threads is not None:
        limits.whole("--threads", threads, 1, 4096)
