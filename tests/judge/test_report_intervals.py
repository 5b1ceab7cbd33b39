"""The HTML report's intervals (judge report --ci --cluster): the same as the run summary's,
wider over clusters of repeated samples, and a cluster field some record lacks is one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from statsmodels.stats.proportion import proportion_confint

import judge
from judge.cli import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions.jsonl"


def _results(tmp_path: Path, drop_case: bool = False) -> Path:
    # Each bundled case answered 4 times alike: 48 records, 12 independent cases.
    rows = [
        {**json.loads(line), "case": f"case {i}"}
        for i, line in enumerate(EXAMPLES.read_text().splitlines())
        for _ in range(4)
    ]
    for k, row in enumerate(rows):
        row["title"] = f"{row['title']} #{k}"
    if drop_case:
        del rows[5]["case"]
    out = tmp_path / "results.jsonl"
    judge.score(rows, "accuracy", out=out)
    return out


def _interval(page: str, criterion: str) -> tuple[float, float]:
    row = re.search(rf'data-criterion="{criterion}">.*?</tr>', page, re.DOTALL)
    assert row is not None
    low, high = re.search(r"\[(\d\.\d\d), (\d\.\d\d)\]", row.group(0)).groups()  # type: ignore[union-attr]
    return float(low), float(high)


def test_report_intervals_match_the_summary_and_widen_with_clusters(tmp_path: Path) -> None:
    results = _results(tmp_path)
    plain, clustered = tmp_path / "plain.html", tmp_path / "clustered.html"
    assert CliRunner().invoke(cli, ["report", str(results), "--out", str(plain)]).exit_code == 0
    code = CliRunner().invoke(
        cli, ["report", str(results), "--out", str(clustered), "--cluster", "case", "--ci", "0.9"]
    )
    assert code.exit_code == 0, code.output
    page, page_cl = plain.read_text(), clustered.read_text()
    assert "95% CI" in page and "90% CI (clusters: case)" in page_cl
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    rate = sum(r["scores"]["final_answer"] for r in rows) / len(rows)
    # Wilson's over the 48 records, as the run summary's (statsmodels' proportion_confint).
    low, high = _interval(page, "final_answer")
    assert low < rate < high
    right = sum(r["scores"]["final_answer"] for r in rows)
    expected = proportion_confint(right, len(rows), alpha=0.05, method="wilson")
    assert (low, high) == (round(expected[0], 2), round(expected[1], 2))
    low_cl, high_cl = _interval(page_cl, "final_answer")
    assert (high_cl - low_cl) > 1.2 * (high - low)


def test_report_cluster_field_missing_on_a_record_is_one_line(tmp_path: Path) -> None:
    results = _results(tmp_path, drop_case=True)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli, ["report", str(results), "--out", str(out), "--cluster", "case"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0
    assert f"{results}: field 'meta.case': missing in record " in result.output
    assert " #5'): --cluster groups items by it" in result.output
    assert not out.exists()
