"""Files `judge` writes beside its results (the HTML report, annotation exports, agreement
and comparison tables): never over a file that is not one of ours.

`--out` names a file the user may already have. A typo (`--out predictions.jsonl`, a paper's
draft) must not destroy it, so an existing file is replaced only when it is empty or holds
what the same command writes (`ours` reads its first bytes); anything else is refused before
any work is done. The new content goes to a temporary file beside it, renamed over the old one
when complete, so a crash or a full disk leaves the old file whole.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from judge.errors import ConfigError, OutputError

__all__ = [
    "REPORT_MARK",
    "claim",
    "header_is",
    "is_report",
    "is_table",
    "write_atomic",
]

# Written into every HTML report's <head>: how a later report recognises the file as ours.
REPORT_MARK = '<meta name="generator" content="judge report">'
_HEAD_BYTES = 1 << 16


def claim(path: Path, ours: Callable[[bytes], bool], option: str = "--out") -> None:
    """Refuse `path` (a ConfigError, nothing written) when it exists and is neither empty
    nor a file this command wrote."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file():
        raise ConfigError(f"{option} {path}: not a regular file; choose another {option}")
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if head.strip() and not ours(head):
        raise ConfigError(
            f"{option} {path}: the file exists and is not one this command writes; nothing was "
            f"written (choose another {option}, or move the file aside)"
        )


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` whole or not at all (temporary file, fsync, rename)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err


def is_report(head: bytes) -> bool:
    """An HTML report of `judge report`."""
    return REPORT_MARK.encode() in head


def header_is(columns: Sequence[str]) -> Callable[[bytes], bool]:
    """A CSV/TSV whose header is `columns`, or a JSONL whose first object has these keys."""

    def ours(head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
        if first.startswith("{"):
            try:
                return set(json.loads(first)) == set(columns)
            except ValueError:  # a JSONL line longer than what was read: not a row of ours
                return False
        return first.replace("\t", ",") == ",".join(columns)

    return ours


_TABLE_JSON = re.compile(rb'^\s*\[\s*(\]|\{\s*"(criterion|item)")')


def is_table(head: bytes) -> bool:
    """A table `judge calibrate` or `judge compare` writes: a CSV whose first column is
    `criterion` or `item`, or a JSON list of such records."""
    first = head.split(b"\n", 1)[0]
    return first.startswith((b"criterion,", b"item,")) or bool(_TABLE_JSON.match(head))
