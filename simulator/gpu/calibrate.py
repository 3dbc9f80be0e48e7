"""Calibration and validation of the GPU kernel model against published measurements.

`load_points("calibration")` / `load_points("validation")` read the cited data files in `simulator/gpu/data/`;
`compare(points)` predicts each point and reports the relative error; `fit()` fits the constants named in
`constants.FITTED_NAMES` on the calibration points only (Nelder-Mead on the mean squared log error).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from hw.gpu import GpuTarget
from hw.registry import load_target
from simulator.gpu.accuracy import is_decode, set_label
from simulator.gpu.backward import bwd_flops, predict_backward
from simulator.gpu.catalog import FAMILY_BY_ARCH, kernel_spec
from simulator.gpu.constants import FITTED, FITTED_NAMES, Constants
from simulator.gpu.model import Shapes, fa_flops, packing_and_kernel, predict

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Point:
    """One published measurement: a shape on a GPU and its forward TFLOP/s (FlashAttention convention)."""

    target: str
    kernel: str
    batch: int
    heads: int
    kv_heads: int
    seq: int
    kv_seq: int
    head_dim: int
    causal: bool
    dtype: str
    tflops: float
    source: str
    approximate: bool = False
    cascade: str = "attention-1pass"
    training_pass: str = "fwd"
    #: V's head dim when it differs from `head_dim` (Q-K's), e.g. DeepSeek's 192/128; 0: equal
    value_dim: int = 0
    #: The measurement flushed the L2 before each run by writing a buffer of its size (nvbench's "cold" runs), so
    #: the timed kernel also writes those dirty lines back to HBM (`l2_writeback_s`)
    l2_flush_by_write: bool = False
    #: A causal sliding window of this many keys (query p sees keys p - W < m <= p, cuDNN's
    #: `diagonal_band_left_bound`); 0: none
    window: int = 0
    #: timed by this project (`gpu_validate.py --measure`, kept in `data/measured/`), not published: its own sets
    measured_here: bool = False

    @property
    def d_v(self) -> int:
        return self.value_dim or self.head_dim

    @property
    def decode(self) -> bool:
        return is_decode(self.seq, self.kv_seq)

    def set_name(self) -> str:
        """The validation set this point reports in: GPU, kernel, dtype, mask, prefill or decode."""
        return set_label(self.target, self.kernel, self.dtype, self.causal, bool(self.window), self.decode,
                         self.training_pass, self.measured_here)


def _point(raw: dict) -> Point:
    seq, d = int(raw["seq"]), int(raw["head_dim"])
    heads = int(raw.get("heads", 2048 // d))
    return Point(target=raw["target"], kernel=raw["kernel"], batch=int(raw.get("batch", 16384 // seq)),
                 heads=heads, kv_heads=int(raw.get("kv_heads", heads)), seq=seq,
                 kv_seq=int(raw.get("kv_seq", seq)), head_dim=d, causal=bool(raw.get("causal", False)),
                 dtype=str(raw.get("dtype", "fp16")), tflops=float(raw["tflops"]), source=str(raw["source"]),
                 approximate=bool(raw.get("approximate", False)),
                 cascade=str(raw.get("cascade", "attention-1pass")), training_pass=str(raw.get("pass", "fwd")),
                 value_dim=int(raw.get("value_dim", 0)), l2_flush_by_write=raw.get("l2_flush") == "memset",
                 window=int(raw.get("window", 0)))


@lru_cache(maxsize=4)
def load_points(which: str) -> tuple[Point, ...]:
    """The points of `simulator/gpu/data/{which}.yaml` ("calibration", "validation" or "backward_fit"); the
    validation points also hold every measured run kept in `data/measured/` (`measured_points`)."""
    data = yaml.safe_load((DATA_DIR / f"{which}.yaml").read_text())
    points = tuple(_point(p) for p in data["points"])
    return points + measured_points() if which == "validation" else points


#: `benchmarks/gpu_validate.py --measure --out FILE` runs (torch SDPA timed on a GPU) kept as validation data
MEASURED_DIR = DATA_DIR / "measured"
#: torch SDPA backends that run no kernel the model has: predicted with the GPU's default, flagged approximate
UNMODELLED_BACKENDS = ("efficient", "default")


def measured_points(folder: Path = MEASURED_DIR) -> tuple[Point, ...]:
    """Every timed row of the `--measure --out` JSON files in `folder`, as a validation point: the run's profile
    and dtype, the kernel the run predicted the backend with (flash: FlashAttention-2; cuDNN where it runs), and a
    source naming the device, driver, clock, torch version and file. A row the backend could not run is skipped, and
    so is a file without timed rows (`benchmarks/gpu_units.py`'s unit rates, kept beside them)."""
    import json

    points = []
    for path in sorted(folder.glob("*.json")):
        run = json.loads(path.read_text())
        if "rows" not in run or "summary" not in run:
            continue
        info = run["summary"]
        source = (f"torch SDPA {info['backend']} on {info['device']} (driver {info.get('driver_version', '?')}, SM "
                  f"clock {info.get('clocks.sm', '?')}, torch {info.get('torch', '?')}; data/measured/{path.name})")
        for row in run["rows"]:
            if not isinstance(row.get("measured_tflops"), int | float):
                continue
            points.append(Point(
                target=info["profile"], kernel=row["kernel"], batch=int(row["batch"]), heads=int(row["heads"]),
                kv_heads=int(row["kv_heads"]), seq=int(row["seq"]), kv_seq=int(row["kv_seq"]),
                head_dim=int(row["head_dim"]), causal=bool(row["causal"]), dtype=info["dtype"],
                tflops=float(row["measured_tflops"]), source=source,
                approximate=info["backend"] in UNMODELLED_BACKENDS, measured_here=True))
    return tuple(points)


def predict_points(points: tuple[Point, ...], constants: Constants = FITTED) -> np.ndarray:
    """Predicted TFLOP/s for each point, grouping points that share a target, head dim, mask and dtype."""
    out = np.zeros(len(points))
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(points):
        if p.cascade != "attention-1pass":  # head dims from the cascade's roles (MLA): through the backend
            out[i] = _predict_via_backend(p, constants)
            continue
        key = (p.target, p.kernel, p.head_dim, p.d_v, p.causal, p.dtype, p.training_pass, p.window,
               _own_query_tile(p))
        groups.setdefault(key, []).append(i)
    for (target, kernel, d, d_v, causal, dtype, step, window, _), idx in groups.items():
        ps = [points[i] for i in idx]
        shapes = Shapes.of([p.batch for p in ps], [p.heads for p in ps], [p.kv_heads for p in ps],
                           [p.seq for p in ps], [p.kv_seq for p in ps])
        args = {"d_qk": d, "d_v": d_v, "causal": causal, "dtype": dtype, "constants": constants, "family": kernel,
                "window": window or None}
        gpu = load_target(target)
        fwd_s = 0.0
        if step != "bwd":
            ph = predict(gpu, shapes, **args).phases_s
            writeback = np.where([p.l2_flush_by_write for p in ps], l2_writeback_s(gpu, constants), 0.0)
            fwd_s = _latency_s(ph.launch, ph.compute, ph.memory + writeback)
        bwd_s = predict_backward(gpu, shapes, **args).latency_s if step != "fwd" else 0.0
        flops = (fa_flops(shapes, d, d_v, causal, window or None) if step != "bwd" else 0.0) \
            + (bwd_flops(shapes, d, d_v, causal, window or None) if step != "fwd" else 0.0)
        out[idx] = flops / (fwd_s + bwd_s) / 1e12
    return out


def l2_writeback_s(gpu: GpuTarget, constants: Constants) -> float:
    """HBM time of writing back a whole L2 of dirty lines: what a kernel timed after nvbench's cold-run flush
    (nvbench/detail/l2flush.cuh: `cudaMemsetAsync` over a buffer of `cudaDevAttrL2CacheSize` bytes, issued before
    each timed launch) pays on top of its own traffic as its reads evict those lines."""
    return gpu.l2_bytes / (gpu.hbm.bw_bytes_per_s * constants.hbm_efficiency)


def _latency_s(launch_s: np.ndarray, compute_s: np.ndarray, memory_s: np.ndarray) -> np.ndarray:
    """The model's forward latency from its phases (`model.predict`: launch + max(compute, memory)), here with
    a measurement's write-back added to the memory time."""
    return launch_s + np.maximum(compute_s, memory_s)


def _own_query_tile(p: Point) -> int:
    """The query tile `predict` picks for this point alone: `predict` takes one kernel for its whole batch (the
    one for its most rows), so a decode point is batched only with points whose own choice is the same tile."""
    shapes = Shapes.of([p.batch], [p.heads], [p.kv_heads], [p.seq], [p.kv_seq])
    _, k = packing_and_kernel(load_target(p.target), shapes, d_qk=p.head_dim, d_v=p.d_v, causal=p.causal,
                              dtype=p.dtype, family=p.kernel)
    return k.block_q


def _predict_via_backend(p: Point, constants: Constants) -> float:
    from simulator.gpu.backend import BACKEND, GpuOptions, evaluate_plan

    options = GpuOptions(batch=p.batch, heads=p.heads, kv_heads=p.kv_heads, seq=p.seq, kv_seq=p.kv_seq,
                         head_dim=p.head_dim, value_dim=p.value_dim or None, causal=p.causal, dtype=p.dtype,
                         cascade=p.cascade, kernel=p.kernel)
    res = evaluate_plan(BACKEND.plan(load_target(p.target), options), constants)
    if not p.l2_flush_by_write:
        return res.tflops
    ph = res.phases_s
    writeback = l2_writeback_s(load_target(p.target), constants)
    return res.flops / _latency_s(ph["launch"], ph["compute"], ph["memory"] + writeback) / 1e12


def compare(points: tuple[Point, ...], constants: Constants = FITTED) -> list[dict]:
    """One row per point: shape, measured and predicted TFLOP/s, relative error (predicted / measured - 1)."""
    pred = predict_points(points, constants)
    return [{"target": p.target, "kernel": p.kernel, "batch": p.batch, "heads": p.heads, "seq": p.seq,
             "head_dim": p.head_dim, "causal": p.causal, "window": p.window or None, "dtype": p.dtype,
             "measured_tflops": p.tflops,
             "predicted_tflops": float(q),
             "error": float(q / p.tflops - 1.0), "approximate": p.approximate,
             "default_kernel": kernel_spec(p.kernel).family == FAMILY_BY_ARCH[load_target(p.target).architecture],
             "set": p.set_name(), "pass": p.training_pass, "source": p.source}
            for p, q in zip(points, pred, strict=True)]


def mean_abs_error(rows: list[dict]) -> float:
    """Mean of |predicted / measured - 1| over `rows` (NaN when empty)."""
    return float(np.mean([abs(r["error"]) for r in rows])) if rows else float("nan")


def _loss(x: np.ndarray, points: tuple[Point, ...], base: Constants) -> float:
    bounded = [i for i, n in enumerate(FITTED_NAMES) if n.endswith(("overlap", "efficiency"))]
    if np.any(x <= 0) or np.any(x[bounded] > 1):  # overlaps and efficiencies are fractions
        return 1e9
    c = base.with_values(**dict(zip(FITTED_NAMES, map(float, x), strict=True)))
    pred = predict_points(points, c)
    meas = np.array([p.tflops for p in points])
    return float(np.mean(np.log(pred / meas) ** 2))


def _nelder_mead(f, x0: np.ndarray, step: float = 0.1, iters: int = 400, tol: float = 1e-10) -> np.ndarray:  # noqa: ANN001
    """Minimise f from x0 (a plain Nelder-Mead; numpy only, to avoid a scipy dependency)."""
    n = len(x0)
    simplex = [x0] + [x0 + step * np.eye(n)[i] * max(abs(x0[i]), 1e-3) for i in range(n)]
    vals = [f(x) for x in simplex]
    for _ in range(iters):
        order = np.argsort(vals)
        simplex, vals = [simplex[i] for i in order], [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) < tol:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = centroid + 2 * (centroid - simplex[-1])
            fe = f(xe)
            simplex[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            simplex[-1], vals[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(xc)
            if fc < vals[-1]:
                simplex[-1], vals[-1] = xc, fc
            else:
                simplex = [simplex[0]] + [simplex[0] + 0.5 * (s - simplex[0]) for s in simplex[1:]]
                vals = [vals[0]] + [f(s) for s in simplex[1:]]
    return simplex[int(np.argmin(vals))]


def fit(base: Constants = FITTED) -> Constants:
    """Fit the named constants on the calibration points only; returns them rounded to 3 significant digits."""
    points = load_points("calibration")
    x0 = np.array([getattr(base, n) for n in FITTED_NAMES], dtype=float)
    best = _nelder_mead(lambda x: _loss(x, points, base), x0)
    return base.with_values(**{n: float(f"{v:.3g}") for n, v in zip(FITTED_NAMES, best, strict=True)})


def fit_backward(base: Constants = FITTED) -> float:
    """Fit `bwd_mma_efficiency` on `backward_fit.yaml` only (no forward or validation point); 3 digits."""
    points = load_points("backward_fit")

    def loss(x: np.ndarray) -> float:
        if not 0 < x[0] <= 1:
            return 1e9
        pred = predict_points(points, base.with_values(bwd_mma_efficiency=float(x[0])))
        return float(np.mean(np.log(pred / np.array([p.tflops for p in points])) ** 2))

    best = _nelder_mead(loss, np.array([0.8]))
    return float(f"{best[0]:.3g}")
