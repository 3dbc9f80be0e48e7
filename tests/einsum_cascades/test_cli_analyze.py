"""`cascade analyze`: JSON contract keys, --verify, and one-line errors for malformed files."""

import json
from pathlib import Path

import pytest

from simulator.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples" / "cascades"


def run_json(capsys, *args):
    code = main(list(args) + ["--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_analyze_json_has_the_contract_keys(capsys):
    code, data = run_json(capsys, "analyze", "attention-3pass", "--verify")
    assert code == 0
    for key in ("name", "passes", "op_counts", "einsums", "verified", "max_error"):
        assert key in data
    assert data["passes"] == 3 and data["verified"] is True
    assert [row["name"] for row in data["einsums"]] == ["QK", "GM", "SN", "SD", "A", "AV"]


def test_analyze_binds_sizes(capsys):
    code, data = run_json(capsys, "analyze", "attention-1pass", "--sizes", "M=1024,P=1024,E=64,F=64,M0=64")
    assert code == 0 and data["op_counts"]["mac"] == 2 * 1024 * 1024 * 64


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_cascade_loads(capsys, path):
    code, data = run_json(capsys, "analyze", str(path))
    assert code == 0 and data["passes"] >= 1


def test_malformed_file_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nranks: {m: M, p: P, e: E}\ninputs: {Q: [e, p], K: [e, m]}\noutputs: [S]\n"
                   "einsums: |\n  S[m,p] = Q[e,p] * K[e,q]\n")
    assert main(["analyze", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"error: {bad}:6:") and "unknown rank 'q'" in err


def test_unknown_cascade_lists_the_library(capsys):
    assert main(["analyze", "attention-4pass"]) == 2
    assert "attention-3pass" in capsys.readouterr().err


def test_bad_sizes_option(capsys):
    assert main(["analyze", "attention-1pass", "--sizes", "M=big"]) == 2
    assert "--sizes" in capsys.readouterr().err
