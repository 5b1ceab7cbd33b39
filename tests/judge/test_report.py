"""`judge report`: the HTML report of a results file, checked as a person sees it.

The results come from a real run over HTTP against the local test server, scripted so the two
judges disagree, one rationale holds a `<script>`, one item's metadata holds an `<img>` that
would fetch a URL if it were not escaped, and one judge's reply never validates on one item.
Every number the tests compare with is computed here from the results file with `json`, not
with the report's own code. Set JUDGE_WRITE_DOCS=1 to refresh docs/report.png.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
from collections import defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from statsmodels.stats.proportion import proportion_confint

import calibration
import judge
from judge.cli.report import report_command
from judge.load.rubric import load_rubric
from judge.report import build_report, slice_scores, write_report
from judge.store.results import iter_records
from tests.browser import chromium, open_offline
from tests.llm_server import LLMServer, Reply

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "predictions.jsonl"
SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '<img src="http://198.51.100.7/x.png">MRI'
LLM = [c.id for c in load_rubric("ddx").llm_criteria]
BINARY = {c.id for c in load_rubric("ddx").llm_criteria if c.scale.type == "binary"}


def _verdict(body: dict[str, Any], n: int) -> Reply:
    """Judge `b` is one level off judge `a` on about a third of its scores, in a pattern fixed
    by the prompt."""
    text = "\n".join(str(m.get("content")) for m in body["messages"])
    if body["model"] == "b" and "A 52-year-old woman developed" in text:
        return Reply.text("I would rather not say.")  # never validates
    digest = hashlib.sha256(text.encode()).digest()
    verdict = {}
    for k, criterion in enumerate(LLM):
        shift = 1 if body["model"] == "b" and digest[k + 8] % 3 == 0 else 0
        levels = 2 if criterion in BINARY else 5
        score = (digest[k] + shift) % levels + (0 if criterion in BINARY else 1)
        verdict[criterion] = {"rationale": f"{body['model']} on {criterion}", "score": score}
    if body["model"] == "a" and "A 34-year-old woman had an abdominal" in text:
        verdict["coherence"] = {"rationale": SCRIPT, "score": 1}
    return Reply.json(verdict)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("report")
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines()]
    rows[1]["modality"] = IMG
    predictions = where / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = where / "results.jsonl"
    with LLMServer(script=_verdict) as server:
        judge.score(
            predictions,
            "ddx",
            out=out,
            judges=["openai/a", "openai/b"],
            api_base=server.url,
            cache=False,
            validation_retries=0,
            timeout=60.0,
        )
    return out


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _mean(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return statistics.fmean(numbers) if numbers else None


def _close(shown: str, expected: float | None) -> bool:
    if expected is None:
        return shown == "—"
    return abs(float(shown) - expected) <= 0.005 + 1e-9


# ------------------------------------------------------------------ the page as HTML


class _Refs(HTMLParser):
    """Every attribute value and style text that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name == "content" and tag == "meta":
                continue  # the CSP and viewport declarations
            if "//" in value or "url(" in value.replace("url(#", "") or name in ("src", "srcset"):
                self.found.append(f"{tag} {name}={value}")
            if name.endswith("href") and not value.startswith("#"):
                self.found.append(f"{tag} {name}={value}")

    def handle_data(self, data: str) -> None:
        if self._style and ("url(" in data or "@import" in data):
            self.found.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._style = False


def _references(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.found


def test_page_is_self_contained_and_escapes_model_text(results: Path) -> None:
    page = build_report(results)
    # Nothing to fetch: no attribute or style refers outside the page (the SVG's DTD and
    # namespace URLs are gone too); URLs only appear as escaped text (a pydantic error link
    # in an unscored reason, the <img> metadata value).
    assert _references(page) == []
    assert "svg11.dtd" not in page and "www.w3.org" not in page
    assert "<script" not in page and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=" in page
    assert page.count("<svg") >= 3 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids must be unique across the inline plots"


def test_slice_scores_counts_and_means_each_value(results: Path) -> None:
    records = list(iter_records(results))
    table = slice_scores(records, "modality")
    raw = _records(results)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in raw:
        groups[str(r["meta"]["modality"])].append(r)
    assert sorted(table.index) == sorted(groups)
    for value, members in groups.items():
        assert table.loc[value, "n"] == len(members)
        for criterion in ("final_answer", "coherence"):
            expected = _mean([m["scores"][criterion] for m in members])
            assert table.loc[value, criterion] == pytest.approx(expected)


def test_a_field_some_items_lack_is_its_own_slice(results: Path) -> None:
    records = list(iter_records(results))
    records[0].meta.pop("modality")
    table = slice_scores(records, "modality")
    assert table.loc["(missing)", "n"] == 1
    assert table["n"].sum() == len(records)


def test_command_writes_the_report(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, [str(results), "--out", str(out), "--lowest", "2"])
    assert result.exit_code == 0, result.output
    assert out.read_text().count('class="item"') == 2


def test_human_scores_add_the_agreement_table(results: Path, tmp_path: Path) -> None:
    raw = _records(results)
    human = tmp_path / "human.csv"
    lines = ["item,criterion,rater,score"]
    for r in raw:
        for criterion in ("coherence", "medical_accuracy"):
            score = r["scores"][criterion]
            for rater, delta in (("h1", 0), ("h2", 1)):
                level = min(5, max(1, round(score) + delta))
                lines.append(f'"{r["id"]}",{criterion},{rater},{level}')
    human.write_text("\n".join(lines) + "\n")
    page = build_report(results, human)
    section = page[page.index('id="human-table"') :]
    section = section[: section.index("</table>")]
    rows = [re.findall(r"<td[^>]*>([^<]*)", row) for row in section.split("<tr>")[2:]]
    # One row per criterion the humans scored and judge (and the panel), with the number of
    # items both scored: judge b lost one item.
    shown = {(row[0], row[1]): int(row[2]) for row in rows}
    expected = {}
    for criterion in ("coherence", "medical_accuracy"):
        for name in ("openai/a", "openai/b"):
            expected[(criterion, name)] = sum(
                any(j["judge"] == name and j["criterion"] == criterion and j["status"] == "scored"
                    for j in r["judgments"])
                for r in raw
            )  # fmt: skip
        expected[(criterion, "panel")] = len(raw)
    assert shown == expected
    assert expected[("coherence", "openai/b")] == len(raw) - 1
    # The human ceiling: each judge's rank among the two humans and itself, as
    # calibration.human_ceiling ranks it (ordinal scores: quadratic κ over the pooled pairs).
    ceiling = page[page.index('id="ceiling-table"') :]
    ceiling = ceiling[: ceiling.index("</table>")]
    cells = [re.findall(r"<td[^>]*>([^<]*)", row) for row in ceiling.split("<tr>")[2:]]
    ranks = {(r[0], r[1]): r[4] for r in cells}
    humans = pd.read_csv(human, dtype={"item": str})
    for (criterion, name), rank in ranks.items():
        judged = [
            {"item": r["id"], "score": j["score"]}
            for r in raw
            for j in r["judgments"]
            if (j["judge"], j["criterion"], j["status"]) == (name, criterion, "scored")
        ]
        table = calibration.human_ceiling(
            pd.DataFrame(judged), humans[humans["criterion"] == criterion],
            "kappa_quadratic", name=name,
        )  # fmt: skip
        assert rank == f"{table.attrs['judge_rank']} of 3"
    assert set(ranks) == {(c, n) for c in ("coherence", "medical_accuracy")
                          for n in ("openai/a", "openai/b")}  # fmt: skip


# ------------------------------------------------------------------ the page in a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def _rows(page: Any, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tr").all()
    return [[c.inner_text().strip() for c in row.locator("td").all()] for row in rows[1:]]


def test_report_in_chromium(results: Path, browser: Any, tmp_path: Path) -> None:
    html = write_report(results, tmp_path / "report.html")
    raw = _records(results)
    page, attempted = open_offline(browser, html)

    # Plots: inline SVG, rendered with a real size.
    plots = page.locator(".plot svg").all()
    assert len(plots) >= 3
    for svg in plots:
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80

    # The criteria table: n scored, n unscored and mean, as computed here.
    shown = {row[0]: row for row in _rows(page, "#criteria-table")}
    for criterion in load_rubric("ddx").criteria:
        values = [r["scores"][criterion.id] for r in raw]
        row = shown[criterion.id]
        assert int(row[2]) == sum(v is not None for v in values)
        assert int(row[3]) == sum(v is None for v in values)
        assert _close(row[4], _mean(values))
        scored = [v for v in values if v is not None]
        if criterion.scale.type == "binary" and scored:
            # Each mean's interval: a rate's is Wilson's (statsmodels' proportion_confint).
            low, high = proportion_confint(sum(scored), len(scored), 0.05, method="wilson")
            assert row[5] == f"[{low:.2f}, {high:.2f}]"

    # Sliced by modality: n and accuracy per value (the <img> value shown as text).
    by_modality = {row[0]: row for row in _rows(page, 'table[data-field="modality"]')}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in raw:
        groups[str(r["meta"]["modality"])].append(r)
    assert set(by_modality) == set(groups) and IMG in by_modality
    for value, members in groups.items():
        assert int(by_modality[value][1]) == len(members)
        rates = [m["scores"]["final_answer"] for m in members]
        mean, interval = by_modality[value][2].split(None, 1)
        assert _close(mean, _mean(rates))
        low, high = proportion_confint(sum(rates), len(rates), 0.05, method="wilson")
        assert interval == f"[{low:.2f}, {high:.2f}]"

    # Each judge's mean per criterion.
    judges = page.locator("#judge-means th").all_inner_texts()[1:]
    assert judges == ["openai/a", "openai/b"]
    for row in _rows(page, "#judge-means"):
        for judge_name, cell in zip(judges, row[1:], strict=True):
            values = [
                j["score"]
                for r in raw
                for j in r["judgments"]
                if j["judge"] == judge_name and j["criterion"] == row[0] and j["status"] == "scored"
            ]
            mean, interval = cell.split(None, 1)
            assert _close(mean, _mean(values))
            # With its interval over items (several items here, so one is defined).
            low, high = (float(x) for x in interval.strip("[]").split(", "))
            assert low <= float(mean) <= high and low < high

    # Unscored: judge b's reply on one case never validated, for each of its criteria (but
    # miss_harm and miss_closeness, computed when the answer is correct); the deterministic
    # rows are letter_consistency where the reasoning names no option.
    unscored = [r for r in _rows(page, "#unscored-table") if r[1] != "deterministic"]
    expected = sum(
        j["status"] == "unscored" for r in raw for j in r["judgments"] if j["judge"] == "openai/b"
    )
    computed = sum(c.if_correct is not None for c in load_rubric("ddx").llm_criteria)
    assert expected in (len(LLM), len(LLM) - computed)
    assert sum(int(r[3]) for r in unscored) == expected
    assert {r[1] for r in unscored} == {"openai/b"}

    # The rationale with a <script> did not run and reads as text.
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.get_by_text(SCRIPT, exact=True).first.is_visible()
    assert attempted == []

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1200, "height": 1500})
    assert shot.stat().st_size > 20_000
    if os.environ.get("JUDGE_WRITE_DOCS"):
        shutil.copy(shot, ROOT / "docs" / "report.png")
    page.close()


def _renamed_rubric(results: Path, tmp_path: Path, rubric_id: str) -> Path:
    lines = []
    for raw in results.read_text().splitlines():
        record = json.loads(raw)
        record["rubric"]["id"] = rubric_id
        lines.append(json.dumps(record))
    path = tmp_path / "renamed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_rubric_id_in_the_data_never_names_a_file_to_read(results: Path, tmp_path: Path) -> None:
    # A rubric file that would change the report if it were read: its criterion ids show.
    ddx = (ROOT / "rubrics" / "ddx.yaml").read_text()
    assert "  - id: coherence\n" in ddx
    planted = tmp_path / "planted.yaml"
    planted.write_text(ddx.replace("  - id: coherence\n", "  - id: read_from_data\n", 1))
    not_text = tmp_path / "not-text.yaml"
    not_text.write_bytes(b"id: x\n\xff\xfe\n")
    for named in (planted, not_text):
        out = tmp_path / f"{named.stem}.html"
        source = _renamed_rubric(results, tmp_path, str(named))
        result = CliRunner().invoke(report_command, [str(source), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "read_from_data" not in out.read_text()  # reported off the scores instead
        assert "coherence" in out.read_text()
    # The user may name a rubric file on the command line: that one is read.
    source = _renamed_rubric(results, tmp_path, str(planted))
    page = build_report(source, rubric=str(planted))
    assert "read_from_data" in page
