"""Cascade roles are validated; every package's error is one `InputError`; catalogs resolve names and paths."""

import pytest

from cascade_base.catalog import Catalog
from cascade_base.errors import InputError, shown
from einsum_cascades import load_cascade, parse_cascade
from einsum_cascades.errors import CascadeError
from einsum_cascades.library import library_names
from hw.errors import SpecError
from mappers.errors import MappingError
from simulator.errors import SimulatorError
from simulator.shape import AttentionShape, bind_shape

BASE = """name: t
ranks: {m: M, p: P, e: E, f: F}
inputs: {Q: [e, p], K: [e, m], V: [f, m]}
einsums: |
  QK[m,p] = Q[e,p] * K[e,m]
  AV[f,p] = QK[m,p] * V[f,m]
outputs: [AV]
"""


def test_every_error_type_is_an_input_error():
    assert all(issubclass(t, InputError) for t in (CascadeError, SpecError, MappingError, SimulatorError))


def test_every_library_cascade_has_roles():
    for name in library_names():
        roles = load_cascade(name).roles
        assert roles is not None and roles.ranks.query_seq and roles.ranks.key_seq, name


@pytest.mark.parametrize("roles,needle", [
    ("{reference: softmax-attention, query: Q, key: K, value: V, output: X, ranks: "
     "{query_seq: p, key_seq: m, head_dim: e, value_dim: f}}", "output: 'X' is not a tensor"),
    ("{reference: softmax-attention, query: Q, key: K, value: V, output: AV, ranks: "
     "{query_seq: q, key_seq: m, head_dim: e, value_dim: f}}", "ranks.query_seq: 'q' is not a rank"),
    ("{reference: softmax-attention, query: Q, key: K, output: AV, ranks: "
     "{query_seq: p, key_seq: m, head_dim: e, value_dim: f}}", "needs the tensor role 'value'"),
    ("{reference: softmax-attention, query: Q, key: K, value: V, output: AV, mask: 'import os', ranks: "
     "{query_seq: p, key_seq: m, head_dim: e, value_dim: f}}", "neither one of"),
    ("{reference: nosuch, query: Q, key: K, value: V, output: AV, ranks: "
     "{query_seq: p, key_seq: m, head_dim: e, value_dim: f}}", "field 'reference'"),
])
def test_bad_roles_are_one_line_errors(roles, needle):
    with pytest.raises(CascadeError, match=needle):
        parse_cascade(BASE + f"roles: {roles}\n", source="t.yaml")


def test_shape_binding_follows_roles_not_symbol_names():
    gqa = load_cascade("grouped-query-attention")
    bound = bind_shape(gqa, AttentionShape(batch=2, heads=32, kv_heads=8, seq=1024, kv_seq=2048, head_dim=128,
                                           value_dim=128))
    assert bound.sizes["G"] == 8 and bound.sizes["H"] == 32 and bound.sizes["M"] == 2048 and bound.instances == 2
    lightning = load_cascade("lightning-attention-2")  # m: N and p: N, one symbol for both sequences
    assert bind_shape(lightning, AttentionShape(1, 4, 4, 512, 512, 64, 64)).sizes["N"] == 512
    with pytest.raises(CascadeError, match="give 512"):
        bind_shape(lightning, AttentionShape(1, 4, 4, 512, 1024, 64, 64))


def test_catalog_resolves_names_paths_and_refuses_directories(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\n")
    cat = Catalog("thing", tmp_path, SimulatorError, option="--thing")
    assert cat.names() == ["a"] and cat.resolve("a") == tmp_path / "a.yaml"
    with pytest.raises(SimulatorError, match="unknown thing 'b'; built-in things: a"):
        cat.resolve("b")
    with pytest.raises(SimulatorError, match="is a directory"):
        cat.resolve(str(tmp_path) + "/")
    calls = []
    assert cat.load("a", lambda p: calls.append(p) or 1) == cat.load("a", lambda p: calls.append(p) or 1)
    assert len(calls) == 1  # cached per file and modification time


def test_shown_cuts_huge_values():
    assert len(shown(list(range(10**6)))) <= 60
