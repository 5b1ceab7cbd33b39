"""Chat-format instruction data (judge.load.chat): rows read into the one Prediction model,
scored end to end with `accuracy` (no LLM) and `reference` (over the local test server), and
every bad row reported at its file:line:field.

tests/fixtures/chat.jsonl is synthetic, written for these tests: four closed-ended rows (4, 7
and 5 options; a reply in a `prediction` field, as a model turn, in content parts, a hedge) and
two open-ended ones (one without an `id`, one with a system turn).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import judge
from judge.errors import InputError
from judge.load.inputs import read_items, validate_items
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "tests" / "fixtures" / "chat.jsonl"
MODEL = "openai/test-judge"
FOUR = "Options:\nA. Meningioma\nB. Glioblastoma\nC. Abscess\nD. Metastasis"


def _row(user: Any, *replies: Any, **extra: Any) -> dict[str, Any]:
    turns = [{"role": "user", "content": user}]
    turns += [{"role": "assistant", "content": r} for r in replies]
    return {"messages": turns, **extra}


def _write(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_chat_row_becomes_the_one_prediction_model() -> None:
    items = {item.id: item.prediction for item in read_items(CHAT)}
    assert list(items) == ["c4", "c7", "c5", "c4-hedge", "line-5", "o2"]
    four, seven, parts = items["c4"], items["c7"], items["c5"]
    assert four.options == {
        "A": "Meningioma",
        "B": "Glioblastoma",
        "C": "Brain abscess",
        "D": "Metastasis",
    }
    # The reference's letter is the key; the question is the user turn without its options
    # block, its answering instruction or the image placeholder.
    assert four.correct_answer == "B"
    assert four.question is not None and four.question.startswith("A 61-year-old man")
    assert "Options" not in four.question and "<image>" not in four.question
    assert four.reference_answer is not None and four.reference_answer.startswith("Final: B")
    # The reply: all of it in `prediction`, its explanation (without "Final: B" and the
    # label) in `prediction_rationale`, where ddx judges it.
    assert four.prediction is not None and four.prediction.startswith("Final: B\n")
    assert four.prediction_rationale is not None
    assert four.prediction_rationale.startswith("A necrotic rim-enhancing mass")
    assert seven.letters == tuple("ABCDEFG") and seven.correct_answer == "G"
    assert seven.prediction == "(G)"  # the model turn after the reference
    assert parts.correct_answer == "C" and parts.prediction == "final: d"
    assert (parts.model_extra or {})["chat_images"] == [{"url": "images/p3.png"}]
    open_ended = items["line-5"]  # no `id`: its line number
    assert open_ended.options is None and open_ended.correct_answer is None
    assert open_ended.reference_answer is not None and "glioblastoma" in open_ended.reference_answer
    assert items["o2"].prediction == "No hydrocephalus; the ventricles are normal in size."


def test_accuracy_reads_the_letter_with_no_llm() -> None:
    result = judge.score(CHAT, "accuracy")
    scores = {r.id: r.scores["final_answer"] for r in result.records}
    assert scores == {
        "c4": 1,
        "c7": 1,  # "(G)" of seven options
        "c5": 0,  # "final: d", the key is C
        "c4-hedge": 0,  # a hedge chose no single answer: 0, the denominator is every case
        "line-5": None,
        "o2": None,
    }
    hedge = next(r for r in result.records if r.id == "c4-hedge").judgments[0]
    assert (
        hedge.rationale
        == "no single answer: hedged: offers 2 answers (C, D) in prediction 'C or D'"
    )
    reasons = {r.id: r.judgments[0].reason for r in result.records if r.status != "scored"}
    assert reasons["line-5"] == reasons["o2"] == "open-ended case (no options)"


def test_judge_score_accuracy_end_to_end_and_resumed(tmp_path: Path) -> None:
    # (tests/judge/test_lazy_litellm.py runs the same command and checks no litellm import)
    out = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "judge", "score", str(CHAT), "--rubric", "accuracy"]
    done = subprocess.run(
        [*command, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = {r.id: r for r in iter_records(out)}
    assert records["c7"].scores["final_answer"] == 1 and records["c5"].scores["final_answer"] == 0
    # A rerun resumes: every record is kept, by the same ids (line numbers where no `id`).
    again = judge.score(CHAT, "accuracy", out=out)
    assert again.resumed == 6 and again.judged == 0


def _verdicts(findings: int, conclusion: int) -> dict[str, Any]:
    why = "Because the reply states it."
    return {
        "findings_correct": {"rationale": why, "score": findings},
        "findings_missed": {"rationale": why, "score": 0},
        "contradicts_reference": {"rationale": why, "score": 1 if conclusion < 3 else 0},
        "conclusion": {"rationale": why, "score": conclusion},
    }


def test_reference_rubric_end_to_end_over_http(llm_server: LLMServer, tmp_path: Path) -> None:
    def script(body: dict[str, Any], n: int) -> Reply:
        text = json.dumps(body["messages"])
        return Reply.json(_verdicts(1, 1) if "hydrocephalus" in text else _verdicts(4, 5))

    llm_server.script = script
    open_ended = tmp_path / "open.jsonl"
    rows = CHAT.read_text(encoding="utf-8").splitlines()[4:]
    open_ended.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    judge.score(open_ended, "reference", out=out, judges=[MODEL], api_base=llm_server.url)
    records = {r.id: r for r in iter_records(out)}
    assert set(records) == {"line-1", "o2"}  # line 1 of this file has no `id`
    assert records["line-1"].scores == {
        "findings_correct": 4,
        "findings_missed": 0,
        "contradicts_reference": 0,
        "conclusion": 5,
    }
    assert records["o2"].scores["conclusion"] == 1
    assert records["o2"].judged_field == "prediction"
    sent = [m["content"] for r in llm_server.requests for m in r.body["messages"]]
    user = next(m for m in sent if "Is there hydrocephalus?" in m)
    assert "Reference answer" in user and "obstruction at the aqueduct" in user
    assert "No hydrocephalus; the ventricles are normal in size." in user


def test_ddx_refuses_an_open_ended_row_before_judging(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # The five-option row (ddx's anchors count four distractors) and the two open-ended ones.
    rows = CHAT.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join([rows[2], rows[4], rows[5]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        judge.score(path, "ddx", judges=[MODEL], api_base=llm_server.url)
    problem = caught.value
    assert (problem.line, problem.field) == (2, "options")
    assert "open-ended case (no options), but rubric ddx shows the judges the" in problem.message
    assert "\n" not in str(problem)
    assert llm_server.requests == []  # nothing was paid for
    # --skip-invalid judges the closed-ended row and lists the two open-ended ones.
    result = judge.score(path, "ddx", judges=[MODEL], api_base=llm_server.url, skip_invalid=True)
    assert [r.id for r in result.records] == ["c5"]
    assert [p.line for p in result.skipped] == [2, 3]
    # The four- and seven-option rows: ddx counts four distractors (option_count: 5).
    report = validate_items(CHAT, rubric=load_rubric("ddx"))
    assert [p.line for p in report.problems] == [1, 2, 4, 5, 6]
    assert "the case has 7 options (A-G), but rubric ddx's anchors" in report.problems[1].message


def test_format_option_forces_or_refuses_chat(tmp_path: Path) -> None:
    plain = {"title": "p1", "options": list("ABCD"), "correct_answer": "A", "prediction": "A"}
    path = _write(tmp_path, [plain])
    report = validate_items(path, fmt="chat")
    assert [(p.line, p.field) for p in report.problems] == [(1, "messages")]
    # medthinkvqa: a row with `messages` is read as a case inline (here an open-ended one).
    chat = _row(f"Which?\n{FOUR}", "Final: B", id="x", title="x")
    item = read_items(_write(tmp_path, [chat]), fmt="medthinkvqa")[0]
    assert item.prediction.options is None and "messages" in (item.prediction.model_extra or {})
    assert read_items(_write(tmp_path, [chat]), fmt="auto")[0].prediction.correct_answer == "B"


def test_format_is_a_command_line_option(tmp_path: Path) -> None:
    plain = {"title": "p1", "options": list("ABCD"), "correct_answer": "A", "prediction": "A"}
    path = _write(tmp_path, [plain])
    command = [sys.executable, "-m", "judge", "score", str(path), "--rubric", "accuracy"]
    done = subprocess.run(
        [*command, "--format", "chat", "--out", str(tmp_path / "r.jsonl")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 2
    assert f"{path}:1: field 'messages': required in a chat row" in " ".join(done.stderr.split())


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        # A reference that answers with a letter, but no options block to choose from.
        (_row("Which is it?", "Final: D"), "messages.0.content", "no options block"),
        (
            _row("Which?\nOptions:\nA. a\nB. b\nD. d", "Final: A"),
            "messages.0.content",
            "lettered from A without a gap",
        ),
        (
            _row("Which?\nOptions:\nA. a\nB. b\nB. c", "Final: A"),
            "messages.0.content",
            "option letter B is carried twice",
        ),
        (_row("Which?\nOptions:\nA. only", "Final: A"), "messages.0.content", "2 to 10"),
        (_row("Which?\nOptions:\nnone given", "A"), "messages.0.content", "no lettered option"),
        ({"messages": {"role": "user", "content": "x"}}, "messages", "must be a list of turns"),
        ({"messages": ["hello"]}, "messages.0", "must be an object"),
        (_row(42, "A"), "messages.0.content", "must be text or a list of content parts"),
        (
            _row([{"type": "text", "text": "q"}, {"type": "audio", "data": "x"}], "A"),
            "messages.0.content.1",
            "a text part",
        ),
        (_row(f"Which?\n{FOUR}", ""), "messages.1.content", "empty: the reference answer"),
        (_row(f"Which?\n{FOUR}", "   \n"), "messages.1.content", "empty: the reference answer"),
        (_row(f"Which?\n{FOUR}"), "messages", "no assistant turn after the question"),
        (_row(f"Which?\n{FOUR}", "It is a tumour."), "messages.1.content", "no option letter"),
        (_row(f"Which?\n{FOUR}", "Final: E"), "messages.1.content", "no option letter (A-D)"),
        (_row(f"Which?\n{FOUR}", "C or D"), "messages.1.content", "hedged"),
        (_row(f"Which?\n{FOUR}", "B", "B", "C"), "messages.3.role", "at most one model reply"),
        (_row(f"Which?\n{FOUR}", "B", "B", prediction="C"), "prediction", "give only one"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role", "must be one of"),
        (
            {"messages": [{"role": "assistant", "content": "x"}]},
            "messages",
            "no user turn",
        ),
        (_row(f"Which?\n{FOUR}", "B", images="a.png"), "images", "must be a list"),
    ],
)
def test_a_bad_chat_row_names_file_line_and_field(
    tmp_path: Path, row: dict[str, Any], field: str, words: str
) -> None:
    good = _row(f"Which?\n{FOUR}", "Final: B", prediction="B")
    path = _write(tmp_path, [good, row])
    report = validate_items(path)
    assert report.n_valid == 1 and len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.path, problem.line, problem.field) == (str(path), 2, field)
    assert words in problem.message
    assert "\n" not in str(problem)


def test_an_empty_model_reply_scores_0_not_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, [_row(f"Which?\n{FOUR}", "Final: B", "")])
    record = judge.score(path, "accuracy").records[0]
    # No letter is no answer: 0 on final_answer and on answered (rubrics 1.1), never an error.
    assert record.scores == {"final_answer": 0, "answered": 0}
    assert record.judgments[0].rationale == (
        "no single answer: no prediction letter, and none stated in the rationale or step 3"
    )


def test_options_without_a_header_and_content_parts(tmp_path: Path) -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "<image>\nWhich?\nA) one\nB) two\nC) three"},
    ]
    path = _write(tmp_path, [_row(parts, [{"type": "text", "text": "(C)"}], prediction="c")])
    found = read_items(path)[0].prediction
    assert found.options == {"A": "one", "B": "two", "C": "three"}
    spaced = _row("Which?\nOptions:\n\nA. one\nB. two\n\nAnswer with the letter.", "B")
    assert read_items(_write(tmp_path, [spaced]))[0].prediction.correct_answer == "B"
    assert found.correct_answer == "C" and found.question == "Which?"
    assert found.title == "line-1"  # the default --id-field, given the line number


def test_serve_reads_a_chat_row(tmp_path: Path) -> None:
    from judge.options import RunOptions
    from judge.serve.app import create_app
    from judge.serve.server import running

    row = json.loads(CHAT.read_text(encoding="utf-8").splitlines()[1])  # seven options, G
    bad = _row(f"Which?\n{FOUR}", "")
    with running(create_app(RunOptions(cache=False))) as url:
        scored = httpx.post(f"{url}/v1/score", json={"rubric": "accuracy", "prediction": row})
        refused = httpx.post(f"{url}/v1/score", json={"rubric": "accuracy", "prediction": bad})
    assert scored.status_code == 200, scored.text
    assert scored.json()["id"] == "c7" and scored.json()["scores"] == {
        "final_answer": 1,
        "answered": 1,
    }
    assert refused.status_code == 422
    detail = refused.json()["detail"][0]
    assert detail["loc"][-3:] == ["messages", "1", "content"] and "empty" in detail["msg"]


def test_score_frame_reads_chat_rows() -> None:
    import pandas as pd

    from judge.frame import score_frame

    rows = [json.loads(line) for line in CHAT.read_text(encoding="utf-8").splitlines()]
    scored = score_frame(pd.DataFrame(rows), "accuracy")
    assert scored["final_answer"].tolist()[:4] == [1, 1, 0, 0]  # the hedge scores 0
    assert scored["status"].tolist()[3:] == ["scored", "unscored", "unscored"]
