"""How fast the mapper costs mappings and finds the best one, and whether it beats the built-in mappings.

Prints (or with --json, one object with at least `mappings_per_s`, `time_to_best_s`, `zigzag`):
- `mappings_per_s.gemm_nest`: tilings of one GEMM (BERT 1K QK: 1024 x 1024 x 64, one core) costed per second by the
  vectorised nest arithmetic (`mappers/nestmath.py`, the model's trip counts), beside the same count done one
  candidate at a time through the same function (the ratio is the speed-up of the batch);
- `mappings_per_s.cascade`: whole-group mappings of FuseMax's 1-pass cascade costed per second by the search
  (`cascade_per_cpu_s`: over the CPU time of the whole request);
- `mappings_per_s.cascade_batch`: the same model on a steady stream of whole-cascade candidates: 8192 random points
  of the tile grid of the whole fused 1-pass cascade (12 Einsums, FuseMax, BERT 4K) built and costed in batches of
  2048 (`build_groups` + `cost_group`), beside 200 of them built and costed one at a time (`build_group` +
  `cost_group`, the batch of one) in the same run (`cascade_one_at_a_time`, and the ratio);
  `cascade_batch_per_cpu_s` (and `gemm_model_per_cpu_s`): the same count over the process's CPU time rather than
  wall time, the rate on one core even where other work shares the machine (the wall-time rates then drop);
- `mappings_per_s.gemm_model`: a single GEMM's whole mapspace (BERT 1K QK, 1024 x 1024 x 64 x 768 instances, on
  FuseMax's 2D array: every tile of the ladder per rank, every DRAM-level order, on and off chip) built and costed
  through the same model in batches, beside 200 of its mappings one at a time (`gemm_model_one_at_a_time`);
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


QK = """
name: gemm-qk
ranks: {e: 64, m: 1024, p: 1024}
inputs: {Q: [e, p], K: [e, m]}
einsums: |
  QK[m,p] = Q[e,p] * K[e,m]
outputs: [QK]
"""


def model_rates(seed: int = 0) -> dict[str, float]:
    """Mappings built and costed per second through the cost model: in batches, and one at a time (same run)."""
    import contextlib
    import copy
    import itertools
    import random

    from einsum_cascades import load_cascade
    from einsum_cascades.loader import parse_cascade
    from hw.registry import load_target, load_target_data, validate_target
    from hw.spatial import check_against_table
    from mappers.errors import MappingError
    from mappers.mapspace import (
        GroupChoice,
        build_group,
        build_groups,
        group_tiles,
        reduction_locked_ranks,
        tile_ladder,
    )
    from simulator.spatial.energy import energy_by_component_pj
    from simulator.spatial.model import cost_group
    from simulator.spatial.problem import cascade_problem
    from simulator.spatial.search import SEARCH_FILE, _mapping, cycles_per_point_of

    def rates(target, problem, choices, batch=2048, one=200):
        specs = list(problem.einsums)
        by_name = {x.name: x for x in specs}
        io = set(problem.inputs | problem.outputs)
        table = check_against_table(target)
        cpp = cycles_per_point_of(target)

        def energy(costs):
            return sum(energy_by_component_pj(target, table, costs).values())

        start, start_cpu = time.perf_counter(), time.process_time()
        fits = 0
        for lo in range(0, len(choices), batch):
            for _, gm in build_groups("g", specs, choices[lo:lo + batch], target, cpp, set(), io):
                cost = cost_group(gm.group, by_name, _mapping(problem.name, {}, [gm]), problem, target, table,
                                  SEARCH_FILE, lanes=gm.lanes)
                energy(cost.einsums)
                fits += int(np.isfinite(cost.latency_s).sum())
        batch_rate = len(choices) / (time.perf_counter() - start)
        batch_cpu_rate = len(choices) / (time.process_time() - start_cpu)
        start = time.perf_counter()
        for c in choices[:one]:
            gm = build_group("g", specs, c, target, cpp, set(), io)
            with contextlib.suppress(MappingError):  # a tile that does not fit: costed all the same
                energy(cost_group(gm.group, by_name, _mapping(problem.name, {}, [gm]), problem, target, table,
                                  SEARCH_FILE).einsums)
        single_rate = min(one, len(choices)) / (time.perf_counter() - start)
        return batch_rate, single_rate, len(choices), fits, batch_cpu_rate

    rng = random.Random(seed)
    fusemax = load_target("fusemax")
    problem = cascade_problem(load_cascade("attention-1pass"), {"P": 4096, "M": 4096, "E": 64, "F": 64, "M0": 256},
                              768)
    specs = list(problem.einsums)
    ranks = group_tiles(specs)
    dims = sorted({d for a in fusemax.arrays for d in (a.rows, a.cols) if d > 1})
    locked = reduction_locked_ranks(specs)
    tileable = [r for r, v in ranks.items() if r not in locked and v > 1]
    choices = []
    for _ in range(8192):
        tile = {r: rng.choice(tile_ladder(ranks[r], dims)) for r in tileable}
        tiled = tuple(r for r in tileable if tile[r] < ranks[r])
        choices.append(GroupChoice(tuple(sorted((r, tile[r]) for r in tiled)), tiled, rng.random() < 0.5))
    cascade = rates(fusemax, problem, choices)

    data, path = load_target_data("fusemax")
    data = copy.deepcopy(data)
    data["arrays"] = [a for a in data["arrays"] if a["name"] == "pe2d"]
    pe2d = validate_target(data, f"{path} (pe2d only)")
    gemm = cascade_problem(parse_cascade(QK), {}, 768)
    ranks = group_tiles(gemm.einsums)
    dims = sorted({d for a in pe2d.arrays for d in (a.rows, a.cols) if d > 1})
    space = []
    for values in itertools.product(*[tile_ladder(ranks[r], dims) for r in ranks]):
        tile = dict(zip(ranks, values, strict=True))
        tiled = [r for r in ranks if tile[r] < ranks[r]]
        for order in itertools.permutations(tiled):
            for onchip in (True, False):
                space.append(GroupChoice(tuple(sorted((r, tile[r]) for r in tiled)), order, onchip))
    gemm_rates = rates(pe2d, gemm, space, batch=8192)
    return {"cascade_batch": cascade[0], "cascade_batch_per_cpu_s": cascade[4],
            "cascade_one_at_a_time": cascade[1], "cascade_batch_speedup":
            cascade[0] / cascade[1], "cascade_batch_points": cascade[2], "cascade_batch_fit": cascade[3],
            "gemm_model": gemm_rates[0], "gemm_model_per_cpu_s": gemm_rates[4],
            "gemm_model_one_at_a_time": gemm_rates[1],
            "gemm_model_speedup": gemm_rates[0] / gemm_rates[1], "gemm_mapspace_points": gemm_rates[2]}


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
    model = model_rates()
    cpu = time.process_time()
    point = searched("fusemax", "attention-1pass", "BERT", 4096, limit)
    cpu = time.process_time() - cpu  # the whole request: the search plus its set-up and final costing
    built = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=4096))
    short = searched("fusemax", "attention-1pass", "BERT", 4096, 1.0)
    report = {
        "mappings_per_s": {"gemm_nest": gemm["batch"], "gemm_nest_one_at_a_time": gemm["one_at_a_time"],
                           "gemm_batch_speedup": gemm["speedup"], **model,
                           "cascade": point["search"]["mappings_costed"] / point["search"]["search_s"],
                           "cascade_per_cpu_s": point["search"]["mappings_costed"] / cpu},
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
    print(f"whole-cascade group mappings costed: {m['cascade']:.3g}/s in the search; "
          f"{m['cascade_batch']:.3g}/s in batches, {m['cascade_one_at_a_time']:.3g}/s one at a time "
          f"({m['cascade_batch_speedup']:.0f}x)")
    print(f"a GEMM's mapspace ({m['gemm_mapspace_points']} mappings) through the model: {m['gemm_model']:.3g}/s in "
          f"batches, {m['gemm_model_one_at_a_time']:.3g}/s one at a time ({m['gemm_model_speedup']:.0f}x)")
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
