"""The lines of a user's file and their one-line errors, shared by predictions and cases files:
a JSONL file's parsed lines, and a row that does not validate as the InputError naming its
file, line and field. Also what every input file is checked for before it is read: that it
is a regular file (opening a FIFO blocks until a writer comes), and not UTF-16 text."""

from __future__ import annotations

import codecs
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.errors import InputError

__all__ = ["decoded", "first_problem", "jsonl_rows", "not_regular", "regular", "wide_text"]


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, value) for every non-blank line; a bad line's value is its InputError."""
    with path.open("rb") as handle:
        wide = wide_text(handle.peek(4)[:4])
        if wide is not None:
            yield 1, InputError(str(path), 1, wide)
            return
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


# What a file of another kind than a regular file is called in an error.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as an input file, or None when it is a regular file (a
    symlink to one included): absent, or another kind of file. Checked before it is opened:
    opening a FIFO for reading blocks until a writer comes, which may be never."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "no such file"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "of another kind")
    return f"not a regular file ({kind}); give a file"


def regular(path: Path, name: str) -> None:
    """Raise the InputError naming `name` when `path` is not a regular file (`not_regular`)."""
    problem = not_regular(path)
    if problem is not None:
        raise InputError(name, None, problem)


# Byte-order marks of the encodings a text editor may save in ("Unicode" in Windows' Notepad
# is UTF-16), longest first: UTF-32-LE's begins with UTF-16-LE's.
_WIDE_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def wide_text(head: bytes) -> str | None:
    """The one-line problem of a file whose first bytes are UTF-16 (or UTF-32) text, by its
    byte-order mark or an ASCII character's zero bytes, else None (UTF-8, with or without
    its mark, is read)."""
    name = next((name for mark, name in _WIDE_MARKS if head.startswith(mark)), None)
    if name is None and len(head) >= 4 and head[:4].count(0) == 3 and max(head[:4]) < 0x80:
        name = "UTF-32"
    if name is None and len(head) >= 2 and head[:2].count(0) == 1 and max(head[:2]) < 0x80:
        name = "UTF-16"
    return None if name is None else f"{name} text: save it as UTF-8"


def decoded(raw: bytes, name: str, error: type[InputError] = InputError) -> str:
    """A whole text file's bytes as text: UTF-8, its byte-order mark read past; else the
    one-line `error` naming the file `name` and the line (UTF-16, or a byte not UTF-8)."""
    wide = wide_text(raw[:4])
    if wide is not None:
        raise error(name, 1, wide)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
        raise error(name, line, message) from exc
