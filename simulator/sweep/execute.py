"""Evaluate batches of points: in this process, in local worker processes, or on a Dask cluster.

Points are sent in batches of one target each, so that a backend with a vectorised `cost_batch(plans)` is
called once per batch (any other backend is called once per point), and per-task overhead is paid per batch.
Local workers die with their parent: each asks the kernel for SIGKILL when its parent dies (Linux) and also
watches its parent's pid, so a sweep killed by SIGKILL or SIGTERM leaves no process holding the caller's pipes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cascade_base.errors import InputError
from simulator.errors import SimulatorError
from simulator.sweep.axes import TARGET_PREFIX, is_target_path
from simulator.sweep.store import Finished

#: (key, point_id, point)
Item = tuple[str, str, dict[str, Any]]


def build_request(point: dict[str, Any]) -> Any:
    """The `EvaluateRequest` of a point: `target.PATH` axes become its overrides."""
    from simulator.evaluate import EvaluateRequest

    fields = {k: v for k, v in point.items() if not is_target_path(k)}
    overrides = {k[len(TARGET_PREFIX):]: v for k, v in point.items() if is_target_path(k)}
    return EvaluateRequest(**fields, overrides=overrides)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, RecursionError | MemoryError):
        return f"{type(exc).__name__}: the point is too large to evaluate"
    return f"internal error ({type(exc).__name__}: {exc}); please report it with the point's inputs"


@functools.lru_cache(maxsize=64)
def _target_data(path: str, mtime_ns: int) -> tuple[dict[str, Any], Path]:
    from hw.registry import load_target_data

    return load_target_data(path)


def load_target(name: str, overrides: Any) -> Any:
    """`hw.registry.load_target`, with the target file parsed once per process rather than once per point
    (reading the YAML is most of a GPU point's time); the overrides are applied to a copy and validated as
    `--set` does."""
    from hw.overrides import apply_overrides
    from hw.registry import load_target as load
    from hw.registry import target_kind, target_model, target_path, validate_target

    if not overrides:
        return load(name)
    path = target_path(name)
    data, path = _target_data(str(path), path.stat().st_mtime_ns)
    changed = apply_overrides(data, overrides, target_model(target_kind(data, path)), path)
    return validate_target(changed, f"{path} (with --set {', '.join(o.path for o in overrides)})")


def _planned(point: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(backend, plan, overrides, request) of a point: `simulator.evaluate.evaluate` up to the cost call."""
    from hw.overrides import parse_overrides
    from simulator.backends import backend_for
    from simulator.backends.protocol import check_options

    request = build_request(point)
    overrides = parse_overrides(request.overrides)
    target = load_target(request.target, overrides)
    backend = backend_for(target.kind)
    options = check_options(backend, request, str(getattr(target, "name", request.target)))
    return backend, backend.plan(target, options), overrides, request


def _record(result: Any, overrides: Any) -> dict[str, Any]:
    from hw.overrides import describe
    from simulator.output import jsonable

    if overrides and hasattr(result, "overrides"):
        result = dataclasses.replace(result, overrides=describe(overrides))
    return jsonable(result)


def evaluate_batch(items: list[Item]) -> list[Finished]:
    """Evaluate `items` (one target); a point whose evaluation fails carries its error, the others go on."""
    out: list[Finished] = []
    planned: list[tuple[Item, Any, Any, float]] = []
    backend = None
    for item in items:
        start = time.perf_counter()
        try:
            backend_i, plan, overrides, _ = _planned(item[2])
        except Exception as exc:
            out.append(Finished(*item, None, _error_text(exc), time.perf_counter() - start))
            continue
        if hasattr(backend_i, "cost_batch") and (backend is None or backend is backend_i):
            backend = backend_i
            planned.append((item, plan, overrides, time.perf_counter() - start))
            continue
        try:
            out.append(Finished(*item, _record(backend_i.cost(plan), overrides), None, time.perf_counter() - start))
        except Exception as exc:
            out.append(Finished(*item, None, _error_text(exc), time.perf_counter() - start))
    if planned:
        start = time.perf_counter()
        try:
            results = list(backend.cost_batch([p for _, p, _, _ in planned]))
        except Exception as exc:
            results = [exc] * len(planned)
        share = (time.perf_counter() - start) / len(planned)
        for (item, _, overrides, plan_s), result in zip(planned, results, strict=True):
            try:
                if isinstance(result, Exception):
                    raise result
                out.append(Finished(*item, _record(result, overrides), None, plan_s + share))
            except Exception as exc:
                out.append(Finished(*item, None, _error_text(exc), plan_s + share))
    return out


def batches(items: list[Item], workers: int, max_batch: int = 64) -> list[list[Item]]:
    """Items grouped by target, cut into batches small enough that each worker gets several (progress and
    interruption stay fine-grained) and large enough to amortise the per-task cost."""
    by_target: dict[str, list[Item]] = {}
    for item in items:
        by_target.setdefault(str(item[2].get("target")), []).append(item)
    size = max(1, min(max_batch, len(items) // max(1, 4 * workers)))
    return [group[i:i + size] for group in by_target.values() for i in range(0, len(group), size)]


# -- local worker processes ----------------------------------------------------------------------------------

def _worker_init(parent_pid: int) -> None:
    """In each worker: Ctrl-C is the parent's to handle; die when the parent dies; torch single-threaded (a
    worker forked after the parent ran a threaded torch op hangs in its first parallel op otherwise: the OpenMP
    pool's threads are not copied by fork; one thread per worker process is what a sweep wants anyway)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def run_local(work: list[list[Item]], workers: int) -> Iterator[list[Finished]]:
    """Evaluate batches in `workers` processes (in this process when 1), yielding each as it finishes; the
    workers are killed when the iteration stops early (Ctrl-C, an error)."""
    if workers <= 1 or len(work) <= 1:
        for batch in work:
            yield evaluate_batch(batch)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    try:
        pending = {pool.submit(evaluate_batch, b) for b in work}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=5)
        with contextlib.suppress(Exception):  # the pool is broken now (its workers were killed): join its thread
            pool.shutdown(wait=True, cancel_futures=True)


# -- Dask ------------------------------------------------------------------------------------------------------

def run_dask(work: list[list[Item]], address: str, connect_timeout_s: float = 5.0) -> Iterator[list[Finished]]:
    """Evaluate batches on the Dask cluster whose scheduler is at `address`."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SimulatorError("--scheduler needs dask.distributed: pip install 'cascade-attention[distributed]'",
                             source="--scheduler") from None
    try:
        client = Client(address, timeout=f"{connect_timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SimulatorError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); start "
                             "one with `dask scheduler` or check the address", source="--scheduler") from None
    try:
        futures = [client.submit(evaluate_batch, b, pure=False) for b in work]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


def usable_workers(requested: int, points: int) -> tuple[int, str | None]:
    """Workers capped at the points to compute and the cores; the note says when the cap applied."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    usable = max(1, min(requested, points, cores))
    if usable < requested:
        return usable, f"--workers {requested} capped at {usable} ({points} points to compute, {cores} cores)"
    return usable, None


def chain(parts: Iterable[Iterable[list[Finished]]]) -> Iterator[list[Finished]]:
    for part in parts:
        yield from part
