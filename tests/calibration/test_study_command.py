"""`judge calibrate` on real study designs (issue 27): --level, another tool's judge scores,
--out-dir, --cluster and --strata, --alt-test-pool, --guarantee (saved), --latent, and the
one-line errors of their bad inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from judge.cli import cli


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["calibrate", *args])
    return result.exit_code, result.output


def _long_judges(tmp_path: Path, scores: dict[str, np.ndarray], name: str = "judges.csv") -> Path:
    """judge-a's and judge-b's evidence_grounding as another tool would write them."""
    rows = [
        {"item": f"case-{i:02d}", "criterion": "evidence_grounding", "judge": j,
         "score": int(scores[j][i])}
        for i in range(30) for j in ("judge-a", "judge-b")
    ]  # fmt: skip
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_another_tools_long_judge_table_is_read(tmp_path, scores, human_file, results_file):
    judges = str(_long_judges(tmp_path, scores))
    code, output = _run("--judge", judges, "--human", str(human_file), "--n-boot", "0",
                        "--out-dir", str(tmp_path / "a"))  # fmt: skip
    assert code == 0, output
    ours = pd.read_csv(tmp_path / "a" / "agreement.csv", skiprows=1).set_index("judge")
    _run("--judge", str(results_file), "--human", str(human_file), "--n-boot", "0",
         "--out-dir", str(tmp_path / "b"))  # fmt: skip
    theirs = pd.read_csv(tmp_path / "b" / "agreement.csv", skiprows=1)
    theirs = theirs[theirs["criterion"] == "evidence_grounding"].set_index("judge")
    # the same scores as a results file give the same figures
    for judge in ("judge-a", "judge-b"):
        assert ours.loc[judge, "spearman"] == pytest.approx(theirs.loc[judge, "spearman"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="judge"), "needs columns item, criterion, judge, score"),
        (
            lambda f: pd.concat([f, f.head(1)]),
            "scored item 'case-00' on 'evidence_grounding' twice",
        ),
    ],
)
def test_a_bad_judge_table_is_one_line(tmp_path, scores, human_file, edit, message) -> None:
    path = _long_judges(tmp_path, scores)
    edit(pd.read_csv(path)).to_csv(path, index=False)
    code, output = _run("--judge", str(path), "--human", str(human_file))
    assert code == 2 and message in output and output.count("\n") == 1, output


def test_level_sets_each_criterion_and_text_labels_are_nominal(tmp_path: Path) -> None:
    rows, humans = [], []
    for i in range(24):
        truth = ["yes", "no", "maybe"][i % 3]
        rows.append({"item": f"i{i}", "criterion": "relation", "judge": "j", "score": truth})
        rows.append({"item": f"i{i}", "criterion": "likert", "judge": "j", "score": 1 + i % 5})
        for r, slip in (("h1", 0), ("h2", i % 7 == 0)):
            humans.append({"item": f"i{i}", "criterion": "relation", "rater": r,
                           "score": "no" if slip else truth})  # fmt: skip
            humans.append({"item": f"i{i}", "criterion": "likert", "rater": r,
                           "score": 1 + (i + slip) % 5})  # fmt: skip
    judges, human = tmp_path / "j.jsonl", tmp_path / "h.csv"
    judges.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(humans).to_csv(human, index=False)
    code, output = _run("--judge", str(judges), "--human", str(human), "--n-boot", "0",
                        "--level", "likert=interval", "--out-dir", str(tmp_path / "o"))  # fmt: skip
    assert code == 0, output
    table = pd.read_csv(tmp_path / "o" / "agreement.csv", skiprows=1).set_index("criterion")
    assert table.loc["relation", "level"] == "nominal"  # text labels, no recoding
    assert table.loc["likert", "level"] == "interval"
    code, output = _run("--judge", str(judges), "--human", str(human), "--level",
                        "relation=ordinal")  # fmt: skip
    assert code == 2 and "text labels" in output and "nominal" in output
    code, output = _run("--judge", str(judges), "--human", str(human), "--level", "loud")
    assert code == 2 and "--level 'loud'" in output


def test_out_dir_writes_every_table_and_the_run(tmp_path, results_file, human_file) -> None:
    out = tmp_path / "tables"
    code, output = _run("--judge", str(results_file), "--human", str(human_file), "--n-boot",
                        "50", "--alt-test", "--ceiling", "--estimate", "--plan-width", "0.5",
                        "--out-dir", str(out))  # fmt: skip
    assert code == 0, output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["agreement.csv", "human_human.csv", "alt_test.csv", "ceiling.csv",
                            "estimate.csv", "plan.csv", "run.json"])  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["n_boot"] == 50 and run["tables"][0] == "agreement.csv"
    assert len(run["inputs"]["human"]["sha256"]) == 64
    human = pd.read_csv(out / "human_human.csv", skiprows=1).set_index("criterion")
    assert human.loc["evidence_grounding", "n_humans"] == 3
    # A file in the folder that is not ours stops the command; ours are replaced.
    (out / "plan.csv").write_text("item,price\n1,2\n")
    code, output = _run("--judge", str(results_file), "--human", str(human_file),
                        "--out-dir", str(out))  # fmt: skip
    assert code == 2 and "plan.csv" in output
    assert (out / "plan.csv").read_text() == "item,price\n1,2\n"


def test_every_table_undefined_exits_2(tmp_path: Path) -> None:
    judges, human = tmp_path / "j.csv", tmp_path / "h.csv"
    pd.DataFrame([{"item": "i1", "criterion": "q", "judge": "j", "score": 3}]).to_csv(
        judges, index=False
    )
    pd.DataFrame([{"item": "i1", "criterion": "q", "rater": "h", "score": 3}]).to_csv(
        human, index=False
    )
    code, output = _run("--judge", str(judges), "--human", str(human))
    assert code == 2 and "every table is undefined" in output


def _clustered_run(tmp_path: Path, write_run: Callable[..., Path]) -> tuple[Path, Path]:
    """20 cases × 4 items: a shared case effect, a judge that reads it, two clinicians."""
    rng = np.random.default_rng(3)
    scores, meta, humans = {}, {}, []
    for case in range(20):
        effect = rng.normal(0, 1.2)
        for k in range(4):
            item = f"c{case}-{k}"
            truth = 3 + effect + rng.normal(0, 0.5)
            scores[item] = {"grounding": int(np.clip(round(truth + rng.normal(0, 0.6)), 1, 5))}
            meta[item] = {"case": f"c{case}", "modality": "CT" if case % 2 else "MR"}
            if k < 2:
                for r in ("h1", "h2"):
                    rated = int(np.clip(round(truth + rng.normal(0, 0.5)), 1, 5))
                    humans.append({"item": item, "criterion": "grounding", "rater": r,
                                   "score": rated})  # fmt: skip
    results = write_run(tmp_path / "run.jsonl", scores, meta=meta)
    human = tmp_path / "h.csv"
    pd.DataFrame(humans).to_csv(human, index=False)
    return results, human


def test_cluster_widens_the_intervals_and_the_estimate(tmp_path, write_run) -> None:
    results, human = _clustered_run(tmp_path, write_run)
    base = ["--judge", str(results), "--human", str(human), "--n-boot", "300", "--estimate"]
    code, output = _run(*base, "--out-dir", str(tmp_path / "plain"))
    assert code == 0, output
    code, output = _run(*base, "--cluster", "case", "--out-dir", str(tmp_path / "cl"))
    assert code == 0, output

    def width(folder: str, table: str, low: str, high: str) -> float:
        frame = pd.read_csv(tmp_path / folder / table, skiprows=1).iloc[0]
        return float(frame[high] - frame[low])

    assert width("cl", "agreement.csv", "spearman_low", "spearman_high") > width(
        "plain", "agreement.csv", "spearman_low", "spearman_high"
    )
    assert width("cl", "estimate.csv", "low", "high") > width(
        "plain", "estimate.csv", "low", "high"
    )
    code, output = _run(*base, "--strata", "modality")
    assert code == 0 and "stratified over 2 strata" in output, output
    code, output = _run(*base, "--cluster", "ward")
    assert code == 2 and "no case-metadata field 'ward'" in output


def test_guarantee_is_computed_and_saved_and_latent_panels(tmp_path, write_run, monkeypatch):
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(1)
    scores, humans = {}, []
    for i in range(120):
        truth = int(rng.integers(0, 2))
        agree = rng.random() < 0.85
        scores[f"i{i}"] = {"flag": truth if agree else 1 - truth}
        for r in ("h1", "h2", "h3"):
            humans.append({"item": f"i{i}", "criterion": "flag", "rater": r, "score": truth})
    # three judges: two agree with the panel's verdict, the third flips a fifth of the items
    lines = []
    for line, (item, panel) in enumerate(scores.items(), start=1):
        third = panel["flag"] if rng.random() < 0.8 else 1 - panel["flag"]
        said = (("a", panel["flag"]), ("b", panel["flag"]), ("c", third))
        judgments = [{"criterion": "flag", "judge": j, "status": "scored", "score": s}
                     for j, s in said]  # fmt: skip
        lines.append(json.dumps({"id": item, "line": line, "judgments": judgments}))
    results, human = tmp_path / "r.jsonl", tmp_path / "h.csv"
    results.write_text("\n".join(lines) + "\n")
    pd.DataFrame(humans).to_csv(human, index=False)
    args = ["--judge", str(results), "--human", str(human), "--n-boot", "0", "--level",
            "nominal", "--guarantee", "0.8", "--latent", "dawid-skene", "--out-dir",
            str(tmp_path / "o")]  # fmt: skip
    code, output = _run(*args)
    assert code == 0, output
    assert "Trust or Escalate" in output and "Latent-truth panel" in output
    guarantee = pd.read_csv(tmp_path / "o" / "guarantee.csv", skiprows=1).iloc[0]
    assert guarantee["guaranteed"] and guarantee["agreement"] >= 0.8
    assert 0 < guarantee["coverage"] <= 1
    confusion = pd.read_csv(tmp_path / "o" / "confusion.csv", skiprows=1)
    assert set(confusion["judge"]) == {"a", "b", "c"}


def test_labels_that_tuned_the_judge_are_left_out_of_its_estimate(
    tmp_path: Path, results_file: Path, human_file: Path
) -> None:
    import yaml

    from tests.judge.test_rubric_examples import EXAMPLE, _variant

    tuned = [dict(EXAMPLE, item=f"case-{i:02d}") for i in range(5)]  # 5 rated items tuned it
    aligned = tmp_path / "aligned.yaml"
    aligned.write_text(yaml.safe_dump(_variant(examples=tuned), sort_keys=False))
    args = ["--judge", str(results_file), "--human", str(human_file), "--estimate", "--n-boot",
            "0", "--level", "interval"]  # fmt: skip
    code, output = _run(*args, "--out-dir", str(tmp_path / "plain"))
    assert code == 0, output
    code, output = _run(*args, "--rubric", str(aligned), "--out-dir", str(tmp_path / "split"))
    assert code == 0, output
    plain = pd.read_csv(tmp_path / "plain" / "estimate.csv", skiprows=1).set_index("judge")
    split = pd.read_csv(tmp_path / "split" / "estimate.csv", skiprows=1).set_index("judge")
    row, before = split.loc["judge-a"].iloc[0], plain.loc["judge-a"].iloc[0]
    assert row["n"] == before["n"] - 5  # their labels no longer correct the estimate
    assert "left out of the PPI estimate (sample splitting" in row["notes"]


def test_one_human_rater_cannot_run_the_alt_test(tmp_path: Path, results_file: Path) -> None:
    human = tmp_path / "one.csv"
    rows = [f"case-{i:02d},evidence_grounding,dr_a,{1 + i % 5}\n" for i in range(30)]
    human.write_text("item,criterion,rater,score\n" + "".join(rows))
    code, output = _run("--judge", str(results_file), "--human", str(human), "--alt-test")
    assert code == 2 and "needs two or more human raters" in output
    assert output.count("\n") == 1
