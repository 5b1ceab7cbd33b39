"""Files `judge` writes beside its results (the HTML report, annotation exports, agreement
and comparison tables): never over a file that is not one of ours.

`--out` names a file the user may already have. A typo (`--out predictions.jsonl`, a paper's
draft) must not destroy it, so an existing file is replaced only when it is empty or holds
what the same command writes (`ours` reads its first bytes), and never when it is one of the
command's inputs; anything else is refused before any work is done. The new content goes to a
temporary file beside it, renamed over the old one when complete, so a crash or a full disk
leaves the old file whole.

Side files (that temporary file, a results file's rewrite and backup) are created only where
nothing is, not even a link (`O_EXCL`), under a name no one else chose (a random part): a
user's file or a planted symlink at a side file's name is never written, truncated or
followed, and `--out` never becomes such a link. Every writer of `judge` creates them here.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from judge.errors import ConfigError, OutputError

__all__ = [
    "REPORT_MARK",
    "claim",
    "create_beside",
    "create_new",
    "header_is",
    "is_report",
    "refuse_inputs",
    "write_atomic",
]

# Written into every HTML report's <head>: how a later report recognises the file as ours.
REPORT_MARK = '<meta name="generator" content="judge report">'
_HEAD_BYTES = 1 << 16


def claim(
    path: Path,
    ours: Callable[[bytes], bool],
    option: str = "--out",
    inputs: Iterable[str | Path | None] = (),
) -> None:
    """Refuse `path` (a ConfigError, nothing written) when it exists and is neither empty
    nor a file this command wrote, or when it is one of the command's `inputs`."""
    if not path.exists() and not path.is_symlink():
        return
    refuse_inputs(path, inputs, option)
    if not path.is_file():
        raise ConfigError(f"{option} {path}: not a regular file; choose another {option}")
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if head.strip() and not ours(head):
        raise ConfigError(
            f"{option} {path}: the file exists and is not one this command writes; nothing was "
            f"written (choose another {option}, or move the file aside)"
        )


def refuse_inputs(path: Path, inputs: Iterable[str | Path | None], option: str = "--out") -> None:
    """A ConfigError when `path` is the same file as one of `inputs` (by any name: a
    symlink, a hard link)."""
    for source in inputs:
        if source is None:
            continue
        try:
            same = os.path.samefile(path, source)
        except OSError:  # either is missing: not the same file
            continue
        if same:
            raise ConfigError(
                f"{option} {path} is the input file {source}; nothing was written (choose "
                f"another {option})"
            )


def create_new(path: Path) -> int:
    """Open `path` for writing only when nothing is there (not a file, not a link, not even
    a dangling one): a descriptor the caller closes. FileExistsError otherwise."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, 0o666)


def create_beside(path: Path, suffix: str) -> tuple[int, Path]:
    """A new side file of ours in `path`'s folder (`.<name>.<random><suffix>`), created
    exclusively (`create_new`): its descriptor and its path."""
    while True:
        side = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
        try:
            return create_new(side), side
        except FileExistsError:  # someone's file, or a link: never touched; another name
            continue


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` whole or not at all (a new side file, fsync, rename)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    partial: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = create_beside(path, ".partial")
        with open(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as err:
        if partial is not None:
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
