"""Structured output: the request instructor would send for a response model, validation of
the reply with pydantic, and instructor's re-ask when it does not validate.

In the tools, json_schema and json modes the request instructor would send (its tool, its
response format, its schema prompt) is built once per response model and sent with
`litellm.acompletion` directly; the reply is validated with pydantic and, when it fails, re-asked
with the messages instructor would add. Going through instructor on every call cost more client
CPU than litellm itself (it walks the response model for async validators and re-prepares the
request each time), which on a busy machine bounds judgments/s. md_json, whose replies need
instructor's code-block extraction, still goes through instructor.

The copied request and re-ask building matches instructor 1.17 (pyproject pins that range;
tests/judge/test_llm.py checks the bodies byte for byte against instructor's own).
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from judge.errors import ConfigError
from judge.judging.engine import Completion, InvalidReplyError, redact_verdict
from judge.judging.providers.call import classify, provider_errors, short
from judge.judging.providers.pricing import Spent, batch_price, reply_tokens
from judge.judging.providers.sdk import litellm_module
from judge.judging.providers.served import served_by

__all__ = [
    "MODES",
    "Send",
    "Structured",
    "batch_reply",
    "batch_request",
    "direct",
    "json_reask",
    "via_instructor",
]

# instructor's modes by the names users pass on the command line.
MODES = ("tools", "json_schema", "json", "md_json")

Send = Callable[..., Awaitable[Any]]
Messages = list[dict[str, Any]]
Structured = Callable[[str, Messages, type[BaseModel], dict[str, Any]], Awaitable[Completion]]


def direct(send: Send, mode: str, retries: int) -> Structured:
    """One request per attempt with the prepared structured-output fields; validate; re-ask up
    to `retries` times. Every request made counts in the completion's attempts and tokens."""
    errors = provider_errors()

    async def call(
        model: str, messages: Messages, response_model: type[BaseModel], kwargs: dict[str, Any]
    ) -> Completion:
        request = _request(response_model, mode)
        messages = request.messages(messages)
        spent = Spent()
        while True:
            try:
                raw = await send(model=model, messages=messages, **request.fields, **kwargs)
            except errors as exc:  # litellm's; carries what the re-asked replies cost
                raise classify(exc, spent) from exc
            spent.add(raw)
            try:
                verdict = response_model.model_validate_json(request.reply_text(raw))
            except (ValidationError, _NoStructuredReply) as exc:
                if spent.calls > retries:
                    raise InvalidReplyError(short(exc), **spent.spent()) from exc
                messages = [*messages, *request.reask(raw, exc)]
                continue
            except _FinalReply as exc:  # cut off or refused: asking again will not help
                raise InvalidReplyError(short(exc), **spent.spent()) from exc
            return Completion(
                verdict=verdict.model_dump(mode="json"),
                tokens_in=spent.tokens_in,
                tokens_out=spent.tokens_out,
                cost_usd=spent.cost_usd,
                attempts=spent.calls,
                **spent.served(),
            )

    return call


# What the md_json calls in flight have spent, each in its own task's context (one
# instructor client serves every call, and its completion function is where replies arrive).
_SPENT: contextvars.ContextVar[Spent | None] = contextvars.ContextVar("judge_spent", default=None)


def via_instructor(send: Send, retries: int) -> Structured:
    """md_json through instructor (its code-block extraction and re-ask); every request it
    makes is counted, re-asks included."""
    import instructor
    from instructor.core import (
        AsyncValidationError,
        IncompleteOutputException,
        InstructorRetryException,
        ResponseParsingError,
    )

    invalid = (ValidationError, json.JSONDecodeError, AsyncValidationError, ResponseParsingError)

    async def counted(**kwargs: Any) -> Any:
        raw = await send(**kwargs)
        if (spent := _SPENT.get()) is not None:
            spent.add(raw)
        return raw

    client: Any = instructor.from_litellm(counted, mode=instructor.Mode.MD_JSON)

    async def call(
        model: str, messages: Messages, response_model: type[BaseModel], kwargs: dict[str, Any]
    ) -> Completion:
        spent = Spent()
        token = _SPENT.set(spent)
        try:
            verdict, _ = await client.create_with_completion(
                model=model,
                messages=messages,
                response_model=_wrapped(response_model),
                max_retries=retries,
                **kwargs,
            )
        except (IncompleteOutputException, InstructorRetryException) as exc:
            cause = exc.__cause__ if isinstance(exc, InstructorRetryException) else exc
            if isinstance(cause, (IncompleteOutputException, *invalid)):
                raise InvalidReplyError(short(cause), **spent.spent()) from exc
            if isinstance(cause, provider_errors()):  # instructor does not retry API errors
                raise classify(cause, spent) from cause
            raise  # anything else is a bug, here or in instructor: it must show
        finally:
            _SPENT.reset(token)
        return Completion(
            verdict=verdict.model_dump(mode="json"),
            tokens_in=spent.tokens_in,
            tokens_out=spent.tokens_out,
            cost_usd=spent.cost_usd,
            attempts=max(spent.calls, 1),
            **spent.served(),
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
            return json_reask(content, error)
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


def json_reask(content: str, error: Exception) -> Messages:
    """The reply and the error, as instructor appends them before re-asking in its JSON modes
    (the lean path's re-ask too)."""
    fix = f"Correct your JSON ONLY RESPONSE, based on the following errors:\n{error}"
    return [{"role": "assistant", "content": content}, {"role": "user", "content": fix}]


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


@functools.lru_cache(maxsize=256)
def _wrapped(response_model: type[BaseModel]) -> type[BaseModel]:
    """The model as instructor's schema class, made once: given a plain pydantic model,
    instructor wraps it in a new class on every call, which defeats its own schema cache
    (~8 ms of CPU per call, half of a call's client-side cost)."""
    import instructor

    wrapped: type[BaseModel] = instructor.openai_schema(response_model)
    return wrapped


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
    response format, and `params`, as the provider's config maps them."""
    request = _request(response_model, mode)
    provider_model, provider = litellm_module().get_llm_provider(model)[:2]
    return {
        "model": provider_model,
        "messages": request.messages(messages),
        **_as_provider_sends(provider_model, provider, {**request.fields, **params}),
    }


def _as_provider_sends(model: str, provider: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The request's fields as litellm's provider config maps them before sending: vLLM's,
    for one, drops `additionalProperties` and `strict` from tool schemas."""
    from litellm.types.utils import LlmProviders
    from litellm.utils import ProviderConfigManager

    try:
        config = ProviderConfigManager.get_provider_chat_config(model, LlmProviders(provider))
    except ValueError:  # a provider litellm does not enumerate: sent as built
        return fields
    if config is None:
        return fields
    mapped: dict[str, Any] = config.map_openai_params(
        non_default_params=dict(fields), optional_params={}, model=model, drop_params=False
    )
    return mapped


def batch_reply(
    model: str, body: dict[str, Any], response_model: type[BaseModel], mode: str
) -> Completion:
    """A batch output line's chat completion (`body`) validated like a live reply's first
    attempt, priced at `model`'s batch rate (None when the model is not in the price map).
    Raises InvalidReplyError when it does not validate: a batch cannot re-ask."""
    raw = litellm_module().ModelResponse(**body)
    tokens = reply_tokens(raw, "prompt_tokens"), reply_tokens(raw, "completion_tokens")
    try:
        verdict = response_model.model_validate_json(_request(response_model, mode).reply_text(raw))
    except (ValidationError, _NoStructuredReply, _FinalReply) as exc:
        raise InvalidReplyError(
            short(exc), 1, *tokens, cost_usd=batch_price(model, raw.usage)
        ) from exc
    return Completion(
        # Redacted here: batch replies reach the cache without passing through the engine.
        verdict=redact_verdict(verdict.model_dump(mode="json")),
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        cost_usd=batch_price(model, raw.usage),
        **served_by(body),
    )
