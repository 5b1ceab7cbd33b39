"""Load on `judge serve`: many concurrent clients against the service, the service against the
local test LLM server (each in its own process, so neither shares the client's GIL).

Each round sends `--clients` POST /v1/score requests at once (distinct predictions, so every
one is a real judge call: no cache hit, no dedupe), waits for all, and checks every answer is
a 200 with a scored record. Then one POST /v1/score/batch of the same size. Prints latency
percentiles per request, throughput, and errors.

    python benchmarks/bench_serve.py                              # 200 clients × 3 rounds, 50 ms
    python benchmarks/bench_serve.py --clients 400 --latency 0.2 --concurrency 128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
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

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_throughput import test_server  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "predictions.jsonl"
MODEL = "openai/bench-judge"


def predictions(n: int, salt: str) -> list[dict[str, Any]]:
    """n distinct synthetic predictions (distinct histories: no two prompts are the same)."""
    cases = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    rows = []
    for i in range(n):
        case = cases[i % len(cases)]
        history = f"{case['CLINICAL_HISTORY']} (variant {salt}-{i})"
        rows.append({**case, "title": f"{salt}-{i}", "CLINICAL_HISTORY": history})
    return rows


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def service(api_base: str, concurrency: int, home: str) -> Iterator[tuple[str, int]]:
    """`judge serve` in its own process on a free loopback port; yields its base URL and
    process id."""
    args = ["--judge", MODEL, "--api-base", api_base, "--port", "0"]
    args += ["--concurrency", str(concurrency), "--max-body", str(8 << 20)]
    env = {**os.environ, "JUDGE_HOME": home, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from judge.cli.serve import serve; serve()", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:  # keep draining the log so the server never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.search(r"Uvicorn running on (http://\S+)", line)
            if match:
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(120) or not found:
            raise RuntimeError("judge serve did not start")
        yield found[0], proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


async def one(
    client: aiohttp.ClientSession, url: str, row: dict[str, Any]
) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        async with client.post(url, json={"rubric": "ddx", "prediction": row}) as response:
            body = await response.json() if response.status == 200 else None
    except aiohttp.ClientError as exc:
        return time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    if body is None:
        return elapsed, f"HTTP {response.status}"
    if body["status"] != "scored":
        return elapsed, f"record {body['status']}"
    return elapsed, None


async def rounds(url: str, clients: int, n_rounds: int) -> tuple[list[float], list[str], float]:
    # aiohttp rather than httpx for the clients: on 2 cores the client's own CPU would
    # otherwise be what is measured. Idle connections are dropped before uvicorn's 5 s
    # keep-alive timeout closes them, so no round starts on a connection being closed.
    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=2.0)
    timeout = aiohttp.ClientTimeout(total=300)
    latencies: list[float] = []
    errors: list[str] = []
    busy = 0.0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        for r in range(n_rounds):
            rows = predictions(clients, f"round{r}")
            started = time.perf_counter()
            results = await asyncio.gather(*(one(client, f"{url}/v1/score", r) for r in rows))
            busy += time.perf_counter() - started
            latencies += [t for t, _ in results]
            errors += [e for _, e in results if e]
    return latencies, errors, busy


async def batch(url: str, n: int) -> tuple[float, float, int, int]:
    """Seconds to the first and the last line of one streamed batch, records and errors."""
    items = [{"prediction": row} for row in predictions(n, "batch")]
    first = 0.0
    records = failures = 0
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        started = time.perf_counter()
        body = {"rubric": "ddx", "items": items}
        async with client.stream("POST", "/v1/score/batch", json=body) as response:
            async for line in response.aiter_lines():
                if not first:
                    first = time.perf_counter() - started
                parsed = json.loads(line)
                ok = "error" not in parsed and parsed["status"] == "scored"
                records += ok
                failures += not ok
        return first, time.perf_counter() - started, records, failures


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent requests")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05, help="test server, seconds")
    parser.add_argument("--concurrency", type=int, default=64, help="service's judge calls")
    args = parser.parse_args()
    print(
        f"judge serve under load: {args.clients} concurrent clients × {args.rounds} rounds, "
        f"test LLM server latency {args.latency * 1000:.0f} ms, service --concurrency "
        f"{args.concurrency}; {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with (
        tempfile.TemporaryDirectory() as home,
        test_server(args.latency) as api_base,
        service(api_base, args.concurrency, home) as (url, pid),
    ):
        idle = cpu_seconds(pid)
        latencies, errors, busy = asyncio.run(rounds(url, args.clients, args.rounds))
        loaded = cpu_seconds(pid)
        first, last, records, failures = asyncio.run(batch(url, args.clients))
    n = len(latencies)
    print(
        f"POST /v1/score: {n} requests, {len(errors)} errors, {n / busy:.1f} requests/s; "
        f"latency p50 {percentile(latencies, 50):.3f} s, p95 {percentile(latencies, 95):.3f} s, "
        f"p99 {percentile(latencies, 99):.3f} s, max {max(latencies):.3f} s"
    )
    if idle is not None and loaded is not None:
        used = loaded - idle
        print(f"  service CPU {used:.1f} s for them: {used / n * 1000:.1f} ms per request")
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error} (×{errors.count(error)})")
    print(
        f"POST /v1/score/batch: {args.clients} items, {records} scored, {failures} errors; "
        f"first line after {first:.3f} s, last after {last:.3f} s "
        f"({args.clients / last:.1f} items/s)"
    )


if __name__ == "__main__":
    main()
