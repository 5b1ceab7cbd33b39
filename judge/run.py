"""A scoring run, end to end: load → judge → aggregate → write.

`score()` and `ascore()` are the Python API behind `judge score`. Input is validated in full
before any judge is called; results are appended as each item finishes; a rerun with the same
output file keeps what is final and judges only the rest (the call cache makes even those
free when a call had finished before the run stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from judge.cache import Cache, default_cache_path
from judge.contracts import Judgment, Prediction, ResultRecord, Rubric
from judge.deterministic import score_deterministic
from judge.engine import CompleteFn, Completion, Engine, JudgeSpec, RetryPolicy
from judge.errors import ConfigError, InputError
from judge.inputs import Item, iter_items, validate_items
from judge.prompts import render_prompt, response_model, template_hash
from judge.records import build_record, judgments_from_call, unscored_all
from judge.results import ResultsWriter, iter_records
from judge.rubric import load_rubric, rubric_hash
from judge.summary import Summary, SummaryBuilder

__all__ = ["Progress", "RunOptions", "RunResult", "ascore", "score"]

NO_JUDGE = (
    "no judge configured: pass --judge MODEL (e.g. openai/gpt-4o-mini with OPENAI_API_KEY set, "
    "or any OpenAI-compatible server with --api-base URL)"
)

Source = str | Path | Iterable[dict[str, Any] | Prediction]


class Progress(Protocol):
    """Receives a run's progress (the CLI draws a bar from it)."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, record: ResultRecord) -> None: ...


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
    id_field: str = "title"
    skip_invalid: bool = False
    retry_unscored: bool = False
    cache: bool | str | Path = True

    def params(self) -> dict[str, Any]:
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return {k: v for k, v in values.items() if v is not None}


@dataclass
class RunResult:
    """What a run produced. `records` holds this call's records only when no `out` was given
    (with an output file, read them back with `judge.results.iter_records(out)`)."""

    summary: Summary
    out: Path | None
    records: list[ResultRecord]
    skipped: list[InputError]
    notices: list[str]
    resumed: int = 0
    judged: int = 0
    peak_in_flight: int = 0


def score(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
    complete: CompleteFn | None = None,
    **options: Any,
) -> RunResult:
    """Score predictions against a rubric (blocking). See `ascore` for the arguments."""
    return asyncio.run(
        ascore(predictions, rubric, out=out, progress=progress, complete=complete, **options)
    )


async def ascore(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
    complete: CompleteFn | None = None,
    **options: Any,
) -> RunResult:
    """Score predictions against a rubric with the configured judges.

    `predictions` is a JSONL path or an iterable of dicts/Predictions; `rubric` a built-in
    id, a YAML path or a Rubric; `options` are RunOptions fields (`judges`, `api_base`,
    `concurrency`, …). `complete` replaces the litellm completion function (for tests and
    custom clients).
    """
    opts = RunOptions(**options)
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    report = validate_items(predictions, opts.id_field)
    if report.problems and not opts.skip_invalid:
        first = report.problems[0]
        more = len(report.problems) - 1
        if more:
            first.args = (f"{first.args[0]} (and {more} more; --skip-invalid scores the rest)",)
        raise first
    async with contextlib.AsyncExitStack() as stack:
        notices: list[str] = []
        judges, complete = await _open_judges(stack, opts, complete, the_rubric, notices)
        cache = _open_cache(opts.cache)
        if cache is not None:
            stack.callback(cache.close)
        engine = Engine(
            complete or _no_complete,
            cache=cache,
            concurrency=opts.concurrency,
            policy=RetryPolicy(attempts=opts.attempts, timeout=opts.timeout),
        )
        job = _Job(the_rubric, engine, judges, opts, notices)
        result = await job.run(predictions, out, progress, report.n_valid)
        result.skipped = report.problems
        return result


class _Job:
    """One run's state: the rubric, the judges, the engine, and what has been written."""

    def __init__(
        self,
        rubric: Rubric,
        engine: Engine,
        judges: list[JudgeSpec],
        opts: RunOptions,
        notices: list[str],
    ):
        self.rubric = rubric
        self.engine = engine
        self.judges = judges
        self.opts = opts
        self.notices = notices
        self.rubric_hash = rubric_hash(rubric)
        self.prompt_hash = template_hash()
        self.model: type[BaseModel] = response_model(rubric)
        self.summary = SummaryBuilder(rubric)

    def keep(self, record: dict[str, Any]) -> bool:
        """Whether an earlier run's record is final for this run (else it is redone)."""
        judgments = record.get("judgments") or []
        return (
            record.get("rubric", {}).get("hash") == self.rubric_hash
            and record.get("prompt_hash") == self.prompt_hash
            and sorted(record.get("judges") or []) == sorted(j.name for j in self.judges)
            and not any(j.get("retryable") for j in judgments)
            and not (self.opts.retry_unscored and record.get("status") != "scored")
        )

    async def run(
        self, source: Source, out: str | Path | None, progress: Progress | None, n_valid: int
    ) -> RunResult:
        writer = ResultsWriter(out, self.keep) if out is not None else None
        done = writer.open() if writer else set()
        records: list[ResultRecord] = []
        try:
            if writer is not None and done:
                for old in iter_records(writer.path):
                    self.summary.add(old)
            if progress:
                progress.start(total=n_valid, done=len(done))
            judged = 0
            async for record in self._judge_all(source, done):
                judged += 1
                self.summary.add(record)
                if writer is not None:
                    writer.write(record)
                else:
                    records.append(record)
                if progress:
                    progress.advance(record)
        finally:
            if writer is not None:
                writer.close()
        return RunResult(
            summary=self.summary.build(),
            out=writer.path if writer else None,
            records=records,
            skipped=[],
            notices=self.notices,
            resumed=len(done),
            judged=judged,
            peak_in_flight=self.engine.stats.peak_in_flight,
        )

    async def _judge_all(self, source: Source, done: set[str]) -> AsyncIterator[ResultRecord]:
        """Judge every valid item not already done, a bounded number at a time."""
        window = max(self.opts.concurrency * 2, 4)
        pending: set[asyncio.Task[ResultRecord]] = set()
        try:
            for item in iter_items(source, self.opts.id_field):
                if isinstance(item, InputError) or item.id in done:
                    continue
                pending.add(asyncio.create_task(self._judge_item(item)))
                if len(pending) >= window:
                    finished, pending = await asyncio.wait(
                        pending, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in finished:
                        yield task.result()
            while pending:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()

    async def _judge_item(self, item: Item) -> ResultRecord:
        judgments: list[Judgment] = [
            score_deterministic(c, item.prediction)
            for c in self.rubric.criteria
            if c.method != "llm"
        ]
        calls = []
        prompt = render_prompt(self.rubric, item.prediction)
        if self.rubric.llm_criteria:
            if not self.judges:
                judgments += unscored_all(
                    self.rubric, "none", "no judge configured", retryable=True
                )
            elif prompt is None:
                reason = f"no text to judge at {' or '.join(self.rubric.target)}"
                for judge in self.judges:
                    judgments += unscored_all(self.rubric, judge.name, reason, retryable=False)
            else:
                results = await asyncio.gather(
                    *(self.engine.call(judge, prompt.messages, self.model) for judge in self.judges)
                )
                for judge, result in zip(self.judges, results, strict=True):
                    judgments += judgments_from_call(self.rubric, judge.name, result)
                    calls.append(result.usage)
        return build_record(
            item_id=item.id,
            line=item.line,
            rubric=self.rubric,
            rubric_hash=self.rubric_hash,
            prompt_hash=self.prompt_hash,
            judges=[j.name for j in self.judges],
            judgments=judgments,
            calls=calls,
            judged_field=prompt.judged_field if prompt else None,
        )


async def _open_judges(
    stack: contextlib.AsyncExitStack,
    opts: RunOptions,
    complete: CompleteFn | None,
    rubric: Rubric,
    notices: list[str],
) -> tuple[list[JudgeSpec], CompleteFn | None]:
    """Judge specs and one completion function routing each judge to its endpoint."""
    if not opts.judges or not rubric.llm_criteria:
        if rubric.llm_criteria:
            notices.append(NO_JUDGE + "; only criteria that need no LLM are scored")
        return [], complete
    if len(set(opts.judges)) != len(opts.judges):
        raise ConfigError("each --judge may be given once")
    if complete is not None:
        return [JudgeSpec(m, opts.params()) for m in opts.judges], complete
    from judge import llm

    stack.push_async_callback(llm.close_clients)
    routes: dict[str, CompleteFn] = {}
    judges = []
    for model in opts.judges:
        route = await _route(stack, model, opts, notices)
        if route is not None:
            routes[model], max_concurrency = route
            judges.append(JudgeSpec(model, opts.params(), max_concurrency))
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
        # Started here, stopped when the run's exit stack closes (also on error or Ctrl-C).
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


def _open_cache(setting: bool | str | Path) -> Cache | None:
    if setting is False:
        return None
    return Cache(default_cache_path() if setting is True else setting)


async def _no_complete(**_: Any) -> Completion:
    raise AssertionError("no judge is configured, so no call is made")
