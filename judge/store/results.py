"""The results file: one JSON line per prediction, appended as each finishes, resumable.

On open, an earlier run's file is read back: a torn last line (the process was killed
mid-write) is dropped, records that are final for this run's rubric, prompts and judges are
kept (the first of any id), and everything else (a judge's transport failure, another rubric
version) is dropped so it is judged again. If anything was dropped the file is rewritten
atomically first. A lock file stops two runs from writing the same results at once. The kept
ids are held in an IdSet (judge/idset.py), so memory does not grow with the file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from judge.contracts import ResultRecord
from judge.errors import ConfigError, InputError
from judge.store.idset import IdSet

__all__ = ["ResultsWriter", "iter_records", "kept_ids"]

Keep = Callable[[dict[str, Any]], bool]


def iter_records(path: str | Path) -> Iterator[ResultRecord]:
    """Read a results file back as typed records (complete lines only)."""
    path = Path(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n") or not raw.strip():
                continue  # a torn last line from a killed run
            try:
                yield ResultRecord.model_validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or None
                message = f"not a results record ({first['msg']})"
                raise InputError(str(path), number, message, field=where) from exc


class ResultsWriter:
    """Appends records to a results file, keeping what an earlier run finished."""

    def __init__(self, path: str | Path, keep: Keep):
        self.path = Path(path)
        self._keep = keep
        self._lock: IO[str] | None = None
        self._out: IO[str] | None = None
        self.kept = IdSet()
        self.dropped = 0

    def open(self) -> IdSet:
        """Take the lock, reconcile an existing file, and return the ids already final (an
        IdSet that `close()` frees)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            self._lock = None
            raise ConfigError(
                f"another run is writing {self.path}; wait for it or use --out"
            ) from exc
        try:
            if self.path.exists():
                self._reconcile()
            self._out = self.path.open("a", encoding="utf-8")
        except BaseException:
            self.close()
            raise
        return self.kept

    def write(self, record: ResultRecord) -> None:
        assert self._out is not None, "open() first"
        # One write per line, flushed: a SIGKILL can tear at most the line being written.
        self._out.write(record.model_dump_json() + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        self.kept.close()

    def __enter__(self) -> ResultsWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reconcile(self) -> None:
        """Read the file once; from its first line to drop on, write the lines to keep to a
        new file that then replaces it (a clean file is left as it is)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        dst: IO[bytes] | None = None
        replaced = False
        clean_bytes = 0  # the length of the lines before the first one dropped
        try:
            with self.path.open("rb") as src:
                for raw, kept in _read_kept(src, self._keep, self.kept):
                    if dst is None and kept:
                        clean_bytes += len(raw)
                        continue
                    if dst is None:
                        dst = tmp.open("wb")
                        with self.path.open("rb") as head:
                            _copy_bytes(head, dst, clean_bytes)
                    if kept:
                        dst.write(raw)
                    else:
                        self.dropped += raw.strip() != b""
            if dst is not None:
                dst.flush()
                os.fsync(dst.fileno())
                dst.close()
                os.replace(tmp, self.path)
                replaced = True
        finally:
            if dst is not None and not replaced:
                dst.close()
                tmp.unlink(missing_ok=True)


def _read_kept(lines: Iterable[bytes], keep: Keep, kept: IdSet) -> Iterator[tuple[bytes, bool]]:
    """Each line of a results file and whether a run keeps it: a complete line holding a
    record with an id that `keep` accepts, the first with that id. Adds the kept ids to `kept`.

    The one reading of an earlier run's records, shared by ResultsWriter and `kept_ids`."""
    for raw in lines:
        record_id = _record_id(raw, keep)
        yield raw, record_id is not None and kept.add(record_id)


def kept_ids(path: str | Path, keep: Keep) -> IdSet:
    """The ids of an existing results file that a run would keep, without changing the file
    (what a dry run reports as done). The caller closes the IdSet."""
    kept = IdSet()
    path = Path(path)
    if path.is_file():
        try:
            with path.open("rb") as handle:
                for _ in _read_kept(handle, keep, kept):
                    pass
        except BaseException:
            kept.close()
            raise
    return kept


def _record_id(raw: bytes, keep: Keep) -> str | None:
    if not raw.endswith(b"\n"):
        return None  # a torn last line from a killed run
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: a line nested 10,000 deep
        return None
    if not isinstance(record, dict) or "id" not in record or not keep(record):
        return None
    return str(record["id"])


def _copy_bytes(src: IO[bytes], dst: IO[bytes], n: int) -> None:
    while n > 0:
        chunk = src.read(min(n, 1 << 20))
        if not chunk:
            raise OSError(f"{src.name} shrank while it was read")
        dst.write(chunk)
        n -= len(chunk)
