"""A provider's failure, as the engine's kinds: litellm's exception classes, by `isinstance`,
into transient (retry later, honouring Retry-After) and permanent; anything else is not a
provider's failure and propagates as the bug it is. Also: whether a judge is configured."""

from __future__ import annotations

import email.utils
import math
import os
import time
from datetime import timezone
from typing import Any

from judge.errors import redact
from judge.judging.engine import PermanentError, TransientError
from judge.judging.providers.pricing import Spent
from judge.judging.providers.sdk import litellm_module

__all__ = [
    "TRANSIENT_STATUS",
    "check_judge_configured",
    "classify",
    "parse_retry_after",
    "provider_errors",
    "short",
]

# Statuses worth retrying when litellm reports them as a generic APIError (an overloaded
# provider's 529, a 409 conflict); the common ones have their own classes below.
TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


def provider_errors() -> tuple[type[BaseException], ...]:
    """What litellm raises for a failed call: its API errors (all subclasses of the OpenAI
    SDK's APIError, as litellm maps every provider's failures onto them) and its budget error."""
    litellm = litellm_module()
    import openai  # litellm's own dependency, already imported by it

    return (openai.APIError, litellm.BudgetExceededError)


def _transient_errors(litellm: Any) -> tuple[type[BaseException], ...]:
    found = (
        litellm.RateLimitError,
        litellm.Timeout,
        litellm.APIConnectionError,
        litellm.ServiceUnavailableError,
        litellm.InternalServerError,
        getattr(litellm, "BadGatewayError", None),  # not in every release litellm>=1.74 allows
    )
    return tuple(kind for kind in found if kind is not None)


def classify(exc: BaseException, spent: Spent | None = None) -> TransientError | PermanentError:
    """The engine's kind of one of `provider_errors()`: transient for a rate limit, timeout,
    dropped connection or 5xx (with the server's Retry-After), permanent for the rest (bad
    request, bad key, unknown model, context window exceeded, budget). `spent`: what the
    call's earlier requests (re-asked replies) cost, carried on the error."""
    litellm = litellm_module()
    message = f"{type(exc).__name__}: {short(exc)}"
    status = getattr(exc, "status_code", None)
    carried = (spent or Spent()).spent(failed=1)
    if isinstance(exc, _transient_errors(litellm)) or (
        isinstance(exc, litellm.APIError) and status in TRANSIENT_STATUS
    ):
        return TransientError(message, retry_after=_retry_after(exc), **carried)
    return PermanentError(message, **carried)


def short(exc: BaseException | str) -> str:
    """An exception's message (or a text) on one line, keys redacted, at most 300 characters."""
    text = " ".join(str(exc).split())
    return redact(text)[:300]


def _retry_after(exc: BaseException) -> float | None:
    # litellm keeps the provider's headers in `litellm_response_headers`; releases before
    # 1.110 gave `exc.response` synthetic empty headers, later ones the real ones.
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if headers and (value := parse_retry_after(headers.get("retry-after"))) is not None:
            return value
    return None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date (RFC 9110
    §10.2.3), never negative; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


# What litellm's `validate_environment` asks of these providers' models: one key in the
# environment, or none at all. Knowing them here lets a run that the call cache answers
# decide its panel without importing litellm (seconds); any other provider, and a bare model
# name, is asked of litellm. tests/judge/test_providers.py checks each entry against litellm.
KEY_OF_PROVIDER: dict[str, str | None] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "deepinfra": "DEEPINFRA_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "hosted_vllm": None,
    "litellm_proxy": None,
}


def check_judge_configured(model: str, api_base: str | None) -> str | None:
    """Why `model` cannot be called as configured (a missing key), or None when it can."""
    if api_base:
        return None
    provider, slash, _ = model.partition("/")
    if slash and provider in KEY_OF_PROVIDER:
        key = KEY_OF_PROVIDER[provider]
        if key is None or os.environ.get(key):
            return None
        return f"{model} needs {key} in the environment (or use --api-base)"
    litellm = litellm_module()
    try:
        env = litellm.validate_environment(model=model)
    except (litellm.BadRequestError, ValueError) as exc:  # an unknown provider, a bad name
        return redact(str(exc))
    missing = env.get("missing_keys") or []
    if missing:
        return f"{model} needs {', '.join(missing)} in the environment (or use --api-base)"
    return None
