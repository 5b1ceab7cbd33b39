"""Split text into sentences without a model: the fallback of a segment stage.

A small rule-based splitter, enough for clinical prose: it does not break after decimals
("2.5 cm"), common abbreviations ("e.g.", "i.e.", "vs.", "Dr.", "approx.") or list numbers
("1."), and it treats line breaks and bullets as boundaries. A model-free split is coarser than
the judge's atomic steps, so records say which one made the units.
"""

from __future__ import annotations

import re

__all__ = ["fit_units", "split_sentences"]

# Words whose full stop does not end a sentence (lower case, without the final stop).
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "vs",
        "etc",
        "dr",
        "mr",
        "mrs",
        "ms",
        "fig",
        "approx",
        "cf",
        "no",
        "incl",
        "resp",
        "st",
        "wk",
        "yr",
        "yrs",
        "mo",
        "min",
        "max",
    }
)
# A boundary candidate: ., ! or ? (with closing quotes/brackets), then space and a capital,
# digit or opening bracket; or a line break.
_CANDIDATE = re.compile(r"([.!?]['\")\]]*)\s+(?=[A-Z0-9(\[\"'])|\n+")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order (empty pieces dropped)."""
    pieces: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if match.group(1) and _protected(text[start : match.start(1) + 1]):
            continue
        pieces.append(text[start : match.end(1) if match.group(1) else match.start()])
        start = match.end()
    pieces.append(text[start:])
    cleaned = (_BULLET.sub("", p).strip() for p in pieces)
    return [p for p in cleaned if p]


def _protected(before: str) -> bool:
    """Whether the full stop ending `before` belongs to an abbreviation or a list number."""
    words = before.rstrip(".").split()
    if not words:
        return True
    last = words[-1].lower().strip("([")
    return last in _ABBREVIATIONS or (last.isdigit() and len(words) == 1)


def fit_units(units: list[str], most: int) -> list[str]:
    """At most `most` units: consecutive units are joined into `most` groups of near-equal
    size, so no text is dropped."""
    if len(units) <= most:
        return units
    size, extra = divmod(len(units), most)
    groups, start = [], 0
    for i in range(most):
        end = start + size + (i < extra)
        groups.append(" ".join(units[start:end]))
        start = end
    return groups
