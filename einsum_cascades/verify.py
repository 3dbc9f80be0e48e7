"""Check a cascade against torch on random inputs: `verified` and the max error.

Each cascade names its reference in its `roles:` block, which of its tensors and ranks play which role:
- softmax-attention: `torch.nn.functional.scaled_dot_product_attention` (scale 1, as in FuseMax's cascades),
  with `mask: causal | sliding-window | PREDICATE` built by torch from the mask's definition in the roles, never
  from the cascade's Einsums; head ranks are batch dimensions, broadcast where K/V lack them (MQA/GQA);
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
from einsum_cascades.roles import Roles
from einsum_cascades.shape import bind_role_sizes, free_size_symbols

#: sizes of each rank role used when the roles' `sizes` do not set them: small, but with several tiles per rank.
ROLE_SIZES = {"query_seq": 64, "key_seq": 64, "head_dim": 16, "value_dim": 16, "heads": 2, "kv_heads": 2,
              "latent_dim": 32, "rope_dim": 8}
#: size of any other symbol (split tiles such as M0); a sliding window's width gets `WINDOW`.
OTHER_SIZE, WINDOW = 16, 24

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


def _attention_mask(roles: Roles, p: int, m: int, sizes: Mapping[str, int]):
    import torch

    q = torch.arange(p)[:, None]
    k = torch.arange(m)[None, :]
    if roles.mask == "none":
        return None
    if roles.mask == "causal":
        return k <= q
    if roles.mask == "sliding-window":
        return (k <= q) & (q - k < sizes[roles.window])
    names = {roles.ranks.query_seq: q, roles.ranks.key_seq: k, **{s: int(v) for s, v in sizes.items()}}
    return eval(compile(roles.mask, "<mask>", "eval"), {"__builtins__": {}}, names)  # checked by roles.py


def reference_output(cascade: Cascade, inputs: Mapping[str, np.ndarray], sizes: Mapping[str, int]):
    """The torch reference of the cascade's `verify.output` (and of `verify.logsumexp` when named)."""
    import torch

    roles = _roles(cascade)
    r = roles.ranks
    kind = roles.reference
    if kind == "softmax-attention":
        batch = [x for x in cascade.inputs[roles.query] if x not in (r.query_seq, r.head_dim)]
        q = _torch_layout(inputs[roles.query], cascade.inputs[roles.query], batch, r.query_seq, r.head_dim)
        k = _torch_layout(inputs[roles.key], cascade.inputs[roles.key], batch, r.key_seq, r.head_dim)
        v = _torch_layout(inputs[roles.value], cascade.inputs[roles.value], batch, r.key_seq, r.value_dim)
        k, v = k.expand(*q.shape[:-2], *k.shape[-2:]), v.expand(*q.shape[:-2], *v.shape[-2:])
        mask = _attention_mask(roles, q.shape[-2], k.shape[-2], sizes)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        result = {roles.output: (out, [*batch, r.query_seq, r.value_dim])}
        if roles.logsumexp:
            scores = q @ k.transpose(-1, -2)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            result[roles.logsumexp] = (torch.logsumexp(scores, dim=-1), [*batch, r.query_seq])
        return result
    if kind == "mla":
        order = {"query": (r.heads, r.head_dim, r.query_seq), "query_rope": (r.heads, r.rope_dim, r.query_seq),
                 "latent": (r.latent_dim, r.key_seq), "key_rope": (r.rope_dim, r.key_seq),
                 "w_uk": (r.latent_dim, r.heads, r.head_dim), "w_uv": (r.latent_dim, r.heads, r.value_dim)}
        t = {role: _as(inputs, cascade, roles.tensor(role), axes) for role, axes in order.items()}
        keys = torch.einsum("lhe,lm->hme", t["w_uk"], t["latent"])
        values = torch.einsum("lhf,lm->hmf", t["w_uv"], t["latent"])
        k_rope = t["key_rope"].T.expand(keys.shape[0], -1, -1)
        q = torch.cat([t["query"].permute(0, 2, 1), t["query_rope"].permute(0, 2, 1)], dim=-1)
        k = torch.cat([keys, k_rope], dim=-1)
        mask = _attention_mask(roles, q.shape[-2], k.shape[-2], sizes)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, values, attn_mask=mask, scale=1.0)
        return {roles.output: (out, [r.heads, r.query_seq, r.value_dim])}
    if kind == "linear-attention":
        q = _as(inputs, cascade, roles.query, (r.query_seq, r.head_dim))
        k = _as(inputs, cascade, roles.key, (r.key_seq, r.head_dim))
        v = _as(inputs, cascade, roles.value, (r.key_seq, r.value_dim))
        if roles.feature_map == "elu1":
            q, k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
        scores = q @ k.T
        mask = _attention_mask(roles, q.shape[0], k.shape[0], sizes)
        if mask is not None:
            scores = scores * mask
        out = scores @ v
        if roles.normalize:
            out = out / scores.sum(dim=-1, keepdim=True)
        return {roles.output: (out, [r.query_seq, r.value_dim])}
    raise CascadeError(f"cascade {cascade.name!r} has no known verify reference ({kind!r}); "
                       "expected softmax-attention, mla or linear-attention", source=cascade.source)


def _roles(cascade: Cascade) -> Roles:
    if cascade.roles is None:
        raise CascadeError(f"cascade {cascade.name!r} has no 'roles:' block naming its query, key, value, output "
                           "and torch reference; add one (see examples/cascades/README.md)", source=cascade.source)
    return cascade.roles


def _as(inputs: Mapping[str, np.ndarray], cascade: Cascade, tensor: str, axes: tuple[str, ...]):
    """The input `tensor` as a torch tensor with its axes in the order `axes` (rank names)."""
    import torch

    ranks = cascade.inputs[tensor]
    return torch.from_numpy(np.ascontiguousarray(np.transpose(inputs[tensor], [ranks.index(a) for a in axes])))


def random_inputs(cascade: Cascade, sizes: Mapping[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = bind_sizes(cascade, sizes)
    return {t: rng.standard_normal(tuple(n[r] for r in ranks)) for t, ranks in cascade.inputs.items()}


def verify_sizes(cascade: Cascade, given: Mapping[str, int]) -> dict[str, int]:
    """Sizes of every symbol for a check: `given`, then the role sizes above, then `OTHER_SIZE` (`WINDOW`)."""
    roles = _roles(cascade)
    known = {k: int(v) for k, v in given.items()}
    if roles.window and roles.window not in known:
        known[roles.window] = WINDOW
    ranks = roles.ranks.named()
    open_roles = {r: n for r, n in ROLE_SIZES.items() if r in ranks
                  and not {str(s) for s in cascade.ranks[ranks[r]].free_symbols} <= set(known)}
    values = bind_role_sizes(cascade, open_roles, known)
    for name in sorted(free_size_symbols(cascade) - set(values)):
        values[name] = OTHER_SIZE
    return {k: v for k, v in values.items() if k in free_size_symbols(cascade) | {roles.window}}


def verify(cascade: Cascade, sizes: Mapping[str, int] | None = None, seed: int = 0) -> VerifyResult:
    """Execute `cascade` on random inputs and compare every reference output with torch (float64)."""
    roles = _roles(cascade)
    chosen = verify_sizes(cascade, {**roles.sizes, **(sizes or {})})
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
    return VerifyResult(worst <= TOLERANCE, worst, roles.reference, chosen)
