"""What a local judge's grammar lets it write: no layout between JSON tokens, and, for the
bundled demo judge, short strings and short lists.

A local judge decodes on this machine's CPU, so every token of its reply costs time, and on
the README's first command the reply was most of it (`benchmarks/bench_local_rubric.py
--no-shape`, the ddx 1.1 prompt of 3,600-3,900 tokens: each reply ran to the 1,024-token cap
in 32-35 s of decoding, the first prompt was read in 13 s, the later ones in 4 s). The first
change below shortens a reply without changing what it says; the second, for the demo judge
only, bounds what it may say:

- **Layout.** llama.cpp's JSON grammar allows a newline and up to 20 spaces or tabs between
  tokens, and chat models lay their JSON out, a newline and indentation before every key:
  tokens that say nothing. Inside a JSON string a raw newline is not allowed (it must be
  written `\\n`), so a token that holds a newline can only ever be layout. The server is asked
  which of its tokens are such (`layout_tokens`), and the request gives them a logit bias of
  -100: the reply is compact JSON with the same content.
- **Length, for the demo judge only.** A 135M model decoding greedily does not end its strings:
  its rationales ran on ("C.A.A.D.A.D…", within the rubric's 800-character bound) or its
  `key_items` list repeated one entry (within 30), until the reply hit the 1,024-token cap
  and was unscored. The demo
  judge's grammar bounds every string at `DEMO_MAX_CHARS` characters and every list at
  `DEMO_MAX_ITEMS` items (the rubric's own bounds still apply where they are lower). Its
  replies are then valid and finish (4 of 4 on the README's command, against 0 of 4), and they
  still say nothing about the reasoning judged, as every run with it says. A judge that can
  write real rationales (`local/PATH.gguf`) gets the rubric's bounds unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DEMO_MAX_CHARS", "DEMO_MAX_ITEMS", "LAYOUT_BIAS", "ReplyShape", "layout_tokens"]

# The demo judge's bounds: short enough that its looping strings end quickly, long enough to
# show a rationale's place in the record.
DEMO_MAX_CHARS = 40
DEMO_MAX_ITEMS = 3
# OpenAI's and llama.cpp's lowest bias: the token is never chosen while another one may be.
LAYOUT_BIAS = -100

# What may stand between JSON tokens in llama.cpp's grammar: an optional space, or one or two
# newlines and up to 20 spaces or tabs (and a space before them, where two rules meet). Each of
# these that the model has as one token is one that only lays the reply out.
_LAYOUT_STRINGS = tuple(
    dict.fromkeys(
        lead + newlines + pad * width
        for lead in ("", " ")
        for newlines in ("\n", "\n\n")
        for pad in (" ", "\t")
        for width in range(21)
    )
)


@dataclass(frozen=True)
class ReplyShape:
    """Bounds a local judge's request puts on its reply: `max_chars` for every string and
    `max_items` for every list of the response schema (None: the schema's own), and the token
    ids that only lay JSON out, which the request bans."""

    max_chars: int | None = None
    max_items: int | None = None
    layout: tuple[int, ...] = ()

    def schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """`schema` with every string's maxLength and every list's maxItems at most the
        bounds (never below the schema's own minimum); the input is not changed."""
        if self.max_chars is None and self.max_items is None:
            return schema
        bounded = copy.deepcopy(schema)
        _bound(bounded, self.max_chars, self.max_items)
        return bounded

    def body(self) -> dict[str, Any]:
        """What the request body adds: the layout tokens' bias, OpenAI's shape (token id as a
        string, bias -100..100), which llama.cpp's server reads too."""
        if not self.layout:
            return {}
        return {"logit_bias": {str(token): LAYOUT_BIAS for token in self.layout}}


def _bound(node: Any, max_chars: int | None, max_items: int | None) -> None:
    if isinstance(node, list):
        for child in node:
            _bound(child, max_chars, max_items)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and max_chars is not None:
        node["maxLength"] = _lowered(node, "maxLength", "minLength", max_chars)
    if node.get("type") == "array" and max_items is not None:
        node["maxItems"] = _lowered(node, "maxItems", "minItems", max_items)
    for child in node.values():
        _bound(child, max_chars, max_items)


def _lowered(node: dict[str, Any], key: str, floor_key: str, bound: int) -> int:
    current = node.get(key)
    lowered = bound if current is None else min(int(current), bound)
    return max(lowered, int(node.get(floor_key, 0)))


def layout_tokens(tokenize: Callable[[str], list[int]]) -> tuple[int, ...]:
    """The ids of the model's tokens that are layout and nothing else: each string of
    `_LAYOUT_STRINGS` that `tokenize` (the server's own tokenizer) makes one token of."""
    found: set[int] = set()
    for text in _LAYOUT_STRINGS:
        tokens = tokenize(text)
        if len(tokens) == 1:
            found.add(tokens[0])
    return tuple(sorted(found))
