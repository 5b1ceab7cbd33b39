"""Letter vs argued diagnosis: does the chosen letter name the option the reasoning argues for?

Computed, not judged, where the text allows it: the chosen letter comes from
`judge.judging.accuracy.extract_letter` (the one home of answer-letter extraction); the argued
option is the single option named in the reasoning's concluding clause (the last clause
that says "most likely", "consistent with", "favour", "diagnosis is", ..., or else the last
clause when it argues against nothing). When no letter is found, or no sentence names
exactly one option, the criterion is unscored with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from judge.contracts import Criterion, Judgment, Prediction
from judge.judging.accuracy import DETERMINISTIC, extract_letter
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
    """The letter of the option the reasoning argues for, and the sentence it was read from;
    (None, why not) when the text does not allow it."""
    text = next((t for t in (prediction.text_at(p) for p in _TEXTS) if t), None)
    if text is None:
        return None, "no reasoning to read the argued diagnosis from"
    # Clauses: "A is unlikely; this is most likely B" concludes for B alone.
    sentences = [c.strip() for s in split_sentences(text) for c in s.split(";") if c.strip()]
    keys = _keys(prediction.options)
    concluding = [s for s in sentences if _CONCLUDES.search(s) and len(_named(s, keys)) == 1]
    if concluding:
        sentence = concluding[-1]
    elif sentences and not _AGAINST.search(sentences[-1]) and len(_named(sentences[-1], keys)) == 1:
        sentence = sentences[-1]
    else:
        return None, "no concluding sentence of the reasoning names exactly one option"
    return next(iter(_named(sentence, keys))), sentence


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
