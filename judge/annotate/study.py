"""One annotation study: the predictions to rate, the rubric, the raters and their queues.

A study lives in its database: restarting with the same `--db` keeps raters' tokens, their
assignments and every answer; new items, raters or a larger `--per-item` only add work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from judge.annotate.assign import assign
from judge.annotate.steps import FROM_RESULTS, StepPlan, find_units, step_plan
from judge.annotate.store import AnnotationStore, RaterKeys
from judge.contracts import Criterion, Rubric
from judge.errors import ConfigError, InputError
from judge.load.cases import cases_or_none
from judge.load.images import ImageRoot
from judge.load.inputs import Item, read_items
from judge.load.keys import Keys, load_keys
from judge.load.lines import decoded, regular
from judge.load.rubric import load_rubric, rubric_hash

__all__ = ["Study", "default_db", "open_study", "parse_raters", "read_queue"]

_RATER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass
class Study:
    """Everything the app serves: items in queue order and each active rater's queue."""

    rubric: Rubric
    items: dict[str, Item]
    raters: dict[str, RaterKeys]
    queues: dict[str, list[str]]
    store: AnnotationStore
    # A staged rubric's: the stages people follow, and each item's units (steps).
    plan: StepPlan | None = None
    units: dict[str, list[str]] = field(default_factory=dict)
    # The folder the cases' image files are served from (`--images`), or None.
    images: ImageRoot | None = None
    # What the command says before the links (e.g. steps kept from an earlier start).
    notices: list[str] = field(default_factory=list)
    # `--keys`: each case's key, shown beside the rubric (the checklist the judges tick).
    keys: Keys | None = None

    @property
    def criteria(self) -> list[Criterion]:
        """The criteria people rate: `method: llm` ones (the others are computed)."""
        return self.rubric.llm_criteria


def default_db(predictions: str | Path) -> Path:
    """`<predictions stem>.annotations.sqlite`, beside the predictions file."""
    path = Path(predictions)
    return path.with_name(f"{path.stem}.annotations.sqlite")


def parse_raters(text: str) -> list[str]:
    """`alice,bob,carol` → names; each a short identifier, no repeats."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError("--raters needs at least one name, e.g. --raters alice,bob")
    for name in names:
        if not _RATER.match(name):
            raise ConfigError(f"rater name {name!r}: use letters, digits, '.', '_' or '-'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--raters names {repeated} more than once")
    return names


def read_queue(path: str | Path, known: set[str]) -> list[str]:
    """Item ids from a queue file, one per line (blank lines and `#` comments skipped)."""
    path = Path(path)
    regular(path, str(path))
    ids: list[str] = []
    text = decoded(path.read_bytes(), str(path))
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line not in known:
            raise InputError(str(path), number, f"no item {line!r} in the predictions file")
        if line not in ids:
            ids.append(line)
    if not ids:
        raise InputError(str(path), None, "names no items")
    return ids


def open_study(
    predictions: str | Path,
    rubric: str | Path,
    raters: list[str],
    per_item: int,
    db: str | Path | None = None,
    queue: str | Path | None = None,
    id_field: str = "title",
    results: str | Path | None = None,
    cases: str | Path | None = None,
    images: str | Path | None = None,
    keys: str | Path | None = None,
) -> Study:
    """Load and check everything, assign new work, and open the database.

    `results`: a judged run's results file, whose segmentation a staged rubric's raters
    rate (items it does not split are split into sentences). `cases`: a cases file each
    prediction is joined to by `id_field` (judge.load.cases), as in `judge score --cases`.
    `images`: the folder the cases' `image_NN_path` files are in (a missing one is an error
    naming its line and field). `keys`: a keys file with a key for every item's case, each
    built from that case's material (judge.load.keys), shown on the rating page.
    """
    loaded = load_rubric(rubric)
    plan = step_plan(loaded)
    if plan is None and not loaded.llm_criteria:
        raise ConfigError(f"rubric {loaded.id} has no criteria people rate (all are computed)")
    joined = cases_or_none(cases, id_field)
    root = ImageRoot.of(images)
    items = {
        item.id: item for item in read_items(predictions, id_field, joined, root, rubric=loaded)
    }
    order = read_queue(queue, set(items)) if queue is not None else list(items)
    keyed = load_keys(keys) if keys is not None else None
    if keyed is not None:
        keyed.check((i.id, i.prediction, str(predictions), i.line) for i in items.values())
    store = AnnotationStore(db if db is not None else default_db(predictions))
    try:
        _check_meta(store, loaded, id_field)
        tokens = store.ensure_raters(raters)
        notices: list[str] = []
        units = _units(
            store, plan, loaded, {i: items[i] for i in order}, results, predictions, notices
        )
        store.add_assignments(assign(order, raters, per_item, store.assignments()))
    except BaseException:
        store.close()
        raise
    assigned = store.assignments()
    queues = {r: [i for i in order if r in assigned.get(i, ())] for r in raters}
    return Study(
        rubric=loaded,
        items={i: items[i] for i in order},
        raters={r: tokens[r] for r in raters},
        queues=queues,
        store=store,
        plan=plan,
        units=units,
        images=root,
        notices=notices,
        keys=keyed,
    )


def _units(
    store: AnnotationStore,
    plan: StepPlan | None,
    rubric: Rubric,
    items: dict[str, Item],
    results: str | Path | None,
    predictions: str | Path,
    notices: list[str],
) -> dict[str, list[str]]:
    """Each item's stored units, storing new ones first (none for a single-stage rubric).
    `results` segment the items no rater has answered yet anew; those answered keep their
    steps, and `notices` says how many."""
    if plan is None:
        return {}
    stored = store.units()
    # With results, the items stored before are segmented again too (and replaced where no
    # rater has answered them); a sentence split never replaces stored units.
    known = set() if results is not None else set(stored)
    found = find_units(items, rubric, plan, known, results)
    found = {i: u for i, u in found.items() if i not in stored or u.source == FROM_RESULTS}
    kept = store.add_units(found)
    if kept:
        notices.append(
            f"{len(kept)} item(s) keep the steps stored when they were first rated (e.g. "
            f"{kept[0]!r}), not the --results segmentation: answers refer to steps by number"
        )
    stored = store.units()
    empty = [i for i in items if i not in stored]
    if empty:
        message = f"item {empty[0]!r} has no text to split into steps"
        raise InputError(str(predictions), None, message)
    return {i: stored[i].units for i in items}


def _check_meta(store: AnnotationStore, rubric: Rubric, id_field: str) -> None:
    # Scores from two different rubrics (or item identities) must never mix in one study.
    wanted = {"rubric_id": rubric.id, "rubric_hash": rubric_hash(rubric), "id_field": id_field}
    found = store.meta()
    if "mode" in found:  # `judge keys review`'s database (judge.annotate.key_review)
        raise ConfigError(f"{store.path} is a review of case keys; use another --db")
    for key, value in wanted.items():
        if key in found and found[key] != value:
            raise ConfigError(
                f"{store.path} was started with {key} {found[key]!r}, not {value!r}: "
                "use another --db for another rubric"
            )
    store.set_meta({**wanted, "rubric_version": rubric.version})
