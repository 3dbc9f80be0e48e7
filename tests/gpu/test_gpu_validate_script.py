"""benchmarks/gpu_validate.py runs without a GPU: data mode prints strict JSON, measuring mode exits 0."""

import json

import pytest
from bench_scripts import load_benchmark

from hw import load_target


@pytest.fixture(scope="module")
def script():
    return load_benchmark("gpu_validate")


def test_data_mode_json(script, capsys):
    assert script.main(["--data", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    summary = out["data"]["summary"]
    assert summary["calibration (fit)"]["points"] == 25
    assert summary["held-out, default kernel"]["mean_abs_error"] < 0.10
    sets = out["data"]["by_set"]
    assert "validation: h100 fa3 fp16 causal prefill" in sets and "fit: a100 fa2 fp16 non-causal prefill" in sets
    assert sum(v["points"] for k, v in sets.items() if k.startswith("validation")) == len(out["data"]["validation"])


def test_grid_cases_are_predictable(script):
    target = load_target("a100")
    cases = script.grid(quick=True)
    assert any(c.causal for c in cases) and any(c.seq == 1 for c in cases)
    for case in cases:
        pred = script.predict_case(target, case, "fp16", "fa2")
        assert pred["predicted_tflops"] > 0 and pred["kernel"] == "flashattention-2"


def test_measuring_without_gpu_exits_zero(script, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present; the measuring path is exercised by running the script")
    assert script.main(["--measure", "--quick", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["measured"] is None
    assert "no NVIDIA GPU" in captured.err


class _StandInCuda:
    """Enough of torch.cuda for the timing helpers: events a fixed 2 ms apart, and a queue that drains on sync."""

    def __init__(self, log: list):
        self.log = log

    def synchronize(self):
        self.log.append("sync")

    class Event:
        clock = 0.0

        def __init__(self, enable_timing: bool):
            assert enable_timing

        def record(self):
            type(self).clock += 1.0
            self.at = type(self).clock

        def elapsed_time(self, end):
            return 2.0 * (end.at - self.at)


def test_clock_is_read_while_the_queued_runs_execute(script):
    """`clock_under_load` queues the runs, samples the clock before waiting on them, then drains the queue; the
    timing helper's median is the events' time."""
    log = []
    torch = type("T", (), {"cuda": _StandInCuda(log)})()
    mhz = script.clock_under_load(lambda: log.append("run"), runs=3, sample=lambda: log.append("read") or 1755.0,
                                  torch=torch)
    assert mhz == 1755.0 and log == ["run", "run", "run", "read", "sync"]
    assert script._time_ms(lambda: None, warmup=1, reps=5, torch=torch) == pytest.approx(2.0)


def test_sm_clock_without_nvidia_smi_is_none(script, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert script.sm_clock_mhz() is None


def test_goals_name_every_set_above_the_issue_target(script, capsys):
    """The report's `goals` agree with its own sets: each validation set over 12% is listed, and no other."""
    assert script.main(["--data", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    goals, sets = data["goals"], data["by_set"]
    over = {k.removeprefix("validation: ") for k, v in sets.items()
            if k.startswith("validation: ") and v["mean_abs_error"] > goals["set_goal"]}
    assert set(goals["sets_above_goal"]) == over
    assert set(goals["sets_above_goal_shape_known"]) <= over
    assert goals["met"] == (goals["mean_abs_error"] <= goals["mean_goal"] and not over)
    assert goals["mean_abs_error"] == pytest.approx(data["summary"]["all held-out"]["mean_abs_error"])


def test_plot_writes_a_png_of_the_data(script, capsys, tmp_path):
    path = tmp_path / "plots" / "gpu-validation.png"
    assert script.main(["--data", "--json", "--plot", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["plot_png"] == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


def test_a_measured_run_kept_in_the_repo_becomes_validation_points(script, tmp_path):
    """A `--measure --out` file (rows as measure_mode writes them) read back by `measured_points`: one point per
    timed row, on the run's profile with the kernel it was predicted with, in its own "measured here" sets; a row
    the backend could not run is skipped, and the unmodelled backends are flagged approximate; the unit-rate file of
    `gpu_units.py` beside them holds no rows and adds none."""
    from simulator.gpu.calibrate import compare, measured_points

    target = load_target("h100")
    cases = script.grid(quick=True)[:3]
    rows = []
    for c in cases:
        pred = script.predict_case(target, c, "bf16", "fa2")
        rows.append({**c.__dict__, "measured_ms": 1.0, "measured_tflops": pred["predicted_tflops"] / 1.25, **pred})
    rows.append({**cases[0].__dict__, "measured_tflops": "n/a", "note": "no kernel"})
    for backend in ("flash", "efficient"):
        summary = {"device": "NVIDIA H100 80GB HBM3", "profile": "h100", "backend": backend, "dtype": "bf16",
                   "torch": "2.11.0", "driver_version": "580.159.03", "clocks.sm": "1980 MHz"}
        (tmp_path / f"run-{backend}.json").write_text(json.dumps({"summary": summary, "rows": rows}))
    (tmp_path / "units.json").write_text(json.dumps({"gpu": "NVIDIA H100 80GB HBM3", "units": {}}))  # gpu_units.py
    points = measured_points(tmp_path)
    assert len(points) == 6 and all(p.measured_here and p.kernel == "flashattention-2" for p in points)
    assert [p.approximate for p in points] == [True] * 3 + [False] * 3  # files in name order: efficient, flash
    assert all("measured here" in p.set_name() and "580.159.03" in p.source for p in points)
    errors = [r["error"] for r in compare(points)]
    assert all(abs(e - 0.25) < 1e-9 for e in errors)  # the model reproduces its own prediction, 1.25x the "measured"
    assert measured_points(tmp_path / "none") == ()


def _info(**changes):
    info = {"device": "NVIDIA H100 80GB HBM3", "profile": "h100", "backend": "flash", "dtype": "bf16",
            "torch": "2.11.0", "driver_version": "580.159.03", "clocks.sm": "1980 MHz"}
    return {**info, **changes}


def test_a_cut_off_measurement_keeps_every_shape_it_timed_and_resumes(script, tmp_path):
    """`--measure --out` rewrites its file after each shape (summary `complete` false until the last); a run cut
    off after three shapes leaves those three, and `--resume` times only the rest, in grid order."""
    cases = script.grid(quick=True)
    out = tmp_path / "run.json"
    timed = []

    def time_case(c):
        if len(timed) == 3:
            raise KeyboardInterrupt  # the device's time limit
        timed.append(c)
        return {**c.__dict__, "measured_tflops": 100.0 + len(timed), "error": 0.1}

    with pytest.raises(KeyboardInterrupt):
        script.measure_grid(cases, time_case, _info(), out)
    cut = json.loads(out.read_text())
    assert len(cut["rows"]) == 3 and cut["summary"]["complete"] is False and cut["summary"]["points"] == 3
    assert not (tmp_path / "run.json.tmp").exists()

    again = []

    def time_rest(c):
        again.append(c)
        return {**c.__dict__, "measured_tflops": 50.0, "error": -0.1}

    summary, rows = script.measure_grid(cases, time_rest, _info(**{"clocks.sm": "1755 MHz"}), out,
                                        script.resumed_rows(out, _info(**{"clocks.sm": "1755 MHz"})))
    assert again == cases[3:] and len(rows) == len(cases)
    assert [r["measured_tflops"] for r in rows[:3]] == [101.0, 102.0, 103.0]
    assert [script.Case(**{k: r[k] for k in script.Case.__dataclass_fields__}) for r in rows] == cases
    saved = json.loads(out.read_text())
    assert saved["summary"]["complete"] is True and saved["summary"]["resumed_rows"] == 3
    assert saved["summary"] == summary and saved["rows"] == rows
    assert script.resumed_rows(tmp_path / "none.json", _info()) == []


def test_resume_refuses_a_file_of_another_run(script, tmp_path):
    out = tmp_path / "run.json"
    script.measure_grid(script.grid(quick=True)[:1], lambda c: {**c.__dict__, "error": 0.0}, _info(), out)
    for changed in ({"backend": "cudnn"}, {"driver_version": "575.57.08"}, {"device": "NVIDIA H200"}):
        key = next(iter(changed))
        with pytest.raises(script.ResumeError, match=f"--resume: .*run.json holds a run with {key}"):
            script.resumed_rows(out, _info(**changed))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(script.ResumeError, match="is not a --measure --out file"):
        script.resumed_rows(tmp_path / "bad.json", _info())
