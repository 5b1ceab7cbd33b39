"""`judge route --escalate` after `judge calibrate --guarantee --save` (Trust or Escalate):
the items under the recorded threshold are queued, and an audit share of the rest with its
inclusion probability."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.contracts.results import ResultRecord


def _run_file(tmp_path: Path) -> tuple[Path, Path, dict[str, float]]:
    rng = np.random.default_rng(4)
    lines, humans, confidence = [], [], {}
    for i in range(150):
        truth = int(rng.integers(0, 2))
        a = truth if rng.random() < 0.97 else 1 - truth
        said = {
            "a": a,
            "b": a if rng.random() < 0.9 else 1 - a,
            "c": a if rng.random() < 0.7 else 1 - a,
        }
        majority = int(sum(said.values()) >= 2)
        confidence[f"i{i}"] = sum(v == majority for v in said.values()) / 3
        record = ResultRecord.model_validate({
            "id": f"i{i}", "line": i + 1, "status": "scored", "scores": {"flag": majority},
            "judgments": [{"criterion": "flag", "judge": j, "status": "scored", "score": s}
                          for j, s in said.items()],
            "judges": list(said), "meta": {},
            "rubric": {"id": "ddx", "version": "1", "hash": "r1"}, "prompt_hash": "p1",
            "judge_version": "0.1.0", "created_at": "2026-12-01T00:00:00Z",
        })  # fmt: skip
        lines.append(record.model_dump_json())
        for r in ("h1", "h2", "h3"):
            humans.append({"item": f"i{i}", "criterion": "flag", "rater": r, "score": truth})
    results, human = tmp_path / "r.jsonl", tmp_path / "h.csv"
    results.write_text("\n".join(lines) + "\n")
    pd.DataFrame(humans).to_csv(human, index=False)
    return results, human, confidence


def test_escalate_queues_what_the_saved_threshold_does_not_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    results, human, confidence = _run_file(tmp_path)
    queue = tmp_path / "queue.txt"
    refused = CliRunner().invoke(cli, ["route", str(results), "--escalate", "--out", str(queue)])
    assert refused.exit_code == 2 and "no guarantee on record" in refused.output
    saved = CliRunner().invoke(cli, [
        "calibrate", "--judge", str(results), "--human", str(human), "--n-boot", "0",
        "--level", "nominal", "--guarantee", "0.9", "--save", "--out-dir", str(tmp_path / "o"),
    ])  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert "saved 1 guarantee threshold(s)" in saved.output
    threshold = pd.read_csv(tmp_path / "o" / "guarantee.csv", skiprows=1).iloc[0]["threshold"]
    done = CliRunner().invoke(cli, ["route", str(results), "--escalate", "--audit", "0.1",
                                    "--out", str(queue)])  # fmt: skip
    assert done.exit_code == 0, done.output
    weights = json.loads((tmp_path / "queue.txt.weights.json").read_text())
    picks = {p["id"]: p for p in weights["items"]}
    low = {i for i, c in confidence.items() if c < threshold}
    escalated = {i for i, p in picks.items() if p["reason"] == "escalated"}
    assert escalated == low and low  # every item under the threshold, and only those
    audited = [p for p in picks.values() if p["reason"] == "audit"]
    kept = len(confidence) - len(low)
    assert len(audited) == round(0.1 * kept)
    assert all(p["probability"] == pytest.approx(len(audited) / kept) for p in audited)
    assert all(picks[i]["probability"] == 1.0 for i in escalated)
    ids = [line for line in queue.read_text().splitlines() if line and not line.startswith("#")]
    assert set(ids) == set(picks)
