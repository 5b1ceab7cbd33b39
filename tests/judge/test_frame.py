"""DataFrames in and out: `load_results` (tidy) and `score_frame` / `ascore_frame`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import judge
from judge.errors import InputError
from judge.frame import JUDGMENT_COLUMNS, ascore_frame, load_results, score_frame
from judge.load.rubric import load_rubric
from tests.llm_server import LLMServer, Reply

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "predictions.jsonl"
FIXTURE = ROOT / "tests" / "fixtures" / "predictions.jsonl"
MODEL = "openai/test-judge"


def _frame(path: Path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])


def test_load_results_is_one_row_per_judgment_with_metadata(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    judge.score(EXAMPLES, "ddx", out=out, judges=[MODEL], api_base=llm_server.url, cache=False)
    raw = [json.loads(line) for line in out.read_text().splitlines()]
    tidy = load_results(out)
    assert list(tidy.columns[: len(JUDGMENT_COLUMNS)]) == JUDGMENT_COLUMNS
    assert {"image_count", "modality", "icd10_chapter", "longitudinal"} <= set(tidy.columns)
    assert len(tidy) == sum(len(r["judgments"]) for r in raw)
    for r in raw:
        mine = tidy[tidy["item"] == r["id"]]
        assert set(mine["criterion"]) == set(r["scores"])
        assert (mine["modality"] == r["meta"]["modality"]).all()
        accuracy = mine[mine["criterion"] == "final_answer"].iloc[0]
        assert (
            accuracy["judge"] == "deterministic"
            and accuracy["score"] == r["scores"]["final_answer"]
        )
    assert set(tidy["judge"]) == {"deterministic", MODEL}


def test_score_frame_without_a_judge_scores_twi_like_a_run() -> None:
    df = _frame(EXAMPLES)
    scored = score_frame(df, "twi", cache=False)
    assert list(scored.index) == list(df.index)
    assert list(scored.columns) == ["id", "status", *(c.id for c in load_rubric("twi").criteria)]
    run = judge.score(EXAMPLES, "twi", cache=False)
    by_id = {r.id: r.scores for r in run.records}
    for _, row in scored.iterrows():
        for criterion, value in by_id[row["id"]].items():
            assert pd.isna(row[criterion]) if value is None else row[criterion] == value


def test_score_frame_identifies_rows_by_index_without_the_id_field(
    llm_server: LLMServer,
) -> None:
    df = _frame(FIXTURE).drop(columns=["title"]).set_index(pd.Index(["x", "y", "z"]))
    scored = score_frame(df, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False)
    assert list(scored["id"]) == ["x", "y", "z"]
    assert (scored["status"] == "scored").all()
    assert scored["evidence_grounding"].between(1, 5).all()
    assert llm_server.count == 3


async def test_ascore_frame_inside_a_running_loop(llm_server: LLMServer) -> None:
    verdict = {
        c.id: {"rationale": "r", "score": 0 if c.scale.type == "binary" else 2}
        for c in load_rubric("ddx").llm_criteria
    }
    llm_server.script = lambda body, n: Reply.json(verdict)
    df = _frame(FIXTURE)
    scored = await ascore_frame(df, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False)
    assert (scored["coherence"] == 2).all() and (scored["hallucination"] == 0).all()
    # The blocking form also works here, where asyncio.run alone would refuse.
    again = score_frame(df, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False)
    assert again.equals(scored)


def test_missing_cells_are_missing_fields_and_a_bad_row_stops_before_any_call(
    llm_server: LLMServer,
) -> None:
    df = _frame(FIXTURE)
    df["extra"] = [1.0, float("nan"), None]  # NaN/None cells must not reach validation
    df.loc[2, "correct_answer"] = "Z"
    with pytest.raises(InputError) as caught:
        score_frame(df, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False)
    assert caught.value.field == "correct_answer" and "row 2" in str(caught.value)
    assert llm_server.count == 0


# ------------------------------------------------------------------ examples/embed_in_harness.py

EMBED = ROOT / "examples" / "embed_in_harness.py"
MODES = ("one item", "list", "DataFrame")


def _run_example(tmp_path: Path, *args: str) -> dict[tuple[str, str], dict[str, str]]:
    """Run the example as a user would, from another directory with no key; parse its
    `[mode] id: criterion=value …` lines."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["JUDGE_HOME"] = str(tmp_path)  # its call cache, away from the user's
    done = subprocess.run(
        [sys.executable, str(EMBED), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found: dict[tuple[str, str], dict[str, str]] = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^\[(.+?)\] (.+?): (\S+=.*)$", line)
        if match:
            values = dict(pair.split("=", 1) for pair in match.group(3).split())
            found[(match.group(1), match.group(2))] = values
    return found


def _expected(rubric: str, n: int = 3, **options: object) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines()[:n]]
    return {r.id: r.scores for r in judge.score(rows, rubric, cache=False, **options).records}


def test_embed_example_runs_with_no_judge(tmp_path: Path) -> None:
    shown = _run_example(tmp_path)
    expected = _expected("twi")
    first = json.loads(EXAMPLES.read_text().splitlines()[0])["title"]
    for mode in MODES:
        for how in ("sync", "async"):
            mine = {item: v for (m, item), v in shown.items() if m == f"{mode}, {how}"}
            assert set(mine) == ({first} if mode == "one item" else set(expected))
            for item, values in mine.items():
                assert values == {k: f"{v:.4f}" for k, v in expected[item].items()}


def test_embed_example_runs_with_a_judge(llm_server: LLMServer, tmp_path: Path) -> None:
    shown = _run_example(tmp_path, "--judge", MODEL, "--api-base", llm_server.url)
    expected = _expected("ddx", judges=[MODEL], api_base=llm_server.url)
    assert len(shown) == 2 * (1 + 3 + 3)
    for (_, item), values in shown.items():
        assert values["final_answer"] == str(expected[item]["final_answer"])
        # letter_consistency is unscored (None) where the reasoning names no option; a frame
        # column holding None is float, so 1 prints as 1.0000 there.
        assert set(values) == set(expected[item])
        for k, v in expected[item].items():
            assert values[k] == "unscored" if v is None else float(values[k]) == float(v)
