"""The array binding of a pipelined group (`mappers.assign.assign_batch`) equals a brute force over every
assignment: the least busiest-array load, ties broken by the summed load, then by the first assignment in the
product order of each Einsum's eligible arrays. The two-array path keeps only Pareto fronts of half the Einsums and
the crossing pairs; ties are made likely by drawing small whole numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mappers.assign import assign_batch


def brute_force(names, eligible, compute, n_arrays, row):
    best = None
    for index, choice in enumerate(itertools.product(*[range(len(eligible[nm])) for nm in names])):
        load = np.zeros(n_arrays)
        for nm, c in zip(names, choice, strict=True):
            load[eligible[nm][c]] += compute[nm][row, c]
        key = (load.max(), load.sum(), index)
        if best is None or key < best[0]:
            best = (key, [eligible[nm][c] for nm, c in zip(names, choice, strict=True)])
    return best[1]


@pytest.mark.parametrize(("n_arrays", "n_einsums", "seed"), [(2, 7, 0), (2, 11, 1), (2, 4, 2), (3, 6, 3), (1, 3, 4)])
def test_assignment_equals_brute_force(n_arrays, n_einsums, seed):
    rng = np.random.default_rng(seed)
    names = [f"E{i}" for i in range(n_einsums)]
    eligible = {}
    for nm in names:
        k = int(rng.integers(1, n_arrays + 1))
        eligible[nm] = sorted(rng.choice(n_arrays, size=k, replace=False).tolist())
    eligible[names[0]] = list(range(n_arrays))  # at least one Einsum with a choice
    batch = 60
    compute = {nm: rng.integers(0, 6, size=(batch, len(eligible[nm]))).astype(float) for nm in names}
    compute[names[1]][:5] = 0.0  # some free Einsums cost nothing: every side ties
    pipelined = np.ones(batch, dtype=bool)
    pipelined[-3:] = False  # not pipelined: each Einsum on its fastest array
    got = assign_batch(names, eligible, compute, n_arrays, pipelined)
    for row in range(batch - 3):
        assert got[row].tolist() == brute_force(names, eligible, compute, n_arrays, row), row
    for row in range(batch - 3, batch):
        fastest = [eligible[nm][int(np.argmin(compute[nm][row]))] for nm in names]
        assert got[row].tolist() == fastest
