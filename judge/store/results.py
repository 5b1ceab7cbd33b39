"""The results file: one JSON line per prediction, appended as each finishes, resumable.

On open, an earlier run's file is read back: a torn last line (the process was killed
mid-write) is dropped, records that are final for this run's rubric, prompts and judges are
kept (the first of any id), and everything else (a judge's transport failure, another rubric
version) is dropped so it is judged again. If anything was dropped the file is rewritten
atomically first; when what was dropped is not simply this run's own work to redo (records of
another rubric, prompt or panel, duplicates), the file as it was is kept as `<out>.bak` first
and a notice says so.

A file is only ever rewritten or appended to when it is ours: empty, or every complete line a
result record (see judge/store/resultsfile.py). Anything else, the predictions file included,
is refused before a byte is written. Two runs cannot write one file at once, whatever names
they reach it by: the lock is taken on the resolved path, and the file itself is flocked (a
hard link). The kept ids are held in an IdSet (judge/store/idset.py), so memory does not grow
with the file.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from judge.contracts import ResultRecord
from judge.errors import ConfigError, InputError, OutputError
from judge.store.idset import IdSet
from judge.store.resultsfile import Keep, Line, read_lines

__all__ = ["Keep", "ResultsWriter", "iter_records", "kept_ids"]


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
    """Appends records to a results file, keeping what an earlier run finished.

    `keep` says which earlier records are final; `redo` which of the others are this run's
    own to judge again (dropping any other line keeps a backup). `id_field` is stamped on
    every record written and must match the file's; `inputs` are files `path` must not be,
    each with what it is ("the predictions file", "the cases file") for the refusal.
    """

    def __init__(
        self,
        path: str | Path,
        keep: Keep,
        *,
        redo: Keep | None = None,
        id_field: str | None = None,
        inputs: Iterable[tuple[str, str | Path]] = (),
    ):
        self.path = Path(path)
        # Every read, write and lock goes to the file a symlink names, not the link.
        self.real = Path(os.path.realpath(self.path))
        self._keep = keep
        self._redo = redo
        self.id_field = id_field
        self._inputs = [(what, Path(p)) for what, p in inputs]
        self._lock: IO[str] | None = None
        self._out: io.RawIOBase | None = None
        self._failed = False
        self.kept = IdSet()
        self.dropped = 0
        self.backup: Path | None = None
        self.notices: list[str] = []

    def open(self) -> IdSet:
        """Take the lock, reconcile an existing file, and return the ids already final (an
        IdSet that `close()` frees)."""
        self._refuse_inputs()
        try:
            self.real.parent.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.real.with_name(self.real.name + ".lock"), "w")  # noqa: SIM115
        except OSError as exc:
            raise self._output_error(exc) from exc
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            self._lock = None
            raise self._busy() from exc
        try:
            if self.real.exists() and not self.real.is_file():
                raise ConfigError(f"--out {self.path} is not a regular file; choose a file")
            try:
                self._out = _open_locked(self.real, os.O_APPEND)
            except BlockingIOError as exc:
                raise self._busy() from exc
            except OSError as exc:
                raise self._output_error(exc) from exc
            self._reconcile()
        except BaseException:
            self.close()
            raise
        return self.kept

    def write(self, record: ResultRecord) -> None:
        assert self._out is not None, "open() first"
        if self.id_field is not None and record.id_field is None:
            record.id_field = self.id_field
        data = (record.model_dump_json() + "\n").encode()
        # One unbuffered write per line: a SIGKILL or a full disk can tear at most the line
        # being written, which the next run drops.
        try:
            _write_all(self._out, data)
        except OSError as exc:
            self._failed = True
            raise self._output_error(exc) from exc

    def close(self) -> None:
        try:
            if self._out is not None:
                out, self._out = self._out, None
                try:
                    os.fsync(out.fileno())
                except OSError as exc:
                    if not self._failed:  # else the write's error is already on its way
                        self._failed = True
                        raise self._output_error(exc) from exc
                finally:
                    out.close()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            self.kept.close()

    def __enter__(self) -> ResultsWriter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse_inputs(self) -> None:
        for what, source in self._inputs:
            if self.real.exists() and source.exists() and os.path.samefile(self.real, source):
                raise ConfigError(
                    f"--out {self.path} is {what} {source}; results go to another file"
                )

    def _busy(self) -> ConfigError:
        return ConfigError(f"another run is writing {self.path}; wait for it or use --out")

    def _output_error(self, exc: OSError) -> OutputError:
        reason = exc.strerror or str(exc)
        return OutputError(
            f"cannot write results to {self.path}: {reason}; the records already written are "
            "kept, and a rerun with the same --out resumes"
        )

    def _reconcile(self) -> None:
        """Read the file once; from its first line to drop on, write the lines to keep to a
        new file that then replaces it (a clean file is left as it is)."""
        tmp = self.real.with_name(self.real.name + ".tmp")
        dst: io.BufferedWriter | None = None
        replaced = False
        clean_bytes = 0  # the length of the lines before the first one dropped
        lost = 0  # dropped lines that are not this run's to redo
        whole = 0  # complete records of ours read
        try:
            with self.real.open("rb") as src:
                for line in read_lines(src, self.path, self._keep, self.kept, self.id_field):
                    whole += line.record is not None
                    if dst is None and line.kept:
                        clean_bytes += len(line.raw)
                        continue
                    if dst is None:
                        # Flocked before it replaces the file, so the lock never lapses.
                        dst = io.BufferedWriter(_open_locked(tmp, os.O_TRUNC), 1 << 20)
                        with self.real.open("rb") as head:
                            _copy_bytes(head, dst, clean_bytes)
                    if line.kept:
                        dst.write(line.raw)
                    elif line.raw.strip():
                        self.dropped += 1
                        # A torn line alone is no evidence of a killed run of ours (a
                        # one-line file of someone else's that starts like a record): kept.
                        alone = line.record is None and not whole
                        lost += alone or not self._redone(line)
            if dst is not None:
                dst.flush()
                os.fsync(dst.fileno())
                if lost:
                    self._back_up(lost)
                os.replace(tmp, self.real)
                replaced = True
                assert self._out is not None
                self._out.close()  # the old file's lock; the new one's is held by dst
                self._out, dst = dst.detach(), None
        except OSError as exc:
            raise self._output_error(exc) from exc
        finally:
            if dst is not None and not replaced:
                dst.close()
                tmp.unlink(missing_ok=True)

    def _redone(self, line: Line) -> bool:
        """Whether a dropped line is this run's own work, judged again (no backup needed)."""
        if line.record is None:
            return True  # a torn last line: nothing was written in full
        return self._redo is not None and not line.duplicate and self._redo(line.record)

    def _back_up(self, lost: int) -> None:
        """Keep the file as it is under a new `.bak` name (a hard link where the filesystem
        allows, so even a large file costs nothing to keep)."""
        backup = self.real.with_name(self.real.name + ".bak")
        n = 1
        while backup.exists() or backup.is_symlink():
            n += 1
            backup = self.real.with_name(f"{self.real.name}.bak{n}")
        try:
            os.link(self.real, backup)
        except OSError:
            shutil.copy2(self.real, backup)
        self.backup = backup
        self.notices.append(
            f"{self.path}: {lost} record(s) of another rubric, prompt or panel (or duplicates) "
            f"were dropped to judge them again; the file as it was is kept in {backup}"
        )


def kept_ids(path: str | Path, keep: Keep, id_field: str | None = None) -> IdSet:
    """The ids of an existing results file that a run would keep, without changing the file
    (what a dry run reports as done). Refuses a file that is not a results file, as a run
    would. The caller closes the IdSet."""
    kept = IdSet()
    path = Path(path)
    if path.is_file():
        try:
            with path.open("rb") as handle:
                for _ in read_lines(handle, path, keep, kept, id_field):
                    pass
        except BaseException:
            kept.close()
            raise
    return kept


def _open_locked(path: Path, flags: int) -> io.RawIOBase:
    """Open for writing (creating it) and flock the file itself, so a second run that reaches
    it by another name (a hard link) is refused too. Raises BlockingIOError when locked."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "wb", buffering=0)  # closed by the writer


def _write_all(out: io.RawIOBase | io.BufferedWriter, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = out.write(view)
        if n is None:  # pragma: no cover  # a blocking file never returns None
            continue
        view = view[n:]


def _copy_bytes(src: IO[bytes], dst: io.BufferedWriter, n: int) -> None:
    while n > 0:
        chunk = src.read(min(n, 1 << 20))
        if not chunk:
            raise OSError(f"{src.name} shrank while it was read")
        _write_all(dst, chunk)
        n -= len(chunk)
