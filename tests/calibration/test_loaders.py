"""Loaders for `judge score` results and human score tables (long and wide)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import calibration
from calibration.data import unit_ids
from calibration.spreadsheet import escape_cell, unescape_cell


def test_judge_results_become_long_scores(results_file: Path) -> None:
    long = calibration.load_judge_results(results_file)
    assert set(long["rater"]) == {"judge-a", "judge-b"}
    assert set(long["rater_kind"]) == {"judge"}
    assert len(long) == 30 * 3
    assert long.attrs["unscored"] == 3
    assert "step" not in long.columns


def test_step_in_a_judgment_makes_step_level_items(tmp_path: Path) -> None:
    judgments = [
        {"criterion": "grounding", "judge": "m", "status": "scored", "score": s, "step": k}
        for k, s in ((1, 4), (2, 2))
    ]
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"id": "case-1", "judgments": judgments}) + "\n")
    long = calibration.load_judge_results(path)
    assert long["step"].tolist() == [1, 2]


def test_steps_mixed_with_item_level_scores_keep_integer_unit_ids(tmp_path: Path) -> None:
    # A multi-stage result: item-level measures (no step) beside per-step verdicts, some with
    # a list of labels; the float step column must still give "case-1#2", matching humans.
    judgments = [
        {"criterion": "step_count", "judge": "m", "status": "scored", "score": 2},
        {"criterion": "is_factual", "judge": "m", "status": "scored", "score": 1, "step": 1},
        {"criterion": "is_factual", "judge": "m", "status": "scored", "score": 0, "step": 2},
        {"criterion": "error_types", "judge": "m", "status": "scored", "step": 2,
         "score": ["Reasoning Err", "Image Understanding Err"]},
    ]  # fmt: skip
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"id": "case-1", "judgments": judgments}) + "\n")
    long = calibration.load_judge_results(path)
    assert unit_ids(long).tolist() == ["case-1", "case-1#1", "case-1#2", "case-1#2"]
    labels = long[long["criterion"] == "error_types"]["score"].tolist()
    assert labels == ["Image Understanding Err; Reasoning Err"]


def test_human_long_csv(human_file: Path) -> None:
    long = calibration.load_human_scores(human_file)
    assert set(long["rater_kind"]) == {"human"}
    assert set(long["criterion"]) == {"evidence_grounding", "hallucination"}
    assert long["score"].map(type).eq(float).all()


def test_human_wide_csv_keeps_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("item,dr_a,dr_b\n007,3,4\n008,,2\n")
    long = calibration.load_human_scores(path, criterion="coherence")
    assert sorted(long["item"].unique()) == ["007", "008"]
    assert set(long["criterion"]) == {"coherence"}
    assert len(long) == 3  # the empty cell is a missing rating, not a score


def test_human_wide_jsonl_with_criterion_column(tmp_path: Path) -> None:
    rows = [{"id": "a", "criterion": "x", "r1": 1, "r2": 2}, {"id": "b", "criterion": "y", "r1": 3}]
    path = tmp_path / "wide.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    long = calibration.load_human_scores(path)
    assert sorted(zip(long["item"], long["criterion"], long["rater"], strict=True)) == [
        ("a", "x", "r1"),
        ("a", "x", "r2"),
        ("b", "y", "r1"),
    ]


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": "a", "judgments": []}\n{"id": \n')
    with pytest.raises(calibration.InputFileError, match=r"results\.jsonl:2: not valid JSON"):
        calibration.load_judge_results(path)


def test_record_without_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"judgments": []}\n')
    with pytest.raises(calibration.InputFileError, match="field 'id'"):
        calibration.load_judge_results(path)


def test_unknown_rater_kind_is_refused() -> None:
    frame = pd.DataFrame(
        {"item": ["a"], "criterion": ["x"], "rater": ["r"], "rater_kind": ["robot"], "score": [1]}
    )
    with pytest.raises(calibration.CalibrationError, match="rater_kind"):
        calibration.normalize_long(frame)


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(calibration.InputFileError, match="no such file"):
        calibration.load_human_scores(tmp_path / "absent.csv")
    odd = tmp_path / "scores.xlsx"
    odd.write_text("x")
    with pytest.raises(calibration.InputFileError, match=r"\.csv, \.tsv, \.jsonl or \.json"):
        calibration.load_human_scores(odd)


_DEEP = '{"id": "a", "judgments": ' + "[" * 10_000 + "]" * 10_000 + "}"


@pytest.mark.parametrize("name", ["results.jsonl", "human.jsonl", "human.json"])
def test_deeply_nested_json_is_a_file_line_error(tmp_path: Path, name: str) -> None:
    # 10,000 levels exhaust the json module's recursion: a bad line, not a RecursionError.
    path = tmp_path / name
    good = '{"id": "b", "judgments": []}\n'
    path.write_text(_DEEP if name.endswith(".json") else good + _DEEP + "\n")
    where = "human.json" if name.endswith(".json") else f"{name}:2"
    load = (
        calibration.load_judge_results
        if name.startswith("results")
        else (calibration.load_human_scores)
    )
    with pytest.raises(calibration.InputFileError, match=rf"{where}: not valid JSON \(nested"):
        load(path)


@pytest.mark.parametrize("name", ["human.csv", "human.jsonl", "results.jsonl"])
def test_a_file_that_is_not_utf8_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_bytes(b"item,criterion,rater,score\nc\xff1,x,dr,3\n")
    else:
        path.write_bytes(b'{"id": "a", "judgments": []}\n{"id": "\xff"}\n')
    load = (
        calibration.load_judge_results
        if name.startswith("results")
        else (calibration.load_human_scores)
    )
    with pytest.raises(calibration.InputFileError, match="not UTF-8 text"):
        load(path)


def test_torn_last_line_of_a_killed_run_is_left_out(results_file: Path) -> None:
    # A killed `judge score` leaves its last record half written, without its newline.
    whole = calibration.load_judge_results(results_file)
    with results_file.open("a") as handle:
        handle.write('{"id": "case-99", "line": 31, "judgments": [{"criterion": "evid')
    torn = calibration.load_judge_results(results_file)
    pd.testing.assert_frame_equal(torn, whole)
    assert (whole.attrs["torn_line"], torn.attrs["torn_line"]) == (None, 31)


def test_a_bad_complete_line_stays_an_error(results_file: Path) -> None:
    with results_file.open("a") as handle:
        handle.write('{"id": "case-99", "judgm\n{"id": "case-98", "judgments": []}\n')
    with pytest.raises(calibration.InputFileError, match=r"results\.jsonl:31: not valid JSON"):
        calibration.load_judge_results(results_file)


@given(st.text())
def test_a_spreadsheet_escaped_cell_reads_back_exactly(text: str) -> None:
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_escaped_cells_of_a_csv_are_read_back_and_numbers_stay_numbers(tmp_path: Path) -> None:
    path = tmp_path / "human.csv"
    path.write_text(
        "item,criterion,rater,score,comment\n"
        "'-007,x,'@dr,-1,'=HYPERLINK(\"http://198.51.100.7\")\n"
        "008,x,dr,2,''=quoted\n"
    )
    long = calibration.load_human_scores(path)
    assert long["item"].tolist() == ["-007", "008"]
    assert long["rater"].tolist() == ["@dr", "dr"]
    assert long["score"].tolist() == [-1.0, 2.0]
    assert long["comment"].tolist() == ['=HYPERLINK("http://198.51.100.7")', "'=quoted"]


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        # A quoted comment spanning two lines, and a blank line: the bad row starts on line 5.
        (
            "h.csv",
            'item,criterion,rater,score,comment\na,c,r1,3,"two\nlines"\n\n,c,r2,4,\n',
            5,
        ),
        ("h.tsv", "item\tcriterion\trater\tscore\na\tc\tr1\t3\n\tc\tr2\t4\n", 3),
        (
            "h.jsonl",
            '{"item": "a", "criterion": "c", "rater": "r1", "score": 3}\n\n'
            '{"item": " ", "criterion": "c", "rater": "r2", "score": 4}\n',
            3,
        ),
    ],
)
def test_a_blank_item_id_names_its_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(calibration.InputFileError, match="field 'item': missing") as caught:
        calibration.load_human_scores(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), line, "item")


def test_an_empty_human_file_is_a_one_line_error(tmp_path: Path) -> None:
    # A 0-byte CSV was pandas' EmptyDataError, a traceback.
    for name in ("h.csv", "h.tsv", "h.jsonl"):
        path = tmp_path / name
        path.write_text("")
        with pytest.raises(calibration.InputFileError) as caught:
            calibration.load_human_scores(path)
        assert caught.value.path == str(path)


@pytest.mark.parametrize(
    ("name", "text", "line", "field"),
    [
        ("h.csv", "item,criterion,rater,score\na,c,r1,3\nb,c,r1,inf\n", 3, "score"),
        ("h.csv", "item,dr_a,dr_b\na,3,4\nb,2,-inf\n", 3, "dr_b"),
        (
            "h.jsonl",
            '{"item": "a", "criterion": "c", "rater": "r1", "score": 3}\n'
            '{"item": "b", "criterion": "c", "rater": "r1", "score": "nan"}\n',
            2,
            "score",
        ),
        ("h.json", '[{"item": "a", "dr_a": 1}, {"item": "b", "dr_a": Infinity}]', None, "dr_a"),
    ],
)
def test_a_non_finite_score_is_refused_at_its_line(
    tmp_path: Path, name: str, text: str, line: int | None, field: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(calibration.InputFileError, match="not a finite number") as caught:
        calibration.load_human_scores(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), line, field)


def test_a_non_finite_judge_score_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = {"id": "a", "judgments": [{"criterion": "c", "judge": "j", "score": 3}]}
    bad = {"id": "b", "judgments": [{"criterion": "c", "judge": "j", "score": float("inf")}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")  # Infinity, as json writes
    with pytest.raises(calibration.InputFileError, match="not a finite number") as caught:
        calibration.load_judge_results(path)
    assert (caught.value.line, caught.value.field) == (2, "judgments")
