"""Case keys (#25): the format, and a keys file's one-line errors before any call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judge.contracts.case_keys import (
    KEY_FORMAT,
    CaseKey,
    Letter,
    case_material,
    case_material_hash,
)
from judge.contracts.cases import LETTERS, Case, Prediction
from judge.errors import InputError
from judge.load.keys import load_keys

CASE = Case.model_validate(
    {
        "title": "Synthetic case 1",
        "CLINICAL_HISTORY": "A 40-year-old with sudden headache.",
        "IMAGING_FINDINGS": "Hyperdense basal cisterns.",
        "image_1_caption": "Axial CT",
        "options": {"A": "Subarachnoid haemorrhage", "B": "Migraine", "C": "Meningitis"},
        "correct_answer": "A",
        "discussion": "Blood in the basal cisterns is subarachnoid haemorrhage.",
    }
)


def item(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "criterion": "Names blood in the basal cisterns as against migraine",
        "points": 5,
        "kind": "discriminator",
        "option": "B",
        "stance": "against",
    }
    return {**base, **over}


def key(case: str = "Synthetic case 1", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": KEY_FORMAT,
        "case": case,
        "case_hash": case_material_hash(CASE),
        "items": [
            item(),
            {
                "criterion": "Advises CT angiography for an aneurysm",
                "points": 5,
                "kind": "urgent_action",
            },
            {
                "criterion": "Discharges the patient with analgesia",
                "points": -8,
                "kind": "unsafe_action",
            },
        ],
        "drafted": {"by": "hand:author", "at": "2026-12-07T21:00:00+00:00"},
        "status": "reviewed",
        "review": {"reviewer": "author", "role": "author", "at": "2026-12-07T21:05:00+00:00"},
    }
    return {**base, **over}


def write(path: Path, *rows: Any) -> Path:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    return path


def test_the_letter_type_is_the_cases_letters() -> None:
    assert Letter.__args__ == LETTERS  # type: ignore[attr-defined]


def test_a_key_round_trips_and_its_hash_covers_only_what_a_judge_is_asked() -> None:
    one = CaseKey.model_validate(key()).stamped()
    again = CaseKey.model_validate(json.loads(one.model_dump_json()))
    assert again == one and again.content_hash == one.key_hash()
    # A review changes provenance, not the question: the hash stays.
    draft = CaseKey.model_validate(key(status="draft", review=None))
    assert draft.key_hash() == one.key_hash()
    # Points changed: another question, another hash.
    edited = key()
    edited["items"][0] = item(points=3)
    assert CaseKey.model_validate(edited).key_hash() != one.key_hash()


def test_items_become_healthbench_items_with_their_kind() -> None:
    items = CaseKey.model_validate(key()).rubric_items()
    assert str(items[2]) == "[-8] Discharges the patient with analgesia"
    assert items[0].tags == ["kind:discriminator", "option:B"]


def test_the_key_writer_never_sees_a_candidates_text() -> None:
    prediction = Prediction.model_validate(
        {**CASE.model_dump(), "prediction": "B", "prediction_rationale": "migraine, surely"}
    )
    material = json.dumps(case_material(prediction))
    assert "migraine, surely" not in material and "Axial CT" in material
    # The material, and so the hash, ignores what the candidate wrote.
    assert case_material_hash(prediction) == case_material_hash(CASE)


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"points": 11}, "items.0.points", "less than or equal to 10"),
        ({"points": -11}, "items.0.points", "greater than or equal to -10"),
        ({"points": 2.5}, "items.0.points", "integer"),
        ({"points": "5"}, "items.0.points", "integer"),
        ({"points": 0}, "items.0", "must not be 0"),
        ({"criterion": "  "}, "items.0.criterion", "empty"),
        ({"criterion": ""}, "items.0.criterion", "at least 1"),
        ({"points": -3}, "items.0", "negative points"),
        ({"option": None}, "items.0", "names its option"),
        ({"stance": None}, "items.0", "stance"),
        ({"option": "Z"}, "items.0.option", "'A'"),
        ({"colour": "red"}, "items.0.colour", "Extra inputs"),
    ],
)
def test_a_bad_item_is_a_one_line_error_naming_file_line_and_field(
    tmp_path: Path, over: dict[str, Any], field: str, words: str
) -> None:
    bad = key()
    bad["items"][0] = item(**over)
    path = write(tmp_path / "keys.jsonl", key("other"), bad)
    with pytest.raises(InputError) as caught:
        load_keys(path)
    assert caught.value.line == 2 and caught.value.field == field
    assert words in caught.value.message and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"items": []}, "items"),
        ({"status": "reviewed", "review": None}, None),
        ({"status": "draft"}, None),
        ({"format": "judge-case-key/2"}, "format"),
        ({"case_hash": "abc"}, "case_hash"),
        ({"content_hash": "0" * 64}, None),
        ({"drafted": {"by": "m", "at": "2026-12-07T21:00:00"}}, "drafted.at"),
    ],
)
def test_a_bad_key_names_its_field(tmp_path: Path, over: dict[str, Any], field: str | None) -> None:
    path = write(tmp_path / "keys.jsonl", key(**over))
    with pytest.raises(InputError) as caught:
        load_keys(path)
    assert caught.value.line == 1 and caught.value.field == field


def test_a_case_keyed_twice_an_empty_file_and_bad_json_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"keys.jsonl:3: field 'case': .*already has a key on line 1"
    ):
        load_keys(write(tmp_path / "keys.jsonl", key(), key("other"), key()))
    with pytest.raises(InputError, match="no keys"):
        load_keys(write(tmp_path / "empty.jsonl", "\n"))
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        load_keys(write(tmp_path / "bad.jsonl", key(), "{oops\n"))
    with pytest.raises(InputError, match="a JSON object"):
        load_keys(write(tmp_path / "list.jsonl", [key()]))
    with pytest.raises(InputError, match="no such file"):
        load_keys(tmp_path / "absent.jsonl")


def test_keys_are_checked_against_the_runs_cases(tmp_path: Path) -> None:
    other = CASE.model_copy(update={"title": "Synthetic case 2"})
    second = key("Synthetic case 2", case_hash=case_material_hash(other))
    keys = load_keys(write(tmp_path / "keys.jsonl", key(), second))
    keys.check(
        [("Synthetic case 1", CASE, "p.jsonl", 1), ("Synthetic case 2", other, "p.jsonl", 2)]
    )
    assert keys.reviewed() == {"draft": 0, "clinician": 0, "author": 2}
    # A case of the run without a key: named by the predictions file's line.
    with pytest.raises(InputError, match=r"p.jsonl:3: field 'case': no key for case 'x'"):
        keys.check([("Synthetic case 1", CASE, "p.jsonl", 1), ("x", CASE, "p.jsonl", 3)])
    # A key without a case of the run: named by the keys file's line.
    with pytest.raises(InputError, match=r"keys.jsonl:2: field 'case': .*not a case of this run"):
        keys.check([("Synthetic case 1", CASE, "p.jsonl", 1)])
    # A case whose material changed since its key was built.
    changed = CASE.model_copy(update={"discussion": "Rewritten."})
    with pytest.raises(InputError, match=r"keys.jsonl:1: field 'case_hash': .*changed since"):
        keys.check([("Synthetic case 1", changed, "p.jsonl", 1)])
