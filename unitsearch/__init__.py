"""unitsearch: architecture search and ablation over residual-unit designs (He et al., 2016)."""

__version__ = "0.1.0"
