"""Which async HTTP client sends judge's chat-completion bodies fastest: aiohttp, httpx or the
openai SDK, each a bare gather of the same prepared bodies, against the test LLM server in its
own process (tests/llm_server.py, with injected latency).

Before timing, one body is sent by each client to an in-process test server and the bodies
received are compared (so the clients send the same bytes' worth of JSON). The clients then
take turns, in a rotated order each round. Prints each client's wall seconds, its calls/s and
this process's CPU per call (medians over rounds), and the load average.

    python benchmarks/bench_clients.py                     # 500 calls, 200 ms, c=64, 3 rounds
    python benchmarks/bench_clients.py -n 2000 --latency 0.02 --concurrency 256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_throughput import Timed, five_criteria, test_server, write_items  # noqa: E402

from judge.judging.prompts import render_prompt, response_model  # noqa: E402
from judge.load.inputs import read_items  # noqa: E402

Body = dict[str, Any]
Gather = Callable[[str, list[Body], int], Awaitable[None]]


def bodies(n: int) -> list[Body]:
    """n chat-completion bodies as judge's lean path sends them (ddx's first five criteria,
    structured output as response_format json_schema)."""
    rubric = five_criteria()
    model = response_model(rubric)
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        items = Path(tmp) / "items.jsonl"
        write_items(items, n)
        found = []
        for item in read_items(items):
            prompt = render_prompt(rubric, item.prediction)
            assert prompt is not None
            found.append(
                {
                    "model": "bench-judge",
                    "messages": prompt.messages,
                    "response_format": fmt,
                    "temperature": 0.0,
                }
            )
    return found


async def with_aiohttp(url: str, sent: list[Body], concurrency: int) -> None:
    import aiohttp

    slots = asyncio.Semaphore(concurrency)
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: Body) -> None:
            async with slots:
                data = json.dumps(body).encode()
                async with session.post(f"{url}/chat/completions", data=data, headers=headers) as r:
                    json.loads(await r.read())

        await asyncio.gather(*(one(b) for b in sent))


async def with_httpx(url: str, sent: list[Body], concurrency: int) -> None:
    import httpx

    slots = asyncio.Semaphore(concurrency)
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(body: Body) -> None:
            async with slots:
                data = json.dumps(body).encode()
                r = await client.post(f"{url}/chat/completions", content=data, headers=headers)
                json.loads(r.content)

        await asyncio.gather(*(one(b) for b in sent))


async def with_openai(url: str, sent: list[Body], concurrency: int) -> None:
    import openai

    slots = asyncio.Semaphore(concurrency)
    client = openai.AsyncOpenAI(base_url=url, api_key="sk-bench", max_retries=0)
    try:

        async def one(body: Body) -> None:
            async with slots:
                await client.chat.completions.create(**body)

        await asyncio.gather(*(one(b) for b in sent))
    finally:
        await client.close()


CLIENTS: dict[str, Gather] = {"aiohttp": with_aiohttp, "httpx": with_httpx, "openai": with_openai}


def timed(gather: Gather, url: str, sent: list[Body], concurrency: int) -> Timed:
    started, cpu = time.perf_counter(), time.process_time()
    asyncio.run(gather(url, sent, concurrency))
    return Timed(time.perf_counter() - started, time.process_time() - cpu, len(sent))


def check_same_bodies(sent: list[Body]) -> None:
    """One body through each client to an in-process server: the bodies received must match."""
    from tests.llm_server import LLMServer

    with LLMServer() as server:
        for gather in CLIENTS.values():
            asyncio.run(gather(server.url, sent[:1], 1))
        received = [r.body for r in server.requests]
    if any(body != received[0] for body in received):
        raise SystemExit("the clients sent different bodies: not a like-for-like bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="calls per client and round")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sent = bodies(args.n)
    check_same_bodies(sent)
    runs: dict[str, list[Timed]] = {name: [] for name in CLIENTS}
    names = list(CLIENTS)
    with test_server(args.latency) as url:
        for gather in CLIENTS.values():  # warm up: imports, connections, the server
            timed(gather, url, sent[:32], args.concurrency)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                runs[name].append(timed(CLIENTS[name], url, sent, args.concurrency))
    floor = args.n / args.concurrency * args.latency
    print(
        f"calls {args.n}, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, "
        f"rounds {args.rounds}, cores {os.cpu_count()}, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for name, done in runs.items():
        wall = statistics.median(t.seconds for t in done)
        cpu = statistics.median(t.cpu_ms_per_call for t in done)
        print(
            f"{name:8}: {wall:6.2f} s (median; rounds "
            + ", ".join(f"{t.seconds:.2f}" for t in done)
            + f"), {args.n / wall:7.1f} calls/s, CPU {cpu:.2f} ms per call"
        )
    print(f"floor   : {floor:6.2f} s ({args.n} / {args.concurrency} x {args.latency} s)")


if __name__ == "__main__":
    main()
