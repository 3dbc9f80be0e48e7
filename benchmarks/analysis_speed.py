"""Benchmark: op counts of a library cascade over many problem sizes.

Baseline: bind each size with `op_counts(cascade, sizes)` (sympy substitution per point).
Ours: `op_counts_function(cascade)` compiled once, evaluated on numpy arrays of sizes.
Prints both wall times, their ratio, and checks that the two agree.  Run: python benchmarks/analysis_speed.py
"""

from __future__ import annotations

import time

import numpy as np

from einsum_cascades.analysis import op_counts, op_counts_function
from einsum_cascades.loader import load_cascade


def main(n_points: int = 20000, n_baseline: int = 200) -> None:
    cascade = load_cascade("attention-1pass")
    rng = np.random.default_rng(0)
    seq = 2 ** rng.integers(10, 21, n_points)
    dims = 2 ** rng.integers(5, 9, n_points)
    tiles = 2 ** rng.integers(4, 8, n_points)

    start = time.perf_counter()
    for i in range(n_baseline):
        op_counts(cascade, {"M": int(seq[i]), "P": int(seq[i]), "E": int(dims[i]), "F": int(dims[i]),
                            "M0": int(tiles[i])})
    per_point_baseline = (time.perf_counter() - start) / n_baseline

    start = time.perf_counter()
    f = op_counts_function(cascade)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    counts = f(M=seq, P=seq, E=dims, F=dims, M0=tiles)
    per_point_vector = (time.perf_counter() - start) / n_points

    check = op_counts(cascade, {"M": int(seq[0]), "P": int(seq[0]), "E": int(dims[0]), "F": int(dims[0]),
                                "M0": int(tiles[0])})
    assert all(int(counts[k][0]) == v for k, v in check.items()), "vectorised counts disagree with sympy"
    print(f"sympy subs per point:      {per_point_baseline * 1e6:10.1f} us  ({n_baseline} points)")
    print(f"vectorised per point:      {per_point_vector * 1e6:10.3f} us  "
          f"({n_points} points, compile {compile_s:.3f} s)")
    print(f"speed-up:                  {per_point_baseline / per_point_vector:10.0f} x")


if __name__ == "__main__":
    main()
