"""Per-SM rates of the GPU this runs on, measured by microbenchmarks: the numbers the GPU model's profiles assume.

The kernel model (`simulator/gpu/`) costs a kernel from a few per-SM rates in its profile (`hw/profiles/*.yaml`):
the tensor rate of each MMA instruction class (`tensor_class_fraction.mma_sync`, FlashAttention-2's class: on
Hopper a blog's "about 63%", on Blackwell an ASSUMPTION), the SFU exp2 rate, the FP32 rate, the shared-memory
bandwidth (32 banks x 4 B per clock) and the achievable HBM fraction (`hbm_efficiency`, ASSUMED 0.9); it has no
L2-to-SM rate at all, which is what the FlashAttention-2 CTA edges of docs/gpu.md gap 1b wait on. Each is measured
here by one small CUDA kernel (CuPy `RawModule`, inline PTX), counted in SM clock cycles read with `clock64()`
inside the kernel, so the rates per clock do not depend on the clock the GPU happened to run at:

- `mma_sync_fp16`: `mma.sync.aligned.m16n8k16` fp16 x fp16 -> fp32 from registers, independent accumulator chains
  (what FlashAttention-2's inner loop issues, without its ldmatrix traffic);
- `mufu_ex2`: `ex2.approx.ftz.f32` chains (MUFU.EX2); `fp32_ffma`: FFMA chains;
- `smem_load`: 16-byte conflict-free `ld.shared` per thread;
- `ldmatrix_mma_1/2/4`: FlashAttention-2's GEMM loop in miniature, one `ldmatrix.x4` (512 B per warp) per 1, 2 or
  4 mma.sync on the previous load's registers, against the model's form for it (the slower of the MMAs and their
  shared-memory reads sets the time, `pipeline.tile_times`) and the form with the two in series;
- `l2_load_all_sms` / `l2_load_one_sm`: 16-byte `ld.global.cg` (L2, not L1) over a buffer that fits the L2, from
  every SM, then from one SM alone (the rate one CTA's prologue can load at while the others compute);
- `hbm_load_all_sms` / `hbm_load_one_sm`: the same over a buffer far larger than the L2. (Of the 8 loads a thread
  issues per step, ptxas keeps about 4 in flight on sm_80/sm_90, all 8 on sm_100: 64-128 KB per SM, so the one-SM
  rates are what that much in flight reaches.)

Each kernel runs in one wave (every block resident at once) several times; the best run counts. The result names
the GPU, its clocks (the one the kernels ran at, from cycles over CUDA-event time), the driver and CuPy version,
and beside each rate what the profile assumes. The rates become profile values only as measurements cited in the
profile (never fitted to the validation data).

    python benchmarks/gpu_units.py [--target h100] [--json] [--out units.json]

Without CuPy or a CUDA device it says so and exits 0. Run on a lent GPU by `scripts/gpu_measure.sh`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hw.gpu import profile_for_device  # noqa: E402

#: Independent accumulator or value chains per thread, enough to cover each unit's latency with 16 warps per SM.
CHAINS = 8
#: 16-byte loads a thread keeps in flight in the global-load kernel.
LOADS_IN_FLIGHT = 8
#: Best of this many timed runs of each kernel, after one warm-up run.
RUNS = 3
#: FLOPs of one warp's mma.sync.m16n8k16.
MMA_FLOP = 2.0 * 16 * 8 * 16
#: Bytes one warp's ldmatrix.x4 reads (32 rows of 16 B).
LDMATRIX_BYTES = 512.0
#: mma.sync per ldmatrix.x4 in the combined kernel: FA2's forward at head dim 128 issues about 1.8 (each warp reads
#: K and V, 16 KB each, and its 4 KB of Q per 128 mma.sync of a 64-key tile, `pipeline.operand_smem_s`).
MMAS_PER_LDMATRIX = (1, 2, 4)

KERNELS_CU = r"""
#ifndef CHAINS
#define CHAINS 8
#endif
#ifndef LOADS
#define LOADS 8
#endif

// volatile, so it stays after the loads it consumes: every load of a group is issued before the first use
__device__ __forceinline__ void fold(unsigned& acc, unsigned v) {
    asm volatile("xor.b32 %0, %0, %1;\n" : "+r"(acc) : "r"(v));
}

__device__ __forceinline__ void record(long long* cycles, long long t0) {
    __syncthreads();
    long long t1 = clock64();
    if (threadIdx.x == 0) cycles[blockIdx.x] = t1 - t0;
}

extern "C" __global__ void mma_sync_fp16(long long* cycles, float* out, int iters) {
    unsigned a0 = 0x3c003c00u, a1 = 0x3c003c00u, a2 = 0x3c003c00u, a3 = 0x3c003c00u;  // fp16 pairs of 1.0
    unsigned b0 = 0x3c003c00u, b1 = 0x3c003c00u;
    float c[CHAINS][4];
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { c[i][0] = c[i][1] = c[i][2] = c[i][3] = 0.0f; }
    __syncthreads();
    long long t0 = clock64();
    for (int it = 0; it < iters; ++it) {
        #pragma unroll
        for (int i = 0; i < CHAINS; ++i) {
            asm volatile(
                "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                "{%0,%1,%2,%3};\n"
                : "+f"(c[i][0]), "+f"(c[i][1]), "+f"(c[i][2]), "+f"(c[i][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
        }
    }
    record(cycles, t0);
    float s = 0.0f;
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { s += c[i][0] + c[i][1] + c[i][2] + c[i][3]; }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

#ifndef MMAS
#define MMAS 2
#endif

#define LDM(r, addr) asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n" \
    : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr))
#define MMA(c, r) asm volatile( \
    "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n" \
    : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]), "r"(r[0]), \
      "r"(r[1]))

// FlashAttention-2's GEMM loop in miniature: each warp reads 512 B of operands from shared memory per ldmatrix.x4
// and issues MMAS mma.sync on the previous load's registers (two register buffers, as FA2 pipelines its k slices).
extern "C" __global__ void ldmatrix_mma(long long* cycles, float* out, int iters) {
    __shared__ __align__(128) unsigned short tile[8192];  // 16 KB of fp16 ones
    for (int i = threadIdx.x; i < 8192; i += blockDim.x) { tile[i] = 0x3c00; }
    __syncthreads();
    unsigned base = (unsigned)__cvta_generic_to_shared(tile);
    unsigned lane_row = (threadIdx.x * 16) & 16383;  // each lane names one 16-byte row: 512 B per warp, no conflicts
    unsigned ra[4], rb[4];
    float c[MMAS][4];
    #pragma unroll
    for (int m = 0; m < MMAS; ++m) { c[m][0] = c[m][1] = c[m][2] = c[m][3] = 0.0f; }
    LDM(ra, base + lane_row);
    __syncthreads();
    long long t0 = clock64();
    for (int it = 0; it < iters; it += 2) {
        LDM(rb, base + ((lane_row + (it + 1) * 512) & 16383));
        #pragma unroll
        for (int m = 0; m < MMAS; ++m) { MMA(c[m], ra); }
        LDM(ra, base + ((lane_row + (it + 2) * 512) & 16383));
        #pragma unroll
        for (int m = 0; m < MMAS; ++m) { MMA(c[m], rb); }
    }
    record(cycles, t0);
    float s = 0.0f;
    #pragma unroll
    for (int m = 0; m < MMAS; ++m) { s += c[m][0] + c[m][1] + c[m][2] + c[m][3]; }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void mufu_ex2(long long* cycles, float* out, int iters) {
    float x[CHAINS];
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { x[i] = -1.0f - 0.01f * i; }
    __syncthreads();
    long long t0 = clock64();
    for (int it = 0; it < iters; ++it) {
        #pragma unroll
        for (int i = 0; i < CHAINS; ++i) {
            float y;
            asm volatile("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x[i]));
            x[i] = -y;  // bounded: x -> -2^x has a fixed point near -0.64
        }
    }
    record(cycles, t0);
    float s = 0.0f;
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { s += x[i]; }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void fp32_ffma(long long* cycles, float* out, int iters) {
    float x[CHAINS];
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { x[i] = 1.0f + 0.01f * i + 1e-6f * threadIdx.x; }
    __syncthreads();
    long long t0 = clock64();
    for (int it = 0; it < iters; ++it) {
        #pragma unroll
        for (int i = 0; i < CHAINS; ++i) {
            asm volatile("fma.rn.f32 %0, %0, %1, %2;\n" : "+f"(x[i]) : "f"(0.999f), "f"(0.001f));
        }
    }
    record(cycles, t0);
    float s = 0.0f;
    #pragma unroll
    for (int i = 0; i < CHAINS; ++i) { s += x[i]; }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void smem_load(long long* cycles, unsigned* out, int iters) {
    __shared__ uint4 buf[2048];  // 32 KB
    for (int i = threadIdx.x; i < 2048; i += blockDim.x) { buf[i] = make_uint4(i, 2 * i, 3 * i, 4 * i); }
    __syncthreads();
    unsigned base = (unsigned)__cvta_generic_to_shared(buf);
    unsigned acc = 0;
    long long t0 = clock64();
    for (int it = 0; it < iters; ++it) {
        #pragma unroll
        for (int k = 0; k < LOADS; ++k) {
            unsigned idx = (threadIdx.x + k * blockDim.x + it) & 2047;  // consecutive 16 B per lane: no conflicts
            unsigned v0, v1, v2, v3;
            asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                         : "=r"(v0), "=r"(v1), "=r"(v2), "=r"(v3) : "r"(base + 16 * idx));
            acc ^= v0 ^ v1 ^ v2 ^ v3;
        }
    }
    record(cycles, t0);
    out[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}

extern "C" __global__ void __launch_bounds__(1024) global_load(long long* cycles, unsigned* out, const uint4* buf,
                                                               long long n_vec, int iters) {
    unsigned acc = 0;
    long long stride = (long long)gridDim.x * blockDim.x;
    __syncthreads();
    long long t0 = clock64();
    for (int it = 0; it < iters; ++it) {
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n_vec; i += LOADS * stride) {
            unsigned v[LOADS][4];
            #pragma unroll
            for (int k = 0; k < LOADS; ++k) {
                long long j = i + k * stride;
                if (j >= n_vec) j = i;
                asm volatile("ld.global.cg.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                             : "=r"(v[k][0]), "=r"(v[k][1]), "=r"(v[k][2]), "=r"(v[k][3]) : "l"(buf + j));
            }
            #pragma unroll
            for (int k = 0; k < LOADS; ++k) {
                fold(acc, v[k][0]); fold(acc, v[k][1]); fold(acc, v[k][2]); fold(acc, v[k][3]);
            }
        }
    }
    record(cycles, t0);
    out[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}
"""


@dataclass(frozen=True)
class Timing:
    """One kernel run: the work it did, over how many SMs, the longest block's SM cycles and the event time."""

    work: float
    sms: int
    cycles: float
    seconds: float
    #: the shortest block's cycles: far below `cycles`, the blocks did not all run at once or not alike
    cycles_min: float = 0.0

    @property
    def per_clk_per_sm(self) -> float:
        return self.work / (self.cycles * self.sms)

    @property
    def clock_hz(self) -> float:
        return self.cycles / self.seconds

    @property
    def per_s(self) -> float:
        return self.work / self.seconds


def best(timings: list[Timing]) -> Timing:
    """The run with the highest rate per clock (a microbenchmark's other runs lost time to something else)."""
    return max(timings, key=lambda t: t.per_clk_per_sm)


def profile_rates(target: str) -> dict[str, float]:
    """What the profile assumes per SM per clock for each measured unit (`None` where it assumes nothing)."""
    from hw.registry import load_target
    from simulator.gpu.constants import FITTED

    g = load_target(target)
    per_clk = g.sm_count * (g.rated_clock_hz or g.clock_hz)
    rates = {
        "mma_sync_fp16": g.tensor_flops_per_s["fp16"] * g.tensor_class_fraction.get("mma_sync", 1.0) / per_clk,
        "mufu_ex2": g.exp_per_s / per_clk,
        "fp32_ffma": g.fp32_flops_per_s / per_clk,
        "smem_load": float(g.sm.smem_bytes_per_clk),
        "hbm_load_all_sms": g.hbm.bw_bytes_per_s * FITTED.hbm_efficiency,
    }
    return rates


def compare_with_profile(measured: dict[str, dict], target: str) -> dict[str, dict]:
    """Each measured unit beside the profile's value and their ratio (measured / profile)."""
    assumed = profile_rates(target)
    out = {}
    for unit, row in measured.items():
        value = row["per_s"] if unit == "hbm_load_all_sms" else row["per_clk_per_sm"]
        ref = assumed.get(unit)
        out[unit] = {"measured": value, "profile": ref,
                     "ratio": (value / ref) if value is not None and ref else None}
    for m in MMAS_PER_LDMATRIX:
        row = measured.get(f"ldmatrix_mma_{m}")
        if row is None or "mma_sync_fp16" not in measured or "smem_load" not in measured:
            continue
        # the model's form (pipeline.tile_times): the slower of the MMAs and their shared-memory reads sets the time
        flop_per_byte = m * MMA_FLOP / LDMATRIX_BYTES
        overlap = min(measured["mma_sync_fp16"]["per_clk_per_sm"], measured["smem_load"]["per_clk_per_sm"]
                      * flop_per_byte)
        serial = 1.0 / (1.0 / measured["mma_sync_fp16"]["per_clk_per_sm"]
                        + 1.0 / (measured["smem_load"]["per_clk_per_sm"] * flop_per_byte))
        out[f"ldmatrix_mma_{m}"] = {
            "measured": row["per_clk_per_sm"], "profile": min(assumed["mma_sync_fp16"], assumed["smem_load"]
                                                              * flop_per_byte),
            "ratio": row["per_clk_per_sm"] / min(assumed["mma_sync_fp16"], assumed["smem_load"] * flop_per_byte),
            "max_form_from_measured": overlap, "sum_form_from_measured": serial}
    if "mma_sync_fp16" in measured and assumed["mma_sync_fp16"]:
        from hw.registry import load_target

        g = load_target(target)
        native = g.tensor_flops_per_s["fp16"] / (g.sm_count * (g.rated_clock_hz or g.clock_hz))
        out["mma_sync_fp16"]["fraction_of_native"] = measured["mma_sync_fp16"]["per_clk_per_sm"] / native
        out["mma_sync_fp16"]["profile_fraction"] = g.tensor_class_fraction.get("mma_sync")
    return out


#: What each unit's work counts.
WORK_UNIT = {"mma_sync_fp16": "flop", "fp32_ffma": "flop", "mufu_ex2": "results",
             **{f"ldmatrix_mma_{m}": "flop" for m in MMAS_PER_LDMATRIX}}


def _row(t: Timing, unit: str) -> dict:
    """One unit's result; `per_clk_per_sm` and `per_s` count `work` (FLOPs, exp2 results or bytes)."""
    return {"work": WORK_UNIT.get(unit, "bytes"), "per_clk_per_sm": t.per_clk_per_sm, "per_s": t.per_s,
            "clock_hz": t.clock_hz, "sms": t.sms, "cycles": t.cycles, "cycles_min": t.cycles_min,
            "seconds": t.seconds}


def measure() -> dict:  # pragma: no cover - needs a CUDA device
    """Run every microbenchmark on device 0 and return the result object."""
    import cupy as cp

    dev = cp.cuda.Device(0)
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    sms = int(props["multiProcessorCount"])
    l2 = int(props["l2CacheSize"])
    module = cp.RawModule(code=KERNELS_CU, options=(f"-DCHAINS={CHAINS}", f"-DLOADS={LOADS_IN_FLIGHT}"))

    def timed(kernel: str, grid: int, block: int, args: tuple, work: float, active_sms: int,
              mod: object = None) -> Timing:
        fn = (mod or module).get_function(kernel)
        cycles = cp.zeros(grid, dtype=cp.int64)
        runs = []
        for r in range(RUNS + 1):
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            fn((grid,), (block,), (cycles, *args))
            stop.record()
            stop.synchronize()
            if r:  # the first run warms up (and fills the L2)
                per_block = cycles.get()
                runs.append(Timing(work, active_sms, float(per_block.max()),
                                   cp.cuda.get_elapsed_time(start, stop) / 1e3, float(per_block.min())))
        return best(runs)

    threads = 512  # one block per SM of 16 warps: 4 per scheduler, each with CHAINS independent chains
    grid = sms
    f_out = cp.zeros(grid * threads, dtype=cp.float32)
    u_out = cp.zeros(grid * threads, dtype=cp.uint32)
    iters = 20000
    warps = grid * threads // 32
    units = {}
    units["mma_sync_fp16"] = timed("mma_sync_fp16", grid, threads, (f_out, cp.int32(iters)),
                                   warps * iters * CHAINS * MMA_FLOP, sms)
    units["mufu_ex2"] = timed("mufu_ex2", grid, threads, (f_out, cp.int32(iters)),
                              grid * threads * iters * CHAINS * 1.0, sms)
    units["fp32_ffma"] = timed("fp32_ffma", grid, threads, (f_out, cp.int32(iters)),
                               grid * threads * iters * CHAINS * 2.0, sms)
    units["smem_load"] = timed("smem_load", grid, threads, (u_out, cp.int32(iters)),
                               grid * threads * iters * LOADS_IN_FLIGHT * 16.0, sms)
    for m in MMAS_PER_LDMATRIX:  # FA2's loop in miniature: 512 B of ldmatrix per `m` mma.sync
        mod = cp.RawModule(code=KERNELS_CU, options=(f"-DMMAS={m}",))
        units[f"ldmatrix_mma_{m}"] = timed("ldmatrix_mma", grid, threads, (f_out, cp.int32(iters)),
                                           warps * iters * m * MMA_FLOP, sms, mod)

    big_threads = 1024  # one block per SM (__launch_bounds__(1024): 64 registers), 128 KB of loads in flight
    l2_bytes = min(l2 // 4, 16 << 20)  # well inside the L2 (H100's is two partitions)
    hbm_bytes = max(16 * l2, 1 << 29)
    for label, nbytes, passes in (("l2", l2_bytes, 200), ("hbm", hbm_bytes, 2)):  # each run 0.3 ms or more
        buf = cp.zeros(nbytes // 16 * 4, dtype=cp.uint32)
        n_vec = nbytes // 16
        for who, g_blocks, active in (("all_sms", sms, sms), ("one_sm", 1, 1)):
            out = cp.zeros(g_blocks * big_threads, dtype=cp.uint32)
            reps = passes if who == "all_sms" else max(1, passes // 20)
            units[f"{label}_load_{who}"] = timed("global_load", g_blocks, big_threads,
                                                 (out, buf, cp.int64(n_vec), cp.int32(reps)),
                                                 float(n_vec * 16 * reps), active)
        del buf
    rows = {unit: _row(t, unit) for unit, t in units.items()}
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,"
             "temperature.gpu", "--format=csv"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError as exc:
        smi = f"nvidia-smi failed: {exc}"
    return {"gpu": name, "sm_count": sms, "l2_bytes": l2, "compute_capability": f"{dev.compute_capability}",
            "cupy": cp.__version__, "driver": cp.cuda.runtime.driverGetVersion(),
            "nvidia_smi": smi, "units": rows}


def _profile_cell(unit: str, ref: float | None) -> str:
    if ref is None:
        return "-"
    return f"{ref:.3g}/s" if unit == "hbm_load_all_sms" else f"{ref:.4g}"  # HBM: bytes per second, not per clock


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", help="profile to compare with (default: from the device name)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--out", help="also write the JSON object to this file")
    args = ap.parse_args(argv)
    try:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as exc:  # noqa: BLE001 - any import or driver failure means: nothing to measure here
        msg = f"skipping: no CUDA device for the microbenchmarks ({type(exc).__name__}: {exc})"
        print(json.dumps({"skipped": msg}) if args.json else msg)
        return 0
    result = measure()
    target = args.target or profile_for_device(result["gpu"])
    result["target"] = target
    if target:
        result["profile"] = compare_with_profile(result["units"], target)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['gpu']} ({result['sm_count']} SMs, cc {result['compute_capability']}), profile {target}")
    print(f"{'unit':18s} {'work':>7s} {'per clk per SM':>15s} {'per s':>11s} {'MHz':>6s} {'profile':>10s} "
          f"{'ratio':>6s}")
    for unit, row in result["units"].items():
        prof = result.get("profile", {}).get(unit, {})
        ref, ratio = prof.get("profile"), prof.get("ratio")
        print(f"{unit:18s} {row['work']:>7s} {row['per_clk_per_sm']:15.1f} {row['per_s']:11.4g} "
              f"{row['clock_hz'] / 1e6:6.0f} {_profile_cell(unit, ref):>10s} "
              f"{'-' if ratio is None else f'{ratio:.3f}':>6s}")
    for m in MMAS_PER_LDMATRIX:
        row = result.get("profile", {}).get(f"ldmatrix_mma_{m}")
        if row:
            print(f"ldmatrix + {m} mma.sync: {row['measured']:.0f} FLOP/clk/SM; from the measured units the "
                  f"model's max() form gives {row['max_form_from_measured']:.0f}, in series "
                  f"{row['sum_form_from_measured']:.0f}")
    mma = result.get("profile", {}).get("mma_sync_fp16", {})
    if "fraction_of_native" in mma:
        print(f"mma.sync reaches {mma['fraction_of_native']:.3f} of the native MMA rate per clock "
              f"(profile's tensor_class_fraction.mma_sync: {mma['profile_fraction']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
