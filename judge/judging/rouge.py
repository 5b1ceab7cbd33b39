"""ROUGE F1 of a Think-with-Images trace against the case's own text, without an LLM.

The implementation is Google's `rouge-score` (`RougeScorer(["rouge1", "rouge2", "rougeL"],
use_stemmer=True)`, equivalent to `ROUGE-1.5.5.pl -m -n 2`); this module only chooses what is
compared with what, and records the per-image values.

Tokenization is rouge-score's default tokenizer, so the numbers match any paper that used it:

1. the text is lower-cased;
2. every run of characters outside `[a-z0-9]` becomes a space — so punctuation splits words
   ("4.9cm" → `4`, `9cm`; "T2-weighted" → `t2`, `weight`), and letters outside ASCII
   ("Müller") are dropped like punctuation;
3. the text is split on whitespace;
4. each token longer than three characters is reduced by NLTK's Porter stemmer ("images" →
   `imag`, "enhancing" → `enhanc`); tokens of three characters or fewer are kept as they are.
   Stemming is on so that "enhancing" in a finding matches "enhancement" in a caption.

No stop words are removed. ROUGE-N F1 is the harmonic mean of clipped n-gram overlap over
the candidate's and the reference's n-gram counts; ROUGE-L uses the longest common
subsequence of the two token lists (not the summary-level `rougeLsum`). A text with no tokens
scores 0.

Step 1 is scored per image: finding i against image i's caption, then the mean over images.
When the number of findings differs from the number of images the judgment is unscored (the
reason names both counts): pairing misaligned lists would score findings against the wrong
images, and dropping the extras would hide the model's omission.
"""

from __future__ import annotations

import statistics
from functools import cache, lru_cache
from typing import Any

from judge.contracts import Criterion, Judgment, Prediction, RougeSpec
from judge.judging.accuracy import DETERMINISTIC

__all__ = ["METRICS", "rouge_f1", "score_rouge"]

METRICS = ("rouge1", "rouge2", "rougeL")


@cache
def _scorer() -> Any:
    # Imported here, not at the top: rouge-score imports all of NLTK (~2.5 s), which a run
    # of an LLM-only rubric, or `judge --help`, should not pay. Built once per process.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)


@lru_cache(maxsize=4096)
def _scores(reference: str, candidate: str) -> dict[str, tuple[float, float, float]]:
    # The three ROUGE criteria of a rubric share one computation per text pair.
    raw = _scorer().score(reference, candidate)
    return {m: (s.precision, s.recall, s.fmeasure) for m, s in raw.items()}


def rouge_f1(reference: str, candidate: str, metric: str) -> float:
    """The ROUGE F1 (`rouge1`, `rouge2` or `rougeL`) of `candidate` against `reference`."""
    return _scores(reference, candidate)[metric][2]


def score_rouge(criterion: Criterion, prediction: Prediction) -> Judgment:
    """Score a `rouge` criterion: unscored with the reason when the texts are not there."""
    spec = criterion.rouge
    if spec is None:  # the rubric validator forbids this; here for the type checker
        raise ValueError(f"criterion {criterion.id} has method rouge but no rouge settings")
    if spec.compare == "step1_per_image":
        return _step1(criterion.id, spec, prediction)
    return _step2(criterion.id, spec, prediction)


def _step1(criterion_id: str, spec: RougeSpec, prediction: Prediction) -> Judgment:
    trace = prediction.prediction_twi
    if trace is None:
        return _unscored(criterion_id, "no prediction_twi trace")
    findings = trace.step1_per_image_findings
    images = prediction.images
    if not images:
        return _unscored(criterion_id, "the case has no image captions to compare against")
    if len(findings) != len(images):
        reason = f"{_count(len(findings), 'finding')} for {_count(len(images), 'image')}"
        counts = {"findings": len(findings), "images": len(images)}
        return _unscored(criterion_id, reason, counts)
    missing = [img.index for img in images if not (img.caption or "").strip()]
    if missing:
        return _unscored(criterion_id, f"no caption for image(s) {missing}")
    per_image = [
        {"image": img.index, "f1": rouge_f1(img.caption or "", finding, spec.metric)}
        for img, finding in zip(images, findings, strict=True)
    ]
    mean = statistics.fmean(p["f1"] for p in per_image)
    rationale = (
        f"{spec.metric} F1 per image: "
        + ", ".join(f"image {p['image']} {p['f1']:.3f}" for p in per_image)
        + f"; mean {mean:.3f}"
    )
    return _scored(criterion_id, mean, rationale, {"metric": spec.metric, "per_image": per_image})


def _step2(criterion_id: str, spec: RougeSpec, prediction: Prediction) -> Judgment:
    trace = prediction.prediction_twi
    if trace is None:
        return _unscored(criterion_id, "no prediction_twi trace")
    summary = (trace.step2_integrated_summary or "").strip()
    if not summary:
        return _unscored(criterion_id, "no prediction_twi.step2_integrated_summary")
    reference = (prediction.IMAGING_FINDINGS or "").strip()
    if not reference:
        return _unscored(criterion_id, "the case has no IMAGING_FINDINGS to compare against")
    precision, recall, f1 = _scores(reference, summary)[spec.metric]
    rationale = (
        f"{spec.metric} against IMAGING_FINDINGS: "
        f"precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}"
    )
    details = {"metric": spec.metric, "precision": precision, "recall": recall}
    return _scored(criterion_id, f1, rationale, details)


def _scored(criterion_id: str, score: float, rationale: str, details: dict[str, Any]) -> Judgment:
    return Judgment(
        criterion=criterion_id,
        judge=DETERMINISTIC,
        status="scored",
        score=score,
        rationale=rationale,
        details=details,
    )


def _unscored(criterion_id: str, reason: str, details: dict[str, Any] | None = None) -> Judgment:
    return Judgment(
        criterion=criterion_id,
        judge=DETERMINISTIC,
        status="unscored",
        reason=reason,
        details=details,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
