"""Model cycles (`cascade evaluate` on rtl-fusemax with the engine's array sizes) over cycles simulated on the
engine `cascade hdl attention` emits, over sequence lengths and array sizes (E = 8). Goal: within 5%.

    .venv/bin/python benchmarks/rtl_vs_model.py [--quick]
"""

from __future__ import annotations

import sys

from hw.hdl.attention.run import build, sim_cycles
from simulator.rtl_model import model_cycles

CONFIGS = [(4, 4, 8, 16), (4, 4, 8, 32), (4, 4, 8, 64), (2, 4, 8, 32), (4, 2, 8, 32), (8, 8, 8, 64)]


def main() -> None:
    configs = CONFIGS[:2] if "--quick" in sys.argv else CONFIGS
    print(f"{'rows':>4} {'cols':>4} {'E':>3} {'seq':>5} {'sim':>8} {'model':>8} {'model/sim':>9}")
    for rows, cols, e, seq in configs:
        plan = build(rows, cols, e, seq)
        sim, model = sim_cycles(plan), model_cycles(plan)
        print(f"{rows:>4} {cols:>4} {e:>3} {seq:>5} {sim:>8} {model:>8.0f} {model / sim:>9.3f}")


if __name__ == "__main__":
    main()
