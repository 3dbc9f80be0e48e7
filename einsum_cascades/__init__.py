"""Attention algorithms as cascades of extended Einsums (FuseMax / TeAAL notation), with analyses and a
reference executor."""

from einsum_cascades.cascade import Cascade, Einsum
from einsum_cascades.errors import CascadeError
from einsum_cascades.library import library_names
from einsum_cascades.loader import load_cascade, parse_cascade

__all__ = ["Cascade", "CascadeError", "Einsum", "library_names", "load_cascade", "parse_cascade"]
