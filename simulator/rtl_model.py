"""The spatial model's prediction for the generated attention engine (`cascade hdl attention`): the model side of
the RTL ground truth. It lives in `simulator/` because it evaluates the cost model (hw/ imports no simulator code).
"""

from __future__ import annotations

from hw.hdl.attention.plan import AttentionPlan


def engine_overrides(plan: AttentionPlan, clock_hz: float) -> tuple[str, ...]:
    """`--set` values that make rtl-fusemax this engine: its array sizes, and its input port (one beat of
    `plan.in_bits` per cycle at `clock_hz`)."""
    return (f"arrays.pe2d.rows={plan.rows}", f"arrays.pe2d.cols={plan.cols}", f"arrays.pe1d.cols={plan.cols}",
            f"dram.width_bits={plan.in_bits}", f"dram.bw_bytes_per_s={plan.in_bits // 8 * clock_hz:.17g}")


def model_cycles(plan: AttentionPlan) -> float:
    """`cascade evaluate` on rtl-fusemax with this engine's sizes (`engine_overrides`): latency in cycles."""
    from hw.registry import load_target
    from simulator.evaluate import EvaluateRequest, evaluate_record

    sets = engine_overrides(plan, load_target("rtl-fusemax").clock_hz)
    rec = evaluate_record(EvaluateRequest(target="rtl-fusemax", workload="bert", seq=plan.seq_tile, batch=1,
                                          heads=1, head_dim=plan.head_dim, overrides=sets))
    return rec["latency_s"] * load_target("rtl-fusemax", sets).clock_hz
