"""One call that builds a unit, writes its Verilog and RTLIL, and optionally verifies and synthesizes it.

`run_hdl` returns a frozen `HdlRun`: what was written, and the verification and synthesis results where they
were asked for (`None` where not). `cascade hdl` (`simulator/commands/hdl.py`) turns it into its JSON keys.
Synthesis reads exactly a Verilog file written here: the unit's `gelu.v`, or for the softmax unit on an ECP5
`softmax_ecp5.v`, the same unit with its row buffer as DP16KD block RAMs (with their output register).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw.errors import SpecError
from hw.hdl.export import Exported, export
from hw.hdl.fixed import parse_format
from hw.hdl.gelu_model import METHODS, GeluPlan, plan_gelu
from hw.hdl.sim import run_stream
from hw.hdl.softmax_model import SoftmaxPlan
from hw.hdl.synth import SynthResult

UNITS = ("gelu", "softmax")
DEFAULT_OUT = {"gelu": "Q7.8", "softmax": "UQ1.15"}
SYNTH_TARGETS = {"ecp5": "25k", "ecp5-25k": "25k", "ecp5-85k": "85k"}


@dataclass(frozen=True)
class Verification:
    """Hardware against the bit-exact model (random backpressure and gaps), and the model against PyTorch."""

    hw_mismatches: int
    max_error_lsb: float | None  # None unless checked against PyTorch (--verify)
    mean_error_lsb: float | None
    vcd: Path | None
    in_per_cycle: float  # elements accepted per cycle over back-to-back rows (GELU: a burst), no backpressure
    out_per_cycle: float  # elements delivered per cycle over the same run


@dataclass(frozen=True)
class RowBuffer:
    """The softmax unit's circular row buffer: entries and the block RAMs it takes on an ECP5."""

    depth: int
    ecp5_brams: int


@dataclass(frozen=True)
class HdlRun:
    """Everything one `cascade hdl` run produced."""

    unit: str
    method: str
    in_format: str
    out_format: str
    max_len: int | None
    files: Exported
    latency_cycles: int
    row_buffer: RowBuffer | None
    verification: Verification | None
    synthesis: SynthResult | None


def build_plan(unit: str, method: str | None, in_format: str, out_format: str | None,
               max_len: int) -> GeluPlan | SoftmaxPlan:
    """Validate the options (errors name the option) and return the unit's plan."""
    if unit not in UNITS:
        raise SpecError(f"unknown unit {unit!r}; choose one of: {', '.join(UNITS)}")
    in_fmt = parse_format(in_format, "--in-format")
    out_fmt = parse_format(out_format or DEFAULT_OUT[unit], "--out-format")
    if unit == "gelu":
        return plan_gelu(method or METHODS[0], in_fmt, out_fmt)
    if method not in (None, "online"):
        raise SpecError(f"--method: softmax has one method, 'online', not {method!r}")
    from hw.hdl.softmax_model import plan_softmax

    return plan_softmax(in_fmt, out_fmt, max_len)


def build_unit(plan: GeluPlan | SoftmaxPlan, ecp5: bool = False):
    """The Amaranth component of `plan` (`ecp5`: the softmax row buffer as DP16KDs)."""
    if isinstance(plan, GeluPlan):
        from hw.hdl.gelu import Gelu

        return Gelu(plan)
    from hw.hdl.softmax import Softmax

    return Softmax(plan, ecp5_bram=ecp5)


def softmax_latency_cycles(plan: SoftmaxPlan) -> int:
    """Cycles from a full row's last input to its first output (all scores equal: the longest normalisation)."""
    from hw.hdl.softmax import Softmax
    from hw.hdl.verify import softmax_payloads

    run = run_stream(Softmax(plan), softmax_payloads(plan, [np.zeros(plan.max_len, dtype=np.int64)]), n_out=1)
    return run.out_cycles[0] - run.in_cycles[-1]


def row_buffer_cost(plan: SoftmaxPlan) -> RowBuffer:
    from hw.hdl.rowbuffer import ebr_plan

    return RowBuffer(plan.buffer_depth, ebr_plan(plan.buffer_depth, plan.in_fmt.width).blocks)


def run_hdl(unit: str, *, out_dir: Path, method: str | None = None, in_format: str = "Q7.8",
            out_format: str | None = None, max_len: int = 1024, verify: bool = False, synth: str | None = None,
            vcd: bool = False, seeds: tuple[int, ...] = (1, 2, 3)) -> HdlRun:
    """Export `unit` into `out_dir`; with `verify` compare with torch and simulate; with `synth` ('ecp5' or
    'ecp5-25k'/'ecp5-85k') report resources and post-route fmax of the delivered Verilog."""
    plan = build_plan(unit, method, in_format, out_format, max_len)
    if synth is not None and synth not in SYNTH_TARGETS:
        raise SpecError(f"--synth: unknown synthesis target {synth!r}; choose one of {', '.join(SYNTH_TARGETS)}")
    buffer = row_buffer_cost(plan) if isinstance(plan, SoftmaxPlan) else None
    if synth is not None and buffer is not None:  # refuse before any work what cannot fit the device
        from hw.hdl.synth import check_fit

        check_fit(SYNTH_TARGETS[synth], brams=buffer.ecp5_brams, what=f"softmax at --max-len {max_len}")
    out_dir = Path(out_dir)
    files = _writing(out_dir, lambda: export(build_unit(plan), unit, out_dir))
    latency = plan.latency_cycles if isinstance(plan, GeluPlan) else softmax_latency_cycles(plan)
    verification = None
    if verify or vcd:
        vcd_path = out_dir / f"{unit}.vcd" if vcd else None
        verification = _writing(out_dir, lambda: _verify(plan, vcd_path, with_torch=verify))
    synthesis = None
    if synth:
        from hw.hdl.synth import synth_ecp5

        source = files.verilog_path
        if isinstance(plan, SoftmaxPlan):
            ecp5 = _writing(out_dir, lambda: export(build_unit(plan, ecp5=True), unit, out_dir, stem="softmax_ecp5"))
            source = ecp5.verilog_path
        synthesis = _writing(out_dir, lambda: synth_ecp5(source, unit, out_dir / "synth", device=SYNTH_TARGETS[synth],
                                                         seeds=seeds))
    return HdlRun(unit=unit, method=getattr(plan, "method", "online"), in_format=str(plan.in_fmt),
                  out_format=str(plan.out_fmt), max_len=max_len if unit == "softmax" else None, files=files,
                  latency_cycles=latency, row_buffer=buffer, verification=verification, synthesis=synthesis)


def _writing(out_dir: Path, write):
    """Run `write`, turning a directory that cannot be written into a one-line error naming --out."""
    try:
        return write()
    except OSError as exc:
        raise SpecError(f"--out: cannot write {out_dir}: {exc.strerror or exc}; choose a writable directory") from None


def _verify(plan: GeluPlan | SoftmaxPlan, vcd_path: Path | None, with_torch: bool) -> Verification:
    from hw.hdl import verify as v

    rng = np.random.default_rng(0)
    if isinstance(plan, GeluPlan):
        raw = plan.in_fmt.all_raw()
        sample = np.concatenate([raw[:8], raw[-8:], rng.choice(raw, 2000)])
        mismatches = v.gelu_hw_mismatches(plan, sample, vcd=vcd_path)
        stats = v.gelu_errors(plan) if with_torch else None
    else:
        rows = v.softmax_test_rows(plan, n_random=12)
        mismatches = v.softmax_hw_mismatches(plan, rows, vcd=vcd_path)
        stats = v.softmax_errors(plan, v.softmax_test_rows(plan, n_random=200, seed=1)) if with_torch else None
    rate_in, rate_out = throughput(plan)
    return Verification(hw_mismatches=mismatches, max_error_lsb=stats.max_error_lsb if stats else None,
                        mean_error_lsb=stats.mean_error_lsb if stats else None, vcd=vcd_path,
                        in_per_cycle=rate_in, out_per_cycle=rate_out)


def throughput(plan: GeluPlan | SoftmaxPlan) -> tuple[float, float]:
    """Elements per cycle in and out, simulated: GELU on 256 inputs, softmax on 4 back-to-back rows of
    min(max_len, 256) (full-length rows stream the same way: tests/hdl/test_hdl_softmax.py)."""
    from hw.hdl.verify import softmax_payloads

    if isinstance(plan, GeluPlan):
        payloads = list(range(256))
    else:
        rng = np.random.default_rng(9)
        n = min(plan.max_len, 256)
        payloads = softmax_payloads(plan, [plan.in_fmt.from_float(rng.normal(0, 2, n)) for _ in range(4)])
    run = run_stream(build_unit(plan), payloads)
    k = len(payloads) - 1
    return k / max(1, run.in_cycles[-1] - run.in_cycles[0]), k / max(1, run.out_cycles[-1] - run.out_cycles[0])
