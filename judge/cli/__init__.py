"""The `judge` command line: `commands.py` holds the commands, `options.py` the click options the
commands share, `render.py` the rich output.

`cli` and `main` load lazily, so that a front end importing `judge.cli.options` (serve) does
not import every command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["cli", "main"]

if TYPE_CHECKING:
    from judge.cli.commands import cli, main


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("judge.cli.commands"), name)
    raise AttributeError(f"module 'judge.cli' has no attribute {name!r}")
