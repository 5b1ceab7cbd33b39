"""Read a predictions JSONL file: stream it, validate each line, and name file:line:field of
every problem.

The file is read twice by a run: once to validate everything before any money is spent, once
to feed the judges. Both passes stream, and the ids seen so far (to report a repeated id) are
held in an IdSet, which moves to a temporary database past a few ten thousand ids: memory does
not grow with the file.

A row is in the MedThinkVQA shape (the case inline), or in chat format (`messages`; see
judge.load.chat), told apart by `fmt`: `auto` (a row with `messages` is a chat row), `chat`,
`medthinkvqa`. Given the rubric, a case it cannot judge is refused here too, before any judge
is called: an open-ended case under a rubric that shows the judges the options.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.contracts import Prediction, Rubric
from judge.errors import InputError
from judge.load.chat import ChatProblem, from_chat, is_chat
from judge.options import Format
from judge.store.idset import IdSet

__all__ = [
    "InputReport",
    "Item",
    "iter_items",
    "make_item",
    "read_items",
    "validate_items",
]
Source = str | Path | Iterable[dict[str, Any] | Prediction]


@dataclass(frozen=True)
class Item:
    """One valid prediction to score, with its id and 1-based line in the source."""

    id: str
    line: int
    prediction: Prediction


@dataclass
class InputReport:
    """What a validation pass found: how many good items, and every problem."""

    path: str
    n_valid: int = 0
    problems: list[InputError] = field(default_factory=list)


def iter_items(
    source: Source,
    id_field: str = "title",
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> Iterator[Item | InputError]:
    """Yield each line of `source` as an Item, or as the InputError that describes it.

    `source` is a JSONL path or an iterable of dicts / Predictions (for the Python API, where
    the "line" is the 1-based position). Duplicate ids are reported at their second sighting.
    `fmt` is the rows' format (`--format`); with `rubric`, a case it cannot judge is an error.
    """
    name, rows = _rows(source)
    with IdSet() as seen:  # closed when the generator ends or is closed early
        for line, row in rows:
            if isinstance(row, InputError):
                yield row
                continue
            item = _to_item(name, line, row, id_field, fmt=fmt, rubric=rubric)
            if isinstance(item, Item) and not seen.add(item.id):
                item = InputError(name, line, f"duplicate id {item.id!r}", field=id_field)
            yield item


def validate_items(
    source: Source,
    id_field: str = "title",
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> InputReport:
    """Validate every line without keeping the items."""
    report = InputReport(path=str(source) if isinstance(source, str | Path) else "<records>")
    for item in iter_items(source, id_field, fmt=fmt, rubric=rubric):
        if isinstance(item, InputError):
            report.problems.append(item)
        else:
            report.n_valid += 1
    return report


def read_items(
    source: Source,
    id_field: str = "title",
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> list[Item]:
    """All items of a source, raising the first problem (for small inputs and tests)."""
    items = []
    for item in iter_items(source, id_field, fmt=fmt, rubric=rubric):
        if isinstance(item, InputError):
            raise item
        items.append(item)
    return items


def _rows(source: Source) -> tuple[str, Iterator[tuple[int, Any]]]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputError(str(path), None, "no such file")
        return str(path), _jsonl_rows(path)
    return "<records>", enumerate(source, start=1)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as handle:
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


def make_item(
    row: dict[str, Any] | Prediction,
    id_field: str = "title",
    *,
    item_id: str | None = None,
    source: str = "<item>",
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> Item:
    """One prediction as an Item (id from `item_id`, else its `id_field`); raises InputError
    naming the field when it is not valid (or, given `rubric`, when it cannot judge it)."""
    found = _to_item(source, 1, row, id_field, item_id, fmt=fmt, rubric=rubric)
    if isinstance(found, InputError):
        raise found
    return found


def _to_item(
    name: str,
    line: int,
    row: Any,
    id_field: str,
    item_id: str | None = None,
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> Item | InputError:
    if isinstance(row, Prediction) and _chat(fmt, row.model_extra or {}):
        # A chat row a front end validated as a case (serve's request body): read it as chat.
        row = row.model_dump(exclude_unset=True)
    if isinstance(row, Prediction):
        prediction = row
    elif not isinstance(row, dict):
        return InputError(name, line, f"expected a JSON object, got {type(row).__name__}")
    else:
        if _chat(fmt, row):
            try:
                row = from_chat(row, line, id_field)
            except ChatProblem as bad:
                return InputError(name, line, bad.message, field=bad.field)
        try:
            prediction = Prediction.model_validate(row)
        except ValidationError as exc:
            return _first_problem(name, line, exc)
    raw_id = item_id if item_id is not None else _field(prediction, id_field)
    if raw_id is None or str(raw_id).strip() == "":
        return InputError(name, line, "missing (it identifies the item; see --id-field)", id_field)
    problem = rubric.option_problem(prediction.letters) if rubric is not None else None
    if problem:
        return InputError(name, line, problem, field="options")
    return Item(id=str(raw_id), line=line, prediction=prediction)


def _chat(fmt: Format, row: dict[str, Any]) -> bool:
    return fmt == "chat" or (fmt == "auto" and is_chat(row))


def _field(prediction: Prediction, name: str) -> Any:
    if name in Prediction.model_fields:
        return getattr(prediction, name)
    return (prediction.model_extra or {}).get(name)


def _first_problem(name: str, line: int, exc: ValidationError) -> InputError:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"] if first["type"] != "missing" else "required but missing"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problems on this line)"
    return InputError(name, line, message, field=where)
