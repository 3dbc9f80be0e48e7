"""The one error type of `simulator`."""


class SimulatorError(ValueError):
    """Bad input to an evaluation, bound or sweep; the message names the option or field and the fix."""
