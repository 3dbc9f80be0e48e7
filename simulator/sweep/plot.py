"""The sweep plot: y against x, one line per series value, one panel per facet value (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.sweep.spec import SweepSpec


def plot_sweep(spec: SweepSpec, rows: list[dict[str, Any]], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = spec.plot
    assert p is not None
    facets = sorted({r.get(p.facet) for r in rows}, key=str) if p.facet else [None]
    fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 0.8, 3.6), squeeze=False, sharey=True)
    for ax, facet in zip(axes[0], facets, strict=True):
        subset = [r for r in rows if not p.facet or r.get(p.facet) == facet]
        series = sorted({r.get(p.series) for r in subset}, key=str) if p.series else [None]
        for s in series:
            pts = sorted((r[p.x], r[p.y]) for r in subset
                         if (not p.series or r.get(p.series) == s) and _number(r.get(p.x)) and _number(r.get(p.y)))
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=str(s) if s is not None else p.y)
        ax.set_xlabel(p.x)
        ax.set_title(f"{p.facet} = {facet}" if p.facet else spec.name)
        if p.logx:
            ax.set_xscale("log", base=2)
        if p.logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(p.y)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
