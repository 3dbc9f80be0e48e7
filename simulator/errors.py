"""The error type of `simulator`."""

from cascade_base.errors import InputError


class SimulatorError(InputError):
    """Bad input to an evaluation, bound or sweep; the message names the option or field and the fix."""
