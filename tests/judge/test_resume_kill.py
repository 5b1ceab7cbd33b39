"""The resume guarantee: a run SIGKILLed at any moment and started again ends with exactly one
result per item, nothing lost, nothing duplicated, and finished work not paid for again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.llm_server import LLMServer

N_ITEMS = 40


def _write_predictions(path: Path) -> None:
    with path.open("w") as handle:
        for i in range(N_ITEMS):
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


def _start(predictions: Path, out: Path, server: LLMServer, home: Path) -> subprocess.Popen[bytes]:
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
            "4",
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
            deadline = time.monotonic() + 60
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
