"""The GPU kernel model's efficiency constants: few, named, and (the fitted ones) fitted on calibration data only.

`FITTED` is what `simulator.gpu.calibrate.fit()` returns on `simulator/gpu/data/calibration.yaml` (the issue's three
sets: FlashAttention-2 paper A100 forward points, FlashAttention-3 paper FP16 non-causal forward points on H100,
the FlashAttention-4 headline on B200); `tests/gpu/test_gpu_calibration.py` re-runs the fit and checks these stored
values, so they cannot drift from the data. The assumed constants are not fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Constants:
    """Efficiencies of the kernel model, one overlap per schedule (`simulator.gpu.pipeline`).

    softmax_overlap:         `sync` schedule (FlashAttention-2): fraction of the shorter of (GEMMs, softmax) hidden
                             under the longer per key tile. Fitted (A100 points; head dim 64 vs 128 identify it).
    pingpong_overlap:        the same for the `pingpong` schedule (FlashAttention-3, cuDNN, CUTLASS FMHA, FlashInfer
                             on Hopper/Blackwell, FlashMLA). Fitted on the FlashAttention-3 H100 points.
    fa4_overlap:             the same for the `fa4` schedule (FlashAttention-4). Fitted on the FA4 headline.
    async_tensor_efficiency: fraction of the MMA class's rate a warp-specialised kernel sustains. Fitted on the
                             FlashAttention-3 H100 points; used on Blackwell too.
    edge_overhead:           multiplier on each synchronous CTA's prologue/epilogue transfer (Q in, O out, the first
                             K/V tile, at the SM's share of HBM bandwidth) that is exposed. Fitted (A100 points).
    async_pipeline_fill:     key tiles' worth of the shorter of (GEMM, softmax) a warp-specialised CTA exposes
                             (its pipeline fill and drain, FlashAttention-3 Sec. 3.2). Fitted (FA3 seq 512-16k).
    sync_tensor_efficiency:  fraction of the mma.sync rate a synchronous kernel sustains. Not fitted: a free fit
                             goes to its bound 1.0 (FlashAttention-2's loss is exposed softmax and CTA edges).
    fa4_poly_ops_per_exp:    FP32 instructions of one emulated exp2 (Cody-Waite range reduction and a degree-3
                             polynomial, FlashAttention-4 Sec. 3). Assumed 8.
    fa4_max_emulated_fraction: largest share of exps FA4 emulates. Assumed 0.5.
    fp8_transpose_ops_per_elem: FP32-pipe instructions per V element an FP8 wgmma kernel spends transposing V in
                             shared memory (FlashAttention-3 Sec. 3.3, LDSM/STSM). Assumed 0.25 (4 elements per op).
    hbm_efficiency:          achievable fraction of peak HBM bandwidth. Assumed 0.9.
    launch_latency_s:        kernel launch plus ramp-up/drain. Assumed 4 us.
    bwd_mma_efficiency:      fraction of the forward's sustained MMA rate the backward kernel's five GEMMs reach
                             (operands of the transposed GEMMs from shared memory, dK/dV register pressure).
                             Fitted on its own data only (`simulator/gpu/data/backward_fit.yaml`, the FA3 paper's
                             H100 FA3 head-dim-128 backward bars), never on the forward or validation points.
    """

    softmax_overlap: float
    async_tensor_efficiency: float
    edge_overhead: float
    pingpong_overlap: float = 0.8
    fa4_overlap: float = 0.8
    async_pipeline_fill: float = 1.0
    sync_tensor_efficiency: float = 1.0
    fa4_poly_ops_per_exp: float = 8.0
    fa4_max_emulated_fraction: float = 0.5
    fp8_transpose_ops_per_elem: float = 0.25
    hbm_efficiency: float = 0.9
    launch_latency_s: float = 4e-6
    bwd_mma_efficiency: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_values(self, **values: float) -> Constants:
        return replace(self, **values)


#: Names of the constants the calibration fits (the rest are assumptions).
FITTED_NAMES = ("softmax_overlap", "async_tensor_efficiency", "edge_overhead", "pingpong_overlap", "fa4_overlap",
                "async_pipeline_fill")

#: Output of `simulator.gpu.calibrate.fit()` on the calibration data (rounded to 3 digits).
FITTED = Constants(
    softmax_overlap=0.548,
    async_tensor_efficiency=0.928,
    edge_overhead=3.61,
    pingpong_overlap=0.602,
    fa4_overlap=0.548,
    async_pipeline_fill=0.949,
    bwd_mma_efficiency=0.671,  # simulator.gpu.calibrate.fit_backward() on backward_fit.yaml
)
