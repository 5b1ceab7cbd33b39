"""`judge report --latent`: the latent-truth panel of a run's own judges.

A synthetic 30-item run over HTTP against the local test server: each item has a scripted true
label for the ddx rubric's binary criteria; judges `a` and `b` give it but for a few items,
judge `c` is wrong on two items in five. The numbers on the page are compared with
calibration.latent's, fitted here to the judges' labels read from the results file with json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import judge
from calibration.latent import dawid_skene, error_correlation, mace
from judge.cli.report import report_command
from judge.load.rubric import load_rubric
from judge.report import build_report, write_report
from tests.browser import chromium, open_offline
from tests.llm_server import LLMServer, Reply

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "predictions.jsonl"
N_ITEMS = 30
RUBRIC = load_rubric("ddx")
BINARY = [c.id for c in RUBRIC.llm_criteria if c.scale.type == "binary"]
# Numbers are shown with three decimals.
SHOWN = 0.0005 + 1e-9
MARK = re.compile(r"\[synthetic case (\d+)\]")


def _truth(n: int, k: int) -> int:
    return int((n + k) % 3 == 0)


def _wrong(judge_name: str, n: int) -> bool:
    return {"a": n % 11 == 5, "b": n % 13 == 7, "c": n % 5 in (1, 3)}[judge_name]


def _verdict(body: dict[str, Any], n: int) -> Reply:
    text = "\n".join(str(m.get("content")) for m in body["messages"])
    found = MARK.search(text)
    assert found, "the case marker is in the prompt"
    case = int(found.group(1))
    verdict = {}
    for k, criterion in enumerate(c.id for c in RUBRIC.llm_criteria):
        score = _truth(case, k) ^ _wrong(body["model"], case) if criterion in BINARY else 3
        verdict[criterion] = {"rationale": f"{body['model']} on {criterion}", "score": score}
    return Reply.json(verdict)


def _run(where: Path, judges: list[str], n_items: int) -> Path:
    base = json.loads(EXAMPLES.read_text().splitlines()[0])
    rows = []
    for n in range(n_items):
        row = dict(base)
        row["title"] = f"Synthetic case {n}"
        row["CLINICAL_HISTORY"] = f"[synthetic case {n}] {base['CLINICAL_HISTORY']}"
        rows.append(row)
    predictions = where / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = where / "results.jsonl"
    with LLMServer(script=_verdict) as server:
        judge.score(
            predictions,
            "ddx",
            out=out,
            judges=judges,
            api_base=server.url,
            cache=False,
            validation_retries=0,
            timeout=10.0,
        )
    return out


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("latent"), ["openai/a", "openai/b", "openai/c"], N_ITEMS)


def _labels(results: Path, criterion: str) -> pd.DataFrame:
    """The judges' scored labels of one criterion, long, read with json."""
    rows = []
    for line in results.read_text().splitlines():
        record = json.loads(line)
        for j in record["judgments"]:
            if j["criterion"] == criterion and j["status"] == "scored":
                rows.append({"item": record["id"], "rater": j["judge"], "score": j["score"]})
    return pd.DataFrame(rows)


def _section(page: str, criterion: str) -> str:
    start = page.index(f'class="latent-criterion" data-criterion="{criterion}"')
    return page[start : page.index("</div>\n", page.index('class="confusions"', start) + 30)]


def _matrix(section: str, judge_name: str) -> list[float]:
    """One judge's confusion matrix as shown, row by row (answered), flattened."""
    start = section.index(f'<table class="confusion" data-judge="{judge_name}">')
    table = section[start : section.index("</table>", start)]
    return [float(v) for v in re.findall(r"<td[^>]*>([^<]*)", table)]


def _accuracy(section: str) -> dict[str, float]:
    table = section[section.index('class="latent-accuracy"') :]
    table = table[: table.index("</table>")]
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'<tr data-judge="([^"]+)"><td>[^<]*</td><td class="n">([^<]*)', table)
    }


@pytest.mark.parametrize("method", ["dawid-skene", "mace"])
def test_the_panel_shows_calibration_latent_numbers(panel: Path, method: str) -> None:
    page = build_report(panel, latent=method)
    assert "Latent-truth panel" in page
    source = "Dawid &amp; Skene 1979" if method == "dawid-skene" else "Hovy et al. 2013"
    assert source in page and "crowd-kit 1.4.2" in page
    fit = {"dawid-skene": dawid_skene, "mace": mace}[method]
    for criterion in BINARY:
        labels = _labels(panel, criterion)
        expected = fit(labels)
        section = _section(page, criterion)
        shares = expected.probas.mean(axis=0)
        shown_accuracy = _accuracy(section)
        for name, matrix in expected.confusion.items():
            shown = _matrix(section, name)
            assert shown == pytest.approx(matrix.to_numpy().ravel().tolist(), abs=SHOWN)
            accuracy = sum(shares[c] * matrix.at[c, c] for c in matrix.columns)
            assert shown_accuracy[name] == pytest.approx(accuracy, abs=SHOWN)
        # Judge c, wrong on two items in five, has the least diagonal matrix and accuracy.
        diagonal = {n: sum(m.at[c, c] for c in m.columns) for n, m in expected.confusion.items()}
        assert min(diagonal, key=diagonal.get) == "openai/c"
        assert min(shown_accuracy, key=shown_accuracy.get) == "openai/c"
        # The share of items whose latent label differs from the judges' majority vote.
        votes = labels.groupby("item")["score"].agg(lambda s: s.mode().iloc[0])
        differs = int((expected.labels.reindex(votes.index) != votes).sum())
        assert f"on {differs} of {len(votes)} items" in section


def test_the_command_takes_latent_and_names_the_method(panel: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = [str(panel), "--out", str(out), "--latent", "mace"]
    result = CliRunner().invoke(report_command, args)
    assert result.exit_code == 0, result.output
    assert 'id="latent"' in out.read_text() and "MACE" in out.read_text()
    bad = CliRunner().invoke(report_command, [str(panel), "--latent", "glad"])
    assert bad.exit_code == 2 and "dawid-skene" in bad.output


def test_a_report_without_latent_has_no_panel(panel: Path) -> None:
    assert 'id="latent' not in build_report(panel)


def test_a_one_judge_run_gets_a_note(tmp_path: Path) -> None:
    results = _run(tmp_path, ["openai/a"], 4)
    page = build_report(results, latent="dawid-skene")
    assert 'id="latent"' not in page
    note = re.search(r'<p class="note" id="latent-note">([^<]*)</p>', page)
    assert note is not None
    assert "No latent-truth panel" in note.group(1) and "at most 1 judge" in note.group(1)


def test_human_labels_add_the_error_correlation(panel: Path, tmp_path: Path) -> None:
    k = [c.id for c in RUBRIC.llm_criteria].index("hallucination")
    human = tmp_path / "human.csv"
    truth = {}
    for line in panel.read_text().splitlines():
        item = json.loads(line)["id"]
        truth[item] = _truth(int(item.split()[-1]), k)
    rows = [f'"{item}",hallucination,h1,{label}' for item, label in truth.items()]
    human.write_text("item,criterion,rater,score\n" + "\n".join(rows) + "\n")
    page = build_report(panel, human, latent="dawid-skene")
    section = page[page.index('data-criterion="hallucination"') :]
    table = section[section.index('class="latent-correlation"') :]
    table = table[: table.index("</table>")]
    shown = {
        (a, b): float(v)
        for a, b, v in re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>([^<]*)", table)
    }
    wide = _labels(panel, "hallucination").pivot(index="item", columns="rater", values="score")
    expected = error_correlation(wide, pd.Series(truth))
    assert shown == {
        (a, b): pytest.approx(expected.at[a, b], abs=0.005 + 1e-9)
        for a in expected.index
        for b in expected.columns
        if a < b
    }
    # Only the criterion people labelled has one.
    assert page.count('class="latent-correlation"') == 1


# ------------------------------------------------------------------ the page in a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def test_the_panel_in_chromium(panel: Path, browser: Any, tmp_path: Path) -> None:
    html = write_report(panel, tmp_path / "report.html", latent="dawid-skene")
    page, attempted = open_offline(browser, html)
    section = page.locator("#latent")
    assert section.is_visible()
    assert section.locator("h2").inner_text() == "Latent-truth panel"
    for criterion in BINARY:
        block = section.locator(f'.latent-criterion[data-criterion="{criterion}"]')
        matrices = block.locator("table.confusion").all()
        assert len(matrices) == 3
        for matrix in matrices:
            assert matrix.is_visible()
            box = matrix.bounding_box()
            assert box is not None and box["width"] > 80 and box["height"] > 40
        expected = dawid_skene(_labels(panel, criterion)).confusion["openai/c"]
        cells = block.locator('table.confusion[data-judge="openai/c"] td').all_inner_texts()
        assert [float(v) for v in cells] == pytest.approx(
            expected.to_numpy().ravel().tolist(), abs=SHOWN
        )
    assert attempted == []
    page.close()
