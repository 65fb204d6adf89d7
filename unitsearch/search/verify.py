"""Re-running a study's best designs on fresh seeds: the check that a search's winner is real.

A sampler that ranks 60 designs by one seed each rewards luck: the best of many noisy
draws is biased low. ``verify_space`` turns the top designs of a finished study into a
grid of their own, (design x fresh seed), at the same fidelity and with no pruning, so
the report can compare them on matched seeds with the paired tests of the leaderboard.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import UserError
from .space import UNIT_FACTORS as _UNIT_FACTORS, Range, SearchSpace

__all__ = ["verify_space", "VERIFY_FIRST_SEED"]

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
    varying = sorted(k for k, v in space.factors.items() if k not in _UNIT_FACTORS and isinstance(v, (list, Range)))
    if varying:
        raise UserError(f"verify re-runs units at one setting, but study space {space.name!r} also varies {', '.join(varying)}")
    if not units:
        raise UserError(f"study space {space.name!r} has no ranked design to verify yet")
    if set(seeds) & set(space.seeds):
        raise UserError(f"verify seeds must be fresh; {sorted(set(seeds) & set(space.seeds))} were used by the study")
    fixed = {k: v for k, v in space.fixed.items() if k not in _UNIT_FACTORS}
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
