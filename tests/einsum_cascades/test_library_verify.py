"""Every library cascade executes and matches its torch reference (the einsops-style oracle table)."""

import pytest

from einsum_cascades import analysis
from einsum_cascades.library import library_entries, library_names
from einsum_cascades.loader import load_cascade
from einsum_cascades.verify import verify

REQUIRED = {"attention-3pass", "attention-2pass", "attention-1pass", "flash-attention-2", "multi-query-attention",
            "grouped-query-attention", "mla", "mla-absorbed", "linear-attention", "lightning-attention-2",
            "attention-causal", "attention-sliding-window"}


def test_library_has_the_issue_cascades():
    assert set(library_names()) >= REQUIRED


@pytest.mark.parametrize("name", library_names())
def test_cascade_matches_torch(name):
    result = verify(load_cascade(name))
    assert result.verified, f"{name}: max error {result.max_error}"


@pytest.mark.parametrize("name", ["attention-3pass", "attention-1pass", "attention-causal", "mla-absorbed"])
def test_other_sizes_and_seed(name):
    sizes = {"M": 48, "P": 40, "E": 8, "F": 12, "M0": 8, "H": 3, "L": 16, "R": 4} if name != "attention-causal" \
        else {"M": 40, "P": 40, "E": 8, "F": 12, "M0": 8}
    assert verify(load_cascade(name), sizes, seed=7).verified


@pytest.mark.parametrize("entry", library_entries(), ids=lambda e: e.name)
def test_every_cascade_cites_its_source(entry):
    assert len(entry.citation) > 20 and entry.description


def test_fusemax_pass_taxonomy():
    # FuseMax (MICRO 2024) Section 3: the 3-pass, 2-pass and 1-pass cascades.
    assert analysis.passes(load_cascade("attention-3pass")) == 3
    assert analysis.passes(load_cascade("attention-2pass")) == 2
    assert analysis.passes(load_cascade("attention-1pass")) == 1
    assert analysis.passes(load_cascade("flash-attention-2")) == 1
    assert analysis.passes(load_cascade("linear-attention")) == 1


def test_passes_follow_dependencies_not_names(tmp_path):
    # Same name as the 1-pass cascade, but the division needs the global sum first: the bound must say 2.
    text = """
name: attention-1pass
ranks: {m: M, p: P, e: E, f: F}
inputs: {Q: [e, p], K: [e, m], V: [f, m]}
einsums: |
  QK[m,p] = Q[e,p] * K[e,m]
  SN[m,p] = exp(QK[m,p])
  SD[p] = SN[m,p]
  A[m,p] = SN[m,p] / SD[p]
  AV[f,p] = A[m,p] * V[f,m]
outputs: [AV]
"""
    path = tmp_path / "naive.yaml"
    path.write_text(text)
    assert analysis.passes(load_cascade(path)) == 2
