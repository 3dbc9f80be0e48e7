"""How fast the mapper costs mappings and finds the best one, and whether it beats the built-in mappings.

Prints (or with --json, one object with at least `mappings_per_s`, `time_to_best_s`, `zigzag`):
- `mappings_per_s.gemm_nest`: tilings of one GEMM (BERT 1K QK: 1024 x 1024 x 64, one core) costed per second by the
  vectorised nest arithmetic (`mappers/nestmath.py`, the model's trip counts), beside the same count done one
  candidate at a time through the same function (the ratio is the speed-up of the batch);
- `mappings_per_s.cascade`: whole-group mappings of FuseMax's 1-pass cascade costed per second by the search;
- `time_to_best_s`: one FuseMax-study point (FuseMax, BERT, 4K) searched from the cascade and target alone;
  `after_1s`: the same point searched with `--time-limit 1`, its latency over the full search's (goal: within 1 %);
- `study` (with --study): the 24 workload x length points for fusemax/attention-1pass, flat/attention-3pass and
  unfused/attention-3pass, the searched latency over the built-in mapping's (<= 1 is no slower), and the wall time;
- `zigzag`: the side-by-side run against ZigZag (`benchmarks/zigzag_side.py`): BERT's attention QK and AV GEMMs at
  1K, 4K and 16K and its 768x768 Wq projection over 65536 tokens, each searched by ZigZag (LOMA) and by cascade in
  this run: per GEMM each tool's best latency (cycles, seconds), search time, mappings costed and the ratios, and
  the two architectures compared. It needs `pip install '.[zigzag]'` (the benchmark's own extra); without it the
  part is skipped with that message (`--no-zigzag` skips it too).

    PYTHONPATH=. python benchmarks/mapper_speed.py [--json] [--study] [--time-limit S] [--no-zigzag]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from mappers import nestmath
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.workloads import FUSEMAX_SEQ_LENS, WORKLOADS

STUDY = (("fusemax", "attention-1pass"), ("flat", "attention-3pass"), ("unfused", "attention-3pass"))


def gemm_nest_rate(n: int = 200_000) -> dict[str, float]:
    """Candidate tilings (tile and unrolling per rank) of a 1024 x 1024 x 64 GEMM costed per second."""
    rng = np.random.default_rng(0)
    sizes = np.array([1024, 1024, 64])
    tiles = rng.integers(1, sizes + 1, size=(n, 3))
    spatial = rng.choice([1, 16, 64, 256], size=(n, 3))
    start = time.perf_counter()
    nestmath.iterations(sizes, tiles, spatial)
    batch_s = time.perf_counter() - start
    one = 2000
    start = time.perf_counter()
    for i in range(one):
        nestmath.iterations(sizes, tiles[i], spatial[i])
    single_s = (time.perf_counter() - start) / one * n
    return {"batch": n / batch_s, "one_at_a_time": n / single_s, "speedup": single_s / batch_s}


def searched(target: str, cascade: str, workload: str, seq: int, time_limit: float | None) -> dict:
    return evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq, cascade=cascade, search=True,
                                           time_limit=time_limit))


def study(time_limit: float | None) -> dict:
    start = time.perf_counter()
    rows = []
    for target, cascade in STUDY:
        for model in WORKLOADS:
            for seq in FUSEMAX_SEQ_LENS:
                built = evaluate_record(EvaluateRequest(target=target, workload=model, seq=seq))
                found = searched(target, cascade, model, seq, time_limit)
                rows.append({"target": target, "model": model, "seq": seq,
                             "searched_over_builtin": found["latency_s"] / built["latency_s"],
                             "bound_gap": found["bound_gap"], "partition": found["search"]["partition"]})
    return {"points": rows, "wall_s": time.perf_counter() - start,
            "no_slower_everywhere": all(r["searched_over_builtin"] <= 1 + 1e-9 for r in rows),
            "faster_points": sum(r["searched_over_builtin"] < 1 - 1e-6 for r in rows),
            "slower_points": sum(r["searched_over_builtin"] > 1 + 1e-9 for r in rows),
            "worst_searched_over_builtin": max(r["searched_over_builtin"] for r in rows)}


def zigzag() -> dict:
    """The side-by-side run against ZigZag, or {"skipped": why} when zigzag-dse is not installed."""
    try:
        import zigzag as _  # noqa: F401
    except ImportError:
        return {"skipped": "zigzag-dse is not installed; pip install '.[zigzag]' (the benchmark's own extra) to run "
                "the side-by-side part"}
    from zigzag_side import side_by_side

    return side_by_side()


def main(argv: list[str]) -> int:
    limit = float(argv[argv.index("--time-limit") + 1]) if "--time-limit" in argv else None
    gemm = gemm_nest_rate()
    point = searched("fusemax", "attention-1pass", "BERT", 4096, limit)
    built = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=4096))
    short = searched("fusemax", "attention-1pass", "BERT", 4096, 1.0)
    report = {
        "mappings_per_s": {"gemm_nest": gemm["batch"], "gemm_nest_one_at_a_time": gemm["one_at_a_time"],
                           "gemm_batch_speedup": gemm["speedup"],
                           "cascade": point["search"]["mappings_costed"] / point["search"]["search_s"]},
        "time_to_best_s": point["search"]["time_to_best_s"],
        "search_s": point["search"]["search_s"],
        "after_1s": {"latency_over_full_search": short["latency_s"] / point["latency_s"],
                     "search_s": short["search"]["search_s"], "mappings_costed": short["search"]["mappings_costed"]},
        "fusemax_bert_4k": {"searched_over_builtin": point["latency_s"] / built["latency_s"],
                            "bound_gap": point["bound_gap"], "partition": point["search"]["partition"]},
        "zigzag": {"skipped": "--no-zigzag"} if "--no-zigzag" in argv else zigzag(),
    }
    if "--study" in argv:
        report["study"] = study(limit)
    if "--json" in argv:
        print(json.dumps(report))
        return 0
    m = report["mappings_per_s"]
    print(f"GEMM tilings costed: {m['gemm_nest']:.3g}/s batched, {m['gemm_nest_one_at_a_time']:.3g}/s one at a "
          f"time ({m['gemm_batch_speedup']:.0f}x)")
    print(f"whole-cascade group mappings costed: {m['cascade']:.3g}/s")
    fm = report["fusemax_bert_4k"]
    print(f"FuseMax BERT 4K: searched / built-in latency {fm['searched_over_builtin']:.4f}, gap to bound "
          f"{fm['bound_gap']:.3%}, best after {report['time_to_best_s']:.1f} s of {report['search_s']:.1f} s")
    one = report["after_1s"]
    print(f"  searched for 1 s: latency {one['latency_over_full_search']:.4f} of the full search's "
          f"({one['mappings_costed']} group mappings costed)")
    if "study" in report:
        s = report["study"]
        print(f"24-point study x 3 designs: no slower everywhere: {s['no_slower_everywhere']}, faster at "
              f"{s['faster_points']} points, slower at {s['slower_points']} (worst "
              f"{s['worst_searched_over_builtin']:.4f}), {s['wall_s']:.0f} s")
        for r in s["points"]:
            print(f"  {r['target']:8s} {r['model']:5s} {r['seq']:>8d}  {r['searched_over_builtin']:.4f}  "
                  f"{'+'.join(p.split('+')[0] for p in r['partition'])}")
    print_zigzag(report["zigzag"])
    return 0


def print_zigzag(side: dict) -> None:
    """The side-by-side table: per GEMM both tools' best latency and search time, and the ratios."""
    if "skipped" in side:
        print(f"zigzag: {side['skipped']}")
        return
    print(f"side by side with ZigZag (LOMA, {side['zigzag_settings']['nb_spatial_mappings_generated']} spatial "
          f"mappings) on {side['cascade_target']}, {side['wall_s']:.0f} s; cascade no slower everywhere: "
          f"{side['no_worse_everywhere']}")
    print(f"  {'GEMM':30s} {'cascade cyc':>12s} {'ZigZag cyc':>12s} {'c/Z':>7s} {'ours in Z':>12s} "
          f"{'cascade s':>9s} {'ZigZag s':>8s} {'Z/c time':>8s}")
    for r in side["rows"]:
        c, z = r["cascade"], r["zigzag"]
        crossed = r["zigzag_cycles_of_cascade_mapping"]
        print(f"  {r['gemm']:30s} {c['latency_cycles']:12.6g} {z['latency_cycles']:12.6g} "
              f"{r['cascade_over_zigzag_latency']:7.4f} {crossed if crossed is None else f'{crossed:.6g}':>12} "
              f"{c['search_s']:9.3f} {z['search_s']:8.1f} {r['zigzag_over_cascade_search_s']:8.0f}")
    for m in side["architecture"]:
        flag = "same" if m["match"] else "DIFFERS"
        print(f"  {m['what']:32s} ZigZag {m['zigzag']!s:>14} cascade {m['cascade']!s:>14}  {flag}  {m['note']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
