"""FuseMax vs FLAT vs Unfused (and the two ablations) on the paper's 4 models x 6 sequence lengths, both scopes,
beside the FuseMax artifact's own results for every point.

Prints, per scope and point: FuseMax's speed-up and energy ratio over FLAT (this model under the physical and the
artifact energy convention | the artifact), the energy ratio without register files, FuseMax's and FLAT's energy
under the artifact convention relative to the artifact's (see docs/spatial.md), each
design's latency relative to the artifact's, 2D utilisation, FLAT's chosen mapping (and the artifact's choice, which
the artifact convention follows); then the means over the 24
points and the wall time. The paper's headline (Nayak et al., FuseMax, MICRO 2024, arXiv 2406.10491, abstract and
Sec. 7): 6.7x faster than FLAT on attention at 79% of its energy, 5.3x end-to-end at 83%. The artifact's numbers
come from benchmarks/data/fusemax-artifact/ (verbatim copies of its data/pregenerated/ CSVs; see the README there).
The artifact needs hours of Timeloop runs; this takes seconds.

    PYTHONPATH=. python benchmarks/fusemax_vs_flat.py [--json]
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from statistics import geometric_mean, mean

from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.workloads import FUSEMAX_SEQ_LENS, WORKLOADS

DESIGNS = ("fusemax", "flat", "unfused", "flat-1pass", "fusemax-unbound")
#: designs also evaluated under `--energy-convention artifact` (the artifact's accounting; FLAT's dataflow overlay)
ARTIFACT_CONVENTION = ("fusemax", "flat")
PAPER = {"attention": (6.7, 0.79), "layer": (5.3, 0.83)}  # FuseMax vs FLAT: speedup, energy ratio
ARTIFACT_DIR = Path(__file__).parent / "data" / "fusemax-artifact"
#: design -> (attention CSV, linear-layer CSV) of the artifact (src/utils/graph.py load_data pairs them so)
ARTIFACT_FILES = {"fusemax": ("attn-proposal", "end2end-proposal"), "flat": ("attn-flat", "end2end-flat"),
                  "unfused": ("attn-unfused", "end2end-flat"), "flat-1pass": ("attn-cascade", "end2end-flat"),
                  "fusemax-unbound": ("attn-stall_proposal", "end2end-proposal")}


def _label(seq: int) -> str:
    return f"{seq >> 20}M" if seq >= 1 << 20 else f"{seq >> 10}K"


def _read(name: str) -> dict[tuple[str, str], dict[str, float]]:
    with open(ARTIFACT_DIR / f"{name}.csv") as f:
        return {(row["model"], row["seq_len"]): {k: float(v) for k, v in row.items() if k not in ("model", "seq_len")}
                for row in csv.DictReader(f)}


def artifact(scope: str) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """Per design and (model, length label): the artifact's latency_s and energy_j for `scope`."""
    out = {}
    for design, (attn, linear) in ARTIFACT_FILES.items():
        a, lin = _read(attn), _read(linear)
        out[design] = {key: {"latency_s": row["latency"] + (lin[key]["latency"] if scope == "layer" else 0.0),
                             "energy_j": (row["energy"] + (lin[key]["energy"] if scope == "layer" else 0.0)) * 1e-12}
                       for key, row in a.items()}
    return out


def run(scope: str) -> list[dict]:
    art = artifact(scope)
    rows = []
    for model in WORKLOADS:
        for seq in FUSEMAX_SEQ_LENS:
            res = {d: evaluate_record(EvaluateRequest(target=d, workload=model, seq=seq, scope=scope)) for d in DESIGNS}
            conv = {d: evaluate_record(EvaluateRequest(target=d, workload=model, seq=seq, scope=scope,
                                                       energy_convention="artifact")) for d in ARTIFACT_CONVENTION}
            ref = {d: art[d][(model, _label(seq))] for d in DESIGNS}
            fm, fl = res["fusemax"], res["flat"]
            no_rf = {d: res[d]["energy_j"] - res[d]["energy_j_by_component"]["register_file"] for d in DESIGNS}
            rows.append({
                "model": model, "seq": seq,
                **{f"speedup_vs_{d}": res[d]["latency_s"] / fm["latency_s"] for d in DESIGNS if d != "fusemax"},
                **{f"energy_fusemax_over_{d}": fm["energy_j"] / res[d]["energy_j"] for d in DESIGNS if d != "fusemax"},
                "energy_fusemax_over_flat_no_rf": no_rf["fusemax"] / no_rf["flat"],
                "energy_fusemax_over_flat_artifact_convention": conv["fusemax"]["energy_j"] / conv["flat"]["energy_j"],
                **{f"energy_over_artifact_{d}_artifact_convention": conv[d]["energy_j"] / ref[d]["energy_j"]
                   for d in ARTIFACT_CONVENTION},
                **{f"latency_over_artifact_{d}_artifact_convention": conv[d]["latency_s"] / ref[d]["latency_s"]
                   for d in ARTIFACT_CONVENTION},
                "artifact_speedup_vs_flat": ref["flat"]["latency_s"] / ref["fusemax"]["latency_s"],
                "artifact_energy_fusemax_over_flat": ref["fusemax"]["energy_j"] / ref["flat"]["energy_j"],
                **{f"latency_over_artifact_{d}": res[d]["latency_s"] / ref[d]["latency_s"] for d in DESIGNS},
                **{f"energy_over_artifact_{d}": res[d]["energy_j"] / ref[d]["energy_j"] for d in DESIGNS},
                **{f"util2d_{d}": res[d]["utilization"]["pe2d"] for d in DESIGNS},
                "fusemax_buffer_need_bytes": fm["buffer_need_bytes"],
                "flat_params": fl["mapping_params"],
                "flat_params_artifact_convention": conv["flat"]["mapping_params"],
                "flat_spilled_fraction": fl["spilled_fraction"],
            })
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean and geomean over all 24 points of every ratio."""
    keys = [k for k in rows[0] if k.startswith(("speedup", "energy", "artifact", "latency_over", "util2d"))]
    return {k: {"mean": mean(r[k] for r in rows), "geomean": geometric_mean(r[k] for r in rows)} for k in keys}


def print_table(scope: str, rows: list[dict], summary: dict) -> None:
    print(f"\n== scope: {scope}  (paper, FuseMax vs FLAT: {PAPER[scope][0]}x faster at "
          f"{PAPER[scope][1]:.0%} of the energy)")
    head = (f"{'model':5} {'seq':>4} | {'xFLAT':>5} {'art':>5} | {'E/FLAT':>6} {'conv':>5} {'art':>5} {'noRF':>5} | "
            f"E/art (conv) {'FM':>6} {'FLAT':>6} | "
            f"latency / artifact: {'FM':>5} {'FLAT':>5} {'Unf':>5} {'F1p':>5} {'Unb':>5} | "
            f"{'u2d FM':>6} {'FLAT':>5} {'Unf':>5} | FLAT rows, scores (artifact convention)")
    print(head)
    print("-" * len(head))
    for r in rows:
        lat = " ".join(f"{r[f'latency_over_artifact_{d}']:5.2f}" for d in DESIGNS)
        params, art_params = r["flat_params"], r["flat_params_artifact_convention"]
        print(f"{r['model']:5} {_label(r['seq']):>4} | "
              f"{r['speedup_vs_flat']:5.2f} {r['artifact_speedup_vs_flat']:5.2f} | "
              f"{r['energy_fusemax_over_flat']:6.2f} {r['energy_fusemax_over_flat_artifact_convention']:5.2f} "
              f"{r['artifact_energy_fusemax_over_flat']:5.2f} {r['energy_fusemax_over_flat_no_rf']:5.2f} | "
              f"{'':13}{r['energy_over_artifact_fusemax_artifact_convention'] - 1:+6.1%} "
              f"{r['energy_over_artifact_flat_artifact_convention'] - 1:+6.1%} | {'':20}{lat} | "
              f"{r['util2d_fusemax']:6.3f} {r['util2d_flat']:5.3f} {r['util2d_unfused']:5.3f} | "
              f"{params.get('rows')}, {params.get('scores')} ({art_params.get('rows')}, {art_params.get('scores')})")
    s = summary
    print(f"mean (geomean) over {len(rows)}: FuseMax vs FLAT {s['speedup_vs_flat']['mean']:.2f}x "
          f"({s['speedup_vs_flat']['geomean']:.2f}x) faster at {s['energy_fusemax_over_flat']['mean']:.1%} "
          f"({s['energy_fusemax_over_flat']['geomean']:.1%}) energy, {s['energy_fusemax_over_flat_no_rf']['mean']:.1%} "
          f"without register files, {s['energy_fusemax_over_flat_artifact_convention']['mean']:.1%} under the artifact "
          f"convention; the artifact's CSVs: {s['artifact_speedup_vs_flat']['mean']:.2f}x at "
          f"{s['artifact_energy_fusemax_over_flat']['mean']:.1%}")
    print("  artifact convention, energy / artifact per point, max |error|: " + ", ".join(
        f"{d} {max(abs(r[f'energy_over_artifact_{d}_artifact_convention'] - 1) for r in rows):.2%}"
        for d in ARTIFACT_CONVENTION))
    print(f"  vs Unfused {s['speedup_vs_unfused']['mean']:.2f}x at {s['energy_fusemax_over_unfused']['mean']:.1%}; "
          f"vs flat-1pass {s['speedup_vs_flat-1pass']['mean']:.2f}x; vs fusemax-unbound "
          f"{s['speedup_vs_fusemax-unbound']['mean']:.2f}x")
    print("  latency / artifact, mean (min-max): " + ", ".join(
        f"{d} {s[f'latency_over_artifact_{d}']['mean']:.3f} ("
        f"{min(r[f'latency_over_artifact_{d}'] for r in rows):.3f}-"
        f"{max(r[f'latency_over_artifact_{d}'] for r in rows):.3f})" for d in DESIGNS))
    print("  energy / artifact, mean: " + ", ".join(
        f"{d} {s[f'energy_over_artifact_{d}']['mean']:.3f}" for d in DESIGNS))


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
