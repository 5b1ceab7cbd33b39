"""What only the lean path has (judge/judging/providers/lean.py): which judges take it, local
judges' request and lenient replies, prices read from litellm's price map without litellm, and
its connections. What both paths share is tested on both in test_llm.py, test_score_http.py and
test_panel_http.py (the `client` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import judge
from judge.errors import ConfigError
from judge.judging.engine import InvalidReplyError, TransientError
from judge.judging.providers.lean import LeanClient, lean_endpoint, use_lean
from judge.judging.providers.pricing import map_price
from judge.judging.providers.xllama_server import free_port
from tests.llm_server import LLMServer, Reply

MODEL = "openai/test-judge"
PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
# What SmolLM2 sent through llama.cpp's grammar: a raw newline inside a string.
RAW_NEWLINES = '{"score": 4, "rationale": "Grounded.\nFine."}'


class Verdict(BaseModel):
    score: Literal[1, 2, 3, 4, 5]
    rationale: str


async def _call(client: LeanClient, model: str = MODEL, **params: Any) -> Any:
    try:
        return await client(
            model=model,
            messages=[{"role": "user", "content": "Rate this answer."}],
            response_model=Verdict,
            params=params,
            timeout=5.0,
        )
    finally:
        await client.aclose()


def test_which_judges_take_the_lean_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOSTED_VLLM_API_BASE", raising=False)
    base = "http://127.0.0.1:9/v1"
    assert use_lean("auto", "openai/gpt-4o-mini", None, "tools")
    assert use_lean("auto", "hosted_vllm/qwen", base, "json_schema")
    assert use_lean("auto", "my-model", base, "tools")  # a bare name on a user's server
    assert not use_lean("auto", "claude-x", None, "tools")  # litellm knows its provider
    assert not use_lean("auto", "hosted_vllm/qwen", None, "tools")  # no server named
    assert not use_lean("auto", "anthropic/claude-x", base, "tools")  # not OpenAI's API
    assert not use_lean("auto", "openai/gpt-4o-mini", None, "md_json")  # instructor's mode
    assert not use_lean("litellm", "openai/gpt-4o-mini", base, "tools")
    with pytest.raises(ConfigError, match="anthropic/claude-x needs --client litellm"):
        use_lean("lean", "anthropic/claude-x", base, "tools")
    with pytest.raises(ConfigError, match="--mode json needs --client litellm"):
        use_lean("lean", "openai/gpt-4o-mini", base, "json")
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", base)
    assert lean_endpoint("hosted_vllm/qwen", None) == base


async def test_a_local_judge_gets_json_object_with_schema_and_raw_newlines_are_accepted(
    llm_server: LLMServer,
) -> None:
    llm_server.script = [Reply.text(RAW_NEWLINES)]
    local = LeanClient(llm_server.url, "server-key", lenient=True, json_object=True)
    done = await _call(local, "openai/smollm2-135m", max_tokens=64)
    assert done.verdict == {"score": 4, "rationale": "Grounded.\nFine."}
    body = llm_server.requests[0].body
    assert body["model"] == "smollm2-135m" and body["max_tokens"] == 64
    assert body["response_format"] == {"type": "json_object", "schema": Verdict.model_json_schema()}
    # A strict client (a hosted judge) re-asks the same reply: strict JSON has no raw newlines.
    llm_server.reset()
    llm_server.script = [Reply.text(RAW_NEWLINES), Reply.text(RAW_NEWLINES)]
    with pytest.raises(InvalidReplyError, match="control character"):
        await _call(LeanClient(llm_server.url, max_validation_retries=1))
    assert llm_server.count == 2


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "gpt-4o-mini", "openai/gpt-4o"])
def test_prices_from_the_map_file_are_litellms(model: str) -> None:
    from judge.judging.providers.pricing import call_price

    assert map_price(model, 1234, 56) == pytest.approx(call_price(model, 1234, 56), rel=1e-12)


def test_a_model_without_a_price_or_tokens_costs_none_not_0() -> None:
    assert map_price("openai/test-judge", 10, 10) is None
    assert map_price("hosted_vllm/gpt-4o-mini", 10, 10) is None  # another provider's entry
    assert map_price("openai/gpt-4o-mini", None, 10) is None


async def test_a_server_that_is_not_there_is_a_transient_failure() -> None:
    with pytest.raises(TransientError) as caught:
        await _call(LeanClient(f"http://127.0.0.1:{free_port()}/v1"))
    assert caught.value.attempts == 1


async def test_calls_share_one_session_until_it_is_closed(llm_server: LLMServer) -> None:
    client = LeanClient(llm_server.url)
    messages = [{"role": "user", "content": "Rate this answer."}]
    for _ in range(3):
        await client(model=MODEL, messages=messages, response_model=Verdict, params={}, timeout=5.0)
    session = client._session
    assert session is not None and not session.closed
    await client.aclose()
    assert session.closed and client._session is None
    assert [r.body["model"] for r in llm_server.requests] == ["test-judge"] * 3


@pytest.mark.parametrize(("first", "then"), [("litellm", "lean"), ("lean", "litellm")])
def test_a_cache_written_by_one_path_answers_the_other(
    llm_server: LLMServer, tmp_path: Path, first: str, then: str
) -> None:
    # The cache key is the call's (model, parameters, messages, schema), not the client's:
    # caches written before the lean path existed answer it.
    options: dict[str, Any] = {"judges": [MODEL], "api_base": llm_server.url}
    judge.score(PREDICTIONS, "ddx", out=tmp_path / "a.jsonl", client=first, **options)
    sent = llm_server.count
    again = judge.score(PREDICTIONS, "ddx", out=tmp_path / "b.jsonl", client=then, **options)
    assert sent == 3 and llm_server.count == sent and again.summary.cached_calls == 3
