"""Read a predictions JSONL file: stream it, validate each line, and name file:line:field of
every problem.

The file is read twice by a run: once to validate everything before any money is spent, once
to feed the judges. Both passes stream, and the ids seen so far (to report a repeated id) are
held in an IdSet, which moves to a temporary database past a few ten thousand ids: memory does
not grow with the file. With a cases file (`--cases`, judge.load.cases) each line is first
joined to its case by id, in both passes.

A row is in the MedThinkVQA shape (the case inline), in chat format (`messages`; see
judge.load.chat) or HealthBench's (judge.load.healthbench). Chat rows are told apart by `fmt`:
`auto` (a row with `messages` is a chat row), `chat`, `medthinkvqa`. Given the rubric, a case
it cannot judge is refused here too, before any judge is called: an open-ended case under a
rubric that shows the judges the options, or a case without its own items under a rubric that
judges them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.contracts import Prediction, Rubric
from judge.errors import InputError
from judge.load.cases import Cases, case_id, cases_or_none
from judge.load.chat import ChatProblem, from_chat, is_chat
from judge.load.healthbench import healthbench_prediction, is_healthbench_row
from judge.load.images import ImageRoot
from judge.load.lines import first_problem, jsonl_rows, regular
from judge.options import Format, RunOptions
from judge.store.idset import IdSet

__all__ = [
    "InputReport",
    "Item",
    "case_items_problem",
    "items_by_id",
    "iter_items",
    "make_item",
    "read_items",
    "run_items",
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
    # With cases: the ids of the cases no valid line predicts, in the cases file's order.
    missing: list[str] = field(default_factory=list)
    # With `cluster`: the first valid line without that case field (--cluster needs it on
    # every item, so --skip-invalid does not skip it).
    unclustered: InputError | None = None

    def refuse(self, skip_invalid: bool) -> None:
        """Raise what stops a run: an item --cluster cannot group, or the first problem (with
        how many more) unless `skip_invalid`."""
        if self.unclustered is not None:
            raise self.unclustered
        if self.problems and not skip_invalid:
            first = self.problems[0]
            more = len(self.problems) - 1
            if more:
                first.args = (f"{first.args[0]} (and {more} more; --skip-invalid scores the rest)",)
            raise first


# What --cluster needs of every item (judge.contracts.cases: Prediction.metadata).
_NO_CLUSTER = (
    "no case metadata value to cluster by (--cluster needs a number, or text of at most 120 "
    "characters, on every item)"
)


def iter_items(
    source: Source,
    id_field: str = "title",
    cases: Cases | None = None,
    images: ImageRoot | None = None,
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
    limit: int | None = None,
) -> Iterator[Item | InputError]:
    """Yield each line of `source` as an Item, or as the InputError that describes it.

    `source` is a JSONL path or an iterable of dicts / Predictions (for the Python API, where
    the "line" is the 1-based position). Duplicate ids are reported at their second sighting.
    With `cases`, each line is joined to its case first (`Cases.join`'s rules); with
    `images`, an `image_NN_path` with no file under that root is the line's problem.
    `fmt` is the rows' format (`--format`); with `rubric`, a case it cannot judge is an error.
    With `limit` (`--limit`), it stops after that many valid items: the lines after them are
    not read.
    """
    name, rows = _rows(source)
    valid = 0
    with IdSet() as seen:  # closed when the generator ends or is closed early
        for line, row in rows:
            if limit is not None and valid >= limit:
                return
            if isinstance(row, InputError):
                yield row
                continue
            item = _to_item(name, line, row, id_field, cases=cases, fmt=fmt, rubric=rubric)
            if isinstance(item, Item) and not seen.add(item.id):
                item = InputError(name, line, f"duplicate id {item.id!r}", field=id_field)
            if isinstance(item, Item) and images is not None:
                item = _with_images(name, item, images)
            valid += isinstance(item, Item)
            yield item


def validate_items(
    source: Source,
    id_field: str = "title",
    cases: Cases | None = None,
    images: ImageRoot | None = None,
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
    cluster: str | None = None,
    limit: int | None = None,
) -> InputReport:
    """Validate every line without keeping the items (with `cases`: and list the cases no
    valid line predicts, their ids held, as many as the cases at most; with `images`: and
    check their image files; with `rubric`: and that it can judge each line; with `cluster`:
    and that each has that case metadata field; with `limit`: the first that many valid items
    only, and no case is listed as missing, since the lines after them are not read)."""
    report = InputReport(path=str(source) if isinstance(source, str | Path) else "<records>")
    predicted: set[str] = set()
    for item in iter_items(source, id_field, cases, images, fmt=fmt, rubric=rubric, limit=limit):
        if isinstance(item, InputError):
            report.problems.append(item)
        else:
            report.n_valid += 1
            if (
                cluster
                and not report.unclustered
                and item.prediction.metadata().get(cluster) is None
            ):
                report.unclustered = InputError(report.path, item.line, _NO_CLUSTER, cluster)
            if cases is not None:
                predicted.add(item.id)
    if cases is not None and limit is None:
        report.missing = cases.missing(predicted)
    return report


def run_items(
    source: Source, opts: RunOptions, cases: Cases | None, images: ImageRoot | None, rubric: Rubric
) -> Iterator[Item | InputError]:
    """`iter_items` as a run's options say: --id-field, --format, --limit."""
    return iter_items(
        source, opts.id_field, cases, images, fmt=opts.format, rubric=rubric, limit=opts.limit
    )


def read_items(
    source: Source,
    id_field: str = "title",
    cases: Cases | None = None,
    images: ImageRoot | None = None,
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> list[Item]:
    """All items of a source, raising the first problem (for small inputs and tests)."""
    items = []
    for item in iter_items(source, id_field, cases, images, fmt=fmt, rubric=rubric):
        if isinstance(item, InputError):
            raise item
        items.append(item)
    return items


def _rows(
    source: Source,
) -> tuple[str, Iterator[tuple[int, Any]]]:
    if isinstance(source, str | Path):
        path = Path(source)
        regular(path, str(path))
        return str(path), jsonl_rows(path)
    return "<records>", enumerate(source, start=1)


def make_item(
    row: dict[str, Any] | Prediction,
    id_field: str = "title",
    *,
    item_id: str | None = None,
    source: str = "<item>",
    cases: Cases | None = None,
    images: ImageRoot | None = None,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> Item:
    """One prediction as an Item (id from `item_id`, else its `id_field`; joined to its case
    when `cases` is given); raises InputError naming the field when it is not valid (or, with
    `images`, names an image file not there; with `rubric`, a line it cannot judge)."""
    found = _to_item(source, 1, row, id_field, item_id, cases, fmt=fmt, rubric=rubric)
    if isinstance(found, Item) and images is not None:
        found = _with_images(source, found, images)
    if isinstance(found, InputError):
        raise found
    return found


def items_by_id(
    source: Source, wanted: set[str], opts: RunOptions
) -> tuple[dict[str, Item], list[str]]:
    """The items of `source` whose ids are in `wanted`, read as a run with `opts` reads them
    (its id field, cases file, images and format), and the wanted ids it does not hold; the
    first invalid line is raised (`judge probe` and `judge align` re-judge a run's items)."""
    cases = cases_or_none(opts.cases, opts.id_field)
    images = ImageRoot.of(opts.images)
    found: dict[str, Item] = {}
    for item in iter_items(source, opts.id_field, cases, images, fmt=opts.format):
        if isinstance(item, InputError):
            raise item
        if item.id in wanted:
            found[item.id] = item
    return found, sorted(wanted - set(found))


def _with_images(name: str, item: Item, images: ImageRoot) -> Item | InputError:
    problem = images.problem(item.prediction)
    if problem is None:
        return item
    return InputError(name, item.line, problem[1], field=problem[0])


def case_items_problem(rubric: Rubric | None, prediction: Prediction) -> str | None:
    """Why `rubric` cannot judge this case at all, or None: a rubric with `items: case` needs
    the case's own items, at least one of them with positive points (the score's
    denominator; HealthBench asserts it)."""
    if rubric is None or rubric.items != "case":
        return None
    if not prediction.rubrics:
        return f"no rubric items: rubric {rubric.id} judges the case's own `rubrics` list"
    if not any(item.points > 0 for item in prediction.rubrics):
        return "no rubric item has positive points (the score divides by their sum)"
    return None


def _to_item(
    name: str,
    line: int,
    row: Any,
    id_field: str,
    item_id: str | None = None,
    cases: Cases | None = None,
    *,
    fmt: Format = "auto",
    rubric: Rubric | None = None,
) -> Item | InputError:
    if isinstance(row, Prediction) and _chat(fmt, row.model_extra or {}):
        # A chat row a front end validated as a case (serve's request body): read it as chat.
        row = row.model_dump(exclude_unset=True)
    if isinstance(row, dict) and _chat(fmt, row):
        try:
            row = from_chat(row, line, id_field)
        except ChatProblem as bad:
            return InputError(name, line, bad.message, field=bad.field)
    if cases is not None:
        if isinstance(row, Prediction):
            row = row.model_dump(exclude_unset=True)
        if isinstance(row, dict):
            joined_id = item_id if item_id is not None else case_id(row.get(id_field))
            if joined_id is None:
                return InputError(name, line, _NO_ID, id_field)
            try:
                row = cases.join(joined_id, row, name, line)
            except InputError as exc:
                return exc
            item_id = joined_id
    if isinstance(row, Prediction):
        prediction = row
    elif not isinstance(row, dict):
        return InputError(name, line, f"expected a JSON object, got {type(row).__name__}")
    else:
        try:
            if is_healthbench_row(row):
                prediction = healthbench_prediction(row)
            else:
                prediction = Prediction.model_validate(row)
        except ValidationError as exc:
            return first_problem(name, line, exc)
    raw_id = item_id if item_id is not None else _field(prediction, id_field)
    if raw_id is None or str(raw_id).strip() == "":
        return InputError(name, line, _NO_ID, id_field)
    if rubric is not None:
        problem = rubric.option_problem(prediction.letters)
        if problem:
            return InputError(name, line, problem, field="options")
        problem = case_items_problem(rubric, prediction)
        if problem:
            return InputError(name, line, problem, field="rubrics")
    return Item(id=str(raw_id), line=line, prediction=prediction)


def _chat(fmt: Format, row: dict[str, Any]) -> bool:
    return fmt == "chat" or (fmt == "auto" and is_chat(row))


_NO_ID = "missing (it identifies the item; see --id-field)"


def _field(prediction: Prediction, name: str) -> Any:
    if name in Prediction.model_fields:
        return getattr(prediction, name)
    return (prediction.model_extra or {}).get(name)
