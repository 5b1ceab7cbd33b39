"""Reading an earlier run's results file back, line by line, and recognising it as ours.

A results file is recognised by what it holds: every complete line a JSON object with every
required field of a result record (files written by earlier versions are recognised too), and
at most a torn last line that starts like a record (a run killed mid-write) after at least one
complete record. Anything else is some other file, which a run must never rewrite: reading it
raises a ConfigError naming it. A one-line file without its newline (what `json.dump` writes)
is such a file: with no complete record, nothing shows it is ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judge.errors import ConfigError
from judge.store.idset import IdSet

__all__ = ["RECORD_FIELDS", "RESULTS", "FileKind", "Keep", "Line", "read_lines"]

Keep = Callable[[dict[str, Any]], bool]

# The fields every record has been written with since the first version; fixed here, not
# derived from the contract, so a field made required later cannot orphan older files.
RECORD_FIELDS = frozenset(
    {
        "id",
        "line",
        "status",
        "scores",
        "judgments",
        "rubric",
        "prompt_hash",
        "judge_version",
        "created_at",
    }
)
# Records are written id first, so a torn last line of ours starts so (or is cut even before).
_RECORD_START = b'{"id":'


@dataclass(frozen=True)
class FileKind:
    """A kind of JSONL file judge appends to and resumes: what it is called, the fields
    every line of it has, how its lines start (a torn last line of ours starts so), and the
    field that names a line (one line per name is kept)."""

    name: str
    fields: frozenset[str]
    start: bytes
    id_key: str


RESULTS = FileKind("results file", RECORD_FIELDS, _RECORD_START, "id")


@dataclass
class Line:
    """One line of a results file and what a run does with it."""

    raw: bytes
    record: dict[str, Any] | None  # None: a blank line or a torn last line
    kept: bool = False
    duplicate: bool = False  # final, but an earlier line has its id


def read_lines(
    lines: Iterable[bytes],
    path: Path,
    keep: Keep,
    kept: IdSet,
    id_field: str | None = None,
    kind: FileKind = RESULTS,
) -> Iterator[Line]:
    """Each line of a results file and whether a run keeps it: a complete line holding a
    record that `keep` accepts, the first with its id. Adds the kept ids to `kept`. Raises
    ConfigError for a file that is not a results file, or whose records were keyed by another
    id field than `id_field`.

    The one reading of an earlier run's records, shared by ResultsWriter and `kept_ids`."""
    whole = False  # a complete record was read: the file is ours
    for number, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):  # the last line, torn by a killed run
            if raw.strip() and not _starts_like(raw, kind.start):
                raise _not_ours(path, number, kind)
            if raw.strip() and not whole:
                what = "result record" if kind is RESULTS else f"line of a {kind.name}"
                raise ConfigError(
                    f"{path} is not a {kind.name} (it holds no complete {what}); it "
                    "was left as it is: choose another --out (or delete it, if it is a run of "
                    "judge killed while writing its first record)"
                )
            yield Line(raw, None)
            continue
        if not raw.strip():
            yield Line(raw, None)
            continue
        record = _record(raw, kind.fields)
        if record is None:
            raise _not_ours(path, number, kind)
        whole = True
        found = record.get("id_field")
        if id_field is not None and found is not None and found != id_field:
            raise ConfigError(
                f"{path}:{number}: its records were keyed by --id-field {found}, not "
                f"{id_field}; resume with --id-field {found}, or write to another --out"
            )
        line = Line(raw, record)
        if keep(record):
            line.kept = kept.add(str(record[kind.id_key]))
            line.duplicate = not line.kept
        yield line


def _starts_like(raw: bytes, start: bytes) -> bool:
    found = raw.translate(None, b" \t\r\n")[: len(start)]
    return start.startswith(found)


def _record(raw: bytes, fields: frozenset[str]) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        return None
    if not isinstance(record, dict) or not record.keys() >= fields:
        return None
    return record


def _not_ours(path: Path, number: int, kind: FileKind) -> ConfigError:
    what = "a result record" if kind is RESULTS else f"a line of a {kind.name}"
    return ConfigError(
        f"{path} is not a {kind.name} (line {number} is not {what}); it was left "
        "as it is: choose another --out"
    )
