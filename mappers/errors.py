"""The error type of `mappers`."""

from cascade_base.errors import InputError


class MappingError(InputError):
    """A mapping that is malformed or does not fit its target; the message names the file, field and fix."""
