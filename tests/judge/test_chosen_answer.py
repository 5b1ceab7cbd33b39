"""The judge sees what the clinician sees (issue 24 §3): a rubric that judges a choice shows
the judge a computed "The candidate's chosen answer" section, and the annotation page shows
people the same line, word for word (before, the judge was never shown the chosen option)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from judge.annotate.page import case_view, prediction_view
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import open_study
from judge.contracts import Prediction
from judge.judging.prompts import render_prompt, render_stage_prompt
from judge.load.inputs import Item
from judge.load.rubric import load_rubric


def _case(title: str, reasoning: str, letter: str) -> dict:
    """A synthetic closed-ended case (written for this test)."""
    return {
        "title": title,
        "CLINICAL_HISTORY": "A 50-year-old man with three weeks of fever and foul sputum.",
        "IMAGING_FINDINGS": "Chest CT: a 5 cm thick-walled right lower lobe cavity.",
        "discussion": "Lung abscess: a cavity with an air-fluid level after aspiration.",
        "options": {
            "A": "Reactivation tuberculosis",
            "B": "Squamous cell carcinoma",
            "C": "Lung abscess",
            "D": "Granulomatosis with polyangiitis",
            "E": "Aspergilloma",
        },
        "correct_answer": "C",
        "image_01_caption": "Axial CT, lung window: cavity with an air-fluid level.",
        "prediction": letter,
        "prediction_rationale": reasoning,
        "prediction_twi": {"step3_differential_reasoning": reasoning},
    }


# A clear choice, and a hedge between two options.
CHOSE_C = _case("Chose C", "An air-fluid level favours abscess. Final answer: C", "C")
HEDGED = _case("Hedged", "Abscess or carcinoma; both are possible.", "B or C")


def _section(user: str) -> str:
    match = re.search(r"## The candidate's chosen answer\n(.+)", user)
    assert match, "the judge is not shown the candidate's choice"
    return match.group(1)


@pytest.mark.parametrize(
    ("row", "expected"),
    [(CHOSE_C, "C. Lung abscess"), (HEDGED, "no single answer (hedge: B/C)")],
)
def test_ddx_shows_the_judge_the_chosen_option_or_the_hedge(row: dict, expected: str) -> None:
    prompt = render_prompt(load_rubric("ddx"), Prediction(**row))
    assert prompt is not None
    assert _section(prompt.messages[1]["content"]) == expected


def test_ddx_steps_shows_the_choice_to_the_verdicts_stage_only() -> None:
    rubric = load_rubric("ddx-steps")
    split, verdicts = rubric.stages
    p = Prediction(**CHOSE_C)
    seen = render_stage_prompt(rubric, verdicts, p, ["Air-fluid level.", "So abscess."])
    assert seen is not None and _section(seen.messages[1]["content"]) == "C. Lung abscess"
    splitter = render_stage_prompt(rubric, split, p)
    assert splitter is not None and "chosen answer" not in splitter.messages[1]["content"]


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in (CHOSE_C, HEDGED)))
    study = open_study(predictions, "ddx", ["alice"], 1, db=tmp_path / "a.sqlite")
    server = AnnotationServer(study).start()
    try:
        base = httpx.URL(rater_links(study, server.url)["alice"]).path
        with httpx.Client(base_url=server.url) as client:
            texts = [client.get(f"{base}items/{n}").text for n in (1, 2)]
        yield texts, server.url
    finally:
        server.stop()
        study.store.close()


def test_the_annotate_page_and_the_judge_prompt_show_the_same_answer(
    pages: tuple[list[str], str],
) -> None:
    texts, _ = pages
    rubric = load_rubric("ddx")
    by_title = {row["title"]: row for row in (CHOSE_C, HEDGED)}
    shown_on_pages = []
    for page in texts:
        title = next(t for t in by_title if html.escape(t) in page)
        line = re.search(r'id="chosen-answer">([^<]+)</p>', page)
        assert line, f"no chosen answer on the page of {title}"
        on_page = html.unescape(line.group(1)).strip()
        prompt = render_prompt(rubric, Prediction(**by_title[title]))
        assert prompt is not None
        assert (
            on_page == f"The candidate's chosen answer: {_section(prompt.messages[1]['content'])}"
        )
        shown_on_pages.append(on_page)
    assert "The candidate's chosen answer: no single answer (hedge: B/C)" in shown_on_pages


def test_people_see_neither_options_nor_choice_where_the_judge_sees_neither() -> None:
    """ddx-steps-protocol's step judge sees only the final diagnosis: so does its rater."""
    item = Item(id="Chose C", line=1, prediction=Prediction(**CHOSE_C))
    protocol = load_rubric("ddx-steps-protocol")
    assert case_view(item, protocol).options == []
    assert prediction_view(item, protocol).chosen is None
    assert prediction_view(item, protocol).letter is None  # no "chosen" tag on an option
    ddx = load_rubric("ddx")
    assert len(case_view(item, ddx).options) == 5
    assert prediction_view(item, ddx).chosen == "C. Lung abscess"
