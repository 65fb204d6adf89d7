"""Signal propagation at initialisation (paper Eqs. 4-8) and the pre-filter score.

``diagnose_unit`` measures, per unit, the forward signal, the backward gradient
(through the whole network and through the shortcuts alone) and how much the
gradients of nearby inputs agree; ``prefilter`` turns the shortcut-path gradient
into a keep/skip decision that the search makes before training a design.
"""

from __future__ import annotations

from .diagnosis import Diagnosis, diagnose_unit, log_slope
from .inputs import DATA_CHOICES, data_batch, normal_batch
from .plots import write_plots
from .prefilter import PrefilterResult, prefilter, verdict

__all__ = [
    "DATA_CHOICES",
    "Diagnosis",
    "PrefilterResult",
    "data_batch",
    "diagnose_unit",
    "log_slope",
    "normal_batch",
    "prefilter",
    "verdict",
    "write_plots",
]
