"""Small score files for the calibration tests: two judges, three clinicians, one rubric."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

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


def _write_run(
    path: Path,
    scores: Mapping[str, Mapping[str, Any]],
    *,
    judges: Sequence[str] = ("judge-a",),
    rubric_hash: str = "r1",
    prompt_hash: str = "p1",
    meta: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """One record per item: `scores[item][criterion]` is the panel's score."""
    lines = []
    for line, (item, panel) in enumerate(scores.items(), start=1):
        judgments = [
            {"criterion": c, "judge": judge, "status": "scored", "score": s}
            for c, s in panel.items()
            for judge in judges
        ]
        from judge.contracts.results import ResultRecord

        record = ResultRecord.model_validate({
            "id": item, "line": line, "status": "scored", "scores": dict(panel),
            "judgments": judgments, "judges": list(judges),
            "meta": dict((meta or {}).get(item, {})),
            "rubric": {"id": "ddx", "version": "1", "hash": rubric_hash},
            "prompt_hash": prompt_hash, "judge_version": "0.1.0",
            "created_at": "2026-12-01T00:00:00Z",
        })  # fmt: skip
        lines.append(record.model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def write_run() -> Callable[..., Path]:
    """Write a results file in the shape `judge score` writes (records checked by ResultRecord)."""
    return _write_run
