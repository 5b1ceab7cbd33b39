"""`--cases` end to end: `judge score`, the Python API, `judge serve` and `judge annotate`,
each joining predictions of only ids and outputs to a cases file, over real HTTP to the local
test LLM server (tests/llm_server.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from test_cases_support import CHAPTERS, case_rows, predictions_for, write_jsonl, write_parquet

import judge
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import open_study
from judge.cli import cli
from judge.options import RunOptions
from judge.serve.app import create_app
from judge.serve.server import running
from judge.store.results import iter_records
from tests.llm_server import LLMServer

MODEL = "openai/test-judge"
ROWS = case_rows(4)


def _files(tmp_path: Path, predicted: list[dict[str, Any]] = ROWS[:3]) -> tuple[Path, Path]:
    cases = write_parquet(tmp_path / "test.parquet", ROWS)
    return write_jsonl(tmp_path / "preds.jsonl", predictions_for(predicted)), cases


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_scores_joined_predictions_slices_by_icd_chapter_and_lists_missing(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    preds, cases = _files(tmp_path)
    out = tmp_path / "r.jsonl"
    code, output = _run(
        "score", str(preds), "--cases", str(cases), "--by", "ICD Chapter",
        "--judge", MODEL, "--api-base", llm_server.url, "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    records = list(iter_records(out))
    assert sorted(r.id for r in records) == [r["title"] for r in ROWS[:3]]
    assert all(r.status == "scored" and r.scores["final_answer"] == 1 for r in records)
    assert {r.meta["ICD Chapter"] for r in records} == set(CHAPTERS)
    # The judge saw the case's text, which only the cases file holds.
    sent = json.dumps([r.body for r in llm_server.requests])
    assert ROWS[0]["IMAGING_FINDINGS"] in sent
    assert f"missing: 1 cases have no prediction: {ROWS[3]['title']!r}" in output
    assert CHAPTERS[0] in output and "(missing)" not in output


def test_cli_unknown_id_is_one_line_before_any_judge_call(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    preds, cases = _files(tmp_path)
    preds.write_text(preds.read_text() + json.dumps({"title": "nobody", "prediction": "A"}) + "\n")
    code, output = _run(
        "score", str(preds), "--cases", str(cases),
        "--judge", MODEL, "--api-base", llm_server.url, "--out", str(tmp_path / "r.jsonl"),
    )  # fmt: skip
    assert code == 2
    assert output.strip() == (
        f"error: {preds}:4: field 'title': 'nobody' is not among the 4 cases of {cases}"
    )
    assert llm_server.count == 0 and not (tmp_path / "r.jsonl").exists()


def test_api_result_lists_missing_and_resumes_inline_and_joined_runs_alike(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    preds, cases = _files(tmp_path)
    options: dict[str, Any] = {"judges": [MODEL], "api_base": llm_server.url, "timeout": 5.0}
    # A run over the same predictions with their cases inline...
    inline = write_jsonl(
        tmp_path / "inline.jsonl",
        [{**row, **pred} for row, pred in zip(ROWS[:3], predictions_for(ROWS[:3]), strict=True)],
    )
    out = tmp_path / "r.jsonl"
    judge.score(inline, "ddx", out=out, **options)
    llm_server.reset()
    # ...is the same run as the joined one: resumed, nothing judged or paid again.
    result = judge.score(preds, "ddx", out=out, cases=cases, **options)
    assert llm_server.count == 0
    assert result.resumed == 3 and result.judged == 0
    assert result.summary.missing == [ROWS[3]["title"]] and result.summary.n_records == 3
    # The joined items' prompts are the inline ones': a new output file is all cache hits.
    fresh = judge.score(preds, "ddx", cases=cases, **options)
    assert llm_server.count == 0 and fresh.summary.cached_calls == 3
    kept = {r.id: (r.scores, r.meta) for r in iter_records(out)}
    assert {r.id: (r.scores, r.meta) for r in fresh.records} == kept
    assert fresh.summary.missing == [ROWS[3]["title"]]


def test_plan_counts_joined_items_and_missing(tmp_path: Path) -> None:
    preds, cases = _files(tmp_path)
    plan = judge.run.plan(preds, "ddx", cases=cases, judges=[MODEL], api_base="http://127.0.0.1:9")
    assert plan.n_items == 3 and plan.estimate.calls == 3
    assert plan.missing == [ROWS[3]["title"]]


def test_the_output_never_overwrites_the_cases_file(llm_server: LLMServer, tmp_path: Path) -> None:
    preds, _ = _files(tmp_path)
    cases = write_jsonl(tmp_path / "cases.jsonl", ROWS)
    before = cases.read_bytes()
    code, output = _run(
        "score", str(preds), "--cases", str(cases), "--out", str(cases),
        "--judge", MODEL, "--api-base", llm_server.url,
    )  # fmt: skip
    assert code == 2, output
    assert cases.read_bytes() == before and llm_server.count == 0


def test_serve_with_cases_scores_requests_of_only_id_and_outputs(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    _, cases = _files(tmp_path)
    options = RunOptions(
        judges=[MODEL], api_base=llm_server.url, timeout=60.0, cache=False, cases=str(cases)
    )
    title = ROWS[1]["title"]
    outputs = {k: v for k, v in predictions_for(ROWS)[1].items() if k != "title"}
    with running(create_app(options)) as url:
        one = httpx.post(
            f"{url}/v1/score", json={"rubric": "ddx", "prediction": {"title": title, **outputs}}
        )
        batch = httpx.post(
            f"{url}/v1/score/batch",
            json={"rubric": "ddx", "items": [{"id": title, "prediction": outputs}]},
        )
        unknown = httpx.post(
            f"{url}/v1/score",
            json={"rubric": "ddx", "prediction": {"title": "nobody", "prediction": "B"}},
        )
        disagreeing = httpx.post(
            f"{url}/v1/score",
            json={
                "rubric": "ddx",
                "prediction": {"title": title, "correct_answer": "A", "prediction": "B"},
            },
        )
    assert one.status_code == 200, one.text
    record = one.json()
    assert record["id"] == title and record["status"] == "scored"
    assert record["meta"]["ICD Chapter"] == CHAPTERS[1]
    line = json.loads(batch.text.splitlines()[0])
    assert line["id"] == title and line["status"] == "scored"
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
        "body",
        "prediction",
        "title",
    ]
    assert disagreeing.status_code == 422
    assert disagreeing.json()["detail"][0]["loc"] == ["body", "prediction", "correct_answer"]


def test_serve_refuses_a_bad_cases_file_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "test.parquet"
    bad.write_text("not parquet")
    code, output = _run("serve", "--cases", str(bad), "--judge", MODEL, "--port", "0")
    assert code == 2 and output.startswith(f"error: {bad}: not a readable parquet file")


def test_annotate_shows_the_case_of_a_prediction_of_only_id_and_outputs(tmp_path: Path) -> None:
    preds, cases = _files(tmp_path)
    study = open_study(preds, "ddx", ["alice"], 1, db=tmp_path / "a.sqlite", cases=cases)
    server = AnnotationServer(study).start()
    try:
        assert list(study.items) == [r["title"] for r in ROWS[:3]]
        link = rater_links(study, server.url)["alice"]
        page = httpx.get(f"{link}items/1", headers={"Origin": server.url})
        assert page.status_code == 200
        assert ROWS[0]["CLINICAL_HISTORY"] in page.text
    finally:
        server.stop()
        study.store.close()


def test_annotate_cli_takes_cases_and_names_an_unknown_id(tmp_path: Path) -> None:
    preds, cases = _files(tmp_path)
    preds.write_text(json.dumps({"title": "nobody", "prediction": "A"}) + "\n")
    code, output = _run("annotate", str(preds), "--raters", "alice", "--cases", str(cases))
    assert code == 2
    assert output.strip() == (
        f"error: {preds}:1: field 'title': 'nobody' is not among the 4 cases of {cases}"
    )


def test_batch_run_joins_the_cases_too(llm_server: LLMServer, tmp_path: Path) -> None:
    preds, cases = _files(tmp_path)
    out = tmp_path / "r.jsonl"
    result = judge.score(
        preds, "ddx", out=out, cases=cases, batch=True, batch_poll=0.02,
        judges=[MODEL], api_base=llm_server.url, timeout=60.0,
    )  # fmt: skip
    # Every call went through the batch: the batch pass read the joined items as well.
    assert not [r for r in llm_server.requests if r.path.endswith("/chat/completions")]
    assert llm_server.batch_calls("POST", "/batches") == 1
    assert sorted(r.id for r in iter_records(out)) == [r["title"] for r in ROWS[:3]]
    assert result.summary.missing == [ROWS[3]["title"]]
