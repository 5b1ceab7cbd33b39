"""Letter vs argued diagnosis: does the chosen letter name the option the reasoning argues for?

Computed, not judged, where the text allows it: the chosen letter comes from
`judge.judging.accuracy.extract_letter` (the one home of answer-letter extraction); the argued
option is the single option named in the reasoning's concluding clause (the last clause
that says "most likely", "consistent with", "favour", "diagnosis is", ..., or else the last
clause when it argues against nothing), in the step-3 reasoning, else the rationale. When
no letter is found, or no such clause names exactly one option, the criterion is unscored
with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from judge.contracts import Criterion, Judgment, Prediction
from judge.judging.accuracy import DETERMINISTIC, OPEN_ENDED, extract_letter
from judge.judging.sentences import split_sentences

__all__ = ["argued_option", "score_letter_consistency"]

# Where the reasoning lives: the Think-with-Images step 3, else the free rationale.
_TEXTS = ("prediction_twi.step3_differential_reasoning", "prediction_rationale")
_CONCLUDES = re.compile(
    r"\b(most\s+likely|most\s+consistent|consistent\s+with|in\s+keeping\s+with|favou?rs?|"
    r"diagnosis\s+(?:is|of)|best\s+explain|compatible\s+with|typical\s+of|therefore|"
    r"conclude|points?\s+to)\b",
    re.IGNORECASE,
)
_AGAINST = re.compile(
    r"\b(against|not|unlikely|rules?\s+out|ruled\s+out|exclude[sd]?|less\s+likely|no)\b",
    re.IGNORECASE,
)


def _keys(options: dict[str, str]) -> dict[str, list[re.Pattern[str]]]:
    """Per letter, the phrases that name the option: its full text, and its last word when
    that word is distinctive (long, and no other option ends with it)."""
    clean = {k: re.sub(r"\(.*?\)", "", v).strip().lower() for k, v in options.items()}
    last = {k: (v.split() or [""])[-1] for k, v in clean.items()}
    keys: dict[str, list[re.Pattern[str]]] = {}
    for letter, text in clean.items():
        phrases = [text] if text else []
        word = last[letter]
        if len(word) >= 5 and list(last.values()).count(word) == 1 and word != text:
            phrases.append(word)
        keys[letter] = [re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE) for p in phrases]
    return keys


def _named(sentence: str, keys: dict[str, list[re.Pattern[str]]]) -> set[str]:
    return {k for k, patterns in keys.items() if any(p.search(sentence) for p in patterns)}


def argued_option(prediction: Prediction) -> tuple[str | None, str]:
    """The letter of the option the reasoning argues for, and the clause it was read from;
    (None, why not) when the text does not allow it. The step-3 reasoning is read first, then
    the rationale (a step 3 that ends "Answer E." names no option)."""
    if not prediction.options:
        return None, OPEN_ENDED
    texts = [t for t in (prediction.text_at(p) for p in _TEXTS) if t]
    if not texts:
        return None, "no reasoning to read the argued diagnosis from"
    keys = _keys(prediction.options or {})
    for text in texts:
        found = _concluding(text, keys)
        if found is not None:
            return next(iter(_named(found, keys))), found
    return None, "no concluding sentence of the reasoning names exactly one option"


def _concluding(text: str, keys: dict[str, list[re.Pattern[str]]]) -> str | None:
    # Clauses: "A is unlikely; this is most likely B" concludes for B alone.
    clauses = [c.strip() for s in split_sentences(text) for c in s.split(";") if c.strip()]
    concluding = [c for c in clauses if _CONCLUDES.search(c) and len(_named(c, keys)) == 1]
    if concluding:
        return concluding[-1]
    last = clauses[-1] if clauses else ""
    if last and not _AGAINST.search(last) and len(_named(last, keys)) == 1:
        return last
    return None


def score_letter_consistency(criterion: Criterion, prediction: Prediction) -> Judgment:
    """1 when the chosen letter is the option the reasoning argues for, 0 when it is another;
    unscored when either cannot be read from the text."""
    base: dict[str, Any] = {"criterion": criterion.id, "judge": DETERMINISTIC}
    letter, where = extract_letter(prediction)
    if letter is None:
        return Judgment(**base, status="unscored", reason=where)
    argued, sentence = argued_option(prediction)
    if argued is None:
        return Judgment(**base, status="unscored", reason=sentence)
    return Judgment(
        **base,
        status="scored",
        score=int(argued == letter),
        rationale=f"chose {letter} (from {where}); the reasoning argues for {argued}: "
        f"{sentence[:160]!r}",
        details={"chosen": letter, "argued": argued},
    )
