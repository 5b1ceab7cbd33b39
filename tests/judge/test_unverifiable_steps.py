"""A step the text cannot verify (review M16): a third state, neither factual nor a defect.

ddx-steps 1.1 asks `verifiable` of every step and `is_factual` only of verifiable ones, so an
image finding the case text does not mention is no longer a non-factual step with an Image
Understanding Err (1.0 had no other answer for it). factual_ratio is over the verifiable
steps, unverifiable_steps counts the others, and the protocol's agreement
(calibration/step_protocol.py, which expects booleans) counts that state as missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from test_stages import STEPS, _score, is_split, verdict

from calibration import load_judge_results
from calibration.step_protocol import step_protocol_table
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply


def _unverifiable_second_step(body: dict[str, Any], n: int) -> Reply:
    if is_split(body):
        return Reply.json({"steps": STEPS})
    second = verdict(2, "factual") | {"verifiable": False, "is_factual": None, "error_types": []}
    return Reply.json({"steps": [verdict(1, "factual"), second, verdict(3, "nonfactual")]})


def test_an_unverifiable_step_is_neither_factual_nor_a_defect(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.script = _unverifiable_second_step
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    record = next(iter_records(out))
    assert record.scores["unverifiable_steps"] == 1
    # One factual of the two verifiable steps: 1.0 would have had to call step 2 not factual.
    assert record.scores["factual_ratio"] == 0.5
    factual = next(j for j in record.judgments if j.criterion == "factual_ratio")
    assert factual.details is not None and factual.details["not_asked"] == 1
    # Step 3 is the only non-factual step; the unverifiable one is no error and no unknown.
    assert record.scores["nonfactual_critical_steps"] == 1
    assert record.scores["image_understanding_errors"] == 1
    assert not [j for j in record.judgments if j.step == 2 and j.criterion == "is_factual"]
    assert record.status == "scored"

    # The protocol's agreement: step 2 is missing on the judge's side (not asked) and on the
    # humans' (their file says "not verifiable"), so only steps 1 and 3 are paired.
    frame = load_judge_results(out)
    mine = frame[(frame["criterion"] == "is_factual") & (frame["item"] == record.id)]
    humans = pd.DataFrame(
        {
            "rater": "dr_a",
            "rater_kind": "human",
            "item": record.id,
            "step": [1, 2, 3],
            "score": ["true", "not verifiable", "false"],
            "criterion": "is_factual",
        }
    )
    table = step_protocol_table(pd.concat([mine, humans], ignore_index=True))
    assert table.iloc[0]["n_pairs"] == 2 and table.iloc[0]["agreement"] == 1.0
