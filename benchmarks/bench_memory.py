"""Peak memory of `judge score` as the predictions file grows (it must stream, not load).

Each size runs in a fresh process (`python -m judge score …`); its peak RSS comes from the
kernel (wait4's ru_maxrss). Lines are compact synthetic cases (~700 bytes). By default the run
has no judge: every line still goes through validation, the prompt renderer, the computed
criteria, record building, the results writer and the summary (the LLM criteria end
`unscored: no judge configured`). `--judged` adds a judge on the local test server (its own
process) for sizes small enough to finish.

`--resume` then runs the same command again into the same results file and measures that run
too. With `--rubric twi` (no LLM criteria, so its records are final) the rerun resumes every
line: it reads the results file back, holds every id as finished, and judges nothing. (With
ddx and no judge the records are not final, so the rerun judges everything again.)

    python benchmarks/bench_memory.py                       # 100k, 300k, 1M lines
    python benchmarks/bench_memory.py --sizes 2000,8000 --judged
    python benchmarks/bench_memory.py --rubric twi --resume
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_throughput import test_server  # noqa: E402


def compact_case(i: int) -> dict[str, object]:
    return {
        "title": f"memory case {i}",
        "CLINICAL_HISTORY": f"A {30 + i % 50}-year-old with fever and cough for {i % 9 + 1} days.",
        "IMAGING_FINDINGS": "Right lower lobe consolidation with air bronchograms.",
        "image_01_caption": "Chest radiograph, PA view.",
        "options": {
            "A": "Lobar pneumonia",
            "B": "Pulmonary infarct",
            "C": "Lung cancer",
            "D": "Atelectasis",
            "E": "Pleural effusion",
        },
        "correct_answer": "A",
        "discussion": "Consolidation with air bronchograms in a febrile patient: pneumonia.",
        "modality": "XR",
        "prediction": "AB"[i % 2],
        "prediction_rationale": f"Fever and lobar consolidation favour pneumonia (case {i}).",
    }


def write_lines(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps(compact_case(i)) + "\n")


def peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed with status {status}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--judged", action="store_true", help="judge on the local test server")
    parser.add_argument("--rubric", default="ddx")
    parser.add_argument("--resume", action="store_true", help="measure a rerun too")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "JUDGE_HOME": str(Path(tmp) / "home"), "PYTHONPATH": str(ROOT)}
        print(f"cores {os.cpu_count()}, judged {args.judged}, rubric {args.rubric}")
        for n in sizes:
            lines = Path(tmp) / f"{n}.jsonl"
            write_lines(lines, n)
            size_mb = lines.stat().st_size / 2**20
            results = Path(tmp) / f"{n}.results.jsonl"
            command = [sys.executable, "-m", "judge", "score", str(lines), "--rubric", args.rubric]
            command += ["--out", str(results)]
            runs = 2 if args.resume else 1
            if args.judged:
                with test_server(0.0) as url:
                    judged = [*command, "--judge", "openai/mem", "--api-base", url, "-c", "64"]
                    measured = [peak_rss_mb(judged, env) for _ in range(runs)]
            else:
                measured = [peak_rss_mb(command, env) for _ in range(runs)]
            rss, seconds = measured[0]
            print(f"{n:>9,} lines ({size_mb:7.1f} MB): peak RSS {rss:6.1f} MB, {seconds:7.1f} s")
            if args.resume:
                rss, seconds = measured[1]
                print(f"{'rerun':>28}: peak RSS {rss:6.1f} MB, {seconds:7.1f} s", end="")
                print(f" ({n / seconds:,.0f} lines/s)")
            lines.unlink()
            results.unlink()


if __name__ == "__main__":
    main()
