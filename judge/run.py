"""A scoring run, end to end: load → judge → aggregate → write.

`score()` and `ascore()` are the Python API behind `judge score`. Input is validated in full
before any judge is called; results are appended as each item finishes; a rerun with the same
output file keeps what is final and judges only the rest (the call cache makes even those
free when a call had finished before the run stopped).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from judge.contracts import Prediction, ResultRecord, Rubric
from judge.engine import CompleteFn
from judge.errors import InputError
from judge.inputs import iter_items, validate_items
from judge.results import ResultsWriter, iter_records
from judge.rubric import load_rubric
from judge.scorer import NO_JUDGE, RunOptions, Scorer
from judge.summary import Summary, SummaryBuilder

__all__ = ["NO_JUDGE", "Progress", "RunOptions", "RunResult", "ascore", "score"]

Source = str | Path | Iterable[dict[str, Any] | Prediction]


class Progress(Protocol):
    """Receives a run's progress (the CLI draws a bar from it)."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, record: ResultRecord) -> None: ...


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
    scorer = Scorer(opts, complete)
    # A rubric with no LLM criterion (twi) needs no judge: none is started or asked for.
    await scorer.open(needs_judges=bool(the_rubric.llm_criteria))
    try:
        result = await _Job(the_rubric, scorer).run(predictions, out, progress, report.n_valid)
    finally:
        await scorer.close()
    result.skipped = report.problems
    return result


class _Job:
    """One run's state: the rubric, the scorer, and what has been written."""

    def __init__(self, rubric: Rubric, scorer: Scorer):
        self.rubric = rubric
        self.scorer = scorer
        self.opts = scorer.options
        self.rubric_hash = scorer.prepare(rubric).hash
        self.summary = SummaryBuilder(rubric)

    def keep(self, record: dict[str, Any]) -> bool:
        """Whether an earlier run's record is final for this run (else it is redone)."""
        judgments = record.get("judgments") or []
        return (
            record.get("rubric", {}).get("hash") == self.rubric_hash
            and record.get("prompt_hash") == self.scorer.prompt_hash
            and sorted(record.get("judges") or []) == self.scorer.judge_names
            and not any(j.get("retryable") for j in judgments)
            and not (self.opts.retry_unscored and record.get("status") != "scored")
        )

    async def run(
        self, source: Source, out: str | Path | None, progress: Progress | None, n_valid: int
    ) -> RunResult:
        writer = ResultsWriter(out, self.keep) if out is not None else None
        done = writer.open() if writer else set()
        records: list[ResultRecord] = []
        judged = 0
        try:
            if writer is not None and done:
                for old in iter_records(writer.path):
                    self.summary.add(old)
            if progress:
                progress.start(total=n_valid, done=len(done))
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
        assert self.scorer.engine is not None
        return RunResult(
            summary=self.summary.build(),
            out=writer.path if writer else None,
            records=records,
            skipped=[],
            notices=self.scorer.notices,
            resumed=len(done),
            judged=judged,
            peak_in_flight=self.scorer.engine.stats.peak_in_flight,
        )

    async def _judge_all(self, source: Source, done: set[str]) -> AsyncIterator[ResultRecord]:
        """Judge every valid item not already done, a bounded number at a time."""
        window = max(self.opts.concurrency * 2, 4)
        pending: set[asyncio.Task[ResultRecord]] = set()
        try:
            for item in iter_items(source, self.opts.id_field):
                if isinstance(item, InputError) or item.id in done:
                    continue
                pending.add(asyncio.create_task(self.scorer.score_item(item, self.rubric)))
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
