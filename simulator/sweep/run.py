"""Run a sweep: evaluate every point not yet stored, in parallel, then write the table and the plot."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cascade_base.errors import InputError
from cascade_base.files import writable_dir
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.sweep.plot import plot_sweep
from simulator.sweep.spec import SweepSpec, load_sweep
from simulator.sweep.store import ResultStore, load_records, point_key
from simulator.sweep.table import table_rows, write_csv

INPUT_ERRORS = (InputError,)


@dataclass(frozen=True)
class SweepSummary:
    name: str
    out_dir: str
    points: int
    computed: int
    skipped: int
    failed: int
    errors: list[str]
    table: list[dict[str, Any]]
    table_csv: str
    plot_png: str | None
    wall_s: float


def evaluate_point(point: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """Evaluate one point; a mistake in the point's inputs is recorded as its error, not raised."""
    try:
        return point, evaluate_record(EvaluateRequest(**point)), None
    except INPUT_ERRORS as exc:
        return point, None, str(exc)


def _sequential(points: list[dict[str, Any]]) -> Iterable[tuple]:
    for point in points:
        yield evaluate_point(point)


def _processes(points: list[dict[str, Any]], workers: int) -> Iterable[tuple]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(evaluate_point, p) for p in points]
        for future in as_completed(futures):
            yield future.result()


def _dask(points: list[dict[str, Any]], address: str) -> Iterable[tuple]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise SimulatorError("--scheduler needs dask.distributed: pip install 'cascade-attention[distributed]'") \
            from None
    with Client(address) as client:
        for future in dask_completed(client.map(evaluate_point, points, pure=False)):
            yield future.result()


def run_sweep(spec: SweepSpec | str | Path, out_dir: str | Path, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, on_point: Callable[[int, int], None] | None = None) -> SweepSummary:
    """Evaluate every point of `spec` into `out_dir` (results.jsonl, table.csv, plot.png)."""
    start = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if workers < 1:
        raise SimulatorError(f"--workers must be a positive integer, not {workers}")
    out = writable_dir(out_dir, "--out", SimulatorError)
    if load_records(out) and not resume:
        raise SimulatorError(f"{out} already holds results of a sweep; pass --resume to continue it, "
                             "or choose another --out")
    store = ResultStore(out)
    points = spec.points()
    todo = [p for p in points if point_key(p) not in store.done]
    runner = (_dask(todo, scheduler) if scheduler else
              _processes(todo, workers) if workers > 1 and len(todo) > 1 else _sequential(todo))
    failed: list[str] = []
    try:
        for i, (point, result, error) in enumerate(runner, start=1):
            store.add(point, result, error)
            if error:
                failed.append(f"{point_key(point)}: {error}")
            if on_point:
                on_point(i, len(todo))
    finally:
        store.close()
    wanted = {point_key(p) for p in points}
    records = [r for r in load_records(out) if "result" in r and r["key"] in wanted]
    rows = table_rows(spec, records)
    csv_path = write_csv(rows, out / "table.csv")
    png = plot_sweep(spec, rows, out / "plot.png") if spec.plot and rows else None
    return SweepSummary(spec.name, str(out), len(points), len(todo) - len(failed), len(points) - len(todo),
                        len(failed), failed, rows, str(csv_path), str(png) if png else None,
                        time.perf_counter() - start)
