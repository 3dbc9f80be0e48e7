"""Check a cascade against torch on random inputs: `verified` and the max error.

Each cascade names its reference in its `verify:` block, and which of its tensors play which role:
- softmax-attention: `torch.nn.functional.scaled_dot_product_attention` (scale 1, as in FuseMax's cascades),
  with `mask: causal | sliding-window` built by torch from the mask's definition, never from the cascade;
  extra ranks (heads h, KV groups g) are batch dimensions, broadcast where K/V lack them (MQA/GQA);
  optional `logsumexp:` is checked against `torch.logsumexp` of the scores.
- mla: keys/values materialised from the latent with torch, then SDPA on [Q, QR] and [K, KR].
- linear-attention: (phi(Q) phi(K)^T [masked]) V, optionally normalised by the row sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from einsum_cascades.cascade import Cascade
from einsum_cascades.errors import CascadeError
from einsum_cascades.executor import bind_sizes, execute

#: sizes used when a cascade's `verify.sizes` does not set them: small, but with several tiles per rank.
DEFAULT_SIZES = {"M": 64, "P": 64, "N": 64, "E": 16, "F": 16, "M0": 16, "P0": 16, "T": 16, "H": 4, "G": 2,
                 "R": 8, "L": 32, "W": 24}

TOLERANCE = 1e-9  # float64 executor vs float64 torch, relative to the largest reference magnitude


@dataclass(frozen=True)
class VerifyResult:
    verified: bool
    max_error: float
    reference: str
    sizes: dict[str, int]


def logical(cascade: Cascade, tensor: str, array: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Merge adjacent split axes (m1, m0) back into their rank (m); returns the array and its rank names."""
    ranks = list(cascade.tensor_ranks.get(tensor) or cascade.inputs[tensor])
    shape = list(array.shape)
    for s in cascade.splits:
        if s.outer in ranks and s.inner in ranks and ranks.index(s.inner) == ranks.index(s.outer) + 1:
            i = ranks.index(s.outer)
            ranks[i:i + 2] = [s.rank]
            shape[i:i + 2] = [shape[i] * shape[i + 1]]
    return array.reshape(shape), tuple(ranks)


def _torch_layout(array: np.ndarray, ranks: tuple[str, ...], batch: list[str], seq: str, dim: str):
    import torch

    order = [r for r in batch if r in ranks] + [seq, dim]
    arr = np.transpose(array, [ranks.index(r) for r in order])
    shape = [arr.shape[order.index(r)] if r in ranks else 1 for r in batch] + list(arr.shape[-2:])
    return torch.from_numpy(np.ascontiguousarray(arr).reshape(shape))


def _attention_mask(kind: str | None, p: int, m: int, window: int | None):
    import torch

    if kind is None:
        return None
    q = torch.arange(p)[:, None]
    k = torch.arange(m)[None, :]
    if kind == "causal":
        return k <= q
    if kind == "sliding-window":
        return (k <= q) & (q - k < window)
    raise CascadeError(f"verify: unknown mask {kind!r}; expected causal or sliding-window")


def reference_output(cascade: Cascade, inputs: Mapping[str, np.ndarray], sizes: Mapping[str, int]):
    """The torch reference of the cascade's `verify.output` (and of `verify.logsumexp` when named)."""
    import torch

    spec = cascade.verify
    kind = spec.get("reference")
    if kind == "softmax-attention":
        batch = [r for r in cascade.inputs[spec["query"]] if r not in ("p", "e")]
        q = _torch_layout(inputs[spec["query"]], cascade.inputs[spec["query"]], batch, "p", "e")
        k = _torch_layout(inputs[spec["key"]], cascade.inputs[spec["key"]], batch, "m", "e")
        v = _torch_layout(inputs[spec["value"]], cascade.inputs[spec["value"]], batch, "m", "f")
        k, v = k.expand(*q.shape[:-2], *k.shape[-2:]), v.expand(*q.shape[:-2], *v.shape[-2:])
        mask = _attention_mask(spec.get("mask"), q.shape[-2], k.shape[-2], sizes.get("W"))
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        result = {spec["output"]: (out, batch + ["p", "f"])}
        if "logsumexp" in spec:
            scores = q @ k.transpose(-1, -2)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            result[spec["logsumexp"]] = (torch.logsumexp(scores, dim=-1), batch + ["p"])
        return result
    if kind == "mla":
        t = {role: torch.from_numpy(np.asarray(inputs[spec[role]])) for role in
             ("query", "query_rope", "latent", "key_rope", "w_uk", "w_uv")}
        keys = torch.einsum("lhe,lm->hme", t["w_uk"], t["latent"])
        values = torch.einsum("lhf,lm->hmf", t["w_uv"], t["latent"])
        k_rope = t["key_rope"].T.expand(keys.shape[0], -1, -1)
        q = torch.cat([t["query"].permute(0, 2, 1), t["query_rope"].permute(0, 2, 1)], dim=-1)
        k = torch.cat([keys, k_rope], dim=-1)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, values, scale=1.0)
        return {spec["output"]: (out, ["h", "p", "f"])}
    if kind == "linear-attention":
        q = torch.from_numpy(np.asarray(inputs[spec["query"]])).T
        k = torch.from_numpy(np.asarray(inputs[spec["key"]])).T
        v = torch.from_numpy(np.asarray(inputs[spec["value"]])).T
        if spec.get("feature_map") == "elu1":
            q, k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
        scores = q @ k.T
        if spec.get("mask") == "causal":
            scores = torch.tril(scores)
        out = scores @ v
        if spec.get("normalize"):
            out = out / scores.sum(dim=-1, keepdim=True)
        return {spec["output"]: (out, ["p", "f"])}
    raise CascadeError(f"cascade {cascade.name!r} has no known verify reference ({kind!r}); "
                       "expected softmax-attention, mla or linear-attention", source=cascade.source)


def random_inputs(cascade: Cascade, sizes: Mapping[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = bind_sizes(cascade, sizes)
    return {t: rng.standard_normal(tuple(n[r] for r in ranks)) for t, ranks in cascade.inputs.items()}


def verify(cascade: Cascade, sizes: Mapping[str, int] | None = None, seed: int = 0) -> VerifyResult:
    """Execute `cascade` on random inputs and compare every reference output with torch (float64)."""
    if not cascade.verify:
        raise CascadeError(f"cascade {cascade.name!r} has no 'verify:' block naming its torch reference",
                           source=cascade.source)
    chosen = {**DEFAULT_SIZES, **(cascade.verify.get("sizes") or {}), **(sizes or {})}
    used = {str(s) for e in cascade.ranks.values() for s in e.free_symbols} | {"W"}
    chosen = {k: v for k, v in chosen.items() if k in used}
    inputs = random_inputs(cascade, chosen, seed)
    produced = execute(cascade, inputs, chosen)
    worst = 0.0
    for tensor, (expected, expected_ranks) in reference_output(cascade, inputs, chosen).items():
        got, got_ranks = logical(cascade, tensor, produced[tensor])
        got = np.transpose(got, [got_ranks.index(r) for r in expected_ranks if r in got_ranks])
        want = expected.numpy().reshape(got.shape)
        scale = max(1.0, float(np.abs(want).max()))
        err = float(np.nanmax(np.abs(got - want))) / scale if np.isfinite(got).all() else float("inf")
        worst = max(worst, err)
    return VerifyResult(worst <= TOLERANCE, worst, str(cascade.verify.get("reference")), chosen)
