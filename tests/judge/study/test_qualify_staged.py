"""`judge qualify` on a staged rubric (ddx-steps): its bank (rubrics/bank/ddx-steps.yaml) is run
as `judge score` runs the rubric (a split into steps, then verdicts per step, then the
measures), over real HTTP to the local test server. A scripted judge that splits the reasoning
into its sentences and labels each planted step as the bank says is qualified on every measure
the bank tests; one that is blind on the verdict stage's `is_factual` (every step factual, no
error type) is not qualified on the measures that verdict feeds, and still qualified on the one
it does not (distractors_ruled_out, fed by options_addressed). A subset is stated as such."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.errors import RubricError
from judge.judging.sentences import split_sentences
from judge.study.bank import bank_path, load_bank
from judge.study.qualify import SAMPLE, qualify
from tests.llm_server import LLMServer, Reply, find_schema

MODEL = "openai/test-judge"
# The bank's planted false steps, by a phrase only they hold: (error type, critical). Critical:
# a premise the chosen answer rests on; the three asides are side remarks no option rests on.
PLANTED = {
    "1.5 mm or more": ("Medical Knowledge Err", True),
    "7 mm thick": ("Image Understanding Err", True),
    "first-born girl": ("Clinical Scenario Err", True),
    "must come and go": ("Reasoning Err", True),
    "thicker than 1 mm": ("Medical Knowledge Err", True),
    "impacted in the common bile duct": ("Image Understanding Err", True),
    "has 3 hours": ("Clinical Scenario Err", True),
    "whatever the ultrasound shows": ("Reasoning Err", True),
    "obstructed for many months": ("Medical Knowledge Err", True),
    "12 mm calculus": ("Image Understanding Err", True),
    "three weeks of severe": ("Clinical Scenario Err", True),
    "episode five years ago, the calcification": ("Reasoning Err", True),
    "schoolteachers": ("Clinical Scenario Err", False),
    "more common in men": ("Medical Knowledge Err", False),
    "right kidney is normal": ("Image Understanding Err", False),
}
TESTED = [
    "factual_ratio",
    "nonfactual_critical_steps",
    "distractors_ruled_out",
    "reasoning_errors",
    "image_understanding_errors",
    "clinical_scenario_errors",
    "medical_knowledge_errors",
]


def _between(text: str, marker: str) -> str:
    found = re.search(rf"<<<{marker} (\w+)>>>\n(.*?)\n<<<END {marker} \1>>>", text, re.S)
    assert found, marker
    return found.group(2)


def _steps_judge(blind: bool = False) -> Any:
    """Stage 1: the reasoning's sentences. Stage 2: each step factual and critical, addressing
    the options it names, unless it holds a planted phrase (then not factual, of its type and
    role); `blind` calls every step factual, with no error type."""

    def reply(body: dict[str, Any], n: int) -> Reply:
        text = "\n".join(str(m.get("content")) for m in body["messages"])
        schema, _ = find_schema(body)
        assert schema is not None
        if schema["properties"]["steps"]["items"].get("type") == "string":
            return Reply.json({"steps": split_sentences(_between(text, "CANDIDATE"))})
        verdicts = []
        for line in _between(text, "STEPS").splitlines():
            number, step = line.split(". ", 1)
            planted = next((v for k, v in PLANTED.items() if k in step), None)
            kind, critical = planted if planted and not blind else (None, True)
            verdicts.append(
                {
                    "step": int(number),
                    "explanation": "As the case says." if kind is None else "Not so.",
                    "verifiable": True,
                    "is_factual": kind is None,
                    "is_critical": critical,
                    "error_types": [] if kind is None else [kind],
                    "options_addressed": sorted(set(re.findall(r"\b[Oo]ption ([A-E])\b", step))),
                }
            )
        return Reply.json({"steps": verdicts})

    return reply


def _qualify(server: LLMServer, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        ["qualify", "--rubric", "ddx-steps", *args, "--judge", MODEL, "--api-base", server.url,
         "-c", "8"],
    )  # fmt: skip


def test_every_planted_phrase_is_in_the_bank() -> None:
    loaded = load_bank(bank_path("ddx-steps"))
    assert loaded.bank.criteria == TESTED
    text = json.dumps(loaded.bank.model_dump(mode="json"))
    for phrase in PLANTED:
        assert phrase in text, phrase


def test_a_judge_right_on_both_stages_is_qualified_on_every_measure_the_bank_tests(
    llm_server: LLMServer, home: Path
) -> None:
    llm_server.script = _steps_judge()
    result = _qualify(llm_server, "--strict")
    assert result.exit_code == 0, result.output
    lines = {x.split()[0]: x for x in result.output.splitlines() if x.split()}
    for cid in TESTED:
        assert re.search(r" +0/\d+ +0/\d+ +0/18 +0  qualified: ", lines[cid]), lines[cid]
    # Every error pair also plants a false critical step: 3 pairs for an error count, 15 for
    # factual_ratio (12 error pairs and 3 asides), 15 for nonfactual_critical_steps.
    assert re.search(r"^medical_knowledge_errors +4/4 ", lines["medical_knowledge_errors"])
    assert re.search(r"^factual_ratio +15/15 +0\.80-1\.00 ", lines["factual_ratio"])
    assert re.search(r"^nonfactual_critical_steps +15/15 ", lines["nonfactual_critical_steps"])
    assert re.search(r"^distractors_ruled_out +3/3 +0\.44-1\.00 ", lines["distractors_ruled_out"])
    assert "is qualified on all 7 criteria" in result.output
    assert "Not tested by the bank, so no verdict either way: step_count," in result.output
    assert "qualification on record: 7 criteria" in result.output
    # Two calls per item, as a run makes: 36 rows, 33 texts (a false-aside pair's defect is its
    # aside case, answered by the cache); the noise floor: 6 bases, one split and 3 samples.
    chat = [r for r in llm_server.requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 33 * 2 + 6 * (1 + 3)


def test_a_judge_blind_on_a_verdict_is_not_qualified_on_the_measures_it_feeds(
    llm_server: LLMServer, home: Path
) -> None:
    llm_server.script = _steps_judge(blind=True)
    result = _qualify(llm_server, "--strict", "--no-save")
    assert result.exit_code == 4, result.output
    verdicts = {}
    for line in result.output.splitlines():
        found = re.match(r"^(\w+) .*  (not qualified|qualified|inconclusive): ", line)
        if found:
            verdicts[found.group(1)] = found.group(2)
    fed = [c for c in TESTED if c != "distractors_ruled_out"]
    assert verdicts == {**{c: "not qualified" for c in fed}, "distractors_ruled_out": "qualified"}
    assert "misses planted defects (0 of 15 detected)" in result.output
    assert (
        "NOT QUALIFIED for rubric ddx-steps: qualified on 1 of 7 criteria, not qualified on 6"
        in (result.output)
    )


def test_a_sample_of_the_bank_is_stated_in_the_verdict_and_the_record(
    llm_server: LLMServer, home: Path
) -> None:
    llm_server.script = _steps_judge()
    result = qualify(
        "ddx-steps",
        judges=[MODEL],
        api_base=llm_server.url,
        criteria=["distractors_ruled_out", "medical_knowledge_errors"],
        pairs=3,
    )
    assert [c.criterion for c in result.criteria] == [
        "distractors_ruled_out",
        "medical_knowledge_errors",
    ]
    assert {c.verdict for c in result.criteria} == {SAMPLE}
    assert result.subset is not None and "6 of 21 pairs" in result.subset
    assert "2 of 7 criteria" in result.subset
    cli_run = _qualify(llm_server, "--criteria", "distractors_ruled_out", "--strict")
    assert cli_run.exit_code == 0, cli_run.output  # not "not qualified", yet not qualified
    assert "run on a sample of the bank: 3 of 21 pairs" in cli_run.output
    said = re.sub(r"\s+", " ", cli_run.output)
    assert "qualified on a sample: 3 of 3 planted defects detected, on a sample of the bank" in said
    assert "not on the whole bank" in said
    one = _qualify(llm_server, "--criteria", "distractors_ruled_out", "--pairs", "1", "--no-save")
    assert "1 of 21 pairs" in one.output  # 1 of 1 detected: too few, and said to be a sample
    assert "inconclusive: 1 of 1 detected: too few to tell (a sample)" in one.output
    assert "inconclusive on 1 (on a sample of the bank); do not use" in one.output
    assert "is NOT QUALIFIED for rubric ddx-steps: it ran on a sample of the bank" in (
        cli_run.output
    )
    from calibration.record import qualification_lines

    lines = qualification_lines(
        home / "calibrations.sqlite",
        rubric_hash=result.rubric_hash,
        prompt_hash=result.prompt_hash,
        criteria=["distractors_ruled_out"],
        judges=[MODEL],
    )
    assert lines[0].startswith(f"distractors_ruled_out / {MODEL}: QUALIFIED ON A SAMPLE (3/3")


def test_the_protocol_rubric_has_no_bank(home: Path) -> None:
    done = CliRunner().invoke(
        cli, ["qualify", "--rubric", "ddx-steps-protocol", "--judge", "openai/j", "--no-save"]
    )
    assert done.exit_code == 2
    assert "no test bank for this rubric (banks: ddx-steps, ddx, education)" in done.output


def test_a_staged_bank_must_name_its_measures(tmp_path: Path) -> None:
    text = bank_path("ddx-steps").read_text(encoding="utf-8")
    start = text.index("criteria:\n")
    end = text.index("min_pairs:")
    path = tmp_path / "bank.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RubricError, match="name the measures the bank tests in `criteria`"):
        load_bank(path)


def test_a_single_call_bank_is_worse_on_its_target_only(tmp_path: Path) -> None:
    # Only a staged rubric's measures may count one planted step twice: on ddx, a second
    # 'worse', even with a reason in `because`, is refused at its line.
    old = (
        "    coherence: same\n    hallucination: same\n    unsupported_fact: same\n"
        "    unsafe_advice: worse\n    miss_harm: same\n    miss_closeness: same\n"
        "  because:\n"
    )
    new = old.replace("coherence: same", "coherence: worse") + "    coherence: counted twice\n"
    text = bank_path("ddx").read_text(encoding="utf-8")
    path = tmp_path / "bank.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RubricError, match="'worse' on its target only, not also on") as caught:
        load_bank(path)
    assert caught.value.line == text.count("\n", 0, text.index(old)) + 1


def test_a_sample_names_criteria_the_bank_tests(home: Path) -> None:
    done = CliRunner().invoke(
        cli,
        ["qualify", "--rubric", "ddx-steps", "--judge", "openai/j", "--criteria", "step_count"],
    )
    assert done.exit_code == 2
    assert "--criteria: step_count not tested by the bank of ddx-steps: ['factual_ratio'," in (
        done.output
    )
