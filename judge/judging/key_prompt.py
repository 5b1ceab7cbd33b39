"""A case's key as the judge is shown it: the computed context section that a rubric listing
key items (ddx, education: `key_items:`) gets when the run has `--keys` (issue #25).

With a key, the judge does not write its own list in step (1): it is given the case's key,
lists exactly its items in `key_items` (ticking each met or not), and counts the rubric's
counting criteria against them, so every judge and every sample counts against one list.
The items that take negative points (the unsafe actions this case invites) are shown apart:
they are not items to list, but what the rubric's harm criteria judge.
"""

from __future__ import annotations

import hashlib

from judge.contracts.case_keys import CaseKey, KeyCheck

__all__ = ["KEY_TITLE", "key_section", "keyed_hash"]

# The section's title, beside the case's other context sections.
KEY_TITLE = "The case's key (its checklist of key items)"

_USE = (
    "This case has a key, written from the case material and the expert discussion. It "
    "replaces your own list in step (1) of the instructions: list the items below first in "
    "key_items, in this order, each with its kind, text and option letter as given, and mark "
    "each met or not met by the candidate; then add only what step (1) asks for that the key "
    "does not cover (the clinical elements the case offers, say). Count the rubric's counting "
    "criteria (the key findings, the options argued against, the teaching points, the "
    "must-not-miss alternative, the urgent action) against the key's items, not against a "
    "list of your own."
)
_UNSAFE = (
    "Unsafe actions this case invites (not items to list): judge them under the rubric's "
    "harm criteria when the candidate recommends one."
)


def key_section(key: CaseKey) -> str:
    """The section's text: how to use the key, its items numbered, and its unsafe actions."""
    listed = [item for item in key.items if item.kind != "unsafe_action"]
    unsafe = [item for item in key.items if item.kind == "unsafe_action"]
    lines = [_USE, ""]
    lines += [f"{n}. {_label(item)} {item.criterion}" for n, item in enumerate(listed, start=1)]
    if unsafe:
        lines += ["", _UNSAFE]
        lines += [f"- {item.criterion}" for item in unsafe]
    return "\n".join(lines)


def _label(item: KeyCheck) -> str:
    """`[discriminator, option B, against]`: the kind, option and stance the judge lists."""
    parts: list[str] = [item.kind]
    if item.option is not None:
        parts.append(f"option {item.option}")
    if item.stance is not None:
        parts.append(item.stance)
    return f"[{', '.join(parts)}]"


def keyed_hash(template_hash: str) -> str:
    """The prompt hash of a rubric shown keys: its templates' hash with the section's own
    words, so results judged with keys never pass for results judged without (a calibration
    on record holds for one prompt hash)."""
    words = "\0".join((template_hash, KEY_TITLE, _USE, _UNSAFE))
    return hashlib.sha256(words.encode()).hexdigest()[:16]
