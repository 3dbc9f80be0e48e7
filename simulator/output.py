"""Print a result either as one JSON object (`--json`) or as a readable rich table."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def emit(result: Mapping[str, Any], as_json: bool, render: Callable[[Mapping[str, Any]], None]) -> None:
    """Print `result` as one JSON object on stdout, or through `render` as tables."""
    if as_json:
        print(json.dumps(_jsonable(result), indent=None))
    else:
        render(result)


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
