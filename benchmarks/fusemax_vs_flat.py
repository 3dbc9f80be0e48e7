"""FuseMax vs FLAT vs Unfused (and the two ablations) on the paper's 4 models x 6 sequence lengths, both scopes.

Prints, per scope, latency and energy of every design relative to FuseMax, 2D-array utilisation, FuseMax's buffer
need, the means over the 24 (model, length) points, and the wall time. The paper's headline (Nayak et al.,
FuseMax, MICRO 2024, arXiv 2406.10491, abstract and Sec. 7): FuseMax is 6.7x faster than FLAT on attention at 79%
of its energy, and 5.3x faster end-to-end at 83%. The artifact needs hours of Timeloop runs; this takes seconds.

    PYTHONPATH=. python benchmarks/fusemax_vs_flat.py [--json]
"""

from __future__ import annotations

import json
import sys
import time
from statistics import geometric_mean, mean

from simulator.evaluate import EvaluateRequest, evaluate
from simulator.workloads import FUSEMAX_SEQ_LENS, WORKLOADS

DESIGNS = ("fusemax", "flat", "unfused", "flat-1pass", "fusemax-unbound")
PAPER = {"attention": (6.7, 0.79), "layer": (5.3, 0.83)}  # FuseMax vs FLAT: speedup, energy ratio


def _label(seq: int) -> str:
    return f"{seq >> 20}M" if seq >= 1 << 20 else f"{seq >> 10}K"


def run(scope: str) -> list[dict]:
    rows = []
    for model in WORKLOADS:
        for seq in FUSEMAX_SEQ_LENS:
            res = {d: evaluate(EvaluateRequest(target=d, workload=model, seq=seq, scope=scope)) for d in DESIGNS}
            fm = res["fusemax"]
            rows.append({
                "model": model, "seq": seq,
                **{f"speedup_vs_{d}": res[d]["latency_s"] / fm["latency_s"] for d in DESIGNS if d != "fusemax"},
                **{f"energy_fusemax_over_{d}": fm["energy_j"] / res[d]["energy_j"] for d in DESIGNS if d != "fusemax"},
                **{f"util2d_{d}": res[d]["utilization"]["pe2d"] for d in DESIGNS},
                "fusemax_buffer_need_bytes": fm["buffer_need_bytes"],
                "flat_spilled_fraction": res["flat"]["spilled_fraction"],
            })
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean and geomean over all points, and the mean over the lengths where FLAT's rows fit its buffer (<= 64K),
    where this model reproduces the artifact's latencies point for point."""
    keys = [k for k in rows[0] if k.startswith(("speedup", "energy", "util2d"))]
    short = [r for r in rows if r["seq"] <= 1 << 16]
    return {k: {"mean": mean(r[k] for r in rows), "geomean": geometric_mean(r[k] for r in rows),
                "mean_to_64k": mean(r[k] for r in short)} for k in keys}


def print_table(scope: str, rows: list[dict], summary: dict) -> None:
    print(f"\n== scope: {scope}  (paper, FuseMax vs FLAT: {PAPER[scope][0]}x faster at "
          f"{PAPER[scope][1]:.0%} of the energy)")
    head = (f"{'model':5} {'seq':>4} | {'xFLAT':>6} {'xUnf':>6} {'xF1p':>6} {'xUnb':>6} | {'E/FLAT':>6} {'E/Unf':>6} "
            f"| {'u2d FM':>6} {'FLAT':>6} {'Unf':>6} | {'FM buf MiB':>10} {'FLAT spill':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:5} {_label(r['seq']):>4} | {r['speedup_vs_flat']:6.2f} {r['speedup_vs_unfused']:6.2f} "
              f"{r['speedup_vs_flat-1pass']:6.2f} {r['speedup_vs_fusemax-unbound']:6.2f} | "
              f"{r['energy_fusemax_over_flat']:6.2f} {r['energy_fusemax_over_unfused']:6.2f} | "
              f"{r['util2d_fusemax']:6.3f} {r['util2d_flat']:6.3f} {r['util2d_unfused']:6.3f} | "
              f"{r['fusemax_buffer_need_bytes'] / 2**20:10.2f} {r['flat_spilled_fraction']:10.2f}")
    s = summary
    print(f"mean (geomean) over {len(rows)}: FuseMax vs FLAT {s['speedup_vs_flat']['mean']:.2f}x "
          f"({s['speedup_vs_flat']['geomean']:.2f}x) faster at {s['energy_fusemax_over_flat']['mean']:.1%} "
          f"({s['energy_fusemax_over_flat']['geomean']:.1%}) energy; vs Unfused "
          f"{s['speedup_vs_unfused']['mean']:.2f}x at {s['energy_fusemax_over_unfused']['mean']:.1%}; "
          f"vs flat-1pass {s['speedup_vs_flat-1pass']['mean']:.2f}x; vs fusemax-unbound "
          f"{s['speedup_vs_fusemax-unbound']['mean']:.2f}x")
    print(f"mean over 1K-64K only: FuseMax vs FLAT {s['speedup_vs_flat']['mean_to_64k']:.2f}x faster at "
          f"{s['energy_fusemax_over_flat']['mean_to_64k']:.1%} energy; 2D utilisation FuseMax "
          f"{s['util2d_fusemax']['mean_to_64k']:.3f}, FLAT {s['util2d_flat']['mean_to_64k']:.3f}, "
          f"Unfused {s['util2d_unfused']['mean_to_64k']:.3f}")


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    out = {}
    for scope in ("attention", "layer"):
        rows = run(scope)
        out[scope] = {"rows": rows, "summary": summarise(rows), "paper": dict(zip(("speedup", "energy"),
                                                                                  PAPER[scope], strict=True))}
    wall_s = time.perf_counter() - start
    if "--json" in argv:
        print(json.dumps({**out, "wall_s": wall_s}))
    else:
        for scope, data in out.items():
            print_table(scope, data["rows"], data["summary"])
        n = sum(len(d["rows"]) for d in out.values()) * len(DESIGNS)
        print(f"\n{n} evaluations in {wall_s:.2f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
