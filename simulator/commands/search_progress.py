"""The live display of `cascade evaluate --search`: mappings costed, their rate, the fusion segments searched,
the elapsed time against `--time-limit` (or the count against `--budget`) and the best whole mapping so far."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.output import console

UNITS = {"latency": ("latency", "s"), "energy": ("energy", "J"), "edp": ("edp", "J s")}


def describe(stats: Any, objective: str) -> str:
    """One line: costed, rate, segments, best so far."""
    elapsed = max(stats.elapsed_s(), 1e-9)
    name, unit = UNITS.get(objective, (objective, ""))
    best = f"best {name} {stats.incumbent:.4g} {unit}" if stats.incumbent is not None else "no whole mapping yet"
    return (f"{stats.costed} mappings ({stats.costed / elapsed:.0f}/s), segments {stats.segments_searched}/"
            f"{stats.segments_total or '?'} ({stats.segments_pruned} pruned), {best}")


@contextmanager
def search_display(objective: str | None, budget: int | None, time_limit_s: float | None,
                   refresh_s: float = 0.1) -> Iterator[None]:
    """Within the block, searches show their progress on the console (transient: gone when the block ends)."""
    from mappers.search import search_progress

    objective = objective or "latency"
    columns = (TextColumn("searching"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as progress:
        total = float(time_limit_s) if time_limit_s else float(budget) if budget else None
        task = progress.add_task("", total=total)
        last = [0.0]

        def update(stats: Any) -> None:
            now = time.perf_counter()
            if now - last[0] < refresh_s:
                return
            last[0] = now
            done = stats.elapsed_s() if time_limit_s else stats.costed if budget else None
            progress.update(task, completed=done, description=describe(stats, objective))

        with search_progress(update):
            yield
