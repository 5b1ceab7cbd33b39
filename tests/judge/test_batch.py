"""`judge score --batch` over real HTTP: litellm's files and batches calls against the test
server's OpenAI-compatible /v1/files and /v1/batches (tests/llm_server.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.batch import BatchPending
from judge.batch import collect as batch_files
from judge.errors import ConfigError, JudgeError
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply, messages_key

FIXTURES = Path(__file__).parents[1] / "fixtures"
PREDICTIONS = FIXTURES / "predictions.jsonl"
MODEL = "openai/test-judge"
FAST = {"batch_poll": 0.02, "timeout": 5.0}


def _score(server: LLMServer, out: Path | None, **options: Any) -> judge.run.RunResult:
    options = {"judges": [MODEL], "api_base": server.url, "batch": True, **FAST, **options}
    return judge.score(PREDICTIONS, "ddx", out=out, **options)


def _chats(server: LLMServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def _uploads(server: LLMServer) -> list[list[dict[str, Any]]]:
    """The batch input files the server received, as their JSON lines."""
    files = [f for f in server.files.values() if f.purpose == "batch"]
    return [[json.loads(line) for line in f.data.decode().splitlines()] for f in files]


def _scores(out: Path) -> dict[str, dict[str, Any]]:
    return {r.id: r.scores for r in iter_records(out)}


def test_batch_run_scores_like_a_live_run_without_a_chat_request(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    live = tmp_path / "live.jsonl"
    judge.score(PREDICTIONS, "ddx", out=live, judges=[MODEL], api_base=llm_server.url, cache=False)
    llm_server.reset()
    llm_server.batch.polls = 3

    out = tmp_path / "batch.jsonl"
    result = _score(llm_server, out)

    assert _chats(llm_server) == 0
    assert llm_server.batch_calls("POST", "/files") == 1
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert llm_server.batch_calls("GET", "/content") == 1  # the output, downloaded once
    assert _scores(out) == _scores(live)
    records = list(iter_records(out))
    assert len(records) == 3 and {r.status for r in records} == {"scored"}
    assert all(c.cached and c.tokens_in for r in records for c in r.calls)
    assert any("3 calls answered by 1 batch(es)" in n for n in result.notices)
    # The batch file is gone from the judge home once submitted.
    assert not any((Path(judge.store.cache.judge_home()) / "batches").rglob("*.jsonl"))


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json"])
def test_batch_lines_carry_the_live_request_body(
    llm_server: LLMServer, tmp_path: Path, mode: str, client: str
) -> None:
    if client == "lean" and mode != "json_schema":
        pytest.skip("the lean path sends response_format json_schema whatever the mode")
    options = {"mode": mode, "seed": 7, "max_tokens": 600}
    live_options = {**options, "client": client}
    judge.score(
        PREDICTIONS, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False, **live_options
    )
    live = {messages_key(r.body): r.body for r in llm_server.requests}
    _score(llm_server, tmp_path / "r.jsonl", **options)

    (lines,) = _uploads(llm_server)
    assert len(lines) == 3
    for line in lines:
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert len(line["custom_id"]) == 64  # the call's cache key
        assert line["body"] == live[messages_key(line["body"])]


def test_a_run_stopped_while_waiting_resumes_the_same_batch(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.batch.outcome = "in_progress"
    out = tmp_path / "r.jsonl"
    with pytest.raises(BatchPending, match="run the same command again"):
        _score(llm_server, out, batch_wait=0.1)
    assert not out.exists() or out.read_text() == ""
    (batch_id,) = llm_server.batches

    with pytest.raises(BatchPending, match=batch_id):  # still running: waited for, not resent
        _score(llm_server, out, batch_wait=0.1)
    llm_server.batch.outcome = "completed"
    _score(llm_server, out)

    assert llm_server.batch_calls("POST", "/files") == 1
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert _chats(llm_server) == 0
    assert sorted(r.id for r in iter_records(out)) == sorted(
        json.loads(line)["title"] for line in PREDICTIONS.read_text().splitlines()
    )
    # A rerun finds everything final: no batch, no call.
    before = len(llm_server.batch_requests)
    result = _score(llm_server, out)
    assert result.judged == 0 and len(llm_server.batch_requests) == before


def test_a_batch_created_but_not_recorded_is_found_again(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    """A run killed between the batch's creation and its record: the rerun finds the batch by
    its file's digest (in the batch's metadata) instead of paying for it again."""
    llm_server.batch.outcome = "in_progress"
    out = tmp_path / "r.jsonl"
    with pytest.raises(BatchPending):
        _score(llm_server, out, batch_wait=0.05)
    (batch_id,) = llm_server.batches
    digest = llm_server.batches[batch_id]["metadata"]["judge_file_sha256"]
    with sqlite3.connect(judge_home / "cache.sqlite") as conn:  # as if killed before adopt()
        local = f"submitting:{digest}"
        conn.execute(
            "UPDATE batches SET id = ?, status = 'submitting' WHERE id = ?", (local, batch_id)
        )
        conn.execute("UPDATE batch_keys SET batch_id = ? WHERE batch_id = ?", (local, batch_id))
    llm_server.batch.outcome = "completed"

    _score(llm_server, out)
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert llm_server.batch_calls("GET", "/batches") == 1  # the list that found it
    assert _chats(llm_server) == 0 and len(list(iter_records(out))) == 3


def test_lines_that_failed_or_did_not_validate_are_judged_live(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    bodies = [json.loads(line) for line in PREDICTIONS.read_text().splitlines()]
    assert len(bodies) == 3
    answers: dict[int, Reply] = {0: Reply.error(500), 1: Reply.text('{"not": "a verdict"}')}
    order: list[str] = []

    def lines(body: dict[str, Any], custom_id: str) -> Reply | None:
        order.append(custom_id)
        return answers.get(len(order) - 1)

    llm_server.batch.lines = lines
    out = tmp_path / "r.jsonl"
    result = _score(llm_server, out)

    assert _chats(llm_server) == 2  # the two lines the batch did not answer validly
    assert {r.status for r in iter_records(out)} == {"scored"}
    assert any("1 call answered" in n and "2 calls it did not" in n for n in result.notices)
    calls = [c for r in iter_records(out) for c in r.calls]
    assert sorted(c.cached for c in calls) == [False, False, True]


def test_a_failed_batch_stops_the_run_and_a_rerun_submits_again(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.batch.outcome = "failed"
    out = tmp_path / "r.jsonl"
    with pytest.raises(JudgeError, match=r"ended failed \(scripted batch failure\)"):
        _score(llm_server, out)
    assert _chats(llm_server) == 0

    llm_server.batch.outcome = "completed"
    _score(llm_server, out)
    assert llm_server.batch_calls("POST", "/batches") == 2
    assert _chats(llm_server) == 0 and len(list(iter_records(out))) == 3


def test_an_expired_batch_keeps_what_it_answered(llm_server: LLMServer, tmp_path: Path) -> None:
    first: list[str] = []

    def lines(body: dict[str, Any], custom_id: str) -> Reply | None:
        first.append(custom_id)
        return Reply.hang() if len(first) == 1 else None  # never reached before expiry

    llm_server.batch.outcome, llm_server.batch.lines = "expired", lines
    out = tmp_path / "r.jsonl"
    with pytest.raises(JudgeError, match="ended expired"):
        _score(llm_server, out)

    llm_server.batch.outcome, llm_server.batch.lines = "completed", None
    _score(llm_server, out)
    second = _uploads(llm_server)[-1]
    assert [line["custom_id"] for line in second] == first[:1]  # only the unanswered call
    assert _chats(llm_server) == 0 and len(list(iter_records(out))) == 3


def test_batches_are_split_at_the_request_limit(
    llm_server: LLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider's limit (50,000 requests a batch), lowered to split three items' calls.
    monkeypatch.setattr(batch_files, "MAX_REQUESTS", 2)
    result = _score(llm_server, tmp_path / "r.jsonl", samples=2, temperature=0.7)
    assert sorted(len(lines) for lines in _uploads(llm_server)) == [2, 2, 2]
    assert llm_server.batch_calls("POST", "/batches") == 3
    assert _chats(llm_server) == 0
    assert result.summary.calls == 6 and result.summary.status == {"scored": 3}


def test_no_api_key_in_the_batch_file_the_state_or_the_results(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-batch-secret-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    assert all(r.authorized for r in llm_server.batch_requests)
    uploaded = b"".join(f.data for f in llm_server.files.values())
    assert uploaded and secret.encode() not in uploaded
    for path in [out, *judge_home.rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_judges_without_a_batch_api_run_live_and_say_so(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    panel = [MODEL, "hosted_vllm/test-judge"]
    result = _score(llm_server, tmp_path / "r.jsonl", judges=panel)
    assert _chats(llm_server) == 3  # the vLLM judge's calls, live
    assert llm_server.batch_calls("POST", "/batches") == 1
    (lines,) = _uploads(llm_server)
    assert {line["body"]["model"] for line in lines} == {"test-judge"} and len(lines) == 3
    assert any("hosted_vllm/test-judge is judged live" in n for n in result.notices)
    assert result.summary.status == {"scored": 3}


def test_a_bare_openai_model_name_is_batched(llm_server: LLMServer, tmp_path: Path) -> None:
    # `--judge gpt-4o-mini` (no provider prefix) is an OpenAI model: formerly a call to a
    # litellm function that does not exist, hidden by a broad except, sent it live.
    result = _score(llm_server, tmp_path / "r.jsonl", judges=["gpt-4o-mini"])
    assert _chats(llm_server) == 0
    assert llm_server.batch_calls("POST", "/batches") == 1
    (lines,) = _uploads(llm_server)
    assert {line["body"]["model"] for line in lines} == {"gpt-4o-mini"} and len(lines) == 3
    assert not any("judged live" in n for n in result.notices)
    assert result.summary.status == {"scored": 3}


def test_a_model_litellm_does_not_know_runs_live_and_says_so(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    result = _score(llm_server, tmp_path / "r.jsonl", judges=[MODEL, "no-such-model-xyz"])
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert any("no-such-model-xyz is judged live" in n for n in result.notices)


def test_batch_replies_are_priced_at_batch_rates(llm_server: LLMServer, tmp_path: Path) -> None:
    from judge.judging.providers.llm import call_price

    out = tmp_path / "r.jsonl"
    result = _score(llm_server, out, judges=["openai/gpt-4o-mini"])
    for record in iter_records(out):
        (call,) = record.calls
        assert call.tokens_in and call.tokens_out and call.cost_usd
        live = call_price("openai/gpt-4o-mini", call.tokens_in, call.tokens_out)
        assert live is not None and call.cost_usd == pytest.approx(live / 2)
    assert any("at batch prices" in n for n in result.notices)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"cache": False}, "drop --no-cache"),
        ({"max_cost": 1.0}, "--max-cost"),
        ({"mode": "md_json"}, "md_json"),
    ],
)
def test_options_batch_cannot_work_with(
    llm_server: LLMServer, tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        _score(llm_server, tmp_path / "r.jsonl", **options)
    assert llm_server.count == 0 and not llm_server.batch_requests


def test_a_multi_stage_rubric_takes_one_round_per_stage(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    panel = [MODEL, "openai/other-judge"]
    live = tmp_path / "live.jsonl"
    judge.score(
        PREDICTIONS, "ddx-steps", out=live, judges=panel, api_base=llm_server.url, cache=False
    )
    llm_server.reset()

    out = tmp_path / "batch.jsonl"
    options = {"judges": panel, "api_base": llm_server.url, "batch": True, **FAST}
    result = judge.score(PREDICTIONS, "ddx-steps", out=out, **options)

    assert _chats(llm_server) == 0
    # Round 1: the split, by the panel's first judge; round 2: every judge rates the steps.
    sizes = sorted((lines[0]["body"]["model"], len(lines)) for lines in _uploads(llm_server))
    assert sizes == [("other-judge", 3), ("other-judge", 3), ("test-judge", 3)]
    assert _scores(out) == _scores(live)
    steps = {r.id: r.segments for r in iter_records(out)}
    assert steps == {r.id: r.segments for r in iter_records(live)}
    assert sum("answered by" in n for n in result.notices) == 2


def test_a_batch_the_provider_lost_is_submitted_anew(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.batch.outcome = "in_progress"
    out = tmp_path / "r.jsonl"
    with pytest.raises(BatchPending):
        _score(llm_server, out, batch_wait=0.05)
    llm_server.batches.clear()  # deleted at the provider, or another account's key
    llm_server.batch.outcome = "completed"
    with pytest.raises(JudgeError, match=r"is not found at .*running again submits"):
        _score(llm_server, out)
    _score(llm_server, out)
    assert llm_server.batch_calls("POST", "/batches") == 2
    assert _chats(llm_server) == 0 and len(list(iter_records(out))) == 3


def test_a_server_without_a_batch_api_is_named_and_leaves_no_state(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    elsewhere = llm_server.url.replace("/v1", "/v2")  # answers 404 to everything
    with pytest.raises(JudgeError, match=r"uploading the batch file failed at http://127\.0\.0\.1"):
        _score(llm_server, tmp_path / "r.jsonl", api_base=elsewhere)
    with sqlite3.connect(judge_home / "cache.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0
    _score(llm_server, tmp_path / "r.jsonl")  # the right endpoint: a batch as usual
    assert llm_server.batch_calls("POST", "/batches") == 1
