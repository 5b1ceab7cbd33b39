"""`judge score --batch`: the run's judge calls through the providers' batch APIs first (half
price at OpenAI and Azure, outside the per-minute rate limits), with the same resume guarantee.

A batch run is rounds of collect → submit → wait → apply, then the normal run:

1. **collect**: the items the run would judge (the same skip rules) are scored with an engine
   that sends nothing. Each call the cache does not answer becomes one line of an OpenAI batch
   file: `custom_id` is the call's cache key, `body` the chat-completions request the live
   path sends (same tools or response format, built by `judge.llm`). The item stops there.
2. **submit**: one batch per judge and reply model (at most `MAX_REQUESTS` lines and
   `MAX_BYTES`; a full file is submitted at once), uploaded and created through litellm's
   files and batches API (imported through `judge.llm`). Its id, input file and keys are
   stored in the cache's database (tables `batches` and `batch_keys`) as it is created, so a
   rerun finds it and waits for it instead of paying again.
3. **wait**: every batch the run needs is polled until it ends (`--batch-poll`); with
   `--batch-wait` the run stops after that long (`BatchPending`) and the same command picks
   the batch up later.
4. **apply**: each output line is validated like a live reply and stored in the call cache
   under its key, priced at the batch rate.

Rounds repeat until a collecting pass finds nothing new (a multi-stage rubric's later stages
depend on its earlier replies). The run then scores every item as usual, the cache answering
each call a batch answered. A line the batch did not answer well (an error, or a reply that
does not validate) is judged live by that run, with its retries and re-asks. A batch that
ends without its output (failed, expired, cancelled) stops the run with the provider's reason;
what it did answer is kept, and a rerun submits the rest anew.

Only providers whose batch API speaks OpenAI's file format both ways are batched (`PROVIDERS`:
litellm sends these files unchanged). Other judges (a local llama.cpp judge, `hosted_vllm`,
anthropic, vertex_ai, bedrock, …) are judged live in the final pass, and the run says so.
Collecting makes no call, so a multi-stage rubric whose splitter (the panel's first judge by
name) runs live has its later stages judged live too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Collection, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from judge import llm
from judge.cache import Cache, judge_home
from judge.contracts import CallUsage, Prediction, Rubric
from judge.engine import CallResult, Engine, JudgeSpec
from judge.errors import ConfigError, InputError, JudgeError, redact
from judge.inputs import iter_items
from judge.scorer import Scorer

__all__ = ["MAX_BYTES", "MAX_REQUESTS", "PROVIDERS", "BatchPending", "prefill"]

log = logging.getLogger("judge.batch")

# Providers whose batch API litellm reaches with OpenAI's batch file format, sent and read
# back unchanged (litellm also batches vertex_ai, bedrock, mistral and xai, each with its own
# file format and storage; anthropic batches it can only retrieve).
PROVIDERS = ("openai", "azure", "litellm_proxy")
# OpenAI's limits per batch: 50,000 requests and a 200 MB input file (Azure: 100,000).
MAX_REQUESTS = 50_000
MAX_BYTES = 190 * 2**20
# The provider's statuses after which a batch changes no more.
ENDED = ("completed", "failed", "expired", "cancelled")
# Ours: a batch being created (its id not yet known), one whose output is in the cache, and
# one the provider no longer knows.
SUBMITTING, APPLIED, LOST = "submitting", "applied", "lost"
# A poll that fails this many times in a row stops the wait (the batch goes on; rerun).
POLL_FAILURES = 5
_ENDPOINT = "/v1/chat/completions"

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
    run = _BatchRun(scorer, rubric, engine, engine.cache, batched)
    try:
        await run.rounds(source, done)
    finally:
        run.close()
    scorer.notices += run.report()


def unbatchable(model: str) -> str | None:
    """Why `model`'s calls cannot go through a batch API here, or None when they can."""
    provider = _provider(model)
    if provider == "local":
        return "a local llama.cpp judge has no batch API"
    if provider == "hosted_vllm":
        return (
            "vLLM's server has no batch API (a LiteLLM proxy in front of it can run batches: "
            "judge litellm_proxy/<model> with --api-base at the proxy)"
        )
    if provider not in PROVIDERS:
        return f"{provider} is not one of the providers batched here ({', '.join(PROVIDERS)})"
    return None


def _provider(model: str) -> str:
    if model.startswith("local/"):
        return "local"
    try:
        return str(llm._litellm().get_llm_provider(model)[1])
    except Exception:  # litellm does not know it: not batchable, and the live path says why
        return model.split("/", 1)[0]


# ---------------------------------------------------------------- collecting


class _Collected(Exception):
    """Raised out of a collecting scoring at the first call the cache does not answer."""


class _Collector(Engine):
    """An engine that answers from the cache and hands every other call to the batch run
    (`_BatchRun.missed`), stopping the item there."""

    def __init__(self, real: Engine, run: _BatchRun):
        super().__init__(real.complete, cache=real.cache)
        self.run = run

    async def call(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
        sample: int = 0,
    ) -> CallResult:
        key = self.key(judge, messages, response_model, sample)
        found = self.lookup(key, sample)
        if found is not None:
            return found
        self.run.missed(key, judge, messages, response_model)
        # The item stops here: what comes after this call depends on its reply.
        raise _Collected


@dataclass
class _Chunk:
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


@dataclass
class _Tally:
    """What batches did for one judge in this run."""

    batches: set[str] = field(default_factory=set)
    answered: int = 0
    failed: int = 0
    cost_usd: float | None = None


class _BatchRun:
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
        self.endpoint = _endpoint(opts.api_base)
        self.state = _State(cache.path)
        self.clients = {j.name: _Client(j.model, opts.api_base) for j in judges}
        self.work = Path(tempfile.mkdtemp(prefix="batch-", dir=_work_root()))
        # Per round: the batch files being written (one per judge and reply model; a full
        # one is submitted at once, so memory holds at most these files' keys), the full ones,
        # and the batches to wait for.
        self.open: dict[tuple[str, str], _Chunk] = {}
        self.full: list[_Chunk] = []
        self.waiting: set[str] = set()
        # Reply models met while collecting, by schema hash (a batch names its own).
        self.models: dict[str, type[BaseModel]] = {}
        # Keys a batch of this run did not answer: judged live, never batched again here.
        self.failed: set[str] = set()
        self.tally = {name: _Tally() for name in self.judges}

    def close(self) -> None:
        for chunk in self.open.values():
            chunk.handle.close()
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
        real = self.scorer.engine
        self.scorer.engine = _Collector(self.engine, self)
        try:
            for item in iter_items(source, self.opts.id_field):
                if isinstance(item, InputError) or item.id in done:
                    continue
                with contextlib.suppress(_Collected):
                    await self.scorer.score_item(item, self.rubric)
                await self._submit_full()
            await asyncio.sleep(0)  # calls gathered with one that stopped an item record too
        finally:
            self.scorer.engine = real
        self.full += self.open.values()
        self.open = {}
        await self._submit_full()

    async def _submit_full(self) -> None:
        while self.full:
            chunk = self.full.pop()
            chunk.handle.close()
            self.waiting.add(await self._submit(chunk))

    def missed(
        self,
        key: str,
        judge: JudgeSpec,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
    ) -> None:
        """A call the cache does not answer: wait for the batch that has it, or batch it."""
        if judge.name not in self.judges or key in self.failed:
            return
        model_hash = _model_hash(response_model)
        self.models[model_hash] = response_model
        slot = (judge.name, model_hash)
        chunk = self.open.get(slot)
        if chunk is not None and key in chunk.keys:  # the same call for another item
            return
        # In a batch already (submitted this round, or by an earlier run): wait for it.
        pending = self.state.pending(key, judge.name, self.endpoint)
        if pending is not None:
            self.waiting.add(pending)
            return
        body = llm.batch_request(
            judge.model, messages, response_model, judge.params, self.opts.mode
        )
        line = json.dumps(
            {"custom_id": key, "method": "POST", "url": _ENDPOINT, "body": body},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        line += b"\n"
        if chunk is not None and chunk.full(line):
            self.full.append(chunk)
            chunk = None
        if chunk is None:
            path = self.work / f"{uuid.uuid4().hex}.jsonl"
            chunk = self.open[slot] = _Chunk(judge, response_model, path, path.open("wb"))
        chunk.add(key, line)

    # ---------------------------------------------------------------- submitting

    async def _submit(self, chunk: _Chunk) -> str:
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
        self, judge: JudgeSpec, model: type[BaseModel], mode: str, line: bytes, tally: _Tally
    ) -> None:
        try:
            row = json.loads(line)
            key = str(row["custom_id"])
            response = row.get("response") or {}
            if response.get("status_code") != 200:
                return
            reply = llm.batch_reply(judge.model, response["body"], model, mode)
        except (JudgeError, ValueError, KeyError, TypeError, AttributeError):
            return  # counted with the keys the batch did not answer
        usage = CallUsage(
            judge=judge.name,
            tokens_in=reply.tokens_in,
            tokens_out=reply.tokens_out,
            cost_usd=reply.cost_usd,
            attempts=1,
        )
        self.cache.put(
            key,
            judge.model,
            {"verdict": reply.verdict, "usage": usage.model_dump(exclude={"cached", "sample"})},
        )
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


def _pending_message(state: _State, ids: list[str], waited: float) -> str:
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


def _endpoint(api_base: str | None) -> str:
    """Where batches go, as stored: the API base without credentials, query or fragment."""
    if not api_base:
        return ""
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _work_root() -> Path:
    root = judge_home() / "batches"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- state


class _State:
    """The batches submitted from one call cache (its tables `batches` and `batch_keys`)."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def pending(self, key: str, judge: str, endpoint: str) -> str | None:
        """The batch, not yet applied, that holds `key` for `judge` at `endpoint`."""
        row = self.conn.execute(
            "SELECT b.id FROM batch_keys k JOIN batches b ON b.id = k.batch_id"
            " WHERE k.key = ? AND b.judge = ? AND b.endpoint = ?"
            " AND b.status NOT IN (?, ?, ?) LIMIT 1",
            (key, judge, endpoint, APPLIED, SUBMITTING, LOST),
        ).fetchone()
        return None if row is None else str(row[0])

    def begin(
        self,
        local: str,
        *,
        judge: str,
        endpoint: str,
        mode: str,
        model_hash: str,
        input_file_id: str,
        keys: Collection[str],
    ) -> None:
        """A batch about to be created from `input_file_id`, under a local id until then."""
        row = (local, judge, endpoint, mode, model_hash, SUBMITTING, input_file_id, len(keys))
        with self._transaction():
            self.conn.execute("DELETE FROM batch_keys WHERE batch_id = ?", (local,))
            self.conn.execute(
                "INSERT OR REPLACE INTO batches (id, judge, endpoint, mode, model_hash,"
                " status, input_file_id, n_requests, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, _now(), _now()),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO batch_keys (key, batch_id) VALUES (?, ?)",
                ((key, local) for key in keys),
            )

    def adopt(self, local: str, batch_id: str, status: str) -> None:
        """A batch created from the file recorded as `local`: its id from now on."""
        with self._transaction():
            self.conn.execute(
                "UPDATE batches SET id = ?, status = ?, updated_at = ? WHERE id = ?",
                (batch_id, status, _now(), local),
            )
            self.conn.execute(
                "UPDATE batch_keys SET batch_id = ? WHERE batch_id = ?", (batch_id, local)
            )

    def forget(self, local: str) -> None:
        with self._transaction():
            self.conn.execute("DELETE FROM batch_keys WHERE batch_id = ?", (local,))
            self.conn.execute("DELETE FROM batches WHERE id = ?", (local,))

    def update(self, batch_id: str, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE batches SET {columns}, updated_at = ? WHERE id = ?",
            (*values.values(), _now(), batch_id),
        )

    def submitting(self, endpoint: str) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT id, judge FROM batches WHERE status = ? AND endpoint = ?",
            (SUBMITTING, endpoint),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def row(self, batch_id: str) -> dict[str, Any]:
        found = self.conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return dict(found)

    def keys(self, batch_id: str) -> Iterable[str]:
        rows = self.conn.execute("SELECT key FROM batch_keys WHERE batch_id = ?", (batch_id,))
        return [str(r[0]) for r in rows]

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


# ---------------------------------------------------------------- provider calls


class _Client:
    """One judge's batch API through litellm (files, batches), errors as JudgeErrors."""

    def __init__(self, model: str, api_base: str | None):
        self.model = model
        self.provider = _provider(model)
        self.kwargs: dict[str, Any] = {"custom_llm_provider": self.provider}
        if api_base:
            self.kwargs["api_base"] = api_base
            if not llm._has_key_for(model):
                self.kwargs["api_key"] = llm.PLACEHOLDER_KEY
        self.where = _endpoint(api_base) or self.provider

    async def _do(self, what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except Exception as exc:
            message = redact(" ".join(str(exc).split()))[:300]
            raise JudgeError(
                f"--batch: {what} failed at {self.where}: {type(exc).__name__}: {message}"
            ) from exc

    def _litellm(self) -> Any:
        return llm._litellm()

    async def upload(self, path: Path) -> str:
        litellm = self._litellm()
        with path.open("rb") as handle:
            found = await self._do(
                "uploading the batch file",
                litellm.acreate_file(file=handle, purpose="batch", **self.kwargs),
            )
        return str(found.id)

    async def create(self, file_id: str, digest: str) -> Any:
        return await self._do(
            "creating the batch",
            self._litellm().acreate_batch(
                completion_window="24h",
                endpoint=_ENDPOINT,
                input_file_id=file_id,
                metadata={"judge_file_sha256": digest},
                **self.kwargs,
            ),
        )

    async def retrieve(self, batch_id: str) -> Any:
        return await self._do(
            f"polling batch {batch_id}",
            self._litellm().aretrieve_batch(
                batch_id=batch_id,
                # litellm would otherwise download a completed batch's output once more, to
                # price it for its own logging.
                litellm_metadata={"batch_ignore_default_logging": True},
                **self.kwargs,
            ),
        )

    async def find(self, digest: str) -> Any | None:
        """A recent batch made from the file with this digest (see `_recover`)."""
        found = await self._do(
            "listing batches", self._litellm().alist_batches(limit=100, **self.kwargs)
        )
        for batch in getattr(found, "data", None) or []:
            if (getattr(batch, "metadata", None) or {}).get("judge_file_sha256") == digest:
                return batch
        return None

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The lines of an output file, streamed."""
        found = await self._do(
            f"downloading file {file_id}",
            self._litellm().afile_content(file_id=file_id, stream=True, **self.kwargs),
        )
        rest = b""
        async for chunk in found.stream_iterator:
            rest += chunk
            *lines, rest = rest.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
