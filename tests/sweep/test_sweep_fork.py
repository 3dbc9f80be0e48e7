"""Local workers are forked: a point that runs a threaded torch op must not hang in a worker after the parent ran
one (the first result of a target is computed in the parent, so this happens in every sweep that verifies with
torch, e.g. examples/sweeps/gelu-methods.yaml)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    from dataclasses import dataclass
    from pathlib import Path
    from typing import Literal

    import torch

    from hw.registry import register_kind
    from hw.spec import Frozen
    from simulator.backends import register_backend
    from simulator.sweep import run_sweep

    class TorchTarget(Frozen):
        kind: Literal["torchy"]

    class TorchOptions(Frozen):
        seq: int

    @dataclass(frozen=True)
    class TorchResult:
        latency_s: float

    class TorchBackend:
        kind = "torchy"
        options = TorchOptions
        scope_note = "a threaded torch op per point"

        def plan(self, target, options):
            return options.seq

        def cost(self, seq):
            x = torch.full((600, 600), 1.0 / seq, dtype=torch.float64)
            return TorchResult(float(torch.erf(x @ x).sum()))

    torch.set_num_threads(2)
    float(torch.erf(torch.ones(1000, 1000) @ torch.ones(1000, 1000)).sum())  # the parent's OpenMP pool is live
    register_kind("torchy", TorchTarget)
    register_backend("torchy", TorchBackend())
    tmp = Path(sys.argv[1])
    (tmp / "t.yaml").write_text("kind: torchy\\n")
    (tmp / "s.yaml").write_text(f"name: torchy\\ngrid: {{target: [{tmp}/t.yaml], seq: {list(range(1, 9))}}}\\n")
    summary = run_sweep(tmp / "s.yaml", tmp / "out", workers=2)
    print(summary.points_done, summary.failed)
""")


def test_workers_forked_after_torch_ran_do_not_hang(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-2:] == ["8", "0"]
