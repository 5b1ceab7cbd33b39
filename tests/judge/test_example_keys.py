"""The bundled example's case keys (#25): examples/keys.jsonl is what examples/make_keys.py
writes from the hand-written examples/keys.source.yaml, and it keys every bundled case with
the checklist the issue asks for."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from judge.contracts.case_keys import CaseKey, case_material_hash
from judge.load.inputs import read_items
from judge.load.keys import load_keys

EXAMPLES = Path(__file__).parents[2] / "examples"
KEYS = EXAMPLES / "keys.jsonl"
# Every bundled file that holds all 12 cases, one per line, by title.
RUNS = ["predictions.jsonl", *(f"predictions/{t}.jsonl" for t in ("strong", "ungrounded"))]
RUNS += [f"predictions/{t}.jsonl" for t in ("hallucinating", "terse")]


def _make_keys() -> Any:
    spec = importlib.util.spec_from_file_location("make_keys", EXAMPLES / "make_keys.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_keys"] = module
    spec.loader.exec_module(module)
    return module


def test_the_keys_file_is_what_make_keys_writes_from_the_source() -> None:
    make = _make_keys()
    assert KEYS.read_text(encoding="utf-8") == make.render(make.build())


@pytest.mark.parametrize("run", RUNS)
def test_every_bundled_case_is_keyed_by_its_own_material(run: str) -> None:
    path = EXAMPLES / run
    keys = load_keys(KEYS)
    items = read_items(path)
    assert len(items) == len(keys) == 12
    # Every case keyed, no key without a case, every case_hash the case's material: or raises.
    keys.check((item.id, item.prediction, str(path), item.line) for item in items)
    assert keys.reviewed() == {"draft": 0, "clinician": 0, "author": 12}


def test_the_other_bundled_files_share_the_keyed_material() -> None:
    keys = load_keys(KEYS)
    # The pairs repeat a case, so their id is pair_id; the key is still the case's, by title.
    for name, id_field in (("adversarial.jsonl", "title"), ("pairs.jsonl", "pair_id")):
        for item in read_items(EXAMPLES / name, id_field):
            key = keys.key(item.prediction.title)
            assert key is not None and key.case_hash == case_material_hash(item.prediction)


def test_every_key_has_the_checklist_the_issue_asks_for() -> None:
    make = _make_keys()
    cases = make.bundled_cases()
    keys = load_keys(KEYS)
    assert list(keys.by_case) == list(cases)  # in the cases' order
    for title, key in keys.by_case.items():
        assert make.shape_problems(key, cases[title]) == [], title
        assert key.content_hash == key.key_hash() and key.edits == []
        assert key.drafted.by == "hand:judge maintainers" and key.review is not None
        assert (key.status, key.review.role) == ("reviewed", "author")
        assert key.review.at >= key.drafted.at
        # Discriminators argue for the right answer and against every distractor.
        for_ = {i.option for i in key.items if i.stance == "for"}
        against = {i.option for i in key.items if i.stance == "against"}
        assert cases[title].correct_answer in for_ - against
        assert against == set(cases[title].options) - {cases[title].correct_answer}


def test_the_shape_check_finds_what_a_key_lacks() -> None:
    make = _make_keys()
    case = make.bundled_cases()["Sudden left flank pain in a 46-year-old man"]
    key = load_keys(KEYS).key(case.title)
    assert key is not None
    kept = [i for i in key.items if i.option != "B" and i.kind != "teaching_point"]
    wrong = next(i for i in key.items if i.kind == "must_not_miss").model_copy(
        update={"option": "E"}
    )
    broken = CaseKey.model_validate(
        key.model_dump() | {"items": [*kept, wrong], "content_hash": None}
    )
    assert make.shape_problems(broken, case) == [
        "no discriminator for option(s) B",
        "not exactly one must_not_miss and one urgent_action",
        "the must-not-miss names the correct answer, not an alternative",
        "0 teaching points, not 3-8",
    ]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda s: s["keys"].pop(), "no key for bundled case 'Projectile"),
        (lambda s: s["keys"][0].update(teaching_point=[]), "unknown section(s) teaching_point"),
        (lambda s: s["keys"][1].update(case="Not a case"), "not a bundled case"),
        (lambda s: s["keys"][2]["teaching_points"].pop(), "2 teaching points, not 3-8"),
    ],
)
def test_make_keys_refuses_a_source_that_fails_its_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any, words: str
) -> None:
    make = _make_keys()
    source = yaml.safe_load((EXAMPLES / "keys.source.yaml").read_text(encoding="utf-8"))
    edit(source)
    monkeypatch.setattr(make, "SOURCE", tmp_path / "keys.source.yaml")
    make.SOURCE.write_text(yaml.safe_dump(source), encoding="utf-8")
    with pytest.raises(SystemExit, match=re.escape(words)):
        make.build()


def test_the_readme_shows_a_bundled_key_trimmed() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    shown = json.loads(re.findall(r"```json\n(.*?)```", readme, re.S)[0])
    key = load_keys(KEYS).key(shown["case"])
    assert key is not None and shown["case_hash"] == key.case_hash
    assert shown["content_hash"] == key.content_hash
    items = [i.model_dump(exclude_none=True) for i in key.items]
    assert shown["items"] and all(item in items for item in shown["items"])
    # The record judged with that key carries its content hash.
    record = json.loads(re.findall(r"```json\n(.*?)```", readme, re.S)[1])
    assert record["id"] == shown["case"] and record["key_hash"] == key.content_hash
    assert record["rubric"]["id"] == "keys" and "--keys" in readme
    # The must-not-miss table names each key's option.
    table = dict(re.findall(r"^\| (\d+) \| ([A-E]), ", readme, re.M))
    keyed = [
        next(i.option for i in key.items if i.kind == "must_not_miss")
        for key in load_keys(KEYS).by_case.values()
    ]
    assert table == {str(n): option for n, option in enumerate(keyed)}
