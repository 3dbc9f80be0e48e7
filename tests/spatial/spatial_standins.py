"""Hand-built stand-ins for the attention cascades, with the attributes of /work/IR_CONTRACT.md, so that the spatial
cost model is tested without the cascade parser (FuseMax paper, arXiv 2406.10491, Cascades 1 (3-pass) and 5)."""

from types import SimpleNamespace

import sympy

M, P, E, F, M0 = sympy.symbols("M P E F M0", positive=True, integer=True)


def _e(output, output_ranks, operands, iteration_ranks, ops):
    return SimpleNamespace(output=output, output_ranks=tuple(output_ranks), operands=tuple(operands),
                           iteration_ranks=tuple(iteration_ranks), ops_per_point=dict(ops), mask=None,
                           reductions=(), text="")


def three_pass():
    einsums = (
        _e("QK", "mp", ["Q", "K"], "mpe", {"mac": 1}),
        _e("GM", "p", ["QK"], "pm", {"max": 1}),
        _e("SN", "mp", ["QK", "GM"], "mp", {"sub": 1, "exp": 1}),
        _e("SD", "p", ["SN"], "pm", {"add": 1}),
        _e("A", "mp", ["SN", "SD"], "mp", {"div": 1}),
        _e("AV", "fp", ["A", "V"], "fpm", {"mac": 1}),
    )
    return SimpleNamespace(name="attention-3pass", ranks={"m": M, "p": P, "e": E, "f": F},
                           inputs={"Q": ("e", "p"), "K": ("e", "m"), "V": ("f", "m")}, outputs=("AV",),
                           einsums=einsums, is_standin=True)


def one_pass():
    m1, m0 = "m1", "m0"
    einsums = (
        _e("BQK", (m1, m0, "p"), ["Q", "BK"], (m1, m0, "p", "e"), {"mac": 1}),
        _e("LM", (m1, "p"), ["BQK"], (m1, m0, "p"), {"max": 1}),
        _e("RM", (m1, "p"), ["RM", "LM"], (m1, "p"), {"max": 1}),
        _e("SLN", (m1, m0, "p"), ["BQK", "RM"], (m1, m0, "p"), {"sub": 1, "exp": 1}),
        _e("SLD", (m1, "p"), ["SLN"], (m1, m0, "p"), {"add": 1}),
        _e("SLNV", ("f", m1, "p"), ["SLN", "BV"], ("f", m1, m0, "p"), {"mac": 1}),
        _e("PRM", (m1, "p"), ["RM"], (m1, "p"), {"sub": 1, "exp": 1}),
        _e("SPD", (m1, "p"), ["RD", "PRM"], (m1, "p"), {"mul": 1}),
        _e("RD", (m1, "p"), ["SPD", "SLD"], (m1, "p"), {"add": 1}),
        _e("SPNV", ("f", m1, "p"), ["RNV", "PRM"], ("f", m1, "p"), {"mul": 1}),
        _e("RNV", ("f", m1, "p"), ["SPNV", "SLNV"], ("f", m1, "p"), {"add": 1}),
        _e("AV", ("f", "p"), ["RNV", "RD"], ("f", "p"), {"div": 1}),
    )
    return SimpleNamespace(name="attention-1pass",
                           ranks={"m1": M / M0, "m0": M0, "p": P, "e": E, "f": F},
                           inputs={"Q": ("e", "p"), "BK": ("e", m1, m0), "BV": ("f", m1, m0)}, outputs=("AV",),
                           einsums=einsums, is_standin=True)
