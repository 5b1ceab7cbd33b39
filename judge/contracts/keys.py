"""A case's key items: what a judge lists before it scores (the key findings, the clinical
elements, the must-not-miss alternative, the teaching points), each ticked as met or not by
the candidate. One schema for the judge's own list, stored in each judgment's `details`
(`{"key_items": [...]}`), and for a key built once per case and reviewed by a clinician.

Every field is required (none has a default), because strict structured outputs need every
field of a reply; `option` and `met` may be null.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KEY_ITEMS_MAX", "KeyItem", "KeyItems"]

# At most this many items a list: a key longer than a page is not a key.
KEY_ITEMS_MAX = 30


class KeyItem(BaseModel):
    """One item of a case's key, and whether the candidate meets it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # finding: a key finding of the case (positive evidence for the correct diagnosis);
    # discriminator: a finding that separates the correct answer from the option in `option`;
    # clinical_element: age, sex, symptom, timeline, lab or exposure the case gives;
    # must_not_miss: the alternative whose miss would harm the patient most (`option`);
    # urgent_action: what the correct diagnosis requires now; teaching_point: a point to teach.
    kind: Literal[
        "finding",
        "discriminator",
        "clinical_element",
        "must_not_miss",
        "urgent_action",
        "teaching_point",
    ]
    text: str = Field(min_length=1, max_length=300)
    # The option letter the item concerns (a discriminator, the must-not-miss alternative).
    option: Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"] | None
    # Whether the candidate's text meets it (states it correctly); null when not ticked.
    met: bool | None


class KeyItems(BaseModel):
    """A key: the items, in the order they were listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_items: list[KeyItem] = Field(max_length=KEY_ITEMS_MAX)
