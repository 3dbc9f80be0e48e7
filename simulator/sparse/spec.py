"""Parse and validate the per-axis options of a sparse-attention bound (`--shape 30x48x80`, `--window ...`).

Parsing happens once, here: after `GNAConfig.build` no code sees a raw string, and every inconsistency
(window larger than the extent, stride larger than the window, w*d > L, wrong number of axes) is a
`SimulatorError` that names the option, what was found and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.errors import SimulatorError

_DIMS = re.compile(r"^\s*\d+(\s*x\s*\d+)*\s*$")
_EXAMPLES = {"--shape": "30x48x80", "--window": "18x24x24", "--stride": "16x8x8", "--dilation": "1x2x1",
             "--causal": "1x0x0", "--q-tile": "4x8x8", "--kv-tile": "2x8x8"}


def parse_dims(text, option: str, *, allow_zero: bool = False) -> tuple[int, ...] | None:
    """'30x48x80' (or a sequence of ints, or one int) -> (30, 48, 80); None stays None. Raises naming `option`."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    elif isinstance(text, tuple | list) and text and all(isinstance(v, int) for v in text):
        text = "x".join(str(int(v)) for v in text)
    if not isinstance(text, str) or not _DIMS.match(text):
        raise SimulatorError(
            f"{option}: cannot read {text!r}; write one integer per axis joined by 'x', "
            f"e.g. {option} {_EXAMPLES.get(option, '30x48x80')}"
        )
    dims = tuple(int(part) for part in text.lower().split("x"))
    low = 0 if allow_zero else 1
    bad = [d for d in dims if d < low]
    if bad:
        what = "non-negative" if allow_zero else "positive"
        raise SimulatorError(f"{option}: every entry must be a {what} integer, not {bad[0]} (in {text!r})")
    return dims


def parse_flags(text, option: str) -> tuple[bool, ...] | None:
    """'0x1x0' -> (False, True, False); entries must be 0 or 1."""
    dims = parse_dims(text, option, allow_zero=True)
    if dims is None:
        return None
    if any(d not in (0, 1) for d in dims):
        raise SimulatorError(f"{option}: entries must be 0 or 1 per axis, e.g. {option} 0x1x0, not {text!r}")
    return tuple(bool(d) for d in dims)


def check_rank(values: tuple, shape: tuple[int, ...], option: str) -> None:
    """Raise unless `values` has one entry per axis of `shape`."""
    if len(values) != len(shape):
        raise SimulatorError(
            f"{option}: has {len(values)} axes but --shape {'x'.join(map(str, shape))} has {len(shape)}; "
            f"give {len(shape)} entries joined by 'x', one per axis of --shape"
        )


@dataclass(frozen=True)
class AxisSpec:
    """One axis of a GNA pattern: extent L, window w, stride s, dilation d, causal flag."""

    length: int
    window: int
    stride: int = 1
    dilation: int = 1
    causal: bool = False


@dataclass(frozen=True)
class GNAConfig:
    """A multi-dimensional GNA pattern; the mask is the AND of the per-axis masks."""

    axes: tuple[AxisSpec, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.length for a in self.axes)

    @property
    def window(self) -> tuple[int, ...]:
        return tuple(a.window for a in self.axes)

    @property
    def stride(self) -> tuple[int, ...]:
        return tuple(a.stride for a in self.axes)

    @property
    def dilation(self) -> tuple[int, ...]:
        return tuple(a.dilation for a in self.axes)

    @property
    def causal(self) -> tuple[bool, ...]:
        return tuple(a.causal for a in self.axes)

    @staticmethod
    def build(
        shape: tuple[int, ...],
        window: tuple[int, ...],
        stride: tuple[int, ...] | None = None,
        dilation: tuple[int, ...] | None = None,
        causal: tuple[bool, ...] | None = None,
    ) -> GNAConfig:
        """Validate per-axis options against each other and build the config."""
        stride = stride or (1,) * len(shape)
        dilation = dilation or (1,) * len(shape)
        causal = causal or (False,) * len(shape)
        for values, option in ((window, "--window"), (stride, "--stride"), (dilation, "--dilation"),
                               (causal, "--causal")):
            check_rank(tuple(values), shape, option)
        for i, (L, w, s, d) in enumerate(zip(shape, window, stride, dilation, strict=True)):
            if w < 1 or s < 1 or d < 1 or L < 1:
                raise SimulatorError(f"axis {i}: shape, window, stride and dilation must be positive integers")
            if w > L:
                raise SimulatorError(
                    f"--window: axis {i} has window {w} larger than the extent {L} of --shape; use a window <= {L}"
                )
            if s > w:
                raise SimulatorError(
                    f"--stride: axis {i} has stride {s} larger than its window {w}; use 1 <= stride <= window "
                    "(stride = window is blocked attention)"
                )
            if w * d > L:
                raise SimulatorError(
                    f"--dilation: axis {i} has window*dilation = {w}*{d} = {w * d} > extent {L}; "
                    f"use a dilation <= {L // w} or a smaller window"
                )
        axes = tuple(AxisSpec(L, w, s, d, bool(c)) for L, w, s, d, c in zip(shape, window, stride, dilation, causal,
                                                                             strict=True))
        return GNAConfig(axes)


def explicit_tiles(q_tile: str | None, kv_tile: str | None,
                   target: str | None) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """`--q-tile`/`--kv-tile` when both are given (never with `--target`), None when neither is."""
    q, k = parse_dims(q_tile, "--q-tile"), parse_dims(kv_tile, "--kv-tile")
    if (q is None) != (k is None):
        missing = "--kv-tile" if k is None else "--q-tile"
        raise SimulatorError(f"{missing}: give both --q-tile and --kv-tile, or neither and --target b200|h100")
    if q is not None and target is not None:
        raise SimulatorError("--target: give either --target or --q-tile/--kv-tile, not both")
    return None if q is None else (q, k)
