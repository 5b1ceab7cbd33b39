"""Errors raised on purpose by `calibration`.

They share `judge.errors.JudgeError`, the root of every error a user can cause, so the
`judge` CLI prints them as one line with the same exit status as any bad input. Only that
dependency-free module is imported: `calibration` still loads nothing of the judge engine.
`CalibrationError` is a `ValueError` too, so notebook users can catch it like any bad-input
error.
"""

from __future__ import annotations

from judge.errors import InputError, JudgeError

__all__ = ["CalibrationError", "InputFileError"]


class CalibrationError(JudgeError, ValueError):
    """Base class of every error `calibration` raises on purpose."""


class InputFileError(InputError, CalibrationError):
    """A file that cannot be read as scores; says which file, line and field.

    The same concept as `judge.errors.InputError` (whose message and fields it has), placed
    under `CalibrationError` so that `except CalibrationError` and `except ValueError` keep
    catching it.
    """
