"""Read a cases file (the dataset's rows) and join predictions to it by id (`--cases`).

A cases file is a .parquet (read with pyarrow), .jsonl or .csv file, or a directory that
Hugging Face `datasets` wrote with `save_to_disk` (`state.json`, `dataset_info.json` and the
`data-*.arrow` shards it lists, which are Arrow IPC streams: read with pyarrow, no `datasets`
needed). Every row is validated as a `Case` when the file is loaded, so a bad row is an error
naming file:row:field before anything is judged.

The cases are held in memory (each row's plain values, by id): a benchmark split is small
(MedThinkVQA's test split is about 1,000 rows); the predictions still stream.

Join rules (docs/run.md, "Cases and predictions in separate files"): a predictions line names its
case by `--id-field`, compared as text (an int 7 in parquet is the id "7" in JSON); an id that
is not among the cases is an error naming the predictions file and line. The line's own fields
are added to the case's; a field both carry must agree (after validation, so options given
as a dict and as a JSON string agree), or the line is an error naming the field: the case file
never silently overrides a prediction, nor the reverse. A null on either side (an empty CSV
cell, a null parquet value) carries nothing: the other side's value is kept.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.contracts import Case
from judge.errors import InputError
from judge.load.lines import first_problem, jsonl_rows, regular, wide_text

__all__ = ["Cases", "case_id", "cases_or_none", "disagreeing", "load_cases", "quoted"]

# save_to_disk's file names (huggingface/datasets, src/datasets/config.py).
_STATE = "state.json"
_DICT = "dataset_dict.json"
_SHOWN = 40  # characters of a value quoted in an error


@dataclass
class Cases:
    """The rows of a cases file by id (in file order), and where each came from."""

    path: str
    id_field: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # id -> (file, line or row) of the case, for messages.
    where: dict[str, tuple[str, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def join(self, item_id: str, row: dict[str, Any], name: str, line: int) -> dict[str, Any]:
        """The case `item_id` with the prediction line `row` added (the line at `name`:`line`).
        Raises InputError when the id is not a case's or a field disagrees with the case."""
        case = self.rows.get(item_id)
        if case is None:
            raise InputError(
                name,
                line,
                f"{item_id!r} is not among the {len(self.rows)} cases of {self.path}",
                self.id_field,
            )
        shared = [k for k in row if k in case and k != self.id_field]
        for key in disagreeing(case, row, shared):
            at = ":".join(str(p) for p in self.where[item_id])
            raise InputError(
                name,
                line,
                f"{quoted(row[key])} disagrees with the case at {at} ({quoted(case[key])}); "
                "drop the field from the predictions line, or make the two agree",
                key,
            )
        # A null (an empty CSV cell, a null parquet value) carries nothing: the other side's
        # value stays.
        return {**row, **{k: v for k, v in case.items() if v is not None or k not in row}}

    def missing(self, seen: Container[str]) -> list[str]:
        """The ids of the cases not in `seen`, in file order."""
        return [i for i in self.rows if i not in seen]


def case_id(value: Any) -> str | None:
    """An id as text: 7 and "7" are one id; a whole float (7.0, what pandas makes of an int
    column with a gap) is 7. None or blank: no id."""
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or isinstance(value, dict | list) or str(value).strip() == "":
        return None
    return str(value)


def load_cases(path: str | Path, id_field: str = "title") -> Cases:
    """Read and validate a cases file (see the module's docstring). Loaded once per file
    version: a run, its batch pass and a server share one load."""
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError:
        raise InputError(str(path), None, "no such cases file or directory") from None
    return _load(str(path), str(resolved), id_field, stat.st_mtime_ns, stat.st_size)


def cases_or_none(path: str | Path | None, id_field: str = "title") -> Cases | None:
    """`load_cases(path)`, or None without a path (the `cases` option's default)."""
    return load_cases(path, id_field) if path is not None else None


@lru_cache(maxsize=4)
def _load(name: str, resolved: str, id_field: str, mtime_ns: int, size: int) -> Cases:
    # mtime and size are the cache key's part that makes an edited file load again.
    cases = Cases(path=name, id_field=id_field)
    for where, row in _rows(Path(resolved), name):
        _add(cases, where, row)
    if not cases.rows:
        raise InputError(name, None, "holds no cases")
    return cases


def _add(cases: Cases, where: tuple[str, int], row: Any) -> None:
    file, line = where
    if not isinstance(row, dict):
        raise InputError(file, line, f"expected an object, got {type(row).__name__}")
    plain = {str(k): _plain(v) for k, v in row.items()}
    item_id = case_id(plain.get(cases.id_field))
    if item_id is None:
        raise InputError(
            file, line, "missing (it identifies the case; see --id-field)", cases.id_field
        )
    if item_id in cases.rows:
        first = ":".join(str(p) for p in cases.where[item_id])
        raise InputError(file, line, f"duplicate id {item_id!r} (first at {first})", cases.id_field)
    plain[cases.id_field] = item_id
    try:
        Case.model_validate(plain)
    except ValidationError as exc:
        raise first_problem(file, line, exc) from None
    cases.rows[item_id] = plain
    cases.where[item_id] = where


def _rows(path: Path, name: str) -> Iterator[tuple[tuple[str, int], Any]]:
    """Each row with (file, line or 1-based row) where it was read."""
    if path.is_dir():
        yield from _saved_dataset(path, name)
        return
    regular(path, name)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        yield from _arrow_rows(name, _parquet(path, name))
    elif suffix in (".jsonl", ".ndjson"):
        for line, value in jsonl_rows(path):
            if isinstance(value, InputError):
                raise value
            yield (name, line), value
    elif suffix == ".csv":
        yield from _csv_rows(path, name)
    else:
        raise InputError(
            name,
            None,
            "unknown cases format: give a .parquet, .jsonl or .csv file, or a directory "
            "written by datasets' save_to_disk",
        )


def _parquet(path: Path, name: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(name, None, f"not a readable parquet file ({exc})") from None


def _saved_dataset(path: Path, name: str) -> Iterator[tuple[tuple[str, int], Any]]:
    """The rows of a `Dataset.save_to_disk` directory, shard by shard in state.json's order."""
    import pyarrow as pa

    if not (path / _STATE).is_file():
        if (path / _DICT).is_file():
            splits = ", ".join(sorted(p.name for p in path.iterdir() if (p / _STATE).is_file()))
            raise InputError(
                name, None, f"a DatasetDict: give one split's directory ({splits or 'none found'})"
            )
        raise InputError(name, None, f"a directory without {_STATE}: not a save_to_disk dataset")
    try:
        state = json.loads((path / _STATE).read_text(encoding="utf-8"))
        files = [str(entry["filename"]) for entry in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{name}/{_STATE}", None, f"not a datasets state file ({exc})") from None
    for file in files:
        shard = (path / file).resolve()
        shard_name = f"{name}/{file}"
        if path.resolve() not in shard.parents:  # a state.json must not point outside
            raise InputError(f"{name}/{_STATE}", None, f"data file {file!r} is outside {name}")
        regular(shard, shard_name)
        try:
            with pa.memory_map(str(shard)) as source:
                table = pa.ipc.open_stream(source).read_all()
        except (pa.ArrowException, OSError) as exc:
            raise InputError(shard_name, None, f"not an Arrow stream file ({exc})") from None
        yield from _arrow_rows(shard_name, table)


def _arrow_rows(name: str, table: Any) -> Iterator[tuple[tuple[str, int], Any]]:
    # Batch by batch: the whole table is never turned into Python objects at once.
    row = 0
    for batch in table.to_batches(max_chunksize=1024):
        for value in batch.to_pylist():
            row += 1
            yield (name, row), value


def _csv_rows(path: Path, name: str) -> Iterator[tuple[tuple[str, int], Any]]:
    # A case's discussion can be longer than csv's default field limit (128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
    with path.open("rb") as raw:
        wide = wide_text(raw.read(4))
    if wide is not None:
        raise InputError(name, 1, wide)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            start = reader.line_num + 2  # the header is line 1
            for record in reader:
                if None in record:  # more cells than the header names
                    raise InputError(name, start, "more cells than the header has columns")
                # CSV has no null: an empty cell is a missing value.
                yield (name, start), {k: (v if v != "" else None) for k, v in record.items()}
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise InputError(name, None, f"not UTF-8 text ({exc})") from None
    except csv.Error as exc:
        raise InputError(name, None, f"not a readable CSV file ({exc})") from None


def _plain(value: Any) -> Any:
    """Plain Python values: numpy and Arrow scalars unwrapped, NaN as None, nested too."""
    if hasattr(value, "as_py"):  # an Arrow scalar
        value = value.as_py()
    elif hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # a numpy scalar (np.int64, np.bool_, np.float64)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def disagreeing(case: dict[str, Any], row: dict[str, Any], keys: list[str]) -> Iterator[str]:
    """The keys of `keys` whose values in `row` and in `case` (a valid Case's plain values)
    differ, compared as validated: {"A": …} and its JSON string, "(b)" and "B" agree; 7 and
    "7" do not. A null on either side does not carry the field, so it disagrees with
    nothing."""
    unequal = [
        k
        for k in keys
        if _plain(row[k]) is not None and case[k] is not None and _plain(row[k]) != case[k]
    ]
    if not unequal:
        return
    validated = Case.model_validate(case)
    declared = [k for k in unequal if k in Case.model_fields]
    for key in unequal:
        if key not in declared:
            yield key
            continue
        try:
            other = Case.model_validate({**case, key: row[key]})
        except ValidationError:
            yield key
            continue
        if getattr(other, key) != getattr(validated, key):
            yield key


def quoted(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
