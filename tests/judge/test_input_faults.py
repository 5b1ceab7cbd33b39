"""Inputs that said one thing and were read as another: a chat row whose inline fields
contradict its messages, and a `--cases` join where a null on one side "disagreed" with the
other side's value. Every case and row is synthetic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cases_support import case_rows, predictions_for, write_csv, write_parquet

from judge.errors import InputError
from judge.load.cases import load_cases
from judge.load.inputs import make_item, read_items

FOUR = "Which lesion?\nOptions:\nA. Meningioma\nB. Glioblastoma\nC. Abscess\nD. Metastasis"
OPTIONS = {"A": "Meningioma", "B": "Glioblastoma", "C": "Abscess", "D": "Metastasis"}


def _chat(**extra: Any) -> dict[str, Any]:
    turns = [
        {"role": "user", "content": FOUR},
        {"role": "assistant", "content": "Final: D\nExplanation: ring enhancement."},
    ]
    return {"messages": turns, "prediction": "D", **extra}


# ---------------------------------------------------------------- chat rows


@pytest.mark.parametrize(
    ("field", "value", "turn"),
    [
        ("options", {**OPTIONS, "D": "Lymphoma"}, "messages.0"),
        ("correct_answer", "C", "messages.1"),
        ("question", "Which artery?", "messages.0"),
        ("reference_answer", "Final: A", "messages.1"),
    ],
)
def test_an_inline_field_that_contradicts_the_messages_is_an_error(
    field: str, value: Any, turn: str
) -> None:
    with pytest.raises(InputError) as caught:
        make_item(_chat(**{field: value}))
    message = str(caught.value)
    assert message.startswith(f"<item>:1: field '{field}': ")
    assert f"disagrees with the messages ({turn}: " in message and "\n" not in message


def test_inline_fields_that_agree_with_the_messages_or_are_null_are_kept() -> None:
    # The same values in other spellings agree, as in the --cases join: options as a list,
    # the letter as "(d)"; a null carries nothing.
    row = _chat(
        options=[f"{k}. {v}" for k, v in OPTIONS.items()],
        correct_answer="(d)",
        question="Which lesion?",
        reference_answer=None,
    )
    prediction = make_item(row).prediction
    assert prediction.options == OPTIONS and prediction.correct_answer == "D"
    assert prediction.reference_answer == "Final: D\nExplanation: ring enhancement."


# ---------------------------------------------------------------- --cases: nulls


def test_an_empty_csv_column_does_not_disagree_with_the_predictions(tmp_path: Path) -> None:
    rows = [{**row, "prediction": None} for row in case_rows(3)]
    cases = load_cases(write_csv(tmp_path / "cases.csv", rows))
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(p) + "\n" for p in predictions_for(rows, "C")))
    items = read_items(preds, cases=cases)
    assert [i.prediction.prediction for i in items] == ["C", "C", "C"]


def test_a_null_on_either_side_means_that_side_does_not_carry_the_field(tmp_path: Path) -> None:
    rows = case_rows(2)
    rows[0]["ICD Chapter"] = None  # a null parquet value
    cases = load_cases(write_parquet(tmp_path / "cases.parquet", rows))
    title = rows[0]["title"]
    item = make_item({"title": title, "ICD Chapter": "Neoplasms", "prediction": "B"}, cases=cases)
    assert item.prediction.metadata()["ICD Chapter"] == "Neoplasms"
    # A null in the prediction line: the case's value stays.
    other = rows[1]["title"]
    item = make_item({"title": other, "options": None, "prediction": "B"}, cases=cases)
    assert item.prediction.options == json.loads(rows[1]["options"])
    # Two values still disagree.
    with pytest.raises(InputError, match="field 'correct_answer': 'C' disagrees"):
        make_item({"title": other, "correct_answer": "C"}, cases=cases)
