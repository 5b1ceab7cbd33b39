"""The lean path: judge calls to OpenAI-compatible servers (`openai/…`, `hosted_vllm/…`, a
user's --api-base, local llama.cpp judges) over one aiohttp session, without litellm or
instructor.

litellm and instructor cost 4-6 ms of client CPU per call here, more than the 2 cores can spare
at 64+ calls in flight; this path costs a fraction of that (benchmarks/bench_throughput.py,
docs/measured.md). It keeps their semantics:

- structured output as `response_format` json_schema (a local llama.cpp judge gets
  `{"type": "json_object", "schema": S}`, which its server turns into a grammar);
- the reply validated by the rubric's pydantic model, and re-asked as instructor re-asks in its
  JSON modes (`structured.json_reask`); a cut-off reply or a refusal is final;
- failures as the engine's kinds: 408/409/425/429/5xx, timeouts and dropped connections are
  transient (with the server's Retry-After), other statuses permanent; messages are redacted;
- tokens from the reply's `usage`, USD from litellm's price map read as JSON (`map_price`).

The engine owns retries, the cache (its key does not depend on the client, so caches written
by either path answer both) and the limits. Keys come from the environment and go only into
the Authorization header.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from judge.errors import ConfigError
from judge.judging.engine import Completion, InvalidReplyError, PermanentError, TransientError
from judge.judging.providers.call import TRANSIENT_STATUS, parse_retry_after, short
from judge.judging.providers.local import repair_json_text
from judge.judging.providers.pricing import Spent, map_price
from judge.judging.providers.reply_shape import ReplyShape
from judge.judging.providers.sdk import PLACEHOLDER_KEY
from judge.judging.providers.structured import json_reask

__all__ = ["CLIENTS", "OPENAI_COMPATIBLE", "LeanClient", "lean_endpoint", "use_lean"]

# --client: which path OpenAI-compatible judges take (auto: the lean one).
CLIENTS = ("auto", "lean", "litellm")
# Providers whose chat API is OpenAI's: the lean path can call them.
OPENAI_COMPATIBLE = ("openai", "hosted_vllm")
# Where each sends when no --api-base is given, and the key it reads.
_DEFAULT_BASE = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE", "https://api.openai.com/v1"),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE", "HOSTED_VLLM_API_BASE", ""),
}

Messages = list[dict[str, Any]]


def lean_endpoint(model: str, api_base: str | None) -> str | None:
    """The base URL the lean path sends `model`'s calls to, or None when it cannot (another
    provider's API, a bare model name with no --api-base, hosted_vllm with no server named)."""
    provider, slash, _ = model.partition("/")
    if slash and provider not in OPENAI_COMPATIBLE:
        return None
    if api_base:
        return api_base
    if not slash:  # a bare name: litellm finds its provider in its model map
        return None
    first, second, default = _DEFAULT_BASE[provider]
    return os.environ.get(first) or os.environ.get(second) or default or None


def use_lean(client: str, model: str, api_base: str | None, mode: str) -> bool:
    """Whether `model`'s calls take the lean path under --client and --mode (auto: when the
    endpoint is OpenAI-compatible and the mode is the default tools or json_schema; the json
    and md_json modes exist for servers without json_schema, and stay with instructor)."""
    if client == "litellm":
        return False
    reachable = lean_endpoint(model, api_base) is not None
    if client == "lean":
        if not reachable:
            raise ConfigError(
                "--client lean calls OpenAI-compatible servers only "
                f"({', '.join(OPENAI_COMPATIBLE)} models or --api-base); {model} needs "
                "--client litellm"
            )
        if mode not in ("tools", "json_schema"):
            raise ConfigError(
                f"--client lean sends response_format json_schema; --mode {mode} needs "
                "--client litellm"
            )
        return True
    return reachable and mode in ("tools", "json_schema")


class _Retry(ValueError):
    """A reply that does not validate: re-asked."""


class _Final(ValueError):
    """A reply re-asking cannot fix: cut off at max_tokens, or a refusal."""


@dataclass
class LeanClient:
    """A completion function (the engine's `CompleteFn`) over one aiohttp session, opened on
    the first call and closed by `aclose`. `lenient`: replies whose strings hold raw newlines
    are accepted (a small local model's); `json_object`: the schema goes as llama.cpp's
    `{"type": "json_object", "schema": S}`."""

    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    max_validation_retries: int = 2
    lenient: bool = False
    json_object: bool = False
    # A local judge's reply bounds (reply_shape.py).
    shape: ReplyShape | None = None
    _session: Any = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_validation_retries < 0:
            raise ConfigError("max_validation_retries must be 0 or more")

    async def __call__(
        self,
        *,
        model: str,
        messages: Messages,
        response_model: type[BaseModel],
        params: dict[str, Any],
        timeout: float,
    ) -> Completion:
        base = lean_endpoint(model, self.api_base)
        if base is None:
            raise ConfigError(f"{model} is not an OpenAI-compatible judge")
        url = f"{base.rstrip('/')}/chat/completions"
        headers = _headers(self._key(model))
        tail = _tail(model, response_model, self.json_object, _params_key(params), self.shape)
        spent = Spent()
        while True:
            body = b'{"messages":' + _dumps(messages) + tail
            reply = await self._post(url, body, headers, timeout, spent)
            tokens_in, tokens_out = _usage(reply)
            spent.count(tokens_in, tokens_out, map_price(model, tokens_in, tokens_out))
            spent.serve(reply)
            try:
                verdict = self._validate(reply, response_model)
            except _Retry as exc:
                if spent.calls > self.max_validation_retries:
                    raise InvalidReplyError(short(exc), **spent.spent()) from exc
                messages = [*messages, *json_reask(_content(reply), exc)]
                continue
            except _Final as exc:
                raise InvalidReplyError(short(exc), **spent.spent()) from exc
            return Completion(
                verdict=verdict,
                tokens_in=spent.tokens_in,
                tokens_out=spent.tokens_out,
                cost_usd=spent.cost_usd,
                attempts=spent.calls,
                **spent.served(),
            )

    def _key(self, model: str) -> str | None:
        if self.api_key is not None:
            return self.api_key
        provider, slash, _ = model.partition("/")
        name = f"{provider.upper()}_API_KEY" if slash else "OPENAI_API_KEY"
        # A keyless server (a user's --api-base) is sent litellm's stand-in, as before.
        return os.environ.get(name) or (PLACEHOLDER_KEY if self.api_base else None)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, spent: Spent
    ) -> dict[str, Any]:
        import aiohttp

        session = self._open()
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                raw = await response.read()
                status, retry_after = response.status, response.headers.get("retry-after")
        except asyncio.TimeoutError as exc:
            raise TransientError(f"no reply within {timeout:g} s", **spent.spent(1)) from exc
        except aiohttp.ClientError as exc:  # refused, reset, a broken reply: worth a retry
            message = f"{type(exc).__name__}: {short(exc)}"
            raise TransientError(message, **spent.spent(1)) from exc
        if status >= 400:
            message = f"HTTP {status}: {short(_error_message(raw))}"
            if status in TRANSIENT_STATUS or status >= 500:
                wait = parse_retry_after(retry_after)
                raise TransientError(message, retry_after=wait, **spent.spent(1))
            raise PermanentError(message, **spent.spent(1))
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):  # a proxy's error page with a 200: try again later
            raise TransientError(f"HTTP {status}: not a chat completion", **spent.spent(1))
        return reply

    def _open(self) -> Any:
        """The session, made in the running loop (a session cannot move between loops)."""
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # The engine bounds calls in flight; the connector must not add a second bound.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        """Close the session (its connections); the next call opens a new one."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _validate(self, reply: dict[str, Any], response_model: type[BaseModel]) -> dict[str, Any]:
        choices = reply.get("choices")
        if not choices or not isinstance(choices[0], dict):
            raise _Retry("the reply has no choices")
        choice = choices[0]
        if choice.get("finish_reason") == "length":
            raise _Final("the reply was cut off at max_tokens (finish_reason=length)")
        message = choice.get("message") or {}
        if refusal := message.get("refusal"):
            raise _Final(f"the judge refused: {refusal}")
        text = _content(reply)
        if self.lenient:
            text = repair_json_text(text)
        try:
            verdict = response_model.model_validate_json(text)
        except ValidationError as exc:
            raise _Retry(str(exc)) from exc
        dumped: dict[str, Any] = verdict.model_dump(mode="json")
        return dumped


def _content(reply: dict[str, Any]) -> str:
    try:
        return str(reply["choices"][0]["message"].get("content") or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _usage(reply: dict[str, Any]) -> tuple[int | None, int | None]:
    usage = reply.get("usage")
    if not isinstance(usage, dict):
        return None, None
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _error_message(raw: bytes) -> str:
    """An error body's `error.message`, or its text."""
    try:
        found = json.loads(raw)
        return str(found["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=64)
def _headers_for(key: str | None) -> tuple[tuple[str, str], ...]:
    found = [("Content-Type", "application/json")]
    if key:
        found.append(("Authorization", f"Bearer {key}"))
    return tuple(found)


def _headers(key: str | None) -> dict[str, str]:
    return dict(_headers_for(key))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _tail(
    model: str,
    response_model: type[BaseModel],
    json_object: bool,
    params: str,
    shape: ReplyShape | None = None,
) -> bytes:
    """Everything in a request body after its messages, serialised once per judge, response
    model and parameters: the model as the server names it (`openai/x` → `x`), the response
    format with the schema (bounded by a local judge's `shape`), and the parameters."""
    provider, slash, name = model.partition("/")
    served = name if slash and provider in OPENAI_COMPATIBLE else model
    shape = shape or ReplyShape()
    schema = shape.schema(response_model.model_json_schema())
    fmt: dict[str, Any] = (
        {"type": "json_object", "schema": schema}
        if json_object
        else {
            "type": "json_schema",
            "json_schema": {"name": response_model.__name__, "schema": schema},
        }
    )
    rest = {"model": served, "response_format": fmt, **shape.body(), **json.loads(params)}
    return b"," + _dumps(rest)[1:]
