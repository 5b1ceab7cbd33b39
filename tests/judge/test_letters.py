"""Options are not limited to A-E: a case has 2 to 10 options lettered from A, and the accuracy
reader, letter consistency, the judges' prompts, the distractor count, the annotate form and the
report all work with the case's own letters (a four-option case has no E; a seven-option case
has G). Synthetic cases only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_stages import FACTUAL, is_split, verdict

import judge
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import open_study
from judge.contracts import Prediction
from judge.errors import InputError
from judge.judging.accuracy import extract_letter
from judge.judging.letter_consistency import argued_option
from judge.judging.prompts import render_prompt
from judge.load.inputs import read_items, validate_items
from judge.load.rubric import load_rubric, rubric_hash
from judge.report import build_report
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "tests" / "fixtures" / "chat.jsonl"
MODEL = "openai/test-judge"
SEVEN = {
    "A": "Pilocytic astrocytoma",
    "B": "Medulloblastoma",
    "C": "Ependymoma",
    "D": "Hemangioblastoma",
    "E": "Atypical teratoid rhabdoid tumour",
    "F": "Choroid plexus papilloma",
    "G": "Diffuse midline glioma",
}
FOUR = {"A": "Meningioma", "B": "Glioblastoma", "C": "Brain abscess", "D": "Metastasis"}
TEN = {letter: f"Diagnosis {letter}" for letter in "ABCDEFGHIJ"}


def _case(options: dict[str, str], answer: str, title: str = "t", **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "CLINICAL_HISTORY": "A 7-year-old has had diplopia and ataxia for three weeks.",
        "IMAGING_FINDINGS": "An expansile T2-hyperintense pontine mass engulfs the basilar artery.",
        "options": options,
        "correct_answer": answer,
        **extra,
    }


def _prediction(options: dict[str, str], answer: str, **extra: Any) -> Prediction:
    return Prediction.model_validate(_case(options, answer, **extra))


# A rubric for any number of options that shows the judges the options and the answer (ddx
# and education are written for five: option_count).
ANY_COUNT = """
id: any-count
version: "1"
description: Whether the reasoning supports the chosen option.
target: [prediction_rationale]
context: [CLINICAL_HISTORY, options, correct_answer, chosen_answer]
criteria:
  - id: supported
    question: Does the reasoning support the option it chooses?
    scale: {type: binary, anchors: {0: "No.", 1: "Yes."}}
"""


def _any_count(tmp_path: Path) -> Path:
    path = tmp_path / "any-count.yaml"
    path.write_text(ANY_COUNT, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("options", "reply", "letter", "why"),
    [
        (SEVEN, "G", "G", "prediction"),
        (SEVEN, "Final: G", "G", "prediction"),
        (SEVEN, "final: f", "F", "prediction"),
        (SEVEN, "(G) Diffuse midline glioma", "G", "prediction"),
        (SEVEN, "F or G", None, "hedged: offers 2 answers (F, G) in prediction 'F or G'"),
        (FOUR, "E", None, "prediction 'E' is not one of this case's letters A-D"),
        (
            FOUR,
            "Final: E",
            None,
            "no option letter in prediction 'Final: E', the rationale or step 3",
        ),
        (FOUR, "(D)", "D", "prediction"),
        # Ten options: "I" is a letter, but "I think" is the pronoun.
        (TEN, "I think the answer is J", "J", "prediction"),
        (TEN, "I", "I", "prediction"),
        (TEN, "Final: I", "I", "prediction"),
    ],
)
def test_accuracy_reads_only_the_case_letters(
    options: dict[str, str], reply: str, letter: str | None, why: str
) -> None:
    assert extract_letter(_prediction(options, "A", prediction=reply)) == (letter, why)


def test_a_four_option_case_reads_e_as_no_letter_in_the_rationale() -> None:
    # Five options: "Final: E" in the rationale is a choice; four: it is no letter at all.
    five = dict(FOUR, E="Lymphoma")
    assert extract_letter(_prediction(five, "A", prediction_rationale="Final: E"))[0] == "E"
    assert extract_letter(_prediction(FOUR, "A", prediction_rationale="Final: E"))[0] is None


def test_letter_consistency_reads_the_seventh_option() -> None:
    reasoning = (
        "A pontine mass engulfing the basilar artery: most consistent with diffuse midline glioma."
    )
    case = _prediction(SEVEN, "G", prediction="G", prediction_rationale=reasoning)
    assert argued_option(case)[0] == "G"
    # An open-ended case has no option to argue for: unscored with the reason, not a crash.
    open_ended = Prediction(title="o", prediction_rationale="Most consistent with glioma.")
    assert argued_option(open_ended) == (None, "open-ended case (no options)")
    assert extract_letter(open_ended) == (None, "open-ended case (no options)")


def test_prompts_show_the_case_letters(tmp_path: Path) -> None:
    rubric = load_rubric(_any_count(tmp_path))
    seven = _prediction(SEVEN, "G", prediction_rationale="It is G.")
    user = render_prompt(rubric, seven).messages[1]["content"]  # type: ignore[union-attr]
    assert "G. Diffuse midline glioma" in user and "F. Choroid plexus papilloma" in user
    assert re.search(r"Correct answer\W+G\. Diffuse midline glioma", user)
    four = _prediction(FOUR, "D", prediction_rationale="It is D.")
    user = render_prompt(rubric, four).messages[1]["content"]  # type: ignore[union-attr]
    assert "D. Metastasis" in user and "\nE. " not in user


def test_ddx_steps_refuses_letters_its_labels_lack(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(_case(SEVEN, "G", prediction="G")) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_items(path, rubric=load_rubric("ddx-steps"))
    assert caught.value.field == "options" and caught.value.line == 1
    assert "the case has options A-G, but rubric ddx-steps's options_addressed labels no F, G" in (
        caught.value.message
    )
    assert load_rubric("ddx-steps").option_problem(tuple("ABCD")) is None


def test_a_distractor_label_the_case_lacks_is_not_counted(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if is_split(body):
            return Reply.json({"steps": ["Intra-axial.", "Necrotic rim.", "Not an abscess."]})
        steps = [verdict(i, FACTUAL) for i in (1, 2, 3)]
        steps[2]["options_addressed"] = ["E"]  # a label the four-option case does not have
        return Reply.json({"steps": steps})

    llm_server.script = reply
    path = tmp_path / "p.jsonl"
    row = _case(FOUR, "A", prediction="A", prediction_rationale="Intra-axial. Necrotic rim.")
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    judge.score(path, "ddx-steps", out=out, judges=[MODEL], api_base=llm_server.url)
    record = next(iter(iter_records(out)))
    # Steps address A and B (verdict()), then C twice and E: of B, C and E only B and C count.
    judged = next(j for j in record.judgments if j.criterion == "distractors_addressed")
    assert record.scores["distractors_addressed"] == 2
    assert judged.details["options"] == ["B", "C"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """An annotate study (ANY_COUNT) of a seven-option and a four-option case, served on a free
    port: the base URL of alice's queue and the item ids."""
    path = tmp_path / "preds.jsonl"
    rows = [
        _case(SEVEN, "G", "seven", prediction="F", prediction_rationale="It is F."),
        _case(FOUR, "D", "four", prediction="D", prediction_rationale="It is D."),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    study = open_study(path, _any_count(tmp_path), ["alice"], 1, db=tmp_path / "a.sqlite")
    server = AnnotationServer(study).start()
    try:
        yield rater_links(study, server.url)["alice"], {r["title"]: r["title"] for r in rows}
    finally:
        server.stop()
        study.store.close()


def test_the_annotate_form_shows_the_case_letters(served: tuple[str, dict[str, str]]) -> None:
    base, _ = served
    pages = [httpx.get(f"{base}items/{n}", timeout=120).text for n in (1, 2)]
    seven = next(p for p in pages if "Diffuse midline glioma" in p)
    four = next(p for p in pages if "Metastasis" in p)
    assert re.findall(r"<li class=\"[^\"]*\"><b>([A-J])</b>", seven) == list("ABCDEFG")
    assert re.search(r'class="chosen"><b>F</b>', seven)
    assert re.search(r'class=" correct"><b>G</b>', seven)
    assert re.findall(r"<li class=\"[^\"]*\"><b>([A-J])</b>", four) == list("ABCD")
    assert "The candidate&#39;s chosen answer: F. Choroid plexus papilloma" in seven


def test_the_annotate_form_of_an_open_ended_case_has_no_options(tmp_path: Path) -> None:
    study = open_study(CHAT, "reference", ["alice"], 1, db=tmp_path / "a.sqlite")
    server = AnnotationServer(study).start()
    try:
        base = rater_links(study, server.url)["alice"]
        pages = [httpx.get(f"{base}items/{n}", timeout=120).text for n in range(1, 7)]
    finally:
        server.stop()
        study.store.close()
    hydro = next(p for p in pages if "Is there hydrocephalus?" in p)
    assert "<h2>Options</h2>" not in hydro and "chosen answer:" not in hydro
    # The question and the reference answer, shown in their own place, not folded away.
    assert re.search(r"<h2>Question</h2><p class=\"text\">Is there hydrocephalus\?", hydro)
    assert re.search(r"<h2>Reference answer</h2><p class=\"text\">Yes\. The lateral", hydro)
    # A closed-ended row: `reference`'s judge sees the question without its options block,
    # and so do people (the page shows what the judge sees).
    seven = next(p for p in pages if "pontine mass engulfing the basilar artery" in p)
    assert "<h2>Options</h2>" not in seven and "Diffuse midline glioma" not in seven


def test_the_report_of_chat_accuracy_results(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    judge.score(CHAT, "accuracy", out=out)
    page = build_report(out)
    assert "final_answer" in page
    # Four of six are scored (two open-ended are not; the hedge scores 0): 2 correct of 4,
    # and 3 of the 4 answered.
    records = {r.id: r.scores for r in iter_records(out)}
    assert sorted(map(str, (s["final_answer"] for s in records.values()))) == [
        "0", "0", "1", "1", "None", "None"
    ]  # fmt: skip
    assert re.search(r"0\.50", page) and re.search(r"0\.75", page)


@pytest.mark.parametrize("rubric_id", ["ddx", "education"])
def test_rubrics_that_count_four_distractors_refuse_other_counts(
    rubric_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "p.jsonl"
    rows = [_case(dict(FOUR, E="Lymphoma"), "A", "five"), _case(SEVEN, "G", "seven")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = validate_items(path, rubric=load_rubric(rubric_id))
    assert report.n_valid == 1 and [(p.line, p.field) for p in report.problems] == [(2, "options")]
    assert f"rubric {rubric_id}'s anchors count the distractors of 5 (option_count)" in (
        report.problems[0].message
    )
    # The gate is not in the hash: adding it re-judged no 1.0 result.
    text = load_rubric(rubric_id).model_dump(mode="json")
    ungated = tmp_path / "ungated.yaml"
    ungated.write_text(json.dumps({k: v for k, v in text.items() if k != "option_count"}))
    assert rubric_hash(load_rubric(ungated)) == rubric_hash(load_rubric(rubric_id))
