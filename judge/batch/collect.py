"""Collecting a batch round: the calls a run would make that nothing answers yet, written as
lines of OpenAI batch files (one file per judge and reply model)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from judge.batch.client import ENDPOINT
from judge.contracts import Prediction, Rubric
from judge.errors import InputError
from judge.judging.engine import CallResult, Engine, JudgeSpec
from judge.judging.providers import llm
from judge.load.inputs import run_items
from judge.scorer import Scorer

__all__ = [
    "MAX_BYTES",
    "MAX_REQUESTS",
    "BatchFiles",
    "Chunk",
    "Collected",
    "Collector",
    "batch_line",
    "collect_pass",
]

# OpenAI's limits per batch: 50,000 requests and a 200 MB input file (Azure: 100,000).
MAX_REQUESTS = 50_000
MAX_BYTES = 190 * 2**20

Missed = Callable[[str, JudgeSpec, list[dict[str, Any]], type[BaseModel]], None]


class Collected(Exception):
    """Raised out of a collecting scoring at the first call the cache does not answer."""


class Collector(Engine):
    """An engine that answers from the cache (and from `answers`, when given: a batch file's
    failed lines) and hands every other call to `missed`, stopping the item there. `seen`
    gathers the key of every call met."""

    def __init__(
        self,
        real: Engine,
        missed: Missed,
        answers: Callable[[str, JudgeSpec, int], CallResult | None] | None = None,
    ):
        super().__init__(real.complete, cache=real.cache)
        self.missed = missed
        self.answers = answers
        self.seen: set[str] = set()
        # The id of the item being collected (set by `collect_pass`).
        self.item = ""

    async def call(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int = 0,
    ) -> CallResult:
        key = self.key(judge, messages, response_model, sample)
        self.seen.add(key)
        found = self.lookup(key, judge, sample)
        if found is None and self.answers is not None:
            found = self.answers(key, judge, sample)
        if found is not None:
            return found
        self.missed(key, judge, messages, response_model)
        # The item stops here: what comes after this call depends on its reply.
        raise Collected


@dataclass
class Chunk:
    """One batch file being written: a judge's calls with one reply model."""

    judge: JudgeSpec
    model: type[BaseModel]
    path: Path
    handle: IO[bytes]
    keys: set[str] = field(default_factory=set)
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    def full(self, line: bytes) -> bool:
        return len(self.keys) >= MAX_REQUESTS or self.size + len(line) > MAX_BYTES

    def add(self, key: str, line: bytes) -> None:
        self.handle.write(line)
        self.digest.update(line)
        self.keys.add(key)
        self.size += len(line)


class BatchFiles:
    """The files of one collecting pass: one open per judge and reply model; a full one is set
    aside to be submitted at once, so memory holds at most the open files' keys."""

    def __init__(self, work: Path, mode: str):
        self.work, self.mode = work, mode
        self.open: dict[tuple[str, str], Chunk] = {}
        self.full: list[Chunk] = []

    def has(self, slot: tuple[str, str], key: str) -> bool:
        chunk = self.open.get(slot)
        return chunk is not None and key in chunk.keys

    def add(
        self,
        slot: tuple[str, str],
        key: str,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
    ) -> None:
        """Write the call as a line of the slot's file (`custom_id` is its cache key, `body`
        the request the live path sends first)."""
        line = batch_line(key, judge, messages, response_model, self.mode)
        chunk = self.open.get(slot)
        if chunk is not None and chunk.full(line):
            self.full.append(chunk)
            chunk = None
        if chunk is None:
            path = self.work / f"{uuid.uuid4().hex}.jsonl"
            chunk = self.open[slot] = Chunk(judge, response_model, path, path.open("wb"))
        chunk.add(key, line)

    def end_pass(self) -> None:
        """Every open file is full enough now: the pass has ended."""
        self.full += self.open.values()
        self.open = {}

    def take_full(self) -> list[Chunk]:
        """The files to submit now, closed."""
        full, self.full = self.full, []
        for chunk in full:
            chunk.handle.close()
        return full

    def close(self) -> None:
        for chunk in [*self.open.values(), *self.full]:
            chunk.handle.close()


def batch_line(
    key: str,
    judge: JudgeSpec,
    messages: list[dict[str, Any]],
    response_model: type[BaseModel],
    mode: str,
) -> bytes:
    """One call as a line of an OpenAI batch-input file: `custom_id` is its cache key, `body`
    the request the live path sends first."""
    body = llm.batch_request(judge.model, messages, response_model, judge.params, mode)
    line = json.dumps(
        {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return line + b"\n"


async def collect_pass(
    scorer: Scorer,
    rubric: Rubric,
    source: str | Path | Iterable[dict[str, Any] | Prediction],
    skip: Container[str],
    collector: Collector,
    after_item: Callable[[str], Awaitable[None]] | None = None,
) -> set[str]:
    """Score every item of `source` (but the ids in `skip`) with `collector` in the scorer's
    engine's place; the ids of the items that stopped at a call nothing answers.
    `after_item(id)` runs after each item (the calls it missed have been handed over)."""
    real = scorer.engine
    scorer.engine = collector
    stopped: set[str] = set()
    try:
        for item in run_items(source, scorer.options, scorer.cases, scorer.images, rubric):
            if isinstance(item, InputError) or item.id in skip:
                continue
            collector.item = item.id
            try:
                await scorer.score_item(item, rubric)
            except Collected:
                stopped.add(item.id)
            # Calls gathered with the one that stopped the item have run up to their own
            # miss by now (a collecting call never awaits before it stops).
            if after_item is not None:
                await after_item(item.id)
        await asyncio.sleep(0)
    finally:
        scorer.engine = real
    return stopped
