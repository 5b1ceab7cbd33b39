"""A line of an OpenAI batch-output file read as a live reply is: validated by the rubric's
model, priced, and stored in the call cache under its `custom_id`; or, when the line carries
an error, a status other than 200 or a body that does not validate, the failure a live call
would have recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from judge.contracts import CallUsage
from judge.errors import JudgeError, redact
from judge.judging.engine import CallResult, Completion, InvalidReplyError, JudgeSpec
from judge.judging.providers import llm
from judge.store.cache import Cache

__all__ = ["Failure", "LineFailed", "failed_call", "keep_reply", "reply_of"]


@dataclass(frozen=True)
class Failure:
    """Why a batch line gave no valid reply, and what it spent."""

    reason: str
    # As a live call's: an error or a bad status is worth another try; an invalid reply not.
    retryable: bool
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None


class LineFailed(Exception):
    """A batch output line without a valid reply (its `failure` says why)."""

    def __init__(self, failure: Failure):
        super().__init__(failure.reason)
        self.failure = failure


def reply_of(
    judge: JudgeSpec, row: dict[str, Any], response_model: type[BaseModel], mode: str
) -> Completion:
    """The reply of one batch output line (`custom_id`, `response.status_code`,
    `response.body`, `error`), validated like a live reply's first attempt (a batch cannot
    re-ask). Raises LineFailed."""
    response, error = row.get("response"), row.get("error")
    status = response.get("status_code") if isinstance(response, dict) else None
    if error is not None or status != 200:
        why = f"status {status}" if status is not None else "no response"
        if error is not None:
            why += f": {_error_text(error)}"
        raise LineFailed(Failure(f"batch line failed: {why}", retryable=True))
    assert isinstance(response, dict)
    body = response.get("body")
    if not isinstance(body, dict):
        raise LineFailed(Failure("batch line failed: status 200 without a body", retryable=True))
    try:
        return llm.batch_reply(judge.model, body, response_model, mode)
    except InvalidReplyError as exc:
        spent = {"tokens_in": exc.tokens_in, "tokens_out": exc.tokens_out}
        failure = Failure(f"invalid reply: {exc}", False, **spent, cost_usd=exc.cost_usd)
        raise LineFailed(failure) from exc
    except (JudgeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # Not a chat completion at all (litellm could not read it).
        raise LineFailed(Failure(f"invalid reply: {exc}"[:300], retryable=False)) from exc


def keep_reply(cache: Cache, key: str, judge: JudgeSpec, reply: Completion) -> CallUsage:
    """Store a batch line's reply in the call cache under its key, as a live reply is."""
    usage = CallUsage(
        judge=judge.name,
        tokens_in=reply.tokens_in,
        tokens_out=reply.tokens_out,
        cost_usd=reply.cost_usd,
        attempts=1,
        served_model=reply.served_model,
        system_fingerprint=reply.system_fingerprint,
        params=judge.params,
    )
    value = {"verdict": reply.verdict, "usage": usage.model_dump(exclude={"cached", "sample"})}
    cache.put(key, judge.model, {**value, "redacted": True})  # batch_reply redacted it
    return usage


def failed_call(judge: JudgeSpec, sample: int, failure: Failure) -> CallResult:
    """The result a call answered by a failed batch line gets: a live failure's."""
    usage = CallUsage(
        judge=judge.name,
        sample=sample,
        tokens_in=failure.tokens_in,
        tokens_out=failure.tokens_out,
        cost_usd=failure.cost_usd,
        attempts=1,
        error=redact(failure.reason)[:500],
        params=judge.params,
    )
    return CallResult(verdict=None, usage=usage, error=usage.error, retryable=failure.retryable)


def _error_text(error: Any) -> str:
    """An error as OpenAI ({code, message}) or vLLM (a message, or {"error": {…}}) writes it."""
    if isinstance(error, dict):
        inner = error.get("error")
        found: dict[str, Any] = inner if isinstance(inner, dict) else error
        error = found.get("message") or json.dumps(found, ensure_ascii=False)
    return redact(" ".join(str(error).split()))[:300]
