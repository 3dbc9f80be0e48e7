"""The SQLite store: content keys (stale rows after a target edit), locking, foreign files, kills at any moment."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.errors import SimulatorError
from simulator.sweep import run_sweep
from simulator.sweep.store import LOCK_FILE, STORE_FILE, SweepStore

HERE = Path(__file__).parent


def sweep_file(tmp_path, seqs=(64, 128), name="toy"):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: {name}\ngrid:\n  target: [{tmp_path}/slow.yaml]\n  seq: {list(seqs)}\n")
    return path


def rows(out):
    with sqlite3.connect(out / STORE_FILE) as db:
        return db.execute("SELECT key, inputs, result, error, tool_version, wall_s FROM points").fetchall()


def test_rows_hold_inputs_result_version_and_wall_time(tmp_path):
    run_sweep(sweep_file(tmp_path, seqs=(64, -1)), tmp_path / "out")
    stored = rows(tmp_path / "out")
    assert len(stored) == 2
    good = next(r for r in stored if r[2] is not None)
    bad = next(r for r in stored if r[2] is None)
    assert json.loads(good[1])["seq"] == 64 and json.loads(good[2])["latency_s"] > 0 and good[4] and good[5] >= 0
    assert "--seq" in bad[3]


def test_editing_the_target_makes_stored_points_stale_not_reused(tmp_path):
    out = tmp_path / "out"
    first = run_sweep(sweep_file(tmp_path), out)
    target = tmp_path / "slow.yaml"
    target.write_text(target.read_text().replace("rate_per_s: 1000000.0", "rate_per_s: 500000.0"))
    second = run_sweep(sweep_file(tmp_path), out, resume=True)
    assert second.points_resumed == 0 and second.computed == 2 and second.points_stale == 2
    assert any("stale" in n for n in second.notes)
    assert [r["latency_s"] for r in second.table] == pytest.approx([2 * r["latency_s"] for r in first.table])


def test_a_second_sweep_on_a_locked_store_is_refused(tmp_path):
    with SweepStore(tmp_path / "out", "toy"), pytest.raises(SimulatorError, match="another sweep.*is running"):
        run_sweep(sweep_file(tmp_path), tmp_path / "out", resume=True)
    assert run_sweep(sweep_file(tmp_path), tmp_path / "out", resume=True).computed == 2  # lock released


@pytest.mark.parametrize("content", [b"not a database at all\n", b""])
def test_a_foreign_file_is_refused_and_left_untouched(tmp_path, content):
    out = tmp_path / "out"
    out.mkdir()
    (out / STORE_FILE).write_bytes(content or b"SQLite format 3\x00" + b"\x00" * 84)
    before = (out / STORE_FILE).read_bytes()
    with pytest.raises(SimulatorError, match="not a cascade sweep store.*left untouched"):
        run_sweep(sweep_file(tmp_path), out)
    assert (out / STORE_FILE).read_bytes() == before


def test_an_sqlite_database_of_something_else_or_another_sweep_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with sqlite3.connect(out / STORE_FILE) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(SimulatorError, match="something else"):
        run_sweep(sweep_file(tmp_path), out)
    run_sweep(sweep_file(tmp_path, name="one"), tmp_path / "two")
    with pytest.raises(SimulatorError, match="store of sweep 'one', not 'other'"):
        run_sweep(sweep_file(tmp_path, name="other"), tmp_path / "two", resume=True)


def test_jsonl_results_of_the_old_format_are_refused_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"key": "a", "point": {}}\n{"key": "torn')
    with pytest.raises(SimulatorError, match="older sweep format"):
        run_sweep(sweep_file(tmp_path), out)
    assert (out / "results.jsonl").read_text().endswith('"torn')


SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import sweep_toy
sweep_toy.register()
from simulator.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_sweep(tmp_path, out, workers, *extra):
    code = SCRIPT.format(here=str(HERE))
    return subprocess.Popen([sys.executable, "-c", code, "sweep", str(tmp_path / "sweep.yaml"), "--out", str(out),
                             "--workers", str(workers), "--json", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def slow_sweep(tmp_path, n):
    (tmp_path / "slow.yaml").write_text("kind: toy\nrate_per_s: 1e6\nsleep_s: 0.15\n")
    return sweep_file(tmp_path, seqs=tuple(range(1, n + 1)))


def wait_rows(out, at_least, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (out / STORE_FILE).exists():
            try:
                if len(rows(out)) >= at_least:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} points stored in {timeout_s} s")


def children(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_sweep_loses_nothing_and_its_workers_die(tmp_path, sig):
    slow_sweep(tmp_path, 40)
    out = tmp_path / "out"
    proc = start_sweep(tmp_path, out, 2)
    try:
        wait_rows(out, 3)
        workers = children(proc.pid)
        assert workers, "the sweep started no worker processes"
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(w) for w in workers), "worker processes outlived their parent"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep's session: any worker that survived it
        _, err = proc.communicate(timeout=10)
    kept = rows(out)
    assert len(kept) >= 3 and len({r[0] for r in kept}) == len(kept)
    if sig == signal.SIGTERM:
        assert proc.returncode == 130 and b"--resume" in err and b"Traceback" not in err
    finished = start_sweep(tmp_path, out, 2, "--resume")
    stdout, _ = finished.communicate(timeout=120)
    summary = json.loads(stdout)
    assert summary["points_resumed"] == len(kept) and summary["computed"] == 40 - len(kept)
    assert len(rows(out)) == 40


def test_two_sweeps_started_on_one_store_do_not_duplicate_points(tmp_path):
    slow_sweep(tmp_path, 12)
    out = tmp_path / "out"
    first = start_sweep(tmp_path, out, 1)
    try:
        wait_rows(out, 1)
        second = start_sweep(tmp_path, out, 1, "--resume")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2 and b"another sweep" in err and err.count(b"\n") == 1
    finally:
        first.communicate(timeout=120)
    assert first.returncode == 0 and len(rows(out)) == 12
    assert (out / LOCK_FILE).exists()
