"""Read a JSONL file line by line: each line's 1-based number and its parsed value, or the
InputError naming the line that is not JSON. Predictions and cases files share it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from judge.errors import InputError

__all__ = ["jsonl_rows"]


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, value) for every non-blank line; a bad line's value is its InputError."""
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield line, json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield line, InputError(str(path), line, f"not valid JSON ({exc})")
            except RecursionError:
                # The json module recurses per nesting level: a hostile line of 10,000 `[`
                # exhausts the stack. Only that parse is caught, so a bug elsewhere still shows.
                yield line, InputError(str(path), line, "not valid JSON (nested too deeply)")
