"""The review of case keys in the annotation database (`judge keys review`, issue #25).

The same SQLite file, migrations and rater tokens as a rating study (judge.annotate.store,
migration 3): each key as loaded and its items now, every edit (who, when, which item, before
and after) in the order made, each reviewer's role, and who finished which key. A review is
saved in one transaction, and only onto the key as the reviewer saw it (`version`: the
key's edits so far), so two reviewers never overwrite each other unseen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from judge.annotate.store import AnnotationStore
from judge.contracts.case_keys import CaseKey, KeyCheck, KeyEdit, KeyReview
from judge.store.sqlite import now as _now

__all__ = ["KeyReviewStore", "KeyState", "StaleKey"]


class StaleKey(Exception):
    """The key was changed by someone else since the reviewer's page was made."""


@dataclass(frozen=True)
class KeyState:
    """One key in review: as loaded, its items now, its edits, and its finished review."""

    draft: CaseKey
    items: list[KeyCheck]
    edits: list[KeyEdit]
    review: KeyReview | None

    @property
    def version(self) -> int:
        """How many edits the key has had in this review: what a form was made on."""
        return len(self.edits)


class KeyReviewStore(AnnotationStore):
    """The annotation database, with the case keys under review."""

    def set_roles(self, roles: Mapping[str, str]) -> None:
        """Record each reviewer's role (clinician or author); a later start may change it."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE raters SET role = ? WHERE name = ?",
                [(role, name) for name, role in roles.items()],
            )

    def roles(self) -> dict[str, str]:
        with self._lock:
            rows = self._conn.execute("SELECT name, role FROM raters WHERE role IS NOT NULL")
            return dict(rows.fetchall())

    def add_keys(self, keys: list[CaseKey]) -> list[str]:
        """Store keys not in review yet; a key already here keeps its review. Returns the
        cases whose stored key differs from the one given (the caller says so)."""
        differ = []
        now = _now()
        with self._transaction() as conn:
            for key in keys:
                row = conn.execute(
                    "SELECT draft FROM case_keys WHERE item = ?", (key.case,)
                ).fetchone()
                if row is not None:
                    if CaseKey.model_validate_json(row[0]).key_hash() != key.key_hash():
                        differ.append(key.case)
                    continue
                conn.execute(
                    "INSERT INTO case_keys VALUES (?, ?, ?, ?)",
                    (key.case, key.model_dump_json(), _items_json(key.items), now),
                )
        return differ

    def key_cases(self) -> list[str]:
        """The cases whose keys are in review, in the order they were loaded."""
        with self._lock:
            rows = self._conn.execute("SELECT item FROM case_keys ORDER BY rowid").fetchall()
        return [item for (item,) in rows]

    def key(self, item: str) -> KeyState:
        """One key's state (KeyError when it is not in review)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT draft, items FROM case_keys WHERE item = ?", (item,)
            ).fetchone()
            if row is None:
                raise KeyError(item)
            edits = self._conn.execute(
                "SELECT rater, at, action, position, before, after FROM key_edits"
                " WHERE item = ? ORDER BY seq",
                (item,),
            ).fetchall()
            review = self._conn.execute(
                "SELECT rater, role, at FROM key_reviews WHERE item = ?", (item,)
            ).fetchone()
        return KeyState(
            draft=CaseKey.model_validate_json(row[0]),
            items=[KeyCheck.model_validate(i) for i in json.loads(row[1])],
            edits=[_edit(*e) for e in edits],
            review=KeyReview(reviewer=review[0], role=review[1], at=review[2]) if review else None,
        )

    def finished(self) -> dict[str, str]:
        """Case → the reviewer who finished its key."""
        with self._lock:
            return dict(self._conn.execute("SELECT item, rater FROM key_reviews").fetchall())

    def save_review(
        self,
        item: str,
        rater: str,
        version: int,
        items: list[KeyCheck],
        edits: list[tuple[str, int, KeyCheck | None, KeyCheck | None]],
        finish: bool,
    ) -> None:
        """Store a reviewer's items and their edits (action, position, before, after), and
        with `finish` the review as theirs, in one transaction. Raises StaleKey when the key
        has had edits since `version`."""
        now = _now()
        with self._transaction() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM key_edits WHERE item = ?", (item,)
            ).fetchone()
            if count != version:
                raise StaleKey(item)
            conn.executemany(
                "INSERT INTO key_edits (item, rater, at, action, position, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (item, rater, now, action, position, _json(before), _json(after))
                    for action, position, before, after in edits
                ],
            )
            conn.execute(
                "UPDATE case_keys SET items = ? WHERE item = ?", (_items_json(items), item)
            )
            if finish:
                (role,) = conn.execute(
                    "SELECT COALESCE(role, 'author') FROM raters WHERE name = ?", (rater,)
                ).fetchone()
                conn.execute(
                    "INSERT INTO key_reviews VALUES (?, ?, ?, ?) ON CONFLICT (item) DO UPDATE"
                    " SET rater = excluded.rater, role = excluded.role, at = excluded.at",
                    (item, rater, role, now),
                )
            elif any(action != "accept" for action, *_ in edits):
                # A key changed after it was finished is no longer what was reviewed.
                conn.execute("DELETE FROM key_reviews WHERE item = ?", (item,))


def _items_json(items: list[KeyCheck]) -> str:
    return json.dumps([i.model_dump(exclude_none=True) for i in items], ensure_ascii=False)


def _json(check: KeyCheck | None) -> str | None:
    return None if check is None else check.model_dump_json(exclude_none=True)


def _edit(
    rater: str, at: str, action: str, position: int, before: str | None, after: str | None
) -> KeyEdit:
    return KeyEdit.model_validate(
        {
            "by": rater,
            "at": at,
            "action": action,
            "item": position,
            "before": json.loads(before) if before else None,
            "after": json.loads(after) if after else None,
        }
    )
