"""Attention algorithms as cascades of extended Einsums (FuseMax / TeAAL notation), with analyses and a
reference executor."""

from einsum_cascades.errors import CascadeError
from einsum_cascades.library import library_names

__all__ = ["CascadeError", "library_names"]
