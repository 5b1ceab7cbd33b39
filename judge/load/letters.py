"""The letter a prediction chose, found without an LLM (answer accuracy scores it,
judge.judging.accuracy; the chat adapter reads a reference answer with it).

The letter is taken from `prediction` when that field holds one ("B", "(B)", "B. Sarcoidosis",
"The answer is B"); otherwise from the explicit statements ("Final: B", "the answer is (B)",
"**Answer:** C") of the rationale, then of the step-3 differential reasoning (where a
Think-with-Images trace, or a promptfoo output placed in ddx's first target, concludes), the
last one winning because models often revise; failing that, from a line that starts with a
letter followed by that option's own text.

An answer that offers several letters ("B and C", "A or B", "B/C", "Final: B, C or D") is a
hedge, not a choice: it is unscored with that reason, never scored as its first letter. Only
letters joined to the chosen one count, so an explanation after a clear answer ("Final: D.
A and B are less likely") does not make it a hedge.

Only the case's own letters are read: a four-option case has no E (a reply "E" is unscored,
said to be outside A-D), a seven-option case has G. With nine or ten options, "I" followed by
a word ("I think B") is the pronoun, not option I. An open-ended case (no options) has no
letter to read: every criterion that needs one is unscored with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from judge.contracts import Prediction

__all__ = ["OPEN_ENDED", "extract_letter", "letter_in"]

# Why an open-ended case (no options) leaves every letter criterion unscored.
OPEN_ENDED = "open-ended case (no options)"


@dataclass(frozen=True)
class _Patterns:
    """The letter patterns of one case's option letters (A-D has no E to read; A-G has G)."""

    letters: str
    bare: re.Pattern[str]
    stated: tuple[re.Pattern[str], ...]
    another: re.Pattern[str]
    line: re.Pattern[str]


@cache
def _patterns(letters: str) -> _Patterns:
    lower = f"{letters}{letters.lower()}"
    # "I" followed by a word is the pronoun ("I think B", "I'd say B"), never option I of a
    # nine- or ten-option case.
    pronoun = r"(?!(?<=I)(?:\s+[a-z]|['’]))" if "I" in letters else ""
    # Letters are upper case, or bracketed, so that the article "a" and words like "be" are
    # never read as answers.
    upper = f"([{letters}])(?![A-Za-z]){pronoun}"
    letter = r"\s*(?:is|would\s+be|:|=|-|–)?\s*[*_`]*\s*(?:option\s+|letter\s+)?" + (
        rf"(?:\(([{lower}])\)|\[([{lower}])\]|{upper})"
    )
    return _Patterns(
        letters=letters,
        bare=re.compile(rf"^\s*[\(\[]?\s*([{lower}]){pronoun}\s*[\)\]]?\s*(?:[.:)\-–—,/&+]|$|\s)"),
        # Explicit statements of the choice, strongest first: a "final answer" outranks an
        # "answer" mentioned on the way.
        stated=(
            re.compile(r"(?:final\s+answer|final\s+diagnosis|final)" + letter, re.IGNORECASE),
            re.compile(
                r"(?:answer|diagnosis|choice|select|choose|pick|go\s+with)" + letter,
                re.IGNORECASE,
            ),
        ),
        # Another letter offered beside the chosen one: "and", "or", "and/or", "/", "&", "+",
        # "vs", a comma, then a letter that stands alone (upper case or bracketed, as above).
        # Spaces and tabs only: a new line starts an explanation, not a second answer.
        another=re.compile(
            r"[ \t]*[\)\]]?[*_`]*(?P<join>[ \t]*(?i:and/or|or|and|vs\.?|versus|/|&|\+|,)[ \t]*)"
            r"(?i:(?:maybe|possibly|perhaps|probably|either)[ \t]+)?(?i:option[ \t]+)?[*_`]*"
            rf"(?:\(([{lower}])\)|\[([{lower}])\]|{upper})"
        ),
        # A line that starts with a letter and goes on with that option's text.
        line=re.compile(rf"^\W*([{letters}])[.):]\s+(.+)"),
    )


# Where a letter is looked for when `prediction` holds none, in this order.
_REASONING = ("prediction_rationale", "prediction_twi.step3_differential_reasoning")
_LINE_END = re.compile(r"[ \t]*[.)\]*_`]*[ \t]*(?:\Z|[\r\n])")
_CLAUSE_END = re.compile(r"[ \t]*[\)\]]?[*_`]*[ \t]*(?:\Z|[\r\n.;:!?])")


def extract_letter(prediction: Prediction) -> tuple[str | None, str]:
    """The chosen letter (one of the case's own, A-B up to A-J) and where it was found, or
    (None, why not). An open-ended case has no letter to choose."""
    if not prediction.options:
        return None, OPEN_ENDED
    found_in = _patterns("".join(prediction.options))
    field = (prediction.prediction or "").strip()
    if field:
        found = _letter_from_field(field, found_in)
        if found:
            return _chosen(found, "prediction", field)
    texts = [(where, prediction.text_at(where) or "") for where in _REASONING]
    for where, text in texts:
        stated = _last_stated(text, found_in)
        if stated:
            return _chosen(stated, where, text)
    for where, text in texts:
        letter = _option_line(text, prediction.options, found_in)
        if letter:
            return letter, where
    if field:
        if re.fullmatch(r"\W*[A-Za-z]\W*", field):  # a lone letter the case does not have
            span = f"{found_in.letters[0]}-{found_in.letters[-1]}"
            return None, f"prediction {field!r} is not one of this case's letters {span}"
        return None, f"no option letter in prediction {field[:60]!r}, the rationale or step 3"
    return None, "no prediction letter, and none stated in the rationale or step 3"


def letter_in(text: str, letters: str, where: str = "the text") -> tuple[str | None, str]:
    """The letter among `letters` that `text` answers with, read as a prediction field is
    ("D", "(D)", "Final: D", "final: d"), and `where`; (None, why not) for none or a hedge.
    The chat adapter reads a dataset's reference answer with it."""
    found = _letter_from_field(text.strip(), _patterns(letters))
    if found is None:
        return None, f"no option letter ({letters[0]}-{letters[-1]}) in {where}"
    return _chosen(found, where, text.strip())


@dataclass(frozen=True)
class _Found:
    """The letters offered as the answer (one, or several joined: a hedge) and the text
    where they were offered."""

    letters: tuple[str, ...]
    start: int
    end: int


def _chosen(found: _Found, where: str, text: str) -> tuple[str | None, str]:
    if len(found.letters) == 1:
        return found.letters[0], where
    quoted = text[found.start : found.end].strip()[:60]
    offered = ", ".join(found.letters)
    return None, f"hedged: offers {len(found.letters)} answers ({offered}) in {where} {quoted!r}"


def _letter_from_field(text: str, found_in: _Patterns) -> _Found | None:
    match = found_in.bare.match(text)
    if match and (len(text) <= 3 or match.group(1).isupper()):
        bare = _joined(text, match.start(), match.end(1), match.group(1).upper(), found_in)
        if len(bare.letters) == 1:
            return bare
        # "B and C are possible, but the answer is C": an explicit statement decides.
        stated = _last_stated(text, found_in)
        return stated if stated and len(stated.letters) == 1 else bare
    return _last_stated(text, found_in)


def _last_stated(text: str, found_in: _Patterns) -> _Found | None:
    for pattern in found_in.stated:
        # A bare lower-case letter ("answer a question") is English, not a choice, unless
        # it follows a colon and ends its line ("final: d").
        matches = [
            m
            for m in pattern.finditer(text)
            if not (m.group(3) and m.group(3).islower() and not _alone_after_colon(text, m))
        ]
        if matches:
            last = matches[-1]
            letter = next(g for g in last.groups() if g).upper()
            return _joined(text, last.start(), last.end(), letter, found_in)
    return None


def _alone_after_colon(text: str, match: re.Match[str]) -> bool:
    return ":" in match.group(0) and _LINE_END.match(text, match.end()) is not None


def _joined(text: str, start: int, end: int, letter: str, found_in: _Patterns) -> _Found:
    """`letter` (text[start:end]) with the letters joined to it as alternatives: "B and C",
    "B or (C)", "B/C", "B, C or D". A comma-led list counts only when it ends the clause,
    so that "D, A and B are less likely" stays a choice of D."""
    letters = [letter]
    pos = end
    comma_led: bool | None = None
    while (more := found_in.another.match(text, pos)) is not None:
        if comma_led is None:
            comma_led = more.group("join").strip() == ","
        letters.append(next(g for g in more.group(2, 3, 4) if g).upper())
        pos = more.end()
    distinct = tuple(dict.fromkeys(letters))
    if len(distinct) > 1 and comma_led and not _CLAUSE_END.match(text, pos):
        return _Found((letter,), start, end)
    return _Found(distinct, start, pos)


def _option_line(text: str, options: dict[str, str], found_in: _Patterns) -> str | None:
    """A line like "B. Anti-synthetase syndrome" naming the option's own text."""
    found = None
    for raw in text.splitlines():
        match = found_in.line.match(raw.strip())
        if match:
            option = options.get(match.group(1), "").lower()
            if option and match.group(2).lower().startswith(option[: max(8, len(option) // 2)]):
                found = match.group(1)
    return found
