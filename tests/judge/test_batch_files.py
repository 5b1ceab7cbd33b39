"""`judge score --export-batch` / `--import-batch`: a run's calls out as an OpenAI batch-input
file, answered by an engine of the user's (here a small writer that plays vLLM's run_batch:
it sends each line's body to tests/llm_server.py over real HTTP and writes the batch-output
lines as run_batch does), and the replies back in."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import judge
from judge.cli import cli
from judge.errors import ConfigError, InputError
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply, messages_key

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
MODEL = "hosted_vllm/test-judge"


def _options(server: LLMServer, **more: Any) -> dict[str, Any]:
    return {"judges": [MODEL], "api_base": server.url, "timeout": 5.0, **more}


def _run_batch(server: LLMServer, calls: Path, replies: Path, only: set[str] | None = None) -> int:
    """Play vLLM's run_batch (vllm/entrypoints/openai/run_batch.py): each input line's body
    POSTed to the chat endpoint, one BatchRequestOutput line per request (`id`, `custom_id`,
    `response` {status_code, request_id, body}, `error`). `only`: the custom_ids to run."""
    rows = []
    for line in calls.read_text().splitlines():
        request = json.loads(line)
        assert request["method"] == "POST" and request["url"] == "/v1/chat/completions"
        if only is not None and request["custom_id"] not in only:
            continue
        status, body, error = 200, None, None
        post = urllib.request.Request(
            server.url + "/chat/completions",
            data=json.dumps(request["body"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(post, timeout=30) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as exc:  # run_batch: the status, no body, the error
            status, error = exc.code, json.loads(exc.read() or b"null")
        rows.append(
            {
                "id": f"vllm-{uuid.uuid4().hex}",
                "custom_id": request["custom_id"],
                "response": {
                    "status_code": status,
                    "request_id": f"vllm-batch-{uuid.uuid4().hex}",
                    "body": body,
                },
                "error": error,
            }
        )
    with replies.open("a") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return len(rows)


def _scores(out: Path) -> dict[str, Any]:
    return {r.id: (r.status, r.scores) for r in iter_records(out)}


def _custom_ids(path: Path) -> list[str]:
    return [json.loads(line)["custom_id"] for line in path.read_text().splitlines()]


def test_round_trip_through_a_batch_engine_scores_like_a_live_run(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    live = tmp_path / "live.jsonl"
    judge.score(PREDICTIONS, "ddx", out=live, **_options(llm_server, cache=False))
    sent = {messages_key(r.body): r.body for r in llm_server.requests}
    llm_server.reset()

    out, calls, replies = tmp_path / "r.jsonl", tmp_path / "calls.jsonl", tmp_path / "rep.jsonl"
    exported = judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, export_batch=calls))
    assert llm_server.count == 0 and not out.exists()  # nothing sent, nothing scored
    assert exported.judged == 0
    assert any("3 calls of 3 item(s) written" in n for n in exported.notices)
    lines = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [sorted(line) for line in lines] == [["body", "custom_id", "method", "url"]] * 3
    assert {line["body"]["model"] for line in lines} == {"test-judge"}  # as vLLM serves it
    assert all(line["body"] == sent[messages_key(line["body"])] for line in lines)  # as live

    assert _run_batch(llm_server, calls, replies) == 3
    result = judge.score(
        PREDICTIONS, "ddx", out=out, **_options(llm_server, import_batch=replies, no_live=True)
    )
    assert llm_server.count == 3  # the engine's requests only
    assert result.stopped is None and result.judged == 3
    assert _scores(out) == _scores(live)
    assert all(c.cached and c.tokens_in for r in iter_records(out) for c in r.calls)
    assert any("3 calls answered by" in n for n in result.notices)


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json"])
def test_exported_bodies_are_what_a_live_vllm_judge_is_sent(
    llm_server: LLMServer, tmp_path: Path, mode: str
) -> None:
    # litellm's vLLM config drops `additionalProperties` and `strict` from tool schemas
    # before sending; an export without that mapping differed from the live request.
    options = _options(llm_server, mode=mode, seed=7, max_tokens=600)
    judge.score(PREDICTIONS, "ddx", **{**options, "cache": False})
    sent = {messages_key(r.body): r.body for r in llm_server.requests}
    calls = tmp_path / "calls.jsonl"
    judge.score(PREDICTIONS, "ddx", **options, export_batch=calls)
    lines = [json.loads(line) for line in calls.read_text().splitlines()]
    assert len(lines) == 3
    assert all(line["body"] == sent[messages_key(line["body"])] for line in lines)


def test_a_partial_import_waits_then_the_rest_resumes_without_paying_twice(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out, calls = tmp_path / "r.jsonl", tmp_path / "calls.jsonl"
    args = ["score", str(PREDICTIONS), "-j", MODEL, "--api-base", llm_server.url, "-o", str(out)]
    exported = CliRunner().invoke(cli, [*args, "--export-batch", str(calls)])
    assert exported.exit_code == 0, exported.output
    assert f"written to {calls}" in exported.output
    keys = _custom_ids(calls)

    first = tmp_path / "first.jsonl"
    _run_batch(llm_server, calls, first, only={keys[0]})
    paused = CliRunner().invoke(cli, [*args, "--import-batch", str(first), "--no-live"])
    assert paused.exit_code == 3, paused.output
    assert "2 item(s) wait for 2 calls not in" in paused.output
    assert len(list(iter_records(out))) == 1 and llm_server.count == 1
    # Exported again: only the waiting items' calls.
    again = tmp_path / "again.jsonl"
    assert CliRunner().invoke(cli, [*args, "--export-batch", str(again)]).exit_code == 0
    assert sorted(_custom_ids(again)) == sorted(keys[1:])

    # The engine answers the rest; the whole output file is imported (lines seen before too).
    everything = tmp_path / "all.jsonl"
    everything.write_text(first.read_text())
    _run_batch(llm_server, calls, everything, only=set(keys[1:]))
    done = CliRunner().invoke(cli, [*args, "--import-batch", str(everything), "--no-live"])
    assert done.exit_code == 0, done.output
    ids = [r.id for r in iter_records(out)]
    assert len(ids) == len(set(ids)) == 3  # exactly one record per item
    assert llm_server.count == 3  # each call paid for once, by the engine
    assert {r.status for r in iter_records(out)} == {"scored"}


def test_calls_not_in_the_file_go_live_without_no_live(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out, calls, replies = tmp_path / "r.jsonl", tmp_path / "calls.jsonl", tmp_path / "rep.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, export_batch=calls))
    _run_batch(llm_server, calls, replies, only=set(_custom_ids(calls)[:1]))
    result = judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, import_batch=replies))
    assert llm_server.count == 3 and result.stopped is None
    assert sorted(c.cached for r in iter_records(out) for c in r.calls) == [False, False, True]


def test_failed_lines_become_unscored_judgments_with_the_reason(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out, calls, replies = tmp_path / "r.jsonl", tmp_path / "calls.jsonl", tmp_path / "rep.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, export_batch=calls))
    llm_server.script = [Reply.error(500), Reply.text('{"not": "a verdict"}')]
    _run_batch(llm_server, calls, replies)
    rows = [json.loads(line) for line in replies.read_text().splitlines()]
    assert rows[0]["response"]["status_code"] == 500 and rows[0]["response"]["body"] is None

    result = judge.score(
        PREDICTIONS, "ddx", out=out, **_options(llm_server, import_batch=replies, no_live=True)
    )
    assert llm_server.count == 3 and result.stopped is None
    records = list(iter_records(out))
    assert sorted(r.status for r in records) == ["partial", "partial", "scored"]  # computed ones
    reasons = {j.reason for r in records for j in r.judgments if j.status == "unscored"}
    assert any(r and r.startswith("batch line failed: status 500: scripted 500") for r in reasons)
    assert any(r and r.startswith("invalid reply:") for r in reasons)
    errors = sorted(c.error[:14] for r in records for c in r.calls if c.error)
    assert errors == ["batch line fai", "invalid reply:"]
    # A failed status is worth another try (as a live 5xx); an invalid reply is final.
    retry = {j.reason[:14]: j.retryable for r in records for j in r.judgments if j.reason}
    assert retry.get("batch line fai") is True and retry.get("invalid reply:") is False


def _bad_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (lambda good: ["{not json", good[0]], r"bad\.jsonl:1: not JSON"),
        (lambda good: [good[0], json.dumps({"response": None})], r":2: field 'custom_id': missing"),
        (lambda good: [good[1], good[1]], r":2: field 'custom_id': the same as line 1's"),
        (
            lambda good: [json.dumps({"custom_id": "request-1", "response": None})],
            r":1: field 'custom_id': 'request-1' is not a call of judge's",
        ),
        (
            lambda good: [good[0], json.dumps({**json.loads(good[1]), "custom_id": "ab" * 32})],
            r":2: field 'custom_id': answers no call of this run",
        ),
    ],
    ids=["malformed", "missing", "duplicated", "not-a-key", "unknown"],
)
def test_a_bad_replies_file_is_refused_with_its_line(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path, make: Any, where: str
) -> None:
    out, calls, replies = tmp_path / "r.jsonl", tmp_path / "calls.jsonl", tmp_path / "rep.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, export_batch=calls))
    _run_batch(llm_server, calls, replies)
    bad = _bad_file(tmp_path, make(replies.read_text().splitlines()))
    with pytest.raises(InputError, match=where):
        judge.score(PREDICTIONS, "ddx", out=out, **_options(llm_server, import_batch=bad))
    assert not out.exists() or out.read_text() == ""  # no record written
    assert llm_server.count == 3  # the engine's only: no call went live
    with sqlite3.connect(judge_home / "cache.sqlite") as conn:  # no reply stored either
        assert conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 0


def test_replies_of_another_run_are_refused(llm_server: LLMServer, tmp_path: Path) -> None:
    calls, replies = tmp_path / "calls.jsonl", tmp_path / "rep.jsonl"
    judge.score(PREDICTIONS, "ddx", **_options(llm_server, export_batch=calls))
    _run_batch(llm_server, calls, replies)
    other = _options(llm_server, judges=["hosted_vllm/other-judge"], import_batch=replies)
    with pytest.raises(InputError, match=r"rep\.jsonl:1: field 'custom_id': answers no call"):
        judge.score(PREDICTIONS, "ddx", out=tmp_path / "r.jsonl", **other)


def test_a_multi_stage_rubric_takes_one_export_and_import_per_stage(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    panel = [MODEL, "hosted_vllm/other-judge"]
    live = tmp_path / "live.jsonl"
    judge.score(
        PREDICTIONS, "ddx-steps", out=live, **_options(llm_server, judges=panel, cache=False)
    )
    llm_server.reset()

    out, replies = tmp_path / "r.jsonl", tmp_path / "rep.jsonl"
    sizes = []
    for round_ in (1, 2):
        calls = tmp_path / f"calls{round_}.jsonl"
        exported = judge.score(
            PREDICTIONS,
            "ddx-steps",
            out=out,
            **_options(llm_server, judges=panel, export_batch=calls),
        )
        again = any("--export-batch again" in n for n in exported.notices)
        assert again == (round_ == 1)  # the split feeds the step ratings; those feed nothing
        sizes.append(_run_batch(llm_server, calls, replies))
        result = judge.score(
            PREDICTIONS,
            "ddx-steps",
            out=out,
            **_options(llm_server, judges=panel, import_batch=replies, no_live=True),
        )
        assert (result.stopped is not None) == (round_ == 1)
    assert sizes == [3, 6]  # the splits (the first judge by name), then both judges' ratings
    assert llm_server.count == 9
    assert _scores(out) == _scores(live)
    assert {r.id: r.segments for r in iter_records(out)} == {
        r.id: r.segments for r in iter_records(live)
    }


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"export_batch": "c.jsonl", "import_batch": "r.jsonl"}, "two steps"),
        ({"export_batch": "c.jsonl", "batch": True}, "cannot be combined with --batch"),
        ({"import_batch": "r.jsonl", "cache": False}, "drop --no-cache"),
        ({"no_live": True}, "--no-live applies with --import-batch"),
        ({"export_batch": "c.jsonl", "mode": "md_json"}, "md_json"),
    ],
)
def test_options_that_cannot_work_together(
    llm_server: LLMServer, tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        judge.score(PREDICTIONS, "ddx", out=tmp_path / "r.jsonl", **_options(llm_server, **options))
    assert llm_server.count == 0


def test_export_never_overwrites_a_file_that_is_not_ours(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    theirs = tmp_path / "notes.jsonl"
    theirs.write_text('{"my": "data"}\n')
    with pytest.raises(ConfigError, match="not one this command writes"):
        judge.score(PREDICTIONS, "ddx", **_options(llm_server, export_batch=theirs))
    assert theirs.read_text() == '{"my": "data"}\n'
    calls = tmp_path / "calls.jsonl"
    for _ in range(2):  # its own file, written again
        judge.score(PREDICTIONS, "ddx", **_options(llm_server, export_batch=calls))
    assert len(_custom_ids(calls)) == 3


def test_dry_run_ignores_the_batch_file_options(llm_server: LLMServer, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    plan = judge.run.plan(PREDICTIONS, "ddx", **_options(llm_server, export_batch=calls))
    assert plan.estimate.calls == 3 and not calls.exists() and llm_server.count == 0
