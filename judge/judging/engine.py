"""The judge-call engine: bounded concurrency, cache, timeouts, retries — for any completion
function.

The engine never imports a provider SDK. It is given a `CompleteFn` (the real one, built on
instructor over litellm, lives in `judge.judging.providers.llm`; tests pass a scripted one),
and it owns the policy around it: look in the cache, wait for a slot, call with a timeout,
back off on 429s (honouring Retry-After) and transient 5xx, give up after a bounded number of
attempts, store successes. A judge's failure (the three kinds below) is returned as data,
never raised, so one bad item cannot stop a run; any other exception is a bug, in a completion
function or here, and propagates so that it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from judge.contracts import CallUsage
from judge.errors import ConfigError, JudgeError, redact, redact_verdict
from judge.store.cache import Cache, cache_key

__all__ = [
    "CallError",
    "CallResult",
    "CompleteFn",
    "Completion",
    "Engine",
    "InvalidReplyError",
    "JudgeSpec",
    "PermanentError",
    "RetryPolicy",
    "TransientError",
    "redact_verdict",
]


class CallError(JudgeError):
    """A judge call that failed, with what it spent first: the requests it made (a reply
    re-asked before the failure was paid for) and their tokens and USD, where known."""

    def __init__(
        self,
        message: str,
        attempts: int = 1,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        *,
        cost_usd: float | None = None,
        served_model: str | None = None,
        system_fingerprint: str | None = None,
    ):
        super().__init__(message)
        self.attempts = attempts
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.cost_usd = cost_usd
        # What served the replies it got (an invalid reply was served too), where known.
        self.served_model = served_model
        self.system_fingerprint = system_fingerprint


class TransientError(CallError):
    """Worth retrying: rate limit, timeout, 5xx, dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None, **spent: Any):
        super().__init__(message, **spent)
        self.retry_after = retry_after


class PermanentError(CallError):
    """Retrying the same call now will not help (bad key, unknown model, bad request)."""


class InvalidReplyError(CallError):
    """The judge answered, but never with a reply that validates against the rubric."""


@dataclass
class Completion:
    """A validated reply, with what it cost."""

    verdict: dict[str, Any]
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    # Requests made, validation re-asks included (each one was paid for).
    attempts: int = 1
    # What the provider says served the reply (`judge.judging.providers.served`).
    served_model: str | None = None
    system_fingerprint: str | None = None


class CompleteFn(Protocol):
    """Send one structured-output request; raise Transient/Permanent/InvalidReplyError."""

    def __call__(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        params: dict[str, Any],
        timeout: float,
    ) -> Awaitable[Completion]: ...


@dataclass(frozen=True)
class JudgeSpec:
    """One judge: a litellm model string and the parameters that shape its output."""

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    # A judge's own bound on calls in flight (a llama.cpp server answers one at a time), on
    # top of the engine's overall bound; waiting for a slot does not count against timeouts.
    max_concurrency: int | None = None
    # Judges with the same group share one `max_concurrency` bound (a provider's rate limit);
    # by default each judge is its own group.
    group: str | None = None
    # This judge's bound on one call, in place of the policy's (None: the policy's).
    timeout: float | None = None

    @property
    def name(self) -> str:
        return self.model


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on every call: how long, how often, how long to wait between tries."""

    attempts: int = 4
    timeout: float = 120.0
    backoff: float = 1.0
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        # A bound that allows no call at all, or waits a negative time, is a user's mistake:
        # say which option, before any call is made.
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ConfigError(f"attempts must be a whole number, not {self.attempts!r}")
        if self.attempts < 1:
            raise ConfigError(f"attempts must be at least 1 (got {self.attempts})")
        for name in ("timeout", "backoff", "backoff_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ConfigError(f"{name} must be a number of seconds, not {value!r}")
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be more than 0 seconds (got {self.timeout:g})")
        if self.backoff < 0 or self.backoff_max < 0:
            raise ConfigError("backoff and backoff_max must be 0 seconds or more")


@dataclass
class CallResult:
    verdict: dict[str, Any] | None
    usage: CallUsage
    error: str | None = None
    retryable: bool = False


@dataclass
class EngineStats:
    sent: int = 0
    cached: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    failures: Counter[str] = field(default_factory=Counter)


@functools.lru_cache(maxsize=256)
def _schema(response_model: type[BaseModel]) -> dict[str, Any]:
    # Generating a JSON schema costs ~5 ms; every call of a rubric shares one model class.
    return response_model.model_json_schema()


class Engine:
    """Runs judge calls through a completion function under one shared set of limits."""

    def __init__(
        self,
        complete: CompleteFn,
        *,
        cache: Cache | None = None,
        concurrency: int = 16,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.complete = complete
        self.cache = cache
        self.policy = policy or RetryPolicy()
        self.stats = EngineStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._sleep = sleep
        self._pending: dict[str, asyncio.Future[CallResult]] = {}
        self._judge_slots: dict[str, asyncio.Semaphore] = {}

    def is_cached(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int = 0,
    ) -> bool:
        """Whether this call would be answered from the cache (nothing is counted)."""
        if self.cache is None:
            return False
        return self.cache.get(self.key(judge, messages, response_model, sample)) is not None

    def key(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int,
    ) -> str:
        """The cache key of a call: what changes its output, nothing else."""
        params = {**judge.params, **({"sample": sample} if sample else {})}
        return cache_key(judge.model, params, messages, _schema(response_model))

    async def call(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int = 0,
    ) -> CallResult:
        """Judge one prompt: from the cache, or from the judge with retries. Never raises
        for a judge's failure: the result carries the error and whether to retry later."""
        key = self.key(judge, messages, response_model, sample)
        found = self.lookup(key, judge, sample)
        if found is not None:
            return found
        # Identical calls in flight at once are made once. The call runs as its own task so
        # that a caller cancelled midway (a client gone) does not cancel the others' answer.
        shared = self._pending.get(key)
        if shared is None:
            shared = asyncio.ensure_future(
                self._call_and_cache(key, judge, messages, response_model, sample)
            )
            self._pending[key] = shared
            shared.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(shared)

    def lookup(self, key: str, judge: JudgeSpec, sample: int = 0) -> CallResult | None:
        """The cache's answer to `judge`'s call with this key (counted as cached), or None;
        made with the judge's params, which the key holds (also in entries without them)."""
        if self.cache is None or (hit := self.cache.get(key)) is None:
            return None
        self.stats.cached += 1
        cached = {"cached": True, "sample": sample, "params": judge.params}
        usage = CallUsage.model_validate({**hit["usage"], **cached})
        verdict = hit["verdict"]
        # An entry written before replies were redacted (no mark) may hold a key; the others
        # were redacted as they were stored, and are not redacted again (reruns from the
        # cache run at thousands of records/s, and redacting costs ~0.1 ms a verdict).
        if not hit.get("redacted"):
            verdict = redact_verdict(verdict)
        return CallResult(verdict=verdict, usage=usage)

    async def close(self) -> None:
        """Cancel the calls still in flight (at shutdown: nobody waits for them any more) and
        wait for them. A reply already being stored stays queued for the cache's commit, so
        no reply arrives after the cache closes."""
        calls = list(self._pending.values())
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)

    def _finished(self, key: str, done: asyncio.Future[CallResult]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: no "never retrieved" warning when nobody waits

    async def _call_and_cache(
        self,
        key: str,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int,
    ) -> CallResult:
        # The reply keeps its call's slot until it is committed to the cache: a run killed
        # then pays again for at most the calls in flight (`concurrency`), not for every reply
        # that queued for a slow commit meanwhile.
        async with contextlib.AsyncExitStack() as held:
            result = await self._call_with_retries(judge, messages, response_model, sample, held)
            if self.cache is not None and result.verdict is not None:
                await self.cache.store(
                    key,
                    judge.model,
                    {
                        "verdict": result.verdict,
                        "usage": result.usage.model_dump(exclude={"cached", "sample"}),
                        "redacted": True,  # `_call_with_retries` redacted the verdict
                    },
                )
        return result

    async def _call_with_retries(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int,
        held: contextlib.AsyncExitStack,
    ) -> CallResult:
        """`held` is given the slot of the call that succeeds, to free once it is stored."""
        policy = self.policy
        usage = CallUsage(judge=judge.name, sample=sample, params=judge.params)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                completion = await self._send(judge, messages, response_model, held)
            except CallError as exc:  # a judge's failure; anything else is a bug, and propagates
                _spend(usage, exc)
                if isinstance(exc, InvalidReplyError):
                    error, retryable, kind = f"invalid reply: {exc}", False, "invalid"
                elif not isinstance(exc, TransientError):
                    error, retryable, kind = str(exc), True, "permanent"
                elif attempt < policy.attempts:
                    await self._sleep(self._delay(attempt, exc.retry_after))
                    continue
                else:
                    error = f"gave up after {attempt} attempts: {exc}"
                    retryable, kind = True, "transient"
                return self._failed(usage, started, error, retryable=retryable, kind=kind)
            # Every request of the call counts: the re-asks the provider layer made too.
            done = completion
            _spend(usage, done)
            usage.latency_s = round(time.monotonic() - started, 4)
            return CallResult(verdict=redact_verdict(done.verdict), usage=usage)

    async def _send(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        held: contextlib.AsyncExitStack,
    ) -> Completion:
        timeout = judge.timeout or self.policy.timeout
        async with self._slots_for(judge):
            await self._slots.acquire()
            try:
                completion = await self._send_in_slot(judge, messages, response_model, timeout)
            except BaseException:
                self._slots.release()
                raise
            held.callback(self._slots.release)  # freed by the caller, once stored
            return completion

    async def _send_in_slot(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        timeout: float,
    ) -> Completion:
        self.stats.sent += 1
        self.stats.in_flight += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
        try:
            # The completion function gets the timeout too (to cancel the HTTP request);
            # wait_for is the engine's own guarantee that no call outlives its bound.
            return await asyncio.wait_for(
                self.complete(
                    model=judge.model,
                    messages=messages,
                    response_model=response_model,
                    params=judge.params,
                    timeout=timeout,
                ),
                timeout + min(timeout, 5.0),
            )
        except asyncio.TimeoutError as exc:
            raise TransientError(f"no reply within {timeout:g} s") from exc
        finally:
            self.stats.in_flight -= 1

    def _slots_for(self, judge: JudgeSpec) -> contextlib.AbstractAsyncContextManager[Any]:
        if judge.max_concurrency is None:
            return contextlib.nullcontext()
        group = judge.group or judge.name
        if group not in self._judge_slots:
            self._judge_slots[group] = asyncio.Semaphore(judge.max_concurrency)
        return self._judge_slots[group]

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.policy.backoff_max)
        # Full jitter, so many workers hitting one limit do not retry in lockstep.
        return random.uniform(
            0, min(self.policy.backoff * 2 ** (attempt - 1), self.policy.backoff_max)
        )

    def _failed(
        self, usage: CallUsage, started: float, error: str, *, retryable: bool, kind: str
    ) -> CallResult:
        self.stats.failures[f"{usage.judge}: {kind}"] += 1
        usage.latency_s = round(time.monotonic() - started, 4)
        usage.error = redact(error)[:500]
        return CallResult(verdict=None, usage=usage, error=usage.error, retryable=retryable)


def _spend(usage: CallUsage, tried: CallError | Completion) -> None:
    """Add one try's requests, tokens and USD to a call's usage (unknown stays None), and
    what served it (the latest try's, where it said)."""
    usage.attempts += max(tried.attempts, 1)
    if tried.tokens_in is not None:
        usage.tokens_in = (usage.tokens_in or 0) + tried.tokens_in
    if tried.tokens_out is not None:
        usage.tokens_out = (usage.tokens_out or 0) + tried.tokens_out
    if tried.cost_usd is not None:
        usage.cost_usd = (usage.cost_usd or 0.0) + tried.cost_usd
    if tried.served_model or tried.system_fingerprint:  # one try's pair, never mixed
        usage.served_model, usage.system_fingerprint = tried.served_model, tried.system_fingerprint
