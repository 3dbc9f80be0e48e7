"""`cascade hdl attention`: export the engine, verify it, count its cycles against `cascade evaluate`, synthesize.

Verification: the Amaranth simulation equals the bit-exact model on two heads of random Q7.8 inputs (random input
gaps and backpressure); the model against torch SDPA (float64, `scale=1`: the cascade has no 1/sqrt(E); fold it
into Q) in LSBs of Q7.8; the exported Verilog simulated by Icarus (where `iverilog` is on PATH) on the same beats.
Cycles: from the first input beat to the last output beat of one head without stalls (`sim_cycles`), against the
spatial model on `rtl-fusemax` with the array sizes set to this engine's (`simulator.rtl_model.model_cycles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw.errors import SpecError
from hw.hdl.attention.engine import AttentionEngine
from hw.hdl.attention.model import attention_model, engine_payloads, unpack_outputs
from hw.hdl.attention.plan import AttentionPlan, plan_attention
from hw.hdl.sim import run_stream

MAX_ERROR_GOAL_LSB = 2.0  # goals for the model against torch SDPA (Q7.8 LSBs)
MEAN_ERROR_GOAL_LSB = 0.5


@dataclass(frozen=True)
class AttentionCheck:
    hw_mismatches: int
    max_error_lsb: float
    mean_error_lsb: float
    iverilog_mismatches: int | None  # None: iverilog absent (`iverilog_note` says so)
    iverilog_note: str | None


def random_head(plan: AttentionPlan, seed: int, scale: float = 1.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return tuple(np.clip(np.rint(rng.normal(0, scale, (plan.seq_tile, plan.head_dim)) * 256), -32768, 32767)
                 .astype(np.int64) for _ in range(3))


def torch_errors(plan: AttentionPlan, heads: list[tuple[np.ndarray, ...]]) -> tuple[float, float]:
    """Max and mean |model - SDPA| in Q7.8 LSBs over `heads`."""
    import torch

    errs = []
    for q, k, v in heads:
        ref = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(x / 256.0, dtype=torch.float64)[None] for x in (q, k, v)), scale=1.0)[0].numpy() * 256
        errs.append(np.abs(attention_model(plan, q, k, v) - ref).ravel())
    e = np.concatenate(errs)
    return float(e.max()), float(e.mean())


def simulate(plan: AttentionPlan, heads, **kw):
    """Amaranth simulation of back-to-back heads: (outputs per head, the StreamRun)."""
    payloads = [b for q, k, v in heads for b in engine_payloads(plan, q, k, v)]
    n = plan.tiles * plan.head_dim
    run = run_stream(AttentionEngine(plan), payloads, n_out=n * len(heads), **kw)
    return [unpack_outputs(plan, list(run.outputs[i * n:(i + 1) * n])) for i in range(len(heads))], run


def sim_cycles(plan: AttentionPlan, seed: int = 3) -> int:
    """Cycles from the first input beat to the last output beat of one head, no gaps or backpressure."""
    _, run = simulate(plan, [random_head(plan, seed)])
    return run.out_cycles[-1] - run.in_cycles[0] + 1


def check(plan: AttentionPlan, files_verilog: Path | None, workdir: Path) -> AttentionCheck:
    heads = [random_head(plan, 1), random_head(plan, 2, scale=2.0)]
    outs, _ = simulate(plan, heads, stall_prob=0.3, input_gap_prob=0.2, seed=5)
    mism = sum(int((o != attention_model(plan, *h)).sum()) for o, h in zip(outs, heads, strict=True))
    mx, mean = torch_errors(plan, heads + [random_head(plan, s, scale=sc) for s, sc in ((7, 0.5), (8, 3.0))])
    iv, note = None, None
    from hw.hdl.iverilog import iverilog_available, run_iverilog

    if files_verilog is None:
        note = "not exported"
    elif not iverilog_available():
        note = "iverilog not on PATH: the exported Verilog was not simulated"
    else:
        q, k, v = heads[0]
        n = plan.tiles * plan.head_dim
        got = run_iverilog(files_verilog, "attention", plan.in_bits, plan.out_bits, engine_payloads(plan, q, k, v),
                           n, workdir)
        iv = int((unpack_outputs(plan, got[:n]) != attention_model(plan, q, k, v)).sum()) + max(0, n - len(got))
    return AttentionCheck(mism, mx, mean, iv, note)


#: `--synth` for the engine: `ecp5` is the smallest ECP5 the netlist fits (the 4 x 4, E = 8 engine needs 128
#: multipliers: only the LFE5U-85F has them), the others a named device.
SYNTH_DEVICES = {"ecp5": "auto", "ecp5-25k": "25k", "ecp5-45k": "45k", "ecp5-85k": "85k"}


def synth_device(synth: str) -> str:
    if synth not in SYNTH_DEVICES:
        raise SpecError(f"--synth: unknown synthesis target {synth!r}; choose one of {', '.join(SYNTH_DEVICES)}")
    return SYNTH_DEVICES[synth]


def build(rows: int, cols: int, head_dim: int, seq_tile: int) -> AttentionPlan:
    return plan_attention(rows, cols, head_dim, seq_tile)


def writable(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".cascade-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SpecError(f"--out: cannot write {out_dir}: {exc.strerror or exc}; choose a writable directory") from None
    return out_dir
