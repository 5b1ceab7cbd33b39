#!/usr/bin/env python3
"""Run a judge over the single-defect pairs and print, per pair, how far each criterion moved.

Each pair in `examples/pairs.jsonl` is one prediction written twice: correct (`base`) and with
one defect (`defect`: an invented finding, a distractor dismissed generically, a wrong
threshold, an unsafe recommendation, a contradicted laterality). A sensitive judge moves the
pair's target criterion, in the bad direction, and leaves the others where they were. Run it
on your own judge before trusting it:

    python examples/sensitivity.py --judge openai/gpt-4o-mini
    python examples/sensitivity.py --judge openai/my-model --api-base http://127.0.0.1:8000/v1

The table shows defect minus base for each criterion; `*` marks the pair's target, `!` a
criterion that moved although it was not the target. A move toward "worse" on the target is
what a sensitive judge shows (lower for most criteria, higher for a flag that is bad when 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(HERE.parent))

import judge  # noqa: E402
from judge.contracts import ResultRecord, Rubric  # noqa: E402
from judge.load.rubric import load_rubric  # noqa: E402

PAIRS = HERE / "pairs.jsonl"


def moves(records: list[ResultRecord], rubric: Rubric) -> list[dict[str, Any]]:
    """Per pair: its target, and defect minus base per numeric criterion (None when either
    side is unscored)."""
    by_id = {r.id: r for r in records}
    pairs = sorted({r.id.rsplit("/", 1)[0] for r in records})
    out = []
    for pair in pairs:
        base, defect = by_id.get(f"{pair}/base"), by_id.get(f"{pair}/defect")
        if base is None or defect is None:
            continue
        deltas: dict[str, float | None] = {}
        for c in rubric.criteria:
            a, b = base.scores.get(c.id), defect.scores.get(c.id)
            numeric = isinstance(a, int | float) and isinstance(b, int | float)
            deltas[c.id] = round(float(b) - float(a), 4) if numeric else None  # type: ignore[arg-type]
        out.append({"pair": pair, "target": defect.meta.get("pair_target"), "deltas": deltas})
    return out


def render(rows: list[dict[str, Any]], rubric: Rubric) -> str:
    """A plain-text table: one line per pair, one column per criterion."""
    ids = [c.id for c in rubric.criteria]
    width = max(len(r["pair"]) for r in rows) if rows else 4
    header = "pair".ljust(width) + "  " + "  ".join(i[:10].rjust(10) for i in ids)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for i in ids:
            delta = row["deltas"][i]
            text = "unscored" if delta is None else f"{delta:+.2f}"
            mark = "*" if i == row["target"] else ("!" if delta not in (None, 0) else " ")
            cells.append((text + mark).rjust(10))
        lines.append(row["pair"].ljust(width) + "  " + "  ".join(cells))
    lines.append("* target of the pair (should move); ! moved although not the target")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", action="append", required=True, help="judge model (repeat)")
    parser.add_argument("--api-base", default=None, help="OpenAI-compatible server URL")
    parser.add_argument("--rubric", default="ddx", help="rubric id or path (default ddx)")
    parser.add_argument("--pairs", type=Path, default=PAIRS, help="pairs file")
    parser.add_argument("--samples", type=int, default=1, help="samples per judge")
    parser.add_argument("--json", action="store_true", help="print the moves as JSON")
    args = parser.parse_args(argv)
    rubric = load_rubric(args.rubric)
    options: dict[str, Any] = {"judges": args.judge, "samples": args.samples, "cache": True}
    if args.api_base:
        options["api_base"] = args.api_base
    result = judge.score(args.pairs, rubric, id_field="pair_id", **options)
    rows = moves(result.records, rubric)
    print(json.dumps(rows, indent=2) if args.json else render(rows, rubric))


if __name__ == "__main__":
    main()
