"""The one error type of `hw`: a bad hardware description, named by file and field."""


class SpecError(ValueError):
    """A target or profile that cannot be loaded; the message names the file, the field and the fix."""
