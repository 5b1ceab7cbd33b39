"""The real completion function: structured output over litellm, async, for any provider.

`litellm_complete` puts together the parts, each in its own module:

- `sdk`: litellm, imported lazily (so the CLI starts fast and `import judge` stays light), and
  the stand-in key for keyless servers;
- `structured`: the request instructor would send, validation, re-asks;
- `call`: litellm's failures as the engine's kinds (transient, permanent);
- `pricing`: token counts and prices.

Keys are read by litellm from the environment and never pass through here into records or
messages. The names other modules use (`llm.litellm_complete`, `llm.count_tokens`,
`llm.call_price`, …) stay importable from here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from judge.errors import ConfigError
from judge.judging.engine import CompleteFn, Completion
from judge.judging.providers.call import check_judge_configured, classify, provider_errors
from judge.judging.providers.pricing import call_price, count_tokens
from judge.judging.providers.sdk import (
    PLACEHOLDER_KEY,
    close_clients,
    litellm_acompletion,
    litellm_module,
    placeholder_key,
)
from judge.judging.providers.structured import (
    MODES,
    Send,
    Structured,
    batch_reply,
    batch_request,
    direct,
    via_instructor,
)

__all__ = [
    "MODES",
    "PLACEHOLDER_KEY",
    "batch_reply",
    "batch_request",
    "call_price",
    "check_judge_configured",
    "close_clients",
    "count_tokens",
    "litellm_acompletion",
    "litellm_complete",
    "litellm_module",
    "placeholder_key",
]

# The engine records every failure, redacted; instructor's own log line of a failed call
# repeats the provider's message, which can echo an API key.
logging.getLogger("instructor").addHandler(logging.NullHandler())
logging.getLogger("instructor").propagate = False


def litellm_complete(
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    mode: str = "tools",
    acompletion: Callable[..., Awaitable[Any]] | None = None,
    max_validation_retries: int = 2,
) -> CompleteFn:
    """Build a completion function on litellm (instructor's requests, pydantic validation).

    `acompletion` defaults to `litellm.acompletion`; an adapter (for a local llama.cpp server,
    say) can wrap it. A reply that fails validation is re-asked up to
    `max_validation_retries` times, then reported as an invalid reply.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if max_validation_retries < 0:
        raise ConfigError("max_validation_retries must be 0 or more")
    # The engine owns retries: neither litellm nor the OpenAI SDK under it retry.
    base_kwargs: dict[str, Any] = {"num_retries": 0}
    if api_base:
        base_kwargs["api_base"] = api_base
    # Built on the first call that goes out, so that a run the call cache answers never
    # imports litellm (seconds of start-up for nothing).
    built: list[tuple[Structured, tuple[type[BaseException], ...]]] = []

    def parts() -> tuple[Structured, tuple[type[BaseException], ...]]:
        if not built:
            send: Send = acompletion or litellm_module().acompletion
            structured = (
                via_instructor(send, max_validation_retries)
                if mode == "md_json"
                else direct(send, mode, max_validation_retries)
            )
            built.append((structured, provider_errors()))
        return built[0]

    async def complete(
        *,
        model: str,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        params: dict[str, Any],
        timeout: float,
    ) -> Completion:
        kwargs = {**base_kwargs, **params, "timeout": timeout}
        if api_key is not None:
            kwargs["api_key"] = api_key
        elif api_base and (stand_in := placeholder_key(model)):
            kwargs["api_key"] = stand_in
        structured, failures = parts()
        try:
            return await structured(model, messages, response_model, kwargs)
        except failures as exc:  # litellm's own failures only; anything else is a bug
            raise classify(exc) from exc

    return complete
