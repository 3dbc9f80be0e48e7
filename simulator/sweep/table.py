"""The sweep table: one row per point, columns from the sweep file (dotted paths reach nested results), and its
exports (CSV always, Parquet when pyarrow is installed)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.errors import SimulatorError
from simulator.sweep.objectives import has, value_of
from simulator.sweep.spec import SweepSpec

DEFAULT_RESULT_COLUMNS = ("latency_s", "energy_j", "area_um2", "tflops", "bound")
#: columns the sweep itself adds to every row
FLAG_COLUMNS = ("feasible", "pareto")


@dataclass(frozen=True)
class Record:
    """One point with its result, and where it stands (meets the constraints, on the Pareto front)."""

    key: str
    point: dict[str, Any]
    result: dict[str, Any]
    feasible: bool = True
    pareto: bool = False


def lookup(record: Record, column: str) -> Any:
    """A column's value: a point field, a flag, or a (dotted or derived) key of the result."""
    if column in record.point:
        return record.point[column]
    if column in FLAG_COLUMNS:
        return getattr(record, column)
    return value_of(record.result, column)


def columns_of(spec: SweepSpec, records: list[Record]) -> list[str]:
    if spec.table:
        return list(spec.table)
    first = records[0].result if records else {}
    axes = spec.varied() or [a for a in spec.axis_names() if a == "target"] or ["target"]
    results = [c for c in (*spec.objectives, *DEFAULT_RESULT_COLUMNS) if has(first, c)]
    flags = list(FLAG_COLUMNS) if spec.objectives else []
    return list(dict.fromkeys([*axes, *results, *flags]))


def check_columns(spec: SweepSpec, point: dict[str, Any], result: dict[str, Any], target: str) -> None:
    """Every table and plot column names an axis, a flag or a result key (checked on a target's first result)."""
    wanted = [(c, f"table[{i}]") for i, c in enumerate(spec.table)]
    if spec.plot:
        wanted += [(getattr(spec.plot, f), f"plot.{f}") for f in ("x", "y", "series", "facet")
                   if getattr(spec.plot, f)]
    for column, where in wanted:
        if column in point or column in FLAG_COLUMNS or has(result, column):
            continue
        from simulator.sweep.objectives import scalar_keys

        raise SimulatorError(f"'{column}' is neither an axis ({', '.join(point)}) nor a result key of {target} "
                             f"({', '.join(scalar_keys(result))})", field=where)


def table_rows(spec: SweepSpec, records: list[Record]) -> list[dict[str, Any]]:
    columns = columns_of(spec, records)
    return [{c: lookup(r, c) for c in columns} for r in records]


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def write_parquet(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """The table as Parquet when pyarrow is installed (else None)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    if not rows:
        return None
    columns = {}
    for c in rows[0]:
        values = [_plain(r[c]) for r in rows]
        try:
            columns[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one column: as text
            columns[c] = pa.array([None if v is None else str(v) for v in values])
    pq.write_table(pa.table(columns), path)
    return path


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)
