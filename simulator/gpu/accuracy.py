"""How far this model was from measured kernels of the same kind: the `measured_error` of a GPU result.

Every validation point (`data/validation.yaml`, never fitted) has a set - GPU, kernel, dtype, mask, prefill or
decode, pass - and an error, predicted / measured - 1 (positive: the model is too fast). `data/validation_errors.json`
keeps those errors, written by `benchmarks/gpu_validate.py --write-errors` and checked against a fresh comparison by
the tests, so a result can say, at no cost, how the model did on the measured points of its own set and on the
ones nearest its shape (its head dim and window, or the nearest the set has; sequence lengths within a factor of
two, else the nearest). A set with no point says so: that GPU, kernel, dtype, mask and pass were never checked.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.gpu.catalog import kernel_spec

ERRORS_FILE = Path(__file__).parent / "data" / "validation_errors.json"
#: the suffix of the sets of this project's own runs (`gpu_validate.py --measure --out`, kept in `data/measured/`)
MEASURED_HERE = " (torch SDPA, measured here)"
#: sequence lengths within this factor of the query's count as near it
NEAR_FACTOR = 2.0


def is_decode(seq: int, kv_seq: int) -> bool:
    """A decode shape, as the validation sets split them: a few query rows against a longer K/V sequence."""
    return seq <= 16 < kv_seq


def set_label(target: str, kernel: str, dtype: str, causal: bool, windowed: bool, decode: bool, training_pass: str,
              measured_here: bool = False) -> str:
    """A validation set's name, e.g. "h100 fa3 fp8 causal prefill" or "gb200 cudnn bf16 non-causal prefill bwd"."""
    mask = "sliding-window" if windowed else "causal" if causal else "non-causal"
    phase = "decode" if decode else "prefill"
    step = "" if training_pass == "fwd" else f" {training_pass}"
    here = MEASURED_HERE if measured_here else ""
    return f"{target} {kernel_spec(kernel).name} {dtype} {mask} {phase}{step}{here}"


def error_rows() -> list[dict[str, Any]]:
    """The validation errors as they are now (what `validation_errors.json` must hold): set, lengths, head dim,
    error and whether the point's shape is assumed, rounded to 4 decimals."""
    from simulator.gpu.calibrate import compare, load_points

    points = load_points("validation")
    return [{"set": p.set_name(), "seq": p.seq, "kv_seq": p.kv_seq, "head_dim": p.head_dim, "window": p.window,
             "error": round(r["error"], 4), "approximate": p.approximate}
            for p, r in zip(points, compare(points), strict=True)]


def write_errors(path: Path | None = None) -> Path:
    """Write `error_rows()` to `path` (default ERRORS_FILE), one row per line, so that a model change shows in the
    diff as the points it moved."""
    path = path or ERRORS_FILE
    rows = ",\n".join(json.dumps(r) for r in error_rows())
    head = {"generated_by": "python benchmarks/gpu_validate.py --write-errors",
            "error": "predicted / measured - 1 (positive: the model is too fast)"}
    path.write_text(json.dumps(head)[:-1] + ',\n"rows": [\n' + rows + "\n]}\n")
    _by_set.cache_clear()  # the comparison above read the old file through the results it evaluated
    return path


@lru_cache(maxsize=1)
def _by_set() -> dict[str, list[dict[str, Any]]]:
    rows = json.loads(ERRORS_FILE.read_text())["rows"] if ERRORS_FILE.exists() else []
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["set"], []).append(r)
    return out


def _nearest(rows: list[dict[str, Any]], key: str, value: float, factor: float = 1.0) -> list[dict[str, Any]]:
    """The rows whose `key` is within `factor` of `value` (a ratio), else those at the nearest value."""
    gap = [abs(math.log(max(r[key], 1) / max(value, 1))) for r in rows]
    close = [r for r, g in zip(rows, gap, strict=True) if g <= math.log(factor) + 1e-9]
    return close or [r for r, g in zip(rows, gap, strict=True) if g <= min(gap) + 1e-9]


def _near(rows: list[dict[str, Any]], head_dim: int, window: int, length: int, decode: bool) -> list[dict[str, Any]]:
    """The set's points nearest the query: at its head dim and window (or the nearest the set has), then at
    lengths within NEAR_FACTOR (the K/V length for decode), else at the nearest length."""
    near = _nearest(rows, "head_dim", head_dim)
    near = _nearest(near, "window", window) if window else near
    return _nearest(near, "kv_seq" if decode else "seq", length, NEAR_FACTOR)


def measured_error(set_name: str, head_dim: int, seq: int, kv_seq: int, decode: bool,
                   window: int | None = None) -> dict[str, Any]:
    """The model's error on the published points of `set_name`, overall and near this shape (see module doc), and
    under `measured_here` the same for this project's own runs of that set (`data/measured/`) when there are any."""
    out = _set_error(set_name, head_dim, seq, kv_seq, decode, window)
    here = _set_error(set_name + MEASURED_HERE, head_dim, seq, kv_seq, decode, window)
    return {**out, "measured_here": here} if here["points"] else out


def _set_error(set_name: str, head_dim: int, seq: int, kv_seq: int, decode: bool,
               window: int | None) -> dict[str, Any]:
    rows = _by_set().get(set_name, [])
    if not rows:
        return {"set": set_name, "points": 0}
    errors = [r["error"] for r in rows]
    near = _near(rows, head_dim, window or 0, kv_seq if decode else seq, decode)
    key = "kv_seq" if decode else "seq"
    out = {"set": set_name, "points": len(rows), "mean_abs_error": sum(map(abs, errors)) / len(rows),
           "error_min": min(errors), "error_max": max(errors),
           "shape_assumed_points": sum(r["approximate"] for r in rows),
           "near_points": len(near), "near_head_dim": near[0]["head_dim"]}
    if window:
        out["near_window"] = near[0]["window"]
    return {**out, "near_length": key,
            "near_length_min": min(r[key] for r in near), "near_length_max": max(r[key] for r in near),
            "near_error_min": min(r["error"] for r in near), "near_error_max": max(r["error"] for r in near)}
