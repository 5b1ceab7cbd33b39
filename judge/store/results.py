"""The results file: one JSON line per prediction, appended as each finishes, resumable.

On open, an earlier run's file is read back: a torn last line (the process was killed
mid-write) is dropped, records that are final for this run's rubric, prompts and judges are
kept (the first of any id), and everything else (a judge's transport failure, another rubric
version) is dropped so it is judged again. If anything was dropped the file is rewritten
atomically first; when what was dropped is not simply this run's own work to redo (records of
another rubric, prompt, panel or case key, duplicates), the file as it was is kept as
`<out>.bak` first and a notice says so (and why, where the caller can say: records sent
other sampling parameters, judge/store/sent_params.py).

A file is only ever rewritten or appended to when it is ours: empty, or every complete line a
result record (see judge/store/resultsfile.py). Anything else, the predictions file included,
is refused before a byte is written. Two runs cannot write one file at once, whatever names
they reach it by: the file itself is flocked (no `.lock` side file), and the rewrite and the
backup are new side files (judge.store.outputs), never a file or link already there. The
kept ids are held in an IdSet (judge/store/idset.py), so memory does not grow with the file.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from judge.contracts import ResultRecord
from judge.errors import ConfigError, InputError, OutputError
from judge.store.idset import IdSet
from judge.store.outputs import create_beside, create_new
from judge.store.resultsfile import RESULTS, FileKind, Keep, Line, read_lines

__all__ = ["Keep", "ResultsWriter", "Why", "iter_records", "kept_ids"]

# Why a dropped record is not this run's own work to redo, in words for the notice ("sent
# other sampling parameters (…)"); None: the general words (_LOST).
Why = Callable[[dict[str, Any]], str | None]
_LOST = "of another rubric, prompt, panel or case key (or duplicates)"


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
    own to judge again (dropping any other line keeps a backup); `why` says why one of the
    others was dropped, for the backup's notice. `id_field` is stamped on
    every record written and must match the file's; `inputs` are files `path` must not be,
    each with what it is ("the predictions file", "the cases file") for the refusal. `kind`:
    the kind of file (a results file, or another JSONL file resumed so: a keys file).
    """

    def __init__(
        self,
        path: str | Path,
        keep: Keep,
        *,
        redo: Keep | None = None,
        why: Why | None = None,
        id_field: str | None = None,
        inputs: Iterable[tuple[str, str | Path]] = (),
        kind: FileKind = RESULTS,
    ):
        self.path = Path(path)
        self.kind = kind
        # Every read, write and lock goes to the file a symlink names, not the link.
        self.real = Path(os.path.realpath(self.path))
        self._keep = keep
        self._redo = redo
        self._why = why
        self.id_field = id_field
        self._inputs = [(what, Path(p)) for what, p in inputs]
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
        except OSError as exc:
            raise self._output_error(exc) from exc
        try:
            if self.real.exists() and not self.real.is_file():
                raise ConfigError(f"--out {self.path} is not a regular file; choose a file")
            self._out = self._open_output()
            self._reconcile()
        except BaseException:
            self.close()
            raise
        return self.kept

    def _open_output(self) -> io.RawIOBase:
        """The file itself, opened to append and flocked: the lock (no side file). A run that
        locked the old file just as another replaced it (a rewrite) opens the new one."""
        while True:
            try:
                out = _open_locked(self.real)
            except BlockingIOError as exc:
                raise self._busy() from exc
            except OSError as exc:
                raise self._output_error(exc) from exc
            try:
                same = os.path.samestat(os.stat(self.real), os.fstat(out.fileno()))
            except FileNotFoundError:  # replaced and not yet there: try again
                same = False
            except OSError as exc:
                out.close()
                raise self._output_error(exc) from exc
            if same:
                return out
            out.close()

    def write(self, record: BaseModel) -> None:
        assert self._out is not None, "open() first"
        if isinstance(record, ResultRecord) and self.id_field and record.id_field is None:
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
        tmp: Path | None = None
        dst: io.BufferedWriter | None = None
        replaced = False
        clean_bytes = 0  # the length of the lines before the first one dropped
        lost: Counter[str] = Counter()  # dropped lines not this run's to redo, by why
        try:
            with self.real.open("rb") as src:
                lines = read_lines(src, self.path, self._keep, self.kept, self.id_field, self.kind)
                for line in lines:
                    if dst is None and line.kept:
                        clean_bytes += len(line.raw)
                        continue
                    if dst is None:
                        # A new side file (never a file or link already there), flocked
                        # before it replaces the file, so the lock never lapses.
                        fd, tmp = create_beside(self.real, ".tmp")
                        dst = io.BufferedWriter(_locked(fd), 1 << 20)
                        with self.real.open("rb") as head:
                            _copy_bytes(head, dst, clean_bytes)
                    if line.kept:
                        dst.write(line.raw)
                    elif line.raw.strip():
                        self.dropped += 1
                        if not self._redone(line):
                            lost[self._reason(line)] += 1
            if dst is not None:
                dst.flush()
                os.fsync(dst.fileno())
                if lost:
                    self._back_up(lost)
                assert tmp is not None
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
            if tmp is not None and not replaced:
                tmp.unlink(missing_ok=True)

    def _redone(self, line: Line) -> bool:
        """Whether a dropped line is this run's own work, judged again (no backup needed)."""
        if line.record is None:
            return True  # a torn last line: nothing was written in full
        return self._redo is not None and not line.duplicate and self._redo(line.record)

    def _reason(self, line: Line) -> str:
        """Why a dropped line that is not this run's to redo was dropped, in words."""
        why = self._why(line.record) if self._why and line.record and not line.duplicate else None
        return why or _LOST

    def _back_up(self, lost: Counter[str]) -> None:
        """Keep the file as it is under a new `.bak` name (a hard link where the filesystem
        allows, so even a large file costs nothing to keep; else a copy). A name already
        taken, by a file or a link, is never touched: the next number is tried."""
        n = 1
        while True:
            backup = self.real.with_name(self.real.name + (".bak" if n == 1 else f".bak{n}"))
            n += 1
            try:
                os.link(self.real, backup)
                break
            except FileExistsError:
                continue
            except OSError:  # no hard links here: a copy, created as new
                try:
                    fd = create_new(backup)
                except FileExistsError:
                    continue
                with open(fd, "wb") as dst, self.real.open("rb") as src:
                    shutil.copyfileobj(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
                break
        self.backup = backup
        what = "; ".join(f"{n} record(s) {why}" for why, n in lost.items())
        self.notices.append(
            f"{self.path}: {what} were dropped to judge them again; the file as it was is kept "
            f"in {backup}"
        )


def kept_ids(
    path: str | Path, keep: Keep, id_field: str | None = None, kind: FileKind = RESULTS
) -> IdSet:
    """The ids of an existing results file that a run would keep, without changing the file
    (what a dry run reports as done). Refuses a file that is not a results file, as a run
    would. The caller closes the IdSet."""
    kept = IdSet()
    path = Path(path)
    if path.is_file():
        try:
            with path.open("rb") as handle:
                for _ in read_lines(handle, path, keep, kept, id_field, kind):
                    pass
        except BaseException:
            kept.close()
            raise
    return kept


def _open_locked(path: Path) -> io.RawIOBase:
    """Open to append (creating it) and flock the file itself, so a second run that reaches
    it by another name (a symlink, a hard link) is refused too. Raises BlockingIOError when
    locked. `path` is resolved already: a link found there now was planted, not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    return _locked(os.open(path, flags, 0o666))


def _locked(fd: int) -> io.RawIOBase:
    """`fd` flocked, as an unbuffered file the writer closes (closed here if locked)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "wb", buffering=0)


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
