"""The error type of `hw`: a bad hardware description, named by file and field."""

from cascade_base.errors import InputError


class SpecError(InputError):
    """A target or profile that cannot be loaded; the message names the file, the field and the fix."""
