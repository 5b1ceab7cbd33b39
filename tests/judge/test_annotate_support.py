"""Shared pieces of the `judge annotate` tests (no tests here): synthetic predictions, a live
annotation server on 127.0.0.1, and helpers that read and post the rating form over HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from test_stages import FACTUAL, FIXTURES, MODEL, NONFACTUAL, scripted

import judge
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import Study, open_study
from tests.llm_server import LLMServer

PAYLOAD = '<script>window.__pwned = 1; alert("pwned")</script><img src=x id="pwn-img">'
RATED = [
    "evidence_grounding",
    "distractor_elimination",
    "clinical_integration",
    "medical_accuracy",
    "coherence",
    "hallucination",
]


def _case(n: int, title: str, reasoning: str, letter: str = "A") -> dict:
    return {
        "title": title,
        "CLINICAL_HISTORY": (
            f"A {30 + n}-year-old man, a smoker, has {n + 2} weeks of productive cough, night "
            "sweats and 4 kg weight loss; he returned from a long stay abroad last year."
        ),
        "IMAGING_FINDINGS": (
            f"Chest CT shows a {n + 2} cm thick-walled cavity in the apical right upper lobe "
            "with surrounding tree-in-bud nodules and no hilar mass."
        ),
        "discussion": "Reactivation tuberculosis: an upper-lobe cavity with tree-in-bud nodules.",
        "options": {
            "A": "Reactivation tuberculosis",
            "B": "Squamous cell carcinoma",
            "C": "Lung abscess",
            "D": "Granulomatosis with polyangiitis",
            "E": "Aspergilloma",
        },
        "correct_answer": "A",
        "correct_answer_text": "Reactivation tuberculosis",
        "image_01_caption": f"Axial CT, lung window: cavity {n}.",
        "image_01_modality": "CT",
        "prediction": letter,
        "prediction_rationale": f"Upper-lobe cavity. Final answer: {letter}",
        "prediction_twi": {
            "step1_per_image_findings": ["Right upper lobe cavity."],
            "step2_integrated_summary": "Cavitating upper-lobe lesion.",
            "step3_differential_reasoning": reasoning,
        },
    }


def write_predictions(path: Path, n_items: int = 4) -> list[str]:
    """Synthetic predictions (the shape of tests/fixtures/predictions.jsonl); item 2's
    reasoning carries a script payload. Returns the item ids in file order."""
    rows = [
        _case(
            0,
            "Cavity in a smoker",
            "The apical cavity with tree-in-bud nodules, night sweats and weight loss after a "
            "stay abroad point to reactivation tuberculosis. No hilar mass or thick nodular "
            "wall argues against squamous cell carcinoma; there is no air-fluid level for an "
            "abscess; no renal or sinus disease for granulomatosis with polyangiitis; no "
            "mobile intracavitary ball for aspergilloma. Final answer: A",
        ),
        _case(1, "Payload case <b>bold?</b>", f"Reasoning with markup {PAYLOAD} then (C).", "C"),
    ]
    rows += [
        _case(i, f"Synthetic case {i}", f"Case {i}: cavity, so tuberculosis (A).")
        for i in range(2, n_items)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:n_items]), encoding="utf-8")
    return [r["title"] for r in rows[:n_items]]


@dataclass
class Live:
    """A running annotation server and what the tests need to talk to it."""

    server: AnnotationServer
    study: Study
    links: dict[str, str]
    db: Path
    ids: list[str]

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **headers: str) -> httpx.Client:
        """A client that sends the app's own Origin (as a browser does on its forms)."""
        return httpx.Client(base_url=self.url, headers={"Origin": self.url, **headers})

    def path(self, rater: str) -> str:
        return httpx.URL(self.links[rater]).path


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """Four items, raters alice/bob/carol, two raters per item, served on a free port."""
    predictions = tmp_path / "preds.jsonl"
    ids = write_predictions(predictions)
    db = tmp_path / "preds.annotations.sqlite"
    study = open_study(predictions, "ddx", ["alice", "bob", "carol"], 2, db=db)
    server = AnnotationServer(study).start()
    try:
        yield Live(server, study, rater_links(study, server.url), db, ids)
    finally:
        server.stop()
        study.store.close()


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the rating form has no CSRF field"
    return found.group(1)


def form_for(scores: dict[str, int], csrf: str, comment: str = "") -> dict[str, str]:
    data = {f"score_{c}": str(v) for c, v in scores.items()}
    return {**data, "csrf": csrf, "comment": comment, "go": "next"}


def rate(
    client: httpx.Client, base: str, n: int, scores: dict[str, int], comment: str = ""
) -> None:
    """Open item n of a rater's queue and submit `scores`, as the form does."""
    page = client.get(f"{base}items/{n}")
    assert page.status_code == 200
    response = client.post(f"{base}items/{n}", data=form_for(scores, csrf_of(page.text), comment))
    assert response.status_code == 303, response.text


# What the step tests give item 1 of the ddx-steps study, as stored: labels sorted, and no
# error types on a factual step.
STEP_ANSWERS = {
    1: {"verifiable": 1, "is_factual": 1, "is_critical": 1, "options_addressed": ["A", "B"]},
    2: {"verifiable": 1, "is_factual": 0, "is_critical": 1, "options_addressed": ["C"],
        "error_types": ["Image Understanding Err", "Reasoning Err"]},
    3: {"verifiable": 1, "is_factual": 1, "is_critical": 0, "options_addressed": []},
}  # fmt: skip


@dataclass
class StepsLive(Live):
    """A `ddx-steps` study: the first two items' steps come from a judged run (`results`),
    the third item is not in it and is split into sentences."""

    results: Path
    predictions: Path


@pytest.fixture
def steps_live(llm_server: LLMServer, tmp_path: Path) -> Iterator[StepsLive]:
    """tests/fixtures/predictions.jsonl judged with ddx-steps over HTTP to the scripted
    server (every item split into test_stages.STEPS; step 2 not factual), its last record
    dropped; then a study of one rater, alice, on all three items."""
    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    results = tmp_path / "results.jsonl"
    judge.score(
        FIXTURES / "predictions.jsonl", "ddx-steps", out=results, judges=[MODEL],
        api_base=llm_server.url, timeout=60.0,
    )  # fmt: skip
    predictions = FIXTURES / "predictions.jsonl"
    third = json.loads(predictions.read_text(encoding="utf-8").splitlines()[2])["title"]
    # Records are written as items finish, not in file order: drop the third item's by id.
    lines = results.read_text(encoding="utf-8").splitlines(keepends=True)
    partial = tmp_path / "judged-two.jsonl"
    partial.write_text("".join(x for x in lines if json.loads(x)["id"] != third), "utf-8")
    db = tmp_path / "steps.annotations.sqlite"
    study = open_study(predictions, "ddx-steps", ["alice"], 1, db=db, results=partial)
    server = AnnotationServer(study).start()
    try:
        ids = list(study.items)
        yield StepsLive(
            server, study, rater_links(study, server.url), db, ids, results, predictions
        )
    finally:
        server.stop()
        study.store.close()
