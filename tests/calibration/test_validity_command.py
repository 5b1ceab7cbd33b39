"""`judge calibrate --alt-test / --ceiling / --estimate` and the tables behind them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import calibration
from calibration.loaders import load_human_scores, load_judge_results
from calibration.runs import load_meta
from calibration.validity import alt_test_table, ceiling_table, estimate_table
from judge.cli import cli
from judge.cli.calibrate import calibrate_command

N_ITEMS, N_RATED = 60, 40


@pytest.fixture
def study(tmp_path: Path, write_run: Callable[..., Path]) -> tuple[Path, Path, Path]:
    """60 judged cases (two modalities); three clinicians rated 40. judge-a reads the truth with
    a little noise; judge-b has the scale backwards. Seeded."""
    rng = np.random.default_rng(17)
    truth = rng.integers(1, 6, size=N_ITEMS)
    items = [f"case-{i:02d}" for i in range(N_ITEMS)]
    good = np.clip(truth + rng.integers(-1, 2, size=N_ITEMS) * (rng.random(N_ITEMS) < 0.2), 1, 5)
    rows = []
    for i in range(N_RATED):
        for rater in ("dr_a", "dr_b", "dr_c"):
            score = int(np.clip(truth[i] + rng.integers(-1, 2) * (rng.random() < 0.3), 1, 5))
            rows.append(
                {"item": items[i], "criterion": "grounding", "rater": rater, "score": score}
            )
            rows.append(
                {"item": items[i], "criterion": "harm", "rater": rater, "score": int(score <= 2)}
            )
    human = tmp_path / "human.csv"
    pd.DataFrame(rows).to_csv(human, index=False)
    meta = {item: {"modality": "CT" if k % 2 else "MRI"} for k, item in enumerate(items)}
    a = write_run(
        tmp_path / "a.jsonl",
        {it: {"grounding": int(g), "harm": int(g <= 2)} for it, g in zip(items, good, strict=True)},
        judges=("judge-a",),
        meta=meta,
    )
    b = write_run(
        tmp_path / "b.jsonl",
        {
            it: {"grounding": int(6 - t), "harm": int(t >= 4)}
            for it, t in zip(items, truth, strict=True)
        },
        judges=("judge-b",),
        meta=meta,
    )

    return a, b, human


def _long(judged: Path, human: Path) -> pd.DataFrame:
    return pd.concat([load_judge_results(judged), load_human_scores(human)])


LEVELS = {"grounding": "ordinal", "harm": "binary"}


def test_alt_test_table_is_calibration_alt_test_per_criterion(study: tuple[Path, ...]) -> None:
    a, b, human = study
    long = pd.concat([_long(a, human), load_judge_results(b)])
    table = alt_test_table(long, LEVELS).set_index(["criterion", "judge"])
    humans = load_human_scores(human)
    for (criterion, judge), row in table.iterrows():
        judged = load_judge_results(a if judge == "judge-a" else b)
        judged = judged[judged["criterion"] == criterion][["item", "score"]]
        metric = "accuracy" if criterion == "harm" else "neg_rmse"
        direct = calibration.alt_test(
            judged, humans[humans["criterion"] == criterion], metric=metric
        )
        assert row["omega"] == direct.omega and row["advantage"] == direct.advantage
        assert row["metric"] == metric and row["tested"] == 3
    # The backwards judge never wins against a clinician.
    assert table.loc[("grounding", "judge-b"), "omega"] == 0.0
    assert not table.loc[("grounding", "judge-b"), "passed"]
    # The 20 judged cases no clinician rated are simply not in the test: nothing is dropped.
    assert table.loc[("grounding", "judge-a"), "notes"] == ""


def test_ceiling_table_ranks_the_judge_among_the_humans(study: tuple[Path, ...]) -> None:
    a, b, human = study
    long = pd.concat([_long(a, human), load_judge_results(b)])
    table = ceiling_table(long, LEVELS).set_index(["criterion", "judge"])
    harm_b = table.loc[("harm", "judge-b")]
    assert (
        harm_b["metric"] == "balanced_f1"
        and harm_b["rank"] == 4
        and not harm_b["within_human_range"]
    )
    assert table.loc[("grounding", "judge-a"), "metric"] == "kappa_quadratic"
    direct = calibration.human_ceiling(
        load_judge_results(a).query("criterion == 'harm'")[["item", "score"]],
        load_human_scores(human).query("criterion == 'harm'"),
        name="judge-a",
    )
    assert (
        table.loc[("harm", "judge-a"), "value"] == direct.set_index("rater").loc["judge-a", "value"]
    )


def test_estimate_table_per_slice(study: tuple[Path, ...]) -> None:
    a, _, human = study
    meta = load_meta(a)
    table = estimate_table(_long(a, human), LEVELS, by=meta["modality"])
    rows = table.set_index(["criterion", "slice"])
    assert list(table["slice"].unique()) == ["(all)", "CT", "MRI"]
    whole = rows.loc[("grounding", "(all)")]
    assert (whole["n"], whole["N"]) == (N_RATED, N_ITEMS - N_RATED)
    humans = load_human_scores(human).query("criterion == 'grounding'")
    judged = load_judge_results(a).query("criterion == 'grounding'").set_index("item")["score"]
    direct = calibration.ppi_mean(judged.astype(float), humans.groupby("item")["score"].mean())
    assert whole["estimate"] == pytest.approx(direct.estimate)


def test_calibrate_prints_the_three_tables(study: tuple[Path, ...]) -> None:
    a, _, human = study
    args = [
        "--judge",
        str(a),
        "--human",
        str(human),
        "--n-boot",
        "0",
        "--alt-test",
        "--epsilon",
        "0.15",
        "--ceiling",
        "--estimate",
        "--by",
        "modality",
    ]
    result = CliRunner().invoke(calibrate_command, args)
    assert result.exit_code == 0, result.output
    assert "Alternative annotator test (ε = 0.15" in result.output
    assert (
        "Human ceiling" in result.output and "Bias-corrected means (95% intervals)" in result.output
    )
    omega = (
        alt_test_table(_long(a, human), epsilon=0.15)
        .set_index("criterion")
        .loc["grounding", "omega"]
    )
    assert f"{omega:.2f}" in result.output
    assert "40 / 20" in result.output  # n rated / N other on the whole run


def test_too_few_items_are_said_not_passed(results_file: Path, human_file: Path) -> None:
    args = ["--judge", str(results_file), "--human", str(human_file), "--n-boot", "0", "--alt-test"]
    result = CliRunner().invoke(calibrate_command, args)
    assert result.exit_code == 0, result.output
    assert "not tested" in result.output and "passed" not in result.output
    assert "annotator 'dr_a' skipped: 28 item(s) < 30" in result.output


def test_by_an_unknown_field_is_a_one_line_error(study: tuple[Path, ...]) -> None:
    a, _, human = study
    args = ["--judge", str(a), "--human", str(human), "--n-boot", "0", "--estimate", "--by", "site"]
    result = CliRunner().invoke(cli, ["calibrate", *args])  # through judge's error boundary
    assert result.exit_code == 2 and "no case-metadata field 'site' for --by" in result.output
    assert "Traceback" not in result.output


def test_calibrate_plans_the_labels_for_a_width(study: tuple[Path, ...]) -> None:
    a, _, human = study
    args = ["--judge", str(a), "--human", str(human), "--n-boot", "0", "--plan-width", "0.5"]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(calibrate_command, args)
    assert result.exit_code == 0, result.output
    assert "Human labels for a 95% interval 0.5 wide" in result.output
    humans = load_human_scores(human).query("criterion == 'grounding'")
    judged = load_judge_results(a).query("criterion == 'grounding'").set_index("item")["score"]
    plan = calibration.ppi_plan(
        judged.astype(float), humans.groupby("item")["score"].mean(), 0.5
    ).iloc[0]
    planned = result.output[result.output.index("Human labels for") :]
    row = next(x for x in planned.splitlines() if x.startswith("│ grounding"))
    assert f" {plan['labels_needed']} " in row
