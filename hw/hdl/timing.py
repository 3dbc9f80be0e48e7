"""The critical path of a nextpnr run, read from its JSON report (`--report`), as a table a person can read.

`synth_ecp5` writes one next to each seed's report (`DIR/synth/<top>_pnr_seed<N>_critical.txt`), so that the
logic that sets the clock can be found without opening the JSON. Run as a script to print any report:

    python -m hw.hdl.timing DIR/synth/softmax_pnr_seed1.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PathStep:
    """One step of a timing path: `kind` is clk-to-q, routing, logic or setup; `delay_ns` its delay."""

    kind: str
    delay_ns: float
    from_cell: str
    to_cell: str


@dataclass(frozen=True)
class TimingPath:
    """A register-to-register (or port) path between two clock edges, as nextpnr reports it."""

    launch: str
    capture: str
    steps: tuple[PathStep, ...]

    @property
    def delay_ns(self) -> float:
        return sum(s.delay_ns for s in self.steps)


def critical_paths(report_path: Path) -> tuple[TimingPath, ...]:
    """Every critical path in a nextpnr JSON report (one per pair of clock domains, ports included)."""
    report = json.loads(Path(report_path).read_text())
    paths = []
    for cp in report.get("critical_paths", []):
        steps = tuple(PathStep(str(s.get("type", "")), float(s.get("delay", 0.0)),
                               str(s.get("from", {}).get("cell", "")), str(s.get("to", {}).get("cell", "")))
                      for s in cp.get("path", []))
        paths.append(TimingPath(str(cp.get("from", "")), str(cp.get("to", "")), steps))
    return tuple(paths)


def format_paths(paths: tuple[TimingPath, ...]) -> str:
    """The paths as text: one line per step with its delay and the running total (ns)."""
    lines = []
    for p in paths:
        lines.append(f"{p.launch} -> {p.capture}: {p.delay_ns:.3f} ns")
        total = 0.0
        for s, cells in _merged(p.steps):
            total += s.delay_ns
            if cells > 1:
                s = PathStep(f"{s.kind} x{cells}", s.delay_ns, s.from_cell, s.to_cell)
            lines.append(f"  {s.kind:9s} {s.delay_ns:6.3f} {total:7.3f}  {_short(s.from_cell)} -> {_short(s.to_cell)}")
    return "\n".join(lines) + "\n"


def _merged(steps: tuple[PathStep, ...]) -> list[tuple[PathStep, int]]:
    """Steps with each run of logic joined by zero-delay routing (a carry chain, a slice's muxes) as one step,
    with the number of logic cells in it."""
    out: list[tuple[PathStep, int]] = []
    for s in steps:
        if out and (s.kind == "logic" or (s.kind == "routing" and s.delay_ns == 0.0)) and \
                out[-1][0].kind == "logic":
            prev, n = out[-1]
            out[-1] = (PathStep("logic", prev.delay_ns + s.delay_ns, prev.from_cell, s.to_cell),
                       n + int(s.kind == "logic"))
        else:
            out.append((s, 1))
    return out


def _short(cell: str, keep: int = 90) -> str:
    """A cell name cut in the middle (nextpnr names carry-chain cells by their whole chain)."""
    return cell if len(cell) <= keep else f"{cell[: keep - 30]}...{cell[-27:]}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m hw.hdl.timing REPORT.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not path.is_file():
        print(f"no nextpnr report at {path}; pass the DIR/synth/<top>_pnr_seed<N>.json that --synth wrote",
              file=sys.stderr)
        return 2
    sys.stdout.write(format_paths(critical_paths(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
