"""The spatial model's prediction for the generated attention engine (`cascade hdl attention`): the model side of
the RTL ground truth. It lives in `simulator/` because it evaluates the cost model (hw/ imports no simulator code).
"""

from __future__ import annotations

from hw.hdl.attention.plan import AttentionPlan


def model_cycles(plan: AttentionPlan) -> float:
    """`cascade evaluate` on rtl-fusemax with this engine's array sizes: latency in cycles."""
    from hw.registry import load_target
    from simulator.evaluate import EvaluateRequest, evaluate_record

    sets = (f"arrays.pe2d.rows={plan.rows}", f"arrays.pe2d.cols={plan.cols}", f"arrays.pe1d.cols={plan.cols}")
    rec = evaluate_record(EvaluateRequest(target="rtl-fusemax", workload="bert", seq=plan.seq_tile, batch=1,
                                          heads=1, head_dim=plan.head_dim, overrides=sets))
    return rec["latency_s"] * load_target("rtl-fusemax", sets).clock_hz
