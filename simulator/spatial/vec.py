"""Arithmetic on plain numbers and on numpy arrays alike, so that the spatial cost model is written once.

`model.py` runs on one mapping, whose tiles and spatial factors are Python ints (fast, exact), and on a batch of
candidate tilings that share one structure (arrays bound, tensor levels, loop orders, stages), whose tiles and
factors are numpy arrays of shape (B,) (`mappers.mapspace.build_groups`). Python's operators already work on both;
these cover the rest: products, max / min, selections and ceilings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def is_batch(*values: Any) -> bool:
    return any(isinstance(v, np.ndarray) for v in values)


def prod(values: Iterable[Any]) -> Any:
    """The product, left to right from 1 (exact on ints, as `math.prod`)."""
    out: Any = 1
    for v in values:
        out = out * v
    return out


def maximum(a: Any, b: Any) -> Any:
    return np.maximum(a, b) if is_batch(a, b) else max(a, b)


def minimum(a: Any, b: Any) -> Any:
    return np.minimum(a, b) if is_batch(a, b) else min(a, b)


def max_of(values: Iterable[Any]) -> Any:
    """The largest of several values (each a number or an array)."""
    out: Any = None
    for v in values:
        out = v if out is None else maximum(out, v)
    if out is None:
        raise ValueError("max_of() of nothing")
    return out


def where(cond: Any, a: Any, b: Any) -> Any:
    return np.where(cond, a, b) if is_batch(cond, a, b) else (a if cond else b)


def ceil(x: Any) -> Any:
    return np.ceil(x) if is_batch(x) else math.ceil(x)


def ceil_log2(x: Any) -> Any:
    """ceil(log2(x)) for x >= 1."""
    if is_batch(x):
        return np.ceil(np.log2(np.maximum(x, 1)))
    return math.ceil(math.log2(x))


def any_true(cond: Any) -> bool:
    return bool(np.any(cond)) if is_batch(cond) else bool(cond)
