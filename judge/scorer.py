"""Judge one item at a time against any rubric, with judges, engine and cache opened once.

`Scorer` is the seam every front end shares: a `judge score` run drives it over a file, `judge
serve` keeps one open for the life of the server (so all requests share one bounded pool of
judge calls, and identical calls in flight are made once), and the Python API uses it to score a
single item or a DataFrame.

    async with Scorer(RunOptions(judges=["openai/gpt-4o-mini"])) as scorer:
        record = await scorer.score({"title": "case 1", ...}, "ddx")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel

from judge.budget import REPLY_TOKENS_PER_CRITERION, Estimate
from judge.cache import Cache, default_cache_path
from judge.contracts import Judgment, Prediction, ResultRecord, Rubric
from judge.deterministic import score_deterministic
from judge.engine import CompleteFn, Completion, Engine, JudgeSpec, RetryPolicy
from judge.errors import ConfigError
from judge.inputs import Item, make_item
from judge.local import is_local
from judge.prompts import render_prompt, response_model, template_hash
from judge.records import build_record, judgments_from_call, unscored_all
from judge.rubric import load_rubric, rubric_hash

__all__ = ["NO_JUDGE", "RunOptions", "Scorer"]

NO_JUDGE = (
    "no judge configured: pass --judge MODEL (e.g. openai/gpt-4o-mini with OPENAI_API_KEY set, "
    "or any OpenAI-compatible server with --api-base URL)"
)

Aggregate = Literal["auto", "mean", "median", "majority"]


@dataclass
class RunOptions:
    """How to judge: everything except what and where."""

    judges: list[str] = field(default_factory=list)
    api_base: str | None = None
    mode: str = "tools"
    concurrency: int = 16
    timeout: float = 120.0
    attempts: int = 4
    validation_retries: int = 2
    temperature: float | None = 0.0
    max_tokens: int | None = None
    seed: int | None = None
    # K judgments per judge and item; with temperature > 0 their spread is reported.
    samples: int = 1
    # How a panel's judgments become one score (auto: mean for ordinal, majority otherwise).
    aggregate: Aggregate = "auto"
    # Calls in flight per judge (key: a judge's full name) or per provider (key: the prefix
    # before "/", shared by that provider's judges), on top of `concurrency` overall.
    judge_concurrency: dict[str, int] = field(default_factory=dict)
    # Stop starting items before this many USD would be spent (needs known prices).
    max_cost: float | None = None
    id_field: str = "title"
    # Slice the run's summary by this case metadata field (modality, icd10_chapter, …).
    by: str | None = None
    skip_invalid: bool = False
    retry_unscored: bool = False
    cache: bool | str | Path = True

    def params(self) -> dict[str, Any]:
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return {k: v for k, v in values.items() if v is not None}

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError("--samples must be at least 1")
        if self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")


@dataclass(frozen=True)
class _Prepared:
    """What a rubric needs per call, computed once per rubric."""

    rubric: Rubric
    hash: str
    model: type[BaseModel]


class Scorer:
    """Judges items with one set of judges, one engine (limits, retries, dedupe) and one cache.

    Use as an async context manager: local judges are started on entry and stopped on exit.
    `complete` replaces the litellm completion function (tests, custom clients).
    """

    def __init__(self, options: RunOptions | None = None, complete: CompleteFn | None = None):
        self.options = options or RunOptions()
        self.notices: list[str] = []
        self.judges: list[JudgeSpec] = []
        self.prompt_hash = template_hash()
        self._complete = complete
        self._stack = contextlib.AsyncExitStack()
        self._prepared: dict[object, _Prepared] = {}
        self.engine: Engine | None = None

    async def __aenter__(self) -> Scorer:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self, needs_judges: bool = True) -> None:
        """Open the cache and the judges (starting local ones). `needs_judges=False` when no
        rubric in use asks an LLM, so no local server is started for nothing."""
        opts = self.options
        cache = _open_cache(opts.cache)
        if cache is not None:
            self._stack.callback(cache.close)
        complete = self._complete
        if needs_judges:
            self.judges, complete = await _open_judges(self._stack, opts, complete, self.notices)
        self.engine = Engine(
            complete or _no_complete,
            cache=cache,
            concurrency=opts.concurrency,
            policy=RetryPolicy(attempts=opts.attempts, timeout=opts.timeout),
        )

    async def close(self) -> None:
        await self._stack.aclose()

    @property
    def judge_names(self) -> list[str]:
        return sorted(j.name for j in self.judges)

    def prepare(self, rubric: str | Path | Rubric) -> _Prepared:
        """A rubric with its hash and response model, made once per rubric object or name
        (an entry holds its rubric, so an object's id cannot be reused while cached)."""
        key: object = id(rubric) if isinstance(rubric, Rubric) else str(rubric)
        found = self._prepared.get(key)
        if found is None or (isinstance(rubric, Rubric) and found.rubric is not rubric):
            the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
            found = _Prepared(the_rubric, rubric_hash(the_rubric), response_model(the_rubric))
            self._prepared[key] = found
        return found

    async def score(
        self,
        prediction: dict[str, Any] | Prediction,
        rubric: str | Path | Rubric = "ddx",
        *,
        item_id: str | None = None,
    ) -> ResultRecord:
        """Score one prediction (a dict in the predictions-file shape, or a Prediction).

        Its id is `item_id`, else its `id_field` value. Raises InputError naming the field
        when the prediction is not valid.
        """
        found = make_item(prediction, self.options.id_field, item_id=item_id)
        return await self.score_item(found, rubric)

    def estimate(self, item: Item, rubric: str | Path | Rubric) -> Estimate:
        """What judging `item` would cost: calls, cache hits, tokens, USD (see judge.budget)."""
        if self.engine is None:
            raise RuntimeError("open the Scorer first (async with Scorer(...) as scorer)")
        prep = self.prepare(rubric)
        prompt = render_prompt(prep.rubric, item.prediction)
        total = Estimate()
        if prompt is None or not prep.rubric.llm_criteria:
            return total
        from judge import llm

        schema = json.dumps(prep.model.model_json_schema())
        # The response schema travels with the prompt (as a tool or a response format).
        sent = [*prompt.messages, {"role": "system", "content": schema}]
        reply = REPLY_TOKENS_PER_CRITERION * len(prep.rubric.llm_criteria)
        if self.options.max_tokens:
            reply = min(reply, self.options.max_tokens)
        for judge in self.judges:
            tokens_in = llm.count_tokens(judge.model, sent)
            price = 0.0 if is_local(judge.model) else llm.call_price(judge.model, tokens_in, reply)
            for k in range(self.options.samples):
                one = Estimate(calls=1)
                if self.engine.is_cached(judge, prompt.messages, prep.model, k):
                    one.cached = 1
                else:
                    one.tokens_in, one.tokens_out, one.cost_usd = tokens_in, reply, price
                    if price is None:
                        one.unpriced.add(judge.name)
                total.add(one)
        return total

    async def score_item(self, item: Item, rubric: str | Path | Rubric) -> ResultRecord:
        """Score one validated item: computed criteria, then every judge × sample."""
        if self.engine is None:
            raise RuntimeError("open the Scorer first (async with Scorer(...) as scorer)")
        prep = self.prepare(rubric)
        the_rubric = prep.rubric
        judgments: list[Judgment] = [
            score_deterministic(c, item.prediction)
            for c in the_rubric.criteria
            if c.method != "llm"
        ]
        calls = []
        prompt = render_prompt(the_rubric, item.prediction)
        if the_rubric.llm_criteria:
            if not self.judges:
                judgments += unscored_all(the_rubric, "none", "no judge configured", True)
            elif prompt is None:
                reason = f"no text to judge at {' or '.join(the_rubric.target)}"
                for judge in self.judges:
                    judgments += unscored_all(the_rubric, judge.name, reason, retryable=False)
            else:
                asks = [(j, k) for j in self.judges for k in range(self.options.samples)]
                results = await asyncio.gather(
                    *(self.engine.call(j, prompt.messages, prep.model, k) for j, k in asks)
                )
                for (judge, k), result in zip(asks, results, strict=True):
                    judgments += judgments_from_call(the_rubric, judge.name, result, k)
                    calls.append(result.usage)
        return build_record(
            item_id=item.id,
            line=item.line,
            rubric=the_rubric,
            rubric_hash=prep.hash,
            prompt_hash=self.prompt_hash,
            judges=[j.name for j in self.judges],
            judgments=judgments,
            calls=calls,
            judged_field=prompt.judged_field if prompt else None,
            meta=item.prediction.metadata(),
            method=self.options.aggregate,
        )


async def _open_judges(
    stack: contextlib.AsyncExitStack,
    opts: RunOptions,
    complete: CompleteFn | None,
    notices: list[str],
) -> tuple[list[JudgeSpec], CompleteFn | None]:
    """Judge specs and one completion function routing each judge to its endpoint."""
    if not opts.judges:
        notices.append(NO_JUDGE + "; only criteria that need no LLM are scored")
        return [], complete
    if len(set(opts.judges)) != len(opts.judges):
        raise ConfigError("each --judge may be given once")
    if complete is not None:
        return [_spec(m, opts, None) for m in opts.judges], complete
    from judge import llm

    stack.push_async_callback(llm.close_clients)
    routes: dict[str, CompleteFn] = {}
    judges = []
    for model in opts.judges:
        route = await _route(stack, model, opts, notices)
        if route is not None:
            routes[model], max_concurrency = route
            judges.append(_spec(model, opts, max_concurrency))
    if not judges:
        return [], None

    async def router(*, model: str, **kwargs: Any) -> Completion:
        return await routes[model](model=model, **kwargs)

    return judges, router


async def _route(
    stack: contextlib.AsyncExitStack, model: str, opts: RunOptions, notices: list[str]
) -> tuple[CompleteFn, int | None] | None:
    """One judge's completion function and its own concurrency bound, or None (with a
    notice) when it cannot be called as configured."""
    from judge import llm, local

    if local.is_local(model):
        # Started here, stopped when the exit stack closes (also on error or Ctrl-C).
        endpoint = await stack.enter_async_context(local.local_judge(model))
        inner = llm.litellm_complete(
            api_base=endpoint.api_base,
            api_key=endpoint.api_key,
            mode=endpoint.mode,
            acompletion=endpoint.wrap(llm.litellm_acompletion()),
            max_validation_retries=opts.validation_retries,
        )

        async def local_complete(*, model: str, **kwargs: Any) -> Completion:
            # Records and the cache name the judge by its spec; the server knows an alias.
            return await inner(model=endpoint.model, **kwargs)

        return local_complete, endpoint.max_concurrency
    problem = llm.check_judge_configured(model, opts.api_base)
    if problem:
        notices.append(f"judge {model} is not used: {problem}")
        return None
    complete = llm.litellm_complete(
        api_base=opts.api_base, mode=opts.mode, max_validation_retries=opts.validation_retries
    )
    return complete, None


def _spec(model: str, opts: RunOptions, server_bound: int | None) -> JudgeSpec:
    """A judge with its own bound (the tighter of --judge-concurrency and its server's)."""
    provider = model.split("/", 1)[0]
    limits = opts.judge_concurrency
    unknown = sorted(k for k in limits if k not in opts.judges and "/" in k)
    if unknown:
        raise ConfigError(f"--judge-concurrency names judges not in the panel: {unknown}")
    bound, group = limits.get(model), model
    if bound is None and provider in limits:
        bound, group = limits[provider], f"provider:{provider}"
    if server_bound is not None and (bound is None or server_bound < bound):
        bound, group = server_bound, model
    return JudgeSpec(model, opts.params(), bound, group)


def _open_cache(setting: bool | str | Path) -> Cache | None:
    if setting is False:
        return None
    return Cache(default_cache_path() if setting is True else setting)


async def _no_complete(**_: Any) -> Completion:
    raise AssertionError("no judge is configured, so no call is made")
