"""One attention shape for every target kind, and one meaning of causal.

`AttentionShape` is what a user asks for (batch, heads, kv_heads, seq, kv_seq, head dims, dtype, causal), from
`--workload`/`--seq` or from the shape options. `select_cascade` gives `--causal` the same meaning on every kind:
it selects the causal mask of the cascade (the cascade itself when its roles say it is causal, else the
`causal_variant` its roles name), or fails clearly; a causal cascade is causal without the flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from einsum_cascades.sketch import CascadeSketch, sketch
from simulator.errors import SimulatorError

if TYPE_CHECKING:
    from einsum_cascades.cascade import Cascade


@dataclass(frozen=True)
class AttentionShape:
    """One attention layer's shape. `head_dim` is the query/key head dim (for MLA, the latent dim L)."""

    batch: int
    heads: int
    kv_heads: int
    seq: int
    kv_seq: int
    head_dim: int
    value_dim: int
    dtype: str = "fp16"
    causal: bool = False

    def __post_init__(self) -> None:
        for name in ("batch", "heads", "kv_heads", "seq", "kv_seq", "head_dim", "value_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SimulatorError(f"must be a positive integer, not {value!r}", source="--" + name.replace("_", "-"))
        if self.heads % self.kv_heads:
            raise SimulatorError(f"--kv-heads {self.kv_heads} must divide --heads {self.heads} (GQA groups query "
                                 "heads evenly); use a divisor", source="--kv-heads")

    def as_dict(self) -> dict[str, int | str | bool]:
        return dict(self.__dict__)


def select_sketch(name: str, causal: bool) -> CascadeSketch:
    """The sketch of cascade `name`, or with `causal` of its causal form (see the module docstring)."""
    found = sketch(name)
    if not causal or found.causal:
        return found
    if found.roles is not None and found.roles.causal_variant:
        return sketch(found.roles.causal_variant)
    raise SimulatorError(f"cascade {found.name!r} has no causal mask and its roles name no causal_variant; choose a "
                         "causal cascade (e.g. --cascade attention-causal) or drop --causal", source="--causal")


def select_cascade(name: str, causal: bool) -> Cascade:
    """The cascade `name`, or with `causal` its causal form (see the module docstring)."""
    from einsum_cascades import load_cascade

    return load_cascade(select_sketch(name, causal).path)


def is_causal(cascade: Cascade) -> bool:
    return cascade.roles is not None and cascade.roles.causal


@dataclass(frozen=True)
class BoundShape:
    """A cascade's size symbols bound to a shape, and how many independent copies of it the shape holds."""

    sizes: dict[str, int]
    instances: int


def bind_shape(cascade: Cascade, shape: AttentionShape, known: dict[str, int] | None = None) -> BoundShape:
    """Bind `cascade`'s symbols from `shape` by its roles. Heads the cascade has no rank for are instances."""
    roles = cascade.roles
    if roles is None:
        raise SimulatorError(f"cascade {cascade.name!r} has no 'roles:' block, so no target can size it; add one "
                             "(see examples/cascades/README.md)", source="--cascade")
    ranks = roles.ranks
    role_sizes = {"query_seq": shape.seq, "key_seq": shape.kv_seq}
    defaults = dict(roles.defaults)
    if ranks.latent_dim:
        role_sizes["latent_dim"] = shape.head_dim
    else:
        role_sizes.update(head_dim=shape.head_dim, value_dim=shape.value_dim)
    instances = shape.batch
    if ranks.kv_heads:
        role_sizes["kv_heads"] = shape.kv_heads
        if ranks.heads:
            role_sizes["heads"] = shape.heads // shape.kv_heads
    elif ranks.heads:
        if shape.kv_heads not in (1, shape.heads):
            raise SimulatorError(f"--kv-heads {shape.kv_heads}: cascade {cascade.name!r} shares one K/V among its "
                                 "heads (MQA-like); use --kv-heads 1 or a GQA cascade", source="--kv-heads")
        role_sizes["heads"] = shape.heads
    else:
        instances *= shape.heads
    what = {"query_seq": "--seq", "key_seq": "--kv-seq", "head_dim": "--head-dim", "value_dim": "--head-dim",
            "latent_dim": "--head-dim", "heads": "--heads", "kv_heads": "--kv-heads"}
    from einsum_cascades.shape import bind_role_sizes

    sizes = bind_role_sizes(cascade, role_sizes, {**defaults, **(known or {})}, what)
    return BoundShape(sizes, instances)
