"""Cascade roles: which tensors are the query, key, value and output, which ranks are the query and key sequences,
the heads and the head dims, and which mask the cascade applies.

Every consumer of a cascade (the torch check, the spatial, GPU and FPGA backends, the pass bound) reads roles,
never tensor names or size-symbol spellings. A cascade file declares them in a `roles:` block:

    roles:
      reference: softmax-attention            # the torch reference of `--verify`
      query: Q
      key: K
      value: V
      output: AV
      ranks: {query_seq: p, key_seq: m, head_dim: e, value_dim: f}   # + heads, kv_heads, latent_dim, rope_dim
      mask: causal                            # none | causal | sliding-window | a predicate such as "m <= p + 8"
      causal_variant: attention-causal        # the cascade `--causal` selects when this one has no mask

The older `verify:` block (tensor roles only) is still read: its ranks follow the FuseMax naming (p, m, e, f; any
other rank of the query is a head rank).
"""

from __future__ import annotations

import ast
from typing import Literal

from pydantic import Field, PositiveInt

from cascade_base.spec import Frozen

Reference = Literal["softmax-attention", "mla", "linear-attention"]
#: Masks the torch reference builds from their definition (a predicate string is evaluated over the ranks).
NAMED_MASKS = ("none", "causal", "sliding-window")
#: Tensor roles a reference needs.
REQUIRED_TENSORS: dict[str, tuple[str, ...]] = {
    "softmax-attention": ("query", "key", "value", "output"),
    "linear-attention": ("query", "key", "value", "output"),
    "mla": ("query", "query_rope", "latent", "key_rope", "w_uk", "w_uv", "output"),
}


class RankRoles(Frozen):
    """The ranks that carry the attention shape; `heads` are query heads per K/V head, `kv_heads` the K/V heads."""

    query_seq: str
    key_seq: str
    head_dim: str = Field(description="query/key head dim (the contracted rank of Q K^T)")
    value_dim: str = Field(description="value/output head dim")
    heads: str | None = None
    kv_heads: str | None = None
    latent_dim: str | None = Field(None, description="MLA: the compressed KV latent (what --head-dim sets)")
    rope_dim: str | None = Field(None, description="MLA: the decoupled RoPE key dim")

    def named(self) -> dict[str, str]:
        return {role: rank for role, rank in self.model_dump().items() if rank is not None}


class Roles(Frozen):
    """The validated `roles:` block of a cascade (see the module docstring)."""

    reference: Reference
    query: str
    key: str | None = None
    value: str | None = None
    output: str
    logsumexp: str | None = None
    query_rope: str | None = None
    latent: str | None = None
    key_rope: str | None = None
    w_uk: str | None = None
    w_uv: str | None = None
    ranks: RankRoles
    mask: str = "none"
    window: str | None = Field(None, description="size symbol of a sliding window's width (e.g. W)")
    causal_variant: str | None = Field(None, description="cascade `--causal` selects when this one is unmasked")
    feature_map: Literal["none", "elu1"] = "none"
    normalize: bool = False
    sizes: dict[str, PositiveInt] = Field(default_factory=dict, description="sizes `--verify` uses")
    defaults: dict[str, PositiveInt] = Field(default_factory=dict, description="sizes of ranks no shape option "
                                             "sets (e.g. MLA's RoPE dim), each cited in the file")

    def tensor(self, role: str) -> str | None:
        return getattr(self, role)

    @property
    def causal(self) -> bool:
        return self.mask in ("causal", "sliding-window")


def check_mask_predicate(text: str) -> None:
    """A mask predicate is a comparison over rank names and integers (`m <= p + 8`); raise ValueError if not."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"mask {text!r} is neither one of {', '.join(NAMED_MASKS)} nor a predicate such as "
                         "'m <= p + 8'") from None
    allowed = (ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
               ast.Name, ast.Load, ast.Constant, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.UnaryOp,
               ast.USub)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant) and not isinstance(node.value, int)):
            raise ValueError(f"mask {text!r}: only comparisons of ranks and integers are allowed")


def legacy_roles(verify: dict, query_ranks: tuple[str, ...]) -> dict:
    """A `verify:` block as a `roles:` mapping, with the FuseMax rank names (p, m, e, f; others are heads)."""
    data = {k: v for k, v in verify.items() if k != "sequence_rank"}
    heads = [r for r in query_ranks if r not in ("p", "e")]
    ranks = {"query_seq": "p", "key_seq": verify.get("sequence_rank", "m"), "head_dim": "e", "value_dim": "f"}
    if data.get("reference") == "mla":
        ranks.update(latent_dim="l", rope_dim="r")
    if heads:
        ranks["heads"] = heads[-1]
        if len(heads) > 1:
            ranks["kv_heads"] = heads[0]
    data["ranks"] = ranks
    data.setdefault("mask", "none")
    return data
