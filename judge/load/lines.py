"""The lines of a user's file and their one-line errors, shared by predictions and cases files:
a JSONL file's parsed lines, and a row that does not validate as the InputError naming its
file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.errors import InputError

__all__ = ["first_problem", "jsonl_rows"]


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


def first_problem(name: str, line: int | None, exc: ValidationError) -> InputError:
    """The first problem of a row that does not validate, naming its field (and counting the
    others)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"] if first["type"] != "missing" else "required but missing"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problems on this line)"
    return InputError(name, line, message, field=where)
