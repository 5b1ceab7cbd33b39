"""`judge route`: the queue of items for people, from results the real scorer wrote over HTTP
(tests/llm_server.py) with two judges scripted to disagree on chosen items."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

import judge
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import open_study
from judge.cli import cli
from judge.errors import ConfigError, InputError
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from judge.study.route import route, route_file, spread, weights_path
from tests.llm_server import LLMServer, Reply

JUDGES = ["openai/judge-a", "openai/judge-b"]
RUBRIC = {
    "id": "mini",
    "version": "1",
    "description": "Two criteria of different scales, for routing tests.",
    "target": ["prediction_rationale"],
    "context": ["CLINICAL_HISTORY"],
    "criteria": [
        {
            "id": "grounding",
            "question": "How well does the reasoning cite the case's findings?",
            "scale": {
                "type": "ordinal",
                "min": 1,
                "max": 5,
                "anchors": {k: f"level {k}" for k in range(1, 6)},
            },
        },
        {
            "id": "invented",
            "question": "Does the reasoning invent a finding?",
            "higher_is_better": False,
            "scale": {"type": "binary", "anchors": {0: "no", 1: "yes"}},
        },
    ],
}
N_ITEMS = 16
# Item → (judge-a's, judge-b's) verdict: (grounding, invented). Every other item: both 4, 0.
SPLIT = {
    "case 03": ((5, 0), (1, 0)),  # spread 1.0 on grounding
    "case 07": ((4, 0), (4, 1)),  # spread 1.0 on the binary criterion; a tie: partial
    "case 11": ((4, 0), (2, 0)),  # spread 0.5
    "case 12": ((4, 0), (3, 0)),  # spread 0.25
}
UNSCORED = {"case 05"}  # both judges fail: an unscored record
SHRUNK = {"case 09"}  # judge-b fails, judge-a answers: scored, by one judge (no spread)


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "title": f"case {i:02d}",
            "CLINICAL_HISTORY": f"A {30 + i}-year-old with cough (variant {i}).",
            "IMAGING_FINDINGS": "A right upper lobe cavity.",
            "discussion": "Tuberculosis.",
            "options": ["TB", "Cancer", "Abscess", "GPA", "Aspergilloma"],
            "correct_answer": "A",
            "prediction": "A",
            "prediction_rationale": f"Cavity, so tuberculosis (A). Item {i}.",
            "modality": "CT" if i % 4 else "MR",  # 12 CT, 4 MR
        }
        for i in range(N_ITEMS)
    ]


def _verdict(grounding: int, invented: int) -> Reply:
    return Reply.json(
        {
            "grounding": {"rationale": "scripted", "score": grounding},
            "invented": {"rationale": "scripted", "score": invented},
        }
    )


def _script(body: dict[str, Any], n: int) -> Reply:
    text = json.dumps(body["messages"])
    item = next(f"case {i:02d}" for i in range(N_ITEMS) if f"Item {i}." in text)
    if item in UNSCORED or (item in SHRUNK and body["model"] == "judge-b"):
        return Reply.error(400)
    if item in SPLIT:
        return _verdict(*SPLIT[item][body["model"] == "judge-b"])
    return _verdict(4, 0)


@pytest.fixture
def scored(tmp_path: Path, llm_server: LLMServer) -> Path:
    """A results file of N_ITEMS items judged by two judges over real HTTP."""
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(yaml.safe_dump(RUBRIC, sort_keys=False))
    llm_server.script = _script
    out = tmp_path / "results.jsonl"
    judge.score(predictions, rubric, out=out, judges=JUDGES, api_base=llm_server.url, attempts=1)
    return out


def _rubric(results: Path) -> Path:
    return results.parent / "mini.yaml"


def test_spread_is_on_the_unit_scale_between_judges_and_samples(scored: Path) -> None:
    criteria = {c.id: c for c in load_rubric(_rubric(scored)).criteria}
    records = {r.id: r for r in iter_records(scored)}
    assert spread(records["case 03"], criteria) == (1.0, "grounding")
    assert spread(records["case 07"], criteria) == (1.0, "invented")
    assert spread(records["case 11"], criteria) == (0.5, "grounding")
    assert spread(records["case 00"], criteria) == (0.0, None)
    # One judge's samples that differ are a spread too (a judge asked twice).
    one = records["case 00"].model_copy(deep=True)
    second = one.judgments[0].model_copy(update={"sample": 1, "score": 2})
    one.judgments.append(second)
    assert spread(one, criteria) == (0.5, second.criterion)
    # A criterion without an order (or one the rubric does not know): differ or not.
    odd = records["case 00"].model_copy(deep=True)
    extra = [
        odd.judgments[0].model_copy(update={"criterion": "kind", "judge": name, "score": kind})
        for name, kind in ((JUDGES[0], "cyst"), (JUDGES[1], "solid"))
    ]
    odd.judgments.extend(extra)
    assert spread(odd, criteria) == (1.0, "kind")


def test_disagreement_first_then_unscored_then_a_recorded_random_rest(scored: Path) -> None:
    statuses = {r.id: r.status for r in iter_records(scored)}
    assert statuses["case 05"] == "unscored" and statuses["case 07"] == "partial"
    assert statuses["case 09"] == "scored"
    queue = route(scored, 8, seed=1, rubric=_rubric(scored))
    reasons = [(p.reason, p.id) for p in queue.picks]
    # Half the budget (4): the four disagreements, largest spread first (ties in line order).
    assert reasons[:5] == [
        ("disagreement", "case 03"),
        ("disagreement", "case 07"),
        ("disagreement", "case 11"),
        ("disagreement", "case 12"),
        ("unscored", "case 05"),
    ]
    rest = [p for p in queue.picks if p.reason == "random"]
    assert len(queue.picks) == 8 and len(rest) == 3
    available = N_ITEMS - 5
    for pick in queue.picks:
        expected = 3 / available if pick.reason == "random" else 1.0
        assert pick.probability == pytest.approx(expected)
    assert len({p.id for p in queue.picks}) == 8


def test_partial_records_come_after_the_disagreement_share(scored: Path) -> None:
    queue = route(scored, 3, seed=0, rubric=_rubric(scored))
    # One disagreement slot (half of 3): case 03; then the unscored and the partial record.
    assert [(p.reason, p.id) for p in queue.picks] == [
        ("disagreement", "case 03"),
        ("unscored", "case 05"),
        ("unscored", "case 07"),
    ]
    assert queue.strata[0].picked == 0 and queue.unscored_left == 0
    # Budget 2: one disagreement, one unscored record; the partial one did not fit.
    assert route(scored, 2, rubric=_rubric(scored)).unscored_left == 1


def test_at_most_half_the_budget_goes_to_disagreement(scored: Path) -> None:
    queue = route(scored, 5, seed=0, rubric=_rubric(scored))
    assert [p.id for p in queue.picks if p.reason == "disagreement"] == ["case 03", "case 07"]
    # case 11 and 12 disagreed but were not taken: they stay in the random draw's pool.
    assert queue.strata[0].available == N_ITEMS - 2 - queue.count("unscored")


def test_random_rest_is_deterministic_per_seed(scored: Path) -> None:
    def drawn(seed: int) -> list[str]:
        queue = route(scored, 10, seed=seed, rubric=_rubric(scored))
        return [p.id for p in queue.picks if p.reason == "random"]

    assert drawn(3) == drawn(3)
    assert {tuple(drawn(s)) for s in range(6)} != {tuple(drawn(3))}


def test_stratified_draw_and_its_probabilities(scored: Path) -> None:
    meta = {r.id: r.meta["modality"] for r in iter_records(scored)}
    queue = route(scored, 10, by="modality", seed=2, rubric=_rubric(scored))
    taken = {p.id for p in queue.picks if p.reason != "random"}
    pool = Counter(meta[i] for i in meta if i not in taken and i not in UNSCORED)
    strata = {s.name: s for s in queue.strata}
    assert {n: s.available for n, s in strata.items()} == dict(pool)
    rest = [p for p in queue.picks if p.reason == "random"]
    # Both strata are covered; the rest is shared in proportion to their sizes.
    assert all(s.picked >= 1 for s in strata.values())
    assert sum(s.picked for s in strata.values()) == len(rest)
    for pick in rest:
        assert meta[pick.id] == pick.stratum
        s = strata[pick.stratum]
        assert pick.probability == pytest.approx(s.picked / s.available)
    # The inverse-probability weights add back up to the items they stand for.
    assert sum(1 / p.probability for p in rest) == pytest.approx(sum(pool.values()))


def test_budget_larger_than_the_items_queues_each_once(scored: Path) -> None:
    queue = route(scored, 100, seed=0, rubric=_rubric(scored))
    assert sorted(p.id for p in queue.picks) == sorted(r.id for r in iter_records(scored))
    assert all(p.probability == 1.0 for p in queue.picks)


def test_bad_budget_file_or_field_is_one_line(scored: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--budget must be at least 1"):
        route(scored, 0, rubric=_rubric(scored))
    other = tmp_path / "notes.jsonl"
    other.write_text('{"title": "x"}\n')
    with pytest.raises(InputError, match=r"notes.jsonl:1.*not a results record"):
        route(other, 5)
    with pytest.raises(ConfigError, match="--by ward: no record"):
        route(scored, 5, by="ward", rubric=_rubric(scored))
    # A rubric that is not built in must be named (its scales put criteria on one scale).
    with pytest.raises(ConfigError, match="'mini' is not built in; pass --rubric"):
        route(scored, 5)
    runner = CliRunner()
    for args in (
        ["route", str(scored), "--budget", "0", "--out", str(tmp_path / "q.txt")],
        ["route", str(other), "--budget", "3", "--out", str(tmp_path / "q.txt")],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "q.txt").exists()


def test_cli_writes_queue_and_sidecar_and_refuses_a_users_file(
    scored: Path, tmp_path: Path
) -> None:
    out = tmp_path / "queue.txt"
    args = ["route", str(scored), "--budget", "8", "--out", str(out), "--by", "modality"]
    result = CliRunner().invoke(cli, [*args, "--rubric", str(_rubric(scored))])
    assert result.exit_code == 0, result.output
    assert re.search(r"panel disagreement\s*│\s*4", result.output)
    assert re.search(r"random, by modality\s*│\s*3", result.output)
    lines = out.read_text().splitlines()
    ids = [line for line in lines if not line.startswith("#")]
    header = [line for line in lines if line.startswith("# ")]
    sidecar = json.loads(weights_path(out).read_text())
    items = sidecar["items"]
    assert [i["id"] for i in items] == ids and len(ids) == 8
    # Each item's probability is in the header lines and the sidecar alike.
    for item in items:
        assert f"# {item['probability']:.6g}\t{item['reason']}\t{item['id']}" in header
    assert sidecar["counts"] == {"disagreement": 4, "unscored": 1, "random": 3}
    # A rerun replaces its own files; a user's file at --out (or the sidecar's path) is refused.
    again = CliRunner().invoke(cli, [*args, "--seed", "9", "--rubric", str(_rubric(scored))])
    assert again.exit_code == 0, again.output
    mine = tmp_path / "mine.txt"
    mine.write_text("case 01\ncase 02\n")
    refused = CliRunner().invoke(cli, ["route", str(scored), "-n", "3", "--out", str(mine)])
    assert refused.exit_code == 2 and "not one this command writes" in refused.stderr
    assert mine.read_text() == "case 01\ncase 02\n"
    weights_path(tmp_path / "q2.txt").write_text('{"mine": 1}\n')
    with pytest.raises(ConfigError, match="weights sidecar"):
        route_file(scored, 3, tmp_path / "q2.txt", rubric=_rubric(scored))
    assert not (tmp_path / "q2.txt").exists()


def test_annotate_opens_the_queue_over_http(scored: Path, tmp_path: Path) -> None:
    out = tmp_path / "queue.txt"
    queue = route_file(scored, 6, out, seed=4, rubric=_rubric(scored))
    study = open_study(tmp_path / "preds.jsonl", _rubric(scored), ["alice"], 1, queue=out)
    server = AnnotationServer(study).start()
    try:
        link = rater_links(study, server.url)["alice"]
        page = httpx.get(link).text
    finally:
        server.stop()
        study.store.close()
    listed = re.findall(r'/items/\d+">([^<]+)</a></td>', page)
    assert listed == [p.id for p in queue.picks]


def test_calibrate_estimate_weighs_the_routed_human_scores(scored: Path, tmp_path: Path) -> None:
    import numpy as np
    import ppi_py

    from calibration.routing import WEIGHTS_FORMAT as READ
    from calibration.routing import load_route_weights
    from calibration.study import StudySettings, load_study, run_study
    from judge.study.route import WEIGHTS_FORMAT as WRITTEN

    assert READ == WRITTEN  # the reader calibration keeps without importing the engine
    out = tmp_path / "queue.txt"
    queue = route_file(scored, 10, out, by="modality", seed=5, rubric=_rubric(scored))
    human = tmp_path / "human.csv"
    rated = {p.id: (2 if p.reason == "disagreement" else 3) for p in queue.picks}
    human.write_text(
        "item,criterion,rater,score\n"
        + "".join(f"{i},grounding,alice,{s}\n" for i, s in rated.items())
    )
    sidecar = str(weights_path(out))
    settings = StudySettings(estimate=True, n_boot=0, weights=load_route_weights(sidecar))
    tables = run_study(load_study(scored, human), settings)
    row = tables["estimate"].set_index(["criterion", "judge"]).loc[("grounding", JUDGES[0])]
    # ppi_py on the same arrays: judge-a's grounding on every item it scored, the human
    # scores and 1/probability on the rated ones.
    judged = {
        r.id: float(j.score)
        for r in iter_records(scored)
        for j in r.judgments
        if j.judge == JUDGES[0] and j.criterion == "grounding" and j.status == "scored"
    }
    labeled = [p for p in queue.picks if p.id in judged]
    y = np.array([rated[p.id] for p in labeled], dtype=float)
    yhat = np.array([judged[p.id] for p in labeled])
    w = np.array([1 / p.probability for p in labeled])
    assert len(set(w)) > 1  # the queue mixes certain and random picks
    expected = ppi_py.ppi_mean_pointestimate(y, yhat, np.array(list(judged.values())), w=w)
    assert row["estimate"] == pytest.approx(float(np.ravel(expected)[0]), abs=1e-9)
    assert row["n"] == len(labeled) and row["N"] == len(judged)

    args = ["calibrate", "--judge", str(scored), "--human", str(human), "--n-boot", "0"]
    shown = CliRunner().invoke(cli, [*args, "--estimate", "--weights", sidecar])
    assert shown.exit_code == 0, shown.output
    assert "routed: inverse-probability weights" in shown.output
    refused = CliRunner().invoke(cli, [*args, "--weights", sidecar])
    assert refused.exit_code == 2 and "add --estimate" in refused.stderr


def test_an_id_annotate_would_read_as_a_comment_is_refused(scored: Path, tmp_path: Path) -> None:
    lines = scored.read_text().splitlines()
    record = json.loads(lines[0])
    written = tmp_path / "odd.jsonl"
    written.write_text(json.dumps({**record, "id": "# not a comment"}) + "\n")
    out = tmp_path / "queue.txt"
    with pytest.raises(ConfigError, match="cannot be written as a queue line"):
        route_file(written, 1, out, rubric=_rubric(scored))
    assert not out.exists() and not weights_path(out).exists()
