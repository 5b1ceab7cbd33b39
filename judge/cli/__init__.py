"""The `judge` command line: `group.py` holds the group (its error boundary) and registers every
command, each in its own module `judge/cli/<command>.py`; `options.py` holds the click options
the commands share, `render.py` and `calibration_render.py` the rich output.

`cli` and `main` load lazily, so that importing one command's module does not import every
command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["cli", "main"]

if TYPE_CHECKING:
    from judge.cli.group import cli, main


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("judge.cli.group"), name)
    raise AttributeError(f"module 'judge.cli' has no attribute {name!r}")
