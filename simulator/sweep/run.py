"""Run a sweep: evaluate every point not yet stored (in batches, in parallel), commit each batch as it finishes,
then mark the feasible and Pareto-optimal points and write the table, its exports and the figures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.errors import SimulatorError
from simulator.sweep import execute
from simulator.sweep.keys import point_id, point_key
from simulator.sweep.objectives import (
    check_keys,
    feasible,
    objective_key,
    objective_matrix,
    pareto_mask,
    sense,
    value_of,
)
from simulator.sweep.spec import SweepSpec, load_sweep
from simulator.sweep.store import Finished, SweepStore
from simulator.sweep.table import Record, check_columns, table_rows, write_csv, write_parquet


@dataclass(frozen=True)
class SweepProgress:
    """What the progress display shows: points done of the total, failures, the best point so far."""

    done: int
    total: int
    failed: int
    best: str | None = None
    phase: str = "evaluating"


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
    points_total: int = 0
    points_done: int = 0
    points_resumed: int = 0
    points_failed: int = 0
    points_stale: int = 0
    store: str = ""
    objectives: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    points_feasible: int = 0
    pareto: list[dict[str, Any]] = field(default_factory=list)
    pareto_table: list[dict[str, Any]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    workers: int = 1
    scheduler: str | None = None
    notes: list[str] = field(default_factory=list)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a sweep; what was finished is stored, `--resume` continues."""

    def __init__(self, stored: int, store: str) -> None:
        super().__init__(f"interrupted: {stored} points are stored in {store}; run the same command with "
                         "--resume to continue")
        self.stored, self.store = stored, store


Progress = Callable[[SweepProgress], None]


class Runner:
    """Evaluates items into the store, checking the objective and column keys on each target's first result."""

    def __init__(self, spec: SweepSpec, store: SweepStore, workers: int, scheduler: str | None,
                 on_progress: Progress | None, total: int) -> None:
        self.spec, self.store, self.workers, self.scheduler = spec, store, workers, scheduler
        self.on_progress, self.total = on_progress, total
        self.done = 0
        self.evaluated = 0
        self.failed: list[str] = []
        self.checked: set[str] = set()
        self.constraints = spec.parsed_constraints()
        self.best: tuple[float, str] | None = None

    def report(self, phase: str = "evaluating") -> None:
        if self.on_progress:
            best = None if self.best is None else self.best[1]
            self.on_progress(SweepProgress(self.done, self.total, len(self.failed), best, phase))

    def check(self, point: dict[str, Any], result: dict[str, Any]) -> None:
        target = str(point.get("target"))
        if target in self.checked:
            return
        keys = [(o, f"objectives[{i}]") for i, o in enumerate(self.spec.objectives)]
        keys += [(c.key, f"constraints[{i}]") for i, c in enumerate(self.constraints)]
        check_keys(result, keys, target)
        check_columns(self.spec, point, result, target)
        self.checked.add(target)

    def take(self, finished: list[Finished]) -> None:
        self.store.add(finished)
        for f in finished:
            self.done += 1
            self.evaluated += 1
            if f.error is not None:
                self.failed.append(f"{_describe(self.spec, f.point)}: {f.error}")
                continue
            assert f.result is not None
            self.check(f.point, f.result)
            self._best(f.point, f.result)
        self.report()

    def _best(self, point: dict[str, Any], result: dict[str, Any]) -> None:
        key = (self.spec.objectives or ["latency_s"])[0]
        value = value_of(result, key)
        if isinstance(value, int | float) and feasible(result, self.constraints) and (
                self.best is None or sense(key) * value < self.best[0]):
            self.best = (sense(key) * value, f"{objective_key(key)}={value:.4g} at {_describe(self.spec, point)}")

    def evaluate(self, items: list[execute.Item]) -> None:
        """Evaluate `items` (none of them stored): each target's first point here, to check keys before the
        rest is sent out; then the rest in batches, in parallel."""
        rest, probed = [], set()
        for item in items:
            target = str(item[2].get("target"))
            if target not in self.checked and target not in probed:
                probed.add(target)
                self.take(execute.evaluate_batch([item]))
            else:
                rest.append(item)
        work = execute.batches(rest, self.workers)
        runner = (execute.run_dask(work, self.scheduler) if self.scheduler
                  else execute.run_local(work, self.workers))
        for finished in runner:
            self.take(finished)


def _describe(spec: SweepSpec, point: dict[str, Any]) -> str:
    names = spec.varied() or list(point)
    return ", ".join(f"{n}={point.get(n)}" for n in names if n in point)


def run_sweep(spec: SweepSpec | str | Path, out_dir: str | Path, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, on_progress: Progress | None = None) -> SweepSummary:
    """Evaluate every point of `spec` into the store in `out_dir`, then write the table, exports and figures."""
    start = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if workers < 1:
        raise SimulatorError(f"--workers must be a positive integer, not {workers}", source="--workers")
    notes: list[str] = []
    with SweepStore(out_dir, spec.name, resume) as store:
        try:
            if spec.search:
                from simulator.sweep.search import run_search

                runner, items, resumed, used = run_search(spec, store, workers, scheduler, on_progress, notes)
            else:
                items = list({key: (key, point_id(p), p) for p in spec.points() if (key := point_key(p))}.values())
                if not items:
                    raise SimulatorError("the sweep has no points; give grid, zip or sample values", source="sweep")
                stored = store.done_keys()
                todo = [i for i in items if i[0] not in stored]
                resumed = len(items) - len(todo)
                used, note = (workers, None) if scheduler else execute.usable_workers(workers, max(1, len(todo)))
                notes += [note] if note else []
                runner = Runner(spec, store, used, scheduler, on_progress, len(todo))
                runner.report()
                runner.evaluate(todo)
        except KeyboardInterrupt:
            raise SweepInterrupted(store.count(), str(store.path)) from None
        stale = store.stale({pid: key for key, pid, _ in items})
        if stale:
            notes.append(f"{len(stale)} stored points are stale (their target, mapping, cascade or the tool "
                         "changed since); they were computed again and are not in the table")
        runner.report("writing table and plots")
        stored_points = store.load(key for key, _, _ in items)
        for key, _, point in items:
            if key in stored_points and stored_points[key].result is not None and str(point.get("target")) \
                    not in runner.checked:
                runner.check(point, stored_points[key].result)
        records = [Record(key, point, stored_points[key].result) for key, _, point in items
                   if key in stored_points and stored_points[key].result is not None]
        records = mark(spec, records, runner.constraints)
        summary_out = write_outputs(spec, records, store.out_dir)
        failed = [f"{_describe(spec, sp.point)}: {sp.error}" for sp in stored_points.values() if sp.error]
    computed = runner.evaluated - len(runner.failed)
    rows, pareto_rows, csv_path, plots, exports = summary_out
    return SweepSummary(
        spec.name, str(store.out_dir), len(items), computed, resumed, len(failed), failed, rows, csv_path,
        next((p for p in plots if Path(p).name == "plot.png"), None), time.perf_counter() - start,
        points_total=len(items), points_done=len(records), points_resumed=resumed, points_failed=len(failed),
        points_stale=len(stale), store=str(store.path), objectives=list(spec.objectives),
        constraints=list(spec.constraints), points_feasible=sum(r.feasible for r in records),
        pareto=[{"key": r.key, "point": r.point, "objectives": {o: value_of(r.result, o) for o in spec.objectives}}
                for r in records if r.pareto],
        pareto_table=pareto_rows, plots=plots, exports=exports, workers=used, scheduler=scheduler, notes=notes)


def mark(spec: SweepSpec, records: list[Record], constraints: list[Any]) -> list[Record]:
    """Records with `feasible` (meets every constraint) and `pareto` (no feasible point dominates it) set."""
    ok = [feasible(r.result, constraints) for r in records]
    optimal = [False] * len(records)
    if spec.objectives:
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            if ok[i]:
                groups.setdefault(repr([r.point.get(a) for a in spec.front_groups()]), []).append(i)
        for members in groups.values():
            mask = pareto_mask(objective_matrix([records[i].result for i in members], spec.objectives))
            for i, on_front in zip(members, mask, strict=True):
                optimal[i] = bool(on_front)
    return [Record(r.key, r.point, r.result, f, p) for r, f, p in zip(records, ok, optimal, strict=True)]


def write_outputs(spec: SweepSpec, records: list[Record], out: Path
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str, list[str], list[str]]:
    from simulator.sweep.plot import plot_breakdown, plot_pareto, plot_sweep, plot_trends

    rows = table_rows(spec, records)
    pareto_rows = [row for row, r in zip(rows, records, strict=True) if r.pareto]
    csv_path = write_csv(rows, out / "table.csv")
    exports = [str(csv_path)]
    if spec.objectives:
        exports.append(str(write_csv(pareto_rows, out / "pareto.csv")))
    parquet = write_parquet(rows, out / "table.parquet")
    exports += [str(parquet)] if parquet else []
    plots = []
    if records:
        if spec.plot:
            plots.append(plot_sweep(spec, records, out / "plot.png"))
        if spec.objectives:
            plots += [plot_pareto(spec, records, out / "pareto.png"), plot_trends(spec, records, out / "trends.png"),
                      plot_breakdown(spec, records, out / "breakdown.png")]
    return rows, pareto_rows, str(csv_path), [str(p) for p in plots if p], exports
