"""`judge compare` and calibration.compare_runs: judge drift and two models on the same cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from statsmodels.stats.contingency_tables import mcnemar

from calibration.compare import compare_runs, paired_interval
from calibration.errors import CalibrationError
from calibration.runs import load_run
from judge.cli.group import cli

RNG = np.random.default_rng(4)
ITEMS = [f"case-{i:02d}" for i in range(40)]
BASE = {
    i: {"grounding": int(RNG.integers(1, 6)), "correct": int(RNG.integers(0, 2))} for i in ITEMS
}


def _changed(changes: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {i: {**BASE[i], **changes.get(i, {})} for i in ITEMS}


def test_drift_lists_the_flips_and_the_shift(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = write_run(tmp_path / "a.jsonl", BASE, judges=("gpt",))
    flipped = {
        "case-03": {"grounding": BASE["case-03"]["grounding"] % 5 + 1},
        "case-07": {"correct": 1 - BASE["case-07"]["correct"]},
    }
    b = write_run(tmp_path / "b.jsonl", _changed(flipped), judges=("claude",))
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    assert "mode: drift: the runs differ in judges" in result.output
    assert "flips in grounding (1):" in result.output and "flips in correct (1):" in result.output
    g = BASE["case-03"]["grounding"]
    assert f"  case-03: {g} -> {g % 5 + 1}" in result.output
    table = compare_runs(load_run(a), load_run(b), n_boot=200).table.set_index("criterion")
    assert table.loc["grounding", "flips"] == 1
    assert table.loc["grounding", "agreement"] == pytest.approx(39 / 40)
    shift = ((g % 5 + 1) - g) / 40
    assert table.loc["grounding", "shift"] == pytest.approx(shift)
    assert table.loc["grounding", "shift_low"] <= shift <= table.loc["grounding", "shift_high"]


def test_two_models_paired_difference_mcnemar_and_wins(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = write_run(tmp_path / "a.jsonl", BASE)
    # Model b gets "correct" wrong on 6 items a got right, and right on 1 that a got wrong.
    right = [i for i in ITEMS if BASE[i]["correct"] == 1][:6]
    wrong = [i for i in ITEMS if BASE[i]["correct"] == 0][:1]
    b_scores = _changed(
        {**{i: {"correct": 0} for i in right}, **{i: {"correct": 1} for i in wrong}}
    )
    b = write_run(tmp_path / "b.jsonl", b_scores)
    result = compare_runs(load_run(a), load_run(b), n_boot=200)
    assert result.mode == "models"
    row = result.table.set_index("criterion").loc["correct"]
    assert (row["wins_a"], row["wins_b"], row["ties"]) == (6, 1, 33)
    assert row["diff"] == pytest.approx(5 / 40)
    both = sum(BASE[i]["correct"] for i in ITEMS) - 6
    neither = 40 - both - 7
    assert row["mcnemar_p"] == pytest.approx(mcnemar([[both, 6], [1, neither]], exact=True).pvalue)
    assert row["mcnemar_p"] == pytest.approx(
        2 * sum(__import__("math").comb(7, k) for k in range(2)) / 2**7
    )  # exact binomial, 1 of 7


def test_different_rubric_hashes_are_refused_unless_allowed(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = write_run(tmp_path / "a.jsonl", BASE, rubric_hash="r1")
    b = write_run(tmp_path / "b.jsonl", BASE, rubric_hash="r2")
    result = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert result.exit_code == 2  # a user error, as every command reports one
    assert "different rubrics" in result.output and "--allow-rubric-change" in result.output
    assert "Traceback" not in result.output
    allowed = CliRunner().invoke(cli, ["compare", str(a), str(b), "--allow-rubric-change"])
    assert allowed.exit_code == 0, allowed.output
    assert "differ in rubric" in allowed.output


def test_the_bootstrap_resamples_whole_cases() -> None:
    # Two cases of 10 samples each: a case-level bootstrap has only 3 distinct means to draw.
    diff = np.array([1.0] * 10 + [0.0] * 10)
    low, high = paired_interval(diff, np.repeat(["x", "y"], 10), 0.95, 500, 0)
    assert (low, high) == (0.0, 1.0)
    item_low, item_high = paired_interval(diff, np.arange(20), 0.95, 500, 0)
    assert 0.2 < item_low < item_high < 0.8


def test_cluster_by_an_unknown_field_is_an_error(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = write_run(tmp_path / "a.jsonl", BASE)
    with pytest.raises(CalibrationError, match="no case-metadata field 'case'"):
        compare_runs(load_run(a), load_run(a), cluster="case")


def test_two_models_ppi_corrected_difference(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(8)
    items = [f"c{i:03d}" for i in range(200)]
    true_a = rng.integers(1, 6, size=200)
    true_b = np.clip(true_a - rng.integers(0, 2, size=200), 1, 5)
    # The judge reads model b one point higher than it is (a biased judge of b).
    a = write_run(
        tmp_path / "a.jsonl", {i: {"g": int(t)} for i, t in zip(items, true_a, strict=True)}
    )
    b = write_run(
        tmp_path / "b.jsonl",
        {i: {"g": int(min(5, t + 1))} for i, t in zip(items, true_b, strict=True)},
    )
    humans = {}
    for name, truth in (("a", true_a), ("b", true_b)):
        path = tmp_path / f"human_{name}.csv"
        path.write_text(
            "item,criterion,rater,score\n"
            + "".join(f"{i},g,dr,{t}\n" for i, t in list(zip(items, truth, strict=True))[:60])
        )
        humans[name] = path
    args = ["compare", str(a), str(b), "--human-a", str(humans["a"]), "--human-b", str(humans["b"])]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*args, "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert "Bias-corrected difference a − b (95% intervals)" in result.output
    from calibration import ppi_paired_difference
    from calibration.loaders import load_human_scores

    runs = [load_run(a).scores, load_run(b).scores]
    hs = [load_human_scores(humans[n]) for n in ("a", "b")]
    direct = ppi_paired_difference(
        *(pd.to_numeric(f["score"]).groupby(f["item"]).mean() for f in (*runs, *hs))
    )
    assert f"{direct.estimate:.3f} [{direct.low:.3f}, {direct.high:.3f}]" in result.output
    true_diff = float(np.mean(true_a - true_b))
    assert direct.low < true_diff < direct.high and direct.naive < true_diff - 0.5
    half = CliRunner().invoke(cli, ["compare", str(a), str(b), "--human-a", str(humans["a"])])
    assert half.exit_code == 2 and "give both --human-a and --human-b" in half.output


def test_the_out_tables_are_marked_and_never_an_input(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = write_run(tmp_path / "a.jsonl", BASE)
    b = write_run(tmp_path / "b.jsonl", _changed({"case-03": {"correct": 1}}), judges=("x",))
    out = tmp_path / "cmp.csv"
    for _ in range(2):  # the second run replaces the first run's marked tables
        done = CliRunner().invoke(
            cli, ["compare", str(a), str(b), "--n-boot", "0", "--out", str(out)]
        )
        assert done.exit_code == 0, done.output
    for path in (out, tmp_path / "cmp.flips.csv"):
        assert path.read_text().startswith("# judge table (judge compare)\n")
    assert set(pd.read_csv(out, skiprows=1)["criterion"]) == {"grounding", "correct"}
    human = tmp_path / "human.csv"
    human.write_text("item,criterion,rater,score\ncase-01,correct,dr,1\n")
    before = human.read_bytes()
    given = ["--human-a", str(human), "--human-b", str(human), "--out", str(human)]
    refused = CliRunner().invoke(cli, ["compare", str(a), str(b), *given])
    assert refused.exit_code == 2 and "is the input file" in refused.output
    assert human.read_bytes() == before


def test_the_ppi_difference_is_cluster_robust_with_cluster(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    """Two models judged on 40 cases × 5 items, each model with a case effect of its own
    (one case suits one model better), shared by the case's items: with --cluster the
    corrected difference's interval is the cluster-robust one (wider)."""
    from calibration.compare import ppi_difference_table
    from calibration.loaders import load_human_scores
    from calibration.ppi_designs import ppi_mean_clustered

    rng = np.random.default_rng(5)
    scores_a, scores_b, meta, rows_a, rows_b = {}, {}, {}, [], []
    for case in range(40):
        effect_a, effect_b = rng.normal(0, 1.0), rng.normal(0, 1.0)
        for k in range(5):
            item = f"c{case}-{k}"
            meta[item] = {"case": f"c{case}"}
            ta, tb = 3 + effect_a + rng.normal(0, 0.4), 2.6 + effect_b + rng.normal(0, 0.4)
            scores_a[item] = {"g": round(ta + 0.3, 2)}
            scores_b[item] = {"g": round(tb + 0.6, 2)}
            if k < 2:
                rows_a.append(f"{item},g,dr,{ta:.2f}\n")
                rows_b.append(f"{item},g,dr,{tb:.2f}\n")
    a = load_run(write_run(tmp_path / "a.jsonl", scores_a, meta=meta))
    b = load_run(write_run(tmp_path / "b.jsonl", scores_b, meta=meta))
    humans = []
    for name, rows in (("a", rows_a), ("b", rows_b)):
        path = tmp_path / f"h_{name}.csv"
        path.write_text("item,criterion,rater,score\n" + "".join(rows))
        humans.append(load_human_scores(path))
    plain = ppi_difference_table(a, b, *humans).iloc[0]
    clustered = ppi_difference_table(a, b, *humans, cluster="case").iloc[0]
    assert clustered["estimate"] == pytest.approx(plain["estimate"])
    assert clustered["high"] - clustered["low"] > plain["high"] - plain["low"]
    # the same as the clustered estimator on the differences, by case
    diff = a.scores.set_index("item")["score"] - b.scores.set_index("item")["score"]
    rated = humans[0].set_index("item")["score"] - humans[1].set_index("item")["score"]
    cases = pd.Series({i: m["case"] for i, m in meta.items()})
    direct = ppi_mean_clustered(diff.astype(float), rated.astype(float), cases)
    assert (clustered["low"], clustered["high"]) == pytest.approx((direct.low, direct.high))
    with pytest.raises(CalibrationError, match="no case-metadata field 'ward'"):
        ppi_difference_table(a, b, *humans, cluster="ward")
