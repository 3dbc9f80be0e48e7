"""Objectives, constraints and the Pareto front of a sweep's results.

An objective or constraint names a result key by dotted path (`latency_s`, `utilization.pe2d`) or a derived one
(`edp` = latency_s x energy_j). Objectives are minimised; `max:KEY` (e.g. `max:tflops`, `max:fmax_mhz`) maximises.
Keys are checked against the first result of each target before the sweep goes on, so a key that a kind's result
lacks is an error naming the keys it has.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cascade_base.errors import shown
from hw.overrides import parse_value
from simulator.errors import SimulatorError

#: objectives computed from other result keys
DERIVED: dict[str, tuple[tuple[str, ...], Callable[..., float]]] = {
    "edp": (("latency_s", "energy_j"), lambda latency_s, energy_j: latency_s * energy_j),
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt,
                                               ">": operator.gt, "==": operator.eq}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|==|<|>)\s*(\S+)\s*$")
_MISSING = object()
#: the prefix of a maximised objective
MAXIMISE = "max:"


def sense(objective: str) -> float:
    """+1 for a minimised objective, -1 for a maximised one (`max:KEY`)."""
    return -1.0 if objective.startswith(MAXIMISE) else 1.0


def objective_key(objective: str) -> str:
    """The result key an objective names (`max:tflops` -> `tflops`)."""
    return objective[len(MAXIMISE):] if objective.startswith(MAXIMISE) else objective


def lookup(result: dict[str, Any], key: str) -> Any:
    """The value of `key` (dotted path or derived name; a `max:` objective's key) in a result dict, or `_MISSING`."""
    key = objective_key(key)
    if key in DERIVED and key not in result:
        parts = [lookup(result, k) for k in DERIVED[key][0]]
        if any(p is _MISSING or not _number(p) for p in parts):
            return _MISSING
        return DERIVED[key][1](*parts)
    value: Any = result
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def has(result: dict[str, Any], key: str) -> bool:
    return lookup(result, key) is not _MISSING


def value_of(result: dict[str, Any], key: str) -> Any:
    value = lookup(result, key)
    return None if value is _MISSING else value


def scalar_keys(result: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of a result that holds a number (what objectives and constraints can name)."""
    keys = []
    for k, v in result.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            keys.extend(scalar_keys(v, path + "."))
        elif _number(v):
            keys.append(path)
    if not prefix:
        keys.extend(d for d, (parts, _) in DERIVED.items() if all(has(result, p) for p in parts))
    return keys


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Constraint:
    """`key op bound`, e.g. `area_um2 <= 4.5e11`."""

    text: str
    key: str
    op: str
    bound: float

    def holds(self, result: dict[str, Any]) -> bool:
        value = lookup(result, self.key)
        return _number(value) and _OPS[self.op](value, self.bound)


def parse_constraint(text: str, where: str) -> Constraint:
    match = _CONSTRAINT.match(text)
    bound = parse_value(match.group(3)) if match else None
    if not match or not _number(bound):
        raise SimulatorError(f"{shown(text)} is not a constraint such as 'area_um2 <= 4.5e11' "
                             "(KEY <=|>=|<|>|== NUMBER)", field=where)
    return Constraint(text, match.group(1), match.group(2), float(bound))


def check_keys(result: dict[str, Any], keys: Iterable[tuple[str, str]], target: str) -> None:
    """Each (key, where) must exist in `result` (the first result of `target`); else an error naming the keys."""
    for key, where in keys:
        if not has(result, key):
            raise SimulatorError(f"'{key}' is not in the results of {target} ({result.get('kind', '?')} target); "
                                 f"keys: {', '.join(scalar_keys(result))}", field=where)


def feasible(result: dict[str, Any], constraints: Iterable[Constraint]) -> bool:
    return all(c.holds(result) for c in constraints)


def objective_matrix(results: list[dict[str, Any]], objectives: list[str]) -> np.ndarray:
    """Rows of objective values to minimise (a `max:` objective negated; nan where a value is missing or not a
    number)."""
    out = np.full((len(results), len(objectives)), np.nan)
    for i, r in enumerate(results):
        for j, key in enumerate(objectives):
            v = lookup(r, key)
            if _number(v):
                out[i, j] = sense(key) * float(v)
    return out


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """True for rows no other row dominates (every column minimised; rows with a nan are never optimal)."""
    n = len(values)
    ok = ~np.isnan(values).any(axis=1) if n else np.zeros(0, bool)
    mask = ok.copy()
    candidates = values[ok]
    index = np.flatnonzero(ok)
    for row, i in zip(candidates, index, strict=True):
        if not mask[i]:
            continue
        dominated = np.all(candidates <= row, axis=1) & np.any(candidates < row, axis=1)
        if dominated.any():
            mask[i] = False
    return mask
