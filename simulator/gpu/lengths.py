"""The batch and lengths of a GPU evaluation: `--batch` x `--seq` / `--kv-seq`, or a variable-length batch.

A variable-length batch (`--seq-lens 512,2048,8192`: packed training sequences as FlashAttention's varlen API runs
them; `--kv-seq-lens 1024,8192 --seq 1`: a serving batch of requests decoding against caches of different lengths)
is the sequences of one kernel launch (`simulator.gpu.varlen`). Each rule below is a one-line error naming the
option and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from simulator.errors import SimulatorError


class LengthOptions(Protocol):
    batch: int | None
    seq: int | None
    kv_seq: int | None
    seq_lens: tuple[int, ...]
    kv_seq_lens: tuple[int, ...]


@dataclass(frozen=True)
class Lengths:
    """Batch and lengths; `seq_lens` / `kv_seq_lens` per sequence for a variable-length batch (else empty), with
    `seq` / `kv_seq` then the longest of them."""

    batch: int
    seq: int
    kv_seq: int
    seq_lens: tuple[int, ...] = ()
    kv_seq_lens: tuple[int, ...] = ()

    @property
    def varlen(self) -> bool:
        return bool(self.seq_lens)

    @property
    def kv_option(self) -> str:
        """The option the K/V lengths came from, for messages."""
        return "--kv-seq-lens" if self.varlen else "--kv-seq"


def lengths(options: LengthOptions) -> Lengths:
    """The batch and lengths `options` ask for, refusing the combinations that do not name one batch."""
    q, kv = tuple(options.seq_lens), tuple(options.kv_seq_lens)
    if not q and not kv:
        for name in ("batch", "seq"):
            if getattr(options, name) is None:
                raise SimulatorError(f"--{name} is required on gpu targets", source=f"--{name}")
        assert options.batch is not None and options.seq is not None
        return Lengths(options.batch, options.seq, options.kv_seq or options.seq)
    if q and options.seq is not None:
        raise SimulatorError(f"--seq {options.seq}: --seq-lens gives each sequence's query length; drop --seq",
                             source="--seq")
    if options.kv_seq is not None:
        fix = "drop --kv-seq" if kv else "give one K/V length per sequence with --kv-seq-lens (default: --seq-lens)"
        raise SimulatorError(f"--kv-seq {options.kv_seq}: a variable-length batch takes its K/V lengths from "
                             f"--kv-seq-lens; {fix}", source="--kv-seq")
    if not q and options.seq is None:
        raise SimulatorError("--kv-seq-lens: give the query length of every sequence with --seq (e.g. --seq 1 "
                             "for decode) or one per sequence with --seq-lens", source="--seq")
    if q and kv and len(q) != len(kv):
        raise SimulatorError(f"--kv-seq-lens has {len(kv)} lengths but --seq-lens has {len(q)}; give one K/V "
                             "length per sequence", source="--kv-seq-lens")
    count = len(q or kv)
    if options.batch is not None and options.batch != count:
        given = "--seq-lens" if q else "--kv-seq-lens"
        raise SimulatorError(f"--batch {options.batch}: the batch is the {count} sequences of {given}; drop --batch "
                             f"or give --batch {count}", source="--batch")
    q = q or (int(options.seq),) * count  # type: ignore[arg-type]
    kv = kv or q
    return Lengths(count, max(q), max(kv), q, kv)


def check_varlen_masks(lens: Lengths, windowed: bool, block_mask: str | None) -> None:
    """A variable-length batch takes a sliding window only as self-attention, and no block mask."""
    if not lens.varlen:
        return
    if block_mask is not None:
        raise SimulatorError("--block-mask: a block mask is not costed over a variable-length batch; drop "
                             "--block-mask or --seq-lens / --kv-seq-lens", source="--block-mask")
    if windowed:
        for i, (s, s2) in enumerate(zip(lens.seq_lens, lens.kv_seq_lens, strict=True)):
            if s != s2:
                raise SimulatorError(f"--kv-seq-lens: sequence {i + 1} has query length {s} and K/V length {s2}; the "
                                     "sliding-window mask is costed for self-attention on GPUs, so each K/V "
                                     "length must equal its query length (or drop --kv-seq-lens)",
                                     source="--kv-seq-lens")
