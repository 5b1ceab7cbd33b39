"""The CLI's one error boundary: every user error is one line and exit status 2, Ctrl-C is 130,
and the table of docs/exit-statuses.md says what `judge.cli.exits.ExitStatus` does."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.cli.exits import ExitStatus
from judge.contracts import Judgment, ResultRecord
from judge.contracts.results import RubricRef
from judge.errors import InputError, JudgeError
from tests.llm_server import LLMServer

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _results(path: Path) -> Path:
    """A small results file of the `ddx` rubric: three items, one LLM judge."""
    lines = []
    for n in range(3):
        record = ResultRecord(
            id=f"case-{n}",
            line=n + 1,
            status="scored",
            scores={"coherence": 3 + n % 2},
            judgments=[
                Judgment(criterion="coherence", judge="openai/a", status="scored", score=3 + n % 2)
            ],
            judges=["openai/a"],
            rubric=RubricRef(id="ddx", version="0.1", hash="x"),
            prompt_hash="p",
            judge_version="0",
            created_at="2026-01-01T00:00:00Z",
        )
        lines.append(record.model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


# A human score file with a mistake on its third line, and what the one-line error must say.
BAD_HUMAN = [
    pytest.param(
        "item,criterion,rater,score\ncase-0,coherence,h1,3\n,coherence,h2,4\n",
        "field 'item': missing",
        id="empty-item",
    ),
    pytest.param(
        "item,criterion,rater,rater_kind,score\n"
        "case-0,coherence,h1,human,3\ncase-1,coherence,h2,robot,4\n",
        "field 'rater_kind': must be 'human' or 'judge', got 'robot'",
        id="bad-rater-kind",
    ),
]


def _one_line_error(output: str, human: Path, what: str) -> None:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1] == f"error: {human}:3: {what}", output
    assert sum(line.startswith("error:") for line in lines) == 1


@pytest.mark.parametrize("command", ["report", "calibrate"])
@pytest.mark.parametrize(("text", "what"), BAD_HUMAN)
def test_a_bad_human_file_is_one_line_and_status_2(
    tmp_path: Path, command: str, text: str, what: str
) -> None:
    """Defect #4: `judge report --human bad.csv` printed a traceback (a CalibrationError was
    a ValueError the CLI did not catch); `judge calibrate` exited 1 without a line number."""
    results = _results(tmp_path / "results.jsonl")
    human = tmp_path / "human.csv"
    human.write_text(text)
    if command == "report":
        args = ["report", str(results), "--human", str(human)]
    else:
        args = ["calibrate", "--judge", str(results), "--human", str(human)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == ExitStatus.USER_ERROR == 2, done.output
    _one_line_error(done.output, human, what)
    assert not (tmp_path / "results.html").exists()


def test_a_malformed_csv_row_names_its_line(tmp_path: Path) -> None:
    results = _results(tmp_path / "results.jsonl")
    human = tmp_path / "human.csv"
    human.write_text("item,criterion,rater,score\ncase-0,coherence,h1,3\ncase-1,coherence,h2,4,9\n")
    done = CliRunner().invoke(cli, ["calibrate", "--judge", str(results), "--human", str(human)])
    assert done.exit_code == ExitStatus.USER_ERROR, done.output
    assert "Traceback" not in done.output
    assert done.output.strip().startswith(f"error: {human}:3: ")


def test_calibration_errors_share_the_root_and_stay_value_errors() -> None:
    import calibration

    error = calibration.InputFileError("h.csv", 3, "missing", field="item")
    assert isinstance(error, InputError) and isinstance(error, JudgeError)
    assert isinstance(error, calibration.CalibrationError) and isinstance(error, ValueError)
    assert (error.path, error.line, error.field, str(error)) == (
        "h.csv",
        3,
        "item",
        "h.csv:3: field 'item': missing",
    )
    assert issubclass(calibration.CalibrationError, JudgeError)


def test_every_user_error_exits_2(tmp_path: Path) -> None:
    results = _results(tmp_path / "results.jsonl")
    human = tmp_path / "human.csv"
    human.write_text("item,criterion,rater,score\ncase-0,coherence,h1,3\n")
    calibrate = ["calibrate", "--judge", str(results), "--human", str(human)]
    predictions = str(FIXTURES / "predictions.jsonl")
    runs = {
        "usage": ["score"],  # click's own usage error: the missing argument
        "bad option value": ["score", "x.jsonl", "--samples", "0"],
        "unknown rubric": ["rubrics", "show", "no-such-rubric"],
        "calibrate --out": [*calibrate, "--out", str(tmp_path / "t.xlsx"), "--n-boot", "0"],
        "calibrate --rubric": [*calibrate, "--rubric", "nope"],
        "calibrate --judge": ["calibrate", "--judge", "missing.jsonl", "--human", str(human)],
        "annotate host": ["annotate", predictions, "--raters", "a", "--host", "0.0.0.0"],
        "serve host": ["serve", "--host", "0.0.0.0"],
    }
    for name, args in runs.items():
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == ExitStatus.USER_ERROR, (name, done.output, done.exception)
        assert "Traceback" not in done.output, name


@pytest.mark.slow
def test_ctrl_c_exits_130(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.latency = 60.0  # every call hangs until the run is interrupted
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENAI_API_KEY": "sk-test-0000000000",
    }
    command = [
        sys.executable, "-m", "judge", "score", str(FIXTURES / "predictions.jsonl"),
        "--judge", "openai/test-judge", "--api-base", llm_server.url, "--no-cache",
        "--out", str(tmp_path / "r.jsonl"),
    ]  # fmt: skip
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not llm_server.requests:
            assert time.monotonic() < deadline and run.poll() is None, run.communicate()
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == ExitStatus.INTERRUPTED == 130, err.decode()
    assert err.decode().strip().splitlines()[-1] == "interrupted"


@pytest.mark.slow
def test_ctrl_c_stops_serve_with_130(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUDGE_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "judge", "serve", "--port", "0", "--judge", "openai/x"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if b"Uvicorn running on" in line:
                break
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == ExitStatus.INTERRUPTED, out.decode()
    assert b"Traceback" not in out and out.decode().strip().splitlines()[-1] == "interrupted"


def test_a_dry_run_names_invalid_lines_and_exits_as_the_run_would(tmp_path: Path) -> None:
    """Defect: `judge score --dry-run` counted invalid lines without naming them and exited 0,
    where the run itself exits 2 on the first with its file, line and field."""
    good = (FIXTURES / "predictions.jsonl").read_text().splitlines()
    predictions = tmp_path / "preds.jsonl"
    # Line 2 has no id (field 'title'); line 4 is not JSON.
    predictions.write_text("\n".join([good[0], '{"prediction": "A"}', good[1], "{oops"]) + "\n")
    base = ["score", str(predictions), "--rubric", "twi", "--out", str(tmp_path / "r.jsonl")]
    real = CliRunner().invoke(cli, base)
    dry = CliRunner().invoke(cli, [*base, "--dry-run"])
    assert real.exit_code == dry.exit_code == ExitStatus.USER_ERROR, (real.output, dry.output)
    errors = [line for line in dry.output.splitlines() if line.startswith("error:")]
    assert errors == [line for line in real.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {predictions}:2: field 'title'")
    assert "(and 1 more; --skip-invalid scores the rest)" in errors[0]
    assert "Traceback" not in dry.output and not (tmp_path / "r.jsonl").exists()
    # With --skip-invalid the run scores the rest (exit 0) and so does the dry run, naming
    # each line it would skip.
    skip = CliRunner().invoke(cli, [*base, "--dry-run", "--skip-invalid"], env={"COLUMNS": "300"})
    assert skip.exit_code == 0, skip.output
    said = " ".join(skip.output.split())  # rich wraps long lines
    assert "2 of 2 items to judge" in said and "--skip-invalid would skip 2 invalid lines" in said
    assert f"{predictions}:2: field 'title'" in said and f"{predictions}:4: not valid JSON" in said


def test_the_exit_statuses_page_is_the_exit_statuses() -> None:
    section = (ROOT / "docs" / "exit-statuses.md").read_text(encoding="utf-8")
    documented = {int(n) for n in re.findall(r"^\| `?(\d+)`? +\|", section, re.MULTILINE)}
    assert documented == {int(status) for status in ExitStatus}


def test_report_never_reads_a_file_a_results_record_names(tmp_path: Path) -> None:
    """A results record's `rubric.id` is data: the report looks up built-in ids only, never a
    path it names (it read the file, and gave a traceback for one that is not UTF-8)."""
    named = tmp_path / "elsewhere.yaml"
    text = (ROOT / "rubrics" / "ddx.yaml").read_text().replace("id: coherence", "id: leaked")
    named.write_text(text)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    for path in (named, binary):
        results = _results(tmp_path / "results.jsonl")
        lines = results.read_text().replace('"id":"ddx"', f'"id":"{path}"')
        results.write_text(lines)
        out = tmp_path / "report.html"
        done = CliRunner().invoke(cli, ["report", str(results), "--out", str(out)])
        assert done.exit_code == ExitStatus.OK, done.output
        page = out.read_text()
        assert "leaked" not in page and "coherence" in page  # scales read off the scores


def _many_predictions(path: Path, n: int) -> Path:
    options = {"A": "Pneumonia", "B": "Oedema", "C": "Sarcoid", "D": "Lymphoma", "E": "TB"}
    rows = [
        {
            "title": f"case {i}",
            "CLINICAL_HISTORY": f"Synthetic patient {i} with cough.",
            "options": options,
            "correct_answer": "A",
            "prediction": "A",
            "prediction_rationale": f"Opacity in patient {i}. Final: A",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("gap", [0.0, 0.003, 0.006])
def test_a_second_ctrl_c_during_the_cleanup_is_quiet_and_keeps_the_replies(
    tmp_path: Path, gap: float
) -> None:
    """Ctrl-C twice, the second while the first's cleanup runs: asyncio raised it at whatever
    line ran (a KeyboardInterrupt traceback, "Task was destroyed but it is pending!", the
    cache writer's "cannot schedule new futures after shutdown"). It waits for the cleanup,
    and every reply the run received is in the cache."""
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUDGE_HOME": str(home)}
    with LLMServer(latency=0.05, jitter=0.05) as server:
        command = [
            sys.executable, "-m", "judge", "score",
            str(_many_predictions(tmp_path / "p.jsonl", 200)),
            "--judge", "openai/test-judge", "--api-base", server.url,
            "--out", str(tmp_path / "r.jsonl"), "--concurrency", "16",
        ]  # fmt: skip
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120  # a loaded machine
            while server.count < 40:
                assert time.monotonic() < deadline and run.poll() is None, run.communicate()
                time.sleep(0.01)
            run.send_signal(signal.SIGINT)
            time.sleep(gap)  # the second Ctrl-C, a moment after the first: its cleanup runs
            run.send_signal(signal.SIGINT)
            _, err = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    text = err.decode()
    assert run.returncode == 130, text
    assert text.strip().splitlines()[-1] == "interrupted"
    for noise in ("Traceback", "Task was destroyed", "never retrieved", "cannot schedule"):
        assert noise not in text, text
    with sqlite3.connect(home / "cache.sqlite") as conn:
        cached = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    records = (tmp_path / "r.jsonl").read_text().splitlines()
    assert cached >= len(records) > 0  # each record's call, at least, was kept
