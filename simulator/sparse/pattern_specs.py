"""Read the options of each `--pattern` into one counted pattern: its token count, whether it is causal along the
sequence, its tile counter and the keys it reports. Every refusal names the option and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.errors import SimulatorError
from simulator.sparse.lines import Diagonal, VerticalStripe, line_counts
from simulator.sparse.permuted import NAMED, load_permutation, permuted_counts, stripes_first
from simulator.sparse.radial import check as radial_check
from simulator.sparse.radial import radial_counts, radial_pairs
from simulator.sparse.segments import SegmentCounts
from simulator.sparse.sliding_tile import SlidingTile, sta_counts
from simulator.sparse.spec import parse_dims, parse_flags

PATTERNS = ("radial", "sliding-tile", "vertical-stripe", "diagonal", "permuted")
BASES = ("vertical-stripe", "diagonal")
#: the options each pattern reads; any other pattern option given is refused by name
USES = {
    "radial": ("window", "causal"),
    "sliding-tile": ("window", "tile"),
    "vertical-stripe": ("columns", "width", "local", "causal"),
    "diagonal": ("offsets", "width"),
    "permuted": ("base", "permutation", "segment", "columns", "offsets", "width", "local", "causal"),
}
OPTIONS = ("window", "stride", "dilation", "causal", "columns", "offsets", "width", "local", "tile", "base",
           "permutation", "segment")

Counter = Callable[[int, int, bool], SegmentCounts]  # (q tile, kv tile, transposed) -> counts and pairs


@dataclass(frozen=True)
class CountedPattern:
    name: str
    n_tokens: int
    causal: bool
    count: Counter
    keys: dict[str, Any] = field(default_factory=dict)  # what the result reports about the pattern


def parse_ints(text, option: str, example: str) -> tuple[int, ...] | None:
    """'0,-4096,8192' (or a sequence of ints, or one int) -> (0, -4096, 8192)."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        return (text,)
    if isinstance(text, tuple | list) and all(isinstance(v, int) and not isinstance(v, bool) for v in text):
        return tuple(text)
    try:
        values = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise SimulatorError(f"{option}: cannot read {text!r}; write integers joined by ',', e.g. {option} "
                             f"{example}") from None
    return values


def _one(text, option: str, default: int | None, example: str, low: int = 1) -> int:
    if text is None:
        if default is None:
            raise SimulatorError(f"{option}: required by this pattern, e.g. {option} {example}")
        return default
    values = parse_ints(text, option, example)
    if len(values) != 1 or values[0] < low:
        raise SimulatorError(f"{option}: must be one integer >= {low}, e.g. {option} {example}")
    return values[0]


def _causal(text, name: str) -> bool:
    flags = parse_flags(text, "--causal") or (False,)
    if len(flags) != 1:
        raise SimulatorError(f"--causal: --pattern {name} is 1-D: --causal 1 or 0")
    return flags[0]


def _n(dims, name: str) -> int:
    if len(dims) != 1:
        raise SimulatorError(f"--shape: --pattern {name} counts a 1-D sequence: --shape N, e.g. --shape 1048576")
    return dims[0]


def _line(kind: str, n: int, o: dict) -> Diagonal | VerticalStripe:
    width = _one(o["width"], "--width", 1, "64")
    if kind == "diagonal":
        offsets = parse_ints(o["offsets"], "--offsets", "0,-4096")
        if offsets is None:
            raise SimulatorError("--offsets: --pattern diagonal needs the diagonal offsets, e.g. --offsets 0,-4096")
        return Diagonal(n, offsets, width)
    columns = parse_ints(o["columns"], "--columns", "0,4096")
    if columns is None:
        raise SimulatorError("--columns: --pattern vertical-stripe needs the key columns, e.g. --columns 0,4096")
    return VerticalStripe(n, columns, width, _one(o["local"], "--local", 0, "512", low=0), _causal(o["causal"],
                                                                                                     kind))


def _line_keys(p: Diagonal | VerticalStripe) -> dict[str, Any]:
    if isinstance(p, Diagonal):
        return {"offsets": ",".join(map(str, p.offsets)), "width": p.width, "causal": str(int(p.causal))}
    return {"columns": ",".join(map(str, p.columns)), "width": p.width, "local": p.local,
            "causal": str(int(p.causal))}


def build(name: str, dims: tuple[int, ...], o: dict) -> CountedPattern:
    if name not in PATTERNS:
        raise SimulatorError(f"--pattern: {name!r} is not one of {', '.join(PATTERNS)} (GNA windows take "
                             "--window alone; block masks take --mask)")
    for option in OPTIONS:
        if o.get(option) is not None and option not in USES[name]:
            raise SimulatorError(f"--{option}: not part of --pattern {name}; drop it")
    if name == "radial":
        if len(dims) != 2:
            raise SimulatorError("--shape: --pattern radial takes FRAMESxFRAME_TOKENS, e.g. --shape 64x16384")
        window = parse_dims(o["window"], "--window")
        if window is None or len(window) != 1:
            raise SimulatorError("--window: --pattern radial takes one spatial window in tokens, e.g. --window 1024")
        flags = parse_flags(o["causal"], "--causal") or (False,)
        if len(flags) not in (1, 2) or (len(flags) == 2 and flags[1]):
            raise SimulatorError("--causal: --pattern radial is causal over frames only: --causal 1 (or 1x0)")
        (frames, tokens), w, causal = dims, window[0], flags[0]
        radial_check(frames, tokens, w)
        pairs = radial_pairs(frames, tokens, w, causal)
        return CountedPattern("radial", frames * tokens, False,
                              lambda q, k, t: SegmentCounts(radial_counts(frames, tokens, w, causal, q, k, t), pairs),
                              {"window": str(w), "causal": str(int(causal))})
    if name == "sliding-tile":
        tile, window = parse_dims(o["tile"], "--tile"), parse_dims(o["window"], "--window")
        if tile is None or window is None:
            raise SimulatorError("--tile: --pattern sliding-tile needs --tile (STA tile per axis, e.g. --tile 6x8x8) "
                                 "and --window (tokens per axis, a multiple of the tile, e.g. --window 18x24x24)")
        p = SlidingTile(dims, tile, window)
        return CountedPattern(name, p.n, False, lambda q, k, t: sta_counts(p, q, k, t),
                              {"tile": "x".join(map(str, tile)), "window": "x".join(map(str, window))})
    if name in BASES:
        p = _line(name, _n(dims, name), o)
        return CountedPattern(name, p.n, p.causal, lambda q, k, t: line_counts(p, q, k, t), _line_keys(p))
    base = o["base"]
    if base not in BASES:
        raise SimulatorError(f"--base: --pattern permuted permutes one of {', '.join(BASES)}, e.g. --base "
                             f"vertical-stripe, not {base!r}")
    p = _line(base, _n(dims, name), o)
    perm_text = o["permutation"]
    if perm_text is None:
        raise SimulatorError("--permutation: --pattern permuted needs FILE.npy (position a holds token perm[a]) or "
                             f"one of {', '.join(NAMED)}")
    if perm_text == "stripes-first":
        if not isinstance(p, VerticalStripe):
            raise SimulatorError("--permutation: stripes-first gathers stripe columns; use --base vertical-stripe")
        segment = _one(o["segment"], "--segment", None, "131072")
        perm = stripes_first(p, segment)
    else:
        if o["segment"] is not None:
            raise SimulatorError("--segment: applies to --permutation stripes-first; drop it")
        perm = load_permutation(str(perm_text), p.n)
    keys = {"base": base, "permutation": str(perm_text), **_line_keys(p)}
    keys["causal"] = str(int(p.causal))
    if o["segment"] is not None:
        keys["segment"] = int(o["segment"])
    # a permuted causal pattern attends later positions: not causal along the kernel's sequence
    causal = p.causal and bool(np.array_equal(perm, np.arange(p.n)))
    return CountedPattern(name, p.n, causal, lambda q, k, t: permuted_counts(p, perm, q, k, t), keys)

