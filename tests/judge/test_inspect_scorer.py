"""The Inspect AI scorer, offline: Inspect's mock model answers the cases, and the judge is
the local test server over real HTTP, inside a real `inspect_ai.eval` run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.solver import generate

from judge.integrations.inspect import rubric_scorer
from judge.load.rubric import load_rubric
from tests.llm_server import LLMServer, Reply

FIXTURE = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
CASE_FIELDS = ("CLINICAL_HISTORY", "IMAGING_FINDINGS", "discussion", "options", "correct_answer")
LLM = [c.id for c in load_rubric("ddx").llm_criteria]
BINARY = [c.id for c in load_rubric("ddx").llm_criteria if c.scale.type == "binary"]


def _samples() -> list[Sample]:
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    return [
        Sample(
            id=f"case-{i}",
            input=row["CLINICAL_HISTORY"],
            target=row["correct_answer"],
            metadata={k: row[k] for k in CASE_FIELDS if k in row},
        )
        for i, row in enumerate(rows)
    ]


def _answers(samples: list[Sample]) -> dict[str, str]:
    """The mock model's completion per case: right on the first two, wrong on the last."""
    out = {}
    for i, sample in enumerate(samples):
        right = str(sample.target)
        letter = right if i < 2 else next(x for x in "ABCDE" if x != right)
        out[str(sample.input)] = f"The findings point one way. Final answer: {letter}"
    return out


def _output(text: str) -> ModelOutput:
    output = ModelOutput.from_content(model="mockllm/model", content=text)
    # Usage given, so the mock model does not count tokens with tiktoken, which would
    # download its encoding (no network in tests).
    output.usage = ModelUsage(input_tokens=10, output_tokens=10, total_tokens=20)
    return output


def _mock(samples: list[Sample]) -> Any:
    answers = _answers(samples)

    def reply(messages: list[Any], *_: Any) -> ModelOutput:
        return _output(answers[messages[-1].text])

    return get_model("mockllm/model", custom_outputs=reply)


def _verdict(body: dict[str, Any], n: int) -> Reply:
    text = "\n".join(str(m.get("content")) for m in body["messages"])
    score = 4 if "Final answer" in text else 1  # the judge saw the completion
    verdict = {c: {"rationale": f"{c} looks like {score}", "score": score} for c in LLM}
    for flag in BINARY:  # the yes/no flags: nothing invented, nothing unsafe
        verdict[flag] = {"rationale": "none found", "score": 0}
    return Reply.json(verdict)


def test_rubric_scorer_in_an_inspect_eval(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script = _verdict
    samples = _samples()
    cache = tmp_path / "cache.sqlite"
    task = Task(
        dataset=samples,
        solver=generate(),
        scorer=rubric_scorer(
            "ddx", judges=["openai/test-judge"], api_base=llm_server.url, cache=str(cache)
        ),
    )
    [log] = eval(task, model=_mock(samples), log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert llm_server.count == len(samples)
    by_id = {s.id: s for s in log.samples or []}
    assert set(by_id) == {"case-0", "case-1", "case-2"}
    for sample_id, right in (("case-0", 1), ("case-1", 1), ("case-2", 0)):
        [score] = (by_id[sample_id].scores or {}).values()
        assert isinstance(score.value, dict)
        assert score.value["final_answer"] == right
        assert score.value["coherence"] == 4 and score.value["hallucination"] == 0
        assert score.answer in tuple("ABCDE")
        assert "coherence = 4 (openai/test-judge): coherence looks like 4" in (
            score.explanation or ""
        )
        record = score.metadata or {}
        assert record["id"] == sample_id and record["judges"] == ["openai/test-judge"]
        assert record["judged_field"] == "prediction_rationale"
    # Inspect's own metrics over the dict values: one mean per criterion.
    means = {s.name: s.metrics["mean"].value for s in log.results.scores}  # type: ignore[union-attr]
    assert means["final_answer"] == pytest.approx(2 / 3) and means["coherence"] == 4
    # The judge scorer was closed when the evaluation's loop ended: its cache's last
    # connection closed, which removes SQLite's write-ahead log.
    assert cache.exists() and not Path(f"{cache}-wal").exists()


def test_a_sample_without_the_case_fields_is_unscored_not_a_crash(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    sample = Sample(id="bare", input="What is it?", target="Z")
    task = Task(
        dataset=[sample],
        solver=generate(),
        scorer=rubric_scorer("ddx", judges=["openai/test-judge"], api_base=llm_server.url),
    )
    model = get_model("mockllm/model", custom_outputs=[_output("A")])
    [log] = eval(task, model=model, log_dir=str(tmp_path), display="none")
    [score] = (log.samples[0].scores or {}).values()  # type: ignore[index]
    assert isinstance(score.value, float) and math.isnan(score.value)
    # Without options the sample is open-ended, which ddx (it shows the judges the options)
    # refuses before any call.
    assert "field 'options': open-ended case" in (score.explanation or "")
    assert llm_server.count == 0


def _one(sample: Sample, rubric: str, completion: str, tmp_path: Path, **options: Any) -> Any:
    task = Task(dataset=[sample], solver=generate(), scorer=rubric_scorer(rubric, **options))
    model = get_model("mockllm/model", custom_outputs=[_output(completion)])
    [log] = eval(task, model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    [score] = (log.samples[0].scores or {}).values()  # type: ignore[index]
    return score


def test_seven_choices_are_lettered_a_to_g_and_eleven_are_refused(tmp_path: Path) -> None:
    seven = [f"Diagnosis {n}" for n in range(1, 8)]
    sample = Sample(id="seven", input="Which?", choices=seven, target="G")
    score = _one(sample, "accuracy", "Final answer: G", tmp_path)
    assert score.value == {"final_answer": 1, "answered": 1} and score.answer == "G"
    eleven = Sample(id="eleven", input="Which?", choices=[f"D{n}" for n in range(11)], target="A")
    score = _one(eleven, "accuracy", "A", tmp_path)
    assert math.isnan(score.value) and "11 choices, but at most 10 (A-J)" in score.explanation


def test_an_open_ended_sample_is_judged_against_its_target(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.script = lambda body, n: Reply.auto()
    sample = Sample(
        id="open", input="Is there hydrocephalus?", target="Yes, from aqueduct stenosis."
    )
    score = _one(
        sample, "reference", "No hydrocephalus.", tmp_path,
        judges=["openai/test-judge"], api_base=llm_server.url,
    )  # fmt: skip
    assert set(score.value) == {c.id for c in load_rubric("reference").criteria}
    [request] = llm_server.requests
    sent = "\n".join(m["content"] for m in request.body["messages"])
    assert "Yes, from aqueduct stenosis." in sent and "Is there hydrocephalus?" in sent
    assert "No hydrocephalus." in sent
