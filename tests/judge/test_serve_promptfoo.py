"""promptfoo's `webhook` assertion against `judge serve`: the payload promptfoo posts
(`{"output", "context": {"prompt", "vars"}}`, its handleWebhook), the answer it reads
(`pass`, `score` in [0, 1], `reason`), and the rubric's weighted score behind it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from judge.aggregate.normalise import higher_is_better, scale_range
from judge.contracts import Criterion, ResultRecord, RubricRef
from judge.errors import InputError
from judge.load.rubric import load_rubric
from judge.scorer import RunOptions
from judge.serve import promptfoo
from judge.serve.app import create_app
from judge.serve.server import running
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
EXAMPLE = Path(__file__).parents[2] / "examples" / "promptfoo" / "promptfooconfig.yaml"
CASE: dict[str, Any] = {
    k: v
    for k, v in json.loads(PREDICTIONS.read_text().splitlines()[0]).items()
    if not k.startswith("prediction")
}
RUBRIC = """\
id: pf-test
version: "1"
description: Weighted criteria on three kinds of scale, for the promptfoo mapping.
target: [prediction_rationale]
context: [CLINICAL_HISTORY, options, correct_answer]
criteria:
  - id: final_answer
    method: answer_accuracy
    question: Did it choose the correct option?
    scale: {type: binary, anchors: {0: wrong, 1: right}}
  - id: quality
    question: How good is the reasoning?
    weight: 2
    scale:
      type: ordinal
      min: 1
      max: 5
      anchors: {1: bad, 2: weak, 3: fair, 4: good, 5: excellent}
  - id: relevance
    question: Is it about this case?
    scale:
      type: ordinal
      min: 0
      max: 4
      anchors: {0: none, 1: barely, 2: partly, 3: mostly, 4: fully}
  - id: style
    question: Which style is it?
    scale: {type: categorical, labels: {terse: short, verbose: long}}
"""
VERDICT = {
    "quality": {"rationale": "r", "score": 4},
    "relevance": {"rationale": "r", "score": 2},
    "style": {"rationale": "r", "score": "verbose"},
}
OUTPUT = "The fat stranding around a 9 mm appendix settles it. Final answer: A"


@pytest.fixture
def rubric_file(tmp_path: Path) -> Path:
    path = tmp_path / "pf-test.yaml"
    path.write_text(RUBRIC)
    return path


def _app(server: LLMServer, rubric_file: Path, **changes: Any) -> Any:
    options = RunOptions(
        judges=["openai/test-judge"], api_base=server.url, timeout=60.0, cache=False, **changes
    )
    return create_app(options, rubrics=[rubric_file])


def _payload(output: Any = OUTPUT, **more_vars: Any) -> dict[str, Any]:
    return {"output": output, "context": {"prompt": "Answer the case.", "vars": CASE | more_vars}}


def test_the_weighted_score_decides_pass(llm_server: LLMServer, rubric_file: Path) -> None:
    # final_answer 1 (weight 1), quality 4 on 1-5 → 0.75 (weight 2), relevance 2 on 0-4 → 0.5
    # (weight 1), the categorical style does not count: (1 + 1.5 + 0.5) / 4 = 0.75.
    llm_server.script = lambda body, n: Reply.json(VERDICT)
    with running(_app(llm_server, rubric_file)) as url:
        low = httpx.post(f"{url}/v1/promptfoo/pf-test?threshold=0.7", json=_payload())
        high = httpx.post(f"{url}/v1/promptfoo/pf-test?threshold=0.8", json=_payload())
        from_vars = httpx.post(f"{url}/v1/promptfoo/pf-test", json=_payload(threshold=0.8))
        url_wins = httpx.post(
            f"{url}/v1/promptfoo/pf-test?threshold=0.7", json=_payload(threshold=0.8)
        )
    assert low.status_code == 200
    assert set(low.json()) == {"pass", "score", "reason"}
    assert low.json()["pass"] is True and low.json()["score"] == 0.75
    assert high.json()["pass"] is False and high.json()["score"] == 0.75
    assert from_vars.json()["pass"] is False and url_wins.json()["pass"] is True
    reason = low.json()["reason"]
    assert "quality 4/5" in reason and "relevance 2/4" in reason and "style" not in reason
    # The judge saw the model's output as the rubric's target, and the case from the vars.
    prompt = json.dumps(llm_server.requests[0].body["messages"])
    assert "fat stranding around a 9 mm appendix" in prompt and CASE["CLINICAL_HISTORY"] in prompt


def test_a_wrong_answer_lowers_the_score(llm_server: LLMServer, rubric_file: Path) -> None:
    llm_server.script = lambda body, n: Reply.json(VERDICT)
    with running(_app(llm_server, rubric_file)) as url:
        wrong = httpx.post(
            f"{url}/v1/promptfoo/pf-test", json=_payload("Surely torsion. Final answer: B")
        )
    assert wrong.json()["score"] == 0.5  # (0 + 1.5 + 0.5) / 4
    assert wrong.json()["pass"] is True  # the default threshold is 0.5


def test_an_output_object_is_merged_as_prediction_fields(
    llm_server: LLMServer, rubric_file: Path
) -> None:
    llm_server.script = lambda body, n: Reply.json(VERDICT)
    output = {"prediction": "B", "prediction_rationale": "Torsion fits the pain best."}
    with running(_app(llm_server, rubric_file)) as url:
        graded = httpx.post(f"{url}/v1/promptfoo/pf-test", json=_payload(output))
    assert graded.json()["score"] == 0.5  # the letter came from `prediction`: B is wrong
    assert "Torsion fits" in json.dumps(llm_server.requests[0].body["messages"])


def test_what_could_not_be_judged_fails(llm_server: LLMServer, rubric_file: Path) -> None:
    llm_server.script = lambda body, n: Reply.error(503)
    with running(_app(llm_server, rubric_file, attempts=1)) as url:
        graded = httpx.post(f"{url}/v1/promptfoo/pf-test?threshold=0", json=_payload())
    body = graded.json()
    assert graded.status_code == 200 and body["pass"] is False
    assert body["score"] == 1.0  # final_answer alone was scored
    assert "quality unscored" in body["reason"] and "503" in body["reason"]


def test_bad_promptfoo_requests_are_4xx(llm_server: LLMServer, rubric_file: Path) -> None:
    # Options may be absent (a HealthBench row has none), not malformed.
    bad_options = {"correct_answer": "A", "title": "t", "options": 3}
    no_options = {"output": OUTPUT, "context": {"vars": bad_options}}
    with running(_app(llm_server, rubric_file)) as url:
        post = lambda path, body: httpx.post(f"{url}{path}", json=body)  # noqa: E731
        answers = {
            "bad var": post("/v1/promptfoo/pf-test", _payload(threshold="high")),
            "bad query": post("/v1/promptfoo/pf-test?threshold=2", _payload()),
            "bad field": post("/v1/promptfoo/pf-test?field=discussion", _payload()),
            "no options": post("/v1/promptfoo/pf-test", no_options),
            "no output": post("/v1/promptfoo/pf-test", {"context": {"vars": CASE}}),
            "unknown": post("/v1/promptfoo/nope", _payload()),
        }
    locs = {k: r.json()["detail"][0]["loc"] for k, r in answers.items() if r.status_code == 422}
    assert locs == {
        "bad var": ["body", "context", "vars", "threshold"],
        "bad query": ["query", "threshold"],
        "bad field": ["query", "field"],
        # A correct answer without options: neither closed- nor open-ended.
        "no options": ["body", "context", "vars", "options"],
        "no output": ["body", "output"],
    }
    assert answers["unknown"].status_code == 404
    assert llm_server.count == 0


def test_ddx_with_the_default_field_reads_the_answer_letter(llm_server: LLMServer) -> None:
    # No `field`: the output fills ddx's first target (the step-3 reasoning), and the
    # final_answer check must find the letter there, or ddx could never pass.
    def best_of(c: Criterion) -> int:
        low, high = scale_range(c)
        return int(high if higher_is_better(c) else low)

    best = {c.id: {"rationale": "r", "score": best_of(c)} for c in load_rubric("ddx").llm_criteria}
    llm_server.script = lambda body, n: Reply.json(best)
    options = RunOptions(
        judges=["openai/test-judge"], api_base=llm_server.url, timeout=60.0, cache=False
    )
    with running(create_app(options)) as url:
        right = httpx.post(f"{url}/v1/promptfoo/ddx", json=_payload())
        wrong = httpx.post(f"{url}/v1/promptfoo/ddx", json=_payload("Torsion. Final answer: B"))
        hedged = httpx.post(f"{url}/v1/promptfoo/ddx", json=_payload("Final answer: A or B"))
    assert right.status_code == 200, right.text
    assert right.json()["pass"] is True and right.json()["score"] == 1.0, right.json()
    assert "final_answer 1/1" in right.json()["reason"]
    assert "final_answer 0/1" in wrong.json()["reason"] and wrong.json()["score"] < 1.0
    # A hedge scores 0, and no harm of a choice is judged (none was made).
    assert hedged.json()["pass"] is False
    assert "final_answer 0/1" in hedged.json()["reason"]
    assert "miss_harm unscored (no single answer" in hedged.json()["reason"]
    prompt = json.dumps(llm_server.requests[0].body["messages"])
    assert "fat stranding around a 9 mm appendix" in prompt


# --------------------------------------------------------------------------- the mapping


def _criterion(scale: dict[str, Any], weight: float = 1.0) -> Criterion:
    return Criterion.model_validate({"id": "c", "question": "q", "scale": scale, "weight": weight})


def test_scales_map_to_unit_interval() -> None:
    ordinal = _criterion(
        {"type": "ordinal", "min": 1, "max": 5, "anchors": {i: str(i) for i in range(1, 6)}}
    )
    binary = _criterion({"type": "binary", "anchors": {0: "no", 1: "yes"}})
    assert [promptfoo.normalise(ordinal, s) for s in (1, 2, 3, 4, 5)] == [0, 0.25, 0.5, 0.75, 1]
    assert promptfoo.normalise(ordinal, 3.5) == 0.625  # a panel's mean
    assert [promptfoo.normalise(binary, s) for s in (0, 1)] == [0, 1]
    # Where 1 is the bad answer (a hallucination flag), it counts the other way round.
    assert [promptfoo.normalise(binary, s, better_high=False) for s in (0, 1)] == [1, 0]
    assert promptfoo.normalise(ordinal, 2, better_high=False) == 0.75


@pytest.mark.skipif(
    "higher_is_better" not in Criterion.model_fields,
    reason="needs the proposed Criterion.higher_is_better field (issue 10 report)",
)
def test_a_rubric_says_which_way_is_better() -> None:
    flag = Criterion.model_validate(
        {
            "id": "hallucination",
            "question": "invented?",
            "scale": {"type": "binary", "anchors": {0: "no", 1: "yes"}},
            "higher_is_better": False,
        }
    )
    assert promptfoo.higher_is_better(flag) is False
    assert promptfoo.normalise(flag, 1) == 0.0


def test_grade_weighs_and_explains(rubric_file: Path) -> None:
    rubric = load_rubric(rubric_file)
    record = ResultRecord(
        id="x",
        line=1,
        status="scored",
        scores={"final_answer": 0, "quality": 5, "relevance": 4, "style": "terse"},
        judgments=[],
        rubric=RubricRef(id="pf-test", version="1", hash="h"),
        prompt_hash="p",
        judge_version="v",
        created_at="t",
    )
    graded = promptfoo.grade(record, rubric, 0.75)
    assert graded.score == 0.75 and graded.passed  # (0 + 2 + 1) / 4, at the threshold
    assert graded.reason.startswith("pf-test 1: score 0.75 >= threshold 0.75")


def test_output_fills_the_target_and_keeps_the_vars() -> None:
    ddx = load_rubric("ddx")
    variables = CASE | {"threshold": 0.6, "prediction_twi": {"step2_integrated_summary": "s"}}
    row = promptfoo.prediction_from("reasoning", variables, ddx, None)
    assert row["prediction_twi"] == {
        "step2_integrated_summary": "s",
        "step3_differential_reasoning": "reasoning",
    }
    assert "threshold" not in row and row["options"] == CASE["options"]
    assert variables["prediction_twi"] == {"step2_integrated_summary": "s"}  # not changed
    row = promptfoo.prediction_from("why", CASE, ddx, "prediction_rationale")
    assert row["prediction_rationale"] == "why" and "prediction_twi" not in row
    with pytest.raises(InputError) as raised:
        promptfoo.prediction_from("x", CASE, ddx, "discussion")
    assert raised.value.field == "field"


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [(None, {}, 0.5), (None, {"threshold": "0.8"}, 0.8), (0.3, {"threshold": 0.8}, 0.3)],
)
def test_threshold_from_url_then_vars(
    query: float | None, variables: dict[str, Any], expected: float
) -> None:
    assert promptfoo.threshold_from(query, variables) == expected


@pytest.mark.parametrize("bad", ["high", 1.5, -0.1, "nan", [0.5]])
def test_threshold_var_must_be_in_unit_interval(bad: Any) -> None:
    with pytest.raises(InputError):
        promptfoo.threshold_from(None, {"threshold": bad})


def test_the_example_promptfoo_config_fits_the_endpoint(llm_server: LLMServer) -> None:
    """examples/promptfoo/promptfooconfig.yaml, posted as promptfoo would post it (promptfoo
    itself is an npm tool and is not run here): its URL and every test's vars are accepted."""
    config = yaml.safe_load(EXAMPLE.read_text())
    webhook = config["defaultTest"]["assert"][0]
    assert webhook["type"] == "webhook"
    path = webhook["value"].removeprefix("http://127.0.0.1:8000")
    options = RunOptions(
        judges=["openai/test-judge"], api_base=llm_server.url, timeout=60.0, cache=False
    )
    with running(create_app(options)) as url:
        for test in config["tests"]:
            variables = config["defaultTest"].get("vars", {}) | test["vars"]
            body = {"output": "Reasoning. Final answer: A", "context": {"vars": variables}}
            graded = httpx.post(f"{url}{path}", json=body)
            assert graded.status_code == 200, graded.text
            assert f"threshold {variables['threshold']:g}" in graded.json()["reason"]
    assert llm_server.count == len(config["tests"])
