"""`cascade analyze CASCADE`: passes, op counts, footprints, intensity, and `--verify` against torch."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from simulator.errors import SimulatorError
from simulator.output import console, emit, fmt, key_value_table


def parse_sizes(text: str | None) -> dict[str, int] | None:
    """`M=4096,P=4096,E=64` -> {"M": 4096, ...}; errors name the option and the expected form."""
    if not text:
        return None
    sizes = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) <= 0:
            raise SimulatorError(f"--sizes: cannot read {item!r}; expected NAME=POSITIVE_INT pairs, "
                                 "e.g. --sizes M=4096,P=4096,E=64,F=64,M0=64")
        sizes[name.strip()] = int(value)
    return sizes


def analyze_cascades(names: list[str], sizes: dict[str, int] | None, verify: bool,
                     bytes_per_element: int) -> list[dict[str, Any]]:
    """`analyze` of each cascade; with `--all`, sizes a cascade does not use are skipped for it."""
    from einsum_cascades.loader import load_cascade
    from einsum_cascades.shape import free_size_symbols

    out = []
    for name in names:
        cascade = load_cascade(name)
        own = {k: v for k, v in (sizes or {}).items() if k in free_size_symbols(cascade)} if sizes else None
        out.append(analyze_one(cascade, own, verify, bytes_per_element))
    return out


def analyze_one(cascade: Any, sizes: dict[str, int] | None, verify: bool, bytes_per_element: int) -> dict[str, Any]:
    from einsum_cascades.report import analyze
    from einsum_cascades.shape import check_sizes

    if sizes:
        check_sizes(cascade, sizes)
    return analyze(cascade, sizes, verify, bytes_per_element)


def analyze_command(
    cascade: Annotated[str | None, typer.Argument(help="built-in cascade name or a cascade YAML file")] = None,
    all_: Annotated[bool, typer.Option("--all", help="analyse every built-in cascade")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="execute on random inputs and compare with torch")] = False,
    sizes: Annotated[str | None, typer.Option("--sizes", help="bind sizes, e.g. M=4096,P=4096,E=64,F=64,M0=64")] = None,
    bytes_per_element: Annotated[int, typer.Option("--bytes-per-element", help="bytes per element")] = 2,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Analyse a cascade: pass bound, op counts by kind, footprints, compulsory traffic, intensity."""
    if (cascade is None) == (not all_):
        raise SimulatorError("give one cascade (name or .yaml file) or --all")
    bound = parse_sizes(sizes)
    if bytes_per_element <= 0:
        raise SimulatorError(f"must be a positive integer, not {bytes_per_element}", source="--bytes-per-element")
    from einsum_cascades.library import library_names
    from einsum_cascades.loader import load_cascade

    if all_:
        results = analyze_cascades(library_names(), bound, verify, bytes_per_element)
        emit({"cascades": results}, json_, _render_many)
        if verify and not all(r["verified"] for r in results):
            raise typer.Exit(1)
    else:
        result = analyze_one(load_cascade(cascade), bound, verify, bytes_per_element)
        emit(result, json_, _render_one)
        if verify and not result["verified"]:
            raise typer.Exit(1)


def _render_one(r: dict[str, Any]) -> None:
    head = {k: r[k] for k in ("name", "passes", "flops", "min_traffic_bytes", "intensity_flops_per_byte")}
    if "verified" in r:
        head.update(verified=r["verified"], max_error=r["max_error"])
    console.print(key_value_table(r["description"], head))
    console.print(key_value_table("op counts", r["op_counts"]))
    table = Table(title="einsums")
    for col in ("name", "pass", "einsum", "op counts"):
        table.add_column(col, overflow="fold")
    for row in r["einsums"]:
        ops = ", ".join(f"{k}: {fmt(v)}" for k, v in row["op_counts"].items())
        table.add_row(row["name"], str(row["pass"]), escape(row["einsum"]), ops)
    console.print(table)
    for note in r["assumptions"]:
        console.print(f"[dim]note: {note}[/dim]")


def _render_many(res: dict[str, Any]) -> None:
    rows = res["cascades"]
    table = Table(title="library cascades")
    columns = ["cascade", "passes", "einsums", "flops", "intensity (flop/B)"]
    if rows and "verified" in rows[0]:
        columns += ["verified", "max error"]
    for col in columns:
        table.add_column(col, no_wrap=col == "cascade")
    for r in rows:
        cells = [r["name"], str(r["passes"]), str(len(r["einsums"])), fmt(r["flops"]),
                 fmt(r["intensity_flops_per_byte"])]
        if "verified" in r:
            cells += ["yes" if r["verified"] else "NO", f"{r['max_error']:.1e}"]
        table.add_row(*cells)
    console.print(table)
