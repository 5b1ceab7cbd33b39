"""Letter vs argued diagnosis: does the chosen letter name the option the reasoning argues for?

Computed, not judged, where the text allows it: the chosen letter comes from
`judge.judging.accuracy.extract_letter` (the one home of answer-letter extraction). The argued
option is read from the step-3 reasoning, else the rationale, in this order:

1. the reasoning's own explicit answer, the last one: "Answer C", "The answer is (C)", "so C",
   "therefore C is the most likely", "...: B." (`judge.judging.accuracy.stated_letter`);
2. else the last concluding clause ("most likely", "consistent with", "favour", "diagnosis
   is", ...) that names exactly one option and has no negation or exclusion cue (not, no,
   excluded, rather than, against, unlikely, ...): "E is therefore excluded" argues against E,
   never for it; an item of a list of eliminations ("B: infarction gives ...") is no
   conclusion;
3. else the last clause, when it only names one option ("Appendicitis (A)."). 1.0 read any
   last clause, and took eliminations such as "Meningitis (E) needs fever" for the conclusion.

An option is named by its letter in brackets ("(C)"), its full text, its text before "from" or
"with" ("aneurysmal subarachnoid haemorrhage"), its initials ("FNH") or its last word, each
alias only when no other option's text contains it ("haemorrhage", shared by three options,
names none). When no letter is chosen, or nothing names exactly one option, the criterion is
unscored with the reason. Its labelled set is every bundled example record (consistent by
construction) and one inconsistent variant of each (tests/judge/test_letter_consistency.py).
"""

from __future__ import annotations

import re
from typing import Any

from judge.contracts import Criterion, Judgment, Prediction
from judge.judging.accuracy import DETERMINISTIC, OPEN_ENDED, extract_letter, stated_letter
from judge.judging.sentences import split_sentences

__all__ = ["argued_option", "score_letter_consistency"]

# Where the reasoning lives: the Think-with-Images step 3, else the free rationale.
_TEXTS = ("prediction_twi.step3_differential_reasoning", "prediction_rationale")
_CONCLUDES = re.compile(
    r"\b(most\s+likely|most\s+consistent|consistent\s+with|in\s+keeping\s+with|favou?rs?|"
    r"diagnosis\s+(?:is|of)|best\s+explain|compatible\s+with|typical\s+of|therefore|"
    r"conclude|points?\s+to|makes?|means?|explains?)\b",
    re.IGNORECASE,
)
# A clause with one of these argues against what it names (or is not a plain conclusion).
_AGAINST = re.compile(
    r"\b(against|not|no|never|nor|neither|unlikely|less\s+likely|rules?\s+out|ruled\s+out|"
    r"exclude[sd]?|excluding|rather\s+than|instead\s+of|absent|without|cannot|"
    r"(?:does|do|is|are|was|can)n['’]t)\b",
    re.IGNORECASE,
)
# "so C", "therefore C is the most likely", "thus (C)"; "...: B." closing its sentence.
_SO = r"\b(?:so|therefore|thus|hence)\s+\(?([{0}])\)?(?=\s*(?:[.;!,]|$|\s+(?:is|as|fits)\b))"
_COLON = r":\s*\(?([{0}])\)?(?=\s*(?:[.!]|$))"
# "B: infarction gives a perfusion defect": one item of a list of eliminations.
_LISTED = re.compile(r"^\(?[A-J]\)?\s*[:,]")
# The most words besides the option's name that a closing clause may have to count as naming
# its conclusion and nothing else ("Appendicitis (A).", "So appendicitis.").
_BARE_WORDS = 1
_SMALL = frozenset({"a", "an", "and", "of", "the", "from", "with", "in", "on", "to", "due"})


def _boundary(phrase: str) -> re.Pattern[str]:
    # Not inside a hyphenated word: "aneurysmal" must not match "non-aneurysmal".
    return re.compile(rf"(?<![\w\-]){re.escape(phrase)}(?![\w\-])", re.IGNORECASE)


def _aliases(text: str) -> list[str]:
    """The phrases that may name an option: its text, its text before "from"/"with", its
    initials (three words or more) and its last word."""
    words = text.split()
    phrases = [text]
    head = re.split(r"\s+(?:from|with|due\s+to)\s+", text)[0]
    if head != text and len(head.split()) >= 2:
        phrases.append(head)
    initials = "".join(w[0] for w in re.split(r"[\s\-]+", text) if w and w not in _SMALL)
    if len(initials) >= 3:
        phrases.append(initials)
    if words and len(words[-1]) >= 5 and words[-1] != text:
        phrases.append(words[-1])
    return phrases


def _keys(options: dict[str, str]) -> dict[str, list[re.Pattern[str]]]:
    """Per letter, the patterns that name the option: "(C)", and each alias that no other
    option's text contains."""
    clean = {k: re.sub(r"\(.*?\)", "", v).strip().lower() for k, v in options.items()}
    keys: dict[str, list[re.Pattern[str]]] = {}
    for letter, text in clean.items():
        others = [t for k, t in clean.items() if k != letter]
        patterns = [re.compile(rf"\(\s*{letter}\s*\)")]
        for phrase in _aliases(text) if text else []:
            pattern = _boundary(phrase)
            if len(phrase) >= 3 and not any(pattern.search(o) for o in others):
                patterns.append(pattern)
        keys[letter] = patterns
    return keys


def _named(clause: str, keys: dict[str, list[re.Pattern[str]]]) -> set[str]:
    return {k for k, patterns in keys.items() if any(p.search(clause) for p in patterns)}


def argued_option(prediction: Prediction, chosen_in: str | None = None) -> tuple[str | None, str]:
    """The letter of the option the reasoning argues for, and the text it was read from;
    (None, why not) when the text does not allow it. The step-3 reasoning is read first, then
    the rationale. `chosen_in`: the field the chosen letter was read from, whose explicit
    answer is that same statement, so no evidence of what the reasoning argues."""
    if not prediction.options:
        return None, OPEN_ENDED
    texts = [(p, t) for p in _TEXTS if (t := prediction.text_at(p))]
    if not texts:
        return None, "no reasoning to read the argued diagnosis from"
    letters = "".join(prediction.options)
    keys = _keys(prediction.options)
    for where, text in texts:
        explicit = _explicit(text, letters) if where != chosen_in else None
        if explicit is not None:
            return explicit
        found = _concluding(text, keys)
        if found is not None:
            return next(iter(_named(found, keys))), found
    return None, "no concluding sentence of the reasoning names exactly one option"


def _explicit(text: str, letters: str) -> tuple[str, str] | None:
    """The reasoning's last explicit answer letter, and the sentence that states it."""
    found: list[tuple[int, str]] = []
    stated = stated_letter(text, letters)
    if stated is not None:
        found.append((stated[1], stated[0]))
    for pattern in (_SO, _COLON):
        for m in re.finditer(pattern.format(letters), text):
            # "therefore E is unlikely" argues against E: the rest of its clause decides.
            rest = re.split(r"[.;!?]", text[m.end() :], maxsplit=1)[0]
            if not _AGAINST.search(rest):
                found.append((m.end(), m.group(1)))
    if not found:
        return None
    end, letter = max(found)
    start = max(text.rfind(".", 0, max(end - 2, 0)) + 1, 0)
    return letter, text[start:end].strip()


def _concluding(text: str, keys: dict[str, list[re.Pattern[str]]]) -> str | None:
    # Clauses: "A is unlikely; this is most likely B" concludes for B alone.
    clauses = [
        c.strip()
        for s in split_sentences(text)
        for c in re.split(r";|,\s+(?:whereas|but|while)\b", s)
        if c.strip()
    ]
    concluding = [
        c
        for c in clauses
        if _CONCLUDES.search(c)
        and not _AGAINST.search(c)
        and not _LISTED.match(c)
        and len(_named(c, keys)) == 1
    ]
    if concluding:
        return concluding[-1]
    # A closing clause that only names an option ("Appendicitis (A)."), nothing more.
    last = clauses[-1] if clauses else ""
    named = _named(last, keys)
    if len(named) != 1 or _AGAINST.search(last):
        return None
    rest = re.sub(r"\(.*?\)", " ", last)
    for pattern in keys[next(iter(named))]:
        rest = pattern.sub(" ", rest)
    return last if len(re.findall(r"[\w\-]+", rest)) <= _BARE_WORDS else None


def score_letter_consistency(criterion: Criterion, prediction: Prediction) -> Judgment:
    """1 when the chosen letter is the option the reasoning argues for, 0 when it is another;
    unscored when either cannot be read from the text."""
    base: dict[str, Any] = {"criterion": criterion.id, "judge": DETERMINISTIC}
    letter, where = extract_letter(prediction)
    if letter is None:
        return Judgment(**base, status="unscored", reason=where)
    argued, sentence = argued_option(prediction, where)
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
