"""The `gpu` target kind: SMs, clocks, tensor/SFU/FP32 rates, memory hierarchy, kernel family.

Loaded from `hw/profiles/{a100,h100,b200}.yaml` (every number cited there). Throughputs are whole-chip dense
figures as datasheets state them; the kernel model divides by `sm_count` where it needs per-SM rates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hw.spec import Frozen

#: Element types a tensor core may consume; `tensor_flops_per_s` lists those a GPU supports.
DType = Literal["fp16", "bf16", "fp8", "fp4"]

#: Bytes per element of each dtype as attention kernels store Q, K, V (fp4 packs two per byte).
DTYPE_BYTES: dict[str, float] = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


class Hbm(Frozen):
    """Off-chip memory: peak bandwidth and capacity."""

    bw_bytes_per_s: float = Field(gt=0)
    capacity_bytes: float = Field(gt=0)


class SmResources(Frozen):
    """On-chip storage per SM that bounds occupancy (bytes)."""

    smem_bytes: int = Field(gt=0, description="shared memory a kernel may use per SM")
    register_bytes: int = Field(gt=0, description="register file per SM")
    tensor_memory_bytes: int = Field(ge=0, default=0, description="Blackwell tensor memory (TMEM) per SM")
    max_warps: int = Field(gt=0, description="resident warps per SM")


class GpuTarget(Frozen):
    """One GPU. `architecture` selects the fused-attention kernel family the model maps a cascade onto:
    ampere -> FlashAttention-2, hopper -> FlashAttention-3, blackwell -> CUTLASS Blackwell FMHA."""

    kind: Literal["gpu"]
    name: str
    description: str
    source: str
    architecture: Literal["ampere", "hopper", "blackwell"]
    sm_count: int = Field(gt=0)
    clock_hz: float = Field(gt=0, description="boost clock the throughput figures assume")
    tensor_flops_per_s: dict[DType, float] = Field(description="dense tensor-core FLOP/s by input dtype")
    fp32_flops_per_s: float = Field(gt=0, description="non-tensor FP32 FLOP/s (an FMA counts 2)")
    exp_per_s: float = Field(gt=0, description="special-function-unit exp (ex2) results per second")
    hbm: Hbm
    l2_bytes: int = Field(gt=0)
    sm: SmResources

    @model_validator(mode="after")
    def _rates_positive(self) -> GpuTarget:
        bad = {k: v for k, v in self.tensor_flops_per_s.items() if v <= 0}
        if bad:
            raise ValueError(f"tensor_flops_per_s must be positive, got {bad}")
        if "fp16" not in self.tensor_flops_per_s:
            raise ValueError("tensor_flops_per_s needs at least an fp16 entry")
        return self

    def fp32_ops_per_s(self) -> float:
        """FP32 instructions per second (one FMA lane result = one op), i.e. half the FLOP/s figure."""
        return self.fp32_flops_per_s / 2.0

