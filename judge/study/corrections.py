"""Clinicians' corrections of a judge, as worked examples for a rubric (issue #18 §2).

Reads a `judge score` results file and the human ratings with calibration's loaders, finds
each item's gold levels (the clinicians' consensus, collapsed as `judge calibrate` collapses
repeated scores), ranks items by how far the judge was from them, and turns the most
disagreeing ones into `RubricExample`s within a token budget. An item whose ratings carry no
comment is never an example: the comment is the example's reason, and an example without a
reason teaches a level without saying why.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.calibrate import check_overlap
from calibration.data import collapse_repeats
from calibration.levels import level_of
from calibration.loaders import load_human_scores, load_judge_results
from judge.contracts import Criterion, Level, Rubric, RubricExample
from judge.contracts.rubrics import EXAMPLE_REASON_MAX, EXAMPLE_TEXT_MAX
from judge.errors import ConfigError
from judge.judging.prompts import case_excerpt, render_examples, target_text
from judge.load.inputs import Item
from judge.load.rubric import rubric_hash

__all__ = [
    "CASE_EXCERPT_CHARS",
    "CHARS_PER_TOKEN",
    "Corrections",
    "approx_tokens",
    "read_corrections",
    "select_examples",
    "variant",
]

# A token is about four characters of English text (OpenAI, "What are tokens and how to
# count them"): an approximation that needs no tokenizer and no judge model, so the same
# examples are chosen whichever judge reads them.
CHARS_PER_TOKEN = 4
CASE_EXCERPT_CHARS = 1200


def approx_tokens(text: str) -> int:
    """The approximate token count of `text` (CHARS_PER_TOKEN characters a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass
class Corrections:
    """What the judge said and what the clinicians said, item by item."""

    judged: pd.DataFrame  # calibration's long judge rows (the records' judgments)
    human: pd.DataFrame  # calibration's long human rows, on the rubric's LLM criteria
    gold: dict[str, dict[str, Level]]  # item -> criterion -> the clinicians' level
    reasons: dict[str, str]  # item -> the clinicians' comment ("" when none)
    disagreement: dict[str, float]  # item -> how far the judge was from the gold
    notes: list[str] = field(default_factory=list)


def read_corrections(results: str | Path, human_path: str | Path, rubric: Rubric) -> Corrections:
    """The judge's records and the human ratings of `rubric`'s LLM criteria, side by side."""
    judged = load_judge_results(results)
    human = load_human_scores(human_path)
    if judged.empty:
        raise ConfigError(f"{results}: holds no scored judgment")
    if "step" in human.columns and human["step"].notna().any():
        raise ConfigError(f"{human_path}: holds per-step ratings; align uses item-level ones")
    notes = check_overlap(judged, human)  # no shared item or criterion: a one-line error
    asked = {c.id: c for c in rubric.llm_criteria}
    foreign = sorted(set(human["criterion"]) - set(asked))
    if foreign:
        notes.append(f"{human_path}: not LLM criteria of rubric {rubric.id}, left out: {foreign}")
    human = human[human["criterion"].isin(list(asked))].reset_index(drop=True)
    if human.empty:
        raise ConfigError(
            f"{human_path}: rates none of rubric {rubric.id}'s judged criteria ({', '.join(asked)})"
        )
    judged = judged[judged["criterion"].isin(list(asked))].reset_index(drop=True)
    gold = _gold(human, asked, str(human_path))
    return Corrections(
        judged=judged,
        human=human,
        gold=gold,
        reasons=_reasons(human),
        disagreement=_disagreement(judged, gold, asked),
        notes=notes,
    )


def _gold(human: pd.DataFrame, asked: Mapping[str, Criterion], path: str) -> dict:
    """Each item's consensus level per criterion: one rater's score, or the clinicians'
    typical score (the lower median of ordinal levels, the unique most frequent label;
    a tie gives no gold), calibration's collapse of repeated scores."""
    gold: dict[str, dict[str, Level]] = {}
    for name, rows in human.groupby("criterion", sort=True):
        criterion = asked[str(name)]
        pooled = rows.assign(rater="clinicians", rater_kind="human")
        one, _ = collapse_repeats(pooled, level_of(criterion.scale.type))
        for item, score in zip(one["item"], one["score"], strict=True):
            level = _as_level(criterion, score)
            if level is None:
                raise ConfigError(
                    f"{path}: item {item!r}, criterion {criterion.id}: {score!r} is not one "
                    f"of its levels {list(getattr(criterion.scale, 'levels', []))}"
                )
            gold.setdefault(str(item), {})[criterion.id] = level
    return gold


def _as_level(criterion: Criterion, score: Any) -> Level | None:
    """The criterion's level equal to a coerced score (3.0 is level 3), or None."""
    for level in getattr(criterion.scale, "levels", []):
        if level == score or str(level) == str(score):
            return level
    return None


def _reasons(human: pd.DataFrame) -> dict[str, str]:
    """Each item's comments (distinct, in file order, joined), or nothing."""
    if "comment" not in human.columns:
        return {}
    found: dict[str, list[str]] = {}
    for item, comment in zip(human["item"], human["comment"], strict=True):
        text = "" if not isinstance(comment, str) else " ".join(comment.split())
        if text and text not in found.setdefault(str(item), []):
            found[str(item)].append(text)
    return {item: " ".join(texts) for item, texts in found.items() if texts}


def _distance(criterion: Criterion, judged: Any, gold: Level) -> float:
    """0 (agrees) to 1 (opposite ends of an ordinal scale, or another label)."""
    scale = criterion.scale
    if scale.type == "ordinal":
        return abs(float(judged) - float(gold)) / (scale.max - scale.min)
    return 0.0 if _as_level(criterion, judged) == gold else 1.0


def _disagreement(
    judged: pd.DataFrame, gold: Mapping[str, Mapping[str, Level]], asked: Mapping[str, Criterion]
) -> dict[str, float]:
    """Per item: the judge's distance from the gold, averaged over its judges and samples,
    summed over criteria (an item the judge got wrong on many criteria ranks first)."""
    total: dict[str, float] = {}
    for (item, name), rows in judged.groupby(["item", "criterion"], sort=True):
        level = gold.get(str(item), {}).get(str(name))
        if level is None:
            continue
        criterion = asked[str(name)]
        distances = [_distance(criterion, score, level) for score in rows["score"]]
        total[str(item)] = total.get(str(item), 0.0) + sum(distances) / len(distances)
    return total


def select_examples(
    corrections: Corrections,
    items: Mapping[str, Item],
    pool: Iterable[str],
    rubric: Rubric,
    max_tokens: int,
) -> list[RubricExample]:
    """Examples from the items of `pool` where the judge disagreed most (most first), each
    with its clinicians' comment as the reason, while the examples' prompt block stays within
    `max_tokens` (approx_tokens). Skipped: items the judge agreed on, items without a
    comment, and judged texts longer than an example may hold (cutting one would show
    clinicians' levels for a text they did not read)."""
    ranked = sorted(
        (i for i in pool if corrections.disagreement.get(i, 0.0) > 0 and i in items),
        key=lambda i: (-corrections.disagreement[i], i),
    )
    chosen: list[RubricExample] = []
    for item_id in ranked:
        example = _example(corrections, items[item_id], rubric)
        if example is None:
            continue
        trial = [*chosen, example]
        if approx_tokens(render_examples(rubric.model_copy(update={"examples": trial}))) <= (
            max_tokens
        ):
            chosen = trial
    return chosen


def _example(corrections: Corrections, item: Item, rubric: Rubric) -> RubricExample | None:
    reason = corrections.reasons.get(item.id, "")
    text = target_text(rubric, item.prediction)[1]
    if not reason or text is None or len(text) > EXAMPLE_TEXT_MAX:
        return None
    if len(reason) > EXAMPLE_REASON_MAX:
        reason = reason[: EXAMPLE_REASON_MAX - 1].rstrip() + "…"
    return RubricExample(
        item=item.id,
        case=case_excerpt(rubric, item.prediction, CASE_EXCERPT_CHARS),
        text=text,
        gold=dict(corrections.gold[item.id]),
        reason=reason,
    )


def variant(base: Rubric, examples: list[RubricExample]) -> Rubric:
    """`base` with these worked examples: id `<base>-aligned`, `base:` recording the base's
    id, version and hash, and a version of its own naming the examples' digest."""
    shown = [e.model_dump(mode="json") for e in examples]
    digest = hashlib.sha256(repr(shown).encode()).hexdigest()[:8]
    content = base.model_dump(mode="json", exclude={"base", "examples"})
    content.update(
        id=f"{base.id}-aligned",
        version=f"{base.version}-aligned.{digest}",
        base={"id": base.id, "version": base.version, "hash": rubric_hash(base)},
        examples=shown,
    )
    return Rubric.model_validate(content)
