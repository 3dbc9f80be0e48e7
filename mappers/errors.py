"""The one error type of `mappers`."""


class MappingError(ValueError):
    """A mapping that is malformed or does not fit its target; the message names the file, field and fix."""
