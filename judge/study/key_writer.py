"""`judge keys build`: draft one case key per case with a judge model, from the case material
alone (issue #25).

The key writer's prompt holds `case_material(case)` and nothing else of the line: a
prediction's text never reaches it, whatever the file holds. Its reply must validate as the
key's items (`KeyDraftReply`: structured output through the engine, with its cache, retries
and redaction). The cost is estimated before any call; `--max-cost` stops the run, as score's
budget does, before the case that would cross it. The keys file is appended to as each key is
drafted and resumed like a results file (judge.store.results.ResultsWriter, as a keys file):
a rerun keeps every key whose case is unchanged, drafts only the rest, and the call cache
answers any call that had finished before a run was killed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.contracts.case_keys import (
    KEY_FORMAT,
    KEY_ITEMS_LIMIT,
    CaseKey,
    KeyCheck,
    KeyDraft,
    case_material,
    case_material_hash,
)
from judge.contracts.cases import Case
from judge.errors import ConfigError, InputError
from judge.judging.budget import Budget, Estimate
from judge.judging.engine import CompleteFn, Completion, JudgeSpec
from judge.judging.prepared import PlannedCall
from judge.judging.prompts import TEMPLATES, template_hash
from judge.judging.scheduler import run_blocking
from judge.load.cases import cases_or_none
from judge.load.inputs import iter_items
from judge.options import RunOptions
from judge.scorer import Scorer
from judge.store.outputs import refuse_inputs
from judge.store.results import ResultsWriter, kept_ids
from judge.store.resultsfile import FileKind
from judge.store.sqlite import now

__all__ = [
    "KEYS_FILE",
    "KEY_WRITER_TEMPLATE",
    "BuildResult",
    "KeyDraftReply",
    "build_keys",
    "key_writer_messages",
    "keyed_cases",
]

KEY_WRITER_TEMPLATE = "key_writer.txt"
# A keys file, as the results machinery resumes it: a CaseKey is dumped `format` first.
KEYS_FILE = FileKind(
    "keys file",
    frozenset({"format", "case", "case_hash", "items", "drafted", "status"}),
    b'{"format":',
    "case",
)
# About 40 tokens an item, a key of 20 to 30 items.
_REPLY_TOKENS = 1200


class KeyDraftReply(BaseModel):
    """What the key writer answers: the key's items (each validated as a KeyCheck)."""

    model_config = ConfigDict(extra="forbid")

    items: list[KeyCheck] = Field(min_length=1, max_length=KEY_ITEMS_LIMIT)


@dataclass
class BuildResult:
    """What a build did: keys drafted now, kept from an earlier run, failed, its cost."""

    out: Path
    cases: int
    drafted: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)
    estimate: Estimate = field(default_factory=Estimate)
    spent_usd: float = 0.0
    # Why the build ended before every case had a key (a --max-cost budget), or None.
    stopped: str | None = None
    notices: list[str] = field(default_factory=list)


def key_writer_messages(case: Case) -> list[dict[str, Any]]:
    """The key writer's prompt: its instructions, and the case material as JSON. Only
    `case_material(case)`: never a candidate's text."""
    system = (TEMPLATES / KEY_WRITER_TEMPLATE).read_text(encoding="utf-8")
    material = json.dumps(case_material(case), ensure_ascii=False, indent=1)
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"The case material:\n{material}"},
    ]


def keyed_cases(
    source: str | Path | None, opts: RunOptions
) -> Iterator[tuple[str, Case, str, int]]:
    """(case id, case, file, line) for each case of a predictions file `source` (joined to
    `opts.cases` when given) or, without `source`, of the cases file `opts.cases`. The first
    bad line is raised; a case predicted twice (several models' answers) is keyed once."""
    cases = cases_or_none(opts.cases, opts.id_field)
    if source is None:
        if cases is None:
            raise ConfigError("give a predictions file, or a cases file with --cases")
        for case_id, row in cases.rows.items():
            name, line = cases.where[case_id]
            yield case_id, Case.model_validate(row), name, line
        return
    seen: set[str] = set()
    for item in iter_items(source, opts.id_field, cases, fmt=opts.format):
        if isinstance(item, InputError):
            if item.message.startswith("duplicate id"):
                continue
            raise item
        if item.id not in seen:
            seen.add(item.id)
            yield item.id, item.prediction, str(source), item.line


def build_keys(
    source: str | Path | None,
    out: str | Path,
    *,
    options: RunOptions | None = None,
    complete: CompleteFn | None = None,
    dry_run: bool = False,
    on_plan: Callable[[BuildResult], Any] | None = None,
) -> BuildResult:
    """Draft a key for every case of `source` (see `keyed_cases`) not keyed in `out` yet.
    `on_plan(result)` is called once the cost is estimated, before any call."""
    return run_blocking(
        _build(source, Path(out), options or RunOptions(), complete, dry_run, on_plan)
    )


async def _build(
    source: str | Path | None,
    out: Path,
    opts: RunOptions,
    complete: CompleteFn | None,
    dry_run: bool,
    on_plan: Callable[[BuildResult], Any] | None,
) -> BuildResult:
    if len(opts.judges) != 1:
        raise ConfigError("judge keys build takes one key writer: --judge MODEL, once")
    cases = {case_id: case for case_id, case, _, _ in keyed_cases(source, opts)}
    hashes = {case_id: case_material_hash(case) for case_id, case in cases.items()}
    result = BuildResult(out=out, cases=len(cases))
    inputs = [("the predictions file", source)] if source is not None else []
    inputs += [("the cases file", opts.cases)] if opts.cases is not None else []

    def keep(line: dict[str, Any]) -> bool:
        return _current(line, hashes)

    writer = ResultsWriter(out, keep, inputs=inputs, kind=KEYS_FILE)
    # A dry run reads what an earlier run wrote, and changes nothing.
    scorer = Scorer(opts, (complete or _never_called) if dry_run else complete, use="file")
    await scorer.open()
    try:
        if dry_run:
            refuse_inputs(out, [source, opts.cases])
            done = kept_ids(out, keep, None, KEYS_FILE)
        else:
            done = writer.open()
            result.notices += writer.notices
        todo = [c for c in cases if c not in done]
        done.close()
        result.kept = len(cases) - len(todo)
        judge = scorer.judges[0]
        calls = {c: _planned(judge, cases[c]) for c in todo}
        for call in calls.values():
            result.estimate.add(scorer.estimate_calls([call]))
        if on_plan is not None:
            on_plan(result)
        if dry_run:
            return result
        budget = _budget(opts, result.estimate)
        async with contextlib.aclosing(_draft_all(scorer, calls, cases, budget, result)) as keys:
            async for key in keys:
                writer.write(key)
                result.drafted += 1
    finally:
        writer.close()
        await scorer.close()
        result.notices += scorer.notices
    return result


def _current(line: dict[str, Any], hashes: dict[str, str]) -> bool:
    """Whether an earlier line is kept: a valid key of a case whose material is unchanged (or
    of a case not in this source: not this run's to redo). Others are drafted anew, the file
    as it was kept as a backup (ResultsWriter)."""
    try:
        key = CaseKey.model_validate(line)
    except ValidationError:
        return False
    return hashes.get(key.case, key.case_hash) == key.case_hash


def _planned(judge: JudgeSpec, case: Case) -> PlannedCall:
    return PlannedCall(judge, key_writer_messages(case), KeyDraftReply, 0, _REPLY_TOKENS)


def _budget(opts: RunOptions, estimate: Estimate) -> Budget | None:
    if opts.max_cost is None:
        return None
    if estimate.cost_usd is None:
        raise ConfigError(
            "--max-cost needs a price for the key writer; litellm's price map has none for "
            + ", ".join(sorted(estimate.unpriced))
        )
    return Budget(opts.max_cost)


async def _draft_all(
    scorer: Scorer,
    calls: dict[str, PlannedCall],
    cases: dict[str, Case],
    budget: Budget | None,
    result: BuildResult,
) -> AsyncGenerator[CaseKey, None]:
    """Each case's key as its call finishes, a bounded number at a time, within the budget."""
    refused: list[str] = []

    def admit(case_id: str) -> bool:
        if budget is None:
            return True
        cost = scorer.estimate_calls([calls[case_id]]).cost_usd or 0.0
        refused[:] = [] if budget.reserve(case_id, cost) else [case_id]
        return not refused

    async def draft(case_id: str) -> tuple[str, CaseKey | None, float]:
        assert scorer.engine is not None
        call = calls[case_id]
        answer = await scorer.engine.call(call.judge, call.messages, KeyDraftReply)
        paid = 0.0 if answer.usage.cached else answer.usage.cost_usd or 0.0
        if answer.verdict is None:
            return case_id, None, paid
        reply = KeyDraftReply.model_validate(answer.verdict)
        key = CaseKey(
            format=KEY_FORMAT,
            case=case_id,
            case_hash=case_material_hash(cases[case_id]),
            items=reply.items,
            drafted=KeyDraft(
                by=call.judge.name,
                prompt_hash=template_hash((KEY_WRITER_TEMPLATE,)),
                at=datetime.fromisoformat(now()),
            ),
            status="draft",
        )
        return case_id, key.stamped(), paid

    stream = scorer.scheduler.stream(list(calls), draft, admit=admit)
    async with contextlib.aclosing(stream):
        async for case_id, key, paid in stream:
            result.spent_usd += paid
            if budget is not None:
                budget.settle(case_id, paid)
            if key is None:
                result.failed.append(case_id)
            else:
                yield key
    if refused:
        assert budget is not None
        result.stopped = (
            f"--max-cost ${budget.max_usd:g} would be crossed by the next key (spent "
            f"${budget.spent:.4f}); run again with a higher budget to draft the rest"
        )


async def _never_called(**_: Any) -> Completion:
    raise AssertionError("a dry run calls no key writer")
