"""Errors that the Processing glue turns into clear messages for the user."""


class InputError(ValueError):
    """Bad user input, tied to the Processing parameter that carries it.

    ``str(error)`` reads ``"PARAMETER: what is wrong"`` so that the message alone
    tells a user which field of the dialog (or ``qgis_process`` argument) to fix.
    """

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message

    def __reduce__(self):
        """Rebuild from (parameter, message), so the error crosses process boundaries intact."""
        return InputError, (self.parameter, self.message)


class Cancelled(Exception):
    """The user cancelled the work; no output file was left behind."""
