"""Built-in transformer workloads: the four models of the FuseMax evaluation (self-attention, M = P = sequence).

Source: Nayak et al., FuseMax, MICRO 2024 (arXiv 2406.10491), Sec. 6 (workloads, batch 64, sequence lengths
1K-1M); the same numbers are in the artifact (FPSG-UIUC/micro24-fusemax-artifact, src/utils/transformer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import SimulatorError

FUSEMAX_SOURCE = "Nayak et al., FuseMax, MICRO 2024 (arXiv 2406.10491) Sec. 6"

#: The paper's sequence lengths (1K .. 1M).
FUSEMAX_SEQ_LENS = (1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20)


@dataclass(frozen=True)
class Workload:
    """One transformer layer's shape: heads, head dims (E for Q/K, F for V), model and FFN widths, batch."""

    name: str
    heads: int
    e: int
    f: int
    d_model: int
    d_ff: int
    batch: int
    source: str

    def sizes(self, seq: int) -> dict[str, int]:
        """Values of the cascade size symbols for self-attention at sequence length `seq`."""
        if seq <= 0:
            raise SimulatorError(f"--seq must be a positive integer, not {seq}")
        return {"M": seq, "P": seq, "E": self.e, "F": self.f, "H": self.heads, "G": self.heads}


WORKLOADS: dict[str, Workload] = {
    w.name: w for w in (
        Workload("BERT", heads=12, e=64, f=64, d_model=768, d_ff=3072, batch=64, source=FUSEMAX_SOURCE),
        Workload("TrXL", heads=16, e=64, f=64, d_model=1024, d_ff=4096, batch=64, source=FUSEMAX_SOURCE),
        Workload("T5", heads=8, e=64, f=64, d_model=512, d_ff=2048, batch=64, source=FUSEMAX_SOURCE),
        Workload("XLM", heads=16, e=128, f=128, d_model=2048, d_ff=8192, batch=64, source=FUSEMAX_SOURCE),
    )
}


def get_workload(name: str) -> Workload:
    """A built-in workload by name (case-insensitive), or `SimulatorError` listing the names."""
    for key, w in WORKLOADS.items():
        if key.lower() == name.lower():
            return w
    raise SimulatorError(f"--workload: unknown workload {name!r}; built-in workloads: {', '.join(WORKLOADS)}")


def workload_entries() -> list[dict[str, str]]:
    """Rows for `cascade list workloads`."""
    return [{"name": w.name, "description": f"H={w.heads} E={w.e} F={w.f} d_model={w.d_model} d_ff={w.d_ff} "
             f"batch={w.batch}; self-attention, M = P = --seq", "source": w.source} for w in WORKLOADS.values()]
