"""`--plot FILE.png`: per-query-tile visit counts and the tile map (which KV tiles each query tile visits, and
whether each is fully or partially unmasked). Matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.tiling import EMPTY, FULL, PARTIAL, TileCounts

MAX_MAP_CELLS = 4_000_000  # above this the map shows only the worst query tile


def _ceil_div_sum(axis) -> int:
    """Static KV tiles along one axis (dilation groups tiled separately)."""
    from simulator.sparse.gna import group_lengths

    return int(sum(-(-int(n) // axis.kv_tile) for n in group_lengths(axis.spec.length, axis.spec.dilation)))


def tile_map(counts: TileCounts) -> np.ndarray | None:
    """(query tiles x KV tiles) classes EMPTY/FULL/PARTIAL in row-major tile order, or None when too large."""
    n_q = int(counts.visited.size)
    if counts.axes:
        n_k = int(np.prod([_ceil_div_sum(a) for a in counts.axes]))
        if n_q * n_k > MAX_MAP_CELLS:
            return None
        cls = np.full((1, 1), FULL, dtype=np.int8)
        for a in counts.axes:  # AND of axes: empty if any empty, full if all full, else partial
            c = a.classes()
            big = np.empty((cls.shape[0] * c.shape[0], cls.shape[1] * c.shape[1]), dtype=np.int8)
            x = cls[:, None, :, None]
            y = c[None, :, None, :]
            big[:] = np.where((x == EMPTY) | (y == EMPTY), EMPTY,
                              np.where((x == FULL) & (y == FULL), FULL, PARTIAL)).reshape(big.shape)
            cls = big
        return cls
    if counts.touched is None:
        return None
    t, k, full = counts.touched
    n_k = int(k.max()) + 1 if k.size else 1
    n_k = max(n_k, counts.kv_tiles_dense)
    if n_q * n_k > MAX_MAP_CELLS:
        return None
    cls = np.zeros((n_q, n_k), dtype=np.int8)
    cls[t, k] = PARTIAL if full is None else np.where(full, FULL, PARTIAL)
    return cls


def check_plot_path(path: str | Path) -> Path:
    """Fail early (before counting) on a plot path that cannot be written."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SimulatorError(f"--plot: {path} must end in .png")
    if not path.parent.exists():
        raise SimulatorError(f"--plot: folder {path.parent} does not exist; create it or choose another path")
    return path


def plot_counts(counts: TileCounts, path: str | Path, title: str = "") -> Path:
    """Write a two-panel PNG: visit count per query tile, and the tile map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = check_plot_path(path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    visited = counts.visited
    if visited.ndim >= 2:
        grid = visited.reshape(-1, visited.shape[-1])
        im = left.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
        left.set_xlabel("query tile, last axis")
        left.set_ylabel("query tile, leading axes (row-major)")
        fig.colorbar(im, ax=left, label="KV tiles visited")
    else:
        left.bar(np.arange(visited.size), visited, width=1.0)
        left.set_xlabel("query tile")
        left.set_ylabel("KV tiles visited")
    left.set_title(f"visits per query tile (max {counts.visited_max}, mean {counts.visited_mean:.1f}, "
                   f"dense {counts.kv_tiles_dense})")
    _draw_tile_map(right, tile_map(counts), "KV tile (row-major)", "query tile (row-major)",
                   "tile map: blue full, orange partially masked, grey skipped")
    return _save(fig, path, title)


def plot_heads(results: list, counts: list[TileCounts], path: str | Path, title: str = "") -> Path:
    """Per-head masks: the bound of every head (worst marked) and the tile map of the worst head, with fully and
    partially masked tiles told apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = check_plot_path(path)
    bounds = np.array([r.speedup_upper_bound for r in results])
    worst = int(bounds.argmin())
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    colors = ["#d7301f" if h == worst else "#2b8cbe" for h in range(bounds.size)]
    left.bar(np.arange(bounds.size), bounds, color=colors)
    left.set_xlabel("head")
    left.set_ylabel("speedup upper bound (padding-aware)")
    left.set_title(f"per-head bounds (worst head {worst}: {bounds[worst]:.2f}x)")
    _draw_tile_map(right, tile_map(counts[worst]), "KV tile", "query tile",
                   f"head {worst}: blue full, orange partially masked, grey skipped")
    return _save(fig, path, title)


def _draw_tile_map(ax, cls: np.ndarray | None, xlabel: str, ylabel: str, title: str) -> None:  # noqa: ANN001
    """The tile map's panel: grey skipped, blue full, orange partially masked (or a note when it is too large)."""
    from matplotlib.colors import ListedColormap

    if cls is None:
        ax.text(0.5, 0.5, "tile map too large to draw", ha="center", va="center")
        ax.set_axis_off()
        return
    cmap = ListedColormap(["#f4f4f4", "#2b8cbe", "#fd8d3c"])
    ax.imshow(cls, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _save(fig, path: Path, title: str) -> Path:  # noqa: ANN001
    """Title, lay out, write and close the figure."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
