"""Check the units: hardware (Amaranth simulation) = bit-exact model, and model vs PyTorch in floating point.

PyTorch is the reference only here (imported lazily): `torch.nn.functional.gelu` with the exact erf and
`torch.softmax`, both in float64. Errors are in output LSBs; the reference is clipped to the output range first,
so saturation at the format's edge is not counted as error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.hdl.gelu_model import GeluPlan, gelu_model
from hw.hdl.softmax_model import SoftmaxPlan, softmax_row_model


@dataclass(frozen=True)
class ErrorStats:
    """Absolute error against the float reference, in output LSBs, over `count` outputs."""

    max_error_lsb: float
    mean_error_lsb: float
    count: int


def _stats(err: np.ndarray) -> ErrorStats:
    return ErrorStats(float(err.max()), float(err.mean()), int(err.size))


def gelu_reference(plan: GeluPlan, raw: np.ndarray) -> np.ndarray:
    import torch

    x = torch.tensor(plan.in_fmt.to_float(raw), dtype=torch.float64)
    y = torch.nn.functional.gelu(x, approximate="none").numpy()
    return np.clip(y, plan.out_fmt.to_float(plan.out_fmt.min_raw), plan.out_fmt.to_float(plan.out_fmt.max_raw))


def gelu_error_curve(plan: GeluPlan) -> tuple[np.ndarray, np.ndarray]:
    """(input values, error in LSBs) over every input of the format (exhaustive)."""
    raw = plan.in_fmt.all_raw()
    err = np.abs(plan.out_fmt.to_float(gelu_model(plan, raw)) - gelu_reference(plan, raw)) / plan.out_fmt.lsb
    return plan.in_fmt.to_float(raw), err


def gelu_errors(plan: GeluPlan) -> ErrorStats:
    """Exhaustive error of the model against torch's exact-erf GELU."""
    return _stats(gelu_error_curve(plan)[1])


def softmax_test_rows(plan: SoftmaxPlan, n_random: int = 40, seed: int = 0) -> list[np.ndarray]:
    """Random rows of many lengths and scales plus the edge cases (length 1, all equal, one dominant score,
    all at the most negative value, a full-length row)."""
    rng = np.random.default_rng(seed)
    fmt, n_max = plan.in_fmt, plan.max_len
    lo, hi = fmt.min_raw, fmt.max_raw
    rows = [np.array([rng.integers(lo, hi + 1)]), np.full(min(n_max, 7), 0), np.full(n_max, lo),
            np.array([hi] + [lo] * (n_max - 1)), np.array([0] + [lo] * (n_max - 1)), np.full(n_max, hi)]
    for _ in range(n_random):
        length = int(rng.integers(1, n_max + 1))
        scale = float(rng.choice([0.25, 1.0, 4.0, 16.0]))
        raw = fmt.from_float(rng.normal(0.0, scale, length))
        rows.append(raw)
    rows.append(rng.integers(lo, hi + 1, n_max))
    return [np.asarray(r, dtype=np.int64)[:n_max] for r in rows]


def softmax_reference(plan: SoftmaxPlan, row: np.ndarray) -> np.ndarray:
    """torch.softmax in float64, clipped to the output format's range (UQ0.16 cannot hold 1.0)."""
    import torch

    p = torch.softmax(torch.tensor(plan.in_fmt.to_float(row), dtype=torch.float64), dim=0).numpy()
    return np.minimum(p, plan.out_fmt.to_float(plan.out_fmt.max_raw))


def softmax_errors(plan: SoftmaxPlan, rows: list[np.ndarray]) -> ErrorStats:
    errs = [np.abs(plan.out_fmt.to_float(softmax_row_model(plan, r)) - softmax_reference(plan, r))
            / plan.out_fmt.lsb for r in rows]
    return _stats(np.concatenate(errs))


def gelu_hw_mismatches(plan: GeluPlan, raw: np.ndarray, *, stall_prob: float = 0.25, vcd=None) -> int:
    """Simulate the GELU unit on `raw` inputs (with random backpressure); count outputs != model."""
    from hw.hdl.gelu import Gelu
    from hw.hdl.sim import run_stream

    mask = (1 << plan.in_fmt.width) - 1
    run = run_stream(Gelu(plan), [int(v) & mask for v in raw], stall_prob=stall_prob, input_gap_prob=0.1,
                     vcd=vcd)
    out = _signed(np.array(run.outputs, dtype=np.int64), plan.out_fmt.width)
    return int(np.count_nonzero(out != gelu_model(plan, raw))) + abs(len(out) - len(raw))


def softmax_payloads(plan: SoftmaxPlan, rows: list[np.ndarray]) -> list[int]:
    """Raw input payloads {data, last} (data in the low bits) for a list of rows."""
    mask, w = (1 << plan.in_fmt.width) - 1, plan.in_fmt.width
    return [(int(v) & mask) | (int(j == len(r) - 1) << w) for r in rows for j, v in enumerate(r)]


def softmax_hw_mismatches(plan: SoftmaxPlan, rows: list[np.ndarray], *, stall_prob: float = 0.25, vcd=None) -> int:
    """Simulate the softmax unit on `rows`; count outputs whose data or `last` differ from the model."""
    from hw.hdl.sim import run_stream
    from hw.hdl.softmax import Softmax

    run = run_stream(Softmax(plan), softmax_payloads(plan, rows), stall_prob=stall_prob, input_gap_prob=0.1,
                     vcd=vcd)
    w = plan.out_fmt.width
    out = np.array(run.outputs, dtype=np.int64)
    want = np.concatenate([softmax_row_model(plan, r) for r in rows])
    want_last = np.concatenate([[0] * (len(r) - 1) + [1] for r in rows])
    return int(np.count_nonzero(out & ((1 << w) - 1) != want) + np.count_nonzero((out >> w) != want_last))


def _signed(v: np.ndarray, width: int) -> np.ndarray:
    return np.where(v >= 1 << (width - 1), v - (1 << width), v)
