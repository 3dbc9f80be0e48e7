"""`cascade sweep SWEEP.yaml`: run a sweep, store each point as it finishes, print the Pareto table."""

from __future__ import annotations

import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from simulator.output import console, emit, fmt


def sweep_command(
    sweep: Annotated[Path, typer.Argument(help="sweep YAML file (or a built-in example's name)")],
    out: Annotated[Path | None, typer.Option("--out", help="output directory (default results/NAME)")] = None,
    workers: Annotated[int, typer.Option("--workers", help="parallel worker processes")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask.distributed scheduler address")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue a sweep, skipping stored points")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run every evaluation of a sweep file into an SQLite store in --out; write table.csv and the plots."""
    from simulator.sweep.run import SweepInterrupted, run_sweep
    from simulator.sweep.spec import load_sweep

    spec = load_sweep(sweep)
    out_dir = out or Path("results") / spec.name
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if json_:
            summary = run_sweep(spec, out_dir, workers, scheduler, resume)
        else:
            from simulator.commands.sweep_progress import progress_display

            with progress_display(spec.name) as update:
                summary = run_sweep(spec, out_dir, workers, scheduler, resume, on_progress=update)
    except SweepInterrupted as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    emit(asdict(summary), json_, _render)
    if summary.failed:
        raise typer.Exit(1)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def shown_value(value: Any) -> str:
    """A table cell: sizes that are whole MiB or GiB with their suffix (`16MiB`), numbers to 4 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**20:
        for suffix, size in (("GiB", 2**30), ("MiB", 2**20)):
            if value % size == 0:
                return f"{value // size}{suffix}"
    return fmt(value)


def short(column: str) -> str:
    """A column's header: `target.arrays.pe2d.rows` as `pe2d.rows`."""
    return column.removeprefix("target.").removeprefix("arrays.")


def _render(s: dict[str, Any]) -> None:
    rows = s["pareto_table"] if s["objectives"] else s["table"]
    what = f"Pareto-optimal points ({' vs '.join(s['objectives'])})" if s["objectives"] else "points"
    title = (f"{s['name']}: {len(rows)} {what} of {s['points_total']} ({s['computed']} computed, "
             f"{s['points_resumed']} resumed, {s['points_failed']} failed) in {s['wall_s']:.2f} s")
    table = Table(title=escape(title))
    for col in rows[0] if rows else []:
        table.add_column(escape(short(col)))
    for row in rows:
        table.add_row(*(escape(shown_value(v)) for v in row.values()))
    console.print(table)
    for note in s["notes"]:
        console.print(f"note: {escape(note)}")
    for err in s["errors"][:10]:
        console.print(f"[red]failed[/red] {escape(err)}")
    if len(s["errors"]) > 10:
        console.print(f"... and {len(s['errors']) - 10} more failed points (see the store)")
    console.print(f"store: {escape(s['store'])}")
    console.print(f"tables: {escape(', '.join(s['exports']))}")
    if s["plots"]:
        console.print(f"plots: {escape(', '.join(s['plots']))}")
