"""Search-space files: what to vary, how to search it, at which fidelity.

A space is a TOML file in ``search_spaces/`` (found by name) or anywhere (by path)::

    description = "Every row of the paper's Tables 1 and 2"
    profile = "cpu"                      # a fidelity profile (unitsearch.train.PROFILES)
    seeds = [0, 1, 2, 3]                 # every design is trained once per seed
    workers = 2                          # local worker processes `run` starts by default

    [factors]                            # a value is fixed, a list is a choice,
    unit = ["original", "full_preact"]   # {low, high, log} is a range (sampled spaces only)
    depth = 56

    [train]                              # fixed TrainConfig settings
    epochs = 8

    [sampler]                            # "grid" enumerates the plan; tpe | random | gp | random_unique
    name = "grid"                        # | evolution | local sample it (samplers.SAMPLER_HELP), with n_trials

    [pruner]                             # median | hyperband | successive_halving | wilcoxon | none
    name = "hyperband"
    min_resource = 1

    [prefilter]                          # used by `run --prefilter`
    min_grad_ratio = 1e-3

    [plan]                               # "grid": every design on every seed (the default);
    kind = "race"                        # "race": seeds go to the designs still in contention
    min_seeds = 2                        # every design's first seeds
    max_seeds = 10                       # default: all of `seeds`; protected designs get them all
    alpha = 0.1                          # elimination level of the one-sided paired test
    test = "t"                           # t | wilcoxon
    protect = ["full_preact"]            # never eliminated, besides the study's baseline
    max_trials = 100                     # optional budget

Factors: ``unit`` (preset names or canonical forms), or its parts ``h``, ``f`` and
``branch`` (or ``branch_pre``/``branch_mid``/``branch_post``: the ops before, between
and after the two convs); ``depth``, ``width``, ``bottleneck``, ``arch`` (cifar or imagenet); any TrainConfig field.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..models import parse_arch
from ..train import PROFILES, TrainConfig
from ..units import SpecError, UnitSpec, resolve_unit
from ..units.spec import Shortcut

__all__ = [
    "Range", "SearchSpace", "load_space", "list_spaces", "parse_space", "space_from_dict", "SAMPLERS", "PRUNERS", "PLANS",
    "UNIT_FACTORS", "UNIT_PARTS", "BRANCH_PARTS",
]

SAMPLERS = ("grid", "tpe", "random", "gp", "random_unique", "evolution", "local")  # each explained in samplers.SAMPLER_HELP
PLANS = ("grid", "race")
_PLAN_KEYS = ("kind", "min_seeds", "max_seeds", "alpha", "test", "protect", "max_trials")
PRUNERS = ("median", "hyperband", "successive_halving", "wilcoxon", "none")
BRANCH_PARTS = ("branch_pre", "branch_mid", "branch_post")  # the ops before, between and after the two convs
UNIT_PARTS = ("h", "f", "branch", *BRANCH_PARTS)  # a unit given by its parts
UNIT_FACTORS = ("unit", *UNIT_PARTS)  # every factor that names the unit, not the network or its training
_NET = ("depth", "width", "bottleneck", "arch")
_TRAIN = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "seed")
FACTORS = (*UNIT_FACTORS, *_NET, *_TRAIN)
_TOP_KEYS = ("description", "profile", "seeds", "workers", "factors", "train", "sampler", "pruner", "prefilter", "plan")


@dataclass(frozen=True)
class Range:
    """A numeric range a sampler draws from."""

    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclass
class SearchSpace:
    """A parsed space file."""

    name: str
    path: str
    description: str
    profile: str
    seeds: list[int]
    factors: dict[str, Any]  # name -> fixed value, list of choices, or Range
    train: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=lambda: {"name": "grid"})
    pruner: dict[str, Any] = field(default_factory=lambda: {"name": "median"})
    prefilter: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    plan: dict[str, Any] = field(default_factory=lambda: {"kind": "grid"})

    @property
    def is_grid(self) -> bool:
        """Every design is enumerated (the grid sampler), not sampled."""
        return self.sampler["name"] == "grid"

    @property
    def is_race(self) -> bool:
        """Seeds go to the designs still in contention (:mod:`unitsearch.search.race`)."""
        return self.plan.get("kind") == "race"

    @property
    def race_seeds(self) -> list[int]:
        """The seeds a race gives out, in order: the first ``max_seeds`` of ``seeds``."""
        return self.seeds[: int(self.plan.get("max_seeds") or len(self.seeds))]

    @property
    def choices(self) -> dict[str, list[Any]]:
        """The factors that vary by choice, in file order."""
        return {k: v for k, v in self.factors.items() if isinstance(v, list)}

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: v for k, v in self.factors.items() if not isinstance(v, (list, Range))}

    def cells(self) -> list[dict[str, Any]]:
        """Every combination of the choices (grid spaces), each a dict of factor values."""
        names = list(self.choices)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.choices.values())]

    @property
    def n_trials(self) -> int:
        """Trials in the plan: cells x seeds for grids, the sampler's budget otherwise.

        For a race, the most it can take: every design on every seed (or its ``max_trials``).
        """
        if not self.is_grid:
            n = int(self.sampler["n_trials"]) * (len(self.race_seeds) if self.is_race else 1)
        else:
            n = self.n_cells * len(self.race_seeds if self.is_race else self.seeds)
        return min(n, int(self.plan.get("max_trials") or n))

    @property
    def max_epochs(self) -> int:
        """The most epochs a trial trains: the factor's highest level, ``[train]``'s, or the profile's."""
        epochs = self.factors.get("epochs", self.train.get("epochs", PROFILES[self.profile].train_config().epochs))
        if isinstance(epochs, Range):
            return int(epochs.high)
        return int(max(epochs) if isinstance(epochs, list) else epochs)

    @property
    def n_cells(self) -> int:
        """Cells of the grid, from the lengths of the factor lists (the grid is not built)."""
        return math.prod(len(v) for v in self.choices.values())

    def unit_of(self, values: dict[str, Any]) -> UnitSpec:
        """The unit spec that a cell's (or a sampled trial's) factor values name."""
        v = {**self.fixed, **values}
        if "unit" in v:
            return resolve_unit(str(v["unit"]))
        if "branch" in v:
            branch = str(v["branch"])
        else:
            pre, mid, post = (_ops(v.get(k, "")) for k in BRANCH_PARTS)
            branch = "-".join(p for p in (pre, "conv", mid, "conv", post) if p)
        return UnitSpec.parse(f"h={v.get('h', 'identity')};branch={branch};f={v.get('f', 'id')}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["factors"] = {k: (dataclasses.asdict(v) if isinstance(v, Range) else v) for k, v in self.factors.items()}
        return d


def _ops(text: Any) -> str:
    text = str(text).strip().lower()
    return "" if text in ("", "id", "none", "-") else text


def _where(path: str, key: str) -> str:
    return f"search space {Path(path).name}: key {key!r}"


def _parse_factor(path: str, name: str, raw: Any) -> Any:
    if name not in FACTORS:
        raise UserError(f"{_where(path, 'factors.' + name)} is not a factor; allowed: {', '.join(FACTORS)}")
    if isinstance(raw, dict):
        unknown = set(raw) - {"low", "high", "log", "int"}
        if unknown or not {"low", "high"} <= set(raw):
            raise UserError(f"{_where(path, 'factors.' + name)}: a range is {{low = ..., high = ..., log = false, int = false}}")
        if not raw["low"] < raw["high"]:
            raise UserError(f"{_where(path, 'factors.' + name)}: low must be below high")
        return Range(float(raw["low"]), float(raw["high"]), bool(raw.get("log", False)), bool(raw.get("int", False)))
    if isinstance(raw, list):
        if not raw:
            raise UserError(f"{_where(path, 'factors.' + name)}: an empty list; give at least one value")
        if len(set(map(str, raw))) != len(raw):
            raise UserError(f"{_where(path, 'factors.' + name)}: a value is listed twice")
        return list(raw)
    return raw


def _check(space: SearchSpace) -> None:
    """Validate every value now, so a bad file fails before anything is written."""
    path, f = space.path, space.factors
    if "unit" in f and any(k in f for k in UNIT_PARTS):
        raise UserError(f"{_where(path, 'factors')}: give 'unit' or its parts ({', '.join(UNIT_PARTS)}), not both")
    if "branch" in f and any(k in f for k in BRANCH_PARTS):
        raise UserError(f"{_where(path, 'factors')}: give 'branch' or 'branch_pre/mid/post', not both")
    for name, value in f.items():
        values = value if isinstance(value, list) else [value]
        try:
            if name == "unit":
                for v in values:
                    resolve_unit(str(v))
            elif name == "h":
                for v in values:
                    Shortcut.parse(str(v))
            elif name in ("f", "branch", *BRANCH_PARTS):
                for v in values:
                    _probe_unit(name, v)
            elif name == "arch":
                for v in values:
                    parse_arch(str(v))
            elif name in _TRAIN and not isinstance(value, Range):
                for v in values:
                    TrainConfig(**{name: v})
        except UserError as e:
            raise UserError(f"{_where(path, 'factors.' + name)}: {e}") from None
        if isinstance(value, Range) and space.is_grid:
            raise UserError(f"{_where(path, 'factors.' + name)}: a range needs a sampler; set [sampler] name to 'tpe' or 'random', or list values")


def _probe_unit(name: str, value: Any) -> None:
    """Parse one value of a unit part inside an otherwise plain unit, to check it."""
    if name == "f":
        UnitSpec.parse(f"h=identity;branch=conv-conv;f={value}")
    elif name == "branch":
        UnitSpec.parse(f"h=identity;branch={value};f=id")
    else:
        ops = _ops(value)
        if "conv" in ops:
            raise SpecError(f"op 'conv' is not allowed in {name}; allowed: bn, relu")
        UnitSpec.parse(f"h=identity;branch={'-'.join(p for p in (ops, 'conv', 'conv') if p)};f=id")


def _section(path: str, data: dict[str, Any], key: str, allowed_names: tuple[str, ...], default: str) -> dict[str, Any]:
    raw = data.get(key, {})
    if not isinstance(raw, dict):
        raise UserError(f"{_where(path, key)} must be a table ([{key}])")
    out = {"name": default, **raw}
    if out["name"] not in allowed_names:
        raise UserError(f"{_where(path, key + '.name')}: unknown {key} {out['name']!r}; allowed: {', '.join(allowed_names)}")
    return out


def _plan(path: str, data: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    raw = data.get("plan", {})
    if not isinstance(raw, dict):
        raise UserError(f"{_where(path, 'plan')} must be a table ([plan])")
    unknown = sorted(set(raw) - set(_PLAN_KEYS))
    if unknown:
        raise UserError(f"{_where(path, 'plan.' + unknown[0])} is unknown; allowed: {', '.join(_PLAN_KEYS)}")
    plan = {"kind": "grid", **raw}
    if plan["kind"] not in PLANS:
        raise UserError(f"{_where(path, 'plan.kind')}: unknown plan {plan['kind']!r}; allowed: {', '.join(PLANS)}")
    if plan["kind"] == "grid":
        extra = sorted(set(raw) - {"kind"})
        if extra:
            raise UserError(f"{_where(path, 'plan.' + extra[0])} applies to a race only; set plan.kind = \"race\" or remove it")
        return plan
    from .race import RACE_TESTS

    def whole(key: str, low: int, high: int, default: int | None) -> int | None:
        value = plan.get(key, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise UserError(f"{_where(path, 'plan.' + key)}: expected a whole number from {low} to {high}, got {value!r}")
        return value

    plan["max_seeds"] = whole("max_seeds", 2, len(seeds), len(seeds))
    plan["min_seeds"] = whole("min_seeds", 2, plan["max_seeds"], 2)
    plan["max_trials"] = whole("max_trials", 1, 10**7, None)
    alpha = plan.get("alpha", 0.1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise UserError(f"{_where(path, 'plan.alpha')}: expected a number between 0 and 1 (exclusive), got {alpha!r}")
    plan["alpha"] = float(alpha)
    plan.setdefault("test", "t")
    if plan["test"] not in RACE_TESTS:
        raise UserError(f"{_where(path, 'plan.test')}: unknown test {plan['test']!r}; allowed: {', '.join(RACE_TESTS)}")
    protect = plan.setdefault("protect", [])
    if not isinstance(protect, list) or not all(isinstance(u, str) for u in protect):
        raise UserError(f"{_where(path, 'plan.protect')}: expected a list of unit names, e.g. protect = [\"full_preact\"]")
    for u in protect:
        try:
            resolve_unit(u)
        except UserError as e:
            raise UserError(f"{_where(path, 'plan.protect')}: {e}") from None
    return plan


def parse_space(text: str, path: str) -> SearchSpace:
    """Parse a space file's text; every error names the file and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"search space {Path(path).name}: not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise UserError(f"{_where(path, unknown[0])} is unknown; allowed: {', '.join(_TOP_KEYS)}")
    from .validate import check_space, check_tables  # it builds samplers and pruners, which import this module

    check_tables(data, path)
    profile = data.get("profile", "cpu")
    if profile not in PROFILES:
        raise UserError(f"{_where(path, 'profile')}: unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds) or len(set(seeds)) != len(seeds):
        raise UserError(f"{_where(path, 'seeds')}: expected a list of distinct integers, e.g. seeds = [0, 1, 2]")
    workers = data.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UserError(f"{_where(path, 'workers')}: expected a whole number >= 1, e.g. workers = 2")
    raw_factors = data.get("factors", {})
    if not isinstance(raw_factors, dict) or not raw_factors:
        raise UserError(f"{_where(path, 'factors')}: expected a [factors] table naming at least the unit")
    factors = {name: _parse_factor(path, name, raw) for name, raw in raw_factors.items()}
    train = data.get("train", {})
    if not isinstance(train, dict):
        raise UserError(f"{_where(path, 'train')} must be a table ([train])")
    try:
        PROFILES[profile].train_config(**train)
    except UserError as e:
        raise UserError(f"{_where(path, 'train')}: {e}") from None
    space = SearchSpace(
        name=Path(path).stem,
        path=str(path),
        description=str(data.get("description", "")),
        profile=profile,
        seeds=seeds,
        factors=factors,
        train=train,
        sampler=_section(path, data, "sampler", SAMPLERS, "grid"),
        pruner=_section(path, data, "pruner", PRUNERS, "median"),
        prefilter=dict(data.get("prefilter", {})),
        workers=workers,
        plan=_plan(path, data, seeds),
    )
    if not space.is_grid and not isinstance(space.sampler.get("n_trials"), int):
        raise UserError(f"{_where(path, 'sampler.n_trials')}: a {space.sampler['name']} sampler needs n_trials (an integer)")
    _check(space)
    check_space(space)
    return space


def _builtin_dir() -> Path:
    """``search_spaces/``: inside the installed package (a wheel), or beside it (a checkout)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "search_spaces", package.parent / "search_spaces"):
        if candidate.is_dir():
            return candidate
    raise UserError(f"the built-in search spaces are missing (looked in {package}/search_spaces); reinstall unitsearch")


def list_spaces() -> list[str]:
    """Names of the spaces shipped with the package."""
    return sorted(p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def read_space_text(path: Path) -> str:
    """A space file's text: UTF-8, with or without a byte-order mark (editors on Windows write one)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"search space file {str(path)!r} cannot be read: {e.strerror or type(e).__name__}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"search space {path.name}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); save it as UTF-8") from None


def load_space(name_or_path: str) -> SearchSpace:
    """A space by built-in name (``paper_ablations``) or by file path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if p.is_dir():
            raise UserError(f"search space {name_or_path!r} is a folder; give a .toml file or a built-in space: {', '.join(list_spaces())}")
        if not p.is_file():
            raise UserError(f"search space file {name_or_path!r} does not exist; built-in spaces: {', '.join(list_spaces())}")
        return parse_space(read_space_text(p), str(p))
    ref = _builtin_dir() / f"{name_or_path}.toml"
    if not ref.is_file():
        raise UserError(f"unknown search space {name_or_path!r}; allowed: {', '.join(list_spaces())} or a path to a .toml file")
    return parse_space(read_space_text(ref), f"{name_or_path}.toml")


def space_from_dict(d: dict[str, Any]) -> SearchSpace:
    """The inverse of :meth:`SearchSpace.to_dict` (what a study stores for its workers)."""
    factors = {k: (Range(**v) if isinstance(v, dict) else v) for k, v in d["factors"].items()}
    return SearchSpace(**{"plan": {"kind": "grid"}, **d, "factors": factors})
