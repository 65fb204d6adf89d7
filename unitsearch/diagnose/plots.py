"""PNG plots of the per-unit measurements: one figure per view, one line per design."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from .diagnosis import Diagnosis

__all__ = ["PLOTS", "write_plots"]

# attribute -> (file stem, y label, log scale, title); the titles cite the paper's equations.
PLOTS: dict[str, tuple[str, str, bool, str]] = {
    "act_rms": ("diagnose_act_rms", "RMS of x_l", True, "Forward signal (Eq. 4)"),
    "grad_ratio": ("diagnose_grad_ratio", "||dE/dx_l|| / ||dE/dx_L||", True, "Backward gradient, whole network (Eq. 5)"),
    "shortcut_ratio": ("diagnose_shortcut_ratio", "||dE/dx_l|| / ||dE/dx_L||, shortcuts only", True,
                       "Backward gradient through the shortcuts (Eqs. 5 and 8, first term)"),
    "grad_corr": ("diagnose_grad_corr", "corr(dE/dx_l at x, at x + noise)", False, "Shattered gradients (Balduzzi et al. 2017)"),
}


def _label(d: Diagnosis) -> str:
    return d.preset or d.unit


def write_plots(diagnoses: Sequence[Diagnosis], out_dir: str | Path) -> list[Path]:
    """Write one PNG per view into ``out_dir`` (created if missing).

    Args:
        diagnoses: The designs, all of the same depth for a common x axis.
        out_dir: Folder for the files.

    Returns:
        The paths written, in the order of :data:`PLOTS`.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on a worker or in CI
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab20").colors  # 20 distinct colours: the paper has 15 presets
    styles = ("-", "--", "-.", ":")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for attr, (stem, ylabel, log, title) in PLOTS.items():
        fig, ax = plt.subplots(figsize=(10, 5))
        for i, d in enumerate(diagnoses):
            values = getattr(d, attr)
            # A log axis cannot show zeros (a shortcut scaled by 0): leave those points out.
            ys = [v if (math.isfinite(v) and (v > 0 or not log)) else math.nan for v in values]
            ax.plot(range(len(ys)), ys, marker=".", linewidth=1.2, label=_label(d),
                    color=colors[i % len(colors)], linestyle=styles[(i // len(colors)) % len(styles)])
        n = diagnoses[0].units_per_stage if diagnoses else 0
        # x_0 .. x_n have the first stage's shape (x_n enters the first stride-2 unit).
        for boundary in (n, 2 * n) if n else ():
            ax.axvline(boundary + 0.5, color="grey", linewidth=0.6, linestyle=":")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("unit index l (x_l enters unit l; the last point is x_L)")
        ax.set_ylabel(ylabel)
        first = diagnoses[0] if diagnoses else None
        where = f" - ResNet-{first.depth}, width {first.width}, at initialisation" if first else ""
        ax.set_title(title + where, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if diagnoses:
            # Outside the axes: the curves fill the plot from x_0 to x_L.
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.tight_layout()
        path = out / f"{stem}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
