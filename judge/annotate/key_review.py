"""`judge keys review`: case keys reviewed in annotate's app (issue #25).

A reviewer reads the case (history, findings, captions, options, answer, discussion) and the
key's items, then accepts, edits, deletes or adds items and sets their points, on one form
per key. Saving records an edit per change (`read_review`): "accept" for an item left as it
was (once per reviewer and state), "edit", "delete", "add". "Finish" saves and records the
review as the reviewer's, with the role `--raters` gives them (`ana:clinician,bob:author`).
The same tokens, CSRF token, origin check and headers guard it as the rating mode
(judge.annotate.app, judge.annotate.security).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from judge.annotate.assign import assign
from judge.annotate.key_store import KeyReviewStore
from judge.annotate.page import FormError
from judge.annotate.store import RaterKeys
from judge.annotate.study import parse_raters
from judge.contracts.case_keys import CaseKey, KeyCheck, KeyEdit, KeyKind
from judge.contracts.cases import Case
from judge.errors import ConfigError
from judge.load.keys import load_keys
from judge.options import RunOptions
from judge.study.key_writer import keyed_cases

__all__ = [
    "KINDS",
    "ROLES",
    "Edit",
    "KeyReviewStudy",
    "open_review",
    "parse_roles",
    "read_review",
]

ROLES = ("clinician", "author")
KINDS: tuple[str, ...] = get_args(KeyKind)
# (action, position, before, after), as judge.annotate.key_store saves it.
Edit = tuple[str, int, KeyCheck | None, KeyCheck | None]
_MODE = "case-keys"
_POINTS = re.compile(r"^[+-]?\d{1,2}$")


@dataclass
class KeyReviewStudy:
    """Everything the review app serves: the keys, their cases, the reviewers and queues."""

    keys: dict[str, CaseKey]
    cases: dict[str, Case]
    raters: dict[str, RaterKeys]
    roles: dict[str, str]
    queues: dict[str, list[str]]
    store: KeyReviewStore
    notices: list[str] = field(default_factory=list)


def parse_roles(text: str) -> dict[str, str]:
    """`ana:clinician,bob:author` → {name: role}: annotate's `--raters` names, each with the
    role the review records (clinician, or author: the key's own author)."""
    roles: dict[str, str] = {}
    names = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, colon, role = entry.partition(":")
        if not colon or role not in ROLES:
            raise ConfigError(
                f"--raters {entry!r}: give each reviewer's role, name:clinician or name:author"
            )
        names.append(name)
        roles[name] = role
    parse_raters(",".join(names))  # annotate's rules for names, repeats included
    return roles


def open_review(
    keys_file: str | Path,
    raters: str,
    *,
    predictions: str | Path | None = None,
    cases: str | Path | None = None,
    id_field: str = "title",
    db: str | Path | None = None,
    per_key: int = 1,
) -> KeyReviewStudy:
    """Load the keys and their cases (each key's case must be there, its material unchanged
    since the key was built), open the database, and give each key `per_key` reviewers
    (annotate's balanced assignment)."""
    roles = parse_roles(raters)
    loaded = load_keys(keys_file)
    opts = RunOptions(cases=cases, id_field=id_field)
    found = [c for c in keyed_cases(predictions, opts) if c[0] in loaded.by_case]
    loaded.check(found)  # a key without its case, or built from other material: refused
    store = KeyReviewStore(db if db is not None else _default_db(keys_file))
    try:
        meta = store.meta()
        if "rubric_id" in meta or meta.get("mode", _MODE) != _MODE:
            raise ConfigError(f"{store.path} is a rating study's database; pass another --db")
        store.set_meta({"mode": _MODE, "id_field": id_field, "keys": str(keys_file)})
        tokens = store.ensure_raters(list(roles))
        store.set_roles(roles)
        differ = store.add_keys(list(loaded.by_case.values()))
        order = list(loaded.by_case)
        store.add_assignments(assign(order, list(roles), per_key, store.assignments()))
    except BaseException:
        store.close()
        raise
    assigned = store.assignments()
    notices = []
    if differ:
        notices.append(
            f"{len(differ)} key(s) differ from the ones in review since an earlier start (e.g. "
            f"{differ[0]!r}): the review goes on with the keys as first loaded"
        )
    return KeyReviewStudy(
        keys=dict(loaded.by_case),
        cases={case_id: case for case_id, case, _, _ in found},
        raters={r: tokens[r] for r in roles},
        roles=roles,
        queues={r: [i for i in order if r in assigned.get(i, ())] for r in roles},
        store=store,
        notices=notices,
    )


def _default_db(keys_file: str | Path) -> Path:
    path = Path(keys_file)
    return path.with_name(f"{path.stem}.annotations.sqlite")


def read_review(
    current: list[KeyCheck], form: Mapping[str, str], rater: str, prior: list[KeyEdit]
) -> tuple[list[KeyCheck], list[Edit]]:
    """The key's items after a submitted form, and the edits that made them. Raises
    FormError naming the item and its problem."""
    items: list[KeyCheck] = []
    edits: list[Edit] = []
    seen = {e.after for e in prior if e.by == rater and e.after is not None}
    for n, before in enumerate(current):
        if form.get(f"delete_{n}"):
            edits.append(("delete", n, before, None))
            continue
        after = _check(form, str(n), f"item {n + 1}")
        if after is None:
            raise FormError(f"item {n + 1}: the criterion is empty (tick delete to remove it)")
        if after != before:
            edits.append(("edit", n, before, after))
        elif after not in seen:
            edits.append(("accept", n, before, after))
        items.append(after)
    added = _check(form, "new", "the new item")
    if added is not None:
        edits.append(("add", len(items), None, added))
        items.append(added)
    if not items:
        raise FormError("a key needs at least one item")
    return items, edits


def _check(form: Mapping[str, str], suffix: str, name: str) -> KeyCheck | None:
    """The item a form's row gives, or None when its criterion is blank."""
    criterion = form.get(f"criterion_{suffix}", "").strip()
    if not criterion:
        return None
    raw = form.get(f"points_{suffix}", "").strip()
    if not _POINTS.match(raw):
        raise FormError(f"{name}: points must be a whole number from -10 to 10, not {raw!r}")
    values: dict[str, Any] = {
        "criterion": criterion,
        "points": int(raw),
        "kind": form.get(f"kind_{suffix}", ""),
        "option": form.get(f"option_{suffix}") or None,
        "stance": form.get(f"stance_{suffix}") or None,
    }
    try:
        return KeyCheck.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise FormError(f"{name}: {where + ': ' if where else ''}{message}") from None
