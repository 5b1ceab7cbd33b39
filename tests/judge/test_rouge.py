"""ROUGE for the `twi` rubric, checked against numbers computed without rouge-score.

Tokenization rules the hand counts follow (rouge-score's default tokenizer, documented in
judge/rouge.py): lower-case; every run of characters outside [a-z0-9] becomes a space; split
on whitespace; Porter-stem tokens longer than three characters ("enhancing", "enhancement" →
"enhanc"; "lesions" → "lesion"; "the", "cat", "9cm" unchanged). F1 = 2PR / (P + R), with P =
matches / candidate count and R = matches / reference count; n-gram matches are clipped
(a word counts at most as often as it occurs in the other text).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from nltk.stem.porter import PorterStemmer

import judge
from judge.contracts import Judgment, Prediction
from judge.judging.deterministic import score_deterministic
from judge.load.rubric import load_rubric

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions"
TWI = load_rubric("twi")


def _prediction(captions: list[str], **fields: Any) -> Prediction:
    row: dict[str, Any] = {
        "title": "t",
        "options": {k: f"option {k}" for k in "ABCDE"},
        "correct_answer": "A",
    }
    for i, caption in enumerate(captions, start=1):
        row[f"image_{i:02d}_caption"] = caption
    return Prediction.model_validate({**row, **fields})


def _judge(criterion_id: str, prediction: Prediction) -> Judgment:
    return score_deterministic(TWI.criterion(criterion_id), prediction)


# --------------------------------------------------------------------------- by hand

# reference "The cat sat on the mat." → the cat sat on the mat (6 tokens, none stemmed)
# candidate "The cat is on the mat"   → the cat is on the mat  (6 tokens)
#   unigrams: the×2, cat, on, mat match → 5;  P = R = 5/6
#   bigrams:  ref the-cat cat-sat sat-on on-the the-mat; cand the-cat cat-is is-on on-the
#             the-mat → the-cat, on-the, the-mat match → 3 of 5 each side; F = 3/5
#   LCS:      the cat on the mat → 5; F = 5/6
CAT = ("The cat sat on the mat.", "The cat is on the mat", {"1": 5 / 6, "2": 3 / 5, "l": 5 / 6})
# reference "fluid in the pouch", candidate "pouch the in fluid": the same four words reversed.
#   unigrams: 4 of 4 → F = 1;  bigrams: none shared → 0;  LCS: any single word → 1, F = 1/4
REVERSED = ("fluid in the pouch", "pouch the in fluid", {"1": 1.0, "2": 0.0, "l": 1 / 4})
# reference "Enhancing lesions, 4.9 cm."         → enhanc lesion 4 9 cm           (5 tokens)
# candidate "enhancement of the LESION (4.9cm)"  → enhanc of the lesion 4 9cm     (6 tokens)
#   unigrams: enhanc, lesion, 4 → 3;  P = 3/6, R = 3/5, F = 2·(1/2)(3/5)/(1/2 + 3/5) = 6/11
#   bigrams:  ref enhanc-lesion lesion-4 4-9 9-cm; cand enhanc-of of-the the-lesion lesion-4
#             4-9cm → lesion-4 only;  P = 1/5, R = 1/4, F = 2/9
#   LCS:      enhanc lesion 4 → 3; F = 6/11
STEMMED = ("Enhancing lesions, 4.9 cm.", "enhancement of the LESION (4.9cm)", {
    "1": 6 / 11,
    "2": 2 / 9,
    "l": 6 / 11,
})  # fmt: skip
# reference "the the cat", candidate "the the the": clipping.
#   unigrams: "the" matches min(2, 3) = 2 → P = R = 2/3;  bigrams: the-the min(1, 2) = 1 of 2
#   each side → 1/2;  LCS: the the → 2, F = 2/3
CLIPPED = ("the the cat", "the the the", {"1": 2 / 3, "2": 1 / 2, "l": 2 / 3})


@pytest.mark.parametrize("reference, candidate, expected", [CAT, REVERSED, STEMMED, CLIPPED])
def test_step2_summary_equals_hand_counts(
    reference: str, candidate: str, expected: dict[str, float]
) -> None:
    prediction = _prediction(
        ["x"], IMAGING_FINDINGS=reference, prediction_twi={"step2_integrated_summary": candidate}
    )
    for suffix, value in expected.items():
        judgment = _judge(f"step2_rouge{suffix}", prediction)
        assert judgment.status == "scored"
        assert judgment.score == pytest.approx(value, abs=1e-12)


def test_step1_is_the_mean_over_images_of_hand_counts() -> None:
    (cap1, find1, e1), (cap2, find2, e2) = CAT, REVERSED
    prediction = _prediction(
        [cap1, cap2], prediction_twi={"step1_per_image_findings": [find1, find2]}
    )
    for suffix in ("1", "2", "l"):
        judgment = _judge(f"step1_rouge{suffix}", prediction)
        assert judgment.score == pytest.approx((e1[suffix] + e2[suffix]) / 2, abs=1e-12)
        assert judgment.details is not None
        per_image = judgment.details["per_image"]
        assert [p["image"] for p in per_image] == [1, 2]
        assert [p["f1"] for p in per_image] == pytest.approx([e1[suffix], e2[suffix]])
    # 11/12, 3/10, 13/24: the means written out once, so a wrong averaging cannot hide.
    assert _judge("step1_rougel", prediction).score == pytest.approx(13 / 24)


def test_findings_are_paired_with_images_by_position() -> None:
    # Swapping the findings pairs each with the other image's caption: the scores must drop.
    (cap1, find1, _), (cap2, find2, _) = CAT, STEMMED
    aligned = _prediction([cap1, cap2], prediction_twi={"step1_per_image_findings": [find1, find2]})
    swapped = _prediction([cap1, cap2], prediction_twi={"step1_per_image_findings": [find2, find1]})
    assert _judge("step1_rouge1", aligned).score == pytest.approx((5 / 6 + 6 / 11) / 2)
    # Swapped: "enhanc of the lesion 4 9cm" against "the cat sat on the mat" shares one "the"
    # (P = R = 1/6); "the cat is on the mat" against "enhanc lesion 4 9 cm" shares nothing.
    assert _judge("step1_rouge1", swapped).score == pytest.approx((1 / 6 + 0) / 2)


def test_text_without_tokens_scores_zero() -> None:
    prediction = _prediction(
        ["x"], IMAGING_FINDINGS="Normal study.", prediction_twi={"step2_integrated_summary": "—"}
    )
    assert _judge("step2_rouge1", prediction).score == 0


# --------------------------------------------------------------------------- unscored


@pytest.mark.parametrize(
    "n_findings, n_images, reason",
    [
        (1, 3, "1 finding for 3 images"),
        (3, 2, "3 findings for 2 images"),
        (0, 1, "0 findings for 1 image"),
    ],
)
def test_count_mismatch_is_unscored_with_both_counts(
    n_findings: int, n_images: int, reason: str
) -> None:
    prediction = _prediction(
        ["The cat sat on the mat."] * n_images,
        prediction_twi={
            "step1_per_image_findings": ["The cat sat on the mat."] * n_findings,
            "step2_integrated_summary": "The cat sat on the mat.",
        },
        IMAGING_FINDINGS="The cat sat on the mat.",
    )
    for suffix in ("1", "2", "l"):
        judgment = _judge(f"step1_rouge{suffix}", prediction)
        assert judgment.status == "unscored" and judgment.score is None
        assert judgment.reason == reason
        assert judgment.details == {"findings": n_findings, "images": n_images}
        assert not judgment.retryable
    # The summary does not depend on the per-image pairing, so it is still scored.
    assert _judge("step2_rouge1", prediction).score == pytest.approx(1.0)


def test_missing_trace_summary_or_reference_is_unscored() -> None:
    no_trace = _prediction(["a caption"], IMAGING_FINDINGS="findings")
    for criterion in ("step1_rouge1", "step2_rougel"):
        judgment = _judge(criterion, no_trace)
        assert judgment.status == "unscored" and judgment.reason == "no prediction_twi trace"
    no_summary = _prediction(
        ["a caption"],
        IMAGING_FINDINGS="findings",
        prediction_twi={"step1_per_image_findings": ["a"]},
    )
    assert _judge("step1_rouge1", no_summary).status == "scored"
    assert _judge("step2_rouge1", no_summary).reason == (
        "no prediction_twi.step2_integrated_summary"
    )
    no_reference = _prediction([], prediction_twi={"step2_integrated_summary": "s"})
    assert "no IMAGING_FINDINGS" in (_judge("step2_rouge2", no_reference).reason or "")
    assert "no image captions" in (_judge("step1_rouge2", no_reference).reason or "")


# --------------------------------------------------------------------------- real texts


def _tokens(text: str, stemmer: PorterStemmer) -> list[str]:
    # The documented rules, written out again here rather than imported from rouge-score.
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return [stemmer.stem(w) if len(w) > 3 else w for w in words]


def _f1(matches: int, n_candidate: int, n_reference: int) -> float:
    if not matches:
        return 0.0
    precision, recall = matches / n_candidate, matches / n_reference
    return 2 * precision * recall / (precision + recall)


def _ngram_f1(ref: list[str], cand: list[str], n: int) -> float:
    r = Counter(zip(*(ref[i:] for i in range(n)), strict=False))
    c = Counter(zip(*(cand[i:] for i in range(n)), strict=False))
    return _f1(sum((r & c).values()), sum(c.values()), sum(r.values()))


def _lcs_f1(ref: list[str], cand: list[str]) -> float:
    row = [0] * (len(cand) + 1)
    for word in ref:
        prev = row[:]
        for j, other in enumerate(cand, start=1):
            row[j] = prev[j - 1] + 1 if word == other else max(prev[j], row[j - 1])
    return _f1(row[-1], len(cand), len(ref))


def _expected(ref: str, cand: str, stemmer: PorterStemmer) -> dict[str, float]:
    r, c = _tokens(ref, stemmer), _tokens(cand, stemmer)
    return {"1": _ngram_f1(r, c, 1), "2": _ngram_f1(r, c, 2), "l": _lcs_f1(r, c)}


def test_strong_tier_matches_an_independent_implementation() -> None:
    """Every per-image and summary score of the strong tier, recomputed from the rules above."""
    stemmer = PorterStemmer()  # NLTK's, the stemmer rouge-score uses; nothing else is shared
    path = EXAMPLES / "strong.jsonl"
    records = {r.id: r for r in judge.score(path, "twi").records}
    assert len(records) == 12
    for line in path.read_text().splitlines():
        row = Prediction.model_validate(json.loads(line))
        assert row.prediction_twi is not None and row.IMAGING_FINDINGS
        record = records[row.title or ""]
        pairs = zip(row.images, row.prediction_twi.step1_per_image_findings, strict=True)
        per_image = [_expected(img.caption or "", finding, stemmer) for img, finding in pairs]
        summary = _expected(
            row.IMAGING_FINDINGS, row.prediction_twi.step2_integrated_summary or "", stemmer
        )
        for suffix in ("1", "2", "l"):
            mean = sum(p[suffix] for p in per_image) / len(per_image)
            assert record.scores[f"step1_rouge{suffix}"] == pytest.approx(mean, abs=1e-12)
            assert record.scores[f"step2_rouge{suffix}"] == pytest.approx(
                summary[suffix], abs=1e-12
            )
