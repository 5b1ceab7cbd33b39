#!/usr/bin/env python3
"""Use judge from inside another evaluation harness: score one item, a list, a pandas
DataFrame, blocking and with asyncio.

    python examples/embed_in_harness.py                       # no judge: the twi rubric
    python examples/embed_in_harness.py --judge openai/gpt-4o-mini          # ddx, with a judge
    python examples/embed_in_harness.py --judge hosted_vllm/Qwen2.5-7B-Instruct \\
        --api-base http://127.0.0.1:8000/v1

With no `--judge` it scores the `twi` rubric (ROUGE of the Think-with-Images trace against the
case: no LLM, no key, no network). With a judge it scores `ddx` (the judge's six criteria and
final-answer accuracy). The items are the first cases of `examples/predictions.jsonl`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

import judge  # noqa: E402
from judge.frame import ascore_frame, score_frame  # noqa: E402
from judge.scorer import RunOptions, Scorer  # noqa: E402


def load_rows(n: int) -> list[dict[str, Any]]:
    """The first `n` cases with their model outputs, as dicts in the predictions-file shape."""
    lines = (HERE / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:n]]


def show(how: str, item_id: str, scores: dict[str, Any]) -> None:
    values = " ".join(f"{k}={_fmt(v)}" for k, v in scores.items())
    print(f"[{how}] {item_id}: {values}")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "unscored"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def run_sync(rows: list[dict[str, Any]], rubric: str, options: dict[str, Any]) -> None:
    # One item: a list of one. No `out`, so the records come back in memory.
    result = judge.score(rows[:1], rubric, **options)
    for record in result.records:
        show("one item, sync", record.id, record.scores)
    # A list of dicts (or judge.Prediction objects).
    result = judge.score(rows, rubric, **options)
    for record in sorted(result.records, key=lambda r: r.line):
        show("list, sync", record.id, record.scores)
    # A DataFrame in, a DataFrame out: one row per input row, one column per criterion.
    scored = score_frame(pd.DataFrame(rows), rubric, **options)
    for _, row in scored.iterrows():
        show("DataFrame, sync", row["id"], row.drop(["id", "status"]).to_dict())
    print(scored.drop(columns="id").round(4).to_string())
    for notice in result.notices:
        print(f"note: {notice}")


async def run_async(rows: list[dict[str, Any]], rubric: str, options: dict[str, Any]) -> None:
    # One item at a time, judges and cache opened once: what a harness's own loop would do.
    async with Scorer(RunOptions(**options)) as scorer:
        record = await scorer.score(rows[0], rubric)
        show("one item, async", record.id, record.scores)
    result = await judge.ascore(rows, rubric, **options)
    for record in sorted(result.records, key=lambda r: r.line):
        show("list, async", record.id, record.scores)
    scored = await ascore_frame(pd.DataFrame(rows), rubric, **options)
    for _, row in scored.iterrows():
        show("DataFrame, async", row["id"], row.drop(["id", "status"]).to_dict())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", action="append", default=[], help="A litellm model.")
    parser.add_argument("--api-base", help="An OpenAI-compatible server for the judge.")
    parser.add_argument("--items", type=int, default=3, help="How many cases to score.")
    parser.add_argument("--no-cache", action="store_true", help="Do not use the call cache.")
    args = parser.parse_args(argv)
    rubric = "ddx" if args.judge else "twi"
    options: dict[str, Any] = {"judges": args.judge, "cache": not args.no_cache}
    if args.api_base:
        options["api_base"] = args.api_base
    print(f"rubric {rubric}; judges: {', '.join(args.judge) or 'none (no LLM needed)'}")
    rows = load_rows(args.items)
    run_sync(rows, rubric, options)
    asyncio.run(run_async(rows, rubric, options))


if __name__ == "__main__":
    main()
