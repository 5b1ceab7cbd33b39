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
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from judge.aggregate.case_scores import judge_case_items
from judge.aggregate.measures import measure_judgments
from judge.aggregate.records import build_record, judgments_from_call, unscored_all
from judge.contracts import CallUsage, Judgment, Prediction, ResultRecord, Rubric, RubricItem
from judge.contracts.case_keys import CaseKey
from judge.judging.budget import REPLY_TOKENS_PER_CRITERION, REPLY_TOKENS_PER_UNIT, Estimate
from judge.judging.case_items import ItemVerdict, conversation, item_messages
from judge.judging.deterministic import score_deterministic, settle_computed
from judge.judging.engine import CompleteFn, Completion, Engine, JudgeSpec, RetryPolicy
from judge.judging.images import Sight, encode_images
from judge.judging.panel import NO_JUDGE, open_judges
from judge.judging.prepared import PlannedCall, Prepared
from judge.judging.prompts import (
    render_prompt,
    render_stage_prompt,
    target_text,
    wants_images,
)
from judge.judging.providers.local import is_local
from judge.judging.scheduler import Scheduler
from judge.judging.sentences import fit_units, split_sentences
from judge.judging.stages import StageOutcome, run_stages
from judge.load.cases import cases_or_none
from judge.load.images import ImageRoot
from judge.load.inputs import Item, make_item
from judge.load.keys import keys_needed, keys_or_none
from judge.load.rubric import load_rubric
from judge.options import RunOptions, Use
from judge.store.cache import open_cache

__all__ = ["NO_JUDGE", "RunOptions", "Scorer"]

# The scorer's own short names for what judge.judging.prepared holds.
_Call = PlannedCall
_Prepared = Prepared


class Scorer:
    """Judges items with one set of judges, one engine (limits, retries, dedupe) and one cache.

    Use as an async context manager: local judges are started on entry and stopped on exit.
    `complete` replaces the litellm completion function (tests, custom clients). `use` is the
    front end driving it: an option that does not apply there is refused (a ConfigError).
    Items run through `scheduler`, which bounds how many are in flight at once.
    """

    def __init__(
        self,
        options: RunOptions | None = None,
        complete: CompleteFn | None = None,
        *,
        use: Use = "scorer",
    ):
        self.options = options or RunOptions()
        self.options.check_use(use)
        # The dataset's rows that items are joined to (`cases`), loaded once per file version.
        self.cases = cases_or_none(self.options.cases, self.options.id_field)
        # Each case's key (`keys`): shown to rubrics that list key items, judged by `keys`.
        self.keys = keys_or_none(self.options.keys)
        self.scheduler = Scheduler.for_calls(self.options.concurrency)
        self.notices: list[str] = []
        self.judges: list[JudgeSpec] = []
        self._complete = complete
        self._stack = contextlib.AsyncExitStack()
        self._prepared: dict[object, _Prepared] = {}
        self.engine: Engine | None = None
        # The folder `--images` names (None: no image files, captions only).
        self.images = ImageRoot.of(self.options.images)
        self._vision: frozenset[str] | None = None

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
        cache = open_cache(opts.cache, self.notices)
        if cache is not None:
            self._stack.callback(cache.close)
        complete = self._complete
        if needs_judges:
            self.judges, complete = await open_judges(self._stack, opts, complete, self.notices)
        self.engine = Engine(
            complete or _no_complete,
            cache=cache,
            concurrency=opts.concurrency,
            policy=RetryPolicy(attempts=opts.attempts, timeout=opts.timeout),
        )
        self._stack.push_async_callback(self.engine.close)  # LIFO: before the cache closes,
        self._stack.push_async_callback(self.scheduler.close)  # each even if one is cancelled

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
            found = _Prepared.of(the_rubric, keyed=self.keys is not None)
            self._prepared[key] = found
            if found.shows_images and self.images is None:
                self._notice(
                    f"rubric {found.rubric.id} shows the case's images, but no --images DIR "
                    "was given: the judges see the captions only"
                )
        return found

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    async def score(
        self,
        prediction: dict[str, Any] | Prediction,
        rubric: str | Path | Rubric = "ddx",
        *,
        item_id: str | None = None,
    ) -> ResultRecord:
        """Score one prediction (a dict in the predictions-file shape, or a Prediction).

        Its id is `item_id`, else its `id_field` value; with the `cases` option it needs only
        that id and the outputs. Raises InputError naming the field when it is not valid.
        """
        prep = self.prepare(rubric)
        found = make_item(
            prediction,
            self.options.id_field,
            item_id=item_id,
            cases=self.cases,
            images=self.images,
            fmt=self.options.format,
            rubric=prep.rubric,
        )
        async with self.scheduler.slot():
            return await self.score_item(found, rubric)

    def case_key(self, item: Item, rubric: Rubric) -> CaseKey | None:
        """The key `rubric` is judged with for `item` (None: it uses none, or no keys were
        given); an InputError when the case has no key or changed since its key was built."""
        if not rubric.uses_keys:
            return None
        if self.keys is None:
            if rubric.items == "key":
                raise keys_needed(rubric)
            return None
        return self.keys.key_for(item.id, item.prediction, "<item>", item.line)

    def key_hash(self, item_id: str, rubric: Rubric) -> str | None:
        """The hash of the key `rubric` would be judged with for case `item_id` (None: none),
        which a kept record must carry."""
        key = self.keys.key(item_id) if self.keys is not None and rubric.uses_keys else None
        return key.key_hash() if key else None

    def estimate(self, item: Item, rubric: str | Path | Rubric) -> Estimate:
        """What judging `item` would cost: calls, cache hits, tokens, USD (judge.judging.budget)."""
        return self.estimate_calls(self._planned(self.prepare(rubric), item))

    def estimate_calls(self, calls: Iterable[PlannedCall]) -> Estimate:
        """What `calls` would cost: cache hits are free, the rest priced (judge.judging.budget)."""
        if self.engine is None:
            raise RuntimeError("open the Scorer first (async with Scorer(...) as scorer)")
        from judge.judging.providers import llm

        total = Estimate()
        for call in calls:
            one = Estimate(calls=1)
            if self.engine.is_cached(call.judge, call.messages, call.model, call.sample):
                one.cached = 1
                total.add(one)
                continue
            # The response schema travels with the prompt (as a tool or a response format).
            schema = json.dumps(call.model.model_json_schema())
            sent = [*call.messages, {"role": "system", "content": schema}]
            one.tokens_in = llm.count_tokens(call.judge.model, sent)
            one.tokens_out = call.reply_tokens
            if self.options.max_tokens:
                one.tokens_out = min(one.tokens_out, self.options.max_tokens)
            model = call.judge.model
            price = 0.0 if is_local(model) else llm.call_price(model, one.tokens_in, one.tokens_out)
            one.cost_usd = price
            if price is None:
                one.unpriced.add(call.judge.name)
            total.add(one)
        return total

    def _planned(self, prep: _Prepared, item: Item) -> list[_Call]:
        """The calls judging `item` would make. For a multi-stage rubric, later stages are
        planned on the sentence split, since the real units are known only once made."""
        the_rubric, judges, k = prep.rubric, self.judges, range(self.options.samples)
        text = target_text(the_rubric, item.prediction)[1]
        if not judges or text is None:
            return []
        key = self.case_key(item, the_rubric)
        if the_rubric.items:
            convo = conversation(the_rubric, item.prediction, text)
            return [
                _Call(j, item_messages(convo, it), ItemVerdict, s, REPLY_TOKENS_PER_CRITERION)
                for it in _items(item, key)
                for j in judges
                for s in k
            ]
        sight = self.sight(prep, item)
        if not the_rubric.stages:
            prompt = render_prompt(the_rubric, item.prediction, key)
            reply = REPLY_TOKENS_PER_CRITERION * len(the_rubric.llm_criteria)
            if prompt is None or not the_rubric.llm_criteria:
                return []
            return [
                _Call(j, sight.messages(prompt.messages, j.name), prep.model, s, reply)
                for j in judges
                for s in k
            ]
        sentences = split_sentences(text)
        calls, splitter = [], min(judges, key=lambda j: j.name)
        for stage in the_rubric.stages:
            seg = the_rubric.stage(stage.per) if stage.per else stage
            units = fit_units(sentences, seg.max_units)
            model = prep.stage_models[stage.id]
            seen = sight if wants_images(the_rubric, stage) else Sight()
            if stage.kind == "segment":
                prompt = render_stage_prompt(the_rubric, stage, item.prediction)
                reply = REPLY_TOKENS_PER_UNIT * len(units)
                if prompt is not None:
                    sent = seen.messages(prompt.messages, splitter.name)
                    calls.append(_Call(splitter, sent, model, 0, reply))
                continue
            prompt = render_stage_prompt(the_rubric, stage, item.prediction, units)
            reply = REPLY_TOKENS_PER_CRITERION * len(units)
            if prompt is not None:
                calls += [
                    _Call(j, seen.messages(prompt.messages, j.name), model, s, reply)
                    for j in judges
                    for s in k
                ]
        return calls

    def sight(self, prep: _Prepared, item: Item) -> Sight:
        """The item's images (downscaled, within the per-call budget) and the judges that are
        sent them, when the rubric shows images and `--images` finds the case's files."""
        if self.images is None or not self._sees(prep):
            return Sight()
        found = self.images.images(item.prediction)
        if not found:
            return Sight()
        if self._vision is None:  # asked once, when a call would first carry images
            from judge.judging.providers.vision import supports_vision

            self._vision = frozenset(j.name for j in self.judges if supports_vision(j.model))
            if not self._vision:
                self._notice(
                    "no judge is one litellm reports as supporting vision: the judges see "
                    "the captions, not the images"
                )
        if not self._vision:
            return Sight()
        return Sight(encode_images(found), self._vision)

    def _sees(self, prep: _Prepared) -> bool:
        """Whether this rubric's calls may carry images (before the case's files are looked
        at): it shows them, `--images` names a folder, and there are judges to send them to."""
        return self.images is not None and prep.shows_images and bool(self.judges)

    async def score_item(self, item: Item, rubric: str | Path | Rubric) -> ResultRecord:
        """Score one validated item: computed criteria, then every judge × sample (stage by
        stage for a multi-stage rubric)."""
        if self.engine is None:
            raise RuntimeError("open the Scorer first (async with Scorer(...) as scorer)")
        prep = self.prepare(rubric)
        the_rubric = prep.rubric
        key = self.case_key(item, the_rubric)
        judgments: list[Judgment] = [
            score_deterministic(c, item.prediction)
            for c in the_rubric.criteria
            if c.method not in ("llm", "measure", "case_items")
        ]
        # Pillow's decoding and resizing run off the event loop (serve answers meanwhile);
        # without images there is nothing to do, and no thread is asked.
        sight = await asyncio.to_thread(self.sight, prep, item) if self._sees(prep) else Sight()
        tags: dict[str, float | None] = {}
        if the_rubric.items:
            assert self.engine is not None
            found, calls, tags = await judge_case_items(
                self.engine,
                self.judges,
                self.options,
                the_rubric,
                item.prediction,
                _items(item, key),
            )
            judgments += found
            segments = {}
        elif the_rubric.stages:
            staged = await self._staged(prep, item, sight)
            judgments += staged.judgments
            calls, segments = staged.calls, staged.segments
        else:
            found, calls = await self._single(prep, item, sight, key)
            judgments += settle_computed(the_rubric, item.prediction, found)
            segments = {}
        return build_record(
            item_id=item.id,
            line=item.line,
            rubric=the_rubric,
            rubric_hash=prep.hash,
            prompt_hash=prep.prompt_hash,
            judges=[j.name for j in self.judges],
            judgments=judgments,
            calls=calls,
            judged_field=target_text(the_rubric, item.prediction)[0]
            if the_rubric.needs_judges
            else None,
            meta=item.prediction.metadata(),
            method=self.options.aggregate,
            segments=segments,
            saw_images=sorted(sight.saw),
            tag_scores=tags,
            key=key,
        )

    async def _single(
        self, prep: _Prepared, item: Item, sight: Sight, key: CaseKey | None
    ) -> tuple[list[Judgment], list[CallUsage]]:
        """A one-call rubric: every judge × sample answers all LLM criteria at once."""
        assert self.engine is not None
        the_rubric = prep.rubric
        if not the_rubric.llm_criteria:
            return [], []
        if not self.judges:
            return unscored_all(the_rubric, "none", "no judge configured", True), []
        prompt = render_prompt(the_rubric, item.prediction, key)
        if prompt is None:
            reason = f"no text to judge at {' or '.join(the_rubric.target)}"
            return [
                j
                for judge in self.judges
                for j in unscored_all(the_rubric, judge.name, reason, False)
            ], []
        asks = [(j, k) for j in self.judges for k in range(self.options.samples)]
        results = await asyncio.gather(
            *(
                self.engine.call(j, sight.messages(prompt.messages, j.name), prep.model, k)
                for j, k in asks
            )
        )
        judgments: list[Judgment] = []
        for (judge, k), result in zip(asks, results, strict=True):
            judgments += judgments_from_call(the_rubric, judge.name, result, k)
        return judgments, [r.usage for r in results]

    async def _staged(self, prep: _Prepared, item: Item, sight: Sight) -> StageOutcome:
        """A multi-stage rubric: the stages' per-unit judgments, then the measures."""
        assert self.engine is not None
        the_rubric = prep.rubric
        if not self.judges:
            outcome = StageOutcome(problem="no judge configured", retryable=True)
        elif target_text(the_rubric, item.prediction)[1] is None:
            outcome = StageOutcome(problem=f"no text to judge at {' or '.join(the_rubric.target)}")
        else:
            outcome = await run_stages(
                self.engine,
                self.judges,
                self.options.samples,
                the_rubric,
                prep.stage_models,
                item.prediction,
                sight,
            )
        measured = measure_judgments(
            the_rubric,
            outcome.judgments,
            outcome.segments,
            self.options.aggregate,
            outcome.problem,
            prediction=item.prediction,
        )
        if outcome.retryable:
            measured = [
                m.model_copy(update={"retryable": m.status == "unscored"}) for m in measured
            ]
        outcome.judgments += measured
        return outcome


def _items(item: Item, key: CaseKey | None) -> list[RubricItem]:
    """The checklist a rubric with `items:` judges: the case key's, else the case's own."""
    return key.rubric_items() if key is not None else list(item.prediction.rubrics or [])


async def _no_complete(**_: Any) -> Completion:
    raise AssertionError("no judge is configured, so no call is made")
