"""The one error base of cascade: bad input, reported as one line that names where, what and the fix.

Every package's error type (`CascadeError`, `SpecError`, `MappingError`, `SimulatorError`) derives from
`InputError`, so the CLI catches one type and prints `str(exc)`: `source:line:column: field 'f': message (hint)`.
Messages never echo unbounded input: `shown()` cuts a value's repr to a few dozen characters.
"""

from __future__ import annotations

#: Longest repr of a user's value put into a message (a YAML alias bomb must not be printed).
MAX_SHOWN_CHARS = 60


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """`repr(value)`, cut to `limit` characters, safe for any input (huge, nested or self-referencing)."""
    try:
        text = _short_repr(value, limit)
    except Exception:  # noqa: BLE001 -- a repr that fails must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_repr(value: object, limit: int) -> str:
    """A repr that stops early on containers, so a billion-element alias expansion costs nothing."""
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            parts.append(f"{_short_repr(k, limit)}: {_short_repr(v, limit)}")
            if sum(len(p) for p in parts) > limit:
                parts.append("...")
                break
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list | tuple):
        parts = []
        for v in value:
            parts.append(_short_repr(v, limit))
            if sum(len(p) for p in parts) > limit:
                parts.append("...")
                break
        return "[" + ", ".join(parts) + "]"
    text = repr(value)
    return text if len(text) <= 4 * limit else text[: 4 * limit]


class InputError(ValueError):
    """Input that cascade cannot use: a file, an option or a value. The message says what was found and the fix.

    `source` is the file or option (`hw/profiles/fusemax.yaml`, `--seq`), `line`/`column` a position in it, `field`
    the dotted path of the offending field, `hint` the fix when it is not already part of `message`.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 column: int | None = None, field: str | None = None, hint: str | None = None) -> None:
        self.message, self.source, self.line, self.column = message, source, line, column
        self.field, self.hint = field, hint
        where = ":".join(str(part) for part in (source, line, column) if part is not None)
        text = f"field '{field}': {message}" if field else message
        if hint:
            text = f"{text}; {hint}"
        super().__init__(f"{where}: {text}" if where else text)
