"""The steps of a spatial evaluation that need the parsed cascade (and sympy), kept in the persistent memo per
cascade file content: binding the shape, building the bound problem, the split-size choices. A warm evaluation
reads them back and never imports sympy (see `cascade_base.memo`)."""

from __future__ import annotations

from typing import Any

from cascade_base.memo import memo
from einsum_cascades.sketch import CascadeSketch
from simulator.shape import AttentionShape, BoundShape
from simulator.spatial.problem import Problem

#: the code these steps depend on
CODE = ("einsum_cascades", "cascade_base", "simulator/shape.py", "simulator/spatial")


def full_cascade(sketch: CascadeSketch) -> Any:
    """The parsed cascade behind a sketch (parsing imports sympy; only a cache miss or a search needs it)."""
    from einsum_cascades import load_cascade

    return load_cascade(sketch.path)


def _key(sketch: CascadeSketch, *rest: Any) -> tuple:
    return (sketch.path, sketch.digest, *rest)


def bound_shape(sketch: CascadeSketch, shape: AttentionShape) -> BoundShape:
    """`simulator.shape.bind_shape` of the sketch's cascade, memoised."""
    from simulator.shape import bind_shape

    return memo("spatial_bind", _key(sketch, shape), lambda: bind_shape(full_cascade(sketch), shape), CODE)


def bound_problem(sketch: CascadeSketch, sizes: dict[str, int], instances: int) -> Problem:
    """`cascade_problem` of the sketch's cascade at `sizes`, memoised."""
    from simulator.spatial.problem import cascade_problem

    return memo("spatial_problem", _key(sketch, tuple(sorted(sizes.items())), instances),
                lambda: cascade_problem(full_cascade(sketch), sizes, instances), CODE)


def split_choices(sketch: CascadeSketch, sizes: dict[str, int], target: Any) -> list[dict[str, int]]:
    """`simulator.spatial.search.split_size_choices` for the sketch's cascade, memoised per array dimensions."""
    from simulator.spatial.search import split_size_choices

    dims = tuple(sorted((a.rows, a.cols) for a in target.arrays))
    return memo("spatial_splits", _key(sketch, tuple(sorted(sizes.items())), dims),
                lambda: split_size_choices(full_cascade(sketch), sizes, target), CODE)
