"""The lean path's targets: `judge score` against a bare aiohttp gather of the same request
bodies and against Inspect AI's `model_graded_qa`, all on one test LLM server; and a run at scale.

One process tree: the test server (tests/llm_server.py) runs in its own process, and each side
in a child process of this one, in turns (rotated every round), so no side shares a GIL or
leftover state with another. Each child times its own work, after its imports: wall seconds, CPU
seconds (all its threads) and calls. Before timing, judge's first request body and the bare
gather's are sent to an in-process test server and compared. Prints every round, the medians,
the three ratios against their targets, and the load average (the machine is shared).

- judge wall / bare aiohttp wall: target <= 1.5;
- Inspect wall / judge wall: target >= 4 (Inspect's grader prompt is its own, shorter one);
- judge's client CPU per call: target <= 1.5 ms.

`--scale`: judge alone on 50,000 items at 20 ms latency and 256 in flight: judgments/s and
RSS sampled every second (after warm-up, quartiles, peak) to show memory stays flat.

    python benchmarks/bench_lean.py                      # 500 items, 200 ms, c=64, 3 rounds
    python benchmarks/bench_lean.py --scale              # 50,000 items, 20 ms, c=256

Inspect AI 0.3.285's OpenAI provider wants openai >= 3.4, newer than judge's venv may hold:
`pip install --no-deps --target DIR openai` and pass `--inspect-path DIR` (put first on the
Inspect side's PYTHONPATH only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_throughput import five_criteria, write_items  # noqa: E402

MODEL = "openai/bench-judge"
SIDES = ("judge", "bare", "inspect")


# ------------------------------------------------------------------ the sides (child processes)


def bare_bodies(items: Path) -> list[bytes]:
    """The request bodies judge's lean path sends for `items`, as bytes."""
    from judge.judging.prompts import render_prompt, response_model
    from judge.load.inputs import read_items

    rubric = five_criteria()
    model = response_model(rubric)
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
    }
    found = []
    for item in read_items(items):
        prompt = render_prompt(rubric, item.prediction)
        assert prompt is not None
        body = {
            "model": MODEL.split("/", 1)[1],
            "messages": prompt.messages,
            "response_format": fmt,
            "temperature": 0.0,
        }
        found.append(json.dumps(body).encode())
    return found


async def bare_gather(url: str, bodies: list[bytes], concurrency: int) -> int:
    """A bare aiohttp gather: one session, `concurrency` connections; each reply read as JSON."""
    import aiohttp

    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes) -> None:
            async with session.post(f"{url}/chat/completions", data=body, headers=headers) as r:
                json.loads(await r.read())

        await asyncio.gather(*(one(b) for b in bodies))
    return len(bodies)


def run_judge(url: str, items: Path, out: Path, concurrency: int) -> int:
    import judge

    result = judge.score(
        items, five_criteria(), out=out, judges=[MODEL], api_base=url, concurrency=concurrency
    )
    scored = result.summary.status.get("scored", 0)
    if scored != result.summary.n_records:
        raise SystemExit(f"judge scored {scored} of {result.summary.n_records}")
    return result.summary.calls


def run_inspect(url: str, items: Path, log_dir: Path, concurrency: int) -> int:
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import GenerateConfig, ModelOutput, get_model
    from inspect_ai.scorer import model_graded_qa
    from inspect_ai.solver import Generate, TaskState, solver

    rows = [json.loads(line) for line in items.read_text().splitlines()]
    samples = [
        Sample(
            input=row["CLINICAL_HISTORY"],
            target=str(row["correct_answer"]),
            metadata={"answer": f"{row['prediction']}: {row['prediction_rationale']}"},
        )
        for row in rows
    ]

    @solver
    def canned() -> Any:
        # The candidate's answer is given, as judge is given it: no model writes it.
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            state.output = ModelOutput.from_content("canned", state.metadata["answer"])
            return state

        return solve

    config = GenerateConfig(max_connections=concurrency, max_retries=0)
    # Chat completions, as judge sends (Inspect's openai provider would use the Responses API).
    grader = get_model(MODEL, base_url=url, api_key="sk-bench", config=config, responses_api=False)
    task = Task(dataset=samples, solver=canned(), scorer=model_graded_qa(model=grader))
    (log,) = inspect_eval(
        task,
        model="mockllm/model",
        log_dir=str(log_dir),
        display="none",
        max_samples=concurrency,
        max_connections=concurrency,
    )
    if log.status != "success":
        raise SystemExit(f"inspect ended {log.status}: {log.error and log.error.message}")
    return len(samples)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def side(args: argparse.Namespace) -> None:
    """One side, in this (child) process: its figures as one JSON line on stdout. Each side
    first runs once on the first 32 items (imports, connections, templates, a judge's caches
    in another home), so the figures are the run's own, as a long run would see them."""
    items, tmp = Path(args.items), Path(args.tmp)
    warm = tmp / f"warm-{os.getpid()}.jsonl"
    warm.write_text("".join(items.read_text().splitlines(keepends=True)[:32]))
    samples: list[float] = []
    done = threading.Event()

    def sample_rss() -> None:
        while not done.wait(1.0):
            samples.append(rss_mb())

    def run(path: Path) -> int:
        os.environ["JUDGE_HOME"] = str(tmp / f"home-{time.monotonic_ns()}")  # a cold cache
        if args.side == "bare":
            return asyncio.run(bare_gather(args.url, bare_bodies(path), args.concurrency))
        if args.side == "judge":
            out = tmp / f"out-{time.monotonic_ns()}.jsonl"
            return run_judge(args.url, path, out, args.concurrency)
        logs = tmp / f"inspect-{time.monotonic_ns()}"
        return run_inspect(args.url, path, logs, args.concurrency)

    run(warm)
    if args.side == "bare":  # its bodies are ready before it starts, as a script's would be
        bodies = bare_bodies(items)
    threading.Thread(target=sample_rss, daemon=True).start()
    started, cpu = time.perf_counter(), time.process_time()
    if args.side == "bare":
        calls = asyncio.run(bare_gather(args.url, bodies, args.concurrency))
    else:
        calls = run(items)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    print(json.dumps({"wall": wall, "cpu": cpu, "calls": calls, "rss": samples}))


# ------------------------------------------------------------------ the parent


@contextmanager
def test_server(latency: float) -> Iterator[str]:
    """The test LLM server in its own process; yields its /v1 URL. It keeps every request it
    saw (50,000 bodies at scale: most of a GB), so it may take a while to stop."""
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
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def child(
    name: str, url: str, items: Path, tmp: Path, concurrency: int, extra_path: str | None = None
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--side", name, "--url", url, "--items", str(items)]
    command += ["--tmp", str(tmp), "--concurrency", str(concurrency)]
    path = os.pathsep.join([*([extra_path] if extra_path and name == "inspect" else []), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"the {name} side failed with status {proc.returncode}")
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    figures["peak_rss"] = max(figures["rss"], default=0.0)
    return figures


def check_same_body(items: Path, tmp: Path) -> None:
    """judge's first request body and the bare gather's, through an in-process server."""
    import judge
    from tests.llm_server import LLMServer

    one = tmp / "one.jsonl"
    one.write_text(items.read_text().splitlines()[0] + "\n")
    with LLMServer() as server:
        asyncio.run(bare_gather(server.url, bare_bodies(one), 1))
        judge.score(one, five_criteria(), judges=[MODEL], api_base=server.url, cache=False)
        bare, ours = (r.body for r in server.requests)
    if bare != ours:
        keys = sorted(k for k in {*bare, *ours} if bare.get(k) != ours.get(k))
        raise SystemExit(f"the request bodies differ in {keys}: not a like-for-like bench")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def compare(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SIDES}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        items = tmp / "items.jsonl"
        write_items(items, args.n)
        check_same_body(items, tmp)
        with test_server(args.latency) as url:
            warm = tmp / "warm.jsonl"
            write_items(warm, 64)
            for who in SIDES:  # warm the server and the disk caches of each side's imports
                child(who, url, warm, tmp, args.concurrency, args.inspect_path)
            print(f"load average before: {load()}")
            for r in range(args.rounds):
                order = SIDES[r % 3 :] + SIDES[: r % 3]
                for who in order:
                    found = child(who, url, items, tmp, args.concurrency, args.inspect_path)
                    runs[who].append(found)
                print(
                    f"round {r + 1}: "
                    + ", ".join(f"{who} {runs[who][-1]['wall']:.2f} s" for who in SIDES)
                    + f"; load {load()}"
                )
    k = len(five_criteria().criteria)
    print(
        f"items {args.n} ({k} criteria a call), latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}, rounds {args.rounds}, cores {os.cpu_count()}, "
        f"load average after: {load()}"
    )
    wall = {who: statistics.median(x["wall"] for x in runs[who]) for who in SIDES}
    cpu = {who: statistics.median(1000 * x["cpu"] / x["calls"] for x in runs[who]) for who in SIDES}
    for who in SIDES:
        print(
            f"{who:8}: {wall[who]:6.2f} s median wall, {args.n / wall[who]:7.1f} calls/s, "
            f"CPU {cpu[who]:.2f} ms per call"
        )
    print(f"floor   : {args.n / args.concurrency * args.latency:6.2f} s")
    print(f"judge / bare aiohttp wall : {wall['judge'] / wall['bare']:.2f}  (target <= 1.5)")
    print(f"Inspect / judge wall      : {wall['inspect'] / wall['judge']:.2f}  (target >= 4)")
    print(f"judge CPU per call        : {cpu['judge']:.2f} ms  (target <= 1.5)")


def scale(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        items = tmp / "items.jsonl"
        write_items(items, args.n)
        print(f"load average before: {load()}")
        with test_server(args.latency) as url:
            found = child("judge", url, items, tmp, args.concurrency)
    rss = found["rss"][2:] or found["rss"]  # after the first seconds' imports and warm-up
    quartiles = [rss[min(len(rss) - 1, int(q * len(rss)))] for q in (0.0, 0.25, 0.5, 0.75)]
    k = len(five_criteria().criteria)
    print(
        f"items {args.n} ({k} criteria a call), latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}, cores {os.cpu_count()}, load average after: {load()}"
    )
    print(
        f"judge score: {found['wall']:.1f} s, {found['calls'] / found['wall']:.0f} calls/s "
        f"({k * found['calls'] / found['wall']:.0f} judgments/s), "
        f"CPU {1000 * found['cpu'] / found['calls']:.2f} ms per call"
    )
    print(
        "RSS MB at 0/25/50/75% of the run: "
        + ", ".join(f"{x:.0f}" for x in quartiles)
        + f"; peak {found['peak_rss']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None, help="items (500; 50,000 with --scale)")
    parser.add_argument("--latency", type=float, default=None, help="seconds (0.2; 0.02)")
    parser.add_argument("--concurrency", type=int, default=None, help="in flight (64; 256)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", action="store_true", help="judge alone, at scale")
    parser.add_argument("--inspect-path", help="a folder put first on the Inspect side's path")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--items", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side(args)
        return
    defaults = (50_000, 0.02, 256) if args.scale else (500, 0.2, 64)
    args.n = args.n or defaults[0]
    args.latency = defaults[1] if args.latency is None else args.latency
    args.concurrency = args.concurrency or defaults[2]
    (scale if args.scale else compare)(args)


if __name__ == "__main__":
    main()
