"""`cascade list [cascades|targets|workloads|patterns]`: the built-in names a user can pass elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from simulator.errors import SimulatorError
from simulator.output import console, emit


def _cascades() -> list[dict[str, str]]:
    from einsum_cascades.library import library_entries

    return [{"name": e.name, "description": e.description, "source": e.citation} for e in library_entries()]


def _targets() -> list[dict[str, str]]:
    from hw.registry import builtin_target_entries

    return builtin_target_entries()


def _workloads() -> list[dict[str, str]]:
    from simulator.workloads import workload_entries

    return workload_entries()


def _patterns() -> list[dict[str, str]]:
    from cascade_base.yamlio import load_yaml  # the data file of simulator.sparse.catalogue, without its package

    path = Path(__file__).resolve().parents[1] / "data" / "patterns.yaml"
    return [{k: str(v) for k, v in row.items()} for row in load_yaml(path, SimulatorError)["patterns"]]


#: catalogue name -> function listing its entries as rows with at least `name`.
CATALOGUES: dict[str, Callable[[], list[dict[str, str]]]] = {
    "cascades": _cascades,
    "targets": _targets,
    "workloads": _workloads,
    "patterns": _patterns,
}


def list_catalogues(what: str | None = None) -> dict[str, list[dict[str, str]]]:
    """Entries of one catalogue, or of all when `what` is None."""
    if what is not None and what not in CATALOGUES:
        raise SimulatorError(f"cannot list {what!r}; choose one of: {', '.join(CATALOGUES)}")
    names = [what] if what else list(CATALOGUES)
    return {name: CATALOGUES[name]() for name in names}


def list_command(
    what: Annotated[str | None, typer.Argument(help="cascades, targets, workloads or patterns")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """List built-in cascades, targets, workloads and sparse patterns."""
    result = list_catalogues(what)

    def render(res: dict) -> None:
        for name, rows in res.items():
            table = Table(title=name)
            columns = list(rows[0]) if rows else ["name"]
            for col in columns:
                table.add_column(col, overflow="fold")
            for row in rows:
                table.add_row(*(str(row.get(c, "")) for c in columns))
            console.print(table)

    emit(result, json_, render)
