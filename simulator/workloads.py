"""Built-in transformer workloads (`simulator/data/workloads/NAME.yaml`, or any workload YAML file by path).

The built-in ones are the four models of the FuseMax evaluation (self-attention, M = P = sequence): Nayak et al.,
FuseMax, MICRO 2024 (arXiv 2406.10491), Sec. 6 (workloads, batch 64, sequence lengths 1K-1M); the same numbers are
in the artifact (FPSG-UIUC/micro24-fusemax-artifact, src/utils/transformer.py).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import PositiveInt

from cascade_base.catalog import Catalog
from cascade_base.spec import Frozen, load_yaml, validate_model
from simulator.errors import SimulatorError

FUSEMAX_SOURCE = "Nayak et al., FuseMax, MICRO 2024 (arXiv 2406.10491) Sec. 6"

#: The paper's sequence lengths (1K .. 1M).
FUSEMAX_SEQ_LENS = (1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20)

#: The built-in workloads, and any workload YAML file a user names.
WORKLOAD_FILES = Catalog("workload", Path(__file__).parent / "data" / "workloads", SimulatorError,
                         option="--workload")


class Workload(Frozen):
    """One transformer layer's shape: heads, head dims (e for Q/K, f for V), model and FFN widths, batch."""

    name: str
    heads: PositiveInt
    e: PositiveInt
    f: PositiveInt
    d_model: PositiveInt
    d_ff: PositiveInt
    batch: PositiveInt
    source: str


def _load_file(path: Path) -> Workload:
    return validate_model(Workload, load_yaml(path, SimulatorError), path, SimulatorError)


def get_workload(name: str) -> Workload:
    """A built-in workload by name (case-insensitive) or a workload file, or `SimulatorError` listing the names."""
    if not WORKLOAD_FILES.is_path(name):
        match = next((n for n in WORKLOAD_FILES.names() if n.lower() == str(name).lower()), None)
        name = match or name
    return WORKLOAD_FILES.load(name, _load_file)


def _builtin() -> dict[str, Workload]:
    return {n: get_workload(n) for n in ("BERT", "TrXL", "T5", "XLM")}


#: The four FuseMax workloads in the paper's order.
WORKLOADS: dict[str, Workload] = _builtin()


def workload_entries() -> list[dict[str, str]]:
    """Rows for `cascade list workloads`."""
    rows = []
    for n in WORKLOAD_FILES.names():
        w = get_workload(n)
        rows.append({"name": w.name, "description": f"H={w.heads} E={w.e} F={w.f} d_model={w.d_model} d_ff={w.d_ff} "
                     f"batch={w.batch}; self-attention, M = P = --seq", "source": w.source})
    return rows
