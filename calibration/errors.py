"""Errors raised on purpose by `calibration`.

`CalibrationError` subclasses `ValueError` so notebook users can catch it like any bad-input
error, and the CLI turns it into a one-line message without knowing the `judge` package.
"""

from __future__ import annotations

__all__ = ["CalibrationError", "InputFileError"]


class CalibrationError(ValueError):
    """Base class of every error `calibration` raises on purpose."""


class InputFileError(CalibrationError):
    """A file that cannot be read as scores; says which file, line and field."""

    def __init__(self, path: str, line: int | None, message: str, field: str | None = None):
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = path if line is None else f"{path}:{line}"
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")
