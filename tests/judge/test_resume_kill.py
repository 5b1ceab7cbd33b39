"""The resume guarantee: a run SIGKILLed at any moment and started again ends with exactly one
result per item, nothing lost, nothing duplicated, and finished work not paid for again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.llm_server import LLMServer, messages_key

N_ITEMS = 40


def _write_predictions(path: Path, n_items: int = N_ITEMS) -> None:
    with path.open("w") as handle:
        for i in range(n_items):
            handle.write(
                json.dumps(
                    {
                        "title": f"case {i:03d}",
                        "CLINICAL_HISTORY": f"Synthetic patient marker-{i:03d} with cough.",
                        "options": {
                            "A": "Pneumonia",
                            "B": "Oedema",
                            "C": "Sarcoid",
                            "D": "Lymphoma",
                            "E": "Tuberculosis",
                        },
                        "correct_answer": "A",
                        "prediction": "A" if i % 3 else "B",
                        "prediction_rationale": f"Opacity in patient marker-{i:03d}. Final: A",
                    }
                )
                + "\n"
            )


def _start(
    predictions: Path, out: Path, server: LLMServer, home: Path, concurrency: int = 4
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JUDGE_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "judge",
            "score",
            str(predictions),
            "--rubric",
            "ddx",
            "--judge",
            "openai/test-judge",
            "--api-base",
            server.url,
            "--out",
            str(out),
            "--concurrency",
            str(concurrency),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finished_markers(out: Path) -> set[str]:
    if not out.exists():
        return set()
    lines = [line for line in out.read_text().split("\n")[:-1] if line]  # complete lines only
    return {json.loads(line)["id"].split()[-1] for line in lines}


def _markers_requested(server: LLMServer, since: int) -> set[str]:
    found = set()
    for seen in server.requests[since:]:
        text = json.dumps(seen.body.get("messages", []))
        found |= {f"{i:03d}" for i in range(N_ITEMS) if f"marker-{i:03d}" in text}
    return found


@pytest.mark.slow
def test_sigkill_at_any_moment_then_resume(tmp_path: Path, judge_home: Path) -> None:
    predictions = tmp_path / "preds.jsonl"
    out = tmp_path / "results.jsonl"
    _write_predictions(predictions)
    kills = (2, 9, 17, 30)  # kill after this many requests: early, middle, late
    with LLMServer(latency=0.08, jitter=0.05) as server:
        done_before: set[str] = set()
        since = 0
        for kill_after in kills:
            proc = _start(predictions, out, server, judge_home)
            deadline = time.monotonic() + 120  # a loaded machine
            while server.count - since < kill_after and proc.poll() is None:
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            # What was final before this run must not have been asked for again by it.
            assert not (_markers_requested(server, since) & done_before)
            done_before = _finished_markers(out)
            since = server.count
        proc = _start(predictions, out, server, judge_home)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
        assert not (_markers_requested(server, since) & done_before)

        lines = out.read_text().splitlines()
        ids = [json.loads(line)["id"] for line in lines]
        assert sorted(ids) == [f"case {i:03d}" for i in range(N_ITEMS)]  # one each, none lost
        assert all(json.loads(line)["status"] == "scored" for line in lines)
        # Only calls in flight at a kill (at most --concurrency each time) were paid twice.
        answered = sum(1 for r in server.requests if r.status == 200)
        assert N_ITEMS <= answered <= N_ITEMS + 4 * len(kills)

        # Run again: nothing left to do, nothing sent.
        before = server.count
        proc = _start(predictions, out, server, judge_home)
        proc.communicate(timeout=120)
        assert proc.returncode == 0 and server.count == before
        assert out.read_text().splitlines() == lines


def _wait_until(done: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    # Sized for a loaded 2-core machine: the run imports litellm before its first call.
    deadline = time.monotonic() + 120
    while not done():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"the run made no progress: {what}"
        time.sleep(0.01)


@pytest.mark.slow
def test_a_kill_while_commits_wait_repays_at_most_the_calls_in_flight(
    tmp_path: Path, judge_home: Path
) -> None:
    """Replies that finished but wait for the cache's commit are lost by a SIGKILL: only as
    many as the calls in flight may wait (each holds its slot until the commit), so a rerun
    pays twice for at most --concurrency calls. Another process holding the cache's write
    lock makes every commit wait."""
    concurrency, n_items = 8, 60
    predictions = tmp_path / "preds.jsonl"
    out = tmp_path / "results.jsonl"
    _write_predictions(predictions, n_items)
    with LLMServer(latency=0.02, jitter=0.02) as server:
        proc = _start(predictions, out, server, judge_home, concurrency)
        try:
            _wait_until(lambda: server.count >= 2 * concurrency, proc, "its first calls")
            blocker = sqlite3.connect(judge_home / "cache.sqlite", isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # every commit of the run now waits
            locked_at = server.count
            # Quiet: no request in flight, and none arriving, for a second (the run waits on
            # its commits); or the run went on to ask for every item.
            quiet_since, seen = time.monotonic(), server.count
            while server.count < n_items and time.monotonic() - quiet_since < 1.0:
                assert proc.poll() is None
                if server.count != seen or server.in_flight:
                    quiet_since, seen = time.monotonic(), server.count
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            blocker.execute("ROLLBACK")
            blocker.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        first = {messages_key(r.body) for r in server.requests if r.status == 200}
        since = server.count
        proc = _start(predictions, out, server, judge_home, concurrency)
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()
        again = {messages_key(r.body) for r in server.requests[since:]}
        assert len(first & again) <= concurrency, (len(first & again), locked_at, since)
        assert len(out.read_text().splitlines()) == n_items
