"""Shared pieces of the `judge keys review` tests (no tests here): synthetic cases, hand-made
draft keys, a live review server on 127.0.0.1, and the review form as a browser posts it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from test_annotate_support import Live

from judge.annotate.key_app import create_review_app
from judge.annotate.key_review import KeyReviewStudy, open_review
from judge.annotate.key_store import KeyState
from judge.annotate.server import AnnotationServer, rater_links
from judge.contracts.case_keys import CaseKey, KeyCheck, KeyDraft, case_material_hash
from judge.contracts.cases import Case

PAYLOAD = '<script>window.__pwned = 1</script><img src=x id="pwn-img">'


def review_case(i: int) -> dict[str, Any]:
    return {
        "title": f"review case {i}",
        "CLINICAL_HISTORY": f"Synthetic patient {i}: sudden chest pain radiating to the back.",
        "IMAGING_FINDINGS": "Widened mediastinum; intimal flap on CT angiography.",
        "image_01_caption": "CT angiogram, axial.",
        "options": {
            "A": "Aortic dissection",
            "B": "Myocardial infarction",
            "C": "Pneumothorax",
            "D": "Pulmonary embolism",
            "E": "Pericarditis",
        },
        "correct_answer": "A",
        "discussion": "An intimal flap is diagnostic; anticoagulation would be harmful.",
    }


ITEMS = [
    KeyCheck(criterion="Names aortic dissection.", points=8, kind="finding"),
    KeyCheck(
        criterion="Cites the intimal flap for dissection.",
        points=6,
        kind="discriminator",
        option="A",
        stance="for",
    ),
    KeyCheck(criterion=f"Urgent surgical referral. {PAYLOAD}", points=5, kind="urgent_action"),
    KeyCheck(criterion="Starts anticoagulation.", points=-8, kind="unsafe_action"),
]


def draft_key(case: dict[str, Any]) -> CaseKey:
    return CaseKey(
        case=case["title"],
        case_hash=case_material_hash(Case.model_validate(case)),
        items=ITEMS,
        drafted=KeyDraft(
            by="openai/test-judge", prompt_hash="0" * 16, at=datetime.now(timezone.utc)
        ),
        status="draft",
    ).stamped()


def write_inputs(tmp_path: Path, n: int = 2) -> tuple[Path, Path]:
    cases, keys = tmp_path / "cases.jsonl", tmp_path / "keys.jsonl"
    cases.write_text("".join(json.dumps(review_case(i)) + "\n" for i in range(n)))
    keys.write_text("".join(draft_key(review_case(i)).model_dump_json() + "\n" for i in range(n)))
    return cases, keys


@dataclass
class KeysLive(Live):
    """A running review server (`study` is the review) and the keys file it started with."""

    keys: Path = Path()

    @property
    def review(self) -> KeyReviewStudy:
        assert isinstance(self.study, KeyReviewStudy)
        return self.study


@pytest.fixture
def keys_live(tmp_path: Path) -> Iterator[KeysLive]:
    """Two draft keys, reviewers ana (clinician) and bob (author), one key each."""
    cases, keys = write_inputs(tmp_path)
    db = tmp_path / "keys.annotations.sqlite"
    review = open_review(keys, "ana:clinician,bob:author", cases=cases, db=db)
    server = AnnotationServer(review, create=create_review_app).start()
    try:
        yield KeysLive(server, review, rater_links(review, server.url), db, [], keys)  # type: ignore[arg-type]
    finally:
        server.stop()
        review.store.close()


def key_form(state: KeyState, csrf: str, **fields: str) -> dict[str, str]:
    """The form of a key page as a browser posts it unchanged, with `fields` set."""
    form = {"csrf": csrf, "version": str(state.version), "go": "save"}
    for n, item in enumerate(state.items):
        form |= {
            f"criterion_{n}": item.criterion,
            f"points_{n}": str(item.points),
            f"kind_{n}": item.kind,
            f"option_{n}": item.option or "",
            f"stance_{n}": item.stance or "",
        }
    form |= {"criterion_new": "", "points_new": "", "kind_new": "finding"}
    return form | fields
