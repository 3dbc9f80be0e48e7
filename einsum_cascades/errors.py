"""The error type of `einsum_cascades`."""

from __future__ import annotations

from cascade_base.errors import InputError


class CascadeError(InputError):
    """A cascade that cannot be parsed, validated, bound or executed.

    The message names where (file, line, column when known), what was found and what was expected.
    """
