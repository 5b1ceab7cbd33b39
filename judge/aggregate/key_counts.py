"""How many of a run's case keys are reviewed, and by whom, as the summary and the report say
it ("9 of 12 keys reviewed: 0 by a clinician, 9 by their author"), and the results that rest
on draft keys (issue #25).

The counts are one block, `{"file", "keys", "reviewed_by_clinician", "reviewed_by_author",
"draft"}`: a run's summary carries it (`Summary.keys`, from the keys file,
judge.load.keys.Keys.block) and `judge methods` reads it; the report makes it from the
records (each carries its key's review as it was judged, `key_review`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from judge.contracts import ResultRecord

__all__ = ["draft_warning", "keys_block", "keys_sentence"]


def keys_block(records: Iterable[ResultRecord]) -> dict[str, Any] | None:
    """The block of the keys the records were judged with (one per case id), or None when
    none was judged with a key."""
    review: dict[str, str] = {}
    for record in records:
        if record.key_review is not None:
            review.setdefault(record.id, record.key_review)
    if not review:
        return None
    roles = list(review.values())
    return {
        "file": None,
        "keys": len(roles),
        "reviewed_by_clinician": roles.count("clinician"),
        "reviewed_by_author": roles.count("author"),
        "draft": roles.count("draft"),
    }


def keys_sentence(block: Mapping[str, Any]) -> str:
    """ "9 of 12 keys reviewed: 0 by a clinician, 9 by their author"."""
    reviewed = block["reviewed_by_clinician"] + block["reviewed_by_author"]
    return (
        f"{reviewed} of {block['keys']} keys reviewed: {block['reviewed_by_clinician']} by a "
        f"clinician, {block['reviewed_by_author']} by their author"
    )


def draft_warning(results: int) -> str | None:
    """The flag of results judged with a draft key (None when there is none)."""
    if not results:
        return None
    one = results == 1
    return (
        f"{results} result{'' if one else 's'} rest{'s' if one else ''} on draft keys, "
        "not reviewed: review them (`judge keys review`) before relying on "
        f"{'it' if one else 'them'}"
    )
