"""One error hierarchy for everything the user can get wrong or the judges can do wrong.

The CLI turns any `JudgeError` into a one-line message and exit status 2
(docs/exit-statuses.md). `calibration`'s errors derive from `JudgeError` too: this module imports
only the standard library, so `calibration` can use it without loading the judge engine.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = [
    "ConfigError",
    "InputError",
    "JudgeError",
    "OutputError",
    "RubricError",
    "redact",
    "redact_verdict",
]


class JudgeError(Exception):
    """Base class of every error `judge` (and `calibration`) raises on purpose: something the
    user can fix. Anything else that escapes is a bug, and shows its traceback."""


class ConfigError(JudgeError):
    """Options that cannot work together, a judge that cannot be reached, a missing key."""


class OutputError(JudgeError):
    """An output file that cannot be written (a read-only directory, a full disk)."""


class InputError(JudgeError):
    """A bad line in a user's file; says which file, line and field.

    The one class for it: `calibration.InputFileError` is this class joined to
    `CalibrationError`, so `except InputError` catches a bad score file too.
    """

    def __init__(self, path: str, line: int | None, message: str, field: str | None = None):
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = path if line is None else f"{path}:{line}"
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")


class RubricError(InputError):
    """A rubric that does not exist or does not validate."""


_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


def redact(text: str) -> str:
    """Remove API keys from text before it reaches a record, a log or the terminal.

    Values of secret-looking environment variables are replaced wherever they occur, and
    common key shapes (``sk-…``, ``Bearer …``) are masked even when they did not come from
    the environment (a key typed into ``--api-base`` or echoed back by a gateway).
    """
    for name, value in os.environ.items():
        if value and len(value) >= 8 and _SECRET_ENV.search(name):
            text = text.replace(value, f"<{name}>")
    return _KEY_SHAPES.sub("<redacted>", text)


def redact_verdict(verdict: Any) -> Any:
    """A judge's reply with every string passed through `redact`: model output is untrusted
    text, and a judge can echo an API key (from a prompt, a gateway's error) into a rationale
    that would otherwise reach records, caches and logs."""
    text = json.dumps(verdict, ensure_ascii=False)
    if redact(text) == text:  # the common case, in one pass over the environment
        return verdict
    return _redact_strings(verdict)


def _redact_strings(verdict: Any) -> Any:
    if isinstance(verdict, str):
        return redact(verdict)
    if isinstance(verdict, dict):
        return {key: _redact_strings(value) for key, value in verdict.items()}
    if isinstance(verdict, list):
        return [_redact_strings(value) for value in verdict]
    return verdict
