"""Letter consistency against its labelled set (clinical review H2, issue 24 §2).

The set is built here from the bundled files: every record of examples/predictions/*.jsonl and
examples/predictions.jsonl argues for the letter it chose (consistent by construction), and one
inconsistent variant of each keeps the same reasoning with another letter in `prediction`.
Required: no false 0 on the consistent records, and at least 90% of the inconsistent ones
caught (counted over all of them: an unscored variant is not caught). With 1.0's reader, 7
consistent records scored 0 and 24 of 60 variants were caught.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from judge.contracts import Prediction
from judge.judging.accuracy import extract_letter
from judge.judging.deterministic import score_deterministic
from judge.judging.letter_consistency import argued_option
from judge.judging.sentences import split_sentences
from judge.load.rubric import load_rubric

EXAMPLES = Path(__file__).parents[2] / "examples"
FILES = [*sorted((EXAMPLES / "predictions").glob("*.jsonl")), EXAMPLES / "predictions.jsonl"]
CRITERION = load_rubric("ddx").criterion("letter_consistency")
STEP3 = "step3_differential_reasoning"


def _bundled() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{n}", json.loads(line))
        for path in FILES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    ]


def _another(prediction: Prediction, letter: str) -> str:
    letters = prediction.letters
    return letters[(letters.index(letter) + 1) % len(letters)]


def _labelled(rows: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Prediction, bool]]:
    """Each record (consistent) and its variant with the next letter (inconsistent)."""
    out = []
    for name, row in rows:
        case = Prediction.model_validate(row)
        letter, _ = extract_letter(case)
        assert letter is not None, name
        out.append((name, case, True))
        other = Prediction.model_validate(row | {"prediction": _another(case, letter)})
        out.append((f"{name} as {other.prediction}", other, False))
    return out


def _figures(labelled: list[tuple[str, Prediction, bool]]) -> dict[str, Any]:
    false_zero, caught, scored = [], 0, 0
    for name, case, consistent in labelled:
        found = score_deterministic(CRITERION, case)
        scored += found.status == "scored"
        if consistent and found.score == 0:
            false_zero.append(f"{name}: {found.rationale}")
        caught += not consistent and found.score == 0
    n_bad = sum(not c for _, _, c in labelled)
    return {"false_zero": false_zero, "caught": caught / n_bad, "scored": scored}


def test_the_bundled_records_have_no_false_zero_and_the_variants_are_caught() -> None:
    labelled = _labelled(_bundled())
    assert len(labelled) == 2 * 60
    figures = _figures(labelled)
    assert figures["false_zero"] == []
    assert figures["caught"] >= 0.9
    # What this reader reaches, for the record: 59 of 60 consistent records scored (all 1),
    # 60 of 60 variants caught.
    assert figures["scored"] >= 118 and figures["caught"] == 1.0


_EXPLICIT = re.compile(
    r"final\s+answer|\banswer\b|\bso\s+\(?[A-E]\)?\W*$|:\s*\(?[A-E]\)?\W*$", re.I
)


def _without_explicit_letters(row: dict[str, Any]) -> dict[str, Any]:
    """The record with every sentence stating a letter removed, so that only the names of the
    options and the conclusion cues are left to read (a harder set than the brief's)."""

    def strip(text: str | None) -> str | None:
        if not text:
            return text
        return " ".join(s for s in split_sentences(text) if not _EXPLICIT.search(s))

    letter, _ = extract_letter(Prediction.model_validate(row))
    twi = dict(row.get("prediction_twi") or {})
    if twi:
        twi[STEP3] = strip(twi.get(STEP3))
    out = row | {"prediction": letter, "prediction_rationale": strip(row["prediction_rationale"])}
    return out | ({"prediction_twi": twi} if twi else {})


def test_without_explicit_letters_it_abstains_rather_than_errs() -> None:
    rows = [(name, _without_explicit_letters(row)) for name, row in _bundled()]
    figures = _figures(_labelled(rows))
    assert figures["false_zero"] == []
    # It reads the argued option from names on 19 of the 60 reasonings (and every one of their
    # variants is caught); the rest are unscored, never guessed.
    assert figures["scored"] >= 2 * 15


# The review's false 0s (H2), on the bundled cases: each argues for its own letter.
@pytest.mark.parametrize(
    ("file", "line", "text", "argued"),
    [
        # "haemorrhage" is shared by three options: it names none.
        (
            "ungrounded",
            1,
            "The most likely diagnosis is an aneurysmal subarachnoid haemorrhage.",
            "C",
        ),
        # Negation: an excluded option is argued against.
        (
            "hallucinating",
            5,
            "Pyelonephritis (A) is most likely. A ureteric calculus (E) is therefore excluded.",
            "A",
        ),
        (
            "hallucinating",
            1,
            "The pattern is not consistent with meningitis (E); "
            "this is most likely perimesencephalic haemorrhage (A).",
            "A",
        ),
        # Explicit letters first.
        ("terse", 12, "Could be spasm rather than stenosis: B.", "B"),
        (
            "ungrounded",
            7,
            "FNH is the commonest benign liver lesion after haemangioma, typical in young women, "
            "so C.",
            "C",
        ),
        (
            "ungrounded",
            8,
            "Scaphoid fractures commonly lead to complications, so B is the most likely option.",
            "B",
        ),
        # Initials name an option when no other option has them.
        (
            "strong",
            7,
            "The central scar and hepatobiliary retention are most consistent with FNH.",
            "C",
        ),
    ],
)
def test_the_reviews_false_zeros(file: str, line: int, text: str, argued: str) -> None:
    row = json.loads(
        (EXAMPLES / "predictions" / f"{file}.jsonl").read_text().splitlines()[line - 1]
    )
    row = row | {"prediction_rationale": text, "prediction_twi": None}
    assert argued_option(Prediction.model_validate(row))[0] == argued


@pytest.mark.parametrize(
    ("text", "argued"),
    [
        ("Therefore E is unlikely; the diagnosis is pulmonary embolism.", None),
        ("The differential: A, B and C. The answer is D.", "D"),
        ("Cavitation, so D.", "D"),
    ],
)
def test_an_explicit_letter_argued_against_is_no_conclusion(text: str, argued: str | None) -> None:
    row = json.loads((EXAMPLES / "predictions.jsonl").read_text().splitlines()[0])
    row = row | {"prediction_rationale": text, "prediction_twi": None}
    found, _ = argued_option(Prediction.model_validate(row))
    assert found == argued or (argued is None and found != "E")
