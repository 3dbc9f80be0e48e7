"""Op counts, footprints and intensity: symbolic forms, bound values, and masked counts against brute force."""

import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from einsum_cascades import analysis
from einsum_cascades.loader import load_cascade
from einsum_cascades.sizes import symbol

M, P, E, F, M0 = (symbol(s) for s in ("M", "P", "E", "F", "M0"))


def test_3pass_op_counts_are_symbolic_products_of_sizes():
    counts = analysis.op_counts(load_cascade("attention-3pass"))
    assert sympy.simplify(counts["mac"] - (E * M * P + F * M * P)) == 0
    for kind in ("max", "exp", "sub", "add", "div"):
        assert sympy.simplify(counts[kind] - M * P) == 0


def test_1pass_defers_division_and_corrects_per_tile():
    counts = analysis.op_counts(load_cascade("attention-1pass"))
    assert sympy.simplify(counts["div"] - F * P) == 0          # one division per output element
    assert sympy.simplify(counts["exp"] - (M * P + M * P / M0)) == 0  # scores plus one correction per tile


def test_bound_sizes_give_integers_matching_the_symbolic_form():
    c = load_cascade("attention-1pass")
    sizes = {"M": 256, "P": 128, "E": 64, "F": 32, "M0": 16}
    bound = analysis.op_counts(c, sizes)
    symbolic = analysis.op_counts(c)
    for kind, expr in symbolic.items():
        assert bound[kind] == int(expr.subs({symbol(k): v for k, v in sizes.items()}))
    assert analysis.flops(c, sizes) == 2 * bound["mac"] + sum(v for k, v in bound.items() if k != "mac")


def test_footprints_and_traffic():
    c = load_cascade("attention-1pass")
    fp = analysis.footprints(c, {"M": 64, "P": 32, "E": 8, "F": 4, "M0": 16})
    assert fp["Q"] == 8 * 32 and fp["K"] == 8 * 64 and fp["AV"] == 4 * 32
    assert fp["RM"] == (64 // 16 + 1) * 32  # iterative tensor: initial value plus one per step
    traffic = analysis.min_traffic_bytes(c, {"M": 64, "P": 32, "E": 8, "F": 4, "M0": 16}, bytes_per_element=2)
    assert traffic == 2 * (8 * 32 + 8 * 64 + 4 * 64 + 4 * 32)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), w=st.integers(1, 40))
def test_sliding_window_counts_match_a_materialised_mask(n, w):
    c = load_cascade("attention-sliding-window")
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    kept = int(((k <= q) & (q - k < w)).sum())
    counts = analysis.einsum_op_counts(c, {"M": n, "P": n, "E": 1, "F": 1, "M0": 1, "W": w})
    assert counts["BQK"]["mac"] == kept
    if w <= n:  # the symbolic form assumes the window fits the sequence
        expr = analysis.einsum_op_counts(c)["BQK"]["mac"]
        assert expr.subs({symbol("M"): n, symbol("P"): n, symbol("E"): 1, symbol("W"): w}) == kept


def test_causal_mask_halves_the_matmul_work():
    c = load_cascade("attention-causal")
    dense = analysis.op_counts(load_cascade("attention-1pass"), {"M": 512, "P": 512, "E": 64, "F": 64, "M0": 64})
    causal = analysis.op_counts(c, {"M": 512, "P": 512, "E": 64, "F": 64, "M0": 64})
    assert causal["mac"] == dense["mac"] * (512 + 1) // (2 * 512)


def test_absorbed_mla_decode_intensity_is_two_orders_above_mha():
    # "The New LLM Bottleneck" (2025): MLA's arithmetic intensity is about two orders of magnitude above MHA's.
    # Decode (one query), DeepSeek-V3 shapes: 128 heads, latent 512, RoPE 64, head dim 128.
    mla = {"H": 128, "M": 32768, "P": 1, "E": 128, "R": 64, "L": 512, "F": 128, "M0": 64}
    mha = {"M": 32768, "P": 1, "E": 128, "F": 128, "M0": 64}  # one head of multi-head attention
    absorbed = analysis.intensity(load_cascade("mla-absorbed"), mla)
    per_head = analysis.intensity(load_cascade("attention-1pass"), mha)
    assert per_head < 2
    assert absorbed / per_head > 50


def test_vectorised_op_counts_agree_with_sympy():
    c = load_cascade("flash-attention-2")
    f = analysis.op_counts_function(c)
    seqs = np.array([256, 1024, 4096])
    got = f(M=seqs, P=seqs, E=np.full(3, 64), F=np.full(3, 64), M0=np.full(3, 64), P0=np.full(3, 128))
    for i, s in enumerate(seqs):
        want = analysis.op_counts(c, {"M": int(s), "P": int(s), "E": 64, "F": 64, "M0": 64, "P0": 128})
        assert {k: int(v[i]) for k, v in got.items()} == want
