"""Energy accounting conventions of the spatial model (`--energy-convention physical|artifact`).

- `physical` (default): every PE's register-file accesses are charged, and the mapping's dataflow is taken as
  written (inputs from DRAM are staged in the buffer).
- `artifact`: the FuseMax artifact's accounting (FPSG-UIUC/micro24-fusemax-artifact v1.0, src/accel/cascade.py
  build_accelergy_buf_counts / build_accelergy_yaml): register files are charged for one PE per Einsum (Timeloop's
  per-instance scalar accesses written to a single `reg_file[1]`), and the mapping's dataflow is the one the
  artifact gave Timeloop, where it differs: the overlay `mappers/builtin/artifact/MAPPING.yaml`, when there is one
  for the evaluated mapping's name (FLAT's streams Q, K, V past the buffer and its SD reads SN as SN makes it).

A convention is data (an overlay of the mapping, a counting rule), never a formula keyed on a design's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from cascade_base.spec import Frozen
from hw.spec import load_yaml, validate_spec
from mappers.errors import MappingError

EnergyConvention = Literal["physical", "artifact"]
OVERLAY_DIR = Path(__file__).resolve().parents[2] / "mappers" / "builtin" / "artifact"


class StreamRule(Frozen):
    """Tensors that Einsums read (or write) straight from (to) DRAM, bypassing the buffer, for the bindings of the
    mapping's params that `when` names (all of them; empty: every binding)."""

    when: dict[str, str | int] = Field(default_factory=dict)
    einsums: dict[str, tuple[str, ...]] = Field(description="Einsum -> its DRAM tensors streamed past the buffer")


class DataflowOverlay(Frozen):
    """How the artifact's Timeloop mappings move a mapping's tensors where our mapping says otherwise."""

    mapping: str = Field(description="the mapping (by name) this overlay applies to")
    source: str
    stream: tuple[StreamRule, ...] = ()
    forwarded: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="Einsum -> operands it takes "
                                                  "from its producer in the PE as they are made: no buffer read")


@dataclass(frozen=True)
class Dataflow:
    """The accounting the cost model applies: streamed tensors per Einsum (a DRAM tensor moved between DRAM and
    the array with no buffer access, its traffic the array's), forwarded operands (no buffer read), and register
    files of one PE (`rf_one_pe`). `rules` are the overlay's stream rules, bound by `for_params`."""

    convention: EnergyConvention = "physical"
    stream: dict[str, frozenset[str]] = field(default_factory=dict)
    forwarded: dict[str, frozenset[str]] = field(default_factory=dict)
    rf_one_pe: bool = False
    rules: tuple[StreamRule, ...] = ()

    def for_params(self, values: dict[str, object]) -> Dataflow:
        """This accounting for one binding of the mapping's params: the stream rules whose `when` holds."""
        stream: dict[str, set[str]] = {}
        for rule in self.rules:
            if all(values.get(k) == v for k, v in rule.when.items()):
                for einsum, tensors in rule.einsums.items():
                    stream.setdefault(einsum, set()).update(tensors)
        return dataclasses.replace(self, stream={e: frozenset(ts) for e, ts in stream.items()})


PHYSICAL = Dataflow()


def dataflow_for(convention: EnergyConvention, mapping_name: str) -> Dataflow:
    """The accounting of `convention` for the mapping named `mapping_name`."""
    if convention == "physical":
        return PHYSICAL
    path = OVERLAY_DIR / f"{mapping_name}.yaml"
    if not path.is_file():
        return Dataflow(convention="artifact", rf_one_pe=True)
    overlay = validate_spec(DataflowOverlay, load_yaml(path), path)
    if overlay.mapping != mapping_name:
        raise MappingError(f"{path}: field 'mapping': {overlay.mapping!r} does not match the file name "
                           f"{mapping_name!r}; name the file after the mapping it overlays")
    return Dataflow(convention="artifact", forwarded={e: frozenset(ts) for e, ts in overlay.forwarded.items()},
                    rf_one_pe=True, rules=overlay.stream).for_params({})
