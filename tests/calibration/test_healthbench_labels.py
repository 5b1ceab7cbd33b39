"""HealthBench's meta-evaluation labels in `judge calibrate`: per rubric item, each
physician's met / not met, placed on the items a `--rubric healthbench` run judged, and the
judge's and each physician's pairwise balanced F1 as healthbench_meta_eval.py computes it.

The reference functions at the end are copied verbatim from openai/simple-evals
`healthbench_meta_eval.py` at commit ee3b0318d8d1d9d72755a4120879be65f7c07e9e (MIT licence),
the two templates with them. The labels are synthetic (no HealthBench row is copied).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from calibration.calibrate import scales_from_rubric
from calibration.errors import InputFileError
from calibration.loaders import load_human_scores, load_judge_results
from calibration.validity import ceiling_table
from judge.cli import cli
from judge.judging.engine import Completion
from judge.load.rubric import load_rubric
from judge.run import score
from judge.scorer import RunOptions
from tests.calibration.healthbench_meta_eval_reference import compute_metrics_for_rater_by_class

FIXTURE = Path(__file__).parents[1] / "fixtures" / "healthbench.jsonl"
CASES = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
# The judge's verdict per (case, item number), and the physicians' labels of each item.
JUDGE = {("synthetic-hb-001", 1): True, ("synthetic-hb-001", 2): False,
         ("synthetic-hb-001", 3): True, ("synthetic-hb-001", 4): True,
         ("synthetic-hb-002", 1): True, ("synthetic-hb-002", 2): False,
         ("synthetic-hb-002", 3): False}  # fmt: skip
LABELS = {("synthetic-hb-001", 1): {"p1": True, "p2": True, "p3": False},
          ("synthetic-hb-001", 2): {"p1": False, "p2": True},
          ("synthetic-hb-001", 3): {"p2": True, "p3": True, "p4": True},
          ("synthetic-hb-001", 4): {"p1": False, "p4": False},
          ("synthetic-hb-002", 1): {"p1": True, "p3": True},
          ("synthetic-hb-002", 2): {"p2": True, "p3": False, "p4": True},
          ("synthetic-hb-002", 3): {"p1": False, "p2": False, "p4": False}}  # fmt: skip
CATEGORY = "cluster:synthetic"


def _case(prompt_id: str) -> dict[str, Any]:
    return next(c for c in CASES if c["prompt_id"] == prompt_id)


async def _scripted(*, messages: list[dict[str, str]], **_: Any) -> Completion:
    prompt = messages[-1]["content"]
    for (case_id, step), met in JUDGE.items():
        case = _case(case_id)
        item = case["rubrics"][step - 1]
        if f"[{item['points']}] {item['criterion']}" in prompt and case["completion"] in prompt:
            return Completion(verdict={"explanation": "scripted", "criteria_met": met})
    raise AssertionError("an item the script does not know")


def _meta_rows(extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = []
    for (case_id, step), by in LABELS.items():
        case = _case(case_id)
        rows.append({
            "prompt_id": case_id, "completion_id": f"completion-{case_id}",
            "prompt": case["prompt"], "completion": case["completion"],
            "rubric": case["rubrics"][step - 1]["criterion"], "category": CATEGORY,
            "binary_labels": list(by.values()), "anonymized_physician_ids": list(by),
        })  # fmt: skip
    return rows + (extra or [])


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    results = tmp_path / "r.jsonl"
    opts = RunOptions(judges=["openai/test-judge"], cache=False)
    score(FIXTURE, "healthbench", out=results, options=opts, complete=_scripted)
    unjudged = {**_meta_rows()[0], "rubric": "An item nobody judged.", "completion_id": "x"}
    labels = tmp_path / "meta.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in _meta_rows([unjudged])))
    return results, labels


def _reference() -> tuple[float, dict[str, float]]:
    """pairwise_model_f1_balanced and each physician's pairwise_physician_f1_balanced, by the
    copied code, as HealthBenchMetaEval.__call__ feeds it."""
    examples = [{"binary_labels": list(by.values()), "anonymized_physician_ids": list(by),
                 "category": CATEGORY} for by in LABELS.values()]  # fmt: skip
    model = compute_metrics_for_rater_by_class(
        self_pred_list=list(JUDGE[key] for key in LABELS),
        other_preds_list=[x["binary_labels"] for x in examples],
        cluster_list=[x["category"] for x in examples],
        model_or_physician="model",
    )
    # HealthBenchMetaEval.__call__'s physician loop, verbatim.
    physician_rating_lists = defaultdict(lambda: ([], [], []))
    for example in examples:
        for i in range(len(example["binary_labels"])):
            physician_id = example["anonymized_physician_ids"][i]
            self_pred = example["binary_labels"][i]
            other_preds = example["binary_labels"][:i] + example["binary_labels"][i + 1 :]
            cluster = example["category"]
            physician_rating_lists[physician_id][0].append(self_pred)
            physician_rating_lists[physician_id][1].append(other_preds)
            physician_rating_lists[physician_id][2].append(cluster)
    physicians = {}
    for physician_id, (ratings, others, clusters) in physician_rating_lists.items():
        metrics = compute_metrics_for_rater_by_class(ratings, others, clusters, "physician")
        # A physician with no pair of one class has no balanced F1 there (None; NaN here).
        found = metrics.get("pairwise_physician_f1_balanced", {"value": None})["value"]
        physicians[physician_id] = float("nan") if found is None else found
    return model["pairwise_model_f1_balanced"]["value"], physicians


def test_labels_are_placed_on_the_judged_items_by_id_and_criterion(
    files: tuple[Path, Path],
) -> None:
    results, labels = files
    human = load_human_scores(labels, judge_results=results)
    assert human.attrs["unmatched"] == 1  # the row whose item was not judged
    assert set(human["criterion"]) == {"criteria_met"}
    assert len(human) == sum(len(by) for by in LABELS.values())
    first = human[(human["item"] == "synthetic-hb-001") & (human["step"] == 2)]
    assert dict(zip(first["rater"], first["score"], strict=True)) == {"p1": 0.0, "p2": 1.0}


def test_balanced_f1_of_judge_and_physicians_matches_healthbench_meta_eval(
    files: tuple[Path, Path],
) -> None:
    results, labels = files
    levels, domains = scales_from_rubric(load_rubric("healthbench"))
    assert levels["criteria_met"] == "binary"
    long = pd.concat(
        [load_judge_results(results), load_human_scores(labels, judge_results=results)]
    )
    table = ceiling_table(long, levels, domains)
    row = table[table["criterion"] == "criteria_met"].iloc[0]
    assert row["metric"] == "balanced_f1"
    model, physicians = _reference()
    assert row["value"] == pytest.approx(model, abs=1e-12)
    defined = [v for v in physicians.values() if v == v]
    assert len(defined) >= 2 and len(defined) < len(physicians)  # the fixed set has both kinds
    assert row["humans_min"] == pytest.approx(min(defined), abs=1e-12)
    assert row["humans_max"] == pytest.approx(max(defined), abs=1e-12)
    from calibration import human_ceiling

    humans = long[long["rater_kind"] == "human"]
    judged = long[(long["rater_kind"] == "judge") & (long["criterion"] == "criteria_met")]
    each = human_ceiling(
        judged.assign(item=_unit(judged))[["item", "score"]],
        humans.assign(item=_unit(humans))[["item", "rater", "score"]],
    )
    mine = dict(zip(each["rater"], each["value"], strict=True))
    for physician, value in physicians.items():
        assert mine[physician] == pytest.approx(value, abs=1e-12, nan_ok=True)


def _unit(frame: pd.DataFrame) -> pd.Series:
    return frame["item"] + "#" + frame["step"].astype(int).astype(str)


def test_judge_calibrate_takes_meta_eval_labels(files: tuple[Path, Path]) -> None:
    results, labels = files
    args = ["calibrate", "--judge", str(results), "--human", str(labels), "--rubric"]
    args += ["healthbench", "--ceiling", "--n-boot", "50"]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "criteria_met" in result.output and "balanced_f1" in result.output
    assert "1 labelled rubric item(s) were not judged" in result.output


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"binary_labels": [True, "yes", False]}, "binary_labels"),
        ({"anonymized_physician_ids": ["p1"]}, "anonymized_physician_ids"),
        ({"anonymized_physician_ids": ["p1", "p1", "p3"]}, "anonymized_physician_ids"),
        ({"rubric": ""}, "rubric"),
    ],
)
def test_bad_label_rows_name_file_line_and_field(
    files: tuple[Path, Path], tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    results, _ = files
    rows = _meta_rows()
    rows[0] = {**rows[0], **change}
    labels = tmp_path / "bad.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputFileError) as err:
        load_human_scores(labels, judge_results=results)
    assert str(err.value).startswith(f"{labels}:1: field '{field}'")


def test_meta_eval_labels_need_the_judge_results(files: tuple[Path, Path]) -> None:
    _, labels = files
    with pytest.raises(InputFileError, match="need the judge's results"):
        load_human_scores(labels)
