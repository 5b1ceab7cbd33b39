"""A scoring run, end to end: load → judge → aggregate → write.

`score()` and `ascore()` are the Python API behind `judge score`. Input is validated in full
before any judge is called; results are appended as each item finishes; a rerun with the same
output file keeps what is final and judges only the rest (the call cache makes even those
free when a call had finished before the run stopped).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from judge.aggregate.summary import Summary, SummaryBuilder
from judge.contracts import Prediction, ResultRecord, Rubric
from judge.errors import ConfigError, InputError
from judge.judging.budget import Budget, Estimate
from judge.judging.case_items import ITEM_CRITERION
from judge.judging.engine import CompleteFn, Completion
from judge.judging.heap import frozen_heap
from judge.judging.scheduler import run_blocking
from judge.load.cases import cases_or_none
from judge.load.images import ImageRoot
from judge.load.inputs import InputReport, Item, run_items, validate_items
from judge.load.keys import Keys, run_keys
from judge.load.rubric import load_rubric
from judge.options import RunOptions
from judge.scorer import NO_JUDGE, Scorer
from judge.store.idset import IdSet
from judge.store.results import ResultsWriter, iter_records, kept_ids
from judge.store.sent_params import params_changed

__all__ = [
    "NO_JUDGE",
    "Plan",
    "Progress",
    "RunOptions",
    "RunResult",
    "aplan",
    "ascore",
    "plan",
    "score",
]

# The notice of a --limit run (a trial run): what was left, and how to judge it.
LIMITED = "--limit {n}: only the first {n} valid items are judged; rerun without it for the rest"
Source = str | Path | Iterable[dict[str, Any] | Prediction]


class Progress(Protocol):
    """Receives a run's progress (the CLI draws a bar from it)."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, record: ResultRecord) -> None: ...


@dataclass
class RunResult:
    """What a run produced. `records` holds this call's records only when no `out` was given
    (with an output file, read them back with `judge.store.results.iter_records(out)`)."""

    summary: Summary
    out: Path | None
    records: list[ResultRecord]
    skipped: list[InputError]
    notices: list[str]
    resumed: int = 0
    judged: int = 0
    peak_in_flight: int = 0
    # Why the run ended before every item was judged (a --max-cost budget), or None.
    stopped: str | None = None
    # What a calibration on record must match to hold for these results (calibration/record).
    rubric_hash: str = ""
    prompt_hash: str = ""
    judges: list[str] = field(default_factory=list)
    judged_criteria: list[str] = field(default_factory=list)


def score(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> RunResult:
    """Score predictions against a rubric (blocking; also inside a running event loop, such as
    a notebook's). See `ascore` for the arguments."""
    return run_blocking(
        ascore(
            predictions,
            rubric,
            out=out,
            progress=progress,
            complete=complete,
            options=options,
            **overrides,
        )
    )


async def ascore(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    progress: Progress | None = None,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> RunResult:
    """Score predictions against a rubric with the configured judges.

    `predictions` is a JSONL path or an iterable of dicts/Predictions (with `cases=`, a cases
    file, each needs only its id and the outputs; cases no line predicts are listed in
    `summary.missing`); `rubric` a built-in
    id, a YAML path or a Rubric. How to judge is a `RunOptions` (typed: `options=`), its fields
    as keywords (`judges=`, `api_base=`, `concurrency=`, …), or both (the keywords win); an
    unknown name is a ConfigError. `complete` replaces the litellm completion function (for
    tests and custom clients).
    """
    opts = RunOptions.of(options, overrides)
    if opts.export_batch or opts.import_batch or opts.no_live:
        from judge.batch.files import check_file_options

        check_file_options(opts)
    the_rubric, report, keys = _checked(predictions, rubric, opts)
    scorer = Scorer(opts, complete, use="file")
    if opts.limit is not None:
        scorer.notices.append(LIMITED.format(n=opts.limit))
    # A rubric with no LLM criterion (twi) needs no judge: none is started or asked for.
    await scorer.open(needs_judges=the_rubric.needs_judges)
    try:
        job = _Job(the_rubric, scorer)
        job.summary.missing = report.missing
        job.summary.keys_file = keys.path if keys is not None else None
        if opts.batch:  # the providers' batch APIs answer the calls first, into the cache
            from judge.batch import prefill

            with job.kept_ids(Path(out)) if out is not None else IdSet() as done:
                await prefill(scorer, the_rubric, predictions, done)
        if opts.export_batch is not None or opts.import_batch is not None:
            exported = await job.batch_file(predictions, out)
            if exported is not None:  # the calls are out: nothing to score until they are in
                return exported
        if opts.max_cost is not None:
            job.budget = Budget(opts.max_cost)
        with frozen_heap():  # after the judges open, so litellm's import-time heap is in it
            result = await job.run(predictions, out, progress, report.n_valid)
    finally:
        await scorer.close()
    result.skipped = report.problems
    return result


def plan(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> Plan:
    """What `score` would do, without calling a judge: items to judge, calls (and how many
    the cache answers), estimated tokens and cost (see judge.judging.budget). Blocking, like
    `score`."""
    return run_blocking(
        aplan(predictions, rubric, out=out, complete=complete, options=options, **overrides)
    )


async def aplan(
    predictions: Source,
    rubric: str | Path | Rubric = "ddx",
    *,
    out: str | Path | None = None,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> Plan:
    """Async `plan`. Local judges are not started: their calls are counted, and free."""
    opts = RunOptions.of(options, overrides)
    the_rubric, report, _ = _checked(predictions, rubric, opts)
    # A stand-in completion: nothing is sent, and local servers need not start.
    scorer = Scorer(opts, complete or _never_called, use="file")
    await scorer.open(needs_judges=the_rubric.needs_judges)
    try:
        job = _Job(the_rubric, scorer)
        with job.kept_ids(Path(out)) if out is not None else IdSet() as done:
            result = Plan(n_items=report.n_valid, n_done=len(done), skipped=report.problems)
            result.missing = report.missing
            for item in run_items(predictions, opts, scorer.cases, scorer.images, the_rubric):
                if isinstance(item, InputError) or item.id in done:
                    continue
                result.estimate.add(scorer.estimate(item, the_rubric))
        result.notices = scorer.notices
        return result
    finally:
        await scorer.close()


@dataclass
class Plan:
    """A dry run's answer: what a run would judge, and what it should cost."""

    n_items: int
    n_done: int
    # The invalid lines a run with --skip-invalid skips (without it, the plan is refused).
    skipped: list[InputError] = field(default_factory=list)
    estimate: Estimate = field(default_factory=Estimate)
    notices: list[str] = field(default_factory=list)
    # With cases: the ids of the cases no prediction names.
    missing: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        """How many lines are invalid."""
        return len(self.skipped)


def _checked(
    predictions: Source, rubric: str | Path | Rubric, opts: RunOptions
) -> tuple[Rubric, InputReport, Keys | None]:
    """The rubric, every line validated and the keys checked, before any judge is called: the
    same checks for a run and its dry run, so both refuse the same input (the first invalid
    line, without --skip-invalid) with the same one-line error and exit status."""
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    cases = cases_or_none(opts.cases, opts.id_field)
    images = ImageRoot.of(opts.images)
    report = validate_items(
        predictions, opts.id_field, cases, images, fmt=opts.format, rubric=the_rubric,
        cluster=opts.cluster, limit=opts.limit,
    )  # fmt: skip
    report.refuse(opts.skip_invalid)
    keys = run_keys(predictions, opts, the_rubric, cases, images, bool(report.problems))
    return the_rubric, report, keys


class _Job:
    """One run's state: the rubric, the scorer, and what has been written."""

    def __init__(self, rubric: Rubric, scorer: Scorer):
        self.rubric = rubric
        self.scorer = scorer
        self.opts = scorer.options
        self.rubric_hash = scorer.prepare(rubric).hash
        self.prompt_hash = scorer.prepare(rubric).prompt_hash
        self.summary = SummaryBuilder(
            rubric, scorer.options.by, scorer.options.cluster, scorer.options.ci
        )
        self.budget: Budget | None = None
        self.stopped: str | None = None
        # With --import-batch --no-live: the items whose calls the file did not answer.
        self.waiting: set[str] = set()
        self.waiting_message = ""

    async def batch_file(self, source: Source, out: str | Path | None) -> RunResult | None:
        """--export-batch (the result: nothing is judged) or --import-batch (None: the replies
        are in, and the run goes on with the file's failures and, with --no-live, its
        waiting items)."""
        from judge.batch.files import FromFile, export_calls, import_replies

        opts, scorer = self.opts, self.scorer
        assert scorer.engine is not None
        with self.kept_ids(Path(out)) if out is not None else IdSet() as done:
            if opts.export_batch is not None:
                path = Path(opts.export_batch)
                scorer.notices.append(await export_calls(scorer, self.rubric, source, done, path))
                return self.result(None, [], 0, 0)
            assert opts.import_batch is not None
            path = Path(opts.import_batch)
            imported = await import_replies(scorer, self.rubric, source, done, path)
        scorer.notices.append(imported.notice(path))
        scorer.engine = FromFile(scorer.engine, imported.failed)
        if opts.no_live and imported.waiting:
            self.waiting, self.waiting_message = imported.waiting, imported.waiting_message(path)
        return None

    def kept_ids(self, out: Path) -> IdSet:
        """Ids of an earlier results file's records this run keeps (read-only; caller closes)."""
        return kept_ids(out, self.keep, self.opts.id_field)

    def same_run(self, record: dict[str, Any]) -> bool:
        """Whether an earlier run's record was made by this run's rubric, prompts, panel and
        sampling parameters (if not final, redoing it is this run's work: no backup of it)."""
        return (
            record.get("rubric", {}).get("hash") == self.rubric_hash
            and record.get("prompt_hash") == self.prompt_hash
            and sorted(record.get("judges") or []) == self.scorer.judge_names
            and record.get("key_hash") == self.scorer.key_hash(str(record["id"]), self.rubric)
            and params_changed(record, self.scorer.judges) is None
        )

    def keep(self, record: dict[str, Any]) -> bool:
        """Whether an earlier run's record is final for this run (else it is redone)."""
        judgments = record.get("judgments") or []
        return (
            self.same_run(record)
            and not any(j.get("retryable") for j in judgments)
            and not (self.opts.retry_unscored and record.get("status") != "scored")
        )

    async def run(
        self, source: Source, out: str | Path | None, progress: Progress | None, n_valid: int
    ) -> RunResult:
        writer = None
        if out is not None:
            writer = ResultsWriter(
                out,
                self.keep,
                redo=self.same_run,
                why=lambda record: params_changed(record, self.scorer.judges),
                id_field=self.opts.id_field,
                inputs=[
                    *([("the predictions file", source)] if isinstance(source, str | Path) else []),
                    *([("the cases file", self.opts.cases)] if self.opts.cases is not None else []),
                ],
            )
        # The ids an earlier run finished; closed with the writer.
        done = writer.open() if writer else IdSet()
        if writer is not None:
            self.scorer.notices.extend(writer.notices)
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
        if self.waiting and not self.stopped:
            self.stopped = self.waiting_message
        return self.result(writer.path if writer else None, records, len(done), judged)

    def result(
        self, out: Path | None, records: list[ResultRecord], resumed: int, judged: int
    ) -> RunResult:
        assert self.scorer.engine is not None
        return RunResult(
            summary=self.summary.build(),
            out=out,
            records=records,
            skipped=[],
            notices=self.scorer.notices,
            resumed=resumed,
            judged=judged,
            peak_in_flight=self.scorer.engine.stats.peak_in_flight,
            stopped=self.stopped,
            rubric_hash=self.rubric_hash,
            prompt_hash=self.prompt_hash,
            judges=self.scorer.judge_names,
            judged_criteria=[c.id for c in self.rubric.llm_criteria]
            + [c.id for stage in self.rubric.stages for c in stage.criteria]
            + ([ITEM_CRITERION] if self.rubric.items else []),
        )

    async def _judge_all(self, source: Source, done: IdSet) -> AsyncIterator[ResultRecord]:
        """Judge every valid item not already done, a bounded number at a time."""
        todo = (
            item
            for item in run_items(
                source, self.opts, self.scorer.cases, self.scorer.images, self.rubric
            )
            if not isinstance(item, InputError)
            and item.id not in done
            and item.id not in self.waiting
        )
        refused: list[Item] = []

        def admit(item: Item) -> bool:
            # Over budget with items in flight: their real cost may leave room.
            refused[:] = [] if self._affordable(item) else [item]
            return not refused

        records = self.scorer.scheduler.stream(
            todo, lambda item: self.scorer.score_item(item, self.rubric), admit=admit
        )
        async with contextlib.aclosing(records):  # a run that fails cancels its items now
            async for record in records:
                yield self._settled(record)
        if refused:  # and nothing in flight: what was spent is final
            self.stopped = self._budget_message()

    def _budget_message(self) -> str:
        assert self.budget is not None
        return (
            f"--max-cost ${self.budget.max_usd:g} would be crossed by the next item "
            f"(spent ${self.budget.spent:.4f}); run again with a higher budget to judge the rest"
        )

    def _affordable(self, item: Item) -> bool:
        """Whether the budget (if any) allows starting `item`."""
        if self.budget is None:
            return True
        estimate = self.scorer.estimate(item, self.rubric)
        if estimate.cost_usd is None:
            raise ConfigError(
                "--max-cost needs a price for every judge; litellm's price map has none for "
                + ", ".join(sorted(estimate.unpriced))
            )
        return self.budget.reserve(item.id, estimate.cost_usd)

    def _settled(self, record: ResultRecord) -> ResultRecord:
        if self.budget is not None:
            paid = sum(c.cost_usd or 0.0 for c in record.calls if not c.cached)
            self.budget.settle(record.id, paid)
        return record


async def _never_called(**_: Any) -> Completion:
    raise AssertionError("a dry run calls no judge")
