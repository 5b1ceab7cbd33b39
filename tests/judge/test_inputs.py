"""Bad input is reported with file, line and field; nothing valid is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.errors import InputError
from judge.load.inputs import read_items, validate_items
from judge.store import idset

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _good(title: str, **extra: object) -> str:
    row = {"title": title, "options": list("VWXYZ"), "correct_answer": "A", **extra}
    return json.dumps(row)


def test_fixture_file_reads_with_options_in_both_shapes() -> None:
    items = read_items(FIXTURES / "predictions.jsonl")
    assert [i.line for i in items] == [1, 2, 3]
    assert items[1].prediction.options["B"] == "Idiopathic intracranial hypertension"
    assert [img.index for img in items[1].prediction.images] == [1, 2]


@pytest.mark.parametrize(
    ("bad_line", "field", "words"),
    [
        ('{"title": "x", ', None, "not valid JSON"),
        # Options may be absent (a HealthBench row has none), not malformed.
        (json.dumps({"title": "x", "options": 3, "correct_answer": "A"}), "options", "dictionary"),
        # An open-ended case has neither options nor a correct answer; a letter alone is wrong.
        (json.dumps({"title": "x", "correct_answer": "A"}), "correct_answer", "no options"),
        (json.dumps({"title": "x", "options": list("ABCD")}), "correct_answer", "required"),
        (
            json.dumps({"title": "x", "options": list("ABCDE"), "correct_answer": "F"}),
            "correct_answer",
            "A-E",
        ),
        (
            json.dumps({"title": "x", "options": list("ABCDE"), "correct_answer": 3}),
            "correct_answer",
            "string",
        ),
        (json.dumps({"options": list("ABCDE"), "correct_answer": "A"}), "title", "missing"),
        (_good("one"), "title", "duplicate id 'one'"),
        ("[1, 2]", None, "JSON object"),
    ],
)
def test_each_problem_names_file_line_and_field(
    tmp_path: Path, bad_line: str, field: str | None, words: str
) -> None:
    path = _write(tmp_path, [_good("one"), "", bad_line, _good("two")])
    report = validate_items(path)
    assert report.n_valid == 2
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.path, problem.line, problem.field) == (str(path), 3, field)
    assert words in str(problem)
    assert str(problem).startswith(f"{path}:3: ")


def test_id_field_can_be_any_field(tmp_path: Path) -> None:
    path = _write(tmp_path, [_good("same", case_id="c1"), _good("same", case_id="c2")])
    assert [i.id for i in read_items(path, id_field="case_id")] == ["c1", "c2"]
    with pytest.raises(InputError, match="duplicate id 'same'"):
        read_items(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        validate_items(tmp_path / "absent.jsonl")


def test_a_duplicate_is_found_after_the_seen_ids_went_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idset, "MEMORY_IDS", 3)  # 3 ids in memory, the rest on disk
    lines = [_good(f"case {i}") for i in range(20)]
    lines[17] = _good("case 1")  # seen 16 lines earlier, several spills ago
    lines[18] = _good("case 16")  # seen on the line before, still in memory
    path = _write(tmp_path, lines)
    report = validate_items(path)
    assert report.n_valid == 18
    where = [(p.path, p.line, p.field, str(p)) for p in report.problems]
    assert [w[:3] for w in where] == [(str(path), 18, "title"), (str(path), 19, "title")]
    assert "duplicate id 'case 1'" in where[0][3] and "duplicate id 'case 16'" in where[1][3]


def test_deeply_nested_json_is_a_bad_line_not_a_recursion_error(tmp_path: Path) -> None:
    # 10,000 levels on one line exhaust the json module's recursion.
    deep = '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}"
    path = _write(tmp_path, [_good("one"), deep, _good("two")])
    report = validate_items(path)
    assert report.n_valid == 2
    assert [str(p) for p in report.problems] == [f"{path}:2: not valid JSON (nested too deeply)"]
    with pytest.raises(InputError, match=r":2: not valid JSON \(nested too deeply\)"):
        read_items(path)  # what `judge annotate` loads predictions with


def _with_options(options: object) -> str:
    return json.dumps({"title": "x", "options": options, "correct_answer": "A"})


def test_options_list_keeps_the_letters_its_items_carry(tmp_path: Path) -> None:
    shuffled = ["B. Lymphoma", "A. Sarcoidosis", "(D) Silicosis", "C) Tuberculosis", "e: Other"]
    path = _write(tmp_path, [_with_options(shuffled)])
    options = read_items(path)[0].prediction.options
    assert options == {
        "A": "Sarcoidosis",
        "B": "Lymphoma",
        "C": "Tuberculosis",
        "D": "Silicosis",
        "E": "Other",
    }
    assert list(options) == list("ABCDE")
    # Items that carry no letter are lettered by position, as before.
    path = _write(tmp_path, [_with_options(["Sarcoidosis", "Lymphoma", "TB", "Silicosis", "x"])])
    assert read_items(path)[0].prediction.options["B"] == "Lymphoma"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ([f"{c}. option {c}" for c in "ABCDEFGHIJK"], "11 options, but at most 10 (A-J)"),
        (list("VWXYZQRSTUV"), "11 options, but at most 10 (A-J)"),
        (["A. only one"], "2 to 10 of them"),
        (["A. a", "B. b", "C. c", "D. d", "Silicosis"], "option 5 ('Silicosis') carries no letter"),
        (["A. a", "B. b", "B. c", "D. d", "E. e"], "option letter B is carried twice"),
        (["A. a", "B. b", "C. c", "D. d", "F. f"], "lettered from A without a gap"),
    ],
)
def test_options_list_that_cannot_be_read_is_refused(
    tmp_path: Path, options: list[str], words: str
) -> None:
    path = _write(tmp_path, [_good("one"), _with_options(options)])
    report = validate_items(path)
    assert report.n_valid == 1 and len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.line, problem.field) == (2, "options")
    assert words in problem.message
    assert "\n" not in str(problem)
