"""Hostile input to the command line: one line naming the file or option and the fix, exit status 2."""

import pytest

from simulator.cli import main


def bomb(path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = "a" if i == 1 else f"l{i - 1}"
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append("name: *l9")
    path.write_text("\n".join(lines) + "\n")
    return path


CASES = {
    "binary": lambda d: (d / "b.yaml").write_bytes(b"\xff\xfe\x00\x01") or d / "b.yaml",
    "bomb": lambda d: bomb(d / "bomb.yaml"),
    "directory": lambda d: (d / "dir").mkdir() or d / "dir",
    "under-a-file": lambda d: (d / "f").write_text("x") or d / "f" / "x.yaml",
    "deep": lambda d: (d / "deep.yaml").write_text("name: " + "[" * 3000 + "]" * 3000 + "\n") or d / "deep.yaml",
}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("command", [
    ["analyze", "{}"], ["evaluate", "--target", "{}", "--workload", "BERT", "--seq", "1024"],
    ["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "1024", "--mapping", "{}"],
    ["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "64", "--head-dim", "64",
     "--cascade", "{}"],
    ["sweep", "{}"],
])
def test_bad_files_are_one_line(tmp_path, capsys, kind, command):
    path = CASES[kind](tmp_path)
    rc = main([str(path) if a == "{}" else a for a in command])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and len(err) < 400, err


@pytest.mark.parametrize("argv,needle", [
    (["analyze", "attention-1pass", "--sizes", "M=4096,P=4096,E=64,F=64,M0=100"], "M/M0 = 1024/25"),
    (["analyze", "attention-1pass", "--sizes", "M=64,P=64,M0=128"], "not a positive integer"),
    (["analyze", "attention-1pass", "--sizes", "M=64,Z=3"], "Z is not a size symbol"),
    (["analyze", "attention-1pass", "--bytes-per-element", "0"], "--bytes-per-element"),
    (["evaluate", "--target", "h100", "--batch", "1", "--heads", "8", "--seq", "1024", "--head-dim", "65536"],
     "shared memory"),
    (["evaluate", "--target", "zcu102", "--seq", "197", "--heads", "12", "--head-dim", "64", "--cascade",
      "attention-3pass"], "--cascade: not used by fpga targets"),
    (["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "1024", "--cascade", "nosuch"],
     "unknown cascade"),
    (["sweep", "examples/sweeps/fusemax-vs-flat.yaml", "--out", "{file}/out"], "--out"),
])
def test_bad_options_are_one_line(tmp_path, capsys, argv, needle):
    (tmp_path / "file").write_text("x")
    rc = main([a.replace("{file}", str(tmp_path / "file")) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and needle in err, err


def test_long_and_deep_einsums_are_refused(tmp_path, capsys):
    terms = " + ".join(["Q[e,p]"] * 500)
    for body in (terms, "(" * 500 + "Q[e,p]" + ")" * 500):
        path = tmp_path / "c.yaml"
        path.write_text(f"name: c\nranks: {{p: P, e: E}}\ninputs: {{Q: [e, p]}}\neinsums: |\n  O[p] = {body}\n"
                        "outputs: [O]\n")
        assert main(["analyze", str(path)]) == 2
        assert "split it into" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"\x93NUMPYgarbage", None])
def test_empty_or_malformed_masks_are_one_line(tmp_path, capsys, content):
    import numpy as np

    path = tmp_path / "m.npy"
    if content is None:
        np.save(path, np.zeros((0, 0), dtype=bool))
    else:
        path.write_bytes(content)
    rc = main(["bound", "--shape", "1024", "--mask", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--mask" in err, err
