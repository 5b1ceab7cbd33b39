"""A batch run's rounds: collect → submit → wait → apply, until a pass finds nothing new."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from judge.batch.client import BatchClient, endpoint_of, unbatchable
from judge.batch.collect import BatchFiles, Chunk, Collector, collect_pass
from judge.batch.replies import LineFailed, keep_reply, reply_of
from judge.batch.state import APPLIED, LOST, SUBMITTING, BatchState
from judge.contracts import Prediction, Rubric
from judge.errors import ConfigError, JudgeError, redact
from judge.judging.engine import Engine, JudgeSpec
from judge.scorer import Scorer
from judge.store.cache import Cache, judge_home

__all__ = ["BatchPending", "prefill"]

# The CLI shows this logger's progress lines.
log = logging.getLogger("judge.batch")

# The provider's statuses after which a batch changes no more.
ENDED = ("completed", "failed", "expired", "cancelled")
# A poll that fails this many times in a row stops the wait (the batch goes on; rerun).
POLL_FAILURES = 5

T = TypeVar("T")


class BatchPending(JudgeError):
    """Batches the run needs have not ended within `--batch-wait`: run the same command again
    later to pick them up (nothing is submitted twice)."""


async def prefill(
    scorer: Scorer,
    rubric: Rubric,
    source: str | Path | Iterable[dict[str, Any] | Prediction],
    done: Container[str],
) -> None:
    """Answer, through batches, every call that scoring `source` (but the ids in `done`) with
    `scorer` would make, storing the replies in `scorer`'s call cache."""
    opts, engine = scorer.options, scorer.engine
    if engine is None:
        raise RuntimeError("open the Scorer first")
    if engine.cache is None:
        raise ConfigError("--batch delivers replies through the call cache: drop --no-cache")
    if opts.max_cost is not None:
        raise ConfigError(
            "--batch cannot be combined with --max-cost: a batch is paid as a whole "
            "(use --dry-run for its estimate; batch prices are about half of it)"
        )
    if opts.mode == "md_json":
        raise ConfigError("--batch needs --mode tools, json_schema or json (not md_json)")
    if opts.batch_poll <= 0:
        raise ConfigError("--batch-poll must be more than 0 seconds")
    batched = []
    for judge in scorer.judges:
        why = unbatchable(judge.model)
        if why is None:
            batched.append(judge)
        else:
            scorer.notices.append(f"--batch: {judge.name} is judged live: {why}")
    if not batched:
        return
    run = BatchRun(scorer, rubric, engine, engine.cache, batched)
    try:
        await run.rounds(source, done)
    finally:
        run.close()
    scorer.notices += run.report()


@dataclass
class Tally:
    """What batches did for one judge in this run."""

    batches: set[str] = field(default_factory=set)
    answered: int = 0
    failed: int = 0
    cost_usd: float | None = None


class BatchRun:
    def __init__(
        self,
        scorer: Scorer,
        rubric: Rubric,
        engine: Engine,
        cache: Cache,
        judges: list[JudgeSpec],
    ):
        opts = scorer.options
        self.scorer, self.rubric, self.engine, self.cache = scorer, rubric, engine, cache
        self.opts = opts
        self.judges = {j.name: j for j in judges}
        self.endpoint = endpoint_of(opts.api_base)
        self.state = BatchState(cache.path)
        self.clients = {j.name: BatchClient(j.model, opts.api_base) for j in judges}
        self.work = Path(tempfile.mkdtemp(prefix="batch-", dir=_work_root()))
        # Per round: the batch files being written, and the batches to wait for.
        self.files = BatchFiles(self.work, opts.mode)
        self.waiting: set[str] = set()
        # Reply models met while collecting, by schema hash (a batch names its own).
        self.models: dict[str, type[BaseModel]] = {}
        # Keys a batch of this run did not answer: judged live, never batched again here.
        self.failed: set[str] = set()
        self.tally = {name: Tally() for name in self.judges}

    def close(self) -> None:
        self.files.close()
        self.state.close()
        shutil.rmtree(self.work, ignore_errors=True)

    async def rounds(self, source: Any, done: Container[str]) -> None:
        await self._recover()
        while True:
            await self._collect(source, done)
            if not self.waiting:
                return
            await self._wait(sorted(self.waiting))
            self.waiting = set()

    async def _collect(self, source: Any, done: Container[str]) -> None:
        """One pass over the items with the collecting engine: every call no cache or batch
        answers yet is written to a batch file, submitted when full or when the pass ends;
        `waiting` gets the batches the pass needs."""

        async def submit_full(_: str) -> None:
            await self._submit_full()

        collector = Collector(self.engine, self.missed)
        await collect_pass(self.scorer, self.rubric, source, done, collector, submit_full)
        self.files.end_pass()
        await self._submit_full()

    async def _submit_full(self) -> None:
        for chunk in self.files.take_full():
            self.waiting.add(await self._submit(chunk))

    def missed(
        self,
        key: str,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
    ) -> None:
        """A call the cache does not answer: wait for the batch that has it, or batch it."""
        if judge.name not in self.judges or key in self.failed:
            return
        model_hash = _model_hash(response_model)
        self.models[model_hash] = response_model
        slot = (judge.name, model_hash)
        if self.files.has(slot, key):  # the same call for another item
            return
        # In a batch already (submitted this round, or by an earlier run): wait for it.
        pending = self.state.pending(key, judge.name, self.endpoint)
        if pending is not None:
            self.waiting.add(pending)
            return
        self.files.add(slot, key, judge, messages, response_model)

    # ---------------------------------------------------------------- submitting

    async def _submit(self, chunk: Chunk) -> str:
        """Upload a batch file and create its batch. The keys are stored before the batch is
        created and its id as it is: a Ctrl-C while it is created waits for both."""
        judge, client = chunk.judge, self.clients[chunk.judge.name]
        digest = chunk.digest.hexdigest()[:40]
        local = f"{SUBMITTING}:{digest}"
        file_id = await client.upload(chunk.path)
        self.state.begin(
            local,
            judge=judge.name,
            endpoint=self.endpoint,
            mode=self.opts.mode,
            model_hash=_model_hash(chunk.model),
            input_file_id=file_id,
            keys=chunk.keys,
        )

        async def create() -> Any:
            try:
                batch = await client.create(file_id, digest)
            except JudgeError as exc:
                if getattr(exc.__cause__, "status_code", None) is not None:
                    self.state.forget(local)  # the provider answered: no batch was made
                raise  # else (a timeout) it may exist: the next run looks for it
            self.state.adopt(local, batch.id, batch.status)
            return batch

        batch = await _uninterrupted(create())
        chunk.path.unlink(missing_ok=True)
        log.info("%s: batch %s submitted (%d requests)", judge.name, batch.id, len(chunk.keys))
        self.tally[judge.name].batches.add(batch.id)
        return str(batch.id)

    async def _recover(self) -> None:
        """Batches a run stopped while creating: find them among the provider's latest by
        their file's digest (in their metadata), else forget them (their calls are batched
        again)."""
        for local, judge in self.state.submitting(self.endpoint):
            if judge not in self.clients:
                continue
            try:
                found = await self.clients[judge].find(local.split(":", 1)[1])
            except JudgeError as exc:  # no list to look in: forgetting beats waiting forever
                log.warning("%s: %s; its calls are batched again", local, exc)
                found = None
            if found is None:
                self.state.forget(local)
            else:
                self.state.adopt(local, found.id, found.status)

    # ---------------------------------------------------------------- waiting and applying

    async def _wait(self, ids: list[str]) -> None:
        """Poll `ids` until each has ended and its output is in the cache."""
        started = time.monotonic()
        left, failures = list(ids), 0
        while left:
            for batch_id in list(left):
                row = self.state.row(batch_id)
                client = self.clients[row["judge"]]
                try:
                    batch = await client.retrieve(batch_id)
                except JudgeError as exc:
                    if getattr(exc.__cause__, "status_code", None) == 404:
                        self.state.update(batch_id, status=LOST)
                        raise JudgeError(
                            f"--batch: batch {batch_id} is not found at {client.where} (deleted, "
                            "or made with another account): running again submits its calls anew"
                        ) from exc
                    failures += 1
                    if failures >= POLL_FAILURES:
                        raise
                    continue
                failures = 0
                self.state.update(
                    batch_id,
                    status=batch.status,
                    output_file_id=batch.output_file_id,
                    error_file_id=batch.error_file_id,
                )
                if batch.status in ENDED:
                    await self._apply(row, batch)
                    left.remove(batch_id)
            if not left:
                return
            waited = time.monotonic() - started
            if self.opts.batch_wait is not None and waited + self.opts.batch_poll > (
                self.opts.batch_wait
            ):
                raise BatchPending(_pending_message(self.state, left, waited))
            log.info("waiting for %d batch(es): %s", len(left), ", ".join(left))
            await asyncio.sleep(self.opts.batch_poll)

    async def _apply(self, row: dict[str, Any], batch: Any) -> None:
        """Store a batch's valid replies in the cache; note the keys it did not answer."""
        judge = self.judges[row["judge"]]
        client, tally = self.clients[judge.name], self.tally[judge.name]
        model = self.models.get(row["model_hash"])
        if model is None:  # a batch of another run's calls only: not ours to read
            return
        tally.batches.add(batch.id)
        if batch.output_file_id:
            async for line in client.lines(batch.output_file_id):
                self._store(judge, model, row["mode"], line, tally)
        for key in self.state.keys(batch.id):
            if self.cache.get(key) is None:
                self.failed.add(key)
                tally.failed += 1
        self.state.update(batch.id, status=APPLIED)
        if batch.status != "completed":
            raise JudgeError(_ended_message(judge.name, batch))

    def _store(
        self, judge: JudgeSpec, model: type[BaseModel], mode: str, line: bytes, tally: Tally
    ) -> None:
        try:
            row = json.loads(line)
            key = str(row["custom_id"])
            reply = reply_of(judge, row, model, mode)
        except (LineFailed, ValueError, KeyError, TypeError, AttributeError):
            return  # counted with the keys the batch did not answer
        usage = keep_reply(self.cache, key, judge, reply)
        tally.answered += 1
        if usage.cost_usd is not None:
            tally.cost_usd = (tally.cost_usd or 0.0) + usage.cost_usd

    def report(self) -> list[str]:
        notes = []
        for name, tally in sorted(self.tally.items()):
            if not tally.batches:
                continue
            cost = "" if tally.cost_usd is None else f" for ${tally.cost_usd:.4f} at batch prices"
            note = (
                f"--batch: {name}: {_calls(tally.answered)} answered by "
                f"{len(tally.batches)} batch(es){cost}"
            )
            if tally.failed:
                note += f"; {_calls(tally.failed)} it did not answer validly judged live"
            notes.append(note)
        return notes


async def _uninterrupted(work: Awaitable[T]) -> T:
    """Await `work` to its end even when cancelled (Ctrl-C): a batch created at the provider
    must be recorded, or a rerun would pay for it again. Then the cancellation goes on."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _pending_message(state: BatchState, ids: list[str], waited: float) -> str:
    rows = [state.row(i) for i in ids]
    what = ", ".join(f"{r['id']} ({r['judge']}, {r['status']})" for r in rows)
    return (
        f"--batch: stopped waiting after {waited:.0f} s for {what}; run the same command "
        "again to pick up their results (nothing is submitted twice)"
    )


def _ended_message(judge: str, batch: Any) -> str:
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    why = "; ".join(redact(str(getattr(e, "message", e)))[:200] for e in errors[:3])
    return (
        f"--batch: {judge}: batch {batch.id} ended {batch.status}"
        + (f" ({why})" if why else "")
        + "; what it answered is kept, and running again submits the rest in a new batch"
    )


@functools.lru_cache(maxsize=256)
def _model_hash(response_model: type[BaseModel]) -> str:
    schema = json.dumps(response_model.model_json_schema(), sort_keys=True)
    return hashlib.sha256(schema.encode()).hexdigest()[:16]


def _work_root() -> Path:
    root = judge_home() / "batches"
    root.mkdir(parents=True, exist_ok=True)
    return root
