"""judge.judging.providers.llm and .lean over real HTTP to the local test server
(tests/llm_server.py).

In the tools, json_schema and json modes llm builds instructor's request once per response
model and calls litellm directly; the lean path sends instructor's json_schema request over
aiohttp. These tests hold both to sending what instructor sends (first request and re-ask
alike), to validating and re-asking like it, to counting every attempt's tokens, and to
pricing each reply once. Tests that take the `client` fixture run on both paths; the lean path
sends json_schema whatever the mode, so it runs once, as json_schema, where a test names modes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import instructor
import litellm
import pytest
from pydantic import BaseModel

import judge
from judge.judging.engine import (
    Completion,
    Engine,
    InvalidReplyError,
    JudgeSpec,
    PermanentError,
    RetryPolicy,
    TransientError,
)
from judge.judging.prompts import render_prompt, response_model
from judge.judging.providers.lean import LeanClient
from judge.judging.providers.llm import PLACEHOLDER_KEY, litellm_complete
from judge.load.inputs import read_items
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply, _Sampler, find_schema

MODEL = "openai/test-judge"
DIRECT_MODES = ("tools", "json_schema", "json")
PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
MALFORMED = '{"score": '
VALID = {"score": 4, "rationale": "Grounded in the case."}


class Verdict(BaseModel):
    score: Literal[1, 2, 3, 4, 5]
    rationale: str


def _messages() -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a careful judge."},
        {"role": "user", "content": "Rate this answer."},
    ]


def _completion_fn(server: LLMServer, client: str, mode: str, retries: int = 2) -> Any:
    """The completion function of one path (`client`): lean, or litellm in `mode`."""
    if client == "lean":
        return LeanClient(server.url, max_validation_retries=retries)
    return litellm_complete(api_base=server.url, mode=mode, max_validation_retries=retries)


def _one_lean_mode(client: str, mode: str, runs: str = "json_schema") -> None:
    """The lean path sends json_schema in every mode: it runs once, in mode `runs`."""
    if client == "lean" and mode != runs:
        pytest.skip("the lean path sends response_format json_schema whatever the mode")


async def _complete(
    server: LLMServer,
    mode: str,
    *,
    retries: int = 2,
    model: str = MODEL,
    client: str = "litellm",
    **kw: Any,
) -> Completion:
    complete = _completion_fn(server, client, mode, retries)
    try:
        return await complete(  # type: ignore[no-any-return]
            model=model,
            messages=kw.pop("messages", None) or _messages(),
            response_model=kw.pop("response_model", Verdict),
            params={"temperature": 0.0},
            timeout=60.0,
        )
    finally:
        if isinstance(complete, LeanClient):
            await complete.aclose()


def _prompt_tokens(server: LLMServer) -> int:
    # What the test server reports as prompt tokens: a quarter of the messages' JSON.
    return sum(max(1, len(json.dumps(r.body["messages"])) // 4) for r in server.requests)


def _reply_tokens(*texts: str) -> int:
    return sum(max(1, len(t) // 4) for t in texts)


@pytest.fixture(autouse=True)
async def close_litellm_clients() -> AsyncIterator[None]:
    yield
    await litellm.close_litellm_async_clients()


# ---------------------------------------------------------------- what is sent


def _without_call_ids(bodies: list[dict[str, Any]]) -> str:
    # Tool-call ids are random per reply; everything else must match byte for byte.
    return re.sub(r"call_[0-9a-f]{12}", "call_ID", json.dumps(bodies, sort_keys=True))


@pytest.mark.parametrize("mode", DIRECT_MODES)
async def test_requests_and_reasks_are_the_ones_instructor_sends(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    _one_lean_mode(client, mode)
    rubric = load_rubric("ddx")
    model = response_model(rubric)
    item = next(iter(read_items(PREDICTIONS)))
    prompt = render_prompt(rubric, item.prediction)
    assert prompt is not None

    llm_server.script = [Reply.text(MALFORMED), Reply.auto()]
    client = instructor.from_litellm(
        litellm.acompletion, mode=getattr(instructor.Mode, mode.upper())
    )
    await client.create_with_completion(
        model=MODEL,
        messages=prompt.messages,
        response_model=model,
        max_retries=2,
        temperature=0.0,
        api_base=llm_server.url,
        api_key=PLACEHOLDER_KEY,
        num_retries=0,
        timeout=60.0,
    )
    theirs = [r.body for r in llm_server.requests]

    for _ in range(2):  # twice: the request prepared once must come out unchanged
        llm_server.reset()
        llm_server.script = [Reply.text(MALFORMED), Reply.auto()]
        done = await _complete(
            llm_server, mode, messages=prompt.messages, response_model=model, client=client
        )
        assert done.attempts == 2
        ours = [r.body for r in llm_server.requests]
        assert len(ours) == 2
        assert _without_call_ids(ours) == _without_call_ids(theirs)


# ---------------------------------------------------------------- replies


@pytest.mark.parametrize("mode", [*DIRECT_MODES, "md_json"])
async def test_a_valid_reply_in_each_mode(llm_server: LLMServer, mode: str, client: str) -> None:
    _one_lean_mode(client, mode)
    reply = json.dumps(VALID)
    llm_server.script = [Reply.json(VALID)]
    done = await _complete(llm_server, mode, client=client)
    assert done.verdict == VALID
    assert llm_server.count == 1
    assert done.tokens_in == _prompt_tokens(llm_server)
    assert done.tokens_out == _reply_tokens(reply)
    assert done.cost_usd is None  # the test model has no price
    body = llm_server.requests[0].body
    assert body["temperature"] == 0.0
    if mode == "tools":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Verdict"}}
        assert sorted(body["tools"][0]["function"]["parameters"]["required"]) == [
            "rationale",
            "score",
        ]
    elif mode == "json_schema":
        assert body["response_format"]["json_schema"]["schema"] == Verdict.model_json_schema()
    elif mode == "json":
        assert body["response_format"] == {"type": "json_object"}
        assert '"rationale"' in body["messages"][0]["content"]  # the schema, in the system prompt
        assert body["messages"][0]["content"].startswith("You are a careful judge.\n\n")


@pytest.mark.parametrize("mode", [*DIRECT_MODES, "md_json"])
async def test_a_malformed_reply_is_reasked_and_recovered(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    _one_lean_mode(client, mode)
    llm_server.script = [Reply.text(MALFORMED), Reply.json(VALID)]
    done = await _complete(llm_server, mode, client=client)
    assert done.verdict == VALID
    assert llm_server.count == 2
    first, second = (r.body["messages"] for r in llm_server.requests)
    added = second[len(first) :]
    assert second[: len(first)] == first
    assert added[0]["role"] == "assistant"
    assert "Invalid JSON" in added[-1]["content"]  # the validation error, named to the judge
    # Both attempts were paid for, and both are counted.
    assert done.tokens_in == _prompt_tokens(llm_server)
    assert done.tokens_out == _reply_tokens(MALFORMED, json.dumps(VALID))


@pytest.mark.parametrize("mode", DIRECT_MODES)
async def test_a_reply_that_never_validates_is_invalid_with_tokens(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    _one_lean_mode(client, mode)
    wrong = {"score": 9, "rationale": "off the scale"}
    llm_server.script = lambda body, n: Reply.json(wrong)
    with pytest.raises(InvalidReplyError) as caught:
        await _complete(llm_server, mode, retries=1, client=client)
    assert llm_server.count == 2
    error = caught.value
    assert error.attempts == 2
    assert "score" in str(error)
    assert error.tokens_in == _prompt_tokens(llm_server)
    assert error.tokens_out == _reply_tokens(json.dumps(wrong), json.dumps(wrong))


async def test_no_validation_retries_means_one_request(llm_server: LLMServer, client: str) -> None:
    llm_server.script = [Reply.text(MALFORMED)]
    with pytest.raises(InvalidReplyError) as caught:
        await _complete(llm_server, "tools", retries=0, client=client)
    assert llm_server.count == 1 and caught.value.attempts == 1


def _chat_completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": "test-judge",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


async def test_a_reply_without_the_tool_call_is_reasked(llm_server: LLMServer) -> None:
    # A provider that ignores tool_choice and answers in prose (a 200 with a body of our own).
    prose = _chat_completion({"role": "assistant", "content": "Score 4."})
    llm_server.script = [Reply.error(200, body=prose), Reply.json(VALID)]
    done = await _complete(llm_server, "tools")
    assert done.verdict == VALID and done.attempts == 2
    added = llm_server.requests[1].body["messages"][2:]
    assert [m["role"] for m in added] == ["assistant", "user"]
    assert added[0]["content"] == "Score 4."
    assert "calls no function" in added[1]["content"]


@pytest.mark.parametrize("mode", DIRECT_MODES)
async def test_a_cut_off_reply_is_invalid_without_a_reask(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    _one_lean_mode(client, mode)
    llm_server.script = [Reply.truncated(VALID)]
    with pytest.raises(InvalidReplyError) as caught:
        await _complete(llm_server, mode, client=client)
    assert llm_server.count == 1
    assert "max_tokens" in str(caught.value) and caught.value.tokens_in


async def test_a_refusal_is_invalid_without_a_reask(llm_server: LLMServer, client: str) -> None:
    refusal = {"role": "assistant", "content": None, "refusal": "I cannot grade this."}
    llm_server.script = [Reply.error(200, body=_chat_completion(refusal))]
    with pytest.raises(InvalidReplyError, match="refused: I cannot grade this"):
        await _complete(llm_server, "json_schema", client=client)
    assert llm_server.count == 1


# ---------------------------------------------------------------- errors


async def test_provider_errors_keep_their_kind_and_lose_the_key(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    llm_server.script = [
        Reply.error(429, retry_after=7),
        Reply.error(500),
        Reply.error(401, body={"error": {"message": f"bad key {secret}"}}),
    ]
    with pytest.raises(TransientError) as limited:
        await _complete(llm_server, "tools", client=client)
    assert limited.value.retry_after == 7.0
    with pytest.raises(TransientError):
        await _complete(llm_server, "json_schema", client=client)
    with pytest.raises(PermanentError) as denied:
        await _complete(llm_server, "json", client=client)
    assert "bad key" in str(denied.value) and secret not in str(denied.value)
    assert llm_server.count == 3  # the engine owns retries: none inside litellm or the SDK


@pytest.mark.parametrize(
    ("status", "kind", "name"),
    [
        (400, PermanentError, "BadRequestError"),
        (401, PermanentError, "AuthenticationError"),
        (404, PermanentError, "NotFoundError"),
        (408, TransientError, "Timeout"),
        (500, TransientError, "InternalServerError"),
        (502, TransientError, ""),
        (503, TransientError, "ServiceUnavailableError"),
        (504, TransientError, "Timeout"),
    ],
)
async def test_each_status_is_classified_by_litellms_exception_class(
    llm_server: LLMServer, status: int, kind: type[Exception], name: str, client: str
) -> None:
    # The lean path names the status; litellm, its exception class.
    llm_server.script = [Reply.error(status)]
    with pytest.raises(kind, match=name if client == "litellm" else f"HTTP {status}"):
        await _complete(llm_server, "tools", client=client)
    assert llm_server.count == 1


async def test_a_context_window_exceeded_is_permanent(llm_server: LLMServer, client: str) -> None:
    code = "context_length_exceeded"
    body = {"error": {"message": "maximum context length is 8 tokens", "code": code}}
    llm_server.script = [Reply.error(400, body=body)]
    with pytest.raises(PermanentError, match="context"):
        await _complete(llm_server, "json_schema", client=client)


# ---------------------------------------------------------------- cost


@pytest.fixture
def pricing_spy(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every reply litellm or judge prices (litellm.completion_cost, wherever it is called)."""
    import litellm.cost_calculator as calculator

    priced: list[Any] = []
    original = calculator.completion_cost

    def spy(*args: Any, **kwargs: Any) -> Any:
        priced.append(kwargs.get("completion_response"))
        return original(*args, **kwargs)

    monkeypatch.setattr(calculator, "completion_cost", spy)
    monkeypatch.setattr(litellm, "completion_cost", spy)
    return priced


@pytest.mark.parametrize("mode", ["tools", "json"])
async def test_each_reply_is_priced_once(
    llm_server: LLMServer, pricing_spy: list[Any], mode: str
) -> None:
    input_price, output_price = 1e-6, 4e-6
    litellm.register_model(
        {
            "openai/priced-test-judge": {
                "input_cost_per_token": input_price,
                "output_cost_per_token": output_price,
                "litellm_provider": "openai",
                "mode": "chat",
            }
        }
    )
    llm_server.script = [Reply.text(MALFORMED), Reply.json(VALID)]
    done = await _complete(llm_server, mode, model="openai/priced-test-judge")
    assert len(pricing_spy) == 2  # two replies, each priced once (by litellm, as it returns it)
    assert done.tokens_in and done.tokens_out
    expected = done.tokens_in * input_price + done.tokens_out * output_price
    assert done.cost_usd == pytest.approx(expected)  # both attempts paid

    # A model litellm cannot price is tried once per reply too, and costs None, not 0.
    pricing_spy.clear()
    llm_server.script = [Reply.json(VALID)]
    unpriced = await _complete(llm_server, mode)
    assert len(pricing_spy) == 1 and unpriced.cost_usd is None


async def test_a_reply_litellm_did_not_price_is_priced_here(
    llm_server: LLMServer, pricing_spy: list[Any]
) -> None:
    # A wrapped completion function can hand back a reply without litellm's hidden fields.
    async def forgetful(**kwargs: Any) -> Any:
        raw = await litellm.acompletion(**kwargs)
        raw._hidden_params = {}
        return raw

    complete = litellm_complete(api_base=llm_server.url, acompletion=forgetful)
    llm_server.script = [Reply.json(VALID)]
    await complete(
        model=MODEL, messages=_messages(), response_model=Verdict, params={}, timeout=60.0
    )
    assert len(pricing_spy) == 2  # litellm's own pass, and ours on the stripped reply


# ---------------------------------------------------------------- through the engine


class _Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def _engine_call(
    server: LLMServer, mode: str = "tools", client: str = "litellm", **policy: Any
) -> tuple[Any, _Sleeps]:
    sleeps = _Sleeps()
    complete = _completion_fn(server, client, mode)
    engine = Engine(
        complete, policy=RetryPolicy(**{"attempts": 3, "timeout": 5.0, **policy}), sleep=sleeps
    )
    try:
        result = await engine.call(JudgeSpec(MODEL, {"temperature": 0.0}), _messages(), Verdict)
    finally:
        if isinstance(complete, LeanClient):
            await complete.aclose()
    return result, sleeps


@pytest.mark.parametrize("mode", ["tools", "md_json"])
async def test_validation_reasks_count_in_the_judgments_attempts(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    # A bad reply then a good one: two paid requests, and the record says so (it said 1).
    _one_lean_mode(client, mode, runs="tools")
    llm_server.script = [Reply.text(MALFORMED), Reply.json(VALID)]
    result, _ = await _engine_call(llm_server, mode, client)
    assert result.verdict == VALID and llm_server.count == 2
    assert result.usage.attempts == 2
    assert result.usage.tokens_in == _prompt_tokens(llm_server)
    assert result.usage.tokens_out == _reply_tokens(MALFORMED, json.dumps(VALID))


@pytest.mark.parametrize("mode", ["tools", "md_json"])
async def test_reasks_and_retries_add_up_in_attempts_and_tokens(
    llm_server: LLMServer, mode: str, client: str
) -> None:
    # A bad reply, its re-ask rate-limited, then the engine's retry answered: 3 requests, and
    # the first reply's tokens were paid for too.
    _one_lean_mode(client, mode, runs="tools")
    llm_server.script = [Reply.text(MALFORMED), Reply.error(429, retry_after=0), Reply.json(VALID)]
    result, sleeps = await _engine_call(llm_server, mode, client)
    assert result.verdict == VALID and llm_server.count == 3
    assert result.usage.attempts == 3 and sleeps.waits == [0.0]
    answered = [r for r in llm_server.requests if r.status == 200]
    prompts = sum(max(1, len(json.dumps(r.body["messages"])) // 4) for r in answered)
    assert result.usage.tokens_in == prompts
    assert result.usage.tokens_out == _reply_tokens(MALFORMED, json.dumps(VALID))


@pytest.mark.parametrize("ahead", [0.0, 3.0])
async def test_retry_after_in_seconds_or_as_an_http_date_is_honoured(
    llm_server: LLMServer, ahead: float, client: str
) -> None:
    import email.utils
    import time

    if ahead:  # RFC 9110's IMF-fixdate, e.g. "Wed, 21 Oct 2026 07:28:00 GMT"
        header: float | str = email.utils.formatdate(time.time() + ahead, usegmt=True)
        low, high = ahead - 1.5, ahead + 0.5  # the date is to the second
    else:
        header, low, high = 0.25, 0.25, 0.25
    llm_server.script = [Reply.error(429, retry_after=header), Reply.json(VALID)]
    result, sleeps = await _engine_call(llm_server, client=client, backoff=0.0)
    assert result.verdict == VALID and llm_server.count == 2
    (wait,) = sleeps.waits
    assert low <= wait <= high, (header, wait)


async def test_a_date_in_the_past_means_retry_now(llm_server: LLMServer, client: str) -> None:
    llm_server.script = [Reply.error(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")]
    with pytest.raises(TransientError) as caught:
        await _complete(llm_server, "tools", client=client)
    assert caught.value.retry_after == 0.0


async def test_a_bug_in_the_completion_path_is_not_a_provider_error(llm_server: LLMServer) -> None:
    # A wrapped completion function (an adapter of ours) that breaks: before, any exception
    # became a PermanentError and an "unscored" judgment; now it shows as the bug it is.
    async def broken(**kwargs: Any) -> Any:
        raw = await litellm.acompletion(**kwargs)
        return raw.no_such_field

    complete = litellm_complete(api_base=llm_server.url, acompletion=broken)
    with pytest.raises(AttributeError):
        await complete(
            model=MODEL, messages=_messages(), response_model=Verdict, params={}, timeout=60.0
        )


# ---------------------------------------------------------------- redaction


def _echoing(secret: str) -> Any:
    """A script whose every reply is a schema-valid verdict whose free text echoes `secret`."""

    def echo(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: f"as the key {secret} shows" if k in {"rationale", "explanation"} else echo(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [echo(v) for v in value]
        return value

    def script(body: dict[str, Any], n: int) -> Reply:
        schema, _ = find_schema(body)
        assert schema is not None
        return Reply.json(echo(_Sampler(schema, str(n)).value(schema)))

    return script


def test_a_key_echoed_in_a_reply_reaches_no_record_or_cache(
    llm_server: LLMServer,
    tmp_path: Path,
    judge_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    client: str,
) -> None:
    secret = "gw-env-SECRET-0123456789abcdef"  # not sk- shaped: only the environment knows it
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    llm_server.script = _echoing(secret)
    out = tmp_path / "r.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, judges=[MODEL], api_base=llm_server.url, client=client)
    records = list(iter_records(out))
    assert records and {r.status for r in records} == {"scored"}
    rationales = [j.rationale for r in records for j in r.judgments if j.judge == MODEL]
    assert rationales and all("<OPENAI_API_KEY>" in (text or "") for text in rationales)
    for path in [out, *judge_home.rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    # And again from the cache, written before this fix or not.
    again = judge.score(PREDICTIONS, "ddx", judges=[MODEL], api_base=llm_server.url, client=client)
    assert all(secret not in r.model_dump_json() for r in again.records)
