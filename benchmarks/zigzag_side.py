"""Side by side with ZigZag: the same single GEMMs searched by ZigZag (LOMA) and by cascade's mapper, in one run.

Each GEMM is written once (`SideGemm`: one Einsum, its rank sizes, how many independent copies) and rendered for
both tools: for cascade, a one-Einsum cascade searched (`simulator.spatial.search.search_mapping`, default limits)
on `fusemax` reduced to its 256x256 2D array (`matching_target`), its mapping costed by the one model; for ZigZag
(`zigzag-dse` 3.9.1, the benchmark's own extra `pip install '.[zigzag]'`), a layer `O += I * W` with the copies
folded into a rank `B`, searched by LOMA on `benchmarks/data/zigzag/fusemax_like.yaml`. `architecture_match` says
where the two machines agree and where they cannot. ZigZag counts cycles; its seconds are at cascade's clock.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from einsum_cascades.loader import parse_cascade
from hw.registry import load_target_data, validate_target
from hw.spatial import EnergyTable, SpatialTarget, check_against_table
from mappers import nestmath
from simulator.spatial.energy import energy_by_component_pj
from simulator.spatial.model import cost_group
from simulator.spatial.problem import cascade_problem
from simulator.spatial.search import SearchSettings, search_mapping
from simulator.workloads import WORKLOADS

ZIGZAG_ACCELERATOR = Path(__file__).parent / "data" / "zigzag" / "fusemax_like.yaml"
#: ZigZag's settings: six generated spatial mappings (its default three picks batch x P unrolling for QK/AV and lands
#: at 64-68x the compute bound, shared/zigzag/README.md), LOMA with at most 6 loop prime factors per rank
ZIGZAG_SPATIAL_MAPPINGS = 6
ZIGZAG_LPF_LIMIT = 6
#: relative tolerance of `architecture_match` (ZigZag's DRAM port needs whole bits per cycle: 3655 of 3655.3)
MATCH_REL = 1e-3


@dataclass(frozen=True)
class SideGemm:
    """One GEMM `out[...] = a[...] * b[...]`: cascade Einsum text, rank sizes, and independent copies (batch x
    heads), which ZigZag sees as one more rank `B` and cascade as instances run one after another."""

    name: str
    einsum: str  # e.g. "S[m,p] = Q[e,p] * K[e,m]"
    sizes: dict[str, int]
    instances: int = 1

    def parts(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(tensor, ranks) of the output and the two operands, in that order."""
        out, rhs = (s.strip() for s in self.einsum.split("="))
        terms = [out, *(t.strip() for t in rhs.split("*"))]
        return tuple((t.split("[")[0], tuple(r.strip() for r in t.split("[")[1].rstrip("]").split(","))) for t in terms)

    @property
    def macs(self) -> int:
        return math.prod(self.sizes.values()) * self.instances

    def cascade_text(self) -> str:
        (out, _), *operands = self.parts()
        inputs = ", ".join(f"{t}: [{', '.join(rs)}]" for t, rs in operands)
        ranks = ", ".join(f"{r}: {n}" for r, n in self.sizes.items())
        return (f"name: gemm-{self.name}\nranks: {{{ranks}}}\ninputs: {{{inputs}}}\neinsums: |\n  {self.einsum}\n"
                f"outputs: [{out}]\n")

    def zigzag_layer(self) -> dict[str, Any]:
        """The ZigZag workload layer: `O[b][..] += I[b][..] * W[b][..]` (the first operand is I, the second W)."""
        batch = ["b"] if self.instances > 1 else []
        (_, out), (_, a), (_, w) = self.parts()

        def ref(tensor: str, ranks: tuple[str, ...]) -> str:
            return tensor + "".join(f"[{r}]" for r in (*batch, *ranks))

        dims = {**({"b": self.instances} if batch else {}), **self.sizes}
        return {"id": 0, "name": self.name, "operator_type": "Gemm",
                "equation": f"{ref('O', out)}+={ref('I', a)}*{ref('W', w)}",
                "loop_dims": [d.upper() for d in dims], "loop_sizes": list(dims.values()),
                "operand_precision": {"I": 16, "W": 16, "O": 16, "O_final": 16}, "operand_source": {"I": 0, "W": 0}}


def bert_gemms(seqs: tuple[int, ...] = (1024, 4096, 16384), linear_seq: int = 1024) -> list[SideGemm]:
    """BERT's attention QK and AV at each length (batch x heads copies) and its 768x768 Wq projection over the
    batch's tokens at `linear_seq` (64 x 1024 = 65536 tokens: `--scope layer` at --seq 1024)."""
    bert = WORKLOADS["BERT"]
    copies = bert.batch * bert.heads
    rows = []
    for n in seqs:
        label = f"{n // 1024}K" if n % 1024 == 0 else str(n)
        rows.append(SideGemm(f"BERT-{label}-QK", "S[m,p] = Q[e,p] * K[e,m]", {"m": n, "p": n, "e": bert.e}, copies))
        rows.append(SideGemm(f"BERT-{label}-AV", "AV[f,p] = A[m,p] * V[f,m]", {"f": bert.f, "p": n, "m": n}, copies))
    tokens = bert.batch * linear_seq
    rows.append(SideGemm(f"BERT-linear-{bert.d_model}x{bert.d_model}-{tokens}tok", "Y[n,j] = X[n,k] * W[k,j]",
                         {"n": tokens, "k": bert.d_model, "j": bert.d_model}))
    return rows


def matching_target(name: str = "fusemax", array: str = "pe2d") -> SpatialTarget:
    """`name` with only its `array` (ZigZag's accelerator has one operational array)."""
    data, path = load_target_data(name)
    data = copy.deepcopy(data)
    data["arrays"] = [a for a in data["arrays"] if a["name"] == array]
    return validate_target(data, f"{path} (arrays: {array} only)")


def bound_cycles(gemm: SideGemm, target: SpatialTarget) -> float:
    """The cascade target's lower bound: all MACs at full utilisation, or each tensor once through DRAM."""
    arr = target.arrays[0]
    compute = gemm.macs / arr.pes
    words = sum(math.prod(gemm.sizes[r] for r in rs) for _, rs in gemm.parts()) * gemm.instances
    return max(compute, words * target.word_bytes / (target.dram.bw_bytes_per_s / target.clock_hz))


def cascade_best(gemm: SideGemm, target: SpatialTarget, table: EnergyTable) -> dict[str, Any]:
    """cascade's search on the GEMM (default limits): best latency, search time, mappings costed, the mapping."""
    start = time.perf_counter()
    cascade = parse_cascade(gemm.cascade_text(), source=f"<{gemm.name}>")
    mapping, report = search_mapping(cascade, {}, gemm.instances, target, table, SearchSettings(),
                                     lambda costs: sum(energy_by_component_pj(target, table, costs).values()))
    search_s = time.perf_counter() - start
    problem = cascade_problem(cascade, {}, gemm.instances)
    specs = {s.name: s for s in problem.einsums}
    groups = [cost_group(g, specs, mapping, problem, target, table, "<search>") for g in mapping.groups]
    latency_s = sum(g.latency_s for g in groups)
    (spec,) = problem.einsums
    em = mapping.einsums[spec.name]
    tile = dict(em.buffer_tile if em.buffer_tile is not None else mapping.groups[0].tile)
    return {"latency_cycles": latency_s * target.clock_hz, "latency_s": latency_s, "search_s": search_s,
            "mappings_costed": report.mappings_costed,
            "mapping": {"spatial": dict(em.spatial), "tile": tile, "loop_order": list(em.loop_order)},
            "zigzag_mapping": zigzag_mapping_of(spec.iteration_ranks, spec.sizes, dict(em.spatial), tile,
                                                list(em.loop_order), gemm.instances)}


def zigzag_mapping_of(ranks: tuple[str, ...], sizes: dict[str, int], spatial: dict[str, int], tile: dict[str, int],
                      loop_order: list[str], instances: int) -> dict[str, Any] | None:
    """cascade's single-Einsum mapping as a ZigZag mapping entry: its spatial unrolling on D1/D2 and its whole loop
    nest (DRAM-level tile loops, then the loops inside the tile, outermost first as the model walks them; the copies
    outermost) as a complete `temporal_ordering`, innermost first; ZigZag assigns the loops to its memories. None
    when a factor is imperfect (a ceil-tile), which ZigZag's loops cannot express."""
    order = list(loop_order) + [r for r in ranks if r not in loop_order]
    size = [sizes[r] for r in order]
    tiles, unroll = nestmath.clip_tiles(size, [tile.get(r, sizes[r]) for r in order],
                                        [spatial.get(r, 1) for r in order])
    outer, inner = nestmath.trips(size, tiles, unroll)
    if any(o * i * k != n for o, i, k, n in zip(outer, inner, unroll, size, strict=True)):
        return None
    loops = [(r, int(t)) for r, t in (*zip(order, outer, strict=True), *zip(order, inner, strict=True)) if t > 1]
    if instances > 1:
        loops.insert(0, ("b", instances))
    dims = [f"{r.upper()}, {int(k)}" for r, k in zip(order, unroll, strict=True) if k > 1]
    return {"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"},
            "spatial_mapping": {f"D{i + 1}": [d] for i, d in enumerate(dims)},
            "temporal_ordering": [[r.upper(), t] for r, t in reversed(loops)]}


@contextlib.contextmanager
def _counting_zigzag_evaluations():
    """Count ZigZag's cost-model evaluations (one per spatial x temporal mapping LOMA generates)."""
    import zigzag.stages.evaluation.cost_model_evaluation as stage

    count = [0]
    original = stage.CostModelStage.run

    def run(self):  # noqa: ANN001, ANN202 - ZigZag's own signature
        count[0] += 1
        yield from original(self)

    stage.CostModelStage.run = run
    try:
        yield count
    finally:
        stage.CostModelStage.run = original


def zigzag_best(gemm: SideGemm, clock_hz: float, accelerator: Path = ZIGZAG_ACCELERATOR,
                spatial_mappings: int = ZIGZAG_SPATIAL_MAPPINGS, lpf_limit: int = ZIGZAG_LPF_LIMIT,
                mapping_entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """ZigZag's LOMA search on the GEMM (latency-optimal): best latency, search time, mappings evaluated. With a
    complete `mapping_entry` (spatial mapping and temporal ordering) ZigZag costs that one mapping instead."""
    from zigzag.api import get_hardware_performance_zigzag

    logging.getLogger("zigzag").setLevel(logging.WARNING)
    entry = mapping_entry or {"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}
    with tempfile.TemporaryDirectory(prefix="zigzag-") as tmp:
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(yaml.safe_dump([entry]))
        previous = logging.root.level
        with _counting_zigzag_evaluations() as count:
            start = time.perf_counter()
            try:
                _, cycles, cmes = get_hardware_performance_zigzag(
                    [gemm.zigzag_layer()], str(accelerator), str(mapping), opt="latency", dump_folder=tmp,
                    lpf_limit=lpf_limit, nb_spatial_mappings_generated=spatial_mappings,
                    loma_show_progress_bar=False)
            finally:
                logging.root.setLevel(previous)  # ZigZag's api sets the root logger to INFO
            search_s = time.perf_counter() - start
    best = cmes[0][1][0][0]
    # ZigZag's latency = compute with its stalls + the first tiles' load before it + the last outputs' store after
    # it; cascade's model overlaps both with the compute (latency = max(compute, DRAM traffic / bandwidth))
    return {"latency_cycles": float(cycles), "latency_s": float(cycles) / clock_hz, "search_s": search_s,
            "mappings_costed": count[0], "steady_cycles": float(best.latency_total0),
            "onload_cycles": float(best.data_onloading_cycle), "offload_cycles": float(best.data_offloading_cycle),
            "spatial_mapping": str(best.spatial_mapping), "temporal_mapping": str(best.temporal_mapping)}


@dataclass(frozen=True)
class MatchRow:
    """One architectural parameter on both sides: `match` when the values agree (within `MATCH_REL`); `note`
    says what the two models still treat differently where the values alone cannot say it."""

    what: str
    zigzag: float | str
    cascade: float | str
    match: bool
    note: str = ""


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= MATCH_REL * max(abs(a), abs(b))


def architecture_match(zz: dict[str, Any], target: SpatialTarget, table: EnergyTable) -> list[MatchRow]:
    """Compare a ZigZag accelerator (parsed YAML) with a one-array cascade target, parameter by parameter."""
    arr = target.arrays[0]
    mem = zz["memories"]
    glb, dram = mem["global_buffer"], mem["dram"]
    rfs = [m for m in mem.values() if not m.get("served_dimensions")]
    word_bits = target.word_bytes * 8
    dram_bits = max(p["bandwidth_max"] for p in dram["ports"])
    glb_bits = max(p["bandwidth_max"] for p in glb["ports"])
    rf_words = sum(m["size"] for m in rfs) / word_bits
    buf = target.global_buffer
    buf_read = table.memory_energy_pj(buf.component, "read", "global_buffer.component", buf.capacity_bytes,
                                      buf.width_bits)
    dram_pj_bit = table.memory_energy_pj(target.dram.component, "read", "dram.component", 0,
                                         target.dram.width_bits) / target.dram.width_bits
    rf_read = table.energy_pj(arr.register_file.component, "read", "rf")
    rows = [
        MatchRow("array (rows x cols)", "x".join(map(str, zz["operational_array"]["sizes"])), f"{arr.rows}x{arr.cols}",
                 list(zz["operational_array"]["sizes"]) == [arr.rows, arr.cols]),
        MatchRow("operand bits", str(zz["operational_array"]["input_precision"]), str([word_bits, word_bits]),
                 list(zz["operational_array"]["input_precision"]) == [word_bits, word_bits]),
        MatchRow("global buffer bytes", glb["size"] / 8, buf.capacity_bytes, _close(glb["size"] / 8,
                                                                                     buf.capacity_bytes)),
        MatchRow("buffer line bits", glb_bits, buf.width_bits, glb_bits == buf.width_bits,
                 f"ZigZag limits each of its {len(glb['ports'])} buffer ports to one line per cycle; cascade's model "
                 "does not limit buffer bandwidth"),
        MatchRow("DRAM bytes/s", dram_bits / 8 * target.clock_hz, target.dram.bw_bytes_per_s,
                 _close(dram_bits / 8 * target.clock_hz, target.dram.bw_bytes_per_s),
                 f"ZigZag: {dram_bits} bits/cycle at cascade's clock (whole bits per cycle)"),
        MatchRow("clock Hz", "cycles only", target.clock_hz, True,
                 "ZigZag counts cycles; its seconds are at cascade's clock"),
        MatchRow("register file words per PE", rf_words, arr.register_file.words, _close(rf_words,
                                                                                        arr.register_file.words),
                 "ZigZag needs one memory per operand (4 + 4 + 4 words); cascade's PE file is shared and its size "
                 "does not limit the mapping"),
        MatchRow("MAC pJ", zz["operational_array"]["unit_energy"], table.energy_pj("mac", "compute", "mac"),
                 _close(zz["operational_array"]["unit_energy"], table.energy_pj("mac", "compute", "mac"))),
        MatchRow("register file read pJ per word", rfs[0]["r_cost"] * word_bits / rfs[0]["ports"][0]["bandwidth_max"],
                 rf_read, _close(rfs[0]["r_cost"] * word_bits / rfs[0]["ports"][0]["bandwidth_max"], rf_read)),
        MatchRow("buffer read pJ per line", glb["r_cost"], buf_read, _close(glb["r_cost"], buf_read)),
        MatchRow("DRAM pJ per bit", dram["r_cost"] / dram_bits, dram_pj_bit, _close(dram["r_cost"] / dram_bits,
                                                                                     dram_pj_bit)),
    ]
    return rows


def side_by_side(gemms: list[SideGemm] | None = None, accelerator: Path = ZIGZAG_ACCELERATOR) -> dict[str, Any]:
    """Both tools on each GEMM in one run: per GEMM their best latency (cycles, seconds), search time, mappings
    costed and the ratios; the architecture comparison; whether cascade is no slower on every GEMM."""
    start = time.perf_counter()
    target = matching_target()
    table = check_against_table(target)
    rows = []
    for gemm in gemms or bert_gemms():
        ours = cascade_best(gemm, target, table)
        theirs = zigzag_best(gemm, target.clock_hz, accelerator)
        entry = ours["zigzag_mapping"]
        crossed = zigzag_best(gemm, target.clock_hz, accelerator, mapping_entry=entry) if entry else None
        bound = bound_cycles(gemm, target)
        rows.append({
            "gemm": gemm.name, "einsum": gemm.einsum, "sizes": gemm.sizes, "instances": gemm.instances,
            "macs": gemm.macs, "bound_cycles": bound, "cascade": ours, "zigzag": theirs,
            "cascade_over_zigzag_latency": ours["latency_cycles"] / theirs["latency_cycles"],
            "zigzag_over_cascade_search_s": theirs["search_s"] / ours["search_s"],
            "cascade_over_zigzag_steady": ours["latency_cycles"] / theirs["steady_cycles"],
            # cascade's mapping costed by ZigZag's model: whether ZigZag's own search missed a mapping it rates better
            "zigzag_cycles_of_cascade_mapping": crossed["latency_cycles"] if crossed else None,
            "cascade_mapping_over_zigzag_best_in_zigzag": (crossed["latency_cycles"] / theirs["latency_cycles"]
                                                           if crossed else None),
            "cascade_bound_gap": ours["latency_cycles"] / bound - 1,
            "zigzag_bound_gap": theirs["latency_cycles"] / bound - 1,
            "cascade_no_worse": ours["latency_cycles"] <= theirs["latency_cycles"] * (1 + 1e-9)})
    match = architecture_match(yaml.safe_load(accelerator.read_text()), target, table)
    return {"rows": rows, "architecture": [r.__dict__ for r in match], "accelerator": str(accelerator.name),
            "cascade_target": target.name + " (2D array only)", "clock_hz": target.clock_hz,
            "zigzag_settings": {"engine": "loma", "opt": "latency", "lpf_limit": ZIGZAG_LPF_LIMIT,
                                "nb_spatial_mappings_generated": ZIGZAG_SPATIAL_MAPPINGS},
            "no_worse_everywhere": all(r["cascade_no_worse"] for r in rows), "wall_s": time.perf_counter() - start}
