"""The single-defect pairs (examples/pairs.jsonl) and the sensitivity script that runs a judge
over them (examples/sensitivity.py), here against the scripted test server over real HTTP."""

from __future__ import annotations

import difflib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from judge.judging.sentences import split_sentences
from judge.load.rubric import load_rubric
from tests.llm_server import LLMServer, Reply

EXAMPLES = Path(__file__).parents[2] / "examples"
ROWS = [json.loads(line) for line in (EXAMPLES / "pairs.jsonl").read_text().splitlines()]
TARGETS = {
    "invented_finding": "unsupported_fact",
    "generic_dismissal": "distractor_elimination",
    "wrong_threshold": "medical_accuracy",
    "unsafe_recommendation": "unsafe_advice",
    "contradicted_laterality": "hallucination",
}


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _pairs() -> dict[str, dict[str, dict[str, Any]]]:
    pairs: dict[str, dict[str, dict[str, Any]]] = {}
    for row in ROWS:
        pair, role = row["pair_id"].split("/")
        pairs.setdefault(pair, {})[role] = row
    return pairs


def test_each_pair_differs_in_exactly_one_sentence_of_the_judged_text() -> None:
    pairs = _pairs()
    assert set(pairs) == set(TARGETS)
    for name, pair in pairs.items():
        base, defect = pair["base"], pair["defect"]
        assert base["pair_target"] == defect["pair_target"] == TARGETS[name]
        assert load_rubric("ddx").criterion(TARGETS[name])  # names a real ddx criterion
        differing = {k for k in base.keys() | defect.keys() if base.get(k) != defect.get(k)}
        assert differing == {"pair_id", "prediction_twi"}, name
        twi_diff = {
            k
            for k in base["prediction_twi"]
            if base["prediction_twi"][k] != defect["prediction_twi"][k]
        }
        assert twi_diff == {"step3_differential_reasoning"}, name
        a = split_sentences(base["prediction_twi"]["step3_differential_reasoning"])
        b = split_sentences(defect["prediction_twi"]["step3_differential_reasoning"])
        changes = [
            op for op in difflib.SequenceMatcher(None, a, b).get_opcodes() if op[0] != "equal"
        ]
        assert len(changes) == 1 and changes[0][0] == "replace", (name, changes)
        _, i1, i2, j1, j2 = changes[0]
        assert (i2 - i1, j2 - j1) == (1, 1), name


def test_the_pairs_file_is_what_make_examples_writes() -> None:
    made = _module("make_examples").pair_lines()
    assert made == ROWS


def test_the_sensitivity_script_prints_how_far_each_criterion_moved(
    llm_server: LLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # A perfectly sensitive scripted judge: it marks each defect on its target criterion only.
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path))
    rubric = load_rubric("ddx")
    defects = {
        p["defect"]["prediction_twi"]["step3_differential_reasoning"]: p["defect"]["pair_target"]
        for p in _pairs().values()
    }

    def reply(body: dict[str, Any], n: int) -> Reply:
        text = "\n".join(str(m.get("content")) for m in body["messages"])
        verdict = {
            c.id: {"rationale": "r", "score": 0 if c.scale.type == "binary" else 5}
            for c in rubric.llm_criteria
        }
        for reasoning, target in defects.items():
            if reasoning in text:
                bad = 1 if rubric.criterion(target).scale.type == "binary" else 2
                verdict[target] = {"rationale": "the defect", "score": bad}
        return Reply.json(verdict)

    llm_server.script = reply
    sensitivity = _module("sensitivity")
    sensitivity.main(["--judge", "openai/j", "--api-base", llm_server.url])
    table = capsys.readouterr().out
    lines = {line.split()[0]: line for line in table.splitlines() if line.split()}
    for pair, target in TARGETS.items():
        moved = "+1.00*" if rubric.criterion(target).scale.type == "binary" else "-3.00*"
        assert moved in lines[pair], lines[pair]
        assert "!" not in lines[pair]  # nothing else moved
    assert sensitivity.moves([], rubric) == []  # no records, no pairs
