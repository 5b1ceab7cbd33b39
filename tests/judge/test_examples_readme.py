"""examples/README.md's expected scores for the computed criteria (no LLM) say what the 1.1
code gives on the bundled tiers: `final_answer` (a hedge scores 0), `answered`, and
`letter_consistency` (scored on 59 of the 60 bundled records, not "often unscored")."""

from __future__ import annotations

import json
import re
from pathlib import Path

from judge.contracts import Prediction
from judge.judging.deterministic import score_deterministic
from judge.load.rubric import load_rubric

EXAMPLES = Path(__file__).parents[2] / "examples"
README = re.sub(r"\s+", " ", (EXAMPLES / "README.md").read_text(encoding="utf-8"))
DDX = load_rubric("ddx")


def _scores(tier: str, criterion: str) -> list[object]:
    c = DDX.criterion(criterion)
    lines = (EXAMPLES / "predictions" / f"{tier}.jsonl").read_text(encoding="utf-8").splitlines()
    judged = [score_deterministic(c, Prediction.model_validate(json.loads(x))) for x in lines]
    return [j.score if j.status == "scored" else None for j in judged]


def _row(tier: str) -> str:
    return next(line for line in README.split("| **")[1:] if line.startswith(f"{tier}**"))


def test_the_tier_rows_state_what_the_computed_criteria_give() -> None:
    assert "often unscored" not in README
    tiers = ["strong", "ungrounded", "hallucinating", "terse"]
    assert all(s == 1 for t in tiers for s in _scores(t, "answered"))
    assert "`answered` is 1 on all 48" in README
    unscored = {
        t: [i for i, s in enumerate(_scores(t, "letter_consistency")) if s is None] for t in tiers
    }
    assert unscored == {"strong": [], "ungrounded": [], "hallucinating": [], "terse": [4]}
    assert "`letter_consistency` 1 on 11, unscored on case 4 only" in _row("terse")
    assert all(s == 1 for t in tiers for s in _scores(t, "letter_consistency") if s is not None)
    for tier in ("strong", "ungrounded", "hallucinating"):
        assert "letter_consistency" in _row(tier)
    wrong = [i for i, s in enumerate(_scores("terse", "final_answer")) if s == 0]
    assert f"Wrong on cases {', '.join(map(str, wrong[:-1]))}, {wrong[-1]}." in _row("terse")


def test_a_hedge_scores_0_on_final_answer_and_answered_as_the_readme_says() -> None:
    row = json.loads((EXAMPLES / "predictions" / "strong.jsonl").read_text().splitlines()[0])
    hedge = Prediction.model_validate(row | {"prediction": "B or C"})
    for criterion in ("final_answer", "answered"):
        judged = score_deterministic(DDX.criterion(criterion), hedge)
        assert (judged.status, judged.score) == ("scored", 0)
    assert 'a hedge ("B or C") or a missing letter scores 0 on `final_answer`' in README
