"""Fixed-point formats written `Qm.n` (signed: 1 sign + m integer + n fraction bits) and `UQm.n` (unsigned).

A value is stored as the integer `raw = value * 2**n`; `from_float` rounds to nearest (ties to
even, numpy's `rint`) and saturates to the format's range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hw.errors import SpecError

_PATTERN = re.compile(r"^(U?)Q(\d+)\.(\d+)$")


@dataclass(frozen=True)
class FixedFormat:
    """A binary fixed-point format; `raw` integers lie in [min_raw, max_raw]."""

    signed: bool
    int_bits: int
    frac_bits: int

    @property
    def width(self) -> int:
        return int(self.signed) + self.int_bits + self.frac_bits

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        """The value of one least significant bit."""
        return 2.0 ** -self.frac_bits

    def all_raw(self) -> np.ndarray:
        """Every representable raw value, ascending (for exhaustive checks)."""
        return np.arange(self.min_raw, self.max_raw + 1, dtype=np.int64)

    def to_float(self, raw: np.ndarray | int) -> np.ndarray:
        return np.asarray(raw, dtype=np.float64) * self.lsb

    def from_float(self, value: np.ndarray | float) -> np.ndarray:
        """Round to nearest (ties to even) and saturate to the format's range."""
        raw = np.rint(np.asarray(value, dtype=np.float64) / self.lsb)
        return np.clip(raw, self.min_raw, self.max_raw).astype(np.int64)

    def __str__(self) -> str:
        return f"{'' if self.signed else 'U'}Q{self.int_bits}.{self.frac_bits}"


def parse_format(text: str, option: str = "format") -> FixedFormat:
    """Parse `Q7.8` or `UQ1.15`; raise `SpecError` naming `option` when the text is not a format."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise SpecError(f"{option}: expected a fixed-point format like Q7.8 or UQ1.15, not {text!r}")
    fmt = FixedFormat(signed=not match.group(1), int_bits=int(match.group(2)), frac_bits=int(match.group(3)))
    if not 2 <= fmt.width <= 32:
        raise SpecError(f"{option}: {text} is {fmt.width} bits wide; supported widths are 2 to 32 bits")
    return fmt
