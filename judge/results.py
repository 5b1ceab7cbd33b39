"""The results file: one JSON line per prediction, appended as each finishes, resumable.

On open, an earlier run's file is read back: a torn last line (the process was killed
mid-write) is dropped, records that are final for this run's rubric, prompts and judges are
kept, and everything else (a judge's transport failure, another rubric version) is dropped
so it is judged again. If anything was dropped the file is rewritten atomically first. A lock
file stops two runs from writing the same results at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from judge.contracts import ResultRecord
from judge.errors import ConfigError, InputError

__all__ = ["ResultsWriter", "iter_records"]

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
        self.kept: set[str] = set()
        self.dropped = 0

    def open(self) -> set[str]:
        """Take the lock, reconcile an existing file, and return the ids already final."""
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
        if self.path.exists():
            self._reconcile()
        self._out = self.path.open("a", encoding="utf-8")
        return set(self.kept)

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

    def __enter__(self) -> ResultsWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reconcile(self) -> None:
        clean = True
        with self.path.open("rb") as handle:
            for raw in handle:
                record_id = self._kept_id(raw)
                if record_id is None or record_id in self.kept:
                    clean = False
                    self.dropped += raw.strip() != b""
                else:
                    self.kept.add(record_id)
        if not clean:
            self._rewrite()

    def _kept_id(self, raw: bytes) -> str | None:
        if not raw.endswith(b"\n"):
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(record, dict) or "id" not in record or not self._keep(record):
            return None
        return str(record["id"])

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        seen: set[str] = set()
        with self.path.open("rb") as src, tmp.open("wb") as dst:
            for raw in src:
                record_id = self._kept_id(raw)
                if record_id is not None and record_id not in seen:
                    seen.add(record_id)
                    dst.write(raw)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path)
