"""The sampling parameters each judge was called with (temperature, max_tokens, seed where
given) are in each call's record, as the request carried them: on both paths (lean, litellm),
through the cache (old entries included), through a batch; records of earlier versions, which
lack them, load and resume without paying again. No API key lands in the records.

The local test server (tests/llm_server.py) keeps every request body it received, so what is
recorded is compared with what was sent.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import judge
from judge.cli.group import cli
from judge.store.results import iter_records
from tests.llm_server import LLMServer

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
MODEL = "openai/test-judge"
SAMPLING = {"temperature": 0.7, "max_tokens": 300, "seed": 7}
SECRET = "sk-test-never-in-a-record-0123456789"


def _score(server: LLMServer, out: Path, client: str = "lean", **options: Any) -> Any:
    base = {"judges": [MODEL], "api_base": server.url, "timeout": 5.0, "client": client}
    return judge.score(PREDICTIONS, "ddx", out=out, **{**base, **options})


def _params(out: Path) -> list[dict[str, Any] | None]:
    return [call.params for record in iter_records(out) for call in record.calls]


def _sent(server: LLMServer) -> list[dict[str, Any]]:
    """The sampling parameters of each chat request the server received."""
    return [
        {k: seen.body[k] for k in SAMPLING if k in seen.body}
        for seen in server.requests
        if seen.path.endswith("/chat/completions")
    ]


def test_each_call_records_the_params_it_was_sent_with(
    llm_server: LLMServer, client: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "r.jsonl"
    _score(llm_server, out, client, **SAMPLING)
    assert _sent(llm_server) == [SAMPLING] * 3  # what the requests carried...
    assert _params(out) == [SAMPLING] * 3  # ...is what each call's record says
    text = out.read_text()
    assert '"params":{"temperature":0.7,"max_tokens":300,"seed":7}' in text  # in the file
    assert SECRET not in text and "api_key" not in text


def test_the_defaults_are_recorded_as_sent(llm_server: LLMServer, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    # --temperature defaults to 0; no --max-tokens or --seed: the provider's defaults, unsent.
    assert _sent(llm_server) == [{"temperature": 0.0}] * 3
    assert _params(out) == [{"temperature": 0.0}] * 3


def test_a_cache_hit_records_the_params_of_its_call(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    _score(llm_server, tmp_path / "first.jsonl", **SAMPLING)
    # An entry written before params were recorded answers as well, and says the same: its
    # key holds the params, so the call it answers was made with them.
    with sqlite3.connect(judge_home / "cache.sqlite") as conn:
        for key, text in conn.execute("SELECT key, value FROM calls").fetchall():
            value = json.loads(text)
            value["usage"].pop("params", None)
            conn.execute("UPDATE calls SET value = ? WHERE key = ?", (json.dumps(value), key))
    llm_server.reset()
    again = tmp_path / "again.jsonl"
    result = _score(llm_server, again, **SAMPLING)
    assert llm_server.count == 0 and result.summary.cached_calls == 3
    assert _params(again) == [SAMPLING] * 3


def test_records_without_params_load_and_resume_without_paying_again(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    _score(llm_server, out, cache=False)
    lines = []
    for line in out.read_text().splitlines():  # as an earlier version wrote them
        record = json.loads(line)
        for call in record["calls"]:
            call.pop("params", None)
        lines.append(json.dumps(record))
    out.write_text("".join(f"{line}\n" for line in lines[:2]))
    assert _params(out) == [None, None]
    llm_server.reset()
    result = _score(llm_server, out, cache=False)
    assert (result.resumed, result.judged, llm_server.count) == (2, 1, 1)
    assert sorted(_params(out), key=str) == [None, None, {"temperature": 0.0}]


def test_a_batch_call_records_its_params(llm_server: LLMServer, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    args = ["score", str(PREDICTIONS), "-j", MODEL, "--api-base", llm_server.url, "--seed", "7"]
    done = CliRunner().invoke(cli, [*args, "-o", str(out), "--batch", "--batch-poll", "0.05"])
    assert done.exit_code == 0, done.output
    assert "answered by 1 batch(es)" in done.output and llm_server.count == 0
    assert _params(out) == [{"temperature": 0.0, "seed": 7}] * 3
