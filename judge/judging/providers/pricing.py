"""Token counts and prices of judge calls, from litellm's counter and bundled price map.

A model litellm has no price for costs None (unknown), never 0: callers say so.
`map_price` reads the same price map as a JSON file, without importing litellm (the lean path).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judge.judging.providers.sdk import litellm_module
from judge.judging.providers.served import Served, served_by

__all__ = [
    "Spent",
    "batch_price",
    "call_price",
    "count_tokens",
    "map_price",
    "reply_cost",
    "reply_tokens",
]

# The price map litellm ships in its package (and reads itself with
# LITELLM_LOCAL_MODEL_COST_MAP=True, as judge sets it).
PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


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


@functools.cache
def _price_map() -> dict[str, Any]:
    # find_spec locates litellm's package directory without importing it (seconds).
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / PRICE_MAP_FILE
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a release without the file: prices are unknown
        return {}
    return found


def map_price(model: str, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD for one reply of `model` (`openai/gpt-4o-mini` or `gpt-4o-mini`) from litellm's
    bundled price map read as JSON, or None when the model or the token counts are unknown.
    litellm's per-token input and output prices; its other rates (cached input, priority
    tiers) do not apply to a plain chat completion."""
    if tokens_in is None or tokens_out is None:
        return None
    prices = _price_map()
    entry = prices.get(model)
    provider, slash, name = model.partition("/")
    if entry is None and slash:
        bare = prices.get(name)
        if bare is not None and bare.get("litellm_provider") == provider:
            entry = bare
    if not entry or "input_cost_per_token" not in entry:
        return None
    cost = tokens_in * entry["input_cost_per_token"]
    return float(cost + tokens_out * entry.get("output_cost_per_token", 0.0))


def reply_tokens(raw: Any, name: str) -> int | None:
    """One reply's `usage.<name>` (prompt_tokens, completion_tokens) when it reports it."""
    usage = getattr(raw, "usage", None)
    value = getattr(usage, name, None)
    return int(value) if isinstance(value, int | float) else None


@dataclass
class Spent:
    """Requests, tokens and USD over every attempt of one call (a re-asked reply was paid for
    too, and counts as an attempt), and what served the last reply that said."""

    calls: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None

    def add(self, raw: Any) -> None:
        """One litellm reply."""
        tokens_in, tokens_out = (
            reply_tokens(raw, "prompt_tokens"),
            reply_tokens(raw, "completion_tokens"),
        )
        self.count(tokens_in, tokens_out, reply_cost(raw))
        self.serve(raw)

    def serve(self, reply: Any) -> None:
        """Note what served one reply (a dict or litellm's object; see `served_by`)."""
        found = served_by(reply)
        if any(found.values()):  # the pair from one reply, never mixed across replies
            self.served_model = found["served_model"]
            self.system_fingerprint = found["system_fingerprint"]

    def count(self, tokens_in: int | None, tokens_out: int | None, cost: float | None) -> None:
        """One reply's tokens and USD (None: not known)."""
        self.calls += 1
        self.tokens_in = _plus(self.tokens_in, tokens_in)
        self.tokens_out = _plus(self.tokens_out, tokens_out)
        self.cost_usd = _plus(self.cost_usd, cost)

    def spent(self, failed: int = 0) -> dict[str, Any]:
        """What a CallError carries: the requests made (plus `failed` ones that got no reply)
        and the tokens and USD of those answered, and what served them."""
        return {
            "attempts": self.calls + failed,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            **self.served(),
        }

    def served(self) -> Served:
        """What served the call, as a Completion and a CallError carry it."""
        return {"served_model": self.served_model, "system_fingerprint": self.system_fingerprint}


def _plus(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value
