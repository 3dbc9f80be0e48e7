"""The sparse patterns `cascade list patterns` shows, read from `simulator/data/patterns.yaml` (plain data, so that
listing them needs no numpy): name, how to ask for it, what it is, its source."""

from __future__ import annotations

from pathlib import Path

from cascade_base.yamlio import load_yaml
from simulator.errors import SimulatorError

PATTERNS_FILE = Path(__file__).resolve().parents[1] / "data" / "patterns.yaml"


def catalogue_rows() -> list[dict[str, str]]:
    """One row per pattern: name, use, description, source."""
    return [{k: str(v) for k, v in row.items()} for row in load_yaml(PATTERNS_FILE, SimulatorError)["patterns"]]


#: name -> (how to ask for it, description, source), as the Python API used it
CATALOGUE: dict[str, tuple[str, str, str]] = {r["name"]: (r["use"], r["description"], r["source"])
                                              for r in catalogue_rows()}
