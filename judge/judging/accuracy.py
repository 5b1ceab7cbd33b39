"""Final-answer accuracy: find the letter a prediction chose, without an LLM.

The letter is taken from `prediction` when that field holds one ("B", "(B)", "B. Sarcoidosis",
"The answer is B"); otherwise from the rationale's explicit statements ("Final: B",
"the answer is (B)", "**Answer:** C"), the last one winning because models often revise;
failing that, from a line that starts with a letter followed by that option's own text.
"""

from __future__ import annotations

import re

from judge.contracts import LETTERS, Criterion, Judgment, Prediction

__all__ = ["DETERMINISTIC", "extract_letter", "score_accuracy"]

DETERMINISTIC = "deterministic"

_BARE = re.compile(r"^\s*[\(\[]?\s*([A-Ea-e])\s*[\)\]]?\s*(?:[.:)\-–—]|$|\s)")
# Explicit statements of the choice. Letters are upper case, or bracketed, so that the
# article "a" and words like "be" are never read as answers.
_LETTER = r"\s*(?:is|would\s+be|:|=|-|–)?\s*[*_`]*\s*(?:option\s+|letter\s+)?" + (
    r"(?:\(([A-Ea-e])\)|\[([A-Ea-e])\]|([A-E]))(?![A-Za-z])"
)
# Explicit statements of the choice, strongest first: a "final answer" outranks an "answer"
# mentioned on the way. Letters are upper case, or bracketed, so that the article "a" is
# never read as a choice.
_STATED = [
    re.compile(r"(?:final\s+answer|final\s+diagnosis|final)" + _LETTER, re.IGNORECASE),
    re.compile(
        r"(?:answer|diagnosis|choice|select|choose|pick|go\s+with)" + _LETTER, re.IGNORECASE
    ),
]


def extract_letter(prediction: Prediction) -> tuple[str | None, str]:
    """The chosen letter (A-E) and where it was found, or (None, why not)."""
    field = (prediction.prediction or "").strip()
    if field:
        letter = _letter_from_field(field)
        if letter:
            return letter, "prediction"
    rationale = prediction.prediction_rationale or ""
    letter = _last_stated(rationale) or _option_line(rationale, prediction.options)
    if letter:
        return letter, "prediction_rationale"
    if field:
        return None, f"no option letter in prediction {field[:60]!r} or the rationale"
    return None, "no prediction letter, and none stated in the rationale"


def score_accuracy(criterion: Criterion, prediction: Prediction) -> Judgment:
    """Score a binary `answer_accuracy` criterion: 1 when the chosen letter is correct."""
    letter, where = extract_letter(prediction)
    if letter is None:
        return Judgment(
            criterion=criterion.id, judge=DETERMINISTIC, status="unscored", reason=where
        )
    correct = letter == prediction.correct_answer
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="scored",
        score=int(correct),
        rationale=f"chose {letter} (from {where}); correct answer is {prediction.correct_answer}",
    )


def _letter_from_field(text: str) -> str | None:
    match = _BARE.match(text)
    if match and (len(text) <= 3 or match.group(1).isupper()):
        return match.group(1).upper()
    return _last_stated(text)


def _last_stated(text: str) -> str | None:
    for pattern in _STATED:
        # A bare lower-case letter ("answer a question") is English, not a choice.
        letters = [
            next(g for g in m.groups() if g).upper()
            for m in pattern.finditer(text)
            if not (m.group(3) and m.group(3).islower())
        ]
        if letters:
            return letters[-1]
    return None


def _option_line(text: str, options: dict[str, str]) -> str | None:
    """A line like "B. Anti-synthetase syndrome" naming the option's own text."""
    found = None
    for raw in text.splitlines():
        match = re.match(r"^\W*([A-E])[.):]\s+(.+)", raw.strip())
        if match and match.group(1) in LETTERS:
            option = options.get(match.group(1), "").lower()
            if option and match.group(2).lower().startswith(option[: max(8, len(option) // 2)]):
                found = match.group(1)
    return found
