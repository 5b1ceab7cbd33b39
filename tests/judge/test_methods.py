"""`judge methods`: the methods paragraph of a run, every number traced, for every combination
of what is on record (calibration verdicts, a qualification, calibrate's tables, case keys).

The run is real: the bundled example (examples/predictions.jsonl) scored by `judge score` over
HTTP against the local test server, which reports a dated snapshot and a fingerprint as the
model it served. The calibration record is written by `judge calibrate --alt-test --save` and
`judge qualify`, the tables by `judge calibrate --out-dir`, on synthetic clinicians' scores made
here. Every figure the tests compare with is read from the source files with json, csv and
sqlite3, not with the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli.group import cli
from judge.report.methods import KeysFacts, gather_methods, keys_facts
from judge.report.methods_text import compose, methods_text
from judge.report.methods_words import Num, latex_escape, markdown_escape
from tests.llm_server import LLMServer

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "predictions.jsonl"
EXAMPLE_KEYS = ROOT / "examples" / "keys.jsonl"
MODEL = "openai/test-judge"
SNAPSHOT = "test-judge-2026-01-15"
KEYS = {"file": "k.jsonl", "keys": 12, "reviewed_by_clinician": 0, "reviewed_by_author": 9,
        "draft": 3}  # fmt: skip
_BINARY = {"final_answer", "answered", "letter_consistency", "hallucination", "unsupported_fact",
           "unsafe_advice"}  # fmt: skip


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _humans(results: Path, out: Path) -> Path:
    """Three clinicians' scores of the first 8 items (the other 4 are judged only, so PPI has
    items to correct), each a judge's score moved now and then (seeded)."""
    rng = random.Random(7)
    rows = []
    # By id: a run writes its records as they finish, in no fixed order.
    records = sorted(_records(results), key=lambda r: str(r["id"]))
    for record in records[:8]:
        for criterion, score in record["scores"].items():
            if not isinstance(score, int | float):
                continue
            for rater in ("dr_a", "dr_b", "dr_c"):
                value = score
                if rng.random() < 0.25:
                    value = 1 - score if criterion in _BINARY else max(1, score - 1)
                rows.append({"item": record["id"], "criterion": criterion, "rater": rater,
                             "score": value})  # fmt: skip
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["item", "criterion", "rater", "score"])
        writer.writeheader()
        writer.writerows(rows)
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The run, the tables, and four judge homes: no record, alt-test verdicts only, a
    qualification only, both."""
    where = tmp_path_factory.mktemp("methods")
    homes = {name: where / name for name in ("none", "cal", "qual", "both")}
    results, tables = where / "results.jsonl", where / "tables"
    with pytest.MonkeyPatch.context() as patch, LLMServer() as server:
        server.served_model, server.system_fingerprint = SNAPSHOT, "fp_one"
        patch.setenv("JUDGE_HOME", str(where / "score-home"))
        done = _invoke("score", str(EXAMPLES), "-r", "ddx", "-j", MODEL, "--api-base",
                       server.url, "-o", str(results))  # fmt: skip
        assert done.exit_code == 0, done.output
        human = _humans(results, where / "human.csv")
        patch.setenv("JUDGE_HOME", str(homes["cal"]))
        done = _invoke("calibrate", "--judge", str(results), "--human", str(human), "--rubric",
                       "ddx", "--n-boot", "200", "--alt-test", "--ceiling", "--estimate",
                       "--save", "--out-dir", str(tables))  # fmt: skip
        assert done.exit_code == 0, done.output
        homes["both"].mkdir()
        shutil.copy(homes["cal"] / "calibrations.sqlite", homes["both"])
        for name in ("qual", "both"):
            patch.setenv("JUDGE_HOME", str(homes[name]))
            done = _invoke("qualify", "-r", "ddx", "-j", MODEL, "--api-base", server.url)
            assert done.exit_code == 0, done.output
    homes["none"].mkdir()
    return {"results": results, "tables": tables, "human": human, **homes}


def _db(study: dict[str, Path], calibrated: bool, qualified: bool) -> Path:
    name = {(False, False): "none", (True, False): "cal", (False, True): "qual"}
    return study[name.get((calibrated, qualified), "both")] / "calibrations.sqlite"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _table(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        handle.readline()  # the mark
        return {f"{r['criterion']} / {r['judge']}": r for r in csv.DictReader(handle)}


def _sql(db: Path, table: str) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(f"SELECT * FROM {table}")]


@pytest.mark.parametrize("keys", [False, True], ids=["no-keys", "keys"])
@pytest.mark.parametrize("tables", [False, True], ids=["no-tables", "tables"])
@pytest.mark.parametrize("qualified", [False, True], ids=["no-qual", "qual"])
@pytest.mark.parametrize("calibrated", [False, True], ids=["no-cal", "cal"])
def test_every_combination_of_records(
    study: dict[str, Path], calibrated: bool, qualified: bool, tables: bool, keys: bool
) -> None:
    db = _db(study, calibrated, qualified)
    found = gather_methods(
        study["results"], tables=study["tables"] if tables else None, db=db,
        keys=KEYS if keys else None,
    )  # fmt: skip
    paragraph = compose(found)
    text = methods_text(found)
    body = text.split("### Where each number comes from")[0]
    # Nothing is said that is not on record, and what is missing is said to be.
    assert ("not calibrated against clinicians" in body) == (not calibrated and not tables)
    assert ("On the calibration record" in body) == calibrated
    assert ("No qualification of the judges" in body) == (not qualified)
    assert ("On the qualification record" in body) == qualified
    assert ("No case keys were used." in body) == (not keys)
    assert ("9 of 12 case keys were reviewed, 0 by a clinician and 9 by their author; 3 were "
            "drafts" in body) == keys  # fmt: skip
    assert ("Krippendorff's α" in body) == tables
    assert ("PPI++" in body) == tables and ("human ceiling" in body) == tables
    # Every number of the text is traced: prose holds no digit, only Num parts do, and each
    # traced number is in the text and in the trace table.
    for sentence in paragraph.sentences:
        prose = "".join(p for p in sentence if isinstance(p, str))
        assert not any(ch.isdigit() for ch in prose), prose
    nums = [p.text for s in paragraph.sentences for p in s if isinstance(p, Num)]
    assert nums and sorted(nums) == sorted(t.number for t in paragraph.traces)
    table = text.split("### Where each number comes from")[1]
    for trace in paragraph.traces:
        assert markdown_escape(trace.number) in body
        assert f"| {markdown_escape(trace.number)} | {markdown_escape(trace.what)} |" in table
    _check_values(study, paragraph.traces, db, tables)
    checklist = text.split("items this paragraph covers")[1]
    assert "Methods / Analytical methods" in checklist and "| covered: judges" in checklist
    inter = "inter-assessor agreement | covered" if tables else "inter-assessor agreement | not"
    assert inter in checklist


def _check_values(study: dict[str, Path], traces: list[Any], db: Path, tables: bool) -> None:
    """Each traced value equals its source, read here with json, csv and sqlite3."""
    values = {t.key: t for t in traces}
    records = _records(study["results"])
    assert values["items"].value == len(records)
    assert values["status.scored"].value == sum(r["status"] == "scored" for r in records)
    calls = [c for r in records for c in r["calls"]]
    assert values[f"calls.{MODEL}"].value == len(calls)
    assert values[f"served.{MODEL}.{SNAPSHOT}"].value == sum(
        c["served_model"] == SNAPSHOT for c in calls
    )
    assert values["tokens.in"].value == sum(c["tokens_in"] or 0 for c in calls)
    # The study's run set no sampling option: --temperature's default, 0, was sent.
    assert {json.dumps(c["params"]) for c in calls} == {'{"temperature": 0.0}'}
    assert values[f"params.{MODEL}.0.temperature"].value == calls[0]["params"]["temperature"]
    assert values["rubric.hash"].value == records[0]["rubric"]["hash"]
    assert values["prompt.hash"].value == records[0]["prompt_hash"]
    assert values["version.0"].value == records[0]["judge_version"]
    for criterion in ("evidence_grounding", "hallucination", "final_answer"):
        scores = [r["scores"][criterion] for r in records if r["scores"][criterion] is not None]
        assert values[f"mean.{criterion}"].value == pytest.approx(statistics.fmean(scores))
        assert values[f"n.{criterion}"].value == len(scores)
        assert values[f"mean.{criterion}"].source == str(study["results"])
    for row in _sql(db, "calibrations"):
        trace = values.get(f"c.items.{row['criterion']}.{row['judge']}")
        if trace is not None:
            assert trace.value == row["n_items"] and trace.source == str(db)
            assert trace.command == "judge calibrate --alt-test --save"
    for row in _sql(db, "qualifications"):
        trace = values[f"q.detected.{row['criterion']}.{row['judge']}"]
        assert trace.value == row["detected"] and trace.command == "judge qualify"
    if tables:
        agreement = _table(study["tables"] / "agreement.csv")
        checked = 0
        for where, row in agreement.items():
            trace = values.get(f"agreement.alpha_with_judge.{where}")
            if trace is not None:
                assert trace.value == pytest.approx(float(row["alpha_with_judge"]))
                low = values[f"agreement.alpha_with_judge_low.{where}"].value
                assert low == pytest.approx(float(row["alpha_with_judge_low"]))
                checked += 1
        assert checked >= 5
        estimates = _table(study["tables"] / "estimate.csv")
        shown = [w for w in estimates if f"estimate.estimate.{w}" in values]
        assert shown
        for where in shown:
            trace = values[f"estimate.estimate.{where}"]
            assert trace.value == pytest.approx(float(estimates[where]["estimate"]))
            assert trace.command == "judge calibrate --estimate --out-dir"
        run = json.loads((study["tables"] / "run.json").read_text())
        assert values["alt_test.epsilon"].value == run["settings"]["epsilon"]


def test_the_served_model_and_fingerprint_are_named(study: dict[str, Path]) -> None:
    body = methods_text(gather_methods(study["results"])).split("###")[0]
    assert f"{SNAPSHOT} (12 calls) served them, with system fingerprint fp\\_one" in body
    assert (
        "The judge openai/test-judge was called with temperature 0.0, and the provider's "
        "default maximum output tokens and seed." in body
    )
    assert "The rubric was ddx, version 1.1" in body
    assert "no cost was recorded" in body


def test_stdout_without_out_and_a_file_with_it(study: dict[str, Path], tmp_path: Path) -> None:
    printed = _invoke("methods", str(study["results"]), "--tables", str(study["tables"]))
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith("<!-- judge methods -->\n")
    out = tmp_path / "methods.md"
    written = _invoke("methods", str(study["results"]), "--tables", str(study["tables"]),
                      "--out", str(out))  # fmt: skip
    assert written.exit_code == 0, written.output
    assert written.stdout == "" and out.read_text() == printed.stdout
    again = _invoke("methods", str(study["results"]), "--latex", "--out", str(out))
    assert again.exit_code == 0 and out.read_text().startswith("% judge methods\n")


def test_out_refuses_a_file_that_is_not_ours_and_the_inputs(
    study: dict[str, Path], tmp_path: Path
) -> None:
    draft = tmp_path / "paper.md"
    draft.write_text("# My paper\n")
    refused = _invoke("methods", str(study["results"]), "--out", str(draft))
    assert refused.exit_code == 2 and "not one this command writes" in refused.output
    assert draft.read_text() == "# My paper\n"
    before = study["results"].read_bytes()
    refused = _invoke("methods", str(study["results"]), "--out", str(study["results"]))
    assert refused.exit_code == 2 and "is the input file" in refused.output
    assert study["results"].read_bytes() == before
    table = study["tables"] / "agreement.csv"
    refused = _invoke("methods", str(study["results"]), "--tables", str(study["tables"]),
                      "--out", str(table))  # fmt: skip
    assert refused.exit_code == 2 and "is the input file" in refused.output


def test_a_bad_results_file_is_one_line_naming_file_and_line(
    study: dict[str, Path], tmp_path: Path
) -> None:
    lines = study["results"].read_text().splitlines()
    record = json.loads(lines[1])
    record["status"] = "bogus"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    done = _invoke("methods", str(bad))
    assert done.exit_code == 2
    assert done.output.startswith(f"error: {bad}:2: field 'status'")
    assert done.output.count("\n") == 1 and "Traceback" not in done.output
    predictions = _invoke("methods", str(EXAMPLES))  # not a results file at all
    assert predictions.exit_code == 2 and f"{EXAMPLES}:1:" in predictions.output


def test_a_bad_table_is_one_line(study: dict[str, Path], tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    shutil.copytree(study["tables"], tables)
    path = tables / "agreement.csv"
    text = path.read_text().splitlines()
    cells = text[2].split(",")
    cells[7] = "lots"  # alpha_humans
    path.write_text("\n".join([*text[:2], ",".join(cells), *text[3:]]) + "\n")
    done = _invoke("methods", str(study["results"]), "--tables", str(tables))
    assert done.exit_code == 2 and done.output.count("\n") == 1
    assert done.output.startswith(f"error: {path}:3: field 'alpha_humans': not a number")


def test_tables_of_another_results_file_are_said_to_be(
    study: dict[str, Path], tmp_path: Path
) -> None:
    other = tmp_path / "results.jsonl"
    other.write_text("".join(study["results"].read_text().splitlines(keepends=True)[:11]))
    body = methods_text(gather_methods(other, tables=study["tables"])).split("###")[0]
    assert "whose content differs from the results file described here" in body
    same = methods_text(gather_methods(study["results"], tables=study["tables"]))
    assert "whose content differs" not in same


def test_latex_escapes_names_from_the_data(tmp_path: Path, judge_home: Path) -> None:
    hostile = "snap%_&#$1~^{x}\\"
    out = tmp_path / "r.jsonl"
    with LLMServer() as server:
        server.served_model = hostile
        done = _invoke("score", str(ROOT / "tests" / "fixtures" / "predictions.jsonl"), "-r",
                       "ddx", "-j", MODEL, "--api-base", server.url, "-o", str(out))  # fmt: skip
        assert done.exit_code == 0, done.output
    latex = _invoke("methods", str(out), "--latex")
    assert latex.exit_code == 0, latex.output
    assert (
        r"snap\%\_\&\#\$1\textasciitilde{}\textasciicircum{}\{x\}\textbackslash{}" in latex.stdout
    )
    assert hostile not in latex.stdout and "95\\% intervals" in latex.stdout
    assert "$\\alpha$" not in latex.stdout  # no tables: no α
    assert latex.stdout.count("\\begin{longtable}") == 2  # the trace breaks across pages
    markdown = _invoke("methods", str(out)).stdout
    assert r"snap%\_\&\#\$1\~^{x}\\" in markdown


def test_escapes() -> None:
    assert latex_escape("50%_off #1 & $x") == r"50\%\_off \#1 \& \$x"
    assert latex_escape("α = 0.5\nε") == r"$\alpha$ = 0.5 $\varepsilon$"
    assert markdown_escape("<b>*x*</b> | [a](b)") == r"\<b\>\*x\*\</b\> \| \[a\](b)"


def test_a_run_without_a_judge_says_so(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    done = _invoke("score", str(EXAMPLES), "-r", "ddx", "-o", str(out))
    assert done.exit_code == 0, done.output
    found = gather_methods(out)
    body = methods_text(found).split("###")[0]
    assert "No LLM judge was used" in body and "final\\_answer" in body
    assert found.llm_judges == [] and "not calibrated against clinicians" in body


DOCS = ROOT / "docs" / "methods.md"
_START, _END = "<!-- example: start -->", "<!-- example: end -->"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _excerpt(text: str, rows: int = 14) -> str:
    """The paragraph, the first rows of the trace table and the checklist, as the docs show."""
    lines = text.splitlines()
    cut = lines.index("### Where each number comes from") + 4 + rows
    rest = lines.index(
        "### TRIPOD-LLM (Gallifant et al., Nat Med 2025) items this paragraph covers"
    )
    return "\n".join([*lines[:cut], "| … | | | |", "", *lines[rest:]])


def test_the_docs_example_is_the_commands_output(
    study: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/methods.md shows what `judge methods` writes for the run above (its dates aside);
    JUDGE_WRITE_DOCS=1 writes it there."""
    where = study["results"].parent
    (where / "home").mkdir(exist_ok=True)
    shutil.copy(study["both"] / "calibrations.sqlite", where / "home")
    monkeypatch.chdir(where)
    monkeypatch.setenv("JUDGE_HOME", "home")
    done = _invoke("methods", "results.jsonl", "--tables", "tables")
    assert done.exit_code == 0, done.output
    example = f"{_START}\n\n````markdown\n{_excerpt(done.stdout)}\n````\n\n{_END}"
    page = DOCS.read_text()
    shown = page[page.index(_START) : page.index(_END) + len(_END)]
    if os.environ.get("JUDGE_WRITE_DOCS"):
        DOCS.write_text(page.replace(shown, example))
        return
    assert _DATE.sub("DATE", shown) == _DATE.sub("DATE", example)


def test_the_cost_is_traced_to_the_calls(tmp_path: Path, judge_home: Path) -> None:
    """A judge litellm has a price for (its token counts from the local test server)."""
    out = tmp_path / "r.jsonl"
    with LLMServer() as server:
        done = _invoke("score", str(ROOT / "tests" / "fixtures" / "predictions.jsonl"), "-r",
                       "ddx", "-j", "openai/gpt-4o-mini", "--api-base", server.url, "-o",
                       str(out))  # fmt: skip
        assert done.exit_code == 0, done.output
    calls = [c for r in _records(out) for c in r["calls"]]
    paid = sum(c["cost_usd"] for c in calls if not c["cached"])
    paragraph = compose(gather_methods(out))
    (cost,) = [t for t in paragraph.traces if t.key == "cost"]
    assert paid > 0 and cost.value == pytest.approx(paid) and cost.number == f"{paid:.4f}"
    body = methods_text(gather_methods(out)).split("###")[0]
    assert f"and cost {paid:.4f} USD" in body and "no cost was recorded" not in body
    assert "Each judge gave 1 judgment per item" in body


def test_the_sampling_parameters_sent_are_stated_and_traced(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    """Defect: the records did not keep the temperature, maximum tokens or seed the judges
    were sent, and the paragraph could only say so."""
    out = tmp_path / "r.jsonl"
    fixture = str(ROOT / "tests" / "fixtures" / "predictions.jsonl")
    run = ["score", fixture, "-r", "ddx", "-j", MODEL, "--api-base", llm_server.url, "-o",
           str(out), "--no-cache"]  # fmt: skip
    done = _invoke(*run, "--temperature", "0.25", "--max-tokens", "300", "--seed", "7")
    assert done.exit_code == 0, done.output
    paragraph = compose(gather_methods(out))
    text = methods_text(gather_methods(out))
    body = text.split("###")[0]
    assert (
        f"The judge {MODEL} was called with temperature 0.25, at most 300 output tokens and "
        "seed 7." in body
    )
    values = {t.key: t.value for t in paragraph.traces}
    sent = _records(out)[0]["calls"][0]["params"]
    assert sent == {"temperature": 0.25, "max_tokens": 300, "seed": 7}
    assert {k: values[f"params.{MODEL}.0.{k}"] for k in sent} == sent
    assert "| 0.25 | openai/test-judge: sampling temperature sent |" in text
    assert "inference settings (temperature, maximum tokens, seed) and prompting | covered" in text

    # A resume with another temperature judges the records again (the file as it was kept in
    # .bak), so one file never mixes settings...
    out.write_text("".join(out.read_text().splitlines(keepends=True)[:2]))
    done = _invoke(*run, "--temperature", "0.7")
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())  # as rich wrapped it
    assert "this run judged 3, kept 0 from before" in said
    assert (
        "2 record(s) sent other sampling parameters (max_tokens 300, now the provider's default; "
        "seed 7, now the provider's default; temperature 0.25, now 0.7) were dropped to judge "
        "them again; the file as it was is kept in" in said  # (a long path is folded)
    )
    backup = _records(out.with_name("r.jsonl.bak"))
    records = _records(out)
    assert [r["calls"][0]["params"] for r in records] == [{"temperature": 0.7}] * 3
    assert len({r["id"] for r in records}) == 3
    # ...and a file mixed by hand (one record sent 0.25, and a record of an earlier version,
    # which says nothing) is stated as it is.
    records = [backup[0], *(r for r in records if r["id"] != backup[0]["id"])]
    for call in records[1]["calls"]:
        del call["params"]
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    paragraph = compose(gather_methods(out))
    body = methods_text(gather_methods(out)).split("###")[0]
    sets = [json.dumps(r["calls"][0].get("params")) for r in records]
    assert len(set(sets)) == 3  # one each: 0.25 and friends, 0.7, not recorded
    assert f"In 1 call, the judge {MODEL} was called with temperature 0.25, at most 300" in body
    assert (
        f"In 1 call, the judge {MODEL} was called with temperature 0.7, and the provider's "
        "default maximum output tokens and seed." in body
    )
    assert (
        f"For 1 call of {MODEL}, recorded by an earlier version, the sampling parameters were "
        "not recorded." in body
    )
    counts = [t.value for t in paragraph.traces if t.key.startswith(f"params.{MODEL}.")
              and t.key.endswith(".calls")]  # fmt: skip
    assert sum(counts) == len([c for r in records for c in r["calls"]])
    checklist = methods_text(gather_methods(out)).split("items this paragraph covers")[1]
    assert "and prompting | partly: samples per item" in checklist
    # A file of an earlier version only: said once, with no count.
    for record in records:
        for call in record["calls"]:
            call.pop("params", None)
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    body = methods_text(gather_methods(out)).split("###")[0]
    assert (
        f"For the calls of {MODEL}, recorded by an earlier version, the sampling parameters "
        "were not recorded. Each judge gave 1 judgment" in body
    )


def test_verdicts_for_another_prompt_are_named_and_not_used(
    study: dict[str, Path], tmp_path: Path
) -> None:
    import pandas as pd

    from calibration.record import save_verdicts

    db = tmp_path / "calibrations.sqlite"
    rubric_hash = _records(study["results"])[0]["rubric"]["hash"]
    table = pd.DataFrame([{"criterion": "coherence", "judge": MODEL, "passed": True,
                           "omega": 0.9, "advantage": 0.1}])  # fmt: skip
    save_verdicts(db, table, rubric_hash=rubric_hash, prompt_hash="an-older-prompt",
                  rubric="ddx v1.1", epsilon=0.2, counts={"coherence": (40, 3)})  # fmt: skip
    body = methods_text(gather_methods(study["results"], db=db)).split("###")[0]
    assert "not calibrated against clinicians" in body
    assert "on record for coherence were for another rubric or prompt version" in body
    assert "0.90" not in body and "passed" not in body


def test_the_keys_block_shape() -> None:
    assert keys_facts(None) is None and keys_facts({**KEYS, "keys": 0}) is None
    facts = keys_facts(KEYS)
    assert facts == KeysFacts(total=12, reviewed=9, by_clinician=0, by_author=9, drafts=3)


def test_a_run_scored_with_the_example_keys_says_who_reviewed_them(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # The keys come from the records themselves: a real `judge score --keys` run.
    out = tmp_path / "keyed.jsonl"
    done = CliRunner().invoke(
        cli,
        ["score", str(EXAMPLES), "--rubric", "ddx", "--keys", str(EXAMPLE_KEYS), "--judge",
         "openai/test-judge", "--api-base", llm_server.url, "--out", str(out)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    body = CliRunner().invoke(cli, ["methods", str(out)]).output
    assert "12 of 12 case keys were reviewed, 0 by a clinician and 12 by their author" in " ".join(
        body.split()
    )
    assert "No case keys were used." not in body


def test_an_alt_test_nobody_could_be_tested_in_is_not_said_to_fail(
    tmp_path: Path, judge_home: Path, llm_server: LLMServer
) -> None:
    """A saved alt-test with no testable clinician (too few items each) is "not tested", with
    its reason; a failure on record is still "did not pass"."""
    import pandas as pd

    from calibration.record import save_verdicts

    out = tmp_path / "r.jsonl"
    done = _invoke("score", str(ROOT / "tests" / "fixtures" / "predictions.jsonl"), "-r", "ddx",
                   "-j", MODEL, "--api-base", llm_server.url, "-o", str(out))  # fmt: skip
    assert done.exit_code == 0, done.output
    record = _records(out)[0]
    db = tmp_path / "calibrations.sqlite"
    reason = "no annotator rated the 30 items each needs"
    table = pd.DataFrame([
        {"criterion": "coherence", "judge": MODEL, "passed": False, "omega": float("nan"),
         "verdict": "not tested", "reason": reason},
        {"criterion": "evidence_grounding", "judge": MODEL, "passed": False, "omega": 0.0,
         "verdict": "failed", "reason": ""},
    ])  # fmt: skip
    save_verdicts(db, table, rubric_hash=record["rubric"]["hash"],
                  prompt_hash=record["prompt_hash"], rubric="ddx v1.1", epsilon=0.2,
                  counts={"coherence": (8, 3), "evidence_grounding": (40, 3)})  # fmt: skip
    body = methods_text(gather_methods(out, db=db)).split("###")[0]
    assert f"was not tested on coherence (8 items, 3 clinicians), as {reason}" in body
    assert "did not pass on evidence\\_grounding (ω = 0.00; 40 items" in body
    assert "did not pass on coherence" not in body
