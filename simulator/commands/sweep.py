"""`cascade sweep SWEEP.yaml`: run a grid of evaluations, store each as it finishes, print the table."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from simulator.output import console, emit, fmt


def sweep_command(
    sweep: Annotated[Path, typer.Argument(help="sweep YAML file")],
    out: Annotated[Path | None, typer.Option("--out", help="output directory (default results/NAME)")] = None,
    workers: Annotated[int, typer.Option("--workers", help="parallel worker processes")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask.distributed scheduler address")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue a sweep, skipping stored points")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run every evaluation of a sweep file; results.jsonl, table.csv and plot.png go to --out."""
    from simulator.sweep import run_sweep
    from simulator.sweep.spec import load_sweep

    spec = load_sweep(sweep)
    out_dir = out or Path("results") / spec.name
    if json_:
        summary = run_sweep(spec, out_dir, workers, scheduler, resume)
    else:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(spec.name, total=None)
            summary = run_sweep(spec, out_dir, workers, scheduler, resume,
                                on_point=lambda i, n: progress.update(task, completed=i, total=n))
    emit(asdict(summary), json_, _render)
    if summary.failed:
        raise typer.Exit(1)


def _render(s: dict[str, Any]) -> None:
    table = Table(title=f"{s['name']}: {s['points']} points ({s['computed']} computed, {s['skipped']} resumed, "
                        f"{s['failed']} failed) in {s['wall_s']:.2f} s")
    rows = s["table"]
    for col in rows[0] if rows else []:
        table.add_column(col)
    for row in rows:
        table.add_row(*(fmt(v) for v in row.values()))
    console.print(table)
    for err in s["errors"][:10]:
        console.print(f"[red]failed[/red] {err}")
    console.print(f"table: {s['table_csv']}" + (f"   plot: {s['plot_png']}" if s["plot_png"] else ""))
