"""The sweep table: one row per point, columns from the sweep file (dotted paths reach nested results)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from simulator.sweep.spec import SweepSpec

DEFAULT_RESULT_COLUMNS = ("latency_s", "energy_j", "tflops", "bound")


def lookup(record: dict[str, Any], column: str) -> Any:
    """A column's value: a point field, or a (dotted) path into the result, e.g. `utilization.pe_2d`."""
    if column in record["point"]:
        return record["point"][column]
    value: Any = record["result"]
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def columns_of(spec: SweepSpec, records: list[dict[str, Any]]) -> list[str]:
    if spec.table:
        return list(spec.table)
    present = set().union(*(r["result"].keys() for r in records)) if records else set()
    return list(spec.grid) + [c for c in DEFAULT_RESULT_COLUMNS if c in present]


def table_rows(spec: SweepSpec, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = columns_of(spec, records)
    order = {p_key: i for i, p_key in enumerate(_keys(spec))}
    records = sorted(records, key=lambda r: order.get(r["key"], len(order)))
    return [{c: lookup(r, c) for c in columns} for r in records]


def _keys(spec: SweepSpec) -> list[str]:
    from simulator.sweep.store import point_key

    return [point_key(p) for p in spec.points()]


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path
