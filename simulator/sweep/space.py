"""The values an axis may take when sampled or searched: a range, a log range, or a list of choices.

    sample:
      n: 500
      seed: 1
      axes:
        target.arrays.pe2d.rows: {log_range: [16, 512]}            # integers, log-uniform
        target.global_buffer.capacity_bytes: {range: [1MiB, 64MiB]}
        target.dram.bw_bytes_per_s: {log_range: [100e9, 3.2e12], int: false}
        workload: {choices: [BERT, XLM]}

Bounds may carry size suffixes (`8MiB`). A range of two integers gives integers unless `int: false`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from cascade_base.spec import Frozen
from hw.overrides import parse_value


class Distribution(Frozen):
    """One axis's values: exactly one of `range`, `log_range`, `choices`."""

    range: tuple[float | str, float | str] | None = None
    log_range: tuple[float | str, float | str] | None = None
    choices: list[Any] | None = Field(default=None, min_length=1)
    int: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        given = [k for k in ("range", "log_range", "choices") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of range: [low, high], log_range: [low, high], choices: [...]")
        if self.choices is None:
            low, high = self.bounds()
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(f"a range needs finite low <= high, not [{low}, {high}]")
            if self.log_range is not None and low <= 0:
                raise ValueError(f"a log_range needs low > 0, not {low}")
        return self

    def bounds(self) -> tuple[float, float]:
        pair = self.range if self.range is not None else self.log_range
        assert pair is not None
        low, high = (parse_value(v) if isinstance(v, str) else v for v in pair)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            raise ValueError(f"range bounds must be numbers or sizes such as 8MiB, not {pair}")
        return low, high

    @property
    def integer(self) -> bool:
        if self.int is not None:
            return self.int
        if self.choices is not None:
            return False
        low, high = self.bounds()
        return float(low).is_integer() and float(high).is_integer()

    def edges(self) -> list[Any]:
        """The extreme values (checked against the target before a run): both bounds, or every choice."""
        if self.choices is not None:
            return list(self.choices)
        low, high = self.bounds()
        return [int(low), int(high)] if self.integer else [low, high]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        """`n` values drawn with `rng`."""
        if self.choices is not None:
            return [self.choices[i] for i in rng.integers(0, len(self.choices), n)]
        low, high = self.bounds()
        if self.log_range is not None:
            values = np.exp(rng.uniform(math.log(low), math.log(high), n))
        else:
            values = rng.uniform(low, high, n)
        if self.integer:
            return [int(min(max(round(v), math.ceil(low)), math.floor(high))) for v in values]
        return [float(v) for v in values]


class SampleSpec(Frozen):
    """`n` random points over `axes`, reproducible from `seed`."""

    n: int = Field(ge=1, le=1_000_000)
    seed: int = 0
    axes: dict[str, Distribution] = Field(min_length=1)

    def rows(self) -> list[dict[str, Any]]:
        rng = np.random.default_rng(self.seed)
        columns = {name: dist.draw(rng, self.n) for name, dist in self.axes.items()}
        return [{name: columns[name][i] for name in self.axes} for i in range(self.n)]


class SearchSpec(Frozen):
    """A multi-objective search (optuna's NSGA-II) of `n` trials over `axes`, reproducible from `seed`."""

    n: int = Field(ge=1, le=1_000_000)
    seed: int = 0
    population: int = Field(default=50, ge=2)
    algorithm: str = "nsga2"
    axes: dict[str, Distribution] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_algorithm(self) -> SearchSpec:
        if self.algorithm not in SEARCH_ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; choose from: {', '.join(SEARCH_ALGORITHMS)}")
        return self


SEARCH_ALGORITHMS = ("nsga2", "random")
