"""Print a result either as one JSON object (`--json`) or as a readable rich table."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.errors import SimulatorError

console = Console()


def jsonable(value: Any, where: str = "result") -> Any:
    """A result (frozen dataclasses, mappings, sequences, numpy scalars) as plain JSON values, fields in order.

    A non-finite number is never printed (as "inf" or otherwise): it means an input the model cannot cost, and is
    reported as an error naming the field."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item(), where)
    if isinstance(value, float) and not math.isfinite(value):
        raise SimulatorError(f"{where} is {value}: the model cannot cost this input (a size or rate out of range); "
                             "check the options and --set values")
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)




def emit(result: Any, as_json: bool, render: Callable[[Mapping[str, Any]], None]) -> None:
    """Print `result` (a dataclass or mapping) as one JSON object on stdout, or through `render` as tables."""
    record = jsonable(result)
    if as_json:
        print(json.dumps(record, indent=None, allow_nan=False))
    else:
        render(record)


def key_value_table(title: str, rows: Mapping[str, Any]) -> Table:
    """A two-column table of scalar fields, numbers formatted to 4 significant digits."""
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(escape(str(key)), escape(fmt(value)))
    return table


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
