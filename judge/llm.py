"""The real completion function: instructor over litellm, async, for any provider.

This is the only module that imports litellm or instructor, and it does so lazily, so the CLI
starts fast and `import judge` stays light. Provider errors are translated into the engine's
three kinds (transient, permanent, invalid reply); keys are read by litellm from the
environment and never pass through here into records or messages.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from judge.engine import (
    CompleteFn,
    Completion,
    InvalidReplyError,
    PermanentError,
    TransientError,
)
from judge.errors import ConfigError, redact

__all__ = [
    "MODES",
    "call_price",
    "check_judge_configured",
    "close_clients",
    "count_tokens",
    "litellm_acompletion",
    "litellm_complete",
]

# instructor's modes by the names users pass on the command line.
MODES = ("tools", "json_schema", "json", "md_json")
# Local servers accept any key, but litellm refuses an openai/ call without one.
PLACEHOLDER_KEY = "sk-no-key-needed"
_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


# The engine records every failure, redacted; instructor's own log line of a failed call
# repeats the provider's message, which can echo an API key.
logging.getLogger("instructor").addHandler(logging.NullHandler())
logging.getLogger("instructor").propagate = False


def _litellm() -> Any:
    # Without this, importing litellm tries to download a price map from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def litellm_acompletion() -> Callable[..., Awaitable[Any]]:
    """`litellm.acompletion`, imported on first use."""
    acompletion: Callable[..., Awaitable[Any]] = _litellm().acompletion
    return acompletion


def litellm_complete(
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    mode: str = "tools",
    acompletion: Callable[..., Awaitable[Any]] | None = None,
    max_validation_retries: int = 2,
) -> CompleteFn:
    """Build a completion function on instructor + litellm.

    `acompletion` defaults to `litellm.acompletion`; an adapter (for a local llama.cpp server,
    say) can wrap it. A reply that fails validation is re-asked up to
    `max_validation_retries` times by instructor, then reported as an invalid reply.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    litellm = _litellm()
    import instructor

    client: Any = instructor.from_litellm(
        acompletion or litellm.acompletion, mode=getattr(instructor.Mode, mode.upper())
    )
    base_kwargs: dict[str, Any] = {
        # The engine owns retries: neither litellm nor the OpenAI SDK under it retry.
        "num_retries": 0,
        "max_retries": max_validation_retries,
    }
    if api_base:
        base_kwargs["api_base"] = api_base

    async def complete(
        *,
        model: str,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
        params: dict[str, Any],
        timeout: float,
    ) -> Completion:
        kwargs = {**base_kwargs, **params, "timeout": timeout}
        if api_key is not None:
            kwargs["api_key"] = api_key
        elif api_base and not _has_key_for(model):
            kwargs["api_key"] = PLACEHOLDER_KEY
        try:
            verdict, raw = await client.create_with_completion(
                model=model, messages=messages, response_model=_wrapped(response_model), **kwargs
            )
        except Exception as exc:  # translated into the engine's three kinds below
            raise _translate(exc) from exc
        return Completion(
            verdict=verdict.model_dump(mode="json"),
            tokens_in=_usage(raw, "prompt_tokens"),
            tokens_out=_usage(raw, "completion_tokens"),
            cost_usd=_cost(litellm, raw),
        )

    return complete


@functools.lru_cache(maxsize=256)
def _wrapped(response_model: type[BaseModel]) -> type[BaseModel]:
    """The model as instructor's schema class, made once: given a plain pydantic model,
    instructor wraps it in a new class on every call, which defeats its own schema cache
    (~8 ms of CPU per call, half of a call's client-side cost)."""
    import instructor

    wrapped: type[BaseModel] = instructor.openai_schema(response_model)
    return wrapped


async def close_clients() -> None:
    """Close litellm's cached HTTP clients: they are bound to the event loop of the run that
    made them, and would otherwise leak sockets when `judge.score` ends its loop."""
    close = getattr(_litellm(), "close_litellm_async_clients", None)
    if close is not None:
        await close()


def check_judge_configured(model: str, api_base: str | None) -> str | None:
    """Why `model` cannot be called as configured (a missing key), or None when it can."""
    if api_base:
        return None
    litellm = _litellm()
    try:
        env = litellm.validate_environment(model=model)
    except Exception as exc:  # unknown provider prefix, for instance
        return redact(str(exc))
    missing = env.get("missing_keys") or []
    if missing:
        return f"{model} needs {', '.join(missing)} in the environment (or use --api-base)"
    return None


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens of `messages` by the model's tokenizer (litellm's counter; it falls back
    to a generic tokenizer for models it does not know)."""
    return int(_litellm().token_counter(model=model, messages=messages))


def call_price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for one call from litellm's bundled price map, or None when the model is not in it."""
    try:
        prompt, completion = _litellm().cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # not mapped: the price is unknown, which callers must say
        return None
    return float(prompt + completion)


def _has_key_for(model: str) -> bool:
    provider = model.split("/", 1)[0].upper() if "/" in model else "OPENAI"
    return bool(os.environ.get(f"{provider}_API_KEY"))


def _translate(exc: Exception) -> Exception:
    parse_errors = (ValidationError, json.JSONDecodeError)
    cause: BaseException = exc
    attempts = getattr(exc, "n_attempts", 1) or 1
    if type(exc).__name__ in {"InstructorRetryException", "IncompleteOutputException"}:
        if exc.__cause__ is not None:
            cause = exc.__cause__
        if (
            type(exc).__name__ == "IncompleteOutputException"
            or isinstance(cause, parse_errors)
            or type(cause).__name__ in {"AsyncValidationError", "ResponseParsingError"}
        ):
            tokens = _total_usage(getattr(exc, "total_usage", None))
            return InvalidReplyError(_short(cause), attempts, *tokens)
    status = getattr(cause, "status_code", None)
    name = type(cause).__name__
    message = f"{name}: {_short(cause)}"
    if name in {"Timeout", "APITimeoutError", "APIConnectionError"} or status in _TRANSIENT_STATUS:
        return TransientError(message, retry_after=_retry_after(cause))
    return PermanentError(message)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return redact(text)[:300]


def _retry_after(exc: BaseException) -> float | None:
    # litellm keeps the provider's headers here; `exc.response` is a synthetic response
    # with empty headers (checked against litellm 1.106 in tests/llm_server.py's notes).
    headers: Any = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; fall back to exponential backoff


def _usage(raw: Any, name: str) -> int | None:
    usage = getattr(raw, "usage", None)
    value = getattr(usage, name, None)
    return int(value) if isinstance(value, int | float) else None


def _total_usage(usage: Any) -> tuple[int | None, int | None]:
    return (
        getattr(usage, "prompt_tokens", None),
        getattr(usage, "completion_tokens", None),
    )


def _cost(litellm: Any, raw: Any) -> float | None:
    hidden = getattr(raw, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if cost is None:
        try:
            cost = litellm.completion_cost(completion_response=raw)
        except Exception:  # litellm does not know this model's price: no cost, not an error
            return None
    return float(cost) if cost else None
