"""Sparse-attention speedup upper bounds from tile counts: GNA (Hassani et al. 2025, arXiv 2504.16922) and
arbitrary patterns (interval patterns, block masks, mask functions, token permutations). See docs/sparse.md."""

from simulator.sparse.advisor import Advice, advise, advise_target
from simulator.sparse.bound import BoundResult, amdahl, count_gna, gna_bound
from simulator.sparse.flat import flat_tiles
from simulator.sparse.report import bound
from simulator.sparse.spec import AxisSpec, GNAConfig
from simulator.sparse.tiling import TileCounts, multi_tiles

__all__ = [
    "Advice", "AxisSpec", "BoundResult", "GNAConfig", "TileCounts", "advise", "advise_target", "amdahl", "bound",
    "count_gna", "flat_tiles", "gna_bound", "multi_tiles",
]
