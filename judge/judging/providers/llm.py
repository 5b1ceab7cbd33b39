"""The real completion function: structured output over litellm, async, for any provider.

This is the only module that imports litellm or instructor, and it does so lazily, so the CLI
starts fast and `import judge` stays light. Provider errors are translated into the engine's
three kinds (transient, permanent, invalid reply); keys are read by litellm from the
environment and never pass through here into records or messages.

In the tools, json_schema and json modes the request instructor would send (its tool, its
response format, its schema prompt) is built once per response model and sent with
`litellm.acompletion` directly; the reply is validated with pydantic and, when it fails, re-asked
with the messages instructor would add. Going through instructor on every call cost more client
CPU than litellm itself (it walks the response model for async validators and re-prepares the
request each time), which on a busy machine bounds judgments/s. md_json, whose replies need
instructor's code-block extraction, still goes through instructor.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from judge.errors import ConfigError, JudgeError, redact
from judge.judging.engine import (
    CompleteFn,
    Completion,
    InvalidReplyError,
    PermanentError,
    TransientError,
)

__all__ = [
    "MODES",
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

# instructor's modes by the names users pass on the command line.
MODES = ("tools", "json_schema", "json", "md_json")
# Local servers accept any key, but litellm refuses an openai/ call without one.
PLACEHOLDER_KEY = "sk-no-key-needed"
_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}

Send = Callable[..., Awaitable[Any]]
Messages = list[dict[str, Any]]


# The engine records every failure, redacted; instructor's own log line of a failed call
# repeats the provider's message, which can echo an API key.
logging.getLogger("instructor").addHandler(logging.NullHandler())
logging.getLogger("instructor").propagate = False


def litellm_module() -> Any:
    """The litellm module, imported on first use (with its price map read locally)."""
    # Without this, importing litellm tries to download a price map from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def litellm_acompletion() -> Callable[..., Awaitable[Any]]:
    """`litellm.acompletion`, imported on first use."""
    acompletion: Callable[..., Awaitable[Any]] = litellm_module().acompletion
    return acompletion


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
    litellm = litellm_module()
    send: Send = acompletion or litellm.acompletion
    structured = (
        _via_instructor(send, max_validation_retries)
        if mode == "md_json"
        else _direct(send, mode, max_validation_retries)
    )
    # The engine owns retries: neither litellm nor the OpenAI SDK under it retry.
    base_kwargs: dict[str, Any] = {"num_retries": 0}
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
        elif api_base and (stand_in := placeholder_key(model)):
            kwargs["api_key"] = stand_in
        try:
            return await structured(model, messages, response_model, kwargs)
        except JudgeError:  # already one of the engine's kinds (an invalid reply)
            raise
        except Exception as exc:  # translated into the engine's three kinds below
            raise _translate(exc) from exc

    return complete


Structured = Callable[[str, Messages, type[BaseModel], dict[str, Any]], Awaitable[Completion]]


def _direct(send: Send, mode: str, retries: int) -> Structured:
    """One request per attempt with the prepared structured-output fields; validate; re-ask."""

    async def call(
        model: str, messages: Messages, response_model: type[BaseModel], kwargs: dict[str, Any]
    ) -> Completion:
        request = _request(response_model, mode)
        messages = request.messages(messages)
        spent = _Spent()
        for attempt in range(1, retries + 2):
            raw = await send(model=model, messages=messages, **request.fields, **kwargs)
            spent.add(raw)
            try:
                verdict = response_model.model_validate_json(request.reply_text(raw))
            except (ValidationError, _NoStructuredReply) as exc:
                if attempt > retries:
                    raise InvalidReplyError(_short(exc), attempt, *spent.tokens()) from exc
                messages = [*messages, *request.reask(raw, exc)]
                continue
            except _FinalReply as exc:  # cut off or refused: asking again will not help
                raise InvalidReplyError(_short(exc), attempt, *spent.tokens()) from exc
            return Completion(
                verdict=verdict.model_dump(mode="json"),
                tokens_in=spent.tokens_in,
                tokens_out=spent.tokens_out,
                cost_usd=spent.cost_usd,
                attempts=attempt,
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    return call


def _via_instructor(send: Send, retries: int) -> Structured:
    """md_json through instructor (its code-block extraction and re-ask)."""
    import instructor

    client: Any = instructor.from_litellm(send, mode=instructor.Mode.MD_JSON)

    async def call(
        model: str, messages: Messages, response_model: type[BaseModel], kwargs: dict[str, Any]
    ) -> Completion:
        verdict, raw = await client.create_with_completion(
            model=model,
            messages=messages,
            response_model=_wrapped(response_model),
            max_retries=retries,
            **kwargs,
        )
        return Completion(
            verdict=verdict.model_dump(mode="json"),
            tokens_in=_usage(raw, "prompt_tokens"),
            tokens_out=_usage(raw, "completion_tokens"),
            cost_usd=_cost(raw),
        )

    return call


class _NoStructuredReply(ValueError):
    """The reply holds no tool call (tools mode): re-asked like a validation error."""


class _FinalReply(ValueError):
    """A reply re-asking cannot fix: cut off at max_tokens, or a refusal."""


@dataclass(frozen=True)
class _Request:
    """What instructor adds to a request in one mode for one response model, made once."""

    mode: str
    fields: dict[str, Any]  # tools + tool_choice, or response_format
    system_suffix: str | None = None  # json mode: the schema prompt after the system message

    def messages(self, messages: Messages) -> Messages:
        if self.system_suffix is None:
            return messages
        if messages and messages[0].get("role") == "system":
            first = messages[0]
            return [
                {**first, "content": f"{first['content']}\n\n{self.system_suffix}"},
                *messages[1:],
            ]
        return [{"role": "system", "content": self.system_suffix}, *messages]

    def reply_text(self, raw: Any) -> str:
        choices = getattr(raw, "choices", None)
        if not choices:
            raise _NoStructuredReply("the reply has no choices")
        choice = choices[0]
        if choice.finish_reason == "length":
            raise _FinalReply("the reply was cut off at max_tokens (finish_reason=length)")
        message = choice.message
        # litellm keeps an OpenAI refusal among the message's provider-specific fields.
        extra = getattr(message, "provider_specific_fields", None) or {}
        if refusal := getattr(message, "refusal", None) or extra.get("refusal"):
            raise _FinalReply(f"the judge refused: {refusal}")
        if self.mode != "tools":
            return str(message.content or "")
        calls = message.tool_calls or []
        if not calls:
            raise _NoStructuredReply("the reply calls no function; call the function given")
        return str(calls[0].function.arguments or "")

    def reask(self, raw: Any, error: Exception) -> Messages:
        """The assistant's reply and the error, as instructor appends them before a re-ask."""
        message = raw.choices[0].message if getattr(raw, "choices", None) else None
        content = (getattr(message, "content", None) or "") if message else ""
        if self.mode != "tools":
            fix = f"Correct your JSON ONLY RESPONSE, based on the following errors:\n{error}"
            return [{"role": "assistant", "content": content}, {"role": "user", "content": fix}]
        fix = f"Validation Error found:\n{error}\nRecall the function correctly, fix the errors"
        calls = (getattr(message, "tool_calls", None) or []) if message else []
        assistant: dict[str, Any] = {"role": "assistant", "content": content}
        if not calls:
            return [assistant, {"role": "user", "content": fix}]
        assistant["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in calls
        ]
        answers = [
            {"role": "tool", "tool_call_id": c.id, "name": c.function.name, "content": fix}
            for c in calls
        ]
        return [assistant, *answers]


@functools.lru_cache(maxsize=256)
def _request(response_model: type[BaseModel], mode: str) -> _Request:
    """The structured-output part of instructor's request for `mode` (as it sends it through
    litellm; tests/judge/test_llm.py checks the bodies are the same)."""
    wrapped = _wrapped(response_model)
    if mode == "tools":
        function = dict(wrapped.openai_schema)  # type: ignore[attr-defined]
        choice = {"type": "function", "function": {"name": function["name"]}}
        return _Request(
            mode, {"tools": [{"type": "function", "function": function}], "tool_choice": choice}
        )
    schema = wrapped.model_json_schema()
    if mode == "json_schema":
        fmt = {"type": "json_schema", "json_schema": {"name": wrapped.__name__, "schema": schema}}
        return _Request(mode, {"response_format": fmt})
    if mode == "json":
        return _Request(mode, {"response_format": {"type": "json_object"}}, _schema_prompt(schema))
    raise ConfigError(f"mode {mode!r} is not sent directly")


def _schema_prompt(schema: dict[str, Any]) -> str:
    """instructor's JSON-mode instruction, character for character (a dedented f-string in
    instructor whose schema lines defeat the dedent, so its indentation stays)."""
    pad = " " * 12
    return (
        f"\n{pad}As a genius expert, your task is to understand the content and provide\n"
        f"{pad}the parsed objects in json that match the following json_schema:\n\n\n"
        f"{pad}{json.dumps(schema, indent=2, ensure_ascii=False)}\n\n"
        f"{pad}Make sure to return an instance of the JSON, not the schema itself\n"
    )


@dataclass
class _Spent:
    """Tokens and USD over every attempt of one call (a re-asked reply was paid for too)."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None

    def add(self, raw: Any) -> None:
        self.tokens_in = _plus(self.tokens_in, _usage(raw, "prompt_tokens"))
        self.tokens_out = _plus(self.tokens_out, _usage(raw, "completion_tokens"))
        self.cost_usd = _plus(self.cost_usd, _cost(raw))

    def tokens(self) -> tuple[int | None, int | None]:
        return self.tokens_in, self.tokens_out


def _plus(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


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
    close = getattr(litellm_module(), "close_litellm_async_clients", None)
    if close is not None:
        await close()


def check_judge_configured(model: str, api_base: str | None) -> str | None:
    """Why `model` cannot be called as configured (a missing key), or None when it can."""
    if api_base:
        return None
    litellm = litellm_module()
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
    return int(litellm_module().token_counter(model=model, messages=messages))


def call_price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for one call from litellm's bundled price map, or None when the model is not in it."""
    try:
        prompt, completion = litellm_module().cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # not mapped: the price is unknown, which callers must say
        return None
    return float(prompt + completion)


def batch_request(
    model: str,
    messages: Messages,
    response_model: type[BaseModel],
    params: dict[str, Any],
    mode: str,
) -> dict[str, Any]:
    """The chat-completions body `litellm_complete` sends first for one call in `mode` (tools,
    json_schema or json), as a line of a provider's batch file carries it: the model as the
    provider names it (`openai/gpt-4o-mini` → `gpt-4o-mini`), the same messages, tool or
    response format, and `params`."""
    request = _request(response_model, mode)
    provider_model = litellm_module().get_llm_provider(model)[0]
    return {
        "model": provider_model,
        "messages": request.messages(messages),
        **request.fields,
        **params,
    }


def batch_reply(
    model: str, body: dict[str, Any], response_model: type[BaseModel], mode: str
) -> Completion:
    """A batch output line's chat completion (`body`) validated like a live reply's first
    attempt, priced at `model`'s batch rate (litellm's price map: its batch prices, else half
    the live ones; None when the model is not in it). Raises InvalidReplyError when it does
    not validate: a batch cannot re-ask."""
    litellm = litellm_module()
    raw = litellm.ModelResponse(**body)
    try:
        verdict = response_model.model_validate_json(_request(response_model, mode).reply_text(raw))
    except (ValidationError, _NoStructuredReply, _FinalReply) as exc:
        raise InvalidReplyError(_short(exc), 1, *_total_usage(raw.usage)) from exc
    cost: float | None = None
    try:
        litellm.get_model_info(model)  # raises for a model without a price
        from litellm.cost_calculator import batch_cost_calculator

        cost = float(sum(batch_cost_calculator(usage=raw.usage, model=model)))
    except Exception:  # not in the price map: unknown, which the summary says
        pass
    return Completion(
        verdict=verdict.model_dump(mode="json"),
        tokens_in=_usage(raw, "prompt_tokens"),
        tokens_out=_usage(raw, "completion_tokens"),
        cost_usd=cost,
    )


def placeholder_key(model: str) -> str | None:
    """The stand-in key sent with `model` to a user's --api-base when no key is set for its
    provider (None when one is set)."""
    provider = model.split("/", 1)[0].upper() if "/" in model else "OPENAI"
    return None if os.environ.get(f"{provider}_API_KEY") else PLACEHOLDER_KEY


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


def _cost(raw: Any) -> float | None:
    """USD of one reply, computed once: litellm prices every reply as it returns it (None when
    the model is not in its price map), so that figure is taken as it is; only a reply litellm
    did not price (a wrapped completion function) is priced here."""
    hidden = getattr(raw, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        cost = hidden["response_cost"]
    else:
        try:
            cost = litellm_module().completion_cost(completion_response=raw)
        except Exception:  # litellm does not know this model's price: no cost, not an error
            return None
    return float(cost) if cost else None
