"""Start-up time of the `cascade` command line: each command's wall time beside `python -c pass` in the same run.

Goals (issue 9, on a 2-core machine): `cascade --help` and `cascade list` under 0.3 s; `cascade bound` and a
spatial or GPU `cascade evaluate` under 0.6 s. Each command runs `--repeat` times; the median is reported, with its
ratio to the interpreter's own start-up, so a loaded machine shows up in both columns.

    .venv/bin/python benchmarks/cli_start.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: (label, arguments to `cascade`, goal in seconds)
COMMANDS = [
    ("--help", ["--help"], 0.3),
    ("list", ["list"], 0.3),
    ("list targets", ["list", "targets"], 0.3),
    ("bound", ["bound", "--shape", "30x48x80", "--window", "18x24x24", "--json"], 0.6),
    ("evaluate spatial", ["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "4096", "--json"], 0.6),
    ("evaluate gpu", ["evaluate", "--target", "h100", "--batch", "1", "--heads", "16", "--seq", "4096",
                      "--head-dim", "128", "--json"], 0.6),
]


def wall_s(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    python = [sys.executable]
    baseline = wall_s([*python, "-c", "pass"], args.repeat)
    wall_s([*python, "-m", "simulator.cli", "list"], 1)  # warm the file cache and any compiled-result cache
    for _, cmd, _ in COMMANDS:
        wall_s([*python, "-m", "simulator.cli", *cmd], 1)
    rows = []
    for label, cmd, goal in COMMANDS:
        t = wall_s([*python, "-m", "simulator.cli", *cmd], args.repeat)
        rows.append({"command": label, "wall_s": t, "over_python": t / baseline, "goal_s": goal, "met": t <= goal})
    if args.json:
        print(json.dumps({"python_pass_s": baseline, "commands": rows}))
        return
    print(f"python -c pass: {baseline:.3f} s (median of {args.repeat})")
    for r in rows:
        print(f"  cascade {r['command']:<17} {r['wall_s']:.3f} s  {r['over_python']:5.1f}x python  "
              f"goal {r['goal_s']:.1f} s  {'met' if r['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
