"""ddx 1.0's computed criteria: letter vs argued diagnosis, and the harm of a miss computed as
none when the chosen answer is correct (over real HTTP to the test server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.contracts import Criterion, Prediction
from judge.judging.deterministic import score_deterministic
from judge.judging.letter_consistency import argued_option
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
CASE = json.loads(PREDICTIONS.read_text().splitlines()[0])  # appendicitis, correct A
CRITERION = load_rubric("ddx").criterion("letter_consistency")


def _prediction(letter: str, reasoning: str) -> Prediction:
    row = {k: v for k, v in CASE.items() if k != "prediction_twi"}
    return Prediction(**row | {"prediction": letter, "prediction_rationale": reasoning})


def test_a_letter_that_is_not_the_argued_option_is_caught() -> None:
    text = "Normal ovaries argue against torsion. It is most consistent with acute appendicitis."
    same = score_deterministic(CRITERION, _prediction("A", text))
    other = score_deterministic(CRITERION, _prediction("B", text))
    assert (same.status, same.score) == ("scored", 1)
    assert (other.status, other.score) == ("scored", 0)
    assert other.details == {"chosen": "B", "argued": "A"}


def test_the_concluding_sentence_wins_over_eliminations() -> None:
    # The last word of an option ("torsion") names it; an elimination is not a conclusion.
    text = "Torsion is less likely with normal ovaries. Appendicitis (A)."
    assert argued_option(_prediction("A", text))[0] == "A"
    text = "Appendicitis is unlikely with a normal appendix; this is most likely ovarian torsion."
    assert argued_option(_prediction("B", text))[0] == "B"


def test_unscored_where_the_text_does_not_allow_it() -> None:
    # The letter is read from the rationale's "Final: A": that same statement is no evidence
    # of what the reasoning argues.
    terse = score_deterministic(CRITERION, _prediction("", "Occupational exposure. Final: A"))
    assert terse.status == "unscored" and "names exactly one option" in (terse.reason or "")
    both = "Appendicitis or torsion are most likely."
    assert score_deterministic(CRITERION, _prediction("A", both)).status == "unscored"
    no_letter = score_deterministic(CRITERION, _prediction("", "Most likely appendicitis."))
    assert no_letter.status == "unscored"


def test_if_correct_must_be_a_level_of_an_llm_criterion() -> None:
    with pytest.raises(ValueError, match="if_correct"):
        Criterion(
            id="x",
            question="q",
            if_correct=9,
            scale={"type": "ordinal", "min": 1, "max": 5, "anchors": {i: "a" for i in range(1, 6)}},
        )


def test_miss_harm_is_computed_as_none_when_the_answer_is_correct(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    rubric = load_rubric("ddx")

    def reply(body: dict[str, Any], n: int) -> Reply:
        verdict = {
            c.id: {"rationale": "r", "score": 0 if c.scale.type == "binary" else 5}
            for c in rubric.llm_criteria
        }
        return Reply.json(verdict)  # the judge says the worst harm everywhere

    llm_server.script = reply
    out = tmp_path / "r.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, judges=["openai/j"], api_base=llm_server.url)
    records = list(iter_records(out))
    assert sorted(r.scores["final_answer"] for r in records) == [0, 1, 1]
    for record in records:
        harm = [j for j in record.judgments if j.criterion == "miss_harm"]
        if record.scores["final_answer"] == 1:
            assert record.scores["miss_harm"] == 1
            assert [(j.judge, j.score) for j in harm] == [("deterministic", 1)]
            assert "miss_harm" not in record.missing
        else:  # a wrong answer: the judge's verdict stands
            assert record.scores["miss_harm"] == 5 and harm[0].judge == "openai/j"
        assert record.status == "scored"
