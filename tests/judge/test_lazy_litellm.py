"""Work that needs no judge call does not pay for litellm's import (seconds): a rerun the call
cache answers, the rubrics without an LLM criterion, and the commands that only read results.

Each command runs in a fresh interpreter, which reports whether litellm, instructor or pandas
got imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llm_server import LLMServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "predictions.jsonl"
JUDGE = "openai/test-judge"

PROBE = """
import json, sys
from judge.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps([m for m in ("litellm", "instructor", "pandas") if m in sys.modules]))
"""


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The heavy modules a `judge` command imported, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


@pytest.mark.slow
def test_a_rerun_the_cache_answers_imports_no_litellm(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    score = ["score", str(EXAMPLE), "--rubric", "ddx", "--judge", JUDGE]
    litellm_run = ["--client", "litellm", "--api-base", llm_server.url]
    first, _ = _run(*score, *litellm_run, "--out", str(tmp_path / "a.jsonl"))
    assert "litellm" in first  # the calls went out
    sent = len(llm_server.requests)
    # Into a new results file, so every item is judged again, every call from the cache; with
    # a key in the environment and no --api-base, as a user of a hosted judge would run it.
    again, output = _run(
        *score, "--out", str(tmp_path / "b.jsonl"), env={"OPENAI_API_KEY": "sk-test-0123456789"}
    )
    assert again == [], output
    assert len(llm_server.requests) == sent
    records = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert len(records) == 12 and all(r["judges"] == [JUDGE] for r in records)
    assert all(call["cached"] for r in records for call in r["calls"])


@pytest.mark.slow
def test_a_run_on_the_lean_path_imports_neither_litellm_nor_instructor(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    # The default for an OpenAI-compatible server; a priced model, so its cost is computed
    # from litellm's price map file (read as JSON) without importing litellm.
    out = tmp_path / "a.jsonl"
    score = ["score", str(EXAMPLE), "--rubric", "ddx", "--judge", "openai/gpt-4o-mini"]
    imported, output = _run(*score, "--api-base", llm_server.url, "--out", str(out))
    assert "litellm" not in imported and "instructor" not in imported, output
    assert len(llm_server.requests) == 12  # the calls went out, over the lean path
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(call["cost_usd"] and not call["cached"] for r in records for call in r["calls"])


@pytest.mark.slow
def test_a_judge_without_its_key_is_left_out_without_importing_litellm(tmp_path: Path) -> None:
    imported, output = _run(
        "score", str(EXAMPLE), "--rubric", "ddx", "--judge", JUDGE, "--out", str(tmp_path / "r")
    )
    assert imported == [] and "needs OPENAI_API_KEY" in " ".join(output.split())


@pytest.mark.slow
def test_no_llm_rubrics_report_and_calibrate_import_no_litellm(tmp_path: Path) -> None:
    out = tmp_path / "twi.jsonl"
    # (twi's ROUGE comes from rouge-score, whose Porter stemmer imports all of nltk, pandas too)
    imported, _ = _run("score", str(EXAMPLE), "--rubric", "twi", "--out", str(out))
    assert "litellm" not in imported and "instructor" not in imported
    # ddx with no judge scores only its computed criterion (the answer letter)
    imported, _ = _run("score", str(EXAMPLE), "--rubric", "ddx", "--out", str(tmp_path / "a"))
    assert imported == []
    # chat-format data scored for answer accuracy alone (judge/load/chat.py, rubric accuracy)
    chat = ROOT / "tests" / "fixtures" / "chat.jsonl"
    imported, _ = _run("score", str(chat), "--rubric", "accuracy", "--out", str(tmp_path / "c"))
    assert imported == []
    assert len((tmp_path / "c").read_text().splitlines()) == 6
    imported, _ = _run("report", str(out), "--out", str(tmp_path / "report.html"))
    assert "litellm" not in imported and "instructor" not in imported
    human = tmp_path / "human.csv"
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    human.write_text(
        "item,criterion,rater,score\n"
        + "".join(
            f"{i},step1_rougel,r{k},{0.1 * (n % 7)}\n" for n, i in enumerate(ids) for k in (1, 2)
        )
    )
    imported, _ = _run("calibrate", "--judge", str(out), "--human", str(human), "--rubric", "twi")
    assert "litellm" not in imported and "instructor" not in imported


SERVE_PROBE = """
import sys
from judge.options import RunOptions
from judge.serve.app import create_app
from judge.serve.server import running
options = RunOptions(judges=["openai/test-judge"], api_base="http://127.0.0.1:9/v1", cache=False)
with running(create_app(options)):
    print("litellm" in sys.modules)
"""


@pytest.mark.slow
def test_serve_imports_litellm_before_it_says_it_listens() -> None:
    """A server answers its first request in the time of a call, not of litellm's import
    (seconds, more on a loaded machine: a client's 5 s timeout ran out)."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
