"""Re-running a study's best designs on fresh seeds: the check that a search's winner is real.

A sampler that ranks 60 designs by one seed each rewards luck: the best of many noisy
draws is biased low. ``verify_space`` turns the top designs of a finished study into a
grid of their own, (design x fresh seed), at the same fidelity and with no pruning, so
the report can compare them on matched seeds with the paired tests of the leaderboard.
``verification_for`` picks those designs from the study's report, with a reference unit beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import limits
from ..errors import UserError
from ..units import resolve_unit
from .runner import join_study, study_data
from .space import UNIT_FACTORS, Range, SearchSpace

__all__ = ["Verification", "verification_for", "verify_space", "VERIFY_FIRST_SEED"]

VERIFY_FIRST_SEED = 1000  # far from the seeds spaces ship with (0, 1, 2, ...), so none is reused


def verify_space(space: SearchSpace, units: list[str], *, seeds: list[int], name: str) -> SearchSpace:
    """A grid space that trains each of ``units`` (canonical forms) once per seed in ``seeds``.

    Args:
        space: The space of the study whose designs are re-run; its profile, fixed
            factors and train settings are kept.
        units: The designs, best first.
        seeds: Fresh training seeds.
        name: The new study's name.

    Raises:
        UserError: When the source space also varies something besides the unit (depth,
            a learning rate, ...): the top designs would then not share one setting.
    """
    varying = sorted(k for k, v in space.factors.items() if k not in UNIT_FACTORS and isinstance(v, (list, Range)))
    if varying:
        raise UserError(f"verify re-runs units at one setting, but study space {space.name!r} also varies {', '.join(varying)}")
    if not units:
        raise UserError(f"study space {space.name!r} has no ranked design to verify yet")
    if set(seeds) & set(space.seeds):
        raise UserError(f"verify seeds must be fresh; {sorted(set(seeds) & set(space.seeds))} were used by the study")
    fixed = {k: v for k, v in space.fixed.items() if k not in UNIT_FACTORS}
    return replace(
        space,
        name=name,
        description=f"{len(units)} designs of {space.name}, re-run on fresh seeds {seeds[0]}-{seeds[-1]}",
        seeds=list(seeds),
        factors={**fixed, "unit": list(units)},
        sampler={"name": "grid"},
        pruner={"name": "none"},  # every design gets its full budget on every seed: a fair comparison
        prefilter={},
        plan={"kind": "grid"},  # every design on every fresh seed: verify checks, it does not race
    )


@dataclass(frozen=True)
class Verification:
    """What ``unitsearch verify`` trains: a new study's space, on the data of the study it checks."""

    space: SearchSpace  # named STUDY-verify
    data: str  # the checked study's dataset
    baseline: str  # the reference unit's form, else "original"


def verification_for(
    storage: str, study: str, *, top: int = 5, seeds: int = 3, first_seed: int = VERIFY_FIRST_SEED, reference: str = "full_preact"
) -> Verification:
    """The ``top`` ranked designs of ``study``, best first, and ``reference``, each on ``seeds`` fresh seeds.

    Args:
        storage: The URL of the study database.
        study: The study whose best designs are re-run; the new study is ``STUDY-verify``.
        top: How many of its ranked designs.
        seeds: Fresh seeds per design (2 or more, for paired tests), from ``first_seed`` on.
        reference: A unit (preset name or form) re-run beside them and tested against; ``""`` for none.
    """
    from ..report import load_report  # the report reads the search's race state: it sits above this package

    limits.whole("--seeds", seeds, 2, 1000)
    limits.whole("--first-seed", first_seed, 0, limits.MAX_SEED - seeds)  # every fresh seed fits 64 bits
    limits.whole("--top", top, 1, 1000)
    st, space = join_study(storage, study)  # names the studies there if STUDY is not one of them
    data = study_data(st, space)  # the re-runs train on the study's data
    ranked = [r for r in load_report(storage, study).rows if r.rank is not None]  # best first
    units = list(dict.fromkeys(r.unit for r in ranked))[:top]
    ref = resolve_unit(reference).form if reference else None
    if ref is not None and ref not in units:
        units.append(ref)
    fresh = list(range(first_seed, first_seed + seeds))
    return Verification(verify_space(space, units, seeds=fresh, name=f"{study}-verify"), data, ref or "original")
