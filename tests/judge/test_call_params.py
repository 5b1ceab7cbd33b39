"""The sampling parameters each judge was called with (temperature, max_tokens, seed where
given) are in each call's record, as the request carried them: on both paths (lean, litellm),
through the cache (old entries included), through a batch; records of earlier versions, which
lack them, load and resume without paying again. No API key lands in the records. A resume
with other parameters re-judges the records sent others (the file kept in `<out>.bak`), so one
results file never mixes settings.

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


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_records_without_params_load_and_resume_without_paying_again(
    llm_server: LLMServer, tmp_path: Path, temperature: float
) -> None:
    """Whatever this run sends (the params it was run with, or others): what records of an
    earlier version were sent cannot be known, so they are kept, and not paid for again."""
    out = tmp_path / "r.jsonl"
    _score(llm_server, out, cache=False)
    lines = []
    for line in out.read_text().splitlines()[:2]:  # as an earlier version wrote them
        record = json.loads(line)
        for call in record["calls"]:
            call.pop("params", None)
        lines.append(json.dumps(record))
    out.write_text("".join(f"{line}\n" for line in lines))
    assert _params(out) == [None, None]
    llm_server.reset()
    result = _score(llm_server, out, cache=False, temperature=temperature)
    assert (result.resumed, result.judged, llm_server.count) == (2, 1, 1)
    assert sorted(_params(out), key=str) == [None, None, {"temperature": temperature}]
    assert not list(tmp_path.glob("*.bak*"))


def test_a_batch_call_records_its_params(llm_server: LLMServer, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    args = ["score", str(PREDICTIONS), "-j", MODEL, "--api-base", llm_server.url, "--seed", "7"]
    done = CliRunner().invoke(cli, [*args, "-o", str(out), "--batch", "--batch-poll", "0.05"])
    assert done.exit_code == 0, done.output
    assert "answered by 1 batch(es)" in done.output and llm_server.count == 0
    assert _params(out) == [{"temperature": 0.0, "seed": 7}] * 3


def _ids(out: Path) -> list[str]:
    return [record.id for record in iter_records(out)]


def test_a_resume_with_other_params_judges_the_records_again(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    """Defect: a resume with another --temperature kept the old records and judged only the
    new items, so one file mixed settings."""
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    before = out.read_text()
    llm_server.reset()
    result = _score(llm_server, out, temperature=0.7)
    # Every old record judged again, over HTTP: the cache key holds the params.
    assert (result.resumed, result.judged, llm_server.count) == (0, 3, 3)
    assert _sent(llm_server) == [{"temperature": 0.7}] * 3
    assert _params(out) == [{"temperature": 0.7}] * 3
    assert sorted(_ids(out)) == sorted(set(_ids(out))) and len(_ids(out)) == 3
    assert (tmp_path / "r.jsonl.bak").read_text() == before
    assert (
        f"{out}: 3 record(s) sent other sampling parameters (temperature 0.0, now 0.7) were "
        f"dropped to judge them again; the file as it was is kept in {out}.bak"
    ) in result.notices

    # Exactly the records sent others: one of the three, put back as it was.
    lines = out.read_text().splitlines(keepends=True)
    old = next(line for line in before.splitlines(keepends=True) if _id(line) == _id(lines[0]))
    out.write_text(old + "".join(lines[1:]))
    llm_server.reset()
    result = _score(llm_server, out, temperature=0.7)
    # Its call at 0.7 was paid for above: the cache answers it.
    assert (result.resumed, result.judged, result.summary.cached_calls) == (2, 1, 1)
    assert _params(out) == [{"temperature": 0.7}] * 3 and len(set(_ids(out))) == 3
    assert (tmp_path / "r.jsonl.bak2").exists()
    assert any("1 record(s) sent other sampling parameters" in n for n in result.notices)


def _id(line: str) -> str:
    return str(json.loads(line)["id"])


def test_a_resume_with_the_same_params_sends_nothing(llm_server: LLMServer, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _score(llm_server, out, **SAMPLING)
    llm_server.reset()
    result = _score(llm_server, out, cache=False, **SAMPLING)  # not even the cache is asked
    assert (result.resumed, result.judged, llm_server.count) == (3, 0, 0)
    assert not list(tmp_path.glob("*.bak*")) and _params(out) == [SAMPLING] * 3
    # Back to the first params after other ones: the cache answers the first ones again.
    _score(llm_server, out, temperature=0.7)
    llm_server.reset()
    result = _score(llm_server, out, **SAMPLING)
    assert (result.judged, llm_server.count, result.summary.cached_calls) == (3, 0, 3)
    assert _params(out) == [SAMPLING] * 3
