"""How fast the CLI starts: `judge --help` against a bare `import litellm`.

Run: python benchmarks/bench_startup.py [--runs N]
Prints the median and best wall time of each command over N fresh processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], runs: int) -> list[float]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    commands = {
        "judge --help": [sys.executable, "-m", "judge", "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "import litellm": [sys.executable, "-c", "import litellm"],
    }
    print(
        f"startup, {args.runs} runs each, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    for name, cmd in commands.items():
        runs = args.runs if name != "import litellm" else max(3, args.runs // 3)
        times = _time(cmd, runs)
        print(f"{name:16s} median {statistics.median(times):.3f} s   best {min(times):.3f} s")


if __name__ == "__main__":
    main()
