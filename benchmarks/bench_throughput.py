"""Throughput of `judge score` against a bare asyncio gather of `litellm.acompletion`.

judge runs with `--client litellm` here (the engine's overhead over the client it uses); the
lean path is measured against a bare aiohttp gather by bench_lean.py.

Both talk to the same local OpenAI-compatible test server (a separate process, with injected
latency), carry the same prompts and the same tool (instructor's, for the rubric's response
model), at the same concurrency; before timing, one item is sent both ways to an in-process test
server and the two request bodies are compared. Prints:

- judgments/s of each, and their ratio (target >= 0.9: the engine adds at most 10%), with
  this process's CPU time per call (wall-clock figures move with other load on the machine;
  CPU per call much less);
- peak calls in flight of each;
- a cached rerun into a new results file (every call answered by the cache): records/s and
  requests sent (target >= 2,000 records/s, 0 requests);
- a resumed rerun into the same results file: records/s;
- a cached rerun as a whole process (a new `judge score` into a new results file): seconds,
  requests sent, and whether litellm was imported (target: 500 items under 1.5 s, no import).

    python benchmarks/bench_throughput.py                       # 2,000 items, 200 ms, c=64
    python benchmarks/bench_throughput.py -n 500 --latency 0.05
    python benchmarks/bench_throughput.py --rounds 3            # median of 3 alternated pairs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import judge  # noqa: E402
from judge.contracts import Rubric  # noqa: E402
from judge.judging.prompts import render_prompt, response_model  # noqa: E402
from judge.load.inputs import read_items  # noqa: E402
from judge.load.rubric import load_rubric  # noqa: E402

MODEL = "openai/bench-judge"
FIXTURE = ROOT / "tests" / "fixtures" / "predictions.jsonl"


def five_criteria() -> Rubric:
    """ddx's first five LLM criteria (the issue's "5 criteria")."""
    ddx = load_rubric("ddx")
    return ddx.model_copy(update={"id": "ddx-5", "criteria": ddx.llm_criteria[:5]})


def write_items(path: Path, n: int) -> None:
    """n distinct synthetic items (distinct histories, so no two prompts are the same)."""
    cases = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    with path.open("w") as handle:
        for i in range(n):
            case = cases[i % len(cases)]
            history = f"{case['CLINICAL_HISTORY']} (synthetic variant {i})"
            row = {**case, "title": f"bench {i}", "CLINICAL_HISTORY": history}
            handle.write(json.dumps(row) + "\n")


@contextmanager
def test_server(latency: float) -> Iterator[str]:
    """The test LLM server in its own process; yields its /v1 URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_server", "--port", "0", "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


def tool_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The tool and tool_choice instructor's TOOLS mode sends for `model`."""
    import instructor

    function = instructor.openai_schema(model).openai_schema
    choice = {"type": "function", "function": {"name": function["name"]}}
    return {"tools": [{"type": "function", "function": function}], "tool_choice": choice}


@dataclass(frozen=True)
class Timed:
    """Wall-clock and CPU seconds (this process, all threads) of one timed run."""

    seconds: float
    cpu: float
    calls: int

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu / self.calls


async def bare_gather(
    url: str, rubric: Rubric, items_path: Path, concurrency: int
) -> tuple[Timed, int]:
    """A bare gather of litellm.acompletion with judge's prompts and tool, timed, and the
    peak number of calls in flight."""
    import litellm

    fields = tool_fields(response_model(rubric))
    prompts = []
    for item in read_items(items_path):
        prompt = render_prompt(rubric, item.prediction)
        assert prompt is not None
        prompts.append(prompt.messages)
    slots = asyncio.Semaphore(concurrency)
    in_flight = peak = 0

    async def one(messages: list[dict[str, str]]) -> None:
        # The reply is dropped, as judge drops it once read (2,000 replies held until the
        # gather ends grew the heap each GC pass walks: 4-7% more CPU per call, measured).
        nonlocal in_flight, peak
        async with slots:
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await litellm.acompletion(
                    model=MODEL,
                    messages=messages,
                    **fields,
                    temperature=0.0,
                    api_base=url,
                    api_key="sk-bench",
                    num_retries=0,
                )
            finally:
                in_flight -= 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(m) for m in prompts))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await litellm.close_litellm_async_clients()
    return Timed(elapsed, cpu, len(prompts)), peak


def check_same_payload(rubric: Rubric, items: Path) -> None:
    """Send the first item both ways to an in-process test server; fail unless the request
    bodies are the same (so the ratio compares like with like)."""
    from tests.llm_server import LLMServer

    one = items.with_name("one.jsonl")
    one.write_text(items.read_text().splitlines()[0] + "\n")
    with LLMServer() as server:
        asyncio.run(bare_gather(server.url, rubric, one, 1))
        judge.score(one, rubric, judges=[MODEL], api_base=server.url, cache=False, client="litellm")
        bare, ours = (r.body for r in server.requests)
    if bare != ours:
        keys = sorted(k for k in {*bare, *ours} if bare.get(k) != ours.get(k))
        raise SystemExit(f"the two request bodies differ in {keys}: not a like-for-like bench")


def judge_run(
    url: str, rubric: Rubric, items: Path, out: Path, concurrency: int
) -> tuple[Any, Timed]:
    started, cpu = time.perf_counter(), time.process_time()
    result = judge.score(
        items,
        rubric,
        out=out,
        judges=[MODEL],
        api_base=url,
        concurrency=concurrency,
        client="litellm",
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return result, Timed(elapsed, cpu, max(result.summary.calls, 1))


# Runs the CLI in a fresh interpreter and says on stderr whether litellm got imported.
PROBE = """
import sys
from judge.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    print("litellm imported:", "litellm" in sys.modules, file=sys.stderr)
"""


def cached_process(url: str, rubric: Rubric, items: Path, out: Path) -> tuple[float, int, str]:
    """A whole `judge score` process over `items` into a new `out`: seconds, requests sent
    (calls the cache did not answer) and the probe's line on litellm."""
    rubric_file = out.with_suffix(".rubric.yaml")
    rubric_file.write_text(yaml.safe_dump(rubric.model_dump(mode="json", exclude_unset=True)))
    args = ["score", str(items), "--rubric", str(rubric_file), "--judge", MODEL]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--api-base", url, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in out.read_text().splitlines()]
    sent = sum(not call["cached"] for record in records for call in record["calls"])
    probe = next(line for line in done.stderr.splitlines() if line.startswith("litellm"))
    return seconds, sent, probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="items")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="timed pairs of runs, each pair in the other order; figures are the median pair's "
        "(steadier while something else loads the machine)",
    )
    args = parser.parse_args()
    rubric = five_criteria()
    k = len(rubric.criteria)
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        items = Path(tmp) / "items.jsonl"
        write_items(items, args.n)
        warm = Path(tmp) / "warm.jsonl"
        write_items(warm, min(args.n, 64))
        with test_server(args.latency) as url:
            check_same_payload(rubric, items)
            # Warm the server, litellm's clients and tokenizers before anything is timed.
            asyncio.run(bare_gather(url, rubric, warm, args.concurrency))
            for r in range(args.rounds):
                os.environ["JUDGE_HOME"] = str(Path(tmp) / f"home{r}")  # a cold cache
                out = Path(tmp) / f"a{r}.jsonl"
                if r % 2:
                    result, ours = judge_run(url, rubric, items, out, args.concurrency)
                bare, bare_peak = asyncio.run(bare_gather(url, rubric, items, args.concurrency))
                if not r % 2:
                    result, ours = judge_run(url, rubric, items, out, args.concurrency)
                pairs.append((bare.seconds / ours.seconds, bare, bare_peak, ours, result))
            # Reruns use the last round's cache.
            cached, cached_s = judge_run(
                url, rubric, items, Path(tmp) / "b.jsonl", args.concurrency
            )
            resumed, resumed_s = judge_run(
                url, rubric, items, Path(tmp) / "b.jsonl", args.concurrency
            )
            process_s, process_sent, probe = cached_process(
                url, rubric, items, Path(tmp) / "c.jsonl"
            )
    n = args.n
    print(
        f"items {n}, criteria {k}, latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}, cores {os.cpu_count()}"
    )
    if args.rounds > 1:
        for r, (ratio, bare, _, ours, _) in enumerate(pairs, 1):
            print(
                f"round {r}             : bare {n * k / bare.seconds:6.1f}, "
                f"judge {n * k / ours.seconds:6.1f} judgments/s, ratio {ratio:.3f}"
            )
        print(f"median of {args.rounds} rounds:")
    ratio, bare, bare_peak, ours, result = sorted(pairs, key=lambda pair: pair[0])[len(pairs) // 2]
    print(
        f"bare litellm gather : {n * k / bare.seconds:8.1f} judgments/s ({bare.seconds:.2f} s; "
        f"CPU {bare.cpu_ms_per_call:.2f} ms per call)"
    )
    print(
        f"judge score         : {n * k / ours.seconds:8.1f} judgments/s ({ours.seconds:.2f} s; "
        f"CPU {ours.cpu_ms_per_call:.2f} ms per call), "
        f"scored {result.summary.status.get('scored', 0)}/{n}"
    )
    print(f"ratio judge / bare  : {ratio:.3f}  (target >= 0.9; same request bodies)")
    print(f"peak calls in flight: judge {result.peak_in_flight}, bare {bare_peak}")
    sent = cached.summary.calls - cached.summary.cached_calls
    print(f"cached rerun        : {n / cached_s.seconds:8.0f} records/s, requests sent {sent}")
    print(f"resumed rerun       : {n / resumed_s.seconds:8.0f} records/s, judged {resumed.judged}")
    print(
        f"cached rerun process: {process_s:8.2f} s for {n} items (a new judge score), "
        f"requests sent {process_sent}, {probe}"
    )


if __name__ == "__main__":
    main()
