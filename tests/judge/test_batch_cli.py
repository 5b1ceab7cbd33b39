"""`judge score --batch` from the command line: a pause with --batch-wait, Ctrl-C while
waiting, and the rerun that picks the same batch up (tests/llm_server.py serves the API)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.store.results import iter_records
from tests.llm_server import LLMServer

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"


def _args(server: LLMServer, out: Path, *more: str) -> list[str]:
    return [
        "score",
        str(PREDICTIONS),
        "--judge",
        "openai/test-judge",
        "--api-base",
        server.url,
        "--out",
        str(out),
        "--batch",
        "--batch-poll",
        "0.05",
        *more,
    ]


def _interrupt_when(
    ready: Callable[[], bool], command: list[str], env: dict[str, str]
) -> tuple[int, bytes]:
    """Run `command`, send it SIGINT once `ready()` holds, and return its status and stderr."""
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert time.monotonic() < deadline and run.poll() is None, run.communicate()
            time.sleep(0.02)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    return run.returncode, err


def test_batch_wait_pauses_with_status_3_and_a_rerun_finishes(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.batch.outcome = "in_progress"
    out = tmp_path / "r.jsonl"
    paused = CliRunner().invoke(cli, _args(llm_server, out, "--batch-wait", "0.2"))
    assert paused.exit_code == 3, paused.output
    (batch_id,) = llm_server.batches
    assert f"{batch_id} (openai/test-judge, in_progress)" in paused.output
    assert "run the same command again" in paused.output

    llm_server.batch.outcome = "completed"
    done = CliRunner().invoke(cli, _args(llm_server, out))
    assert done.exit_code == 0, done.output
    assert "3 scored" in done.output and "answered by 1 batch(es)" in done.output
    assert llm_server.batch_calls("POST", "/batches") == 1 and llm_server.count == 0
    assert len(list(iter_records(out))) == 3


@pytest.mark.slow
def test_ctrl_c_while_waiting_then_rerun_resumes_the_batch(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    llm_server.batch.outcome = "in_progress"
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "JUDGE_HOME": str(judge_home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "judge", *_args(llm_server, out)]

    def polled_twice() -> bool:
        batch = next(iter(llm_server.batches), "-")
        return llm_server.batch_calls("GET", f"/batches/{batch}") >= 2

    status, err = _interrupt_when(polled_twice, command, env)
    assert status != 0
    assert b"waiting for 1 batch(es)" in err

    llm_server.batch.outcome = "completed"
    done = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert llm_server.batch_calls("POST", "/files") == 1
    assert llm_server.batch_calls("POST", "/batches") == 1 and llm_server.count == 0
    assert len(list(iter_records(out))) == 3


@pytest.mark.slow
def test_ctrl_c_while_a_batch_is_created_waits_to_record_it(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    llm_server.batch.create_delay = 2.0
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "JUDGE_HOME": str(judge_home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "judge", *_args(llm_server, out)]
    # Interrupted while the creation is under way.
    status, err = _interrupt_when(
        lambda: llm_server.batch_calls("POST", "/batches") >= 1, command, env
    )
    assert status != 0, err
    assert len(llm_server.batches) == 1

    llm_server.batch.create_delay = 0.0
    done = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert llm_server.batch_calls("GET", "/batches") == 0  # recorded: no need to look for it
    assert llm_server.count == 0 and len(list(iter_records(out))) == 3
