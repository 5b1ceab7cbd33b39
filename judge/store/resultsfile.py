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

__all__ = ["RECORD_FIELDS", "Keep", "Line", "read_lines"]

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


@dataclass
class Line:
    """One line of a results file and what a run does with it."""

    raw: bytes
    record: dict[str, Any] | None  # None: a blank line or a torn last line
    kept: bool = False
    duplicate: bool = False  # final, but an earlier line has its id


def read_lines(
    lines: Iterable[bytes], path: Path, keep: Keep, kept: IdSet, id_field: str | None = None
) -> Iterator[Line]:
    """Each line of a results file and whether a run keeps it: a complete line holding a
    record that `keep` accepts, the first with its id. Adds the kept ids to `kept`. Raises
    ConfigError for a file that is not a results file, or whose records were keyed by another
    id field than `id_field`.

    The one reading of an earlier run's records, shared by ResultsWriter and `kept_ids`."""
    whole = False  # a complete record was read: the file is ours
    for number, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):  # the last line, torn by a killed run
            if raw.strip() and not _starts_like_a_record(raw):
                raise _not_ours(path, number)
            if raw.strip() and not whole:
                raise ConfigError(
                    f"{path} is not a results file (it holds no complete result record); it "
                    "was left as it is: choose another --out (or delete it, if it is a run of "
                    "judge killed while writing its first record)"
                )
            yield Line(raw, None)
            continue
        if not raw.strip():
            yield Line(raw, None)
            continue
        record = _record(raw)
        if record is None:
            raise _not_ours(path, number)
        whole = True
        found = record.get("id_field")
        if id_field is not None and found is not None and found != id_field:
            raise ConfigError(
                f"{path}:{number}: its records were keyed by --id-field {found}, not "
                f"{id_field}; resume with --id-field {found}, or write to another --out"
            )
        line = Line(raw, record)
        if keep(record):
            line.kept = kept.add(str(record["id"]))
            line.duplicate = not line.kept
        yield line


def _starts_like_a_record(raw: bytes) -> bool:
    start = raw.translate(None, b" \t\r\n")[: len(_RECORD_START)]
    return _RECORD_START.startswith(start)


def _record(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        return None
    if not isinstance(record, dict) or not record.keys() >= RECORD_FIELDS:
        return None
    return record


def _not_ours(path: Path, number: int) -> ConfigError:
    return ConfigError(
        f"{path} is not a results file (line {number} is not a result record); it was left "
        "as it is: choose another --out"
    )
