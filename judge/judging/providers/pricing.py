"""Token counts and prices of judge calls, from litellm's counter and bundled price map.

A model litellm has no price for costs None (unknown), never 0: callers say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from judge.judging.providers.sdk import litellm_module

__all__ = ["Spent", "batch_price", "call_price", "count_tokens", "reply_cost", "reply_tokens"]


def _unpriced(litellm: Any) -> tuple[type[BaseException], ...]:
    """What litellm raises when it cannot price a model: ModelNotMappedError for a model it
    does not map, BadRequestError for a name with no known provider. (Releases before
    ModelNotMappedError raised a bare Exception for the first; only there is it caught.)"""
    not_mapped: type[BaseException] = getattr(litellm, "ModelNotMappedError", Exception)
    return (not_mapped, litellm.BadRequestError)


def count_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of `messages` by the model's tokenizer (litellm's counter; it falls back
    to a generic tokenizer for models it does not know)."""
    return int(litellm_module().token_counter(model=model, messages=messages))


def call_price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for one call from litellm's bundled price map, or None when the model is not in it."""
    litellm = litellm_module()
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except _unpriced(litellm):  # not mapped: the price is unknown, which callers must say
        return None
    return float(prompt + completion)


def batch_price(model: str, usage: Any) -> float | None:
    """USD of one batch reply's `usage` at `model`'s batch rate (litellm's batch prices, else
    half the live ones), or None when the model is not in the price map."""
    litellm = litellm_module()
    try:
        litellm.get_model_info(model)  # raises for a model without a price
        from litellm.cost_calculator import batch_cost_calculator

        return float(sum(batch_cost_calculator(usage=usage, model=model)))
    except _unpriced(litellm):  # not in the price map: unknown, which the summary says
        return None


def reply_cost(raw: Any) -> float | None:
    """USD of one reply, computed once: litellm prices every reply as it returns it (None when
    the model is not in its price map), so that figure is taken as it is; only a reply litellm
    did not price (a wrapped completion function) is priced here."""
    hidden = getattr(raw, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        cost = hidden["response_cost"]
    else:
        litellm = litellm_module()
        try:
            cost = litellm.completion_cost(completion_response=raw)
        except _unpriced(litellm):  # litellm does not know this model's price: no cost
            return None
    return float(cost) if cost else None


def reply_tokens(raw: Any, name: str) -> int | None:
    """One reply's `usage.<name>` (prompt_tokens, completion_tokens) when it reports it."""
    usage = getattr(raw, "usage", None)
    value = getattr(usage, name, None)
    return int(value) if isinstance(value, int | float) else None


@dataclass
class Spent:
    """Requests, tokens and USD over every attempt of one call (a re-asked reply was paid for
    too, and counts as an attempt)."""

    calls: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None

    def add(self, raw: Any) -> None:
        self.calls += 1
        self.tokens_in = _plus(self.tokens_in, reply_tokens(raw, "prompt_tokens"))
        self.tokens_out = _plus(self.tokens_out, reply_tokens(raw, "completion_tokens"))
        self.cost_usd = _plus(self.cost_usd, reply_cost(raw))

    def spent(self, failed: int = 0) -> dict[str, Any]:
        """What a CallError carries: the requests made (plus `failed` ones that got no reply)
        and the tokens and USD of those answered."""
        return {
            "attempts": self.calls + failed,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
        }


def _plus(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value
