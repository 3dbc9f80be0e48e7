"""The GPU kernel model's efficiency constants: few, named, and (the fitted ones) fitted on calibration data only.

`FITTED` is what `simulator.gpu.calibrate.fit()` returns on `simulator/gpu/data/calibration.yaml` (FlashAttention-2
paper A100 points and the FlashAttention-3 paper H100 point); `tests/gpu/test_gpu_calibration.py` re-runs the
fit and checks these stored values, so they cannot drift from the data. The assumed constants are not fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Constants:
    """Efficiencies of one kernel model.

    sync_tensor_efficiency:  fraction of tensor peak a synchronous-MMA kernel (FlashAttention-2) sustains in its
                             main loop. Not fitted: a free fit drives it to its bound 1.0 (FlashAttention-2's loss
                             is all exposed softmax and CTA edges), so it is held at 1.0 and three constants are fitted.
    softmax_overlap:         fraction of the shorter of (GEMMs, softmax) that every kernel hides under the longer
                             per key tile; the rest adds. One value for all kernels. Fitted (identified by the
                             head-dim 64 vs 128 points, where the softmax share differs).
    async_tensor_efficiency: fraction of tensor peak a warp-specialised kernel (FlashAttention-3, Blackwell FMHA)
                             sustains. Fitted on the Hopper point, assumed on Blackwell (no calibration point).
    edge_overhead:           multiplier on each CTA's prologue/epilogue transfer time (Q in, O out, the first K/V
                             tile, at the SM's share of HBM bandwidth) that is exposed. Fitted.
    async_pipeline_fill:     key tiles' worth of softmax a warp-specialised kernel exposes per CTA (its pipeline
                             prologue/epilogue, FlashAttention-3 Sec. 3.2). Assumed 1, not fitted.
    hbm_efficiency:          achievable fraction of peak HBM bandwidth. Assumed (0.9, typical of streaming
                             kernels on HBM2e/HBM3), not fitted.
    launch_latency_s:        kernel launch plus ramp-up/drain. Assumed (4 us), not fitted.
    """

    softmax_overlap: float
    async_tensor_efficiency: float
    edge_overhead: float
    sync_tensor_efficiency: float = 1.0
    async_pipeline_fill: float = 1.0
    hbm_efficiency: float = 0.9
    launch_latency_s: float = 4e-6

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_values(self, **values: float) -> Constants:
        return replace(self, **values)


#: Names of the constants the calibration fits (the rest are assumptions).
FITTED_NAMES = ("softmax_overlap", "async_tensor_efficiency", "edge_overhead")

#: Output of `simulator.gpu.calibrate.fit()` on the calibration data (rounded to 3 digits).
FITTED = Constants(
    softmax_overlap=0.548,
    async_tensor_efficiency=0.888,
    edge_overhead=3.61,
)
