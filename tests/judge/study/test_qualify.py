"""`judge qualify` (judge/study/qualify.py) and the rubrics' test banks (judge/study/bank.py):
scripted judges over real HTTP to the local test server, one that detects every planted defect,
one that scores at random, one that moves on length alone; the verdict rule; the record that
`judge score` and `judge report` show; bank validation at file:line."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.contracts import Rubric
from judge.errors import RubricError
from judge.load.rubric import load_rubric
from judge.study.bank import apply_edits, bank_path, builtin_banks, load_bank
from judge.study.qualify import qualify, verdict, wilson
from tests.llm_server import LLMServer, Reply

MODEL = "openai/test-judge"
Script = Callable[[dict[str, Any], int], Reply]


def _text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content")) for m in body["messages"])


def _levels(rubric: Rubric, cid: str) -> tuple[int, int]:
    """(best, worst) score of a criterion on its scale."""
    c = rubric.criterion(cid)
    low, high = (0, 1) if c.scale.type == "binary" else (c.scale.min, c.scale.max)  # type: ignore[union-attr]
    return (high, low) if c.higher_is_better else (low, high)


def _perfect(rubric_id: str) -> Script:
    """Scores every criterion at its best, except a pair's target when the pair's planted text
    is in the prompt: that one at its worst. Controls and repeats change nothing. Pairs that
    plant the same text (ddx's miss_harm and miss_closeness pairs change the same choice, each
    declaring the other "either", review M11) lower all their targets."""
    rubric = load_rubric(rubric_id)
    bank = load_bank(bank_path(rubric_id)).bank
    titles = {c.id: c.item["CLINICAL_HISTORY"][:60] for c in bank.cases}
    planted: dict[tuple[str, str], set[str]] = {}
    for p in bank.pairs:
        planted.setdefault((titles[p.case], p.edits[0].new), set()).add(p.target)
    shared = [t for t in planted.values() if len(t) > 1]
    assert all(t == {"miss_harm", "miss_closeness"} for t in shared)  # no other text is shared
    # A criterion computed from another (education's harm_severity: 1 exactly when safety is
    # 0) is judged consistently: its pairs' bases already hold the other's defect (harmful
    # advice, of lesser severity), so the other is at its worst on both sides and this one in
    # the middle of its scale on the base; wherever the other is worst, this one is not at the
    # level reserved for the other's best.
    rules = {c.id: c.computed_if for c in rubric.llm_criteria if c.computed_if is not None}
    flawed = {
        (titles[p.case], p.edits[0].old): rules[p.target].criterion
        for p in bank.pairs
        if p.target in rules
    }

    def reply(body: dict[str, Any], n: int) -> Reply:
        text = _text(body)
        verdict = {
            c.id: {"rationale": "r", "score": _levels(rubric, c.id)[0]} for c in rubric.llm_criteria
        }
        for (title, old), other in flawed.items():
            if title in text and old in text:
                verdict[other] = {"rationale": "the base's", "score": _levels(rubric, other)[1]}
        for (title, new), targets in planted.items():
            if title in text and new in text:
                for target in targets:
                    worst = _levels(rubric, target)[1]
                    verdict[target] = {"rationale": "the defect", "score": worst}
                    if target in rules:
                        other = rules[target].criterion
                        verdict[other] = {"rationale": "r", "score": _levels(rubric, other)[1]}
        for cid, rule in rules.items():
            best, worst = _levels(rubric, cid)
            if verdict[rule.criterion]["score"] != rule.equals and verdict[cid]["score"] == best:
                verdict[cid] = {"rationale": "r", "score": (best + worst) // 2}
        return Reply.json(verdict)

    return reply


def _random(rubric_id: str, seed: int = 7) -> Script:
    rubric = load_rubric(rubric_id)
    rng = random.Random(seed)

    def reply(body: dict[str, Any], n: int) -> Reply:
        scores = {}
        for c in rubric.llm_criteria:
            low, high = sorted(_levels(rubric, c.id))
            scores[c.id] = {"rationale": "r", "score": rng.randint(low, high)}
        return Reply.json(scores)

    return reply


def _by_length(rubric_id: str) -> Script:
    """Scores by the prompt's length alone: every 50 characters a step up its scale."""
    rubric = load_rubric(rubric_id)

    def reply(body: dict[str, Any], n: int) -> Reply:
        steps = len(_text(body)) // 50
        scores = {}
        for c in rubric.llm_criteria:
            low, high = sorted(_levels(rubric, c.id))
            scores[c.id] = {"rationale": "r", "score": low + steps % (high - low + 1)}
        return Reply.json(scores)

    return reply


def _qualify(server: LLMServer, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["qualify", *args, "--judge", MODEL, "--api-base", server.url, "-c", "8"]
    )


def test_a_judge_that_detects_every_planted_defect_is_qualified_on_every_criterion(
    llm_server: LLMServer, home: Path, tmp_path: Path
) -> None:
    llm_server.script = _perfect("ddx")
    result = _qualify(llm_server, "--rubric", "ddx", "--strict")
    assert result.exit_code == 0, result.output
    rubric = load_rubric("ddx")
    for c in rubric.llm_criteria:
        line = next(x for x in result.output.splitlines() if x.startswith(c.id + " "))
        # 5 of 5 detected: the Wilson interval 0.57-1.00; nothing moved on the controls.
        assert re.search(r" 5/5 +0\.57-1\.00 +0/\d+ +0/\d+ +0/(21|9) +0  qualified", line), line
    n = len(rubric.llm_criteria)  # ddx 1.1: 10 LLM criteria (miss_closeness is new)
    assert n == 10
    assert f"is qualified on all {n} criteria" in result.output
    assert f"qualification on record: {n} criteria" in result.output
    calls = len(llm_server.requests)
    again = _qualify(llm_server, "--rubric", "ddx")  # the cache answers: nothing is paid twice
    assert again.exit_code == 0 and len(llm_server.requests) == calls

    # `judge score` and `judge report` show the verdict beside the calibration lines.
    bank = load_bank(bank_path("ddx")).bank
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(c.item) + "\n" for c in bank.cases[:2]))
    out = tmp_path / "r.jsonl"
    scored = CliRunner().invoke(
        cli,
        ["score", str(predictions), "--rubric", "ddx", "--judge", MODEL, "--api-base",
         llm_server.url, "--out", str(out)],
    )  # fmt: skip
    assert scored.exit_code == 0, scored.output
    assert f"qualification: coherence / {MODEL}: QUALIFIED (5/5 defects detected" in scored.output
    assert "calibration: none of the" in scored.output  # the calibration lines stay
    report = CliRunner().invoke(cli, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert f"qualification: medical_accuracy / {MODEL}: QUALIFIED" in report.output
    html = out.with_suffix(".html").read_text()
    assert "Qualification on record" in html
    assert f"unsafe_advice / {MODEL}: QUALIFIED" in html


def test_the_education_bank_qualifies_a_judge_that_detects_every_defect(
    llm_server: LLMServer, home: Path
) -> None:
    llm_server.script = _perfect("education")
    result = qualify("education", judges=[MODEL], api_base=llm_server.url)
    assert {c.criterion: c.verdict for c in result.criteria} == {
        c.id: "qualified" for c in load_rubric("education").llm_criteria
    }
    assert all(c.pairs == 3 and c.detected == 3 for c in result.criteria)
    # Padding is no control for clarity (its anchors count padding): 8 controls, not 12.
    by_id = {c.criterion: c for c in result.criteria}
    assert by_id["clarity"].control_total == 8 and by_id["safety"].control_total == 12


def test_a_judge_that_scores_at_random_is_not_qualified(llm_server: LLMServer, home: Path) -> None:
    llm_server.script = _random("ddx")
    result = _qualify(llm_server, "--rubric", "ddx", "--strict", "--no-save")
    assert result.exit_code == 4, result.output
    assert "NOT QUALIFIED for rubric ddx: qualified on 0 of 10 criteria, not qualified on 10" in (
        result.output
    )
    assert "qualification on record" not in result.output
    assert not (home / "calibrations.sqlite").exists()  # --no-save kept nothing


def test_a_judge_that_moves_on_length_alone_is_not_qualified(
    llm_server: LLMServer, home: Path
) -> None:
    llm_server.script = _by_length("ddx")
    result = qualify("ddx", judges=[MODEL], api_base=llm_server.url)
    assert {c.verdict for c in result.criteria} == {"not qualified"}
    for c in result.criteria:
        assert c.noise_moves == 0  # it is deterministic: only the changes move it
        assert c.control_moves >= 1, c  # a padded answer, at least
        assert c.reason.startswith("moves on changes it should ignore"), c
    strict = _qualify(llm_server, "--rubric", "ddx", "--strict")
    assert strict.exit_code == 4
    assert "The judge openai/test-judge is NOT QUALIFIED" in strict.output


def test_wilson_interval_is_newcombe_1998_table_1() -> None:
    # Newcombe, "Two-sided confidence intervals for the single proportion", Stat Med 1998,
    # 17:857-872, Table I, method 3 (Wilson score interval without continuity correction).
    for (k, n), (low, high) in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }.items():
        got = wilson(k, n)
        assert (round(got[0], 4), round(got[1], 4)) == (low, high)


@pytest.mark.parametrize(
    ("pairs", "detected", "false", "noise", "said"),
    [
        (5, 5, (0, 40), (0, 21), "qualified"),
        (3, 3, (0, 20), (0, 12), "qualified"),  # the smallest bank can reach it
        (5, 4, (0, 40), (0, 21), "inconclusive"),  # lower bound 0.376
        (3, 2, (0, 20), (0, 12), "inconclusive"),
        (5, 2, (0, 40), (0, 21), "not qualified"),  # upper bound 0.769 < 0.8
        (3, 1, (0, 20), (0, 12), "not qualified"),  # upper bound 0.792
        (5, 5, (0, 40), (5, 21), "not qualified"),  # moves on an unchanged answer
        (5, 5, (6, 40), (0, 21), "not qualified"),  # 15% false moves against no noise
        (5, 5, (4, 40), (2, 21), "qualified"),  # 10% false moves, 9.5% noise
        (0, 0, (0, 40), (0, 21), "inconclusive"),
    ],
)
def test_verdict_rule(
    pairs: int, detected: int, false: tuple[int, int], noise: tuple[int, int], said: str
) -> None:
    assert verdict(pairs, detected, *false, *noise)[0] == said


def test_builtin_banks_cover_every_judged_criterion() -> None:
    assert {"ddx", "education"} <= set(builtin_banks())
    for rubric_id, least in (("ddx", 5), ("education", 3)):
        loaded = load_bank(bank_path(rubric_id))
        judged = [c.id for c in loaded.rubric.llm_criteria]
        for cid in judged:
            assert sum(p.target == cid for p in loaded.bank.pairs) >= least, cid
        for pair in loaded.bank.pairs:
            assert sorted(pair.expect) == sorted(judged)
            base = next(c.item for c in loaded.bank.cases if c.id == pair.case)
            assert apply_edits(base, pair.edits) != base
        assert {c.kind for c in loaded.bank.controls} == {"paraphrase", "padding", "order"}
        assert loaded.bank.noise.samples >= 3 and loaded.bank.noise.temperature > 0


def _broken(
    tmp_path: Path, old: str, new: str, count: int = 1, rubric: str = "ddx"
) -> tuple[Path, int]:
    """The rubric's bank with `old` replaced by `new` (the first `count` times), and the line
    of the first change."""
    text = bank_path(rubric).read_text()
    at = text.index(old)
    path = tmp_path / "bank.yaml"
    path.write_text(text.replace(old, new, count))
    return path, text.count("\n", 0, at) + 1


@pytest.mark.parametrize(
    ("rubric", "old", "new", "message"),
    [
        (
            "ddx",
            "    distractor_elimination: same\n",
            "    distractor_eliminaton: same\n",
            "not a judged",
        ),
        (
            "ddx",
            "    miss_harm: same\n",
            "",
            "declare every judged criterion; missing ['miss_harm']",
        ),
        ("ddx", "  because:\n", "  becaus:\n", "Extra inputs are not permitted"),
        (
            "ddx",
            "M1: a distractor dismissed",
            "as it does: a distractor",
            "name the review's finding",
        ),
        (
            "ddx",
            "old: >-\n      Option D (malrotation",
            "old: >-\n      Option D (malrotaton",
            "found 0",
        ),
        ("ddx", "order: [C, E, A, D, B]", "order: [C, E, A, D]", "give the case's letters"),
        ("ddx", "samples: 3", "samples: 2", "greater than or equal to 3"),
        ("ddx-steps", "- distractors_ruled_out\n", "- step_countt\n", "not a measure computed"),
        ("ddx-steps", "- distractors_ruled_out\n", "- final_answer\n", "'final_answer' is not"),
        ("ddx-steps", "criteria:\n", "criteria_:\n", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_bank_is_refused_at_its_line(
    tmp_path: Path, rubric: str, old: str, new: str, message: str
) -> None:
    path, line = _broken(tmp_path, old, new, rubric=rubric)
    with pytest.raises(RubricError) as caught:
        load_bank(path)
    assert message in str(caught.value)
    assert caught.value.path == str(path)
    # At the changed line (or the first line of its value), or at the entry that holds it when
    # the key itself is gone.
    assert caught.value.line is not None and line - 12 <= caught.value.line <= line + 1


def test_a_bank_with_too_few_pairs_for_a_criterion_is_refused(tmp_path: Path) -> None:
    text = bank_path("ddx").read_text()
    path = tmp_path / "bank.yaml"
    path.write_text(text.replace("min_pairs: 5", "min_pairs: 6"))
    with pytest.raises(RubricError, match=r"bank.yaml:\d+: field 'pairs': each judged criterion"):
        load_bank(path)


def test_a_bank_for_another_rubric_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="the bank is for rubric 'ddx', not 'education'"):
        load_bank(bank_path("ddx"), load_rubric("education"))
    with pytest.raises(RubricError, match="no test bank for this rubric"):
        bank_path("twi")


def test_a_qualification_on_record_holds_only_for_its_rubric_and_prompt(tmp_path: Path) -> None:
    from calibration.record import qualification_lines, save_qualification

    db = tmp_path / "calibrations.sqlite"
    row = {
        "rubric_hash": "r1", "prompt_hash": "p1", "rubric": "ddx v1.0", "criterion": "coherence",
        "judge": MODEL, "verdict": "not qualified", "reason": "misses", "pairs": 5,
        "detected": 1, "low": 0.04, "high": 0.62, "false_moves": 0, "false_total": 40,
        "noise_moves": 0, "noise_total": 21, "noise_samples": 3, "noise_temperature": 0.7,
        "bank": "ddx.yaml", "bank_version": "1.0", "bank_hash": "b1",
    }  # fmt: skip
    assert save_qualification(db, [row], when="2026-12-01T00:00:00+00:00") == 1
    same = {"rubric_hash": "r1", "prompt_hash": "p1", "judges": [MODEL]}
    assert qualification_lines(db, **same, criteria=["coherence"]) == [
        f"coherence / {MODEL}: NOT QUALIFIED (1/5 defects detected, 95% CI 0.04-0.62; 0/40 "
        "false moves; noise 0/21; bank v1.0, 2026-12-01)"
    ]
    other = qualification_lines(
        db, rubric_hash="r2", prompt_hash="p1", judges=[MODEL], criteria=["coherence"]
    )
    assert other == [
        f"coherence / {MODEL}: qualification on record is for another rubric version "
        "(ddx v1.0, 2026-12-01); not valid for this run"
    ]
    none = qualification_lines(db, **same, criteria=["hallucination", "medical_accuracy"])
    assert none == [
        "none of the 2 criteria × 1 judge(s) has a qualification on record (judge qualify "
        "records one)"
    ]


def test_a_judge_whose_replies_never_validate_is_said_plainly_not_qualified(
    llm_server: LLMServer, home: Path
) -> None:
    # Like a demo judge too small to fill the rubric's schema: nothing can be compared.
    llm_server.script = lambda body, n: Reply.text("I think the answer is good.")
    result = _qualify(llm_server, "--rubric", "education", "--validation-retries", "0", "--no-save")
    assert result.exit_code == 0, result.output  # it ran: exit 0 whatever the verdict
    lines = [x for x in result.output.splitlines() if x.startswith("clarity ")]
    assert "inconclusive: no planted defect could be compared" in lines[0]
    # Why, said once: which bank items were left unscored, and the first reason of each.
    assert re.search(r"notice: \d+ of \d+ bank items not fully scored: base/\S+: ", result.output)
    assert re.search(r" [1-9]\d*  inconclusive", lines[0])  # its unscored comparisons, counted
    assert "The judge openai/test-judge is NOT QUALIFIED for rubric education: qualified on 0" in (
        result.output
    )


def test_qualify_measures_one_judge(home: Path) -> None:
    result = CliRunner().invoke(cli, ["qualify", "--judge", "openai/a", "--judge", "openai/b"])
    assert result.exit_code == 2
    assert "error: qualify measures one judge: give one --judge, not 2" in result.output
