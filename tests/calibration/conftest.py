"""Small score files for the calibration tests: two judges, three clinicians, one rubric."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CRITERIA = ("evidence_grounding", "hallucination")


def _judgment(criterion: str, judge: str, score: int | None, **extra: object) -> dict:
    status = "scored" if score is not None else "unscored"
    reason = None if score is not None else "timeout"
    return {"criterion": criterion, "judge": judge, "sample": 0, "status": status,
            "score": score, "rationale": "", "reason": reason, **extra}  # fmt: skip


@pytest.fixture
def scores() -> dict[str, np.ndarray]:
    """True 1–5 quality of 30 cases, and noisy human / judge scores of it (seeded)."""
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, size=30)
    noisy = {
        name: np.clip(truth + rng.integers(-1, 2, size=30) * (rng.random(30) < p), 1, 5)
        for name, p in [("dr_a", 0.2), ("dr_b", 0.3), ("dr_c", 0.3), ("judge-a", 0.4)]
    }
    noisy["judge-b"] = np.clip(6 - truth, 1, 5)  # a judge that has the scale backwards
    noisy["truth"] = truth
    return noisy


@pytest.fixture
def results_file(tmp_path: Path, scores: dict[str, np.ndarray]) -> Path:
    """A `judge score` results JSONL: 30 items, two judges, a few unscored judgments."""
    lines = []
    for i in range(30):
        judgments = [
            _judgment("evidence_grounding", "judge-a", int(scores["judge-a"][i])),
            _judgment("evidence_grounding", "judge-b", int(scores["judge-b"][i])),
            _judgment("hallucination", "judge-a", int(scores["truth"][i] <= 2)),
        ]
        if i % 10 == 0:
            judgments.append(_judgment("evidence_grounding", "judge-a", None, sample=1))
        lines.append(json.dumps({"id": f"case-{i:02d}", "line": i + 1, "judgments": judgments}))
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def human_file(tmp_path: Path, scores: dict[str, np.ndarray]) -> Path:
    """Long human CSV: three clinicians, items 0–27 (28 and 29 were never rated)."""
    rows = []
    for i in range(28):
        for rater in ("dr_a", "dr_b", "dr_c"):
            score = int(scores[rater][i])
            rows.append({"item": f"case-{i:02d}", "criterion": "evidence_grounding",
                         "rater": rater, "score": score, "comment": ""})  # fmt: skip
            rows.append({"item": f"case-{i:02d}", "criterion": "hallucination",
                         "rater": rater, "score": int(score <= 2)})  # fmt: skip
    path = tmp_path / "human.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
