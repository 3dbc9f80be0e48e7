"""Malformed cascades: one `CascadeError` naming file, line and column; never another exception."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from einsum_cascades.errors import CascadeError
from einsum_cascades.loader import parse_cascade
from einsum_cascades.parser import parse_einsum

HEADER = """name: t
ranks: {m: M, p: P, e: E, f: F}
inputs: {Q: [e, p], K: [e, m], V: [f, m]}
outputs: [AV]
einsums: |
  QK[m,p] = Q[e,p] * K[e,m]
"""


def cascade_with(line: str) -> str:
    return HEADER + f"  {line}\n  AV[f,p] = QK[m,p] * V[f,m]\n"


@pytest.mark.parametrize("line, message, column", [
    ("GM[p] = QK[m,q] :: max(m)", "unknown rank 'q'", 11),
    ("GM[p] = QX[m,p] :: max(m)", "unknown tensor 'QX'", 11),
    ("GM[p] = QK[m] :: max(m)", "has 1 indices", 11),
    ("GM[p] = QK[m,p] :: avg(m)", "expected a reduction", 22),
    ("GM[p] = QK[m,p] :: max(p)", "rank of the output", None),
    ("GM[p] = frob(QK[m,p])", "unknown function 'frob'", 11),
    ("GM[p] = QK[m,p] +", "expected a tensor", 20),
    ("Q[e,p] = QK[m,p]", "writes input tensor", None),
])
def test_error_names_line_and_column(line, message, column):
    with pytest.raises(CascadeError) as info:
        parse_cascade(cascade_with(line), source="bad.yaml")
    text = str(info.value)
    assert message in text
    assert text.startswith("bad.yaml:7")  # the Einsum's line in the file
    if column is not None:
        assert info.value.column == column


def test_unknown_key_and_missing_key():
    with pytest.raises(CascadeError, match="unknown key 'rank'"):
        parse_cascade(HEADER.replace("ranks:", "rank:"), source="x.yaml")
    with pytest.raises(CascadeError, match="missing key 'outputs'"):
        parse_cascade(HEADER.replace("outputs: [AV]\n", ""), source="x.yaml")


def test_malformed_yaml_names_the_line():
    with pytest.raises(CascadeError, match=r"x.yaml:2:\d+: malformed YAML"):
        parse_cascade("name: t\nranks: {m: M]]\n", source="x.yaml")


def test_iterative_tensor_needs_initial_value():
    text = """name: t
ranks: {m: M, p: P}
splits: {m: [m1, m0, M0]}
inputs: {S: [m, p]}
einsums: |
  LM[m1,p] = S[m1,m0,p] :: max(m0)
  RM[m1+1,p] = max(RM[m1,p], LM[m1,p])
  OUT[p] = RM[M1,p]
outputs: [OUT]
"""
    with pytest.raises(CascadeError, match="no initial value"):
        parse_cascade(text, source="t.yaml")
    assert parse_cascade(text.replace("einsums:", "initial: {RM: -inf}\neinsums:"), source="t.yaml")


def test_masked_scores_need_a_fill_value():
    with pytest.raises(CascadeError, match="else -inf"):
        parse_cascade(HEADER.replace("K[e,m]\n", "K[e,m] where m <= p\n") + "  AV[f,p] = QK[m,p] * V[f,m]\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="QKVmpef[](),=+-*/:<> 0123456789maxexpwhereelseinfand_.#", max_size=60))
def test_random_einsum_text_raises_only_cascade_error(text):
    with contextlib.suppress(CascadeError):
        parse_einsum(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_cascade_file_raises_only_cascade_error(text):
    with contextlib.suppress(CascadeError):
        parse_cascade(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="QKVGMAmpef[](),=+-*/:<> 0123456789maxexp", max_size=40))
def test_random_einsum_line_inside_a_cascade_raises_only_cascade_error(line):
    with contextlib.suppress(CascadeError):
        parse_cascade(cascade_with(line.replace("\n", " ")))


def test_initial_values_as_einsum_lines():
    text = """name: t
ranks: {m: M, p: P}
splits: {m: [m1, m0, M0]}
inputs: {S: [m, p]}
einsums: |
  RM[0,p] = -inf
  LM[m1,p] = S[m1,m0,p] :: max(m0)
  RM[m1+1,p] = max(RM[m1,p], LM[m1,p])
  OUT[p] = RM[M1,p]
outputs: [OUT]
"""
    assert parse_cascade(text).initial == {"RM": float("-inf")}
    with pytest.raises(CascadeError, match=r"t.yaml:6: initial value of 'RM' must be written RM\[0,p\]"):
        parse_cascade(text.replace("RM[0,p] = -inf", "RM[p,0] = -inf"), source="t.yaml")
    with pytest.raises(CascadeError, match="given twice"):
        parse_cascade(text.replace("einsums:", "initial: {RM: 0}\neinsums:"), source="t.yaml")
