"""`judge score --export-batch FILE` and `--import-batch FILE`: a run's calls out through an
engine of the user's (vLLM's `run_batch`, a Ray Data LLM pipeline, a provider's batch API)
as OpenAI batch files, and the replies back in, on the `--batch` machinery: the same
collecting pass, the same lines (`custom_id` is the call's cache key), the same validation.

**Export** writes one batch-input line per call no cache answers (`custom_id`, `method`
"POST", `url` "/v1/chat/completions", `body`: the request the live path sends first) and
sends nothing. A multi-stage rubric's later stage is built from an earlier stage's replies:
only what can be sent now is written, and the run says to import the replies and export
again (one round per stage, as `--batch` takes).

**Import** reads batch-output lines (`custom_id`, `response.status_code`, `response.body`,
`error`). The whole file is checked first: a line that is not a JSON object, or whose
`custom_id` is missing, malformed or repeated, is refused with its file and line. Rounds
then match the lines to the calls a collecting pass meets: a valid reply is stored in the
call cache (the scoring pass then reads it as it reads any cached reply); a failed line
(an error, a status other than 200, a body that does not validate) answers its call with that
failure, which the record keeps as unscored with the reason, as a live failure is. A line no
call of this run matches (another run's file, another rubric or panel) is refused, with its
line, before any record is written. The other calls go live, or with `--no-live` their items
wait (no record) for a later import, and the run stops with exit status 3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from judge.batch.collect import Collector, batch_line, collect_pass
from judge.batch.replies import Failure, LineFailed, failed_call, keep_reply, reply_of
from judge.contracts import Prediction, Rubric
from judge.errors import ConfigError, InputError
from judge.judging.engine import CallResult, Engine, JudgeSpec
from judge.options import RunOptions
from judge.scorer import Scorer
from judge.store.outputs import claim, header_is, write_atomic

__all__ = ["FromFile", "Imported", "check_file_options", "export_calls", "import_replies"]

Source = str | Path | Iterable[dict[str, Any] | Prediction]

# A line of a batch-input file, as `header_is` recognises a file of ours.
INPUT_FIELDS = ("custom_id", "method", "url", "body")
# A cache key (judge.store.cache.cache_key): what every custom_id of ours is.
_KEY = re.compile(r"[0-9a-f]{64}")


def check_file_options(opts: RunOptions) -> None:
    """Refuse batch-file options that cannot work together (a ConfigError)."""
    if opts.export_batch is not None and opts.import_batch is not None:
        raise ConfigError(
            "--export-batch and --import-batch are two steps: import the replies, then export "
            "the next round's calls in another run"
        )
    chosen = "--export-batch" if opts.export_batch is not None else "--import-batch"
    if opts.export_batch is None and opts.import_batch is None:
        if opts.no_live:
            raise ConfigError("--no-live applies with --import-batch")
        return
    if opts.batch:
        raise ConfigError(f"{chosen} cannot be combined with --batch (choose one way out)")
    if opts.mode == "md_json":
        raise ConfigError(f"{chosen} needs --mode tools, json_schema or json (not md_json)")
    if opts.import_batch is not None and opts.cache is False:
        raise ConfigError("--import-batch delivers replies through the call cache: drop --no-cache")


async def export_calls(
    scorer: Scorer, rubric: Rubric, source: Source, done: Container[str], path: Path
) -> str:
    """Write every call scoring `source` (but the ids in `done`) would send now to `path`
    as an OpenAI batch-input JSONL; what was written, as a notice."""
    claim(path, header_is(INPUT_FIELDS), "--export-batch")
    engine = _engine(scorer)
    for judge in scorer.judges:
        if judge.model.startswith("local/"):
            raise ConfigError(
                f"--export-batch: {judge.name} is a llama.cpp judge judge runs itself; export "
                "for a model an engine serves (hosted_vllm/<model>, openai/<model>, …)"
            )
    # A segment stage's replies make the later stages' prompts.
    feeds = {
        scorer.prepare(rubric).stage_models[s.id] for s in rubric.stages if s.kind == "segment"
    }
    lines: dict[str, bytes] = {}
    later: list[bool] = []

    def missed(
        key: str, judge: JudgeSpec, messages: list[dict[str, Any]], model: type[BaseModel]
    ) -> None:
        if key not in lines:
            lines[key] = batch_line(key, judge, messages, model, live_mode(scorer.options, judge))
            later.append(model in feeds)

    stopped = await collect_pass(scorer, rubric, source, done, Collector(engine, missed))
    write_atomic(path, b"".join(lines.values()))
    if not lines:
        return (
            f"--export-batch: nothing to export to {path}: the cache answers every call "
            "(score without --export-batch, or --import-batch the replies)"
        )
    note = (
        f"--export-batch: {_calls(len(lines))} of {len(stopped)} item(s) written to {path}; "
        "nothing was sent"
    )
    if any(later):
        note += (
            "; this rubric's later stages are built from these replies: --import-batch them, "
            "then --export-batch again for the next round"
        )
    return note


@dataclass
class Imported:
    """What an import did: replies stored, failed lines, and (with --no-live) the items
    whose calls the file did not answer."""

    answered: int = 0
    failed: dict[str, Failure] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)
    missing: int = 0

    def notice(self, path: Path) -> str:
        note = f"--import-batch: {_calls(self.answered)} answered by {path}"
        if self.failed:
            note += f"; {_calls(len(self.failed))} failed there (unscored with the reason)"
        return note

    def waiting_message(self, path: Path) -> str:
        return (
            f"--no-live: {len(self.waiting)} item(s) wait for {_calls(self.missing)} not in "
            f"{path}; --export-batch them (or import their replies) and run again"
        )


async def import_replies(
    scorer: Scorer, rubric: Rubric, source: Source, done: Container[str], path: Path
) -> Imported:
    """Apply the batch-output file at `path` to scoring `source`: valid replies into the call
    cache, failed lines kept as failures (for `FromFile`). Raises InputError for a bad line."""
    engine = _engine(scorer)
    assert engine.cache is not None  # check_file_options refused --no-cache
    index = _index(path)
    result = Imported()
    # Without stages, the first pass meets every call of the run: a line that answers none is
    # refused before anything is stored. With stages, a later stage's calls are met only once
    # the replies before them are in the cache (this run's calls, paid for: they are kept).
    staged = bool(rubric.stages)
    while True:  # one round per stage
        found = _Round(index)
        collector = found.collector = Collector(engine, found.missed, _answers(result.failed))
        # Items already final are collected too: a reply to one of their calls is known.
        stopped = await collect_pass(scorer, rubric, source, (), collector)
        if not found.calls or not staged:
            _refuse_unknown(path, index, collector.seen)
        if not found.calls:
            break
        _apply(path, index, found.calls, engine, scorer.options, result)
    result.waiting = {i for i in stopped if i not in done}
    result.missing = len({k for i in result.waiting for k in found.missing.get(i, ())})
    return result


def _refuse_unknown(path: Path, index: dict[str, tuple[int, int]], seen: set[str]) -> None:
    unknown = [key for key in index if key not in seen]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise InputError(
            str(path),
            index[unknown[0]][0],
            "answers no call of this run (a file of another run, rubric or panel?); nothing "
            f"was scored{more}",
            field="custom_id",
        )


class _Round:
    """The calls one collecting pass of an import met that no cache answers: those the file
    answers, and the others by item."""

    def __init__(self, index: dict[str, tuple[int, int]]):
        self.index = index
        self.calls: dict[str, tuple[JudgeSpec, type[BaseModel]]] = {}
        self.missing: dict[str, set[str]] = {}
        self.collector: Collector | None = None

    def missed(
        self, key: str, judge: JudgeSpec, messages: list[dict[str, Any]], model: type[BaseModel]
    ) -> None:
        if key in self.index:
            self.calls[key] = (judge, model)
        elif self.collector is not None:
            self.missing.setdefault(self.collector.item, set()).add(key)


class FromFile(Engine):
    """The run's engine, with the calls a batch file answered with a failure answered so.
    It shares the real engine's limits, statistics and cache (its attributes, not copies)."""

    def __init__(self, real: Engine, failed: dict[str, Failure]):
        self.__dict__.update(real.__dict__)
        self.answers = _answers(failed)

    async def call(
        self,
        judge: JudgeSpec,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
        sample: int = 0,
    ) -> CallResult:
        key = self.key(judge, messages, response_model, sample)
        failed = self.answers(key, judge, sample)
        if failed is not None:
            return failed
        return await super().call(judge, messages, response_model, sample)


def _answers(failed: dict[str, Failure]) -> Any:
    def answer(key: str, judge: JudgeSpec, sample: int) -> CallResult | None:
        failure = failed.get(key)
        return None if failure is None else failed_call(judge, sample, failure)

    return answer


def _engine(scorer: Scorer) -> Engine:
    if scorer.engine is None:
        raise RuntimeError("open the Scorer first")
    return scorer.engine


def _index(path: Path) -> dict[str, tuple[int, int]]:
    """Each line's custom_id → (line number, byte offset), the file checked line by line
    first: a bad line is an InputError naming it."""
    index: dict[str, tuple[int, int]] = {}
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise InputError(name, None, f"cannot read the file: {err.strerror or err}") from err
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            at, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as err:
                raise InputError(name, number, f"not JSON ({err})") from err
            if not isinstance(row, dict):
                raise InputError(name, number, "not a JSON object (a batch output line)")
            key = row.get("custom_id")
            if key is None:
                raise InputError(name, number, "missing", field="custom_id")
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise InputError(
                    name, number, f"{str(key)[:80]!r} is not a call of judge's", field="custom_id"
                )
            if key in index:
                raise InputError(
                    name, number, f"the same as line {index[key][0]}'s", field="custom_id"
                )
            response = row.get("response")
            if response is not None and not isinstance(response, dict):
                raise InputError(name, number, "not an object or null", field="response")
            index[key] = (number, at)
    return index


def live_mode(opts: RunOptions, judge: JudgeSpec) -> str:
    """The structured-output mode a live call of `judge` would use: the lean path (the default
    for OpenAI-compatible servers) sends response_format json_schema whatever --mode says, so
    an exported line is the body a live call sends, and its reply is read the same way."""
    from judge.judging.providers.lean import use_lean

    if use_lean(opts.client, judge.model, opts.api_base, opts.mode):
        return "json_schema"
    return opts.mode


def _apply(
    path: Path,
    index: dict[str, tuple[int, int]],
    found: dict[str, tuple[JudgeSpec, type[BaseModel]]],
    engine: Engine,
    opts: RunOptions,
    result: Imported,
) -> None:
    """Read the lines that answer `found`'s calls: replies into the cache, failures kept."""
    assert engine.cache is not None
    with path.open("rb") as handle:
        for key, (judge, model) in found.items():
            handle.seek(index[key][1])
            row = json.loads(handle.readline())
            try:
                reply = reply_of(judge, row, model, live_mode(opts, judge))
            except LineFailed as exc:
                result.failed[key] = exc.failure
                continue
            keep_reply(engine.cache, key, judge, reply)
            result.answered += 1


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"
