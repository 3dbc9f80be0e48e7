"""The fused-attention kernels the GPU model knows: where each runs, which MMA instruction class it issues there,
its schedule, and the dtypes and head dims it supports. `--kernel` names one (`fa2`, `fa3`, `fa4`, `cudnn`,
`cutlass`, `flashinfer`, `flashmla`); without it each architecture's best-known kernel that supports the shape runs.

Schedules (how a kernel overlaps its pipelines, `simulator.gpu.pipeline`):
- `sync`: FlashAttention-2 (Dao 2023): each warp issues mma.sync and its own softmax, and a CTA's warps sync before
  each key tile's GEMM and softmax phases: overlap only across the CTAs sharing an SM.
- `pingpong`: FlashAttention-3 (Shah et al. 2024, Sec. 3.1-3.2): two consumer warpgroups alternate GEMMs and
  softmax, plus intra-warpgroup GEMM-softmax pipelining; also cuDNN on Hopper, FlashInfer's Hopper/Blackwell paths and
  FlashMLA's "seesaw" variant (deepseek-ai/FlashMLA, docs/20250422-new-kernel-deep-dive.md).
- `fa4`: FlashAttention-4 (Zadouri, Dao et al. 2026, "FlashAttention-4: Algorithm and Kernel Pipelining Co-Design for
  Asymmetric Hardware Scaling"): one MMA warp, two softmax warpgroups ping-ponging two query tiles, separate
  correction warps (rescaling off the critical path), and part of the exp2 computed by a polynomial on the FMA units;
  also the CUTLASS Blackwell FMHA and cuDNN on Blackwell, which have those warp roles but no polynomial
  (`emulates_exp=False`).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import SimulatorError

Schedule = str  # "sync" | "pingpong" | "fa4"


@dataclass(frozen=True)
class KernelSpec:
    """One kernel: its CLI name, the `kernel.family` it reports, and what it supports."""

    name: str
    family: str
    #: architecture -> (MMA instruction class, schedule) where the kernel runs
    runs_on: dict[str, tuple[str, Schedule]]
    dtypes: tuple[str, ...]
    #: largest head dim (max of Q-K and V head dims) it compiles for
    max_head_dim: int
    #: (d_qk, d_v) pairs it supports beyond `max_head_dim` (DeepSeek 192/128, MLA 576/512); or the only ones
    extra_dims: tuple[tuple[int, int], ...] = ()
    only_extra_dims: bool = False
    source: str = ""
    #: a V head dim other than the Q-K one only as listed in `extra_dims` (FlashAttention-2 has one head dim)
    equal_dims_only: bool = False
    #: one wave of CTAs whose query tiles of a KV head walk the same key range at the same time (FlashMLA's decode
    #: grid): K/V leave HBM once whatever the L2 holds, and the work is balanced over the SMs (no wave quantisation)
    coscheduled_query_tiles: bool = False
    #: under the `fa4` schedule, computes part of the exps with a polynomial on the FMA units (FlashAttention-4)
    emulates_exp: bool = True
    #: with a causal mask, hands its CTAs to SMs in index order, each head's query tiles cheapest first (True: on
    #: every architecture it runs on; a tuple: on those architectures only)
    in_order_causal: bool | tuple[str, ...] = False
    #: a persistent CTA loads its next tile's Q only once its consumers have issued the current tile's last Q K^T
    #: GEMM (FA3: the QueryEmpty named barrier), so what of that load outlasts the last P V GEMM and the epilogue waits
    q_after_last_qk: bool = False
    #: architectures where the kernel keeps two Q buffers, so the next tile's Q loads under the current one; where
    #: the second buffer would not fit shared memory it waits for Q as a `q_after_last_qk` kernel does
    double_q_buffer: tuple[str, ...] = ()
    #: architectures where the kernel forms each exp's argument with a separate multiply and subtract (one FP32 op
    #: per score more than the cascade's one subtract, which FA2/FA3 fuse with the scale into an FFMA)
    unfused_exp_scale: tuple[str, ...] = ()
    #: from this compute capability on, each unmasked score tile's row max comes with its tensor-memory load (a
    #: load with a max reduction), so the cascade's one FP32 max per score is not issued there
    hardware_row_max_from: float | None = None
    #: from this compute capability on, the kernel computes every exp on MUFU (no polynomial), whatever `emulates_exp`
    exp_emulation_until: float | None = None

    def supports_dims(self, d_qk: int, d_v: int) -> bool:
        if (d_qk, d_v) in self.extra_dims:
            return True
        if self.equal_dims_only and d_qk != d_v:
            return False
        return not self.only_extra_dims and max(d_qk, d_v) <= self.max_head_dim

    def dims_text(self) -> str:
        extra = ", ".join(f"{a}/{b}" for a, b in self.extra_dims)
        if self.only_extra_dims:
            return f"Q-K/V head dims {extra}"
        same = ", V's equal to Q-K's" if self.equal_dims_only else ""
        return f"head dims up to {self.max_head_dim}{same}" + (f" (and Q-K/V {extra})" if extra else "")


def dispatches_in_order(name: str, architecture: str) -> bool:
    """Whether kernel `name` hands out its causal CTAs in index order on `architecture` (`in_order_causal`)."""
    flag = KERNELS[name].in_order_causal if name in KERNELS else False
    return flag is True or (isinstance(flag, tuple) and architecture in flag)


KERNELS: dict[str, KernelSpec] = {
    k.name: k
    for k in (
        # FA2 is built for sm80 and later (csrc/flash_attn; its sm8x tile rule covers sm86/sm89) and runs its mma.sync
        # code on Hopper, datacenter Blackwell and sm_120 alike.
        KernelSpec(
            "fa2",
            "flashattention-2",
            {
                "ampere": ("mma_sync", "sync"),
                "ada": ("mma_sync", "sync"),
                "hopper": ("mma_sync", "sync"),
                "blackwell": ("mma_sync", "sync"),
                "rtx_blackwell": ("mma_sync", "sync"),
            },
            ("fp16", "bf16"),
            256,
            source="Dao 2023, arXiv 2307.08691; flash-attention csrc/flash_attn (sm80)",
            equal_dims_only=True,
            # flash_fwd_launch_template.h: dim3 grid(num_m_block, b, h); flash_fwd_kernel.h: m_block = blockIdx.x
            in_order_causal=True,
        ),
        # FA3's hopper/ build instantiates head dim 192 with V head dim 128 (DeepSeek) beside equal head dims.
        KernelSpec(
            "fa3",
            "flashattention-3",
            {"hopper": ("wgmma", "pingpong")},
            ("fp16", "bf16", "fp8"),
            256,
            extra_dims=((192, 128),),
            source="Shah et al. 2024, arXiv 2407.08608; flash-attention hopper/",
            equal_dims_only=True,
            # hopper/flash_fwd_launch_template.h (commits 5018ac6 to 1c9717d6): causal runs the
            # DynamicPersistentTileScheduler, each CTA's next tile an atomicAdd on a counter, m block fastest
            # (hopper/tile_scheduler.hpp get_block_coord); non-causal the static persistent one (equal costs)
            in_order_causal=True,
            # hopper/mainloop_fwd_sm90_tma_gmma_ws.hpp (5018ac6): load() syncs on FwdNamedBarriers::QueryEmpty,
            # which mma() arrives at after its key-tile loop, before the last P V GEMM, then issues the Q load
            q_after_last_qk=True,
        ),
        KernelSpec(
            "fa4",
            "flashattention-4",
            {"blackwell": ("tcgen05", "fa4")},
            ("fp16", "bf16"),
            128,
            extra_dims=((192, 128),),
            source="Zadouri, Dao et al. 2026; flash-attention flash_attn/cute",
            equal_dims_only=True,
            # flash_attn/cute/flash_fwd_sm100.py (0251105): on the sm_103 family `use_ldred_rowmax` ("ld.red returns
            # each x32 tile's max in an extra register"; masked tiles reduce in software) and `enable_ex2_emu` off
            # ("sm_103 (B300) has fast hardware ex2")
            hardware_row_max_from=10.3,
            exp_emulation_until=10.3,
        ),
        # On Blackwell, cudnn-frontend's open sm100 SDPA forward (generated/sdpa/sm100/prefill/full_seqlens/
        # d128_fprop_kernel.h) has FA4's warp roles - two softmax warpgroups (SoftmaxWarpGroups = 2, Tiles_Q = 2 query
        # tiles of 128 rows), a correction warpgroup, MMA, TMA-load, TMA-store and scheduler warps, S and O in tensor
        # memory - and computes its exps with exp2f on MUFU: the `fa4` schedule without the polynomial, as CUTLASS's.
        KernelSpec(
            "cudnn",
            "cudnn",
            {"hopper": ("wgmma", "pingpong"), "blackwell": ("tcgen05", "fa4")},
            ("fp16", "bf16", "fp8"),
            256,
            source="NVIDIA cuDNN fused flash attention (SDPA) graphs",
            emulates_exp=False,
            # cudnn-frontend v1.19's open Hopper SDPA forward (generated/sdpa/sm90/prefill/full_seqlens/
            # d128_fprop_kernel.h): a persistent grid takes tiles from atomicAdd(tile_id_counter), tile_id ->
            # (batch, head, query tile) query tile fastest and ascending; two Q buffers (BUFFERS_Q = 2), so the
            # next tile's Q loads under the current one. ASSUMPTION: the closed 2024 kernels did the same.
            in_order_causal=("hopper",),
            # the same kernel's softmax: `__fmul_rn(scaled_inv_ln2, s)` then `__fsub_rn(s, scaled_max)` before
            # fp32_exp2 (the _rn intrinsics are never contracted into an FFMA); FA3's softmax.h scale_apply_exp2
            # computes exp2f(x * scale - max_scaled), one FFMA
            unfused_exp_scale=("hopper",),
            # BUFFERS_Q = 2 above; where two Q tiles and the K/V stages exceed shared memory (head dim 256 with
            # FA3's 128 x 80 tile: 2 x 64 KB + 2 x 80 KB > 228 KB; no open kernel there) it cannot hold two and
            # waits for Q as FA3 does (ASSUMPTION: FA3's QueryEmpty order)
            double_q_buffer=("hopper",),
        ),
        # The CUTLASS sm100 FMHA (FlashMLA's copy: csrc/sm100/prefill/dense/collective/
        # sm100_fmha_fwd_mainloop_tma_warpspecialized.hpp) has FA4's warp roles - two softmax warpgroups, one per
        # 128-row query tile, and a correction warpgroup that rescales O in tensor memory (`correction_rescale`) - but
        # computes every exp with ::exp2f on MUFU: the `fa4` schedule without the polynomial.
        KernelSpec(
            "cutlass",
            "blackwell-fmha",
            {"blackwell": ("tcgen05", "fa4")},
            ("fp16", "bf16", "fp8"),
            512,
            extra_dims=((576, 512),),
            source="CUTLASS example 77_blackwell_fmha; Hassani et al. 2025 (GNA)",
            emulates_exp=False,
        ),
        KernelSpec(
            "flashinfer",
            "flashinfer",
            {
                "ampere": ("mma_sync", "sync"),
                "ada": ("mma_sync", "sync"),
                "hopper": ("wgmma", "pingpong"),
                "blackwell": ("tcgen05", "pingpong"),
                "rtx_blackwell": ("mma_sync", "sync"),
            },
            ("fp16", "bf16", "fp8"),
            256,
            extra_dims=((192, 128),),
            equal_dims_only=True,
            source="Ye et al. 2025, FlashInfer (MLSys 2025), arXiv 2501.01005 (head_dim_qk 192 / head_dim_vo 128)",
        ),
        KernelSpec(
            "flashmla",
            "flashmla",
            {"hopper": ("wgmma", "pingpong"), "blackwell": ("tcgen05", "pingpong")},
            ("fp16", "bf16"),
            0,
            extra_dims=((576, 512),),
            only_extra_dims=True,
            source="deepseek-ai/FlashMLA (MLA decode, latent 512 + RoPE 64)",
            # csrc/api/dense_decode.h: num_sm_parts = num_sms / h_k / num_m_blocks; csrc/sm90/decode/dense/
            # splitkv_mla.cuh launches dim3(num_m_block, h_k, num_sm_parts), one CTA per SM, and every m block of
            # a partition walks the key range that partition's scheduler metadata (get_mla_metadata) gives it.
            coscheduled_query_tiles=True,
        ),
    )
}

#: Kernels tried in order when `--kernel` is not given: the first that runs the dtype and head dims is used.
#: Ada and RTX Blackwell (sm_120) have neither wgmma nor tcgen05, so FA3, FA4, the CUTLASS Blackwell FMHA and
#: FlashMLA do not run there; FA2's mma.sync kernel is the default (FlashInfer's sm80 path also runs).
PREFERENCE = {
    "ampere": ("fa2",),
    "ada": ("fa2",),
    "hopper": ("fa3", "flashmla", "cudnn"),
    "blackwell": ("fa4", "flashmla", "cutlass", "cudnn"),
    "rtx_blackwell": ("fa2",),
}

#: The kernel family each architecture runs by default (its best-known kernel for ordinary head dims).
FAMILY_BY_ARCH = {arch: KERNELS[names[0]].family for arch, names in PREFERENCE.items()}

_BY_FAMILY = {k.family: k for k in KERNELS.values()}


def kernel_spec(name: str) -> KernelSpec:
    """A kernel by CLI name (`fa3`) or family (`flashattention-3`); an unknown name is a one-line error."""
    spec = KERNELS.get(name) or _BY_FAMILY.get(name)
    if spec is None:
        raise SimulatorError(
            f"--kernel {name!r} is not a known kernel; choose one of {', '.join(KERNELS)}", source="--kernel"
        )
    return spec


def check_kernel(spec: KernelSpec, architecture: str, target_name: str, dtype: str, d_qk: int, d_v: int) -> None:
    """Refuse, in one line naming the option and the valid choices, a kernel that cannot run this case."""
    if architecture not in spec.runs_on:
        here = [k.name for k in KERNELS.values() if architecture in k.runs_on]
        raise SimulatorError(
            f"--kernel {spec.name}: {spec.family} does not run on {target_name} ({architecture}); "
            f"choose one of {', '.join(here)}",
            source="--kernel",
        )
    if dtype not in spec.dtypes:
        raise SimulatorError(f"--dtype {dtype}: --kernel {spec.name} takes {', '.join(spec.dtypes)}", source="--dtype")
    if not spec.supports_dims(d_qk, d_v) and d_qk != d_v and spec.supports_dims(d_qk, d_qk):
        here = [
            k.name
            for k in KERNELS.values()
            if architecture in k.runs_on and dtype in k.dtypes and k.supports_dims(d_qk, d_v)
        ]
        raise SimulatorError(
            f"--value-dim {d_v}: --kernel {spec.name} supports {spec.dims_text()}; with --head-dim "
            f"{d_qk} choose --kernel one of {', '.join(here) or 'none here'} or drop --value-dim",
            source="--value-dim",
        )
    if not spec.supports_dims(d_qk, d_v):
        raise SimulatorError(
            f"--head-dim {d_qk if d_qk == d_v else f'{d_qk}/{d_v}'}: --kernel {spec.name} supports {spec.dims_text()}",
            source="--head-dim",
        )


def resolve_kernel(
    architecture: str, target_name: str, dtype: str, d_qk: int, d_v: int, name: str | None = None
) -> tuple[KernelSpec, bool]:
    """(kernel, extrapolated): the named kernel, checked, or the architecture's first preferred kernel that runs
    this dtype and these head dims. When none does, the first preferred one runs outside its table
    (`extrapolated`), as the model always allowed for unusual head dims."""
    if name is not None:
        spec = kernel_spec(name)
        check_kernel(spec, architecture, target_name, dtype, d_qk, d_v)
        return spec, False
    for candidate in PREFERENCE[architecture]:
        spec = KERNELS[candidate]
        if dtype in spec.dtypes and spec.supports_dims(d_qk, d_v):
            return spec, False
    fallback = next((KERNELS[c] for c in PREFERENCE[architecture] if dtype in KERNELS[c].dtypes), None)
    if fallback is None:
        raise SimulatorError(f"--dtype {dtype}: no kernel on {target_name} takes it", source="--dtype")
    return fallback, True
