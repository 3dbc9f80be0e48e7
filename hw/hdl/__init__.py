"""HDL backend: synthesizable GELU and softmax units (Amaranth 0.5), their bit-exact models, export and synthesis.

Each unit is a `wiring.Component` with a `lib.stream` input `i` and output `o`; beside it lives a numpy model
that computes exactly the same integers, so that simulation checks hardware = model and the model is compared
with PyTorch in floating point (tests and `cascade hdl --verify`; torch is imported only there).
"""

from hw.hdl.fixed import FixedFormat, parse_format

__all__ = ["FixedFormat", "parse_format"]
