"""Check the GPU kernel model against measurements: published data, and torch SDPA timed on this machine's GPU.

    python benchmarks/gpu_validate.py --data            # model vs calibration and validation data (no GPU needed)
    python benchmarks/gpu_validate.py --data --plot results/gpu-validation.png   # and a predicted-vs-measured plot
    python benchmarks/gpu_validate.py --measure         # also time torch SDPA on the local NVIDIA GPU, vs model
    python benchmarks/gpu_validate.py --write-errors    # after a model or data change: the errors results quote
    python benchmarks/gpu_validate.py --measure --backend cudnn --dtype bf16 --quick --json --out run.json

The data mode reports the fit error and the validation error by set (GPU, kernel, dtype, mask, prefill/decode).
Without an NVIDIA GPU the measuring mode says so and exits 0 (after the --data tables, so the run is never empty).
Measured TFLOP/s use FlashAttention's convention (4 * S * S2 * D * H * B, halved when causal). torch's "flash"
SDPA backend is FlashAttention-2 (mma.sync), predicted with `--kernel fa2` whatever the GPU; "cudnn" with the
cudnn kernel where it runs (Hopper, Blackwell); "efficient" and "default" with the GPU's default kernel (an
approximation: the memory-efficient kernel is none of the modelled ones). `--out` writes the measured rows with
the GPU name, driver, clocks and torch version, to be kept in the repo as validation data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from hw import load_target  # noqa: E402
from hw.gpu import PROFILE_BY_DEVICE_NAME, profile_for_device  # noqa: E402
from simulator.gpu.calibrate import compare, load_points, mean_abs_error  # noqa: E402
from simulator.gpu.catalog import kernel_spec  # noqa: E402
from simulator.gpu.model import Shapes, fa_flops, predict  # noqa: E402

#: Substrings of torch.cuda.get_device_name() -> built-in profile (`hw.gpu.PROFILE_BY_DEVICE_NAME`).
PROFILE_BY_NAME = PROFILE_BY_DEVICE_NAME
#: torch SDPA backend -> the kernel the model predicts it with (None: the GPU's default).
KERNEL_BY_BACKEND = {"flash": "fa2", "cudnn": "cudnn"}


@dataclass(frozen=True)
class Case:
    batch: int
    heads: int
    kv_heads: int
    seq: int
    kv_seq: int
    head_dim: int
    causal: bool


def grid(quick: bool) -> list[Case]:
    """FlashAttention's benchmark grid (batch * seq = 16k, hidden 2048), both masks, plus GQA decode shapes."""
    seqs = (1024, 4096) if quick else (512, 1024, 2048, 4096, 8192, 16384)
    cases = [Case(16384 // s, 2048 // d, 2048 // d, s, s, d, causal)
             for d in (64, 128) for causal in (False, True) for s in seqs]
    decode_kv = (8192,) if quick else (4096, 16384, 65536)
    cases += [Case(32, 32, 8, 1, kv, 128, False) for kv in decode_kv]
    return cases


def _print_table(rows: list[dict], columns: list[str]) -> None:
    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    widths = [max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(cell(r.get(c, "")).rjust(w) for c, w in zip(columns, widths, strict=True)))


def data_mode(as_json: bool) -> dict:
    """Model vs the calibration (fit) and validation (held-out) data files, with errors by group."""
    cal = compare(load_points("calibration"))
    val = compare(load_points("validation"))
    bwd_fit = compare(load_points("backward_fit"))  # fits only `bwd_mma_efficiency`
    groups = {
        "calibration (fit)": cal,
        "held-out, default kernel": [r for r in val if r["default_kernel"] and not r["approximate"]],
        "held-out, other kernel": [r for r in val if not r["default_kernel"] and not r["approximate"]],
        "held-out, shape assumed": [r for r in val if r["approximate"]],
        "all held-out": val,
    }
    summary = {name: {"points": len(rows), "mean_abs_error": mean_abs_error(rows)} for name, rows in groups.items()}
    by_set = {}
    for which, rows in (("fit", cal), ("fit (backward constant)", bwd_fit), ("validation", val)):
        for name in sorted({r["set"] for r in rows}):
            members = [r for r in rows if r["set"] == name]
            by_set[f"{which}: {name}"] = {"points": len(members), "mean_abs_error": mean_abs_error(members),
                                         "shape_assumed": any(r["approximate"] for r in members)}
    goals = issue_goals(val, by_set)
    if not as_json:
        cols = ["target", "kernel", "pass", "batch", "heads", "seq", "head_dim", "causal", "window", "dtype",
                "measured_tflops", "predicted_tflops", "error"]
        for name, rows in groups.items():
            if name == "all held-out":
                continue
            print(f"\n== {name}: {len(rows)} points, mean |error| {summary[name]['mean_abs_error']:.1%}")
            if rows:
                _print_table(rows, cols)
        print("\n== error by set")
        _print_table([{"set": k, **v} for k, v in by_set.items()], ["set", "points", "mean_abs_error",
                                                                    "shape_assumed"])
        _print_goals(goals)
    return {"summary": summary, "by_set": by_set, "goals": goals, "calibration": cal, "backward_fit": bwd_fit,
            "validation": val}


#: Issue 13's goals on the validation data: the mean |error| at most 8%, and no set above 12%.
MEAN_GOAL, SET_GOAL = 0.08, 0.12


def issue_goals(val: list[dict], by_set: dict) -> dict:
    """The validation data against the issue's goals, over every point and over the points with a known shape."""
    known = [r for r in val if not r["approximate"]]
    sets = {k: v for k, v in by_set.items() if k.startswith("validation: ")}
    above = {k.removeprefix("validation: "): v["mean_abs_error"] for k, v in sets.items()
             if v["mean_abs_error"] > SET_GOAL}
    known_above = {k.removeprefix("validation: "): v["mean_abs_error"] for k, v in sets.items()
                   if v["mean_abs_error"] > SET_GOAL and not v["shape_assumed"]}
    mean_all, mean_known = mean_abs_error(val), mean_abs_error(known)
    return {"mean_goal": MEAN_GOAL, "set_goal": SET_GOAL,
            "mean_abs_error": mean_all, "mean_abs_error_shape_known": mean_known,
            "mean_met": mean_all <= MEAN_GOAL, "mean_met_shape_known": mean_known <= MEAN_GOAL,
            "sets": len(sets), "sets_above_goal": above, "sets_above_goal_shape_known": known_above,
            "met": mean_all <= MEAN_GOAL and not above}


def _print_goals(goals: dict) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"\n== issue goals on the validation data (mean |error| <= {goals['mean_goal']:.0%}, "
          f"no set above {goals['set_goal']:.0%})")
    print(f"mean |error|: {goals['mean_abs_error']:.1%} over all points ({verdict(goals['mean_met'])}), "
          f"{goals['mean_abs_error_shape_known']:.1%} over those with a known shape "
          f"({verdict(goals['mean_met_shape_known'])})")
    above = goals["sets_above_goal"]
    print(f"sets above {goals['set_goal']:.0%}: {len(above)} of {goals['sets']}"
          f" ({len(goals['sets_above_goal_shape_known'])} with a known shape)")
    for name, err in sorted(above.items(), key=lambda kv: -kv[1]):
        assumed = "" if name in goals["sets_above_goal_shape_known"] else " (shape assumed)"
        print(f"  {err:6.1%}  {name}{assumed}")


def predict_case(target, case: Case, dtype: str, family: str | None) -> dict:  # noqa: ANN001
    """The model's FLOPs, TFLOP/s, bound and kernel for one grid case."""
    shapes = Shapes.of(case.batch, case.heads, case.kv_heads, case.seq, case.kv_seq)
    pred = predict(target, shapes, d_qk=case.head_dim, d_v=case.head_dim, causal=case.causal, dtype=dtype,
                   family=family)
    row = pred.row(0)
    return {"flops": float(fa_flops(shapes, case.head_dim, case.head_dim, case.causal)[0]),
            "predicted_tflops": row["tflops"], "bound": row["bound"], "kernel": pred.kernel.family}


def _time_ms(fn, warmup: int = 3, reps: int = 10, torch=None) -> float:  # noqa: ANN001
    """Median milliseconds of `reps` runs of `fn`, each between CUDA events, after `warmup` runs."""
    if torch is None:
        import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def _nvidia_smi(query: str, fmt: str = "csv,noheader") -> list[str]:
    """The first GPU's values of nvidia-smi's comma-separated `query` fields ([] without nvidia-smi)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return []
    out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", f"--format={fmt}"], capture_output=True,
                         text=True, check=False).stdout.splitlines()
    return [v.strip() for v in out[0].split(",")] if out else []


def sm_clock_mhz() -> float | None:
    """The SM clock nvidia-smi reports now (MHz), or None without nvidia-smi or a number."""
    try:
        return float(_nvidia_smi("clocks.sm", "csv,noheader,nounits")[0])
    except (IndexError, ValueError):
        return None


def clock_under_load(fn, runs: int = 20, sample=sm_clock_mhz, torch=None) -> float | None:  # noqa: ANN001
    """The SM clock while the GPU runs `fn`: `runs` launches are queued without waiting, the clock is read while
    they execute, then the queue drains. The model's profiles assume one clock (`clock_hz`); this records the one a
    measured row ran at (docs/gpu.md gap 4), so a row can be predicted again with `--set clock_hz=`."""
    if torch is None:
        import torch
    for _ in range(runs):
        fn()
    mhz = sample()
    torch.cuda.synchronize()
    return mhz


def _say(message: str, as_json: bool) -> None:
    """Status lines go to stderr under --json, so stdout stays one JSON object."""
    print(message, file=sys.stderr if as_json else sys.stdout)


def measure_mode(args: argparse.Namespace) -> dict | None:
    """Time torch SDPA over the grid on the local GPU; None (after saying why) when there is no NVIDIA GPU."""
    try:
        import torch
    except ImportError:
        _say("\nno torch installed: cannot measure; skipping the GPU measurement (exit 0)", args.json)
        return None
    if not torch.cuda.is_available():
        _say("\nno NVIDIA GPU available (torch.cuda.is_available() is False): skipping the GPU measurement "
             "(exit 0)", args.json)
        return None
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    name = torch.cuda.get_device_name()
    profile = args.target or profile_for_device(name)
    if profile is None:
        _say(f"\nGPU {name!r} has no built-in profile; pass --target a100|h100|b200 or a profile YAML (exit 0)",
             args.json)
        return None
    target = load_target(profile)
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION}
    family = KERNEL_BY_BACKEND.get(args.backend)
    if family is not None and target.architecture not in kernel_spec(family).runs_on:
        family = None
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]

    def time_case(c: Case) -> dict:
        q = torch.randn(c.batch, c.heads, c.seq, c.head_dim, device="cuda", dtype=dtype)
        k = torch.randn(c.batch, c.kv_heads, c.kv_seq, c.head_dim, device="cuda", dtype=dtype)
        v = torch.randn_like(k)
        gqa = c.kv_heads != c.heads

        def run(q=q, k=k, v=v, c=c, gqa=gqa):  # noqa: ANN001, ANN202
            return sdpa(q, k, v, is_causal=c.causal, enable_gqa=gqa)

        try:
            if args.backend == "default":
                ms, mhz = _time_ms(run), clock_under_load(run)
            else:
                with sdpa_kernel([backends[args.backend]]):
                    ms, mhz = _time_ms(run), clock_under_load(run)
        except RuntimeError as exc:  # backend cannot run this shape (e.g. flash + GQA on an old torch)
            return {**c.__dict__, "measured_tflops": "n/a", "note": str(exc).splitlines()[0][:60]}
        finally:
            del q, k, v
        pred = predict_case(target, c, args.dtype, family)
        measured = pred["flops"] / (ms * 1e-3) / 1e12
        return {**c.__dict__, "measured_ms": ms, "measured_tflops": measured, **pred,
                "error": pred["predicted_tflops"] / measured - 1.0, "sm_clock_mhz_under_load": mhz}

    run_info = {"device": name, "profile": profile, "backend": args.backend, "dtype": args.dtype,
                **_device_info(torch)}
    out = Path(args.out) if args.out else None
    done = resumed_rows(out, run_info) if out is not None and args.resume else []
    summary, rows = measure_grid(grid(args.quick), time_case, run_info, out, done)
    if not args.json:
        print(f"\n== torch SDPA ({args.backend}, {args.dtype}) on {name}, predicted with profile {profile}")
        _print_table(rows, ["batch", "heads", "kv_heads", "seq", "kv_seq", "head_dim", "causal", "measured_ms",
                            "measured_tflops", "predicted_tflops", "error", "bound"])
        print(f"mean |error| over {summary['points']} shapes: {summary['mean_abs_error']:.1%}")
    return {"summary": summary, "rows": rows}


class ResumeError(ValueError):
    """An `--out` file that `--resume` cannot continue: said in one line, exit status 2."""


#: what a resumed `--out` file must share with this run for its rows to be kept (the clocks vary between reads)
RESUME_KEYS = ("device", "profile", "backend", "dtype", "torch", "driver_version")


def measure_grid(cases: list[Case], time_case, run_info: dict, out: Path | None,  # noqa: ANN001
                 done: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """Rows for every case in grid order: a row of `done` (a resumed file's) is kept, any other case is timed by
    `time_case`; with `out`, the file is rewritten (atomically) after each timed case, its summary `complete`
    false until the last, so a run cut off by the device's time limit loses nothing it timed."""
    done = done or []
    kept = {_case_key(r): r for r in done}
    rows: list[dict] = []
    run = ("device", "profile", "backend", "dtype")  # the summary's first keys; the machine's details come last

    def summary(complete: bool) -> dict:
        ok = [r for r in rows if isinstance(r.get("error"), float)]
        return {**{k: run_info[k] for k in run}, "points": len(ok), "mean_abs_error": mean_abs_error(ok),
                "complete": complete, "resumed_rows": len(done),
                **{k: v for k, v in run_info.items() if k not in run}}

    for c in cases:
        row = kept.get(_case_key(c.__dict__))
        rows.append(row if row is not None else time_case(c))
        if out is not None and row is None:
            _write_json(out, {"summary": summary(False), "rows": rows})
    final = summary(True)
    if out is not None:
        _write_json(out, {"summary": final, "rows": rows})
    return final, rows


def resumed_rows(out: Path, run_info: dict) -> list[dict]:
    """The rows of an earlier `--out` file of the same device, profile, backend, dtype, torch and driver (none if
    the file does not exist); a file of another run is refused rather than mixed in."""
    if not out.exists():
        return []
    try:
        earlier = json.loads(out.read_text())
        info, rows = earlier["summary"], earlier["rows"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResumeError(f"--resume: {out} is not a --measure --out file ({exc}); choose another --out") from exc
    differ = [k for k in RESUME_KEYS if info.get(k) != run_info.get(k)]
    if differ:
        k = differ[0]
        raise ResumeError(f"--resume: {out} holds a run with {k} {info.get(k)!r}, this one has "
                         f"{run_info.get(k)!r}; choose another --out or leave out --resume")
    return rows


def _case_key(row: dict) -> tuple:
    return tuple(row[f] for f in Case.__dataclass_fields__)


def _write_json(path: Path, obj: dict) -> None:
    """Write `obj` to `path` through a temporary file, so that a run cut off mid-write leaves the last whole file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_finite(obj), indent=1, default=str))
    os.replace(tmp, path)


def _device_info(torch) -> dict:  # noqa: ANN001
    """Driver, clocks and torch version of the measuring machine (nvidia-smi where it is on PATH)."""
    query = "driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit"
    info = {"torch": torch.__version__, "cuda": torch.version.cuda}
    info.update(zip(query.split(","), _nvidia_smi(query), strict=False))
    return info


def _finite(value: object) -> object:
    """NaN (an empty group's mean) becomes null, so the output is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def plot_data(data: dict, path: Path) -> Path:
    """Predicted against measured TFLOP/s of every calibration and validation point (log axes), coloured by GPU,
    with the y = x line and the issue's 12% band; shape-assumed points hollow, calibration points as crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    rows = data["validation"]
    gpus = sorted({r["target"] for r in rows + data["calibration"]})
    colours = dict(zip(gpus, plt.cm.tab10.colors * 2, strict=False))
    for gpu in gpus:
        label = f"{gpu} ({sum(r['target'] == gpu for r in rows)})"
        for assumed in (False, True):
            pts = [r for r in rows if r["target"] == gpu and r["approximate"] == assumed]
            if pts:
                ax.scatter([r["measured_tflops"] for r in pts], [r["predicted_tflops"] for r in pts], s=14,
                           facecolors="none" if assumed else colours[gpu], edgecolors=colours[gpu], linewidths=0.8,
                           label=label)
                label = None
        fit = [r for r in data["calibration"] + data["backward_fit"] if r["target"] == gpu]
        if fit:
            ax.scatter([r["measured_tflops"] for r in fit], [r["predicted_tflops"] for r in fit], marker="x", s=22,
                       color=colours[gpu], linewidths=1.0)
    every = [r["measured_tflops"] for r in rows + data["calibration"]]
    line = [min(every) / 1.3, max(every) * 1.3]
    ax.plot(line, line, color="black", linewidth=0.8)
    for f in (1.12, 1 / 1.12):
        ax.plot(line, [v * f for v in line], color="grey", linewidth=0.6, linestyle="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured TFLOP/s (published)")
    ax.set_ylabel("predicted TFLOP/s (model)")
    goals = data["goals"]
    ax.set_title(f"GPU kernel model: {len(rows)} held-out points, mean |error| {goals['mean_abs_error']:.1%}\n"
                 "x: calibration (fitted), hollow: shape assumed, dashed: +-12%", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", title="GPU (held-out points)", title_fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="store_true", help="only compare with the published data files (default)")
    parser.add_argument("--measure", action="store_true", help="also time torch SDPA on the local NVIDIA GPU")
    parser.add_argument("--out", help="with --measure: write the measured rows and device info to this JSON file "
                        "(rewritten after each shape)")
    parser.add_argument("--resume", action="store_true",
                        help="with --measure --out: keep the rows an earlier, cut-off run of this GPU, backend and "
                        "dtype wrote to --out and time only the other shapes")
    parser.add_argument("--target", help="profile to predict with (default: from the GPU's name)")
    parser.add_argument("--backend", default="flash", choices=("flash", "cudnn", "efficient", "default"))
    parser.add_argument("--dtype", default="fp16", choices=("fp16", "bf16"))
    parser.add_argument("--quick", action="store_true", help="a small grid")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", help="write a predicted-vs-measured scatter of the data to this PNG file")
    parser.add_argument("--write-errors", action="store_true",
                        help="rewrite simulator/gpu/data/validation_errors.json (each result's measured_error)")
    args = parser.parse_args(argv)
    if args.write_errors:
        from simulator.gpu.accuracy import write_errors

        _say(f"wrote {write_errors()}", args.json)
    out = {"data": data_mode(args.json)}
    if args.plot:
        out["plot_png"] = str(plot_data(out["data"], Path(args.plot)))
        _say(f"\nplot: {out['plot_png']}", args.json)
    if args.measure:
        try:
            out["measured"] = measure_mode(args)
        except ResumeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(_finite(out), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
