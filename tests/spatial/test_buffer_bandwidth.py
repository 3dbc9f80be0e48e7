"""An optional limit on the global buffer's ports (`global_buffer.bw_bytes_per_cycle`): unset, as in every built-in
target (the FuseMax artifact assumes unlimited ports), a group takes max(compute, DRAM); set, also at least its
buffer traffic over the ports, reported per group as `buffer_s`."""

import json

import pytest

from simulator.cli import main

BASE = ["evaluate", "--target", "fusemax", "--workload", "BERT", "--seq", "4096", "--json"]


def run(capsys, *extra):
    assert main(BASE + list(extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_unset_ports_leave_the_latency_alone_and_report_no_buffer_time(capsys):
    free = run(capsys)
    wide = run(capsys, "--set", "global_buffer.bw_bytes_per_cycle=1e12")
    assert free["latency_s"] == wide["latency_s"]
    assert all(g["buffer_s"] == 0.0 for g in free["groups"])
    assert all(0 < g["buffer_s"] < g["latency_s"] for g in wide["groups"])


@pytest.mark.parametrize("port", [16384.0, 256.0])
def test_a_group_takes_at_least_its_buffer_traffic_over_the_ports(capsys, port):
    free = run(capsys)
    got = run(capsys, "--set", f"global_buffer.bw_bytes_per_cycle={port}")
    clock = 940e6  # FuseMax's clock (hw/profiles/fusemax.yaml)
    for g, f in zip(got["groups"], free["groups"], strict=True):
        traffic = sum(e["buffer_bytes"] for e in got["einsums"] if e["group"] == g["group"])
        assert g["buffer_s"] == pytest.approx(traffic / (port * clock), rel=1e-9)
        assert g["latency_s"] == pytest.approx(max(f["latency_s"], g["buffer_s"]), rel=1e-9)
    if port == 256.0:
        assert got["latency_s"] > 4 * free["latency_s"]  # 256 B per cycle cannot feed a 256x256 array


def test_an_impossible_port_width_is_a_clean_error(capsys):
    assert main(BASE + ["--set", "global_buffer.bw_bytes_per_cycle=-1"]) != 0
    err = capsys.readouterr().err
    assert "bw_bytes_per_cycle" in err and "Traceback" not in err
