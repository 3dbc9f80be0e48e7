"""The GPU backend: an attention shape and a cascade, costed with the fused-kernel model (`simulator.gpu.model`).

The cascade's roles give everything the kernel model needs: its mask (a causal cascade is causal; `--causal`
selects the causal variant), its head dims (MLA: the latent and RoPE dims, attended in the absorbed form) and what
the K/V cache holds per key. Result keys: see `GpuResult`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from pydantic import PositiveInt

from cascade_base.spec import Frozen
from einsum_cascades.sketch import CascadeSketch
from hw.gpu import DTYPE_BYTES, GpuTarget
from simulator.errors import SimulatorError
from simulator.gpu.accuracy import is_decode, measured_error, set_label
from simulator.gpu.backward import backward_kernel, check_backward, predict_backward
from simulator.gpu.blockmask import GpuBlockMask, read_block_mask
from simulator.gpu.constants import FITTED, Constants
from simulator.gpu.kernels import KernelConfig, choose_kernel
from simulator.gpu.lengths import Lengths, check_varlen_masks, lengths
from simulator.gpu.model import Shapes, packing_and_kernel, predict
from simulator.gpu.prediction import Prediction
from simulator.gpu.results import GpuResult, TileWorkRow
from simulator.gpu.window import check_window
from simulator.shape import AttentionShape, select_sketch

DEFAULT_CASCADE = "attention-1pass"


class GpuOptions(Frozen):
    """What `cascade evaluate` takes for a GPU target (anything else is refused by name).

    `batch` and `seq` are optional here only so that a variable-length batch (`seq_lens` / `kv_seq_lens`) can
    stand in for them; without one, `plan` requires both as before (`simulator.gpu.lengths`)."""

    batch: PositiveInt | None = None
    heads: PositiveInt
    seq: PositiveInt | None = None
    head_dim: PositiveInt
    kv_heads: PositiveInt | None = None
    kv_seq: PositiveInt | None = None
    causal: bool = False
    dtype: Literal["fp16", "bf16", "fp8", "fp4"] | None = None
    cascade: str | None = None
    scope: Literal["attention"] = "attention"
    kernel: str | None = None
    page_size: PositiveInt | None = None
    value_dim: PositiveInt | None = None
    training_pass: str = "fwd"
    window: PositiveInt | None = None
    block_mask: str | None = None
    seq_lens: tuple[PositiveInt, ...] = ()
    kv_seq_lens: tuple[PositiveInt, ...] = ()


@dataclass(frozen=True)
class GpuPlan:
    """The shape, the cascade and the head dims the kernel sees, checked against the GPU. A variable-length
    batch keeps its lengths in `seq_lens` / `kv_seq_lens` (one query and one K/V length per sequence) and its
    `shape` is the batch of them with `seq` / `kv_seq` the longest."""

    target: GpuTarget
    cascade: CascadeSketch
    cascade_name: str
    shape: AttentionShape
    d_qk: int
    d_v: int
    dims: dict[str, int]
    kv_elems_per_key: int
    tensors_bytes: float
    kernel: str
    page_size: int | None = None
    training_pass: str = "fwd"
    #: keys each query sees under a sliding-window mask (None: no window)
    window: int | None = None
    #: a block-sparse mask over the sequence (None: no block mask)
    block_mask: GpuBlockMask | None = None
    #: a variable-length batch: each sequence's query and K/V length (empty: `shape.batch` equal sequences)
    seq_lens: tuple[int, ...] = ()
    kv_seq_lens: tuple[int, ...] = ()


class GpuBackend:
    kind = "gpu"
    options = GpuOptions
    scope_note = "one fused attention kernel of a given shape (--batch, --heads, --seq, --head-dim); the kernel "\
                 "picks its own tiles"

    def plan(self, target: GpuTarget, options: GpuOptions) -> GpuPlan:
        lens = lengths(options)  # --batch and --seq, or a variable-length batch
        name = options.cascade or DEFAULT_CASCADE
        cascade = select_sketch(name, options.causal)
        roles = cascade.roles
        if roles is None or roles.reference == "linear-attention":
            raise SimulatorError(f"cascade {cascade.name!r} is not softmax attention (its roles say "
                                 f"{roles.reference if roles else 'nothing'}); the GPU model costs fused softmax "
                                 "attention kernels", source="--cascade")
        if roles.mask not in ("none", "causal", "sliding-window"):
            raise SimulatorError(f"cascade {cascade.name!r} has mask {roles.mask!r}; the GPU model applies the "
                                 "causal and sliding-window masks by tile (use `cascade bound` for other sparse "
                                 "patterns)", source="--cascade")
        windowed = roles.mask == "sliding-window"
        check_varlen_masks(lens, windowed, options.block_mask)
        check_window(options.window, lens.seq, lens.seq if lens.varlen else lens.kv_seq, cascade.name, windowed)
        if options.block_mask is not None and windowed:
            raise SimulatorError(f"--block-mask: cascade {cascade.name!r} already has a sliding-window mask; use "
                                 "--cascade attention-1pass (or attention-causal) with a block mask",
                                 source="--block-mask")
        window = options.window or roles.defaults.get(roles.window or "") if windowed else None
        if windowed and window is None:
            raise SimulatorError(f"--window: cascade {cascade.name!r} gives its window {roles.window} no default; "
                                 "give --window N (keys each query sees)", source="--window")
        kv_heads = options.kv_heads or options.heads
        if roles.ranks.latent_dim and kv_heads != 1:
            raise SimulatorError(f"--kv-heads {kv_heads}: MLA attends to one shared latent; use --kv-heads 1",
                                 source="--kv-heads")
        check_backward("fa2", options.training_pass)  # an unknown --pass, before anything else
        value_dim = options.value_dim or options.head_dim
        for flag, dim in (("--head-dim", options.head_dim), ("--value-dim", value_dim)):
            if dim % 8:
                raise SimulatorError(f"{flag} {dim}: fused attention kernels need a multiple of 8; pad to "
                                     f"{dim + 8 - dim % 8}", source=flag)
        if options.value_dim is not None and roles.ranks.latent_dim:
            raise SimulatorError(f"--value-dim {options.value_dim}: cascade {cascade.name!r} attends to a latent "
                                 "whose size is --head-dim; drop --value-dim", source="--value-dim")
        dtype = options.dtype or "fp16"
        if dtype not in target.tensor_flops_per_s:
            raise SimulatorError(f"--dtype {dtype}: {target.name} has no {dtype} tensor cores (it supports "
                                 f"{', '.join(target.tensor_flops_per_s)}); pick one of those or another target",
                                 source="--dtype")
        shape = AttentionShape(batch=lens.batch, heads=options.heads, kv_heads=kv_heads, seq=lens.seq,
                               kv_seq=lens.kv_seq, head_dim=options.head_dim,
                               value_dim=value_dim, dtype=dtype, causal=cascade.causal)
        sizes = dict(roles.defaults)
        r = roles.ranks
        if r.latent_dim:  # the absorbed form FlashMLA runs: scores over [latent, rope], values are the latent
            rope = sizes.get(_symbol(cascade, r.rope_dim), 0) if r.rope_dim else 0
            d_qk, d_v, kv_per_key = shape.head_dim + rope, shape.head_dim, shape.head_dim + rope
            dims = {**sizes, _symbol(cascade, r.latent_dim): shape.head_dim}
        else:
            d_qk, d_v = shape.head_dim, shape.value_dim
            kv_per_key = d_qk + d_v
            dims = {_symbol(cascade, r.head_dim): d_qk, _symbol(cascade, r.value_dim): d_v}
        elem = DTYPE_BYTES[dtype]
        tokens, kv_tokens = (sum(lens.seq_lens), sum(lens.kv_seq_lens)) if lens.varlen else \
            (shape.batch * shape.seq, shape.batch * shape.kv_seq)  # summed over the sequences
        tensors_bytes = elem * (tokens * shape.heads * (d_qk + d_v) + kv_tokens * shape.kv_heads * kv_per_key)
        if tensors_bytes > target.hbm.capacity_bytes:
            fix = "shorten --seq-lens / --kv-seq-lens" if lens.varlen else "lower --batch or --seq"
            raise SimulatorError(f"Q, K, V and O need {tensors_bytes / 1e9:.1f} GB but {target.name} has "
                                 f"{target.hbm.capacity_bytes / 1e9:.0f} GB of HBM; {fix}",
                                 source="--seq-lens" if lens.varlen else "--seq")
        kernel = choose_kernel(target, d_qk, d_v, shape.causal, dtype, family=options.kernel)  # one-line refusals
        check_page_size(options.page_size, shape.kv_seq, kernel.name, lens)
        check_backward(kernel.name, options.training_pass)
        block_mask = None if options.block_mask is None else read_block_mask(
            options.block_mask, shape.seq, shape.kv_seq, shape.heads, shape.causal)
        if options.training_pass != "fwd":
            backward_kernel(target, d_qk, d_v, shape.causal, dtype, kernel.name)  # its own one-line refusals
        return GpuPlan(target, cascade, name if cascade.name == name else cascade.name, shape, d_qk, d_v, dims,
                       kv_per_key, tensors_bytes, kernel.name, options.page_size, options.training_pass, window,
                       block_mask, lens.seq_lens, lens.kv_seq_lens)

    def cost(self, plan: GpuPlan) -> GpuResult:
        return evaluate_plan(plan)

    def cost_batch(self, plans: list[GpuPlan]) -> list[GpuResult]:
        return evaluate_plans(plans)


BACKEND = GpuBackend()


#: Page sizes each kernel's paged K/V cache takes (FlashAttention-2 `flash_attn_with_kvcache`: page_block_size a
#: multiple of 256; FlashMLA: block size 64, its README); other kernels take any page size.
PAGE_RULES = {"fa2": (256, "a multiple of 256"), "flashmla": (64, "64")}


def check_page_size(page_size: int | None, kv_seq: int, kernel: str, lens: Lengths | None = None) -> None:
    """Refuse a page size the K/V length (of every sequence of a variable-length batch `lens`) or the kernel
    cannot take, naming the valid choices."""
    if page_size is None:
        return
    step, text = PAGE_RULES.get(kernel, (1, ""))
    if page_size % step or (kernel == "flashmla" and page_size != step):
        raise SimulatorError(f"--page-size {page_size}: --kernel {kernel} takes a page size of {text}",
                             source="--page-size")
    if lens is not None and lens.varlen:
        for i, length in enumerate(lens.kv_seq_lens):
            if length % page_size:
                ok = [p for p in (16, 32, 64, 128, 256, 512, 1024)
                      if p % step == 0 and all(n % p == 0 for n in lens.kv_seq_lens)]
                given = "--kv-seq-lens" if lens.kv_seq_lens != lens.seq_lens else "--seq-lens"
                choice = "one of " + ", ".join(map(str, ok)) if ok else "a common divisor of the K/V lengths"
                raise SimulatorError(f"--page-size {page_size} does not divide K/V length {length} (sequence "
                                     f"{i + 1} of {given}); choose {choice}", source="--page-size")
        return
    if kv_seq % page_size:
        ok = [p for p in (16, 32, 64, 128, 256, 512, 1024) if kv_seq % p == 0 and p % step == 0]
        ok = ok or [p for p in range(step, min(kv_seq, 1024) + 1, step) if kv_seq % p == 0][-8:]
        choice = "one of " + ", ".join(map(str, ok)) if ok else f"a --kv-seq that is a multiple of {step}"
        raise SimulatorError(f"--page-size {page_size} does not divide --kv-seq {kv_seq}; choose {choice}",
                             source="--page-size")


def _symbol(cascade: CascadeSketch, rank: str) -> str:
    """The size symbol of a rank whose size is one symbol (`e: E` -> `E`)."""
    symbol = cascade.rank_symbol[rank]
    if symbol is None:
        raise SimulatorError(f"cascade {cascade.name!r}: rank {rank!r} is not sized by one symbol; the GPU model "
                             "binds head dims that are one size symbol each", source="--cascade")
    return symbol


def evaluate_plan(plan: GpuPlan, constants: Constants = FITTED) -> GpuResult:
    """Cost one attention shape on the plan's GPU with the fused-kernel model (see `simulator.gpu.model`); with
    `--pass bwd` the backward kernel (`simulator.gpu.backward`), with `fwd+bwd` both: latency, FLOPs and TFLOP/s
    are their sums and the breakdowns (bound, utilization, phases, grid, kernel) the backward kernel's."""
    return evaluate_plans([plan], constants)[0]


def evaluate_plans(plans: list[GpuPlan], constants: Constants = FITTED) -> list[GpuResult]:
    """`evaluate_plan` of every plan, with one vectorised `predict` call per set of plans that differ only in
    their sizes (batch, heads, KV heads, lengths) on the same GPU and kernel: a sweep over shapes costs a batch
    of points for about the price of one. Each result equals `evaluate_plan`'s of its plan alone."""
    groups: dict[tuple, list[int]] = {}
    out: list[GpuResult | None] = [None] * len(plans)
    for i, plan in enumerate(plans):
        if plan.seq_lens:  # a variable-length batch is one launch of its own
            out[i] = _result(plan, _predict_forward(plan, *_plan_shapes(plan), constants), 0, constants)
        else:
            groups.setdefault(_batch_key(plan), []).append(i)
    for members in groups.values():
        first = plans[members[0]]
        shapes = Shapes.of(*zip(*(_sizes(plans[i].shape) for i in members), strict=True))
        forward = _predict_forward(first, shapes, False, constants)
        for j, i in enumerate(members):
            out[i] = _result(plans[i], forward, j, constants)
    return out  # type: ignore[return-value]


def _predict_forward(plan: GpuPlan, shapes: Shapes, one_launch: bool, constants: Constants) -> Prediction:
    return predict(plan.target, shapes, d_qk=plan.d_qk, d_v=plan.d_v, causal=plan.shape.causal,
                   dtype=plan.shape.dtype, cascade=plan.cascade.path, dims=plan.dims,
                   kv_elems_per_key=plan.kv_elems_per_key, family=plan.kernel, page_size=plan.page_size,
                   constants=constants, window=plan.window, block_mask=plan.block_mask, one_launch=one_launch)


def _sizes(sh: AttentionShape) -> tuple[int, int, int, int, int]:
    return sh.batch, sh.heads, sh.kv_heads, sh.seq, sh.kv_seq


def _plan_shapes(plan: GpuPlan) -> tuple[Shapes, bool]:
    """The plan's shape, or the sequences of its variable-length batch (batch 1 each) and one_launch=True."""
    sh = plan.shape
    if not plan.seq_lens:
        return Shapes.of(*_sizes(sh)), False
    return Shapes.of(1, sh.heads, sh.kv_heads, list(plan.seq_lens), list(plan.kv_seq_lens)), True


def _batch_key(plan: GpuPlan) -> tuple:
    """Plans with equal keys share one `predict` call. The key holds everything `predict` takes besides the
    sizes, and the kernel chosen for the plan's own shape: `predict` picks one kernel for its whole batch (the one
    for its most rows), so plans are batched only with plans whose own choice is the same kernel."""
    sh = plan.shape
    _, kernel = packing_and_kernel(plan.target, Shapes.of(*_sizes(sh)), d_qk=plan.d_qk, d_v=plan.d_v,
                                   causal=sh.causal, dtype=sh.dtype, family=plan.kernel)
    return (_target_key(plan.target), plan.d_qk, plan.d_v, sh.causal, sh.dtype, plan.cascade.path,
            tuple(sorted(plan.dims.items())), plan.kv_elems_per_key, plan.kernel, plan.page_size, plan.window,
            None if plan.block_mask is None else (plan.block_mask.path, sh.seq, sh.heads), _kernel_key(kernel))


def _target_key(target: GpuTarget) -> str:
    return target.model_dump_json()


def _kernel_key(kernel: KernelConfig) -> tuple:
    return tuple(sorted(asdict(kernel).items()))


def _result(plan: GpuPlan, res: Prediction, i: int, constants: Constants) -> GpuResult:
    """Shape i of a forward prediction as the plan's result, with the backward pass added when asked."""
    target, sh = plan.target, plan.shape
    flops = float(res.flops[i])
    # The cheap bound beside the refined estimate: tensor FLOPs, one exp per visible score, compulsory bytes.
    exps = flops / (2.0 * (plan.d_qk + plan.d_v))
    roofline_s = max(flops / target.tensor_rate(sh.dtype), exps / target.exp_rate(),
                     plan.tensors_bytes / target.hbm.bw_bytes_per_s)
    work = res.work
    shape = {"batch": sh.batch, "heads": sh.heads, "kv_heads": sh.kv_heads, "seq": sh.seq, "kv_seq": sh.kv_seq,
             "head_dim": sh.head_dim, "causal": sh.causal, "dtype": sh.dtype}
    if sh.value_dim != sh.head_dim:
        shape["value_dim"] = sh.value_dim
    if plan.window is not None:
        shape["window"] = plan.window
    if plan.block_mask is not None:
        shape["block_mask"] = plan.block_mask.path
    if plan.seq_lens:  # a variable-length batch: `seq` / `kv_seq` above are the longest
        shape["seq_lens"], shape["kv_seq_lens"] = list(plan.seq_lens), list(plan.kv_seq_lens)
    row = res.row(i)
    kernel_name = res.kernel.name
    pass_latency = {"fwd": row["latency_s"]}
    if plan.training_pass != "fwd":
        shapes, one_launch = _plan_shapes(plan)
        bwd = predict_backward(target, shapes, d_qk=plan.d_qk, d_v=plan.d_v, causal=sh.causal, dtype=sh.dtype,
                               constants=constants, family=plan.kernel, work=work,
                               kv_elems_per_key=plan.kv_elems_per_key, window=plan.window,
                               block_mask=plan.block_mask, one_launch=one_launch)
        bwd_row = bwd.row(0)
        bwd_flop = float(bwd.flops[0])
        # Backward roofline: 2.5x the GEMMs, one exp per score, Q, K, V, O, dO in and dQ, dK, dV out once.
        bwd_roof = max(bwd_flop / target.tensor_rate(sh.dtype), exps / target.exp_rate(),
                       2.0 * plan.tensors_bytes / target.hbm.bw_bytes_per_s)
        pass_latency = {"bwd": bwd_row["latency_s"]} if plan.training_pass == "bwd" else \
            {"fwd": row["latency_s"], "bwd": bwd_row["latency_s"]}
        if plan.training_pass == "bwd":
            flops, roofline_s = bwd_flop, bwd_roof
        else:
            flops, roofline_s = flops + bwd_flop, roofline_s + bwd_roof
        hbm = bwd_row["hbm_bytes"] + (row["hbm_bytes"] if plan.training_pass == "fwd+bwd" else 0.0)
        latency = sum(pass_latency.values())
        row = {**bwd_row, "latency_s": latency, "tflops": flops / latency / 1e12, "hbm_bytes": hbm}
        res = bwd
    return GpuResult(
        target=target.name, cascade=plan.cascade.name, shape=shape,
        latency_s=row["latency_s"], tflops=row["tflops"], flops=flops, bound=row["bound"],
        utilization=row["utilization"], bytes_by_level={"hbm": row["hbm_bytes"]}, roofline_latency_s=roofline_s,
        phases_s=row["phases_s"], grid=row["grid"],
        kernel={**asdict(res.kernel), "emulated_exp_fraction": res.emulated_exp_fraction},
        work_per_kv_tile=TileWorkRow(mac=work.mac_per_kv_tile, exp=work.exp_per_kv_tile, fp32=work.fp32_per_kv_tile,
                                     passes=work.passes, source=work.source),
        constants=constants.as_dict(), training_pass=plan.training_pass, pass_latency_s=pass_latency,
        caveats=caveats(plan), measured_error=_measured_error(plan, kernel_name))


def _measured_error(plan: GpuPlan, kernel_name: str) -> dict:
    """`accuracy.measured_error` for the plan's validation set (named by `accuracy.set_label`)."""
    sh = plan.shape
    decode = is_decode(sh.seq, sh.kv_seq)
    name = set_label(plan.target.name, kernel_name, sh.dtype, sh.causal, plan.window is not None, decode,
                     plan.training_pass)
    return measured_error(name, sh.head_dim, sh.seq, sh.kv_seq, decode, plan.window)


def caveats(plan: GpuPlan) -> list[str]:
    """Where measured kernels sit far from this model (validation data, docs/gpu.md "Known gaps"), said with the
    number so that a user of the result sees it: a window too short for any key tile to be fully visible (gap 8b),
    cuDNN's fp8 backward (gap 5), Hopper's fp8 forward on short sequences (gap 3) and FlashAttention-2 (mma.sync) on
    Hopper and datacenter Blackwell (gap 1), FA2's backward at 512-1k tokens on A100/H100 (gap 1b), and FA3's 16-bit
    forward, whose later builds outran the paper's (docs/gpu.md step 27)."""
    out = []
    bwd = plan.training_pass != "fwd"
    forward = choose_kernel(plan.target, plan.d_qk, plan.d_v, plan.shape.causal, plan.shape.dtype, family=plan.kernel)
    reach = forward.block_q + forward.block_kv  # a window shorter than this leaves no key tile fully visible
    if plan.window is not None and plan.window < reach:
        out.append(f"a {plan.window}-key window is shorter than a {forward.block_q} x {forward.block_kv} tile's "
                   f"reach ({reach} keys), so every visited tile is an edge tile: where that held, measured cuDNN "
                   "kernels ran 1.2-2.8x slower than this model (GB200/GB300, a 128-key window; docs/gpu.md gap 8b)")
    short_fp8 = plan.target.architecture == "hopper" and plan.shape.dtype == "fp8" and plan.shape.seq <= 1024
    if plan.training_pass != "bwd" and short_fp8 and forward.name in ("fa3", "cudnn"):
        out.append(f"{forward.name} fp8 forward at {plan.shape.seq} query tokens: the FA3 paper's FP8 bars at 512 and "
                   "1k tokens (H100, FA3 and cuDNN, head dims 64-256) ran 1.0-1.8x slower than this model (docs/gpu.md "
                   "gap 3)")
    arch, seq, prefill = plan.target.architecture, plan.shape.seq, plan.shape.seq == plan.shape.kv_seq
    if forward.name == "fa3" and arch == "hopper" and plan.shape.dtype != "fp8" and plan.training_pass == "fwd":
        out.append("fa3 16-bit forward: this model follows the FA3 paper's 2024 build at a locked 1830 MHz (mean "
                   "error 2-6% per set on its bars); a 2026 FA3 build on a stock-clocked H100 (8k tokens, head dim "
                   "128, bf16, both masks) ran in 0.83-0.88x this model's time (docs/gpu.md step 27; set the clock "
                   "with --set clock_hz=)")
    if forward.name == "fa2" and prefill and arch == "hopper" and plan.training_pass == "fwd":
        if 512 <= seq <= 1024:
            out.append(f"fa2 forward at {seq} tokens on Hopper: the FA3 paper's FA2 bars at 512 and 1k tokens (H100, "
                       "head dims 64-256) ran in 0.54-0.95x this model's time, faster than it (the A100-fitted CTA "
                       "edge cost; docs/gpu.md gap 1)")
        elif seq >= 4096 and max(plan.d_qk, plan.d_v) <= 128:
            out.append(f"fa2 forward at {seq} tokens on Hopper: the FA3 paper's FA2 bars from 4k tokens on (H100, "
                       "head dims 64 and 128) ran 1.06-1.26x slower than this model (its mma.sync rate, the cited 63% "
                       "of wgmma's; docs/gpu.md gap 1)")
    if forward.name == "fa2" and prefill and arch in ("ampere", "hopper") and bwd and 512 <= seq <= 1024:
        out.append(f"fa2 backward at {seq} tokens on A100/H100: FA2's forward + backward (flash-attention README, "
                   "A100 and H100) and backward (FA3 paper, H100) bars at 512 and 1k tokens ran in 0.69-0.94x this "
                   "model's time, faster than it (the forward-fitted CTA edge cost on the backward's CTAs; "
                   "docs/gpu.md gap 1b)")
    if forward.name == "fa2" and prefill and arch == "blackwell" and seq >= 512:
        out.append("fa2 on datacenter Blackwell: measured B200 runs (tritonbench PR 171, flash-attention issue 1589) "
                   "were 1.06-1.67x slower than this model in the forward from 512 tokens on and 1.08-1.14x in the "
                   "backward (the profile's mma.sync rate is an ASSUMPTION; docs/gpu.md gap 1)")
    if bwd and plan.kernel == "cudnn" and plan.shape.dtype == "fp8":
        gqa = plan.shape.kv_heads != plan.shape.heads
        if plan.target.architecture == "hopper":
            out.append("cuDNN's fp8 backward measured 1.5-2.7x slower than this model on the H200 (Llama 3.1, GQA; "
                       "no MHA point; docs/gpu.md gap 5)")
        elif gqa:
            out.append("cuDNN's fp8 backward with GQA measured 1.1-1.65x slower than this model on GB200/GB300 "
                       "(Llama 3.1, worst at 2k; its MHA rows -8% to +16%; docs/gpu.md gap 5)")
        if plan.window is not None:
            out.append("cuDNN's fp8 backward visited every key tile under a sliding window (GB200/GB300: time "
                       "quadratic in the length), which this model does not cost")
    return out
