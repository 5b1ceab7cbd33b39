"""The engine's policy around any completion function: retries, bounds, cache, dedupe.

These tests pass a scripted completion function that records its calls (the engine takes it
as a parameter); the same policy over real HTTP is tested in test_score_http.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import judge
from judge.errors import ConfigError
from judge.judging.engine import (
    Completion,
    Engine,
    InvalidReplyError,
    JudgeSpec,
    PermanentError,
    RetryPolicy,
    TransientError,
)
from judge.store.cache import Cache
from judge.store.results import iter_records


class Verdict(BaseModel):
    score: int


MESSAGES = [{"role": "user", "content": "judge this"}]
PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
JUDGE = JudgeSpec("scripted/judge", {"temperature": 0.0})


class Scripted:
    """A completion function that plays a list of outcomes and records every call."""

    def __init__(self, outcomes: list[Any], delay: float = 0.0):
        self.outcomes = list(outcomes)
        self.calls: list[dict[str, Any]] = []
        self.delay = delay
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, **kwargs: Any) -> Completion:
        self.calls.append(kwargs)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            outcome = self.outcomes.pop(0) if self.outcomes else Completion({"score": 3})
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome  # type: ignore[no-any-return]
        finally:
            self.in_flight -= 1


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _engine(complete: Callable[..., Any], **kw: Any) -> tuple[Engine, Sleeps]:
    sleeps = Sleeps()
    policy = kw.pop("policy", RetryPolicy(attempts=3, timeout=5, backoff=1, backoff_max=8))
    return Engine(complete, policy=policy, sleep=sleeps, **kw), sleeps


async def test_rate_limit_is_retried_after_the_servers_delay() -> None:
    script = Scripted([TransientError("429", retry_after=2.5), Completion({"score": 4}, 10, 3)])
    engine, sleeps = _engine(script)
    result = await engine.call(JUDGE, MESSAGES, Verdict)
    assert result.verdict == {"score": 4}
    assert sleeps.waits == [2.5]
    assert result.usage.attempts == 2 and result.usage.tokens_in == 10
    assert script.calls[0]["params"] == {"temperature": 0.0}


async def test_transient_failures_stop_after_the_bound_and_stay_retryable() -> None:
    script = Scripted([TransientError("503")] * 5)
    engine, sleeps = _engine(script)
    result = await engine.call(JUDGE, MESSAGES, Verdict)
    assert result.verdict is None and result.retryable
    assert len(script.calls) == 3 and len(sleeps.waits) == 2
    assert all(0 <= w <= 8 for w in sleeps.waits)
    assert "gave up after 3 attempts" in (result.error or "")
    assert engine.stats.failures == {"scripted/judge: transient": 1}


async def test_invalid_reply_is_final_and_not_retried() -> None:
    script = Scripted(
        [InvalidReplyError("score: 7 is not one of 1-5", attempts=3, tokens_in=90, tokens_out=30)]
    )
    engine, sleeps = _engine(script)
    result = await engine.call(JUDGE, MESSAGES, Verdict)
    assert result.verdict is None and not result.retryable
    assert "invalid reply" in (result.error or "") and result.usage.tokens_in == 90
    assert len(script.calls) == 1 and sleeps.waits == []


async def test_permanent_error_does_not_raise() -> None:
    engine, _ = _engine(Scripted([PermanentError("401 bad key")]))
    first = await engine.call(JUDGE, MESSAGES, Verdict)
    assert first.retryable and "401" in (first.error or "")
    assert first.usage.attempts == 1


async def test_a_bug_in_the_completion_function_propagates_and_is_not_retried() -> None:
    # Formerly a RuntimeError became a retryable "unscored" judgment (and exit status 0); a
    # bug in the project's own code must surface as a traceback instead.
    script = Scripted([RuntimeError("bug"), Completion({"score": 3})])
    engine, sleeps = _engine(script)
    with pytest.raises(RuntimeError, match="bug"):
        await engine.call(JUDGE, MESSAGES, Verdict)
    assert len(script.calls) == 1 and sleeps.waits == []


async def test_reasks_count_in_attempts() -> None:
    # The provider layer made 3 requests (2 re-asks) for the first and a transient failure
    # came before it: 4 requests in all.
    script = Scripted([TransientError("503"), Completion({"score": 4}, 30, 9, attempts=3)])
    engine, _ = _engine(script)
    result = await engine.call(JUDGE, MESSAGES, Verdict)
    assert result.verdict == {"score": 4} and result.usage.attempts == 4
    invalid = InvalidReplyError("never valid", attempts=3, tokens_in=90, tokens_out=30)
    engine, _ = _engine(Scripted([invalid]))
    failed = await engine.call(JUDGE, MESSAGES, Verdict)
    assert failed.verdict is None and failed.usage.attempts == 3
    # A re-asked reply, then a rate limit on the re-ask: its request and tokens count too.
    limited = TransientError("429", retry_after=0, attempts=2, tokens_in=5, tokens_out=2)
    engine, _ = _engine(Scripted([limited, Completion({"score": 4}, 10, 3, cost_usd=0.5)]))
    both = await engine.call(JUDGE, MESSAGES, Verdict)
    assert both.usage.attempts == 3 and both.usage.tokens_in == 15 and both.usage.tokens_out == 5
    assert both.usage.cost_usd == 0.5


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("attempts", 0),
        ("attempts", -1),
        ("attempts", 1.5),
        ("timeout", 0),
        ("timeout", -2.0),
        ("backoff", -1),
        ("backoff_max", -1),
    ],
)
def test_a_policy_that_allows_no_call_is_refused_naming_the_option(
    option: str, value: float
) -> None:
    with pytest.raises(ConfigError, match=option):
        RetryPolicy(**{option: value})  # type: ignore[arg-type]


def test_attempts_0_in_the_python_api_is_a_config_error() -> None:
    # Formerly `AssertionError: unreachable` from the retry loop.
    with pytest.raises(ConfigError, match="attempts"):
        judge.score(PREDICTIONS, "ddx", complete=Scripted([]), judges=["x/a"], attempts=0)


async def test_a_hung_call_times_out_as_transient() -> None:
    async def hang(**_: Any) -> Completion:
        await asyncio.sleep(60)
        raise AssertionError("not reached")

    policy = RetryPolicy(attempts=1, timeout=0.05)
    engine = Engine(hang, policy=policy)
    # wait_for allows a grace of 5 s beyond the timeout; shrink it for the test by a short
    # overall bound instead of waiting.
    result = await asyncio.wait_for(engine.call(JUDGE, MESSAGES, Verdict), 10)
    assert result.verdict is None and result.retryable and "no reply" in (result.error or "")


async def test_a_judge_with_its_own_timeout_waits_longer_than_the_policy() -> None:
    # A local server's slots share its cores, so its judge gets the timeout slots times over
    # (judge.judging.panel): the engine must honour the judge's bound over the policy's.
    async def slow(**kwargs: Any) -> Completion:
        await asyncio.sleep(0.3)
        return Completion({"score": 2, "timeout": kwargs["timeout"]}, 1, 1)

    policy = RetryPolicy(attempts=1, timeout=0.1)
    engine = Engine(slow, policy=policy)
    shared = JudgeSpec("local/shared-server", {}, max_concurrency=4, timeout=0.4)
    waited = await engine.call(shared, MESSAGES, Verdict)
    assert waited.verdict == {"score": 2, "timeout": 0.4}
    hurried = await asyncio.wait_for(engine.call(JUDGE, MESSAGES, Verdict), 10)
    assert hurried.verdict is None and "no reply within 0.1 s" in (hurried.error or "")


async def test_concurrency_is_bounded() -> None:
    script = Scripted([], delay=0.02)
    engine, _ = _engine(script, concurrency=3)
    prompts = [[{"role": "user", "content": f"item {i}"}] for i in range(12)]
    await asyncio.gather(*(engine.call(JUDGE, p, Verdict) for p in prompts))
    assert len(script.calls) == 12
    assert script.peak == 3 and engine.stats.peak_in_flight == 3


async def test_identical_calls_in_flight_are_made_once() -> None:
    script = Scripted([], delay=0.02)
    engine, _ = _engine(script)
    results = await asyncio.gather(*(engine.call(JUDGE, MESSAGES, Verdict) for _ in range(5)))
    assert len(script.calls) == 1
    assert all(r.verdict == {"score": 3} for r in results)


async def test_cache_answers_reruns_and_never_stores_errors(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    failing = Scripted([PermanentError("boom")])
    engine, _ = _engine(failing, cache=cache)
    assert (await engine.call(JUDGE, MESSAGES, Verdict)).verdict is None
    assert len(cache) == 0

    ok = Scripted([Completion({"score": 5}, 11, 4, cost_usd=0.002)])
    engine, _ = _engine(ok, cache=cache)
    fresh = await engine.call(JUDGE, MESSAGES, Verdict)
    again = await engine.call(JUDGE, MESSAGES, Verdict)
    assert len(ok.calls) == 1 and len(cache) == 1
    assert again.verdict == fresh.verdict == {"score": 5}
    assert again.usage.cached and not fresh.usage.cached
    assert again.usage.tokens_in == 11 and again.usage.cost_usd == 0.002

    # A different temperature is a different call; a different sample index too.
    other = JudgeSpec("scripted/judge", {"temperature": 0.7})
    await engine.call(other, MESSAGES, Verdict)
    await engine.call(JUDGE, MESSAGES, Verdict, sample=1)
    assert len(ok.calls) == 3


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Engine(Scripted([]), concurrency=0)


async def test_a_judge_can_have_its_own_tighter_bound() -> None:
    script = Scripted([], delay=0.02)
    engine, _ = _engine(script, concurrency=8)
    slow = JudgeSpec("local/one-at-a-time", {}, max_concurrency=1)
    prompts = [[{"role": "user", "content": f"item {i}"}] for i in range(5)]
    await asyncio.gather(*(engine.call(slow, p, Verdict) for p in prompts))
    assert len(script.calls) == 5 and script.peak == 1


async def test_cancelling_one_caller_does_not_cancel_a_shared_call() -> None:
    complete = Scripted([], delay=0.05)
    engine, _ = _engine(complete)
    first = asyncio.ensure_future(engine.call(JUDGE, MESSAGES, Verdict))
    second = asyncio.ensure_future(engine.call(JUDGE, MESSAGES, Verdict))
    await asyncio.sleep(0.01)
    first.cancel()
    result = await second
    assert first.cancelled() and result.verdict == {"score": 3}
    assert len(complete.calls) == 1


def test_a_bug_stops_the_run_with_a_traceback_and_keeps_the_records_written(
    tmp_path: Path,
) -> None:
    # Formerly the bug became an "unscored" judgment and the run ended with status 0.
    calls = 0

    async def third_call_breaks(**_: Any) -> Completion:
        nonlocal calls
        calls += 1
        mine = calls
        if mine > 1:  # the 2nd and 3rd end together: the 2nd's record must not be lost
            await asyncio.sleep(0.05)
        if mine == 3:
            raise RuntimeError("bug in our own code")
        return Completion({})

    out = tmp_path / "r.jsonl"
    with pytest.raises(RuntimeError, match="bug in our own code"):
        judge.score(PREDICTIONS, "ddx", out=out, complete=third_call_breaks, judges=["x/a"])
    assert calls == 3
    assert len(list(iter_records(out))) == 2


async def test_a_key_in_a_cache_written_before_redaction_is_redacted_on_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "env-SECRET-0123456789abcdef"
    monkeypatch.setenv("SOME_GATEWAY_TOKEN", secret)
    cache = Cache(tmp_path / "c.sqlite")
    engine, _ = _engine(Scripted([]), cache=cache)
    key = engine.key(JUDGE, MESSAGES, Verdict, 0)
    old = {"verdict": {"score": 3, "why": [f"echoed {secret}"]}, "usage": {"judge": JUDGE.name}}
    cache.put(key, JUDGE.model, old)  # as an earlier release stored it: no "redacted" mark
    result = await engine.call(JUDGE, MESSAGES, Verdict)
    assert result.usage.cached
    assert result.verdict == {"score": 3, "why": ["echoed <SOME_GATEWAY_TOKEN>"]}


async def test_closing_cancels_the_calls_in_flight_before_the_cache_closes(tmp_path: Path) -> None:
    """At shutdown (Ctrl-C) nobody waits for the calls still out: they are cancelled, so no
    reply reaches a cache already closed."""
    complete = Scripted([], delay=3600)
    engine, _ = _engine(complete, cache=Cache(tmp_path / "c.sqlite"))
    caller = asyncio.ensure_future(engine.call(JUDGE, MESSAGES, Verdict))
    while not complete.calls:
        await asyncio.sleep(0)
    caller.cancel()  # the item is cancelled; the shared call goes on, as above
    await asyncio.wait_for(engine.close(), 60)
    assert complete.in_flight == 0
