"""Cases files (judge.load.cases): every format loads MedThinkVQA-shaped rows as plain values,
predictions join to them by id, and every bad input is one error naming file:line:field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cases_support import (
    CHAPTERS,
    case_rows,
    predictions_for,
    write_csv,
    write_jsonl,
    write_parquet,
    write_saved_dataset,
)

from judge.errors import ConfigError, InputError
from judge.load.cases import Cases, case_id, load_cases
from judge.load.inputs import make_item, read_items, validate_items
from judge.options import RunOptions

ROWS = case_rows(4)


def _cases(tmp_path: Path, kind: str, rows: list[dict[str, Any]] = ROWS) -> Path:
    if kind == "parquet":
        return write_parquet(tmp_path / "test.parquet", rows)
    if kind == "jsonl":
        return write_jsonl(tmp_path / "test.jsonl", rows)
    if kind == "csv":
        return write_csv(tmp_path / "test.csv", rows)
    return write_saved_dataset(tmp_path / "saved", rows)


def _error(call: Any) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "csv", "saved"])
def test_every_format_joins_predictions_of_only_id_and_outputs(tmp_path: Path, kind: str) -> None:
    cases = load_cases(_cases(tmp_path, kind))
    preds = write_jsonl(tmp_path / "preds.jsonl", predictions_for(ROWS))
    items = read_items(preds, cases=cases)
    assert [i.id for i in items] == [r["title"] for r in ROWS]
    first = items[0].prediction
    # The options arrived as a JSON string (as a parquet round trip gives them).
    assert first.options == json.loads(ROWS[0]["options"])
    assert first.correct_answer == "B" and first.prediction == "B"
    history = ROWS[0]["CLINICAL_HISTORY"]
    assert first.model_dump()["CLINICAL_HISTORY"] == history
    assert first.metadata()["ICD Chapter"] == CHAPTERS[0]
    assert len(items[-1].prediction.images) == 49
    assert [im.caption for im in items[1].prediction.images] == [
        "Image 1 of case 1.",
        "Image 2 of case 1.",
    ]


@pytest.mark.parametrize("kind", ["parquet", "saved"])
def test_typed_columns_become_plain_python_values(tmp_path: Path, kind: str) -> None:
    cases = load_cases(_cases(tmp_path, kind))
    row = cases.rows[ROWS[1]["title"]]
    assert row["is_longitudinal"] is True and type(row["timepoint_count"]) is int
    assert cases.rows[ROWS[0]["title"]]["interval_text"] is None
    meta = make_item(
        {"title": ROWS[1]["title"], "prediction": "B"}, cases=cases
    ).prediction.metadata()
    # ICD chapter III's 99-character title is a slice too (`--by "ICD Chapter"`).
    assert meta["ICD Chapter"] == CHAPTERS[1]
    assert meta["is_longitudinal"] is True and meta["timepoint_count"] == 2


def test_nan_and_numpy_scalars_are_plain_values(tmp_path: Path) -> None:
    # pandas writes a column with a gap as float64 with NaN: the NaN is a missing value.
    rows = [{**ROWS[0], "interval_text": float("nan"), "timepoint_count": 1.0}]
    cases = load_cases(write_parquet(tmp_path / "c.parquet", rows))
    assert cases.rows[ROWS[0]["title"]]["interval_text"] is None
    assert (
        case_id(np.int64(7)) == "7" and case_id(7.0) == "7" and case_id(np.float64("nan")) is None
    )
    row = {"title": np.str_(ROWS[0]["title"]), "correct_answer": np.str_("B"), "prediction": "B"}
    assert make_item(row, cases=cases).prediction.correct_answer == "B"


def test_int_ids_in_parquet_match_text_ids_in_json(tmp_path: Path) -> None:
    rows = [{**row, "id": 7 + i} for i, row in enumerate(ROWS)]
    cases = load_cases(write_parquet(tmp_path / "c.parquet", rows), id_field="id")
    preds = write_jsonl(
        tmp_path / "p.jsonl", [{"id": "7", "prediction": "A"}, {"id": 8, "prediction": "B"}]
    )
    assert [i.id for i in read_items(preds, "id", cases)] == ["7", "8"]


def test_unknown_id_names_the_predictions_file_and_line(tmp_path: Path) -> None:
    cases = load_cases(_cases(tmp_path, "parquet"))
    lines = [*predictions_for(ROWS[:1]), {"title": "not a case", "prediction": "A"}]
    preds = write_jsonl(tmp_path / "preds.jsonl", lines)
    report = validate_items(preds, cases=cases)
    cases_path = tmp_path / "test.parquet"
    assert [str(p) for p in report.problems] == [
        f"{preds}:2: field 'title': 'not a case' is not among the 4 cases of {cases_path}"
    ]


def test_cases_no_prediction_names_are_listed_as_missing(tmp_path: Path) -> None:
    cases = load_cases(_cases(tmp_path, "jsonl"))
    preds = write_jsonl(tmp_path / "preds.jsonl", predictions_for([ROWS[2], ROWS[0]]))
    report = validate_items(preds, cases=cases)
    assert report.n_valid == 2 and report.missing == [ROWS[1]["title"], ROWS[3]["title"]]


def test_a_field_that_disagrees_with_the_case_is_an_error(tmp_path: Path) -> None:
    path = _cases(tmp_path, "parquet")
    cases = load_cases(path)
    title = ROWS[0]["title"]
    # The same values in other spellings agree: options as a dict, the answer as "(b)".
    same = {"title": title, "options": json.loads(ROWS[0]["options"]), "correct_answer": "(b)"}
    assert make_item({**same, "ICD Chapter": CHAPTERS[0], "prediction": "B"}, cases=cases)
    message = _error(lambda: make_item({"title": title, "correct_answer": "C"}, cases=cases))
    assert message == (
        f"<item>:1: field 'correct_answer': 'C' disagrees with the case at {path}:1 ('B'); "
        "drop the field from the predictions line, or make the two agree"
    )
    other = _error(lambda: make_item({"title": title, "ICD Chapter": "Neoplasms"}, cases=cases))
    assert "field 'ICD Chapter': 'Neoplasms' disagrees" in other


def test_saved_dataset_errors_name_the_shard_and_its_row(tmp_path: Path) -> None:
    rows = [*ROWS[:3], {**ROWS[3], "correct_answer": "Z"}]
    root = write_saved_dataset(tmp_path / "saved", rows)
    message = _error(lambda: load_cases(root))
    assert message.startswith(f"{root}/data-00001-of-00002.arrow:2: field 'correct_answer': ")


def test_a_datasetdict_and_foreign_directories_are_refused(tmp_path: Path) -> None:
    whole = tmp_path / "dict"
    write_saved_dataset(whole / "test", ROWS)
    (whole / "dataset_dict.json").write_text(json.dumps({"splits": ["test"]}))
    assert (
        _error(lambda: load_cases(whole))
        == f"{whole}: a DatasetDict: give one split's directory (test)"
    )
    assert "not a save_to_disk dataset" in _error(lambda: load_cases(tmp_path))
    escaping = write_saved_dataset(tmp_path / "escaping", ROWS)
    (escaping / "state.json").write_text(json.dumps({"_data_files": [{"filename": "../x.arrow"}]}))
    assert "is outside" in _error(lambda: load_cases(escaping))


def test_hostile_cases_files_are_one_line_errors(tmp_path: Path) -> None:
    dup = write_jsonl(tmp_path / "dup.jsonl", [ROWS[0], ROWS[1], ROWS[0]])
    assert _error(lambda: load_cases(dup)) == (
        f"{dup}:3: field 'title': duplicate id {ROWS[0]['title']!r} (first at {dup}:1)"
    )
    fake = tmp_path / "fake.parquet"
    fake.write_text("title,options\nnot,parquet\n")
    assert _error(lambda: load_cases(fake)).startswith(f"{fake}: not a readable parquet file")
    for name in ("empty.jsonl", "empty.csv", "empty.parquet"):
        (tmp_path / name).write_text("")
        assert _error(lambda: load_cases(tmp_path / name))  # noqa: B023
    assert _error(lambda: load_cases(tmp_path / "empty.jsonl")).endswith("holds no cases")
    no_id = write_parquet(
        tmp_path / "no_id.parquet", [{k: v for k, v in r.items() if k != "title"} for r in ROWS]
    )
    assert _error(lambda: load_cases(no_id)) == (
        f"{no_id}:1: field 'title': missing (it identifies the case; see --id-field)"
    )
    listed = tmp_path / "listed.jsonl"
    listed.write_text(json.dumps(ROWS[0]) + "\n[1, 2]\n")
    assert _error(lambda: load_cases(listed)) == f"{listed}:2: expected an object, got list"
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    assert _error(lambda: load_cases(bad_json)).startswith(f"{bad_json}:2: not valid JSON")
    assert "unknown cases format" in _error(
        lambda: load_cases(write_jsonl(tmp_path / "c.txt", ROWS))
    )
    assert _error(lambda: load_cases(tmp_path / "nope.parquet")).endswith(
        "no such cases file or directory"
    )


def test_a_bad_case_row_names_its_csv_line(tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[1], "options": '{"A": "only one"}'}]
    path = write_csv(tmp_path / "c.csv", rows)
    assert _error(lambda: load_cases(path)).startswith(f"{path}:3: field 'options': ")


def test_a_file_is_loaded_again_once_changed(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ROWS[:2])
    first = load_cases(path)
    assert load_cases(path) is first  # one load per file version
    write_jsonl(path, ROWS)
    again = load_cases(path)
    assert isinstance(again, Cases) and len(again) == 4


def test_options_as_a_parquet_struct_with_letters_other_rows_have(tmp_path: Path) -> None:
    # A struct column holds the union of the rows' keys: a letter a row lacks reads as null.
    dicts = [{**row, "options": json.loads(row["options"])} for row in ROWS[:2]]
    dicts[1]["options"]["F"] = None
    cases = load_cases(write_parquet(tmp_path / "c.parquet", dicts))
    item = make_item({"title": ROWS[0]["title"], "prediction": "B"}, cases=cases)
    assert item.prediction.options == json.loads(ROWS[0]["options"])


def test_the_cases_option_applies_where_items_are_joined_and_is_checked() -> None:
    RunOptions(cases="test.parquet").check_use("serve")
    with pytest.raises(ConfigError, match="not to score_frame: a DataFrame's rows"):
        RunOptions(cases="test.parquet").check_use("frame")
    for bad in ("", "  ", 3, True):
        with pytest.raises(ConfigError, match=r"cases \(--cases\) must be a cases file"):
            RunOptions(cases=bad)
