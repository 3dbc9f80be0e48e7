"""The sweep's live display: a bar with N/M, failures, rate, ETA and the best point so far (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from simulator.output import console


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} pts/s" if speed else "- pts/s")


@contextmanager
def progress_display(name: str) -> Iterator[Callable[[Any], None]]:
    """Yields `update(SweepProgress)`; the display goes when the block ends."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("[red]{task.fields[failed]} failed[/red]"), _RateColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[best]}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(escape(name), total=None, failed=0, best="")

        def update(p: Any) -> None:
            best = f"best: {escape(p.best)}" if p.best else ""
            description = escape(name if p.phase == "evaluating" else f"{name}: {p.phase}")
            progress.update(task, completed=p.done, total=p.total or None, failed=p.failed, best=best,
                            description=description)

        yield update
