"""Unions of integer intervals, grouped (e.g. per query tile), without materialising the integers."""

from __future__ import annotations

import numpy as np


def union_runs(group: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Merge integer intervals [lo, hi] per group: returns (group, run_lo, run_hi) of disjoint, non-adjacent runs."""
    if lo.size == 0:
        return group[:0], lo[:0], hi[:0]
    order = np.lexsort((lo, group))
    group, lo, hi = group[order], lo[order], hi[order]
    base = lo.min()
    big = int(hi.max() - base + 2)
    glo, ghi = lo - base + group * big, hi - base + group * big  # groups become disjoint, increasing ranges
    reach = np.maximum.accumulate(ghi)
    new = np.ones(lo.size, dtype=bool)
    new[1:] = glo[1:] > reach[:-1] + 1
    run_group = group[new]
    run_lo = glo[new] - run_group * big + base
    run_hi = np.maximum.reduceat(ghi, np.flatnonzero(new)) - run_group * big + base
    return run_group, run_lo, run_hi


def expand_runs(group: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every integer of every run, with its group."""
    lens = hi - lo + 1
    g = np.repeat(group, lens)
    k = np.repeat(lo, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    return g, k
