"""The vectorised nest arithmetic against a brute-force count of loop iterations, and the batch of one."""

import itertools
import math

import numpy as np

from mappers import nestmath


def brute_iterations(sizes, tiles, spatial):
    """Count the temporal iterations of a tiled, unrolled nest by walking it."""
    count = 1
    for s, t, k in zip(sizes, tiles, spatial, strict=True):
        t = min(t, s)
        k = min(k, t)
        trips = 0
        for start in range(0, s, t):
            inner = min(t, s - start)
            trips += math.ceil(t / k) if inner else 0  # a ceil-tile costs a full tile's trips
        count *= trips
    return count


def test_iterations_match_a_walk_of_the_nest_including_ceil_tiles():
    cases = list(itertools.product([1, 5, 16, 17], [1, 4, 6, 32], [1, 3, 8]))
    sizes = np.array([[s, 7] for s, _, _ in cases])
    tiles = np.array([[t, 2] for _, t, _ in cases])
    spatial = np.array([[k, 3] for _, _, k in cases])
    got = nestmath.iterations(sizes, tiles, spatial)
    want = [brute_iterations(s, t, k) for s, t, k in zip(sizes.tolist(), tiles.tolist(), spatial.tolist(),
                                                          strict=True)]
    assert got.tolist() == want


def test_batch_of_one_equals_each_row_of_a_batch():
    sizes, tiles, spatial = np.array([1 << 20, 64, 256]), np.array([[32768, 64, 256], [100, 7, 3]]), np.array([256])
    batch = nestmath.iterations(sizes, tiles, spatial)
    for row, value in zip(tiles, batch, strict=True):
        assert nestmath.iterations(sizes, row, spatial) == value
