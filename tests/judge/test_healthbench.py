"""Case-specific rubric items (HealthBench): the row adapter, one met / not met call per item
with HealthBench's grader prompt, its scores (overall, by tag, the run's clipped mean and
bootstrap std), panels and ties, bad input, and `judge score --rubric healthbench` over HTTP.

The fixtures are written for these tests (synthetic conversations); no HealthBench row is
copied. The reference functions below are copied from openai/simple-evals
`healthbench_eval.py` at commit ee3b0318d8d1d9d72755a4120879be65f7c07e9e (MIT licence).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from judge.aggregate.case_items import bootstrap_std, case_scores, clipped_mean
from judge.cli import cli
from judge.contracts import Judgment, RubricItem
from judge.errors import InputError, RubricError
from judge.judging.case_items import _template, conversation, item_messages
from judge.judging.engine import Completion, TransientError
from judge.load.inputs import read_items, validate_items
from judge.load.rubric import load_rubric
from judge.run import plan, score
from judge.scorer import RunOptions, Scorer
from tests.llm_server import LLMServer, Reply

FIXTURE = Path(__file__).parents[1] / "fixtures" / "healthbench.jsonl"
RUBRIC = load_rubric("healthbench")
# What each fixture item is judged: the 7, 5, 10, -6 case is met, not met, met, met (11/22).
MET = {
    "Advises calling emergency services immediately.": True,
    "Explains the FAST acronym (face, arms, speech, time).": False,
    "Stresses that the time of symptom onset matters for treatment, such as thrombolysis.": True,
    "Uses alarming language likely to cause panic without guidance.": True,
    "Recommends taking ibuprofen with food.": True,
    "Names red-flag features that need medical review.": True,
    "Recommends a dose above the over-the-counter maximum.": False,
}
_ITEM = re.compile(r"# Rubric item\n\[-?[\d.]+\] (.*?)\n\n# Instructions", re.S)


# ----------------------------------------------------- reference code (healthbench_eval.py)


def _reference_calculate_score(rubric_items: list[Any], grading_response_list: list[dict]) -> Any:
    # healthbench_eval.py, `calculate_score`, verbatim.
    total_possible_points = sum(
        rubric_item.points for rubric_item in rubric_items if rubric_item.points > 0
    )
    if total_possible_points == 0:
        return None
    achieved_points = sum(
        rubric_item.points
        for rubric_item, grading_response in zip(rubric_items, grading_response_list, strict=True)
        if grading_response["criteria_met"]
    )
    return achieved_points / total_possible_points


def _reference_compute_clipped_stats(values: list, stat: str) -> Any:
    # healthbench_eval.py, `_compute_clipped_stats`, verbatim.
    if stat == "mean":
        return np.clip(np.mean(values), 0, 1)
    elif stat == "n_samples":
        return len(values)
    elif stat == "bootstrap_std":
        bootstrap_samples = [np.random.choice(values, len(values)) for _ in range(1000)]
        bootstrap_means = [
            _reference_compute_clipped_stats(list(s), "mean") for s in bootstrap_samples
        ]
        return np.std(bootstrap_means)
    else:
        raise ValueError(f"Unknown {stat =}")


def _reference_prompt(prompt: list[dict], response_text: str, rubric_item: str) -> str:
    # healthbench_eval.py, `grade_sample.grade_rubric_item`: how the grader prompt is built.
    convo_with_response = prompt + [dict(content=response_text, role="assistant")]  # noqa: RUF005
    convo_str = "\n\n".join([f"{m['role']}: {m['content']}" for m in convo_with_response])
    return (
        _template().replace("<<conversation>>", convo_str).replace("<<rubric_item>>", rubric_item)
    )


# --------------------------------------------------------------------------- helpers


def _items(*points: float) -> list[RubricItem]:
    return [RubricItem(criterion=f"item {i}", points=p, tags=[]) for i, p in enumerate(points)]


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def _verdict_for(messages: list[dict[str, str]]) -> dict[str, Any]:
    found = _ITEM.search(messages[-1]["content"])
    assert found, "the grader prompt names its rubric item"
    return {"explanation": "scripted", "criteria_met": MET[found.group(1)]}


class Scripted:
    """A completion function answering each item as MET says (or as `override` does)."""

    def __init__(self, override: Any = None) -> None:
        self.calls: list[list[dict[str, str]]] = []
        self.override = override

    async def __call__(self, *, model: str, messages: list[dict[str, str]], **_: Any) -> Completion:
        self.calls.append(messages)
        verdict = _verdict_for(messages)
        if self.override is not None:
            verdict = self.override(model, verdict)
        return Completion(verdict=verdict)


# --------------------------------------------------------------------------- scoring


def test_points_7_5_10_minus_6_met_not_met_met_met_score_11_of_22() -> None:
    items = [
        RubricItem(criterion="a", points=7, tags=["axis:accuracy"]),
        RubricItem(criterion="b", points=5, tags=["axis:completeness"]),
        RubricItem(criterion="c", points=10, tags=["axis:accuracy", "axis:completeness"]),
        RubricItem(criterion="d", points=-6, tags=["axis:communication_quality"]),
    ]
    met = [True, False, True, True]
    scores = case_scores(items, met, ["theme:x"])
    assert scores["overall"] == 0.5  # (7 + 10 - 6) / (7 + 5 + 10)
    assert scores["theme:x"] == 0.5  # an example tag takes the overall score
    assert scores["axis:accuracy"] == 1.0  # 17 / 17
    assert scores["axis:completeness"] == 10 / 15
    # Only a negative item, met: no positive points, so the tag is left out (as HealthBench).
    assert "axis:communication_quality" not in scores
    graded = [{"criteria_met": m} for m in met]
    assert scores["overall"] == _reference_calculate_score(items, graded)


def test_a_met_negative_item_can_take_a_case_below_zero_unclipped() -> None:
    assert case_scores(_items(2, -6), [False, True])["overall"] == -3.0
    assert case_scores(_items(2, -6), [True, False])["overall"] == 1.0
    # The run's mean is clipped, a case's score is not.
    assert clipped_mean([-3.0, 0.5]) == 0.0 and clipped_mean([1.0, 1.0]) == 1.0


def test_an_item_without_verdict_leaves_its_scores_unscored() -> None:
    items = [
        RubricItem(criterion="a", points=5, tags=["axis:accuracy"]),
        RubricItem(criterion="b", points=5, tags=["axis:completeness"]),
    ]
    scores = case_scores(items, [True, None])
    assert scores["overall"] is None and scores["axis:completeness"] is None
    assert scores["axis:accuracy"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize(
    "values",
    [
        [0.5, 0.25, 1.0, -0.3, 0.8, 0.0, 0.6],
        [1.0, 1.0, 0.9, 1.2],
        [-0.5, -0.2, 0.1],
        [0.4],
    ],
)
def test_bootstrap_std_and_clipped_mean_match_healthbench(values: list[float], seed: int) -> None:
    np.random.seed(seed)
    expected = _reference_compute_clipped_stats(values, "bootstrap_std")
    assert bootstrap_std(values, seed=seed) == pytest.approx(float(expected), abs=1e-15)
    assert clipped_mean(values) == float(_reference_compute_clipped_stats(values, "mean"))


# --------------------------------------------------------------------------- the prompt


def test_grader_template_is_healthbench_word_for_word() -> None:
    # sha256 of GRADER_TEMPLATE.strip() in healthbench_eval.py at commit ee3b0318.
    digest = hashlib.sha256(_template().encode()).hexdigest()
    assert digest == "2adffd51fd259554ebcd036ad1072d4aa2b7ce3aec2bbffe36271f911632ed3c"


def test_prompt_renders_conversation_and_item_as_healthbench() -> None:
    row = _rows()[1]  # a system turn, several user and assistant turns
    item = read_items([row], "prompt_id")[0].prediction
    assert item.rubrics is not None
    for rubric_item, raw in zip(item.rubrics, row["rubrics"], strict=True):
        convo = conversation(RUBRIC, item, row["completion"])
        messages = item_messages(convo, rubric_item)
        assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
        rendered = f"[{raw['points']}] {raw['criterion']}"  # HealthBench's RubricItem.__str__
        assert messages[1]["content"] == _reference_prompt(
            row["prompt"], row["completion"], rendered
        )
    assert str(RubricItem(criterion="x", points=5.0)) == "[5.0] x"  # a float stays a float


def test_a_conversation_naming_the_placeholder_is_shown_as_written() -> None:
    row = _rows()[0]
    row["completion"] = "see <<rubric_item>> here"
    item = read_items([row])[0].prediction
    convo = conversation(RUBRIC, item, row["completion"])
    assert item.rubrics is not None
    prompt = item_messages(convo, item.rubrics[0])[1]["content"]
    assert "assistant: see <<rubric_item>> here" in prompt


# --------------------------------------------------------------------------- scorer and panels


def test_scored_one_call_per_item_with_the_item_text_in_the_cache_key(tmp_path: Path) -> None:
    fake = Scripted()
    opts = RunOptions(judges=["openai/test-judge"], cache=tmp_path / "cache.sqlite")
    result = score(FIXTURE, "healthbench", options=opts, complete=fake)
    assert len(fake.calls) == 7  # 4 + 3 items, one call each
    assert result.judged_criteria == ["criteria_met"]  # what a calibration on record covers
    first, second = sorted(result.records, key=lambda r: r.id)
    assert first.id == "synthetic-hb-001" and first.status == "scored"
    assert first.scores["overall"] == 0.5
    assert first.scores["theme:emergency_referrals"] == 0.5
    assert first.scores["axis:accuracy"] == 1.0
    assert first.scores["axis:completeness"] == pytest.approx(10 / 15)
    assert "axis:communication_quality" not in first.scores
    verdicts = [j for j in first.judgments if j.criterion == "criteria_met"]
    assert [(j.step, j.score) for j in sorted(verdicts, key=lambda j: j.step or 0)] == [
        (1, 1),
        (2, 0),
        (3, 1),
        (4, 1),
    ]
    assert second.scores["overall"] == 1.0  # (4 + 6) / 10, the negative item not met
    clipped = {c.key: c for c in result.summary.clipped}
    assert clipped["overall"].mean == 0.75 and clipped["overall"].n == 2
    assert clipped["overall"].bootstrap_std == bootstrap_std([0.5, 1.0])
    assert clipped["overall"].interval is not None and clipped["overall"].interval.n == 2
    # Rerun: every item answered from the cache, so every item had its own key.
    again = Scripted()
    rerun = score(FIXTURE, "healthbench", options=opts, complete=again)
    assert again.calls == [] and rerun.summary.cached_calls == 7


def test_panel_majority_per_item_and_a_tie_is_unscored() -> None:
    def b_disagrees(model: str, verdict: dict[str, Any]) -> dict[str, Any]:
        return {**verdict, "criteria_met": not verdict["criteria_met"]} if model == "b" else verdict

    row = _rows()[0]
    two = RunOptions(judges=["a", "b"], cache=False)
    result = score([row], "healthbench", options=two, complete=Scripted(b_disagrees))
    record = result.records[0]
    assert record.scores["overall"] is None and record.status == "unscored"
    overall = next(j for j in record.judgments if j.criterion == "overall")
    assert overall.reason == "4 of 4 rubric items have no verdict"
    three = RunOptions(judges=["a", "b", "c"], cache=False)
    result = score([row], "healthbench", options=three, complete=Scripted(b_disagrees))
    assert result.records[0].scores["overall"] == 0.5  # a and c outvote b on every item


def test_samples_apply_per_item() -> None:
    fake = Scripted()
    opts = RunOptions(judges=["a"], samples=3, cache=False)
    result = score([_rows()[0]], "healthbench", options=opts, complete=fake)
    assert len(fake.calls) == 12  # 4 items x 3 samples
    record = result.records[0]
    asked = {(j.step, j.sample) for j in record.judgments if j.criterion == "criteria_met"}
    assert asked == {(step, k) for step in range(1, 5) for k in range(3)}
    assert record.scores["overall"] == 0.5


# --------------------------------------------------------------------------- bad input


def test_a_case_without_items_is_a_one_line_error_naming_file_line_field(tmp_path: Path) -> None:
    rows = _rows()
    rows[1]["rubrics"] = []
    path = tmp_path / "hb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = validate_items(path, rubric=RUBRIC)
    assert report.n_valid == 1 and len(report.problems) == 1
    problem = str(report.problems[0])
    assert problem.startswith(f"{path}:2: field 'rubrics'") and "\n" not in problem
    # A MedThinkVQA-style case with no `rubrics` at all, judged with healthbench.
    plain = {"title": "c1", "prediction": "some text"}
    with pytest.raises(InputError, match="no rubric items"):
        read_items_checked([plain])
    only_negative = {**rows[0], "rubrics": [{"criterion": "bad", "points": -3, "tags": []}]}
    with pytest.raises(InputError, match="positive points"):
        read_items_checked([only_negative])


def read_items_checked(rows: list[dict[str, Any]]) -> None:
    report = validate_items(rows, rubric=RUBRIC)
    if report.problems:
        raise report.problems[0]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"points": "5"}, "rubrics.0.points"),
        ({"points": True}, "rubrics.0.points"),
        ({"points": None}, "rubrics.0.points"),
        ({"points": float("nan")}, "rubrics.0.points"),
        ({"criterion": ""}, "rubrics.0.criterion"),
        ({"criterion": "   "}, "rubrics.0.criterion"),
        ({"tags": ["axis:a", "axis:a"]}, "rubrics.0.tags"),
        ({"weight": 2}, "rubrics.0.weight"),
    ],
)
def test_hostile_items_are_errors_naming_the_field(change: dict[str, Any], where: str) -> None:
    row = _rows()[0]
    row["rubrics"][0] = {**row["rubrics"][0], **change}
    report = validate_items([row], rubric=RUBRIC)
    assert len(report.problems) == 1
    assert f"field '{where}'" in str(report.problems[0])


def test_points_whose_sum_overflows_are_refused_at_file_line_field(tmp_path: Path) -> None:
    """1e308 + 1e308 - 1e308 is inf - inf: a NaN score, written as a "scored" null that a
    resume and `report` then refused. Points are bounded at load instead."""
    row = _rows()[0]
    row["rubrics"] = [
        {"criterion": f"item {i}", "points": points, "tags": []}
        for i, points in enumerate([1e308, 1e308, -1e308])
    ]
    path = tmp_path / "hb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    report = validate_items(path, rubric=RUBRIC)
    assert len(report.problems) == 1
    assert str(report.problems[0]).startswith(f"{path}:1: field 'rubrics.0.points'")


@pytest.mark.parametrize("score", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_score_is_never_a_scored_judgment(score: float) -> None:
    with pytest.raises(ValueError, match="finite score"):
        Judgment(criterion="overall", judge="deterministic", status="scored", score=score)
    unscored = Judgment(criterion="c", judge="j", status="unscored", reason="r", score=score)
    assert unscored.status == "unscored"


def test_ten_thousand_items_are_refused_before_any_call() -> None:
    row = _rows()[0]
    row["rubrics"] = [{"criterion": f"item {i}", "points": 1, "tags": []} for i in range(10_000)]
    fake = Scripted()
    report = validate_items([row], rubric=RUBRIC)
    assert len(report.problems) == 1 and "at most 200" in str(report.problems[0])
    with pytest.raises(InputError):
        score([row], "healthbench", options=RunOptions(judges=["a"], cache=False), complete=fake)
    assert fake.calls == []


def test_rubric_with_case_items_must_be_consistent(tmp_path: Path) -> None:
    text = Path(RUBRIC_PATH).read_text()
    path = tmp_path / "r.yaml"
    path.write_text(text.replace("items: case\n", ""))
    with pytest.raises(RubricError, match="needs `items: case`"):
        load_rubric(path)


RUBRIC_PATH = Path(__file__).parents[2] / "rubrics" / "healthbench.yaml"


async def test_scorer_api_refuses_a_case_without_items() -> None:
    async with Scorer(RunOptions(judges=["a"], cache=False), Scripted()) as scorer:
        with pytest.raises(InputError, match="no rubric items"):
            await scorer.score({"title": "c1", "prediction": "text"}, "healthbench")
        record = await scorer.score(_rows()[0], "healthbench")
    assert record.scores["overall"] == 0.5


# --------------------------------------------------------------------------- end to end


def test_judge_score_healthbench_over_http(llm_server: LLMServer, tmp_path: Path) -> None:
    def script(body: dict[str, Any], n: int) -> Reply:
        return Reply.json(_verdict_for(body["messages"]))

    llm_server.script = script
    out = tmp_path / "r.jsonl"
    args = ["score", str(FIXTURE), "--rubric", "healthbench", "--judge", "openai/test-judge"]
    args += ["--api-base", llm_server.url, "--out", str(out), "--no-cache"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    records.sort(key=lambda r: r["id"])
    assert [r["scores"]["overall"] for r in records] == [0.5, 1.0]
    assert records[0]["scores"]["axis:accuracy"] == 1.0
    assert "HealthBench scores" in result.output and "0.7500" in result.output
    # Every mean with its interval (#29 §0), HealthBench's clipped mean too.
    assert "95% CI" in result.output and "[0.50, 1.00]" in result.output
    sent = [r.body for r in llm_server.requests]
    assert len(sent) == 7
    assert all(b["messages"][0]["content"] == "You are a helpful assistant." for b in sent)


# --------------------------------------------------------------------------- resume, plan


def test_a_failed_item_is_retried_on_rerun_and_only_it_is_paid_again(tmp_path: Path) -> None:
    flaky = "Explains the FAST acronym (face, arms, speech, time)."

    class Failing(Scripted):
        async def __call__(self, *, model: str, messages: list[dict[str, str]], **kw: Any) -> Any:
            if flaky in messages[-1]["content"]:
                self.calls.append(messages)
                raise TransientError("503 from the provider")
            return await super().__call__(model=model, messages=messages, **kw)

    out, cache = tmp_path / "r.jsonl", tmp_path / "cache.sqlite"
    opts = RunOptions(judges=["a"], cache=cache, attempts=1)
    first = score(FIXTURE, "healthbench", out=out, options=opts, complete=Failing())
    assert first.summary.status == {"unscored": 1, "scored": 1}
    records = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    failed = [j for j in records["synthetic-hb-001"]["judgments"] if j.get("retryable")]
    assert [j["step"] for j in failed] == [2]
    again = Scripted()
    second = score(FIXTURE, "healthbench", out=out, options=opts, complete=again)
    assert len(again.calls) == 1  # the failed item only; the others from the cache
    assert second.resumed == 1 and second.judged == 1
    lines = out.read_text().splitlines()
    assert len(lines) == 2  # redone in place, nothing duplicated
    assert {json.loads(line)["scores"]["overall"] for line in lines} == {0.5, 1.0}


def test_plan_counts_one_call_per_item_judge_and_sample() -> None:
    opts = RunOptions(judges=["openai/gpt-4o-mini", "openai/gpt-4.1"], samples=2, cache=False)
    found = plan(FIXTURE, "healthbench", options=opts)
    assert found.estimate.calls == 7 * 2 * 2


def test_a_row_without_completion_is_unscored_without_a_call() -> None:
    row = {k: v for k, v in _rows()[0].items() if k != "completion"}
    fake = Scripted()
    result = score(
        [row], "healthbench", options=RunOptions(judges=["a"], cache=False), complete=fake
    )
    record = result.records[0]
    assert fake.calls == [] and record.status == "unscored"
    assert record.judgments[0].reason == "no text to judge at prediction"


def test_the_clipped_means_interval_is_the_bootstrap_interval_clipped() -> None:
    # scipy.stats.bootstrap's percentile interval of the mean, then clipped to [0, 1] as
    # HealthBench clips the mean (clipping is monotone, so it commutes with the percentiles).
    from scipy.stats import bootstrap

    from judge.aggregate.summary import _clipped_interval

    values = [1.4, 0.9, 1.2, -0.3, 0.8, 1.1, 0.2, 1.3]
    found = _clipped_interval(values, 0.9)
    assert found is not None and found.high == 1.0  # the mean's upper bound is above 1
    ref = bootstrap((values,), np.mean, confidence_level=0.9, method="percentile",
                    n_resamples=20_000, random_state=1)  # fmt: skip
    low = float(np.clip(ref.confidence_interval.low, 0, 1))
    assert found.low == pytest.approx(low, abs=0.05)
    assert _clipped_interval([0.5], 0.95) is not None
    assert _clipped_interval([0.5], 0.95).text() == "—"  # type: ignore[union-attr]
