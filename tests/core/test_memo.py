"""The persistent memo: a warm evaluation imports no sympy; an edited file is never answered from the memo."""

import json
import os
import subprocess
import sys
from pathlib import Path

from cascade_base.memo import memo
from einsum_cascades.library import BUILTIN_DIR
from einsum_cascades.sketch import sketch

ROOT = Path(__file__).parents[2]


def test_an_edited_cascade_gets_a_new_sketch(tmp_path, monkeypatch):
    monkeypatch.setenv("CASCADE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "c.yaml"
    path.write_text((BUILTIN_DIR / "attention-1pass.yaml").read_text())
    assert sketch(path).name == "attention-1pass"
    path.write_text(path.read_text().replace("name: attention-1pass", "name: renamed"))
    assert sketch(path).name == "renamed"


def test_values_persist_across_processes_and_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CASCADE_CACHE_DIR", str(tmp_path))
    calls = []
    assert memo("t", ("k",), lambda: calls.append(1) or 41, ("cascade_base",)) == 41
    assert list(tmp_path.glob("t/*.pickle"))
    code = "from cascade_base.memo import memo; print(memo('t', ('k',), lambda: 0, ('cascade_base',)))"
    env = {**os.environ, "CASCADE_CACHE_DIR": str(tmp_path)}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "41"
    env["CASCADE_CACHE"] = "0"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "0"


def test_a_warm_evaluation_imports_no_sympy(tmp_path):
    env = {**os.environ, "CASCADE_CACHE_DIR": str(tmp_path)}
    probe = ("import sys, json; from simulator.cli import main; rc = main({argv}); "
             "print(json.dumps({{'rc': rc, 'sympy': 'sympy' in sys.modules}}), file=sys.stderr)")
    for argv in (["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "2048", "--json"],
                 ["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "2048", "--head-dim", "64",
                  "--json"]):
        runs = [subprocess.run([sys.executable, "-c", probe.format(argv=argv)], env=env, cwd=ROOT,
                               capture_output=True, text=True) for _ in range(2)]
        cold, warm = (json.loads(r.stderr.strip().splitlines()[-1]) for r in runs)
        assert cold == {"rc": 0, "sympy": True} and warm == {"rc": 0, "sympy": False}, argv
        assert runs[0].stdout == runs[1].stdout  # the same numbers either way
