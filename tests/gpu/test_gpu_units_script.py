"""benchmarks/gpu_units.py: skips without a GPU; on a stand-in CuPy whose kernels run at planted per-SM rates, it
passes each kernel the arguments its CUDA signature declares and reports the planted rates back."""

import json
import re
import sys
import types

import numpy as np
import pytest
from bench_scripts import load_benchmark

#: Planted rates of the stand-in GPU, per SM per clock (work as the script counts it), and its clock.
PLANTED = {"mma_sync_fp16": 2048.0, "mufu_ex2": 16.0, "fp32_ffma": 256.0, "smem_load": 128.0,
           "l2_all": 40.0, "l2_one": 96.0, "hbm_all": 20.0, "hbm_one": 48.0}
CLOCK_HZ = 1.755e9
SMS = 132
L2_BYTES = 50 * 2**20


@pytest.fixture(scope="module")
def script():
    return load_benchmark("gpu_units")


class _Array:
    def __init__(self, n: int, dtype) -> None:  # noqa: ANN001
        self.data = np.zeros(n, dtype=dtype)

    def get(self) -> np.ndarray:
        return self.data.copy()


#: CUDA parameter type -> what the stand-in accepts: an array of this dtype (pointers) or this scalar type.
POINTER_DTYPES = {"long long*": np.int64, "float*": np.float32, "unsigned*": np.uint32, "const uint4*": np.uint32}
SCALAR_TYPES = {"int": np.int32, "long long": np.int64}


def _fake_cupy(script) -> types.ModuleType:  # noqa: ANN001
    """A CuPy stand-in: kernels check their arguments against the CUDA source's signatures and write the cycles a
    GPU with the PLANTED rates would take; events read a clock the kernels advance."""
    clock = {"s": 0.0}
    signatures = {
        name: [p.strip().rsplit(" ", 1)[0].strip() for p in params.split(",")]
        for name, params in re.findall(r'extern "C" __global__ void (?:__launch_bounds__\(\d+\) )?(\w+)\(([^)]*)\)',
                                       script.KERNELS_CU)
    }

    def cycles_per_block(name: str, grid: int, block: int, args: tuple, defines: dict) -> float:
        chains, loads = script.CHAINS, script.LOADS_IN_FLIGHT
        iters = int(args[-1])
        if name == "ldmatrix_mma":  # planted: 10% slower than the slower of its MMAs and its ldmatrix reads
            warps, mmas = block // 32, defines["MMAS"]
            return 1.1 * max(warps * iters * mmas * 4096 / PLANTED["mma_sync_fp16"],
                             warps * iters * 512 / PLANTED["smem_load"])
        if name == "mma_sync_fp16":
            return block // 32 * iters * chains * 2 * 16 * 8 * 16 / PLANTED[name]
        if name == "mufu_ex2":
            return block * iters * chains / PLANTED[name]
        if name == "fp32_ffma":
            return block * iters * chains * 2 / PLANTED[name]
        if name == "smem_load":
            return block * iters * loads * 16 / PLANTED[name]
        n_bytes = int(args[3]) * 16
        level = "l2" if n_bytes < L2_BYTES else "hbm"
        who = "one" if grid == 1 else "all"
        return n_bytes * iters / grid / PLANTED[f"{level}_{who}"]

    class Kernel:
        def __init__(self, name: str, defines: dict) -> None:
            self.name, self.defines = name, defines

        def __call__(self, grid: tuple, block: tuple, args: tuple) -> None:
            params = signatures[self.name]
            assert len(args) == len(params), (self.name, params)
            for param, arg in zip(params, args, strict=True):
                if param.endswith("*"):
                    assert isinstance(arg, _Array) and arg.data.dtype == POINTER_DTYPES[param], (self.name, param)
                else:
                    assert isinstance(arg, SCALAR_TYPES[param]), (self.name, param, type(arg))
            assert block[0] <= 1024 and grid[0] <= SMS  # one wave: at most one block per SM
            cyc = cycles_per_block(self.name, grid[0], block[0], args, self.defines)
            args[0].data[:] = int(cyc)
            clock["s"] += cyc / CLOCK_HZ + 5e-6  # and a launch

    class RawModule:
        def __init__(self, code: str, options: tuple = ()) -> None:
            assert code == script.KERNELS_CU
            self.defines = dict(o[2:].split("=") for o in options)
            self.defines = {k: int(v) for k, v in self.defines.items()}

        def get_function(self, name: str) -> Kernel:
            assert name in signatures, name
            assert (name == "ldmatrix_mma") == ("MMAS" in self.defines), name  # its own module, MMAS set
            return Kernel(name, self.defines)

    class Event:
        def record(self) -> None:
            self.t = clock["s"]

        def synchronize(self) -> None:
            pass

    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: 1, driverGetVersion=lambda: 13000,
        getDeviceProperties=lambda i: {"name": b"NVIDIA H100 80GB HBM3", "multiProcessorCount": SMS,
                                       "l2CacheSize": L2_BYTES})
    cuda = types.SimpleNamespace(runtime=runtime, Device=lambda i: types.SimpleNamespace(compute_capability="90"),
                                 Event=Event, get_elapsed_time=lambda a, b: (b.t - a.t) * 1e3)
    return types.SimpleNamespace(__version__="fake", cuda=cuda, RawModule=RawModule,
                                 zeros=lambda n, dtype: _Array(n, dtype), int32=np.int32, int64=np.int64,
                                 float32=np.float32, uint32=np.uint32)


def test_without_cupy_it_skips(script, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import fails as on a machine without CuPy
    assert script.main(["--json"]) == 0
    assert "skipping" in json.loads(capsys.readouterr().out)["skipped"]


def test_on_a_stand_in_gpu_it_reports_the_planted_rates(script, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(script))
    out = tmp_path / "units.json"
    assert script.main(["--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == result
    assert result["gpu"] == "NVIDIA H100 80GB HBM3" and result["target"] == "h100"
    units = result["units"]
    for unit, planted in (("mma_sync_fp16", "mma_sync_fp16"), ("mufu_ex2", "mufu_ex2"), ("fp32_ffma", "fp32_ffma"),
                          ("smem_load", "smem_load"), ("l2_load_all_sms", "l2_all"), ("l2_load_one_sm", "l2_one"),
                          ("hbm_load_all_sms", "hbm_all"), ("hbm_load_one_sm", "hbm_one")):
        assert units[unit]["per_clk_per_sm"] == pytest.approx(PLANTED[planted], rel=1e-3), unit
        assert units[unit]["clock_hz"] == pytest.approx(CLOCK_HZ, rel=0.05), unit  # the launch is in event time
    prof = result["profile"]
    # h100.yaml: 989.4 TF = 132 x 4096 x 1.83 GHz; mma_sync 0.63 of it; 16 ex2 and 128 FP32 lanes (x2) per clock
    assert prof["mma_sync_fp16"]["fraction_of_native"] == pytest.approx(2048 / 4096, rel=1e-3)
    assert prof["mma_sync_fp16"]["profile_fraction"] == 0.63
    assert prof["mufu_ex2"]["ratio"] == pytest.approx(1.0, rel=0.01)
    assert prof["fp32_ffma"]["ratio"] == pytest.approx(1.0, rel=0.01)
    assert prof["smem_load"]["profile"] == 128
    assert prof["hbm_load_all_sms"]["ratio"] == pytest.approx(20 * SMS * CLOCK_HZ / (3.35e12 * 0.9), rel=0.05)
    assert prof["l2_load_one_sm"]["profile"] is None  # the model assumes no L2 rate
    for m in (1, 2, 4):  # ldmatrix + m mma.sync: 512 B per m x 4096 FLOP; planted 1.1x slower than the max() form
        row = prof[f"ldmatrix_mma_{m}"]
        limit = min(2048.0, 128.0 * m * 4096 / 512)
        assert row["max_form_from_measured"] == pytest.approx(limit, rel=1e-3)
        assert row["measured"] == pytest.approx(limit / 1.1, rel=1e-3)
        assert row["sum_form_from_measured"] == pytest.approx(1 / (1 / 2048 + 1 / (128.0 * m * 8)), rel=1e-3)
        assert row["profile"] == pytest.approx(min(0.63 * 4096, 128.0 * m * 8), rel=1e-3)


def test_the_table_prints(script, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(script))
    assert script.main([]) == 0
    text = capsys.readouterr().out
    assert "mma.sync reaches 0.500 of the native MMA rate per clock" in text
    assert "l2_load_one_sm" in text
