"""Tests of tests/llm_server.py, through real litellm/instructor calls over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import instructor
import litellm
import pytest
from instructor.core import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, Field, ValidationError

from judge.judging.engine import TransientError
from judge.judging.providers.llm import litellm_complete
from tests.llm_server import Faults, LLMServer, Reply, _Sampler, find_schema

litellm.suppress_debug_info = True
ROOT = Path(__file__).resolve().parents[1]
MODEL = "openai/test-judge"
KEY = "sk-test-placeholder"
# num_retries=0: litellm forwards it to the openai SDK, whose 2 default retries would hide faults.
NO_RETRY: dict[str, Any] = {"num_retries": 0}


class Verdict(BaseModel):
    score: Literal[1, 2, 3, 4, 5]
    rationale: str


def msgs(text: str = "Rate this answer.") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def structured(server: LLMServer, mode: instructor.Mode, **kw: Any) -> Verdict:
    client = instructor.from_litellm(litellm.acompletion, mode=mode)
    args: dict[str, Any] = {"messages": msgs(), "max_retries": 0, **NO_RETRY, **kw}
    return await client.chat.completions.create(
        model=MODEL, api_base=server.url, api_key=KEY, response_model=Verdict, **args
    )


async def plain(url: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"messages": msgs(), **NO_RETRY, **kw}
    return await litellm.acompletion(model=MODEL, api_base=url, api_key=KEY, **args)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
async def close_litellm_clients() -> AsyncIterator[None]:
    # litellm caches its httpx clients; left open they leak sockets past each test's loop.
    yield
    await litellm.close_litellm_async_clients()


# ---------------------------------------------------------------- valid replies per mode


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        (instructor.Mode.TOOLS, lambda b: b["tool_choice"]["function"]["name"] == "Verdict"),
        (instructor.Mode.JSON_SCHEMA, lambda b: b["response_format"]["type"] == "json_schema"),
        (instructor.Mode.JSON, lambda b: b["response_format"] == {"type": "json_object"}),
        (instructor.Mode.MD_JSON, lambda b: "response_format" not in b),
    ],
)
async def test_each_instructor_mode_parses(server: LLMServer, mode: instructor.Mode, check) -> None:
    verdict = await structured(server, mode)
    assert verdict.score in (1, 2, 3, 4, 5)
    assert verdict.rationale == "auto rationale"
    seen = server.requests[0]
    assert check(seen.body) and seen.status == 200 and seen.kind == "auto"
    assert find_schema(seen.body)[0]["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    assert seen.authorized and KEY not in repr(server.requests)


async def test_llama_style_json_object_schema(server: LLMServer) -> None:
    fmt = {"type": "json_object", "schema": Verdict.model_json_schema()}
    response = await plain(server.url, response_format=fmt)
    assert Verdict.model_validate_json(response.choices[0].message.content)
    assert server.requests[0].body["response_format"]["schema"]["title"] == "Verdict"
    usage = response.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


async def test_auto_scores_are_stable_per_item_and_vary_across_items() -> None:
    async def scores(seed: int) -> list[int]:
        with LLMServer(seed=seed) as s:
            mode = instructor.Mode.JSON_SCHEMA
            items = [structured(s, mode, messages=msgs(f"item {i}")) for i in range(12)]
            return [v.score for v in await asyncio.gather(*items)]

    first, again, other_seed = await scores(0), await scores(0), await scores(1)
    assert first == again
    assert len(set(first)) > 1 and first != other_seed


class Inner(BaseModel):
    label: Literal["a", "b"]
    weight: float = Field(ge=0.5, le=0.75)


class Rich(BaseModel):
    kind: Literal["fixed"]
    count: int = Field(ge=-7, le=-3)
    odd: int = Field(gt=10, lt=12)
    short: str = Field(min_length=20, max_length=25)
    tiny: str = Field(max_length=3)
    flag: bool
    inner: Inner
    maybe: Inner | None
    many: list[Inner] = Field(min_length=3)


def test_sampler_builds_valid_instances_of_nested_schemas() -> None:
    schema = Rich.model_json_schema()
    for salt in ("x", "y", "z"):
        value = _Sampler(schema, salt).value(schema)
        rich = Rich.model_validate(value)
        assert rich.odd == 11 and rich.maybe is not None and len(rich.many) == 3


# ---------------------------------------------------------------- scripted errors


async def test_429_is_rate_limit_error_with_retry_after(server: LLMServer) -> None:
    # What judge needs: the server's Retry-After reaching the engine as a TransientError's
    # delay (where litellm keeps the headers changed in 1.110; judge reads either place).
    server.script = [Reply.error(429, retry_after=0.05)]
    with pytest.raises(litellm.RateLimitError):
        await plain(server.url)
    server.script = [Reply.error(429, retry_after=0.05)]
    complete = litellm_complete(api_base=server.url, mode="json_schema")
    with pytest.raises(TransientError) as info:
        await complete(model=MODEL, messages=msgs(), response_model=Verdict, params={}, timeout=5)
    assert info.value.retry_after == 0.05
    assert server.count == 2 and {r.status for r in server.requests} == {429}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, litellm.InternalServerError),
        (503, litellm.ServiceUnavailableError),
        (400, litellm.BadRequestError),
        (401, litellm.AuthenticationError),
        (504, litellm.Timeout),
    ],
)
async def test_status_maps_to_litellm_exception(server: LLMServer, status: int, error) -> None:
    server.script = [Reply.error(status)]
    with pytest.raises(error) as info:
        await plain(server.url)
    assert info.value.status_code == status and server.count == 1


async def test_openai_sdk_retries_twice_unless_num_retries_is_zero(server: LLMServer) -> None:
    server.script = [Reply.error(429, retry_after=0.01)] * 3 + [Reply.text("fine")]
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(model=MODEL, api_base=server.url, api_key=KEY, messages=msgs())
    assert server.count == 3
    assert (await plain(server.url)).choices[0].message.content == "fine"


async def test_connection_refused_is_internal_server_error() -> None:
    with LLMServer() as gone:
        url = gone.url
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        await plain(url)


async def test_hang_times_out_client(server: LLMServer) -> None:
    server.script = [Reply.hang(60)]
    started = time.monotonic()
    with pytest.raises(litellm.Timeout):
        await plain(server.url, timeout=0.5)
    assert time.monotonic() - started < 30  # not the hang's 60 s, on a loaded machine too
    assert server.requests[0].kind == "hang"


async def test_api_error_through_instructor_is_not_retried(server: LLMServer) -> None:
    server.script = [Reply.error(429, retry_after=1)]
    with pytest.raises(InstructorRetryException) as info:
        await structured(server, instructor.Mode.TOOLS, max_retries=3)
    assert isinstance(info.value.__cause__, litellm.RateLimitError)
    assert info.value.n_attempts == 1 and server.count == 1
    assert info.value.__cause__.litellm_response_headers["retry-after"] == "1"


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON])
async def test_malformed_json_is_reasked_then_fails(server: LLMServer, mode) -> None:
    server.script = [Reply.text('{"score": ')] * 2
    with pytest.raises(InstructorRetryException) as info:
        await structured(server, mode, max_retries=1)
    assert isinstance(info.value.__cause__, ValidationError)
    assert info.value.n_attempts == 2 and server.count == 2
    assert info.value.total_usage.total_tokens > 0
    first, reask = (len(r.body["messages"]) for r in server.requests)
    assert reask == first + 2  # the bad reply and the error text


async def test_reask_recovers_when_next_reply_is_valid(server: LLMServer) -> None:
    server.script = [Reply.json({"score": 9, "rationale": "out of range"})]  # then auto
    verdict = await structured(server, instructor.Mode.TOOLS, max_retries=1)
    assert verdict.score in (1, 2, 3, 4, 5) and server.count == 2


async def test_truncated_reply_raises_incomplete_output(server: LLMServer) -> None:
    server.script = [Reply.truncated({"score": 3, "rationale": "cut here"})] * 2
    with pytest.raises(IncompleteOutputException):
        await structured(server, instructor.Mode.JSON_SCHEMA, max_retries=1)
    assert server.count == 1  # no reask on finish_reason "length"


# ---------------------------------------------------------------- script, faults, load


async def http_post(client: httpx.AsyncClient, url: str, text: str) -> int:
    body = {"model": "test-judge", "messages": msgs(text)}
    return (await client.post(f"{url}/chat/completions", json=body)).status_code


async def test_callable_script_gets_body_and_index(server: LLMServer) -> None:
    server.script = lambda body, n: Reply.error(500) if n == 1 else Reply.json({"n": n})
    async with httpx.AsyncClient() as client:
        statuses = [await http_post(client, server.url, f"q{i}") for i in range(3)]
    assert statuses == [200, 500, 200]
    assert [r.body["messages"][0]["content"] for r in server.requests] == ["q0", "q1", "q2"]


async def test_faults_are_seeded_per_item_and_attempt() -> None:
    faults = Faults(rate_429=0.2, rate_500=0.2, rate_malformed=0.1, seed=3)

    async def statuses() -> tuple[dict[str, list[int]], int]:
        """Per item, its two attempts' statuses in attempt order, and the malformed count.

        The two copies of an item race each other, so which request index meets attempt 0
        is up to the event loop; the server's request log is in attempt order."""
        with LLMServer(faults=faults) as s:
            async with httpx.AsyncClient() as client:
                jobs = [http_post(client, s.url, f"item {i % 30}") for i in range(60)]
                await asyncio.gather(*jobs)
            per_item: dict[str, list[int]] = {}
            for seen in s.requests:  # appended in the order attempts are counted
                text = seen.body["messages"][-1]["content"]
                per_item.setdefault(text, []).append(seen.status)
            return per_item, [r.kind for r in s.requests].count("text")

    first, again = await statuses(), await statuses()
    assert first == again
    codes = [c for item in first[0].values() for c in item]
    assert len(first[0]) == 30 and len(codes) == 60
    assert 6 <= codes.count(429) <= 20 and 6 <= codes.count(500) <= 20 and first[1] >= 1


async def test_sustains_64_concurrent_requests_at_200ms() -> None:
    with LLMServer(latency=0.2, jitter=0.02) as s:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            started = time.monotonic()
            codes = await asyncio.gather(*(http_post(client, s.url, f"{i}") for i in range(64)))
            elapsed = time.monotonic() - started
        assert codes == [200] * 64 and s.peak_in_flight == 64
        assert elapsed < 6.4  # one at a time would take 12.8 s (room for a loaded machine)
        s.reset()
        assert s.count == 0 and s.peak_in_flight == 0


async def test_models_health_and_shutdown_leave_nothing_behind() -> None:
    before = set(threading.enumerate())
    with LLMServer(script=[Reply.hang(30)]) as s:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{s.url}/models")).json()["data"][0]["id"] == "test-judge"
            assert (await client.get(s.url.removesuffix("/v1") + "/health")).status_code == 200
            hanging = asyncio.ensure_future(http_post(client, s.url, "slow"))
            while not s.in_flight:  # the request is hanging in the server
                await asyncio.sleep(0.01)
            started = time.monotonic()
            s.__exit__(None, None, None)  # stopping must not wait for the 30 s hang
            assert time.monotonic() - started < 15
            await asyncio.gather(hanging, return_exceptions=True)
    assert set(threading.enumerate()) <= before
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", s.port))


def test_runs_as_a_process_and_stops_on_sigterm() -> None:
    cmd = [sys.executable, "-m", "tests.llm_server", "--port", "0", "--faults", "rate_500=1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip() if proc.stdout else ""
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.post(f"{url}/chat/completions", json={"messages": msgs()}).status_code == 500
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill() if proc.poll() is None else None
        if proc.stdout:
            proc.stdout.close()


def test_requests_to_test_servers_wait_as_long_as_a_loaded_machine_needs() -> None:
    # tests/conftest.py raises httpx's 5 s default for every client without its own timeout.
    assert httpx.Client().timeout.read == httpx.AsyncClient().timeout.connect == 120.0
