"""The sweep's figures (matplotlib, Agg): the file's own plot (y against x, one line per series value, one panel
per facet value), the Pareto front of the objectives with dominated points faded, per-parameter trends, and the
utilisation and energy breakdown of the Pareto points."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from simulator.sweep.spec import SweepSpec
from simulator.sweep.table import Record, lookup


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _log_if_wide(ax: Any, axis: str, values: list[float]) -> None:
    positive = [v for v in values if v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 30:
        from matplotlib.ticker import NullFormatter

        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        (ax.xaxis if axis == "x" else ax.yaxis).set_minor_formatter(NullFormatter())


def plot_sweep(spec: SweepSpec, records: list[Record], path: Path) -> Path | None:
    p = spec.plot
    assert p is not None
    plt = _pyplot()
    facets = sorted({lookup(r, p.facet) for r in records}, key=str) if p.facet else [None]
    fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 0.8, 3.6), squeeze=False, sharey=True)
    for ax, facet in zip(axes[0], facets, strict=True):
        subset = [r for r in records if not p.facet or lookup(r, p.facet) == facet]
        series = sorted({lookup(r, p.series) for r in subset}, key=str) if p.series else [None]
        for s in series:
            pts = sorted((lookup(r, p.x), lookup(r, p.y)) for r in subset
                         if (not p.series or lookup(r, p.series) == s) and _number(lookup(r, p.x))
                         and _number(lookup(r, p.y)))
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


def plot_pareto(spec: SweepSpec, records: list[Record], path: Path) -> Path | None:
    """Each pair of objectives: every point (infeasible ones crossed, dominated ones faded), the front joined."""
    pairs = list(itertools.combinations(spec.objectives[:3], 2))
    if not pairs or not records:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4.0), squeeze=False)
    for ax, (x, y) in zip(axes[0], pairs, strict=True):
        def xy(rs: list[Record], xk: str = x, yk: str = y) -> tuple[list[float], list[float]]:
            pts = [(lookup(r, xk), lookup(r, yk)) for r in rs]
            pts = [(a, b) for a, b in pts if _number(a) and _number(b)]
            return [a for a, _ in pts], [b for _, b in pts]

        bad = xy([r for r in records if not r.feasible])
        dominated = xy([r for r in records if r.feasible and not r.pareto])
        front = sorted(zip(*xy([r for r in records if r.pareto]), strict=True))
        ax.scatter(*bad, marker="x", color="0.7", s=14, label="violates constraints")
        ax.scatter(*dominated, color="tab:blue", alpha=0.25, s=16, label="dominated")
        if front:
            ax.plot([a for a, _ in front], [b for _, b in front], "o-", color="tab:red", ms=5,
                    label="Pareto-optimal" if len(spec.objectives) == 2 else "Pareto-optimal (all objectives)")
        every_x, every_y = xy(records)
        _log_if_wide(ax, "x", every_x)
        _log_if_wide(ax, "y", every_y)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.name}: Pareto front ({sum(r.pareto for r in records)} of {len(records)} points)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_trends(spec: SweepSpec, records: list[Record], path: Path) -> Path | None:
    """Each objective against each numeric varied axis (up to 4), Pareto points marked."""
    objectives = spec.objectives[:3] or ["latency_s"]
    params = [a for a in spec.varied() if a not in spec.derived and any(_number(lookup(r, a)) for r in records)][:4]
    if not params or not records:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(objectives), len(params), figsize=(max(6.0, 3.6 * len(params)), 3.0 * len(objectives)),
                             squeeze=False)
    for (i, obj), (j, param) in itertools.product(enumerate(objectives), enumerate(params)):
        ax = axes[i][j]
        for subset, style in (([r for r in records if not r.pareto], {"alpha": 0.3, "color": "tab:blue"}),
                              ([r for r in records if r.pareto], {"color": "tab:red"})):
            pts = [(lookup(r, param), lookup(r, obj)) for r in subset]
            pts = [(a, b) for a, b in pts if _number(a) and _number(b)]
            ax.scatter([a for a, _ in pts], [b for _, b in pts], s=12, **style)
        xs = [v for r in records if _number(v := lookup(r, param))]
        ys = [v for r in records if _number(v := lookup(r, obj))]
        _log_if_wide(ax, "x", xs)
        _log_if_wide(ax, "y", ys)
        ax.set_xlabel(param, fontsize=8)
        ax.set_ylabel(obj, fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{spec.name}: objectives per parameter (red: Pareto-optimal)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_breakdown(spec: SweepSpec, records: list[Record], path: Path, limit: int = 12) -> Path | None:
    """Utilisation per compute unit and energy per component of the Pareto points (those the results have)."""
    chosen = [r for r in records if r.pareto][:limit] or records[:limit]
    panels = [k for k in ("utilization", "energy_j_by_component")
              if any(isinstance(r.result.get(k), dict) and r.result[k] for r in chosen)]
    if not chosen or not panels:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.0), squeeze=False)
    labels = [_label(spec, r) for r in chosen]
    for ax, key in zip(axes[0], panels, strict=True):
        parts = list(dict.fromkeys(k for r in chosen for k in (r.result.get(key) or {})))
        bottom = [0.0] * len(chosen)
        width = 0.8 / (len(parts) if key == "utilization" else 1)
        for n, part in enumerate(parts):
            values = [float((r.result.get(key) or {}).get(part) or 0.0) for r in chosen]
            if key == "utilization":
                ax.bar([i + n * width for i in range(len(chosen))], values, width, label=part)
            else:
                ax.bar(range(len(chosen)), values, 0.8, bottom=bottom, label=part)
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(range(len(chosen)), labels, rotation=60, ha="right", fontsize=6)
        ax.set_ylabel(key)
        ax.legend(fontsize=6)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"{spec.name}: breakdown of the {'Pareto-optimal' if any(r.pareto for r in chosen) else ''} "
                 "points")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _label(spec: SweepSpec, record: Record) -> str:
    parts = [f"{a.removeprefix('target.').removeprefix('arrays.')}={record.point.get(a)}" for a in spec.varied()[:3]]
    return " ".join(parts) or record.key[:8]
