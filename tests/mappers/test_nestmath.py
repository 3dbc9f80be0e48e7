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


def test_every_unrolling_option_fits_the_array():
    """The mapper costs every option without a capacity check: each must fit the array's PEs by construction."""
    from mappers.mapspace import _spatial_candidates

    rng = np.random.default_rng(1)
    for rows, cols in [(256, 256), (1, 256), (16, 64), (1, 1)]:
        for ranks in (1, 2, 4):
            tiles = rng.integers(1, 5000, size=(200, ranks))
            options = _spatial_candidates(ranks, rows, cols, tiles)
            assert options.prod(axis=-1).max() <= rows * cols
            assert options.min() >= 1


def test_unrolling_options_follow_their_templates():
    """The gathered factors equal the templates read directly: kind 0 -> 1, kind 1 -> min(tile, dimension),
    kind 2 -> the rest of the dimension beside the option's first rank (1 where that rank fills it)."""
    from mappers.mapspace import _spatial_candidates, _spatial_templates

    rng = np.random.default_rng(2)
    for rows, cols, ranks in [(256, 256, 4), (1, 256, 3), (16, 64, 2), (1, 1, 2), (256, 256, 1)]:
        tiles = rng.choice([1, 3, 16, 64, 100, 256, 4096], size=(100, ranks))
        kind, dim, source = _spatial_templates(ranks, rows, cols)
        got = _spatial_candidates(ranks, rows, cols, tiles)
        for b, o, r in itertools.product(range(len(tiles)), range(len(kind)), range(ranks)):
            first = min(int(dim[o, 0]), int(tiles[b, source[o]]))
            rest = max(1, int(dim[o, 0]) // first) if first < dim[o, 0] else 1
            want = {0: 1, 1: min(int(dim[o, r]), int(tiles[b, r])), 2: rest}[int(kind[o, r])]
            assert got[b, o, r] == want, (rows, cols, ranks, b, o, r)


def test_unrolling_tables_count_iterations_as_the_nest_arithmetic():
    """The tables shared by alike Einsums cost each option as `nestmath.iterations` of its tile and factors."""
    from types import SimpleNamespace

    from mappers.mapspace import _spatial_tables

    rng = np.random.default_rng(3)
    specs = [SimpleNamespace(name=n, iteration_ranks=r, sizes={"m": 4096, "p": 1000, "e": 64})
             for n, r in [("A", ("m", "p", "e")), ("B", ("m", "p", "e")), ("C", ("p", "e"))]]
    arrays = [SimpleNamespace(rows=256, cols=256), SimpleNamespace(rows=1, cols=256)]
    tiles = {s.name: np.stack([rng.choice([1, 7, 64, 256, 999, 4096], size=40) for _ in s.iteration_ranks], axis=1)
             for s in specs}
    tables = _spatial_tables(specs, arrays, {"A": [0, 1], "B": [0], "C": [1]}, tiles)
    for (name, _), table in tables.items():
        spec = next(s for s in specs if s.name == name)
        sizes = np.array([spec.sizes[r] for r in spec.iteration_ranks])
        own = tiles[name]
        want = nestmath.iterations(sizes, own[:, None, :], table.options[table.row])
        assert np.array_equal(table.iterations[table.row], want)
        assert np.array_equal(table.best[table.row], want.min(axis=1))
    assert tables["A", 0].options is tables["B", 0].options  # alike Einsums share one table
