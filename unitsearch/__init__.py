"""unitsearch: architecture search and ablation over residual-unit designs (He et al., 2016)."""

from . import numerics as _numerics

_numerics.pin()  # before any module of the package imports torch: the kernels are chosen at first use

__version__ = "0.1.0"
