"""Inputs that said one thing and were read as another, or not read at all: a chat row whose
inline fields contradict its messages, a `--cases` join where a null on one side "disagreed"
with the other side's value, UTF-16 files, a rubric with a key given twice, a FIFO given as an
input, an `--out` on the cases file, and queue ids that hold a line separator. Every case and
row is synthetic."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_cases_support import case_rows, predictions_for, write_csv, write_jsonl, write_parquet

from judge.annotate.study import read_queue
from judge.cli import cli
from judge.errors import ConfigError, InputError, RubricError
from judge.load.cases import load_cases
from judge.load.inputs import make_item, read_items, validate_items
from judge.load.rubric import builtin_rubrics, load_rubric
from judge.study.route import Pick, Queue, write_queue

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


# ---------------------------------------------------------------- UTF-16 and byte-order marks


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_named_as_such(tmp_path: Path, encoding: str) -> None:
    text = "".join(json.dumps(p) + "\n" for p in predictions_for(case_rows(2)))
    preds = tmp_path / "preds.jsonl"
    preds.write_text(text, encoding=encoding)
    report = validate_items(preds)
    assert [(p.line, str(p)) for p in report.problems] == [
        (1, f"{preds}:1: UTF-16 text: save it as UTF-8")
    ]
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(builtin_rubrics()["accuracy"].read_text(), encoding=encoding)
    with pytest.raises(RubricError, match=r"rubric\.yaml:1: UTF-16 text: save it as UTF-8$"):
        load_rubric(rubric)
    queue = tmp_path / "queue.txt"
    queue.write_text("synthetic case 0\n", encoding=encoding)
    with pytest.raises(InputError, match=r"queue\.txt:1: UTF-16 text: save it as UTF-8$"):
        read_queue(queue, {"synthetic case 0"})
    cases = tmp_path / "cases.csv"
    cases.write_text("title,prediction\nsynthetic case 0,B\n", encoding=encoding)
    with pytest.raises(InputError, match=r"cases\.csv:1: UTF-16 text: save it as UTF-8$"):
        load_cases(cases)


def test_a_utf8_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    rows = case_rows(2)
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8-sig")
    assert [i.id for i in read_items(preds)] == [r["title"] for r in rows]
    queue = tmp_path / "queue.txt"
    queue.write_text(f"{rows[1]['title']}\n", encoding="utf-8-sig")
    assert read_queue(queue, {r["title"] for r in rows}) == [rows[1]["title"]]


# ---------------------------------------------------------------- rubric YAML


def test_a_key_given_twice_in_a_rubric_is_refused_at_its_line(tmp_path: Path) -> None:
    text = builtin_rubrics()["accuracy"].read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("id:"))
    lines.insert(at + 1, "id: other")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("\n".join(lines) + "\n")
    with pytest.raises(RubricError) as caught:
        load_rubric(rubric)
    assert str(caught.value) == (
        f"{rubric}:{at + 2}: field 'id': given twice (first at line {at + 1}): keep one"
    )


# ---------------------------------------------------------------- what is not a regular file


def _finishes(call: Callable[[], Any], fifo: Path) -> BaseException | None:
    """What `call` raised (None: nothing), failing the test if it blocks on `fifo`."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            raised.append(None)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)  # a refusal takes milliseconds; 30 s is for a loaded machine
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # release the blocked reader
        thread.join(timeout=30)
        pytest.fail(f"reading {fifo} blocked until a writer came")
    return raised[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
@pytest.mark.parametrize("name", ["cases.jsonl", "cases.csv", "cases.parquet"])
def test_a_fifo_given_as_cases_is_refused_without_blocking(tmp_path: Path, name: str) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    raised = _finishes(lambda: load_cases(fifo), fifo)
    assert isinstance(raised, InputError)
    assert str(raised) == f"{fifo}: not a regular file (a FIFO); give a file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_as_shard_predictions_or_rubric_is_refused(tmp_path: Path) -> None:
    from test_cases_support import write_saved_dataset

    saved = write_saved_dataset(tmp_path / "saved", case_rows(4))
    shard = sorted(saved.glob("data-*.arrow"))[-1]
    shard.unlink()
    os.mkfifo(shard)
    raised = _finishes(lambda: load_cases(saved), shard)
    assert str(raised) == f"{saved}/{shard.name}: not a regular file (a FIFO); give a file"
    fifo = tmp_path / "preds.jsonl"
    os.mkfifo(fifo)
    raised = _finishes(lambda: validate_items(fifo), fifo)
    assert str(raised) == f"{fifo}: not a regular file (a FIFO); give a file"
    os.rename(fifo, tmp_path / "rubric.yaml")
    raised = _finishes(lambda: load_rubric(tmp_path / "rubric.yaml"), tmp_path / "rubric.yaml")
    assert isinstance(raised, RubricError)
    assert str(raised) == f"{tmp_path / 'rubric.yaml'}: not a regular file (a FIFO); give a file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_as_results_is_refused_by_route_and_report(tmp_path: Path) -> None:
    from judge.report.html import build_report
    from judge.study.route import route

    fifo = tmp_path / "results.jsonl"
    os.mkfifo(fifo)
    for call in (lambda: route(fifo, 2), lambda: build_report(fifo)):
        raised = _finishes(call, fifo)
        assert str(raised) == f"{fifo}: not a regular file (a FIFO); give a file"


# ---------------------------------------------------------------- --out on the cases file


def test_out_on_the_cases_file_names_the_cases_file(tmp_path: Path) -> None:
    rows = case_rows(2)
    cases = write_jsonl(tmp_path / "cases.jsonl", rows)
    preds = write_jsonl(tmp_path / "preds.jsonl", predictions_for(rows))
    args = ["score", str(preds), "--cases", str(cases), "--rubric", "accuracy"]
    done = CliRunner().invoke(cli, [*args, "--out", str(cases)])
    assert done.exit_code == 2, done.output
    assert f"--out {cases} is the cases file" in done.output
    assert "predictions file" not in done.output
    assert cases.read_text() == "".join(json.dumps(r) + "\n" for r in rows)


# ---------------------------------------------------------------- route's queue lines


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1e"])
def test_an_id_that_a_queue_reader_would_split_is_refused(tmp_path: Path, separator: str) -> None:
    item = f"case{separator}one"
    assert len(item.splitlines()) == 2  # what `judge annotate --queue` would read
    queue = Queue("results.jsonl", 1, 0, None, 1, [Pick(item, "random", 1.0)])
    with pytest.raises(ConfigError, match="cannot be written as a queue line"):
        write_queue(queue, tmp_path / "queue.txt")
    assert not (tmp_path / "queue.txt").exists()
