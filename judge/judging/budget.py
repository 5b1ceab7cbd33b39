"""What judging will cost before it is paid, and a budget a run stops at.

Estimates count prompt tokens with the judge's tokenizer (through litellm) and assume a
reply of about `REPLY_TOKENS_PER_CRITERION` tokens per criterion (a score and a short
rationale), capped by `--max-tokens`; prices come from litellm's bundled price map. Calls the
cache already holds cost nothing. Local judges (`local/…`) are free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["REPLY_TOKENS_PER_CRITERION", "REPLY_TOKENS_PER_UNIT", "Budget", "Estimate"]

# A verdict per criterion: the score, a rationale of one or two sentences, JSON punctuation.
# A multi-stage rubric's per-unit verdict (an explanation and its fields) is about the same.
REPLY_TOKENS_PER_CRITERION = 70
# One unit of a segment stage's reply: a sentence of the candidate's reasoning.
REPLY_TOKENS_PER_UNIT = 30


@dataclass
class Estimate:
    """Calls to make and what they should cost; `cost_usd` is None when a price is unknown."""

    calls: int = 0
    cached: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    unpriced: set[str] = field(default_factory=set)

    def add(self, other: Estimate) -> None:
        self.calls += other.calls
        self.cached += other.cached
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.unpriced |= other.unpriced
        if self.cost_usd is None or other.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += other.cost_usd


class Budget:
    """A ceiling on what a run spends: an item is started only if what has been spent, plus
    the estimates of items in flight, plus its own estimate stays within `max_usd`."""

    def __init__(self, max_usd: float):
        self.max_usd = max_usd
        self.spent = 0.0
        self._reserved: dict[str, float] = {}
        self._paid_items = 0

    def reserve(self, item_id: str, estimate: float) -> bool:
        """Hold `estimate` for an item about to start; False when it would cross the budget."""
        # Once items have been paid for, their mean is a better guess than token counting.
        if self._paid_items:
            estimate = max(estimate, self.spent / self._paid_items)
        if self.spent + sum(self._reserved.values()) + estimate > self.max_usd:
            return False
        self._reserved[item_id] = estimate
        return True

    def settle(self, item_id: str, actual: float) -> None:
        """Replace an item's reservation by what it really cost."""
        self._reserved.pop(item_id, None)
        self.spent += actual
        self._paid_items += actual > 0
