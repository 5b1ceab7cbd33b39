"""A local judge's reply bounds (judge/judging/providers/reply_shape.py): the layout tokens
its requests ban, and the demo judge's short strings and lists.

The fast tests need nothing installed. The slow ones ask the REAL llama.cpp server with the
REAL SmolLM2-135M file, and are skipped with the reason when those are not installed."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from judge.judging.prompts import response_model
from judge.judging.providers.lean import _tail
from judge.judging.providers.local import (
    LocalJudge,
    local_judge,
    resolve_model_path,
    rewrite_response_format,
)
from judge.judging.providers.reply_shape import (
    DEMO_MAX_CHARS,
    DEMO_MAX_ITEMS,
    LAYOUT_BIAS,
    ReplyShape,
    layout_tokens,
)
from judge.load.rubric import load_rubric
from tests.local_judge import SMOL, needs_server


class Item(BaseModel):
    text: str = Field(min_length=60, max_length=300)
    note: str | None = None


class Reply(BaseModel):
    rationale: str = Field(max_length=800)
    short: str = Field(max_length=10)
    score: Literal[1, 2, 3]
    items: list[Item] = Field(max_length=30)
    tags: list[str] = Field(min_length=5)


def _strings_and_lists(node: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("string", "array"):
            found.append(node)
        for child in node.values():
            _strings_and_lists(child, found)
    elif isinstance(node, list):
        for child in node:
            _strings_and_lists(child, found)
    return found


def test_every_string_and_list_is_bounded_but_never_below_its_minimum() -> None:
    schema = Reply.model_json_schema()
    before = json.dumps(schema, sort_keys=True)
    bounded = ReplyShape(max_chars=40, max_items=3).schema(schema)
    assert json.dumps(schema, sort_keys=True) == before  # the caller's schema is unchanged
    props, item = bounded["properties"], bounded["$defs"]["Item"]["properties"]
    assert props["rationale"]["maxLength"] == 40  # 800 lowered
    assert props["short"]["maxLength"] == 10  # already lower: kept
    assert props["items"]["maxItems"] == 3  # 30 lowered
    assert props["tags"]["maxItems"] == 5  # a bound below minItems would allow no reply
    assert props["tags"]["items"]["maxLength"] == 40  # unbounded strings get the bound
    assert item["text"]["maxLength"] == 60  # never below minLength
    # Strings inside anyOf (an optional field) are bounded too.
    (note,) = [s for s in item["note"]["anyOf"] if s.get("type") == "string"]
    assert note["maxLength"] == 40
    nodes = _strings_and_lists(bounded, [])
    assert nodes and all(("maxLength" in n) or ("maxItems" in n) for n in nodes)
    assert ReplyShape().schema(schema) is schema  # no bounds: nothing is copied or changed


def test_layout_tokens_are_the_layout_strings_the_tokenizer_makes_one_token_of() -> None:
    vocabulary = {"\n": 7, "\n  ": 8, "\n\n": 9, " \n\t": 10}

    def tokenize(text: str) -> list[int]:
        # One token for a known string, else one per character (ids from 1000 up).
        return [vocabulary[text]] if text in vocabulary else [1000 + ord(c) for c in text]

    assert layout_tokens(tokenize) == (7, 8, 9, 10)
    assert layout_tokens(lambda text: [1, 2]) == ()  # a model with no such token
    assert ReplyShape(layout=(8, 7)).body() == {"logit_bias": {"8": LAYOUT_BIAS, "7": LAYOUT_BIAS}}
    assert ReplyShape().body() == {}


def test_the_lean_path_and_the_litellm_path_send_the_same_bounds() -> None:
    shape = ReplyShape(max_chars=40, max_items=3, layout=(198, 945))
    lean = json.loads(b"{" + _tail("openai/m", Reply, True, "{}", shape)[1:])
    schema = Reply.model_json_schema()
    kwargs = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    adapted = rewrite_response_format(kwargs, shape)
    assert lean["response_format"] == adapted["response_format"]
    assert lean["response_format"]["schema"]["properties"]["rationale"]["maxLength"] == 40
    assert lean["logit_bias"] == adapted["logit_bias"] == {"198": -100, "945": -100}
    # Without a shape the request is as before: the rubric's schema and no bias.
    plain = json.loads(b"{" + _tail("openai/m", Reply, True, "{}")[1:])
    assert plain["response_format"]["schema"] == schema and "logit_bias" not in plain


# --------------------------------------------------------------------------- slow: the server


def _post(judge: LocalJudge, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{judge.api_base.removesuffix('/v1')}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {judge.api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as reply:
        return json.load(reply)


@pytest.mark.slow
@needs_server
async def test_the_demo_judges_ddx_reply_is_compact_bounded_and_complete() -> None:
    async with local_judge(SMOL) as judge:
        shape = judge.shape
        assert (shape.max_chars, shape.max_items) == (DEMO_MAX_CHARS, DEMO_MAX_ITEMS)
        newline = _post(judge, "/tokenize", {"content": "\n"})["tokens"]
        assert newline[0] in shape.layout
        for token in shape.layout:  # each banned token is whitespace holding a newline
            text = _post(judge, "/detokenize", {"tokens": [token]})["content"]
            assert "\n" in text and not text.strip(), repr(text)

        # The ddx rubric's whole reply schema, as a run sends it, with a short prompt: the
        # reply ends by itself (finish "stop", not the token cap), lays nothing out, and
        # keeps to the bounds.
        model = response_model(load_rubric("ddx"))
        kwargs = {
            "model": "smollm2-135m",
            "messages": [{"role": "user", "content": "Judge this reasoning: it picks C."}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"schema": model.model_json_schema()},
            },
            "temperature": 0.0,
            "max_tokens": 1024,
        }
        reply = _post(judge, "/v1/chat/completions", rewrite_response_format(kwargs, shape))
    (choice,) = reply["choices"]
    content = choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert "\n" not in content
    verdict = model.model_validate_json(content)
    strings = [v.rationale for v in vars(verdict).values() if hasattr(v, "rationale")]
    assert strings and all(len(s) <= DEMO_MAX_CHARS for s in strings)


@pytest.mark.slow
@needs_server
async def test_a_gguf_named_by_path_keeps_the_rubrics_bounds() -> None:
    # Only the bundled demo judge gets short strings; a judge that can write real
    # rationales gets the rubric's own bounds, and only the layout ban.
    async with local_judge(f"local/{resolve_model_path(SMOL)}", n_ctx=512) as judge:
        assert (judge.shape.max_chars, judge.shape.max_items) == (None, None)
        assert judge.shape.layout
