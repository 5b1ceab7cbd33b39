"""Every mean in a run summary has its interval (judge/aggregate/intervals.py): Wilson for a
binary rate, a percentile bootstrap otherwise, over whole clusters with --cluster, at the
level --ci sets; a --cluster field some item lacks is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import bootstrap
from statsmodels.stats.proportion import proportion_confint

import judge
from judge.cli import cli
from judge.errors import ConfigError

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions.jsonl"


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLES.read_text().splitlines()]


def _criterion(result: judge.RunResult, criterion: str) -> Any:
    return next(c for c in result.summary.criteria if c.id == criterion)


@pytest.mark.parametrize("ci", [0.95, 0.9])
def test_a_binary_rate_has_wilsons_interval(ci: float) -> None:
    final = _criterion(judge.score(_rows(), "accuracy", ci=ci), "final_answer")
    right = final.counts["1"]
    # Reference: statsmodels' proportion_confint(method="wilson").
    expected = proportion_confint(right, final.n_scored, alpha=1 - ci, method="wilson")
    interval = final.interval
    assert interval.method == "wilson" and interval.n == final.n_scored == 12
    assert (interval.low, interval.high) == pytest.approx(expected, abs=1e-12)
    assert interval.level == ci


def test_a_continuous_mean_has_a_percentile_bootstrap_interval() -> None:
    result = judge.score(_rows(), "twi")
    step2 = _criterion(result, "step2_rouge1")
    scores = [r.scores["step2_rouge1"] for r in judge.score(_rows(), "twi").records]
    data = np.array([s for s in scores if s is not None], dtype=float)
    # Reference: scipy.stats.bootstrap(method="percentile"), 20,000 resamples; the summary
    # draws its own 2,000 (other draws): equal within Monte Carlo error (≈0.005 here).
    reference = bootstrap(
        (data,), np.mean, n_resamples=20_000, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    interval = step2.interval
    assert interval.method == "bootstrap" and interval.n == len(data) == step2.n_scored
    assert interval.low < step2.mean < interval.high
    assert (interval.low, interval.high) == pytest.approx(
        (reference.low, reference.high), abs=0.015
    )
    # Seeded: a second summary of the same records gives the same interval.
    assert _criterion(judge.score(_rows(), "twi"), "step2_rouge1").interval == interval


def _repeated(times: int) -> list[dict[str, Any]]:
    # Each case answered `times` times alike (a model sampled repeatedly): 12 x times items
    # but 12 independent cases.
    return [
        {**row, "title": f"{row['title']} #{k}", "case": row["title"]}
        for row in _rows()
        for k in range(times)
    ]


def test_cluster_resamples_cases_and_widens_the_interval() -> None:
    rows = _repeated(4)
    plain = _criterion(judge.score(rows, "accuracy"), "final_answer").interval
    clustered_run = judge.score(rows, "accuracy", cluster="case")
    clustered = _criterion(clustered_run, "final_answer").interval
    assert plain.method == "wilson" and plain.n == 48
    assert clustered.method == "cluster bootstrap" and clustered.clusters == 12
    assert clustered.n == 48 and clustered_run.summary.cluster == "case"
    assert (clustered.high - clustered.low) > 1.5 * (plain.high - plain.low)


def test_by_slices_have_their_own_intervals() -> None:
    result = judge.score(_rows(), "accuracy", by="modality")
    for piece in result.summary.slices:
        interval = piece.intervals["final_answer"]
        assert interval is not None and interval.n == piece.n
        right = round(piece.means["final_answer"] * piece.n)
        expected = proportion_confint(right, piece.n, alpha=0.05, method="wilson")
        assert (interval.low, interval.high) == pytest.approx(expected, abs=1e-12)


def test_a_cluster_field_missing_on_an_item_is_a_one_line_error(tmp_path: Path) -> None:
    rows = _repeated(2)
    del rows[3]["case"]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.jsonl"
    args = ["score", str(path), "--rubric", "accuracy", "--cluster", "case", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0  # one line
    assert f"{path}:4: field 'case': no case metadata value to cluster by" in result.output
    assert not out.exists()  # refused before anything was judged
    # Not skipped by --skip-invalid either: a cluster bootstrap needs every item's cluster.
    result = CliRunner().invoke(cli, [*args, "--skip-invalid"])
    assert result.exit_code == 2 and f"{path}:4: field 'case'" in result.output


def test_ci_is_checked_and_shown_in_the_summary(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ci \(--ci\) must be a number above 0 and below 1"):
        judge.score(_rows(), "accuracy", ci=1.0)
    path = tmp_path / "p.jsonl"
    path.write_text(EXAMPLES.read_text())
    args = ["score", str(path), "--rubric", "accuracy", "--ci", "0.9", "--cluster", "modality"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 0, result.output
    assert "90% CI (cl.)" in result.output
    modalities = {json.loads(line).get("modality") for line in EXAMPLES.read_text().splitlines()}
    note = f"(cl.): a cluster bootstrap over {len(modalities)} 'modality' values, binary rates too"
    assert note in result.output


@pytest.mark.parametrize("cluster", [None, "case"])
def test_intervals_do_not_depend_on_the_order_records_finish_in(cluster: str | None) -> None:
    # Records arrive as their judges answer: a rerun may finish them in another order.
    from judge.aggregate.summary import SummaryBuilder
    from judge.load.rubric import load_rubric

    records = judge.score(_repeated(3), "twi", cluster=cluster).records
    summaries = []
    for order in (records, records[::-1], records[1::2] + records[::2]):
        builder = SummaryBuilder(load_rubric("twi"), cluster=cluster)
        for record in order:
            builder.add(record)
        summaries.append([c.interval for c in builder.build().criteria])
    assert summaries[0] == summaries[1] == summaries[2]
    assert all(i is not None and i.low < i.high for i in summaries[0])


def test_by_slices_resample_clusters_with_cluster() -> None:
    result = judge.score(_repeated(3), "accuracy", by="modality", cluster="case")
    for piece in result.summary.slices:
        interval = piece.intervals["final_answer"]
        assert interval is not None and interval.method == "cluster bootstrap"
        assert interval.n == piece.n and interval.clusters == piece.n // 3


def test_a_step_criterions_units_are_resampled_with_their_item() -> None:
    # Units arrive item by item (contiguous): kept as one sum and count per item, no lookup,
    # and resampled as calibration.intervals.cluster_bootstrap resamples clusters.
    from calibration.intervals import canonical, cluster_bootstrap
    from judge.aggregate.intervals import N_BOOT, SEED, MeanInterval

    units = {f"item {i}": [float((i * k) % 3 == 0) for k in range(1, i % 4 + 2)] for i in range(40)}
    found = MeanInterval(binary=True, contiguous=True)
    for item, scores in units.items():
        for score in scores:
            found.add(score, item)
    interval = found.interval(0.95)
    sums = [sum(s) for s in units.values()]
    counts = [float(len(s)) for s in units.values()]
    expected = cluster_bootstrap(*canonical(sums, counts), 0.95, N_BOOT, SEED)
    assert interval is not None and interval.method == "cluster bootstrap"
    assert interval.clusters == 40 and interval.n == sum(map(len, units.values()))
    assert (interval.low, interval.high) == pytest.approx(expected, abs=1e-12)
