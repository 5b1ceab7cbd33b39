"""`judge keys export`: the keys of a review database as a keys file (issue #25).

Each key as loaded, with its items as reviewed now, its edits (those it came with, then this
review's, in the order made) and, for a key a reviewer finished, status "reviewed" with the
review (reviewer, role, time). A key changed in review but not finished is a draft again: its
items are no longer what any earlier review saw. Every key is `stamped()`. The file is
written whole or not at all, only over an earlier keys file (never over the keys file the
review was started with, nor anyone's other file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from judge.annotate.key_store import KeyReviewStore
from judge.contracts.case_keys import KEY_FORMAT, CaseKey
from judge.errors import ConfigError
from judge.store.outputs import claim, write_atomic

__all__ = ["KeysExport", "export_keys"]


@dataclass(frozen=True)
class KeysExport:
    """What an export wrote."""

    path: Path
    db: Path
    keys: int
    reviewed: int
    edits: int


def export_keys(db: str | Path, out: str | Path) -> KeysExport:
    """Write every key in the review database `db` to `out` (JSONL), replacing it atomically."""
    db, out = Path(db), Path(out)
    if not db.is_file():
        raise ConfigError(f"no review database at {db}")
    store = KeyReviewStore(db)
    try:
        started_with = store.meta().get("keys")
        claim(out, _is_keys_file, inputs=[started_with, db])
        keys = [_reviewed(store, case) for case in store.key_cases()]
    finally:
        store.close()
    if not keys:
        raise ConfigError(f"{db} holds no case keys: is it a `judge keys review` database?")
    write_atomic(out, "".join(key.model_dump_json(exclude_none=True) + "\n" for key in keys))
    return KeysExport(
        path=out,
        db=db,
        keys=len(keys),
        reviewed=sum(key.status == "reviewed" for key in keys),
        edits=sum(len(key.edits) for key in keys),
    )


def _reviewed(store: KeyReviewStore, case: str) -> CaseKey:
    state = store.key(case)
    draft = state.draft
    update: dict[str, object] = {"items": state.items, "edits": [*draft.edits, *state.edits]}
    if state.review is not None:
        update.update(status="reviewed", review=state.review)
    elif state.items != draft.items:
        update.update(status="draft", review=None)
    # Validated again: the edits' positions and the status and review must agree.
    key = CaseKey.model_validate({**draft.model_dump(), **update, "content_hash": None})
    return key.stamped()


def _is_keys_file(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    try:
        return json.loads(first).get("format") == KEY_FORMAT
    except (ValueError, AttributeError):
        return False
