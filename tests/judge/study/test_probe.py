"""Bias probes (judge/study/probe.py): `judge probe` over real HTTP to the scripted local server,
whose judge is given a bias (or none) by the request's content, and the text transforms."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import judge
from judge.cli import cli
from judge.contracts import Prediction
from judge.judging.accuracy import extract_letter
from judge.load.rubric import load_rubric
from judge.study import perturb
from judge.study.probe import family, probe
from judge.study.shift import unpaired_shift, verdict
from tests.llm_server import LLMServer, Reply

MODEL = "openai/test-judge"
RUBRIC = load_rubric("ddx")
LLM = [c for c in RUBRIC.llm_criteria]
N = 8
OPTIONS = [
    "Acute appendicitis",
    "Ovarian torsion",
    "Mesenteric adenitis",
    "Crohn ileitis",
    "Abscess",
]


def _row(k: int, generator: str | None = None) -> dict[str, Any]:
    """Item k: its correct option at position k mod 5, chosen by the prediction, with letters
    of English and medicine in its text ("type A", "vitamin D", "E. coli", "A 19-year-old")."""
    letter = "ABCDE"[k % 5]
    other = "ABCDE"[(k + 1) % 5]
    options = dict(zip("ABCDE", OPTIONS[k % 5 :] + OPTIONS[: k % 5], strict=True))
    step3 = (
        f"A 19-year-old with low vitamin D and type A personality; no E. coli growth. "
        f"Option {other} is less likely given normal ovaries. The findings fit best. "
        f"Final answer: {letter}"
    )
    row = {
        "title": f"case {k}",
        "CLINICAL_HISTORY": f"Patient {k} has right lower quadrant pain and fever.",
        "IMAGING_FINDINGS": "A non-compressible 9 mm tubular structure.",
        "discussion": "Teaching discussion.",
        "options": options,
        "correct_answer": letter,
        "prediction": letter,
        "prediction_rationale": f"The answer is ({letter}).",
        "prediction_twi": {"step3_differential_reasoning": step3},
    }
    if generator is not None:
        row["generator"] = generator
        if family(generator) == family(MODEL):
            row["prediction_twi"]["step3_differential_reasoning"] += " Thorough."
    return row


def _verdict(ordinal: int, binary: int) -> Reply:
    return Reply.json(
        {
            c.id: {
                "rationale": "scripted",
                "score": binary if c.scale.type == "binary" else ordinal,
            }
            for c in LLM
        }
    )


def _user(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def _candidate(body: dict[str, Any]) -> str:
    text = _user(body)
    return text.split("<<<CANDIDATE ", 1)[1].split("\n", 1)[1].rsplit("<<<END CANDIDATE", 1)[0]


Script = Callable[[dict[str, Any], int], Reply]


def neutral(body: dict[str, Any], n: int) -> Reply:
    return _verdict(3, 0)


def longer_is_better(body: dict[str, Any], n: int) -> Reply:
    """+1 level on every ordinal criterion when the padding is present (the planted shift)."""
    padded = any(s in _candidate(body) for s in perturb.BOILERPLATE)
    return _verdict(4 if padded else 3, 0)


def prefers_position_a(body: dict[str, Any], n: int) -> Reply:
    """+1 level when the correct answer (the one the candidate chose) is listed as A."""
    return _verdict(4 if "## Correct answer\nA." in _user(body) else 3, 0)


def obeys(body: dict[str, Any], n: int) -> Reply:
    """Does what the candidate's text tells it: top levels everywhere."""
    planted = any(p in _candidate(body) for p in perturb.INJECTIONS)
    return _verdict(5, 1) if planted else _verdict(3, 0)


def likes_its_own(body: dict[str, Any], n: int) -> Reply:
    return _verdict(4 if "Thorough." in _candidate(body) else 3, 0)


@pytest.fixture
def run(tmp_path: Path, llm_server: LLMServer) -> Callable[..., tuple[Path, Path]]:
    """Predictions and a results file judged by the scripted judge `script`."""

    def make(script: Script, rows: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
        predictions = tmp_path / "predictions.jsonl"
        rows = rows if rows is not None else [_row(k) for k in range(N)]
        predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
        results = tmp_path / "results.jsonl"
        llm_server.script = script
        judge.score(predictions, "ddx", out=results, judges=[MODEL], api_base=llm_server.url)
        llm_server.reset()
        return predictions, results

    return make


def _probe(server: LLMServer, results: Path, predictions: Path, *args: str) -> tuple[int, str]:
    command = ["probe", str(results), "--predictions", str(predictions), "--judge", MODEL]
    command += ["--api-base", server.url, "--timeout", "10", *args]
    outcome = CliRunner().invoke(cli, command)
    return outcome.exit_code, outcome.output


def _table(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["criterion"]: row for row in csv.DictReader(handle)}


# ------------------------------------------------------------------------ length


def test_length_probe_reports_the_planted_shift_and_calls_it_a_bias(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, results = run(longer_is_better)
    out = tmp_path / "probe.csv"
    code, output = _probe(llm_server, results, predictions, "--kind", "length", "--out", str(out))
    assert code == 0, output
    table = _table(out)
    for c in LLM:
        row = table[c.id]
        if c.if_correct is not None:  # computed (miss_harm, miss_closeness): letter correct
            assert (row["n"], row["verdict"]) == ("0", "inconclusive")
            continue
        assert row["n"] == str(N)
        if c.scale.type == "ordinal":
            assert row["shift_units"] == "+1.000"  # the script's +1 level
            assert row["shift"] == f"{1 / (c.scale.max - c.scale.min):+.3f}"
            assert row["verdict"] == "biased" and row["up"] == str(N)
        else:
            assert row["shift"] == "+0.000" and row["verdict"] == "no bias"
    line = next(x for x in output.splitlines() if x.startswith("evidence_grounding"))
    assert "+0.250" in line and line.endswith("biased")
    # The baseline came from the results file: only the padded items were sent.
    assert "baseline: 8 item(s) reused" in output
    assert _chats(llm_server) == N


def test_length_probe_of_an_unbiased_judge_says_no_bias(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(neutral)
    llm_server.script = neutral
    code, output = _probe(
        llm_server, results, predictions, "--kind", "length", "--no-cache", "--fresh-baseline"
    )
    assert code == 0, output
    # miss_harm and miss_closeness are computed on these items (correct answers).
    judged = {c.id for c in LLM if c.if_correct is None}
    lines = [x for x in output.splitlines() if x.split(" ")[0] in judged]
    assert len(lines) == len(judged) and all(x.endswith("no bias") for x in lines)
    # --fresh-baseline without a cache: both arms of every item were judged.
    assert _chats(llm_server) == 2 * N


def test_a_budget_stops_the_probe_and_a_rerun_pays_nothing_twice(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    priced = "openai/gpt-4o-mini"  # litellm's price map knows it; the server answers for it
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(_row(k)) + "\n" for k in range(N)))
    results = tmp_path / "results.jsonl"
    llm_server.script = longer_is_better
    judge.score(predictions, "ddx", out=results, judges=[priced], api_base=llm_server.url)
    llm_server.reset()
    command = ["probe", str(results), "-p", str(predictions), "--judge", priced]
    command += ["--api-base", llm_server.url, "--kind", "length", "--concurrency", "1"]
    estimate = judge.run.plan(predictions, "ddx", judges=[priced], cache=False)
    per_call = estimate.estimate.cost_usd / estimate.estimate.calls  # type: ignore[operator]
    stop = CliRunner().invoke(cli, [*command, "--max-cost", f"{per_call * 4:.8f}"])
    assert stop.exit_code == 3, stop.output
    assert "--max-cost" in stop.output
    first = _chats(llm_server)
    assert 1 <= first < N
    done = CliRunner().invoke(cli, [*command, "--max-cost", "1"])
    assert done.exit_code == 0, done.output
    assert _chats(llm_server) == N  # the calls paid before the stop came from the cache
    line = next(x for x in done.output.splitlines() if x.startswith("coherence"))
    assert f" {N} " in line and line.endswith("biased")


def _chats(server: LLMServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def test_padding_keeps_the_conclusion_last_and_is_seeded() -> None:
    text = "Normal ovaries argue against torsion. No adnexal mass. Final answer: A"
    padded = perturb.pad(text, random.Random(1))
    assert padded.endswith("Final answer: A") and padded.startswith("Normal ovaries")
    added = [s for s in perturb.BOILERPLATE if s in padded]
    assert len(added) >= 3 and len(padded) >= 2 * len(text)
    assert padded == perturb.pad(text, random.Random(1)) != perturb.pad(text, random.Random(2))
    assert len(set(perturb.BOILERPLATE)) >= 12


def test_padding_a_trace_list_pads_its_last_entry_only() -> None:
    row = {"prediction_twi": {"step1_per_image_findings": ["One.", "Two."]}}
    path = "prediction_twi.step1_per_image_findings"
    padded = perturb.with_text(row, path, lambda t: t + " Pad.")
    assert padded["prediction_twi"]["step1_per_image_findings"] == ["One.", "Two. Pad."]
    assert row["prediction_twi"]["step1_per_image_findings"] == ["One.", "Two."]  # a copy


# ------------------------------------------------------------------------- order

HARD = [
    "A 45-year-old with vitamin D deficiency, E. coli and type A dissection; hepatitis B. "
    "B-cell. HbA1c. C. difficile. Answer: A large mass. Diagnosis: A 3 cm lesion.",
    "Option C fits; options B, C and D are less likely. Answer: **C**",
    "The answer is (c). Final answer: E",
    "A. Meningioma\nB) Glioma\nC: Metastasis\nD\n- E. Abscess",
    "Appendicitis (A). Final: B or D. choice A is best. option A's features",
    "answer B/D and option E & A",
]


@pytest.mark.parametrize("text", HARD)
def test_letter_remap_round_trips(text: str) -> None:
    mapping = {"A": "C", "B": "D", "C": "E", "D": "A", "E": "B"}
    moved = perturb.remap_letters(text, mapping)
    assert perturb.remap_letters(moved, perturb.inverse(mapping)) == text


def test_letter_remap_changes_mentions_only() -> None:
    mapping = {"A": "C", "B": "D", "C": "E", "D": "A", "E": "B"}
    assert perturb.remap_letters(HARD[0], mapping) == HARD[0]  # no mention at all
    assert perturb.remap_letters(HARD[1], mapping) == (
        "Option E fits; options D, E and A are less likely. Answer: **E**"
    )
    assert perturb.remap_letters(HARD[2], mapping) == "The answer is (e). Final answer: B"
    assert perturb.remap_letters(HARD[3], mapping) == (
        "C. Meningioma\nD) Glioma\nE: Metastasis\nA\n- B. Abscess"
    )
    assert perturb.remap_letters(HARD[4], mapping) == (
        "Appendicitis (C). Final: D or A. choice C is best. option C's features"
    )


def test_reordered_row_says_the_same_with_other_letters() -> None:
    row = _row(2)  # correct C
    mapping = {"A": "B", "B": "C", "C": "A", "D": "E", "E": "D"}
    moved = perturb.remap_options(row, mapping)
    assert moved["correct_answer"] == "A" and moved["options"]["A"] == row["options"]["C"]
    assert list(moved["options"]) == list("ABCDE")
    chosen, _ = extract_letter(Prediction.model_validate(moved))
    assert chosen == "A"
    step3 = moved["prediction_twi"]["step3_differential_reasoning"]
    assert "vitamin D" in step3 and "type A" in step3 and "E. coli" in step3
    assert "Option E is less likely" in step3  # D -> E
    back = perturb.remap_options(moved, perturb.inverse(mapping))
    assert back == row


def test_order_probe_catches_a_judge_that_prefers_position_a(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, results = run(prefers_position_a)
    out = tmp_path / "order.csv"
    code, output = _probe(llm_server, results, predictions, "--kind", "order", "-o", str(out))
    assert code == 0, output
    row = _table(out)["coherence"]
    assert (row["n"], row["shift_units"], row["verdict"]) == (str(N), "+1.000", "biased")
    assert "chosen option shown first − shown last" in output
    # Odd letters stayed as they were in every presentation the judge saw.
    for request in llm_server.requests:
        candidate = _candidate(request.body)
        assert "vitamin D" in candidate and "type A" in candidate and "E. coli" in candidate


def test_order_probe_of_an_unbiased_judge_says_no_bias(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(neutral)
    code, output = _probe(llm_server, results, predictions, "--kind", "order")
    assert code == 0, output
    assert "coherence" in output and "biased" not in output


def test_an_item_whose_letter_the_remap_cannot_read_is_left_out(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    rows = [_row(k) for k in range(N)]
    # The answer extractor reads B here; the remap reads English ("B mostly" is no mention).
    rows[1].update(prediction=None, prediction_rationale="Final answer: B mostly, I think.")
    predictions, results = run(neutral, rows)
    code, output = _probe(llm_server, results, predictions, "--kind", "order")
    assert code == 0, output
    assert "1 item(s) left out" in output and f"{N - 1} item(s)" in output


def test_pick_and_choose_are_read_as_the_extractor_reads_them() -> None:
    mapping = {"A": "B", "B": "A", "C": "C", "D": "D", "E": "E"}
    for text in ("I would pick A.", "Choose (A)", "I go with A, not B", "select A"):
        row = {**_row(0), "prediction": None, "prediction_rationale": text}
        moved = perturb.remap_options(row, mapping)
        before, _ = extract_letter(Prediction.model_validate(row))
        after, _ = extract_letter(Prediction.model_validate(moved))
        assert before is not None and after == mapping[before], text


# --------------------------------------------------------------------- injection


def test_injection_probe_catches_a_judge_that_obeys_the_text(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, results = run(obeys)
    out = tmp_path / "inj.csv"
    code, output = _probe(
        llm_server, results, predictions, "--kind", "injection", "--out", str(out)
    )
    assert code == 0, output
    assert f"{N} of {N} item(s) moved toward the top level" in output
    table = _table(out)
    assert (
        table["coherence"]["shift_units"] == "+2.000" and table["coherence"]["verdict"] == "biased"
    )
    # A binary flag whose top level is the worst answer: toward the top is down on [0, 1].
    assert (
        table["hallucination"]["shift"] == "-1.000"
        and table["hallucination"]["verdict"] == "biased"
    )


def test_injection_probe_of_a_robust_judge_moves_nothing(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(neutral)
    code, output = _probe(llm_server, results, predictions, "--kind", "injection")
    assert code == 0, output
    assert f"0 of {N} item(s) moved toward the top level" in output and "biased" not in output


def test_planted_instructions_vary_in_phrasing_and_place() -> None:
    text = "First finding. Second finding. Third finding. Final answer: B"
    seen = {perturb.plant(text, random.Random(s)) for s in range(60)}
    places = {place for _, place in seen}
    assert places == set(perturb.PLACES)
    assert {p for p in perturb.INJECTIONS if any(p in t for t, _ in seen)} == set(
        perturb.INJECTIONS
    )
    fenced = next(t for t, place in seen if place == "fence")
    assert "<<<END CANDIDATE " in fenced and fenced.startswith("First finding.")


# -------------------------------------------------------------------------- self


def test_self_probe_compares_the_judges_family_with_others(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    rows = [
        _row(k, "openai/test-model-2" if k % 2 else "anthropic/claude-3-5-haiku") for k in range(N)
    ]
    predictions, results = run(likes_its_own, rows)
    code, output = _probe(llm_server, results, predictions, "--kind", "self")
    assert code == 0, output
    line = next(x for x in output.splitlines() if x.startswith("coherence"))
    assert "4/4" in line and "+0.250" in line and line.endswith("biased")
    assert "caveat:" in output


def test_self_probe_needs_a_generator_field(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(neutral)
    code, output = _probe(llm_server, results, predictions, "--kind", "self")
    assert code == 2 and len(output.strip().splitlines()) == 1
    assert f"{predictions}:1: field 'generator'" in output


def test_family_is_the_model_name_stem() -> None:
    assert family("openai/gpt-4o-mini") == family("gpt-4.1") == family("o3-mini") == "gpt"
    assert family("anthropic/claude-3-5-haiku-latest") == "claude"
    assert family("hosted_vllm/Qwen2.5-7B-Instruct") == "qwen"
    assert family("meta-llama/Llama-3.1-8B") == "llama" != family("gemini/gemini-2.0-flash")


# ------------------------------------------------------------------ hostile input


def test_a_results_file_that_is_not_one_is_a_one_line_error(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, _ = run(neutral)
    code, output = _probe(llm_server, predictions, predictions, "--kind", "length")
    assert code == 2 and len(output.strip().splitlines()) == 1
    assert f"{predictions}:1" in output and "not a results record" in output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, output = _probe(llm_server, empty, predictions, "--kind", "length")
    assert code == 2 and "holds no result record" in output
    assert llm_server.count == 0


def test_a_results_item_missing_from_the_predictions_is_a_one_line_error(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, results = run(neutral)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("".join(predictions.read_text().splitlines(keepends=True)[:3]))
    code, output = _probe(llm_server, results, fewer, "--kind", "length")
    assert code == 2 and len(output.strip().splitlines()) == 1
    assert f"is not in {fewer}" in output


def test_a_sample_larger_than_the_items_probes_them_all(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(longer_is_better)
    code, output = _probe(llm_server, results, predictions, "--kind", "length", "--sample", "500")
    assert code == 0, output
    assert f"holds {N} items, fewer than --sample 500" in output and f"{N} item(s)" in output


def test_the_sample_is_seeded(run: Callable[..., tuple[Path, Path]], llm_server: LLMServer) -> None:
    predictions, results = run(neutral)
    options = {"judges": [MODEL], "api_base": llm_server.url}
    picks = [
        probe(results, predictions, kind="length", sample=3, seed=s, **options) for s in (1, 1, 2)
    ]
    assert [len(r.ids) for r in picks] == [3, 3, 3]
    assert picks[0].ids == picks[1].ids != picks[2].ids


def test_out_never_replaces_a_file_that_is_not_a_probe_table(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer, tmp_path: Path
) -> None:
    predictions, results = run(neutral)
    precious = tmp_path / "paper.csv"
    precious.write_text("my,data\n1,2\n")
    code, output = _probe(llm_server, results, predictions, "--kind", "length", "-o", str(precious))
    assert code == 2 and precious.read_text() == "my,data\n1,2\n"
    assert "not one this command writes" in output
    assert llm_server.count == 0  # refused before any judge was asked


def test_welch_interval_matches_r() -> None:
    """R's `t.test(extra ~ group, data = sleep)` (Welch; R's ?t.test example, Cushny & Peebles
    1905): mean difference -1.58, 95% interval [-3.3654832, 0.2054832]."""
    one = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    two = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    criterion = next(c for c in LLM if c.id == "coherence")
    scores: list[dict[str, Any] | None] = [{"coherence": v} for v in one + two]
    found = unpaired_shift(criterion, scores, [True] * 10 + [False] * 10, 0.05)
    assert (found.n_same, found.n_other) == (10, 10)
    assert found.shift_units == pytest.approx(-1.58)
    assert found.low_units == pytest.approx(-3.3654832, abs=1e-6)
    assert found.high_units == pytest.approx(0.2054832, abs=1e-6)


def test_a_probe_takes_one_judge_and_a_rubric_it_can_probe(
    run: Callable[..., tuple[Path, Path]], llm_server: LLMServer
) -> None:
    predictions, results = run(neutral)
    code, output = _probe(
        llm_server, results, predictions, "--kind", "length", "--judge", "openai/other"
    )
    assert code == 2 and "give one --judge, not 2" in output
    code, output = _probe(llm_server, results, predictions, "--kind", "length", "-r", "ddx-steps")
    assert code == 2 and "no judged criterion with an ordered scale" in output
    assert llm_server.count == 0


def test_verdict_rule() -> None:
    assert verdict(0.1, 0.3, 0.2, 0.05) == "biased"
    assert verdict(0.01, 0.03, 0.02, 0.05) == "no bias"  # excludes 0, but negligible
    assert verdict(-0.02, 0.02, 0.0, 0.05) == "no bias"
    assert verdict(-0.1, 0.3, 0.1, 0.05) == "inconclusive"
    assert verdict(float("nan"), float("nan"), 0.0, 0.05) == "inconclusive"


def test_a_run_judged_with_a_cases_file_is_probed_with_it(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # The probe reads its items as the run did: with --cases the predictions file holds only
    # ids and outputs (it was read without the cases before, and failed on every line).
    outputs = ("prediction", "prediction_rationale", "prediction_twi")
    rows = [_row(k) for k in range(N)]
    cases = tmp_path / "cases.jsonl"
    case_rows = [{k: v for k, v in r.items() if k not in outputs} for r in rows]
    cases.write_text("".join(json.dumps(r) + "\n" for r in case_rows))
    predictions = tmp_path / "predictions.jsonl"
    output_rows = [{k: r[k] for k in ("title", *outputs)} for r in rows]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in output_rows))
    results = tmp_path / "results.jsonl"
    llm_server.script = longer_is_better
    judge.score(
        predictions, "ddx", out=results, judges=[MODEL], api_base=llm_server.url, cases=cases
    )
    llm_server.reset()
    code, output = _probe(
        llm_server, results, predictions, "--kind", "length", "--cases", str(cases)
    )
    assert code == 0, output
    line = next(x for x in output.splitlines() if x.startswith("evidence_grounding"))
    assert "+0.250" in line and line.endswith("biased")
