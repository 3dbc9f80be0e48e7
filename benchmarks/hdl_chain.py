"""The GELU -> softmax chain (`hw/hdl/chain.py`) on an ECP5: post-route clock of the two units chained, beside
each unit's own (issue 15, item 6). Synthesizes the written `gelu_softmax_ecp5.v` (the softmax's row buffer as
DP16KDs, as `cascade hdl softmax --synth ecp5` measures it) with the same Yosys / nextpnr flow, seeds 1-3.

    python benchmarks/hdl_chain.py [--out DIR] [--max-len 1024] [--seeds 1,2,3] [--register-slice]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.hdl.chain import GeluSoftmax  # noqa: E402
from hw.hdl.export import export  # noqa: E402
from hw.hdl.fixed import parse_format  # noqa: E402
from hw.hdl.gelu_model import plan_gelu  # noqa: E402
from hw.hdl.softmax_model import plan_softmax  # noqa: E402
from hw.hdl.synth import synth_ecp5  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/hdl_chain"))
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--register-slice", action="store_true", help="a skid buffer between GELU and softmax")
    args = ap.parse_args()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    q = parse_format("Q7.8")
    dut = GeluSoftmax(plan_gelu("edge-moe", q, q), plan_softmax(q, parse_format("UQ1.15"), args.max_len),
                      ecp5_bram=True, register_slice=args.register_slice)
    files = export(dut, "gelu_softmax", args.out, stem="gelu_softmax_ecp5")
    r = synth_ecp5(files.verilog_path, "gelu_softmax", args.out / "synth", seeds=seeds)
    row = {"unit": "gelu->softmax", "gelu": "edge-moe Q7.8->Q7.8", "softmax": "Q7.8->UQ1.15",
           "max_len": args.max_len, "register_slice": args.register_slice, "luts": r.lut4_sites,
           "lut4_cells": r.luts,
           "carry_cells": r.carry_cells, "ffs": r.ffs, "brams": r.brams, "pnr_lut4_sites": r.pnr_lut4_sites,
           "fmax_mhz": r.fmax_mhz, "fmax_mhz_by_seed": list(r.fmax_mhz_by_seed), "synth_file": files.verilog_path.name}
    (args.out / "results.json").write_text(json.dumps(row, indent=1))
    print(json.dumps(row))


if __name__ == "__main__":
    main()
