"""The one error type of `einsum_cascades`."""

from __future__ import annotations


class CascadeError(ValueError):
    """A cascade that cannot be parsed, validated, bound or executed.

    The message names where (file, line, column when known), what was found and what was expected.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.source, self.line, self.column = source, line, column
        where = ":".join(str(part) for part in (source, line, column) if part is not None)
        super().__init__(f"{where}: {message}" if where else message)
