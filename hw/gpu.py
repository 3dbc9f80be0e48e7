"""The `gpu` target kind: SMs, clocks, tensor/SFU/FP32 rates per instruction class, memory hierarchy.

Loaded from `hw/profiles/*.yaml` (every number cited there). Throughputs are whole-chip dense figures as
datasheets state them at `rated_clock_hz`; the GPU runs at `clock_hz` (settable: `--set clock_hz=1.2e9`), and
every SM-side rate (tensor, FP32, SFU) scales with `clock_hz / rated_clock_hz`; HBM bandwidth does not.
`tensor_flops_per_s` is what the architecture's native MMA instruction class reaches (wgmma on Hopper, tcgen05 on
Blackwell, mma.sync on Ampere); `tensor_class_fraction` says what fraction of it each other class reaches.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hw.spec import Frozen

#: Element types a tensor core may consume; `tensor_flops_per_s` lists those a GPU supports.
DType = Literal["fp16", "bf16", "fp8", "fp4"]

#: Tensor-core instruction classes: Ampere's warp-level mma.sync (also legal on Hopper and Blackwell), Hopper's
#: warpgroup wgmma, Blackwell's single-thread tcgen05.mma.
MmaClass = Literal["mma_sync", "wgmma", "tcgen05"]

#: GPU architectures the kernel model knows. `blackwell` is datacenter Blackwell (sm_100/sm_103: B200, GB200, B300,
#: tcgen05 and tensor memory); `rtx_blackwell` is NVIDIA's "RTX Blackwell" (sm_120: RTX 5090), which has neither
#: tcgen05 nor wgmma (PTX ISA, "Target ISA notes" of tcgen05: sm_100a/sm_100f family, sm_101a/sm_110f; wgmma: sm_90a)
#: and issues mma.sync like Ada (sm_89: L40S, RTX 4090).
Architecture = Literal["ampere", "ada", "hopper", "blackwell", "rtx_blackwell"]

#: The native MMA class of each architecture: the one `tensor_flops_per_s` is stated for.
NATIVE_MMA: dict[str, str] = {
    "ampere": "mma_sync",
    "ada": "mma_sync",
    "hopper": "wgmma",
    "blackwell": "tcgen05",
    "rtx_blackwell": "mma_sync",
}

#: Substrings of a CUDA device name (torch.cuda.get_device_name(), cudaDeviceProp.name) -> built-in profile,
#: more specific names first ("H100 PCIe" before "H100", "GB200" before "B200").
PROFILE_BY_DEVICE_NAME: tuple[tuple[str, str], ...] = (
    ("A100", "a100"), ("H100 PCIe", "h100-pcie"), ("H100", "h100"), ("H200", "h200"), ("H800", "h800"),
    ("GB200", "gb200"), ("GB300", "gb300"), ("B200", "b200"), ("B300", "b300"), ("L40S", "l40s"),
    ("RTX 4090", "rtx4090"), ("RTX 5090", "rtx5090"))


def profile_for_device(device_name: str) -> str | None:
    """The built-in profile of a CUDA device by its name, or None when none matches."""
    return next((p for key, p in PROFILE_BY_DEVICE_NAME if key in device_name), None)


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
    smem_bytes_per_clk: int = Field(
        gt=0,
        default=128,
        description=(
            "shared-memory bandwidth per SM per clock: 32 banks, each 32 bits per clock cycle (CUDA C++ Programming "
            "Guide, compute capability 5.x shared memory section, which the later capabilities' sections refer to)"
        ),
    )


class GpuTarget(Frozen):
    """One GPU. `architecture` selects the fused-attention kernels that run on it (`simulator.gpu.catalog`):
    ampere, ada, rtx_blackwell -> FlashAttention-2 (mma.sync), hopper -> FlashAttention-3, blackwell ->
    FlashAttention-4."""

    kind: Literal["gpu"]
    name: str
    description: str
    source: str
    architecture: Architecture
    sm_count: int = Field(gt=0)
    clock_hz: float = Field(
        gt=0,
        description="SM clock the kernel runs at (sustained under load); rates scale with clock_hz / rated_clock_hz",
    )
    rated_clock_hz: float | None = Field(
        default=None, gt=0, description="clock the datasheet rates below hold at (default: clock_hz)"
    )
    power_limit_w: float | None = Field(
        default=None, gt=0, description="board power limit the sustained clock was observed under (documentation only)"
    )
    compute_capability: float | None = Field(
        default=None, gt=0,
        description="CUDA compute capability (10.0 Blackwell, 10.3 Blackwell Ultra); kernels whose code branches on "
                    "it read it (FlashAttention-4 on the sm_103 family)",
    )
    tensor_flops_per_s: dict[DType, float] = Field(
        description="dense tensor-core FLOP/s by input dtype, native MMA class, at rated_clock_hz"
    )
    tensor_class_fraction: dict[MmaClass, float] = Field(
        default_factory=dict, description="fraction of tensor_flops_per_s each non-native MMA class reaches"
    )
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
        bad = {k: v for k, v in self.tensor_class_fraction.items() if not 0 < v <= 1}
        if bad:
            raise ValueError(f"tensor_class_fraction values must be in (0, 1], got {bad}")
        return self

    @property
    def clock_scale(self) -> float:
        """How far the running clock is from the clock the datasheet rates hold at."""
        return self.clock_hz / (self.rated_clock_hz or self.clock_hz)

    @property
    def native_mma(self) -> str:
        return NATIVE_MMA[self.architecture]

    def mma_classes(self) -> tuple[str, ...]:
        """The MMA instruction classes this GPU runs: its native one and those given a fraction."""
        return (self.native_mma, *(c for c in self.tensor_class_fraction if c != self.native_mma))

    def tensor_rate(self, dtype: str, mma_class: str | None = None) -> float:
        """Dense tensor FLOP/s of `dtype` through `mma_class` (default: native) at the running clock."""
        cls = mma_class or self.native_mma
        fraction = 1.0 if cls == self.native_mma else self.tensor_class_fraction[cls]
        return self.tensor_flops_per_s[dtype] * fraction * self.clock_scale

    def exp_rate(self) -> float:
        """SFU exp2 results per second at the running clock."""
        return self.exp_per_s * self.clock_scale

    def fp32_ops_per_s(self) -> float:
        """FP32 instructions per second (one FMA lane result = one op), i.e. half the FLOP/s figure, at the
        running clock."""
        return self.fp32_flops_per_s / 2.0 * self.clock_scale
