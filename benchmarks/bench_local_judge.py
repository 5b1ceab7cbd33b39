"""The bundled local judge (SmolLM2-135M behind llama.cpp's C++ server) on this machine.

N judgments (default: each bundled example once), each a ~370-token prompt with 6 ordinal
criteria (a short rationale and a score in 1..5 each), through instructor + litellm +
`LocalJudge.wrap`, with as many in flight as the server has slots. For each slot count, a
fresh server: prints items per minute, seconds per judgment, and how many replies validated
on the first try, after instructor's retries, or never.

    python benchmarks/bench_local_judge.py                   # 1, 2 and 4 slots, N=12
    python benchmarks/bench_local_judge.py --slots 2 --mode tools -n 10   # another mode

Needs `pip install 'judge[local]'`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from judge.judging.providers.local import LocalJudge, local_judge, repair_json_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "predictions.jsonl"
CRITERIA = {
    "evidence_grounding": "Does it cite imaging and clinical findings that are in the case?",
    "distractor_elimination": "Are the other options each ruled out for a case-specific reason?",
    "clinical_integration": "Does it join the clinical history with the imaging?",
    "medical_accuracy": "Are its medical statements correct?",
    "coherence": "Does the conclusion follow from the argument and match the chosen letter?",
    "conciseness": "Is it free of padding and repetition?",
}
MODES = ("json_schema", "tools", "json", "md_json")
_ATTEMPTS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("attempts")


def _count_attempt(tally: Tally) -> None:
    tally.attempts += 1
    _ATTEMPTS.get([0])[0] += 1


def verdict_model(rationale_max: int) -> type[BaseModel]:
    """One entry per criterion: a short rationale, then an ordinal score as an enum."""
    limit: Any = Field(max_length=rationale_max) if rationale_max else Field()

    class Graded(BaseModel):
        rationale: str = limit
        score: Literal[1, 2, 3, 4, 5]

    fields: Any = {name: (Graded, ...) for name in CRITERIA}
    return create_model("Verdict", **fields)


def prompts() -> list[str]:
    """One prompt per example prediction: the case in brief, the answer, the criteria."""
    out = []
    for row in map(json.loads, EXAMPLES.read_text().splitlines()):
        twi = row.get("prediction_twi") or {}
        answer = twi.get("step3_differential_reasoning") or row.get("prediction_rationale") or ""
        options = " ".join(f"{k}. {v}" for k, v in row["options"].items())
        findings = row["IMAGING_FINDINGS"].split(". ")
        criteria = "\n".join(f"- {k}: {q}" for k, q in CRITERIA.items())
        out.append(
            f"You are a radiologist judging a candidate's answer to a case.\n\n"
            f"Case: {row['CLINICAL_HISTORY']}\nImaging: {'. '.join(findings[:1])}.\n"
            f"Options: {options}\n\n"
            f"Candidate answer (letter {row.get('prediction') or 'none'}):\n{answer[:300]}\n\n"
            f"For each criterion give a one-sentence rationale and a score from 1 (poor) to "
            f"5 (excellent):\n{criteria}"
        )
    return out


@dataclass
class Tally:
    first_try: int = 0
    after_retry: int = 0
    invalid: int = 0
    attempts: int = 0
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    repaired: int = 0  # raw replies that strict JSON rejected and the adapter repaired
    errors: list[str] = field(default_factory=list)


async def judge_once(create: Any, judge: LocalJudge, prompt: str, model: type[BaseModel],
                     args: argparse.Namespace, tally: Tally) -> None:  # fmt: skip
    # Replies for this judgment alone (several are in flight; instructor's hook is per client,
    # but each judgment runs in its own task, and so in its own copy of the context).
    mine = [0]
    _ATTEMPTS.set(mine)
    try:
        _, completion = await create(
            **judge.litellm_kwargs(),
            messages=[{"role": "user", "content": prompt}],
            response_model=model,
            temperature=0.0,
            max_tokens=args.max_tokens,
            max_retries=args.retries,
        )
        tally.prompt_tokens.append(completion.usage.prompt_tokens)
        tally.completion_tokens.append(completion.usage.completion_tokens)
        if mine[0] <= 1:
            tally.first_try += 1
        else:
            tally.after_retry += 1
    except Exception as exc:  # an invalid reply after every retry: the engine's `unscored`
        tally.invalid += 1
        tally.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")


async def run(args: argparse.Namespace) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for slots in args.slots:
        await run_slots(args, slots)


async def run_slots(args: argparse.Namespace, slots: int) -> None:
    import instructor
    import litellm

    model, items, tally = verdict_model(args.rationale_max), prompts(), Tally()
    n = args.n or len(items)
    async with local_judge(args.judge, n_ctx=2048, slots=slots, threads=args.threads) as judge:
        counted = counting(litellm.acompletion, tally)
        complete = counted if args.no_adapter else judge.wrap(counted)
        mode = instructor.Mode[args.mode.upper()]
        client = instructor.from_litellm(complete, mode=mode, async_client=True)
        client.on("completion:response", lambda *_: _count_attempt(tally))
        create = client.chat.completions.create_with_completion
        warm = time.perf_counter()
        await judge_once(create, judge, items[-1], model, args, Tally())  # warm-up, not counted
        print(f"warm-up judgment: {time.perf_counter() - warm:.1f} s, {tally.attempts} call(s)")
        tally.attempts = tally.repaired = 0
        bound = asyncio.Semaphore(judge.max_concurrency)

        async def one(i: int) -> None:
            async with bound:
                await judge_once(create, judge, items[i % len(items)], model, args, tally)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - start
    report(args, slots, n, tally, elapsed)


def counting(acompletion: Any, tally: Tally) -> Any:
    """`acompletion` that counts raw replies the adapter's newline repair has to fix."""

    async def complete(**kwargs: Any) -> Any:
        response = await acompletion(**kwargs)
        message = response.choices[0].message
        texts = [message.content or ""]
        texts += [call.function.arguments for call in message.tool_calls or []]
        tally.repaired += any(repair_json_text(t) != t for t in texts if t)
        return response

    return complete


def judge_threads(args: argparse.Namespace) -> int:
    return args.threads or max(1, len(os.sched_getaffinity(0)) // 2)


def report(args: argparse.Namespace, slots: int, n: int, tally: Tally, elapsed: float) -> None:
    tokens = sum(tally.prompt_tokens) / max(len(tally.prompt_tokens), 1)
    out_tokens = sum(tally.completion_tokens) / max(len(tally.completion_tokens), 1)
    adapter = "without adapter" if args.no_adapter else "with LocalJudge.wrap"
    print(f"judge: {args.judge}, {slots} slot(s), {judge_threads(args)} thread(s), "
          f"mode {args.mode} ({adapter}), N={n}, "
          f"{len(CRITERIA)} criteria, prompt ≈ {tokens:.0f} tokens, "
          f"reply ≈ {out_tokens:.0f} tokens, max_retries={args.retries}, "
          f"rationale maxLength={args.rationale_max or 'none'}")  # fmt: skip
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"slots {slots}: {n} items in {elapsed:.1f} s, items per minute: "
          f"{60 * n / elapsed:.1f}, seconds per judgment: {elapsed / n:.2f} "
          f"(load average after: {load})")  # fmt: skip
    print(f"valid first try: {tally.first_try}/{n}, valid after retry: "
          f"{tally.after_retry}/{n}, invalid (unscored): {tally.invalid}/{n}; "
          f"{tally.attempts} calls in all, {tally.repaired} raw replies needed the newline "
          f"repair")  # fmt: skip
    for error in tally.errors:
        print(f"  invalid: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local/smollm2-135m")
    parser.add_argument("-n", type=int, default=0, help="judgments (0: each example once)")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=None, help="default: half the cores")
    parser.add_argument("--mode", choices=MODES, default="json_schema")
    parser.add_argument("--retries", type=int, default=2, help="instructor max_retries")
    parser.add_argument("--max-tokens", type=int, default=700)
    parser.add_argument("--rationale-max", type=int, default=200, help="0: no maxLength")
    parser.add_argument("--no-adapter", action="store_true", help="plain litellm.acompletion")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
