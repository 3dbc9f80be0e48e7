"""`--scheduler`: the same sweep on a real Dask cluster (a `dask scheduler` and two `dask worker` processes on
loopback, started and stopped by the test), and a clean error for an unreachable scheduler."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from simulator.errors import SimulatorError
from simulator.sweep import run_sweep

pytest.importorskip("distributed", reason="--scheduler needs the distributed extra: pip install -e '.[distributed]'")

DASK = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


@pytest.fixture
def cluster(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True,
              "cwd": tmp_path}
    procs = [subprocess.Popen([*DASK, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(scheduler_file)], **common)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), "dask scheduler did not start in 60 s"
        for _ in range(2):
            procs.append(subprocess.Popen([*WORKER, "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                                           "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"],
                                          **common))
        import json

        from distributed import Client

        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            # later tests' workers must not inherit this one's: each test gets its own cluster
        yield address
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def gpu_sweep(tmp_path):
    path = tmp_path / "gpu.yaml"
    path.write_text("""name: gpu
grid:
  target: [h100]
  cascade: [attention-1pass]
  head_dim: [64, 128]
  seq: [1024, 4096]
fixed: {batch: 1, heads: 8}
objectives: [latency_s]
""")
    return path


def test_a_sweep_runs_on_a_dask_cluster_as_it_does_locally(tmp_path, cluster):
    remote = run_sweep(gpu_sweep(tmp_path), tmp_path / "remote", scheduler=cluster)
    local = run_sweep(gpu_sweep(tmp_path), tmp_path / "local")
    assert remote.failed == 0 and remote.points_done == 4 and remote.scheduler == cluster
    assert remote.table == local.table


def test_an_unreachable_scheduler_is_a_clean_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SimulatorError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:\d+") as err:
        run_sweep(gpu_sweep(tmp_path), tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}")
    assert "\n" not in str(err.value)
